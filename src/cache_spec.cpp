// fib_quant_kv: upgrade(), compat() and the stored tensors of the v2 cache spec (see fib_quant_kv/cache_spec.hpp).
#include "fib_quant_kv/cache_spec.hpp"

#include <algorithm>
#include <string>

namespace fib_quant_kv {

Result<KvCacheSpecV2> upgrade(const KvTensorShapeV1& v1, KvRopeState value_key_rope) {
    if (Status s = validate(v1); !s) return std::move(s).error();
    KvCacheSpecV2 spec;
    spec.layers = v1.layers;
    spec.batch = v1.batch;
    spec.tokens = v1.tokens;
    KvLayerGroup group;
    group.layers.reserve(v1.layers);
    for (std::uint32_t i = 0; i < v1.layers; ++i) group.layers.push_back(i);
    group.attention = KvLayerAttention::full;
    group.kv_heads = v1.kv_heads;
    group.key_head_dim = v1.head_dim;
    group.value_head_dim = v1.head_dim;
    group.rope_state = v1.role == KvRole::key ? v1.rope_state : value_key_rope;
    spec.groups.push_back(std::move(group));
    spec.storage.dim_order = {KvDim::batch, KvDim::layer, KvDim::head, KvDim::token, KvDim::dim};
    spec.storage.packing = KvPacking::separate;
    spec.storage.block_size = 0;
    spec.storage.value_layout = KvValueLayout::rows;
    spec.quant.scheme = KvQuantScheme::none;
    spec.quant.dtype = v1.dtype;
    spec.quant.scale_granularity = KvScaleGranularity::none;
    return spec;
}

std::vector<Difference> compat(const KvCacheSpecV2& writer, const KvCacheSpecV2& reader) {
    std::vector<Difference> out;
    if (reader.batch < writer.batch) {
        out.push_back({"batch", std::to_string(writer.batch), std::to_string(reader.batch)});
    }
    if (reader.tokens < writer.tokens) {
        out.push_back({"tokens", std::to_string(writer.tokens), std::to_string(reader.tokens)});
    }
    for (Difference& d : differences(writer, reader)) {
        if (d.path == "schema_version" || d.path == "batch" || d.path == "tokens") continue;
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<StoredTensor> stored_tensors(const KvCacheSpecV2& spec, std::uint32_t layer) {
    const auto holds = [&](const KvLayerGroup& g) {
        return std::find(g.layers.begin(), g.layers.end(), layer) != g.layers.end();
    };
    const auto group = std::find_if(spec.groups.begin(), spec.groups.end(), holds);
    if (group == spec.groups.end()) return {};
    return stored_tensors(spec, *group);
}

std::vector<StoredTensor> stored_tensors(const KvCacheSpecV2& spec, const KvLayerGroup& g) {
    std::vector<StoredTensor> out;
    if (g.attention == KvLayerAttention::linear) return out;
    const bool mla = g.attention == KvLayerAttention::mla;
    const bool stacked = spec.storage.packing == KvPacking::stacked;
    const std::span<const KvDim> order = spec.storage.dim_order;
    const bool has_batch = std::find(order.begin(), order.end(), KvDim::batch) != order.end();
    const std::uint64_t block = spec.storage.block_size;
    const std::uint64_t held = tokens_held(g, spec.tokens);
    // Pages one sequence needs; every sequence's when batch is not a dimension of its own.
    std::uint64_t blocks = block == 0 ? 0 : (held + block - 1) / block;
    if (!has_batch) blocks = checked_mul(blocks, spec.batch).value_or(UINT64_MAX);
    auto make = [&](std::optional<KvRole> role) {
        StoredTensor t;
        t.role = role;
        const bool value = role == KvRole::value;
        for (KvDim d : order) {
            std::uint64_t extent = 0;
            switch (d) {
                case KvDim::layer: continue;
                case KvDim::kv:
                    if (!stacked) continue;
                    extent = mla ? 1 : 2;
                    break;
                case KvDim::batch: extent = spec.batch; break;
                case KvDim::block:
                    extent = blocks;
                    t.block_is_minimum = true;
                    break;
                case KvDim::token: extent = block == 0 ? held : block; break;
                case KvDim::head: extent = mla ? 1 : g.kv_heads; break;
                case KvDim::dim: extent = value ? g.value_head_dim : g.key_head_dim; break;
            }
            t.dims.push_back(d);
            t.shape.push_back(extent);
        }
        if (value && spec.storage.value_layout == KvValueLayout::transposed) {  // one row of tokens per channel
            const auto token = std::find(t.dims.begin(), t.dims.end(), KvDim::token);
            if (token != t.dims.end()) {
                const auto at = token - t.dims.begin();
                std::rotate(t.shape.begin() + at, t.shape.begin() + at + 1, t.shape.end());
                std::rotate(token, token + 1, t.dims.end());
            }
        }
        out.push_back(std::move(t));
    };
    if (stacked && !mla) {
        make(std::nullopt);
    } else {
        make(KvRole::key);
        if (!mla) make(KvRole::value);
    }
    return out;
}

}  // namespace fib_quant_kv
