// fib_quant_kv: what the v2 cache spec (schema/kv_cache_spec_v2.yaml) adds beyond its generated code: the v2
// spec of a v1 descriptor's cache, and whether a cache written under one spec can be read under another.
#pragma once

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

}  // namespace fib_quant_kv
