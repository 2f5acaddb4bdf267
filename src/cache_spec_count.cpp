// fib_quant_kv: the byte counts of a v2 cache spec (schema/kv_cache_spec_v2.yaml declares them as `native`
// derived counts). Every step is overflow-checked: a count that does not fit in 64 bits is nothing, which
// validate() reports as size_overflow. The counts are defined for any spec, valid or not (validate() runs them
// before the nested structs' rules), so nothing here trusts a field it has not bounded. They are written once, as
// templates over the spec: the native KvCacheSpecV2 and its FlatBuffers view (KvCacheSpecV2View) have the same
// members.
//
// What a layer group holds, per layer (docs/cache_spec_v2.md says the same with examples):
//   * per token and sequence: K, kv_heads rows of key_head_dim elements, and V, kv_heads rows of value_head_dim
//     (MLA: one latent row of key_head_dim, no V; linear: nothing). A row of n elements takes n * dtype bytes
//     unquantized, or n / block_elems * block_bytes under a quantization scheme (a block divides the row: a rule);
//     token scales add one scale per row, group scales one per group_size elements of a row;
//   * per layer: tensor scales, one for K and one for V; head scales, one per head for K and for V;
//   * per sequence: a linear group's state_bytes;
//   * tokens held: every token for full and MLA groups, at most `window` or `chunk` for sliding and chunked ones;
//     a paged cache (block_size > 0) holds whole blocks.
#include <algorithm>
#include <optional>

#include "fib_quant_kv/cache_spec.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"

namespace fib_quant_kv::detail {
namespace {

// Every count is a Sticky (fib_quant_kv/count.hpp): each step checked, no branch per step, the first overflow
// kept to the end, where it is nothing.
using U = Sticky;

/// Bytes of one row of `n` elements.
U row_bytes(const KvQuantization& q, std::uint64_t n) {
    const std::uint64_t block_bytes = fib_quant_kv::block_bytes(q.scheme);
    if (block_bytes == 0) return U{n} * U{byte_size(q.dtype)};
    const std::uint64_t per_block = fib_quant_kv::block_elems(q.scheme);
    if (per_block == 0) return U::nothing();  // an unknown scheme code: no count
    return U{quotient(n, per_block)} * U{block_bytes};
}

std::uint64_t scale_bytes(const KvQuantization& q) { return q.scale_dtype ? byte_size(*q.scale_dtype) : 0; }

/// Scales one row of `n` elements carries per token.
std::uint64_t token_scales(const KvQuantization& q, std::uint64_t n) {
    if (n == 0) return 0;
    switch (q.scale_granularity) {
        case KvScaleGranularity::token: return 1;
        case KvScaleGranularity::group:
            return q.group_size && *q.group_size != 0 ? quotient(n, std::uint64_t{*q.group_size}) : 0;
        default: return 0;
    }
}

/// The rows a group keeps per token: K rows and V rows (MLA keeps one latent row, linear none).
struct Rows {
    std::uint64_t key_rows = 0, key_dim = 0, value_rows = 0, value_dim = 0;
};
template <class Group>
Rows rows(const Group& g) {
    switch (g.attention) {
        case KvLayerAttention::linear: return {};
        case KvLayerAttention::mla: return {1, g.key_head_dim, 0, 0};
        default: return {g.kv_heads, g.key_head_dim, g.kv_heads, g.value_head_dim};
    }
}

/// Bytes one token of one sequence takes in one layer of `g`, scales included.
template <class Group>
U per_token_layer(const Group& g, const KvQuantization& q) {
    const Rows r = rows(g);
    const std::uint64_t sb = scale_bytes(q);
    const U key = row_bytes(q, r.key_dim) + U{token_scales(q, r.key_dim)} * U{sb};
    const U value = row_bytes(q, r.value_dim) + U{token_scales(q, r.value_dim)} * U{sb};
    return key * U{r.key_rows} + value * U{r.value_rows};
}

/// Bytes of scales one layer of `g` holds whatever the tokens: tensor and head scales.
template <class Group>
U per_layer_fixed(const Group& g, const KvQuantization& q) {
    const Rows r = rows(g);
    const std::uint64_t tensors = std::uint64_t{r.key_rows != 0} + std::uint64_t{r.value_rows != 0 && r.value_dim != 0};
    switch (q.scale_granularity) {
        case KvScaleGranularity::tensor: return U{tensors} * U{scale_bytes(q)};
        case KvScaleGranularity::head: return (U{r.key_rows} + U{r.value_dim != 0 ? r.value_rows : 0}) * U{scale_bytes(q)};
        default: return 0;
    }
}

/// tokens_held() of a group or a group's view.
template <class Group>
std::uint64_t held_tokens(const Group& g, std::uint64_t tokens) noexcept {
    switch (g.attention) {
        case KvLayerAttention::linear: return 0;
        case KvLayerAttention::sliding_window: return g.window ? std::min<std::uint64_t>(tokens, *g.window) : tokens;
        case KvLayerAttention::chunked_local: return g.chunk ? std::min<std::uint64_t>(tokens, *g.chunk) : tokens;
        default: return tokens;
    }
}

template <class Spec>
std::optional<std::uint64_t> count_per_token(const Spec& spec) noexcept {
    U total = 0;
    for (const auto& g : spec.groups) total = total + U{g.layers.size()} * per_token_layer(g, spec.quant);
    return total.get();
}

template <class Spec>
std::optional<std::uint64_t> count_held(const Spec& spec) noexcept {
    // Nothing when bytes_per_token() is nothing, too: its sum is taken in the same pass, from the same
    // per_token_layer() of each group (every step is a pure function of the spec, so the order is free).
    U per_token = 0;
    U total = 0;
    const std::uint64_t block = spec.storage.block_size;
    for (const auto& g : spec.groups) {
        const U token_layer = per_token_layer(g, spec.quant);
        const U layers{g.layers.size()};
        per_token = per_token + layers * token_layer;
        const std::uint64_t held = held_tokens(g, spec.tokens);
        U kept = held;
        if (block != 0 && held != 0) kept = U{quotient(held - 1, block) + 1} * U{block};  // whole blocks
        const U per_sequence = kept * token_layer + U{g.state_bytes.value_or(0)};
        const U layer = per_sequence * U{spec.batch} + per_layer_fixed(g, spec.quant);
        total = total + layer * layers;
    }
    if (per_token.overflow) return std::nullopt;
    return total.get();
}

}  // namespace

std::optional<std::uint64_t> kv_cache_spec_v2_bytes_per_token(const KvCacheSpecV2& spec) noexcept {
    return count_per_token(spec);
}
std::optional<std::uint64_t> kv_cache_spec_v2_bytes_per_token(const KvCacheSpecV2View& spec) noexcept {
    return count_per_token(spec);
}
std::optional<std::uint64_t> kv_cache_spec_v2_bytes_held(const KvCacheSpecV2& spec) noexcept {
    return count_held(spec);
}
std::optional<std::uint64_t> kv_cache_spec_v2_bytes_held(const KvCacheSpecV2View& spec) noexcept {
    return count_held(spec);
}

}  // namespace fib_quant_kv::detail

namespace fib_quant_kv {

std::uint64_t tokens_held(const KvLayerGroup& g, std::uint64_t tokens) noexcept {
    return detail::held_tokens(g, tokens);
}

std::optional<std::uint64_t> stored_bytes(const KvQuantization& quant, std::span<const std::uint64_t> shape) noexcept {
    if (shape.empty()) return std::nullopt;
    const std::uint64_t row = shape.back();
    const std::uint64_t per_block = block_elems(quant.scheme);
    if (block_bytes(quant.scheme) != 0 && (per_block == 0 || row % per_block != 0)) return std::nullopt;
    detail::U total = detail::row_bytes(quant, row);
    for (std::size_t i = 0; i + 1 < shape.size(); ++i) total = total * detail::U{shape[i]};
    return total.get();
}

}  // namespace fib_quant_kv
