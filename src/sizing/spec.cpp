// fib_quant_kv sizing: the v2 cache spec of an engine's cache (see fib_quant_kv/sizing/spec.hpp).
#include "fib_quant_kv/sizing/spec.hpp"

#include <string>

#include "internal/rule_errors.hpp"

namespace fib_quant_kv::sizing {
namespace {

constexpr std::string_view kNoScheme = "sizing.spec_scheme";

/// The schema's element encoding of a resolved cache dtype; nothing for one it has no scheme for.
std::optional<KvQuantization> quantization(CacheDType dtype, const CacheModel& model) {
    KvQuantization q;
    q.scale_granularity = KvScaleGranularity::none;
    const KvDType compute = model.torch_dtype == "float16" ? KvDType::f16 : KvDType::bf16;
    switch (dtype) {
        case CacheDType::f32: q.scheme = KvQuantScheme::none, q.dtype = KvDType::f32; return q;
        case CacheDType::f16: q.scheme = KvQuantScheme::none, q.dtype = KvDType::f16; return q;
        case CacheDType::bf16: q.scheme = KvQuantScheme::none, q.dtype = KvDType::bf16; return q;
        case CacheDType::fp8_e4m3:
        case CacheDType::fp8_e5m2:
            q.scheme = dtype == CacheDType::fp8_e4m3 ? KvQuantScheme::fp8_e4m3 : KvQuantScheme::fp8_e5m2;
            q.dtype = compute;
            q.scale_granularity = KvScaleGranularity::tensor;
            q.scale_dtype = KvDType::f32;
            return q;
        case CacheDType::q8_0: q.scheme = KvQuantScheme::q8_0, q.dtype = KvDType::f16; return q;
        case CacheDType::q4_0: q.scheme = KvQuantScheme::q4_0, q.dtype = KvDType::f16; return q;
        case CacheDType::q4_1: q.scheme = KvQuantScheme::q4_1, q.dtype = KvDType::f16; return q;
        case CacheDType::q5_0: q.scheme = KvQuantScheme::q5_0, q.dtype = KvDType::f16; return q;
        case CacheDType::q5_1: q.scheme = KvQuantScheme::q5_1, q.dtype = KvDType::f16; return q;
        case CacheDType::iq4_nl: q.scheme = KvQuantScheme::iq4_nl, q.dtype = KvDType::f16; return q;
        default: return std::nullopt;
    }
}

/// One group of layers alike, as `engine` stores it.
KvLayerGroup group_of(const LayerGroup& g, Engine engine, std::uint64_t state_bytes) {
    KvLayerGroup out;
    out.layers = g.layers;
    const LayerSpec& s = g.spec;
    out.kv_heads = s.kv_heads;
    out.key_head_dim = s.key_dim;
    out.value_head_dim = s.value_dim;
    out.rope_state = KvRopeState::post_rope;  // what serving caches store
    switch (s.kind) {
        case LayerKind::full: out.attention = KvLayerAttention::full; break;
        case LayerKind::sliding:
            if (s.implicit_window && engine != Engine::hf) {
                out.attention = KvLayerAttention::full;
            } else {
                out.attention = KvLayerAttention::sliding_window;
                out.window = s.window;
            }
            break;
        case LayerKind::chunked:
            out.attention = KvLayerAttention::chunked_local;
            out.chunk = s.window;
            break;
        case LayerKind::mla:
            if (engine == Engine::hf) {
                out.attention = KvLayerAttention::full;  // transformers keeps every head's up-projected K and V
            } else {
                out.attention = KvLayerAttention::mla;
                out.kv_lora_rank = s.kv_lora_rank;
                out.qk_rope_head_dim = s.rope_dim;
                out.kv_heads = 1;
                out.key_head_dim = s.kv_lora_rank + s.rope_dim;
                out.value_head_dim = 0;
            }
            break;
        case LayerKind::linear_attention:
        case LayerKind::mamba:
        case LayerKind::none:  // holds nothing: a linear group of no state, so that the groups hold every layer
            out.attention = KvLayerAttention::linear;
            out.state_bytes = state_bytes;
            out.kv_heads = out.key_head_dim = out.value_head_dim = 0;
            out.rope_state = KvRopeState::not_applicable;
            break;
    }
    return out;
}

}  // namespace

Result<KvCacheSpecV2> cache_spec(const CacheModel& model, const EngineSize& size, const EngineOptions& options) {
    const std::optional<KvQuantization> quant = quantization(size.kv_dtype, model);
    if (!quant) {
        return detail::make_error(ErrorKind::unsupported, kNoScheme,
                                  "the v2 spec has no scheme for a " + std::string(to_string(size.kv_dtype)) +
                                      " cache");
    }
    KvCacheSpecV2 spec;
    spec.layers = static_cast<std::uint32_t>(model.layers.size());
    spec.batch = size.batch;
    spec.tokens = size.tokens;
    spec.quant = *quant;
    bool all_mla = true;
    for (const LayerGroup& g : group_layers(model)) {
        std::uint64_t state = 0;  // one layer's state for one sequence, as the engine sized it (vLLM: its
                                  // padded page; the group's bytes count its padding layers' pages too)
        for (const GroupSize& gs : size.groups) {
            if (gs.spec == g.spec && gs.layers != 0 && size.batch != 0 && !holds_kv(g.spec.kind)) {
                state = gs.bytes / ((std::uint64_t{gs.layers} + gs.padding_layers) * size.batch);
            }
        }
        all_mla = all_mla && (g.spec.kind == LayerKind::mla || !holds_kv(g.spec.kind));
        spec.groups.push_back(group_of(g, size.engine, state));
    }
    switch (size.engine) {
        case Engine::hf:
            spec.storage = {{KvDim::layer, KvDim::batch, KvDim::head, KvDim::token, KvDim::dim}, KvPacking::separate,
                            0, KvValueLayout::rows};
            break;
        case Engine::vllm:
            spec.storage = all_mla ? KvStorage{{KvDim::layer, KvDim::block, KvDim::token, KvDim::head, KvDim::dim},
                                               KvPacking::separate, options.block_size, KvValueLayout::rows}
                                   : KvStorage{{KvDim::layer, KvDim::kv, KvDim::block, KvDim::token, KvDim::head,
                                                KvDim::dim},
                                               KvPacking::stacked, options.block_size, KvValueLayout::rows};
            break;
        case Engine::llama_cpp:
            spec.storage = {{KvDim::layer, KvDim::batch, KvDim::token, KvDim::head, KvDim::dim}, KvPacking::separate,
                            0, KvValueLayout::rows};
            break;
    }
    if (Status st = validate(spec); !st) return std::move(st).error();
    return spec;
}

}  // namespace fib_quant_kv::sizing
