// fib_quant_kv: upgrade() and compat() for the v2 cache spec (see fib_quant_kv/cache_spec.hpp).
#include "fib_quant_kv/cache_spec.hpp"

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

}  // namespace fib_quant_kv
