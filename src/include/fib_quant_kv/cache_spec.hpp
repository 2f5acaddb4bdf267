// fib_quant_kv: what the v2 cache spec (schema/kv_cache_spec_v2.yaml) adds beyond its generated code: the v2
// spec of a v1 descriptor's cache, and whether a cache written under one spec can be read under another.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"

namespace fib_quant_kv {

/// The v2 spec of the cache a v1 descriptor describes: one full-attention group holding every layer, K and V
/// as separate contiguous tensors in v1's order [batch, layer, head, token, dim], unquantized in the v1 dtype.
/// key_head_dim = value_head_dim = head_dim. A key descriptor's rope_state carries over; a value descriptor
/// says nothing of its keys, so `value_key_rope` (default post_rope, what serving caches store) stands in.
/// The v1 descriptor must be valid (validate()'s first error otherwise); query_heads has no place in v2.
[[nodiscard]] Result<KvCacheSpecV2> upgrade(const KvTensorShapeV1& v1,
                                            KvRopeState value_key_rope = KvRopeState::post_rope);

/// Why a cache written under `writer` cannot be read under `reader`: every difference of layout, element type
/// or layer groups (differences(), schema_version aside), and a reader that holds fewer sequences or tokens than
/// the writer wrote (batch, tokens). Empty when it can be read. Both should be valid; this does not validate.
[[nodiscard]] std::vector<Difference> compat(const KvCacheSpecV2& writer, const KvCacheSpecV2& reader);

/// Tokens one sequence keeps in a layer of `group` after `tokens` tokens, before paging: every token for full and
/// MLA groups, at most `window` or `chunk` for sliding and chunked ones, none for linear ones (bytes_held()'s
/// rule).
[[nodiscard]] std::uint64_t tokens_held(const KvLayerGroup& group, std::uint64_t tokens) noexcept;

/// One tensor a layer of a cache is stored as.
struct StoredTensor {
    /// key or value; nothing for K and V stacked in one tensor (packing stacked).
    std::optional<KvRole> role;
    /// Its dimensions, outermost first: the spec's dim_order without `layer` (and without `kv` when K and V are
    /// separate); V transposed (value_layout transposed) moves token innermost, one row of tokens per channel.
    std::vector<KvDim> dims;
    /// Its extent along each of `dims`: batch, kv 2 (1 for MLA), head kv_heads (1 for MLA), dim key_head_dim or
    /// value_head_dim, token the tokens held (tokens_held()) or, paged, block_size; block the blocks `batch`
    /// sequences need, batch * ceil(held / block_size) (batch * ... when batch is not itself a dimension).
    std::vector<std::uint64_t> shape;
    /// The extent along `block`, if any, is a lower bound: an engine's pool of pages may hold more.
    bool block_is_minimum = false;
};

/// The tensors layer `layer` of `spec` is stored as: K then V (separate), K alone (MLA), one tensor (stacked),
/// none (a linear layer, whose state is not a KV tensor). An empty list also for a layer no group holds. The
/// spec should be valid (this does not validate); a shape past 2^64 elements is still listed, its bytes are not.
[[nodiscard]] std::vector<StoredTensor> stored_tensors(const KvCacheSpecV2& spec, std::uint32_t layer);
/// The same for any layer of `group` (one of spec.groups): every layer of a group is stored alike. Looking a
/// layer's group up once and calling this is linear in the layers where calling the above for each is not.
[[nodiscard]] std::vector<StoredTensor> stored_tensors(const KvCacheSpecV2& spec, const KvLayerGroup& group);

/// Bytes of a tensor of `shape` (outermost first) under `quant`: the innermost extent is a row of elements,
/// dtype bytes each unquantized, or rows of whole blocks (block_bytes per block_elems) under a scheme; scales
/// are not part of the tensor. Nothing when the row is not a whole number of blocks or the count passes 2^64.
[[nodiscard]] std::optional<std::uint64_t> stored_bytes(const KvQuantization& quant,
                                                        std::span<const std::uint64_t> shape) noexcept;

}  // namespace fib_quant_kv
