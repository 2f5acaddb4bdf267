// fib_quant_kv sizing, step 3 of 4: one allocator per engine (see fib_quant_kv/sizing/engines.hpp).
//
// Each allocator groups the layers by spec (group_layers) and asks every group the same questions; the answers
// are per layer kind, never per model family. Every product is overflow-checked: a cache past 2^64 bytes is a
// resource_limit_exceeded error (sizing.overflow), not a wrapped number.
//
// Engines read (cite these when re-reading; each formula below names its function):
//   * transformers: src/transformers/cache_utils.py, DynamicCache.__init__ and DynamicSlidingWindowLayer.update
//     (the stored copy read for this module; DynamicCache picks DynamicSlidingWindowLayer for "sliding_attention"
//     and "chunked_attention" layers, with window `sliding_window or attention_chunk_size`).
//   * vLLM: vllm/v1/kv_cache_interface.py (AttentionSpec.real_page_size_bytes, FullAttentionSpec,
//     SlidingWindowSpec, ChunkedLocalAttentionSpec and MLAAttentionSpec .max_memory_usage_bytes,
//     UniformTypeKVCacheSpecs) and vllm/v1/core/kv_cache_utils.py (get_kv_cache_groups,
//     unify_kv_cache_spec_page_size, _get_kv_cache_groups_uniform_page_size, get_kv_cache_config_from_groups,
//     get_num_blocks, get_max_concurrency_for_kv_cache_config, _report_kv_cache_config,
//     _max_memory_usage_bytes_from_groups) and MambaSpec (page_size_bytes, max_memory_usage_bytes), commit
//     001cabc1be16. Hybrids of attention and linear-attention/Mamba layers, from files whose stored copies are
//     of other commits (none at 001cabc1be16 was stored; where they differ between versions, the newer is
//     followed): vllm/model_executor/models/config.py, HybridAttentionMambaModelConfig.verify_and_update_config
//     in its version with kernel_block_alignment_size and mamba_cache_mode (the one whose "none" branch sets
//     attn_block_size = kernel_block_alignment_size x cdiv(mamba_page, kernel_block_alignment_size x
//     attn_page_1_token); the older version at 0144dd5b0d2d hard-codes 16 for that alignment, the same figure
//     for non-MLA models), MambaModelConfig.verify_and_update_config (mamba_block_size = max_model_len with
//     prefix caching off), NemotronHForCausalLMConfig.verify_and_update_config (mamba_ssm_cache_dtype from
//     the config, else float16) and Qwen3_5ForConditionalGenerationConfig.verify_and_update_config
//     (mamba_ssm_cache_dtype from the text config's mamba_ssm_dtype, run before the hybrid update by
//     vllm/config/vllm.py VllmConfig.try_verify_and_update_config);
//     vllm/model_executor/layers/mamba/mamba_utils.py at 02d710837549
//     (MambaStateShapeCalculator.gated_delta_net_state_shape, mamba2_state_shape, mamba1_state_shape;
//     MambaStateDtypeCalculator._mamba_state_dtype); vllm/model_executor/models/qwen3_next.py, qwen3_5.py and
//     nemotron_h.py (get_mamba_state_shape_from_config, get_mamba_state_dtype_from_config).
//   * llama.cpp: src/llama-context.cpp (llama_context::llama_context: n_ctx and n_ctx_seq padded to 256),
//     src/llama-model.cpp (create_memory: kv_size = n_ctx_seq, n_pad 1), src/llama-kv-cache.cpp
//     (llama_kv_cache::llama_kv_cache: one K and one V tensor of ggml rows per layer, kv_size x n_stream cells,
//     no V for MLA: `has_v = !is_mla`), src/llama-kv-cache-iswa.cpp (llama_kv_cache_iswa: size_swa =
//     GGML_PAD(min(size_base, n_swa * (unified ? n_seq_max : 1) + n_ubatch), 256)), ggml/src/ggml.c
//     type_traits (blck_size, type_size) and ggml_row_size. Read from the stored copies of late 2025
//     (the iSWA padding to 256 is llama.cpp issue 17037; the context padding PR 17046).
#include "fib_quant_kv/sizing/engines.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "fib_quant_kv/count.hpp"
#include "fib_quant_kv/kv_cache_spec_v2.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::sizing {

namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

// ---------------------------------------------------------------------------------------------- dtypes

// Storage comes from the schemas, not from here: the float types' bytes are KvDType's byte_size
// (kv_tensor_shape_v1.yaml), the ggml block types' block_elems and block_bytes are KvQuantScheme's
// (kv_cache_spec_v2.yaml, from ggml/src/ggml.c type_traits[]), fp8 one byte (KvQuantScheme fp8_*).
// The engines that take each: transformers' cache holds the model dtype; vLLM's --kv-cache-dtype (auto,
// bfloat16, fp8, fp8_e4m3, fp8_e5m2; float16 and float32 as the model's --dtype); llama.cpp's -ctk/-ctv
// (common/arg.cpp kv_cache_types: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1).
constexpr CacheDTypeInfo float_type(CacheDType t, KvDType d) {
    return {t, to_string(d), 1, byte_size(d), true, true, true};
}
constexpr CacheDTypeInfo scheme(CacheDType t, KvQuantScheme q, bool vllm, bool llama_cpp) {
    return {t, to_string(q), block_elems(q), block_bytes(q), false, vllm, llama_cpp};
}
constexpr CacheDTypeInfo kDTypes[] = {
    {CacheDType::automatic, "auto", 1, 0, true, true, true},
    float_type(CacheDType::f32, KvDType::f32),
    float_type(CacheDType::f16, KvDType::f16),
    float_type(CacheDType::bf16, KvDType::bf16),
    scheme(CacheDType::fp8_e4m3, KvQuantScheme::fp8_e4m3, true, false),
    scheme(CacheDType::fp8_e5m2, KvQuantScheme::fp8_e5m2, true, false),
    scheme(CacheDType::q8_0, KvQuantScheme::q8_0, false, true),
    scheme(CacheDType::q4_0, KvQuantScheme::q4_0, false, true),
    scheme(CacheDType::q4_1, KvQuantScheme::q4_1, false, true),
    scheme(CacheDType::q5_0, KvQuantScheme::q5_0, false, true),
    scheme(CacheDType::q5_1, KvQuantScheme::q5_1, false, true),
    scheme(CacheDType::iq4_nl, KvQuantScheme::iq4_nl, false, true),
};

bool accepts(const CacheDTypeInfo& d, Engine e) noexcept {
    switch (e) {
        case Engine::hf: return d.hf;
        case Engine::vllm: return d.vllm;
        case Engine::llama_cpp: return d.llama_cpp;
    }
    return false;
}

constexpr std::string_view kKvDtypeField[] = {"kv_dtype"};
constexpr std::string_view kTorchDtypeField[] = {"torch_dtype"};
constexpr std::string_view kTokensField[] = {"tokens"};
constexpr std::string_view kBlockField[] = {"block_size"};
constexpr std::string_view kBatchField[] = {"batch"};
constexpr std::string_view kMemoryField[] = {"memory"};
constexpr std::string_view kLayersField[] = {"layers"};

[[gnu::cold]] Error make_error(ErrorKind kind, std::string_view rule, std::span<const std::string_view> fields,
                               std::string message, ErrorDetails details = {}) {
    return Error{kind, rule, fields, std::move(message), details, Error::no_offset};
}

std::string decimal(std::uint64_t v) {
    std::string s;
    detail::append_decimal(s, v);
    return s;
}

/// The torch dtype of the weights as a cache dtype: float32, float16, bfloat16; nothing for others.
std::optional<CacheDType> torch_cache_dtype(std::string_view torch) noexcept {
    if (torch == "float32") return CacheDType::f32;
    if (torch == "float16") return CacheDType::f16;
    if (torch == "bfloat16") return CacheDType::bf16;
    return std::nullopt;
}

/// The cache dtype `engine` uses for --kv-dtype `requested`, with a note when it had to choose.
Result<CacheDType> resolve_dtype(const CacheModel& model, Engine engine, CacheDType requested,
                                 std::vector<std::string>& notes) {
    if (requested != CacheDType::automatic) {
        if (!accepts(info(requested), engine)) {
            std::string m = std::string(to_string(engine)).append(" does not keep a cache of ");
            m.append(to_string(requested)).append(" (it takes:");
            for (const CacheDTypeInfo& d : kDTypes) {
                if (accepts(d, engine)) m.append(" ").append(d.name);
            }
            return make_error(ErrorKind::unsupported, sizing_rules::dtype_unsupported, kKvDtypeField, m.append(")"));
        }
        return requested;
    }
    if (engine == Engine::llama_cpp) {
        // common_params::cache_type_k and cache_type_v default to GGML_TYPE_F16, whatever the weights are.
        notes.emplace_back("llama.cpp: the cache is f16, its default -ctk/-ctv");
        return CacheDType::f16;
    }
    const bool present = model.torch_dtype.has_value() && *model.torch_dtype != "auto";
    std::optional<CacheDType> weights = present ? torch_cache_dtype(*model.torch_dtype) : CacheDType::f32;
    if (!weights) {
        std::string m = "`torch_dtype` ";
        detail::append_json_string(m, *model.torch_dtype);
        m.append(" is not float32, float16 or bfloat16: give the cache dtype (--kv-dtype)");
        return make_error(ErrorKind::unsupported, sizing_rules::dtype_unsupported, kTorchDtypeField, std::move(m));
    }
    if (!present) {
        notes.emplace_back(std::string(to_string(engine)) +
                           ": the config has no torch_dtype; the engine's default dtype, float32, is assumed");
    }
    if (engine == Engine::vllm && *weights == CacheDType::f32) {
        // vllm/config/model.py, _resolve_auto_dtype: a float32 model is served in 16 bits (bfloat16 where the
        // platform supports it); the cache (kv_cache_dtype auto) follows the model dtype.
        notes.emplace_back("vllm: float32 weights are served in bfloat16 (dtype auto), and the cache follows");
        return CacheDType::bf16;
    }
    return *weights;
}

/// The layers as an engine that reads windows per layer sees them: a window only the config-wide default gives
/// (LayerSpec::implicit_window) is not one, and the layer is full. Adds a note when it changes anything.
CacheModel explicit_windows_only(const CacheModel& model, Engine engine, std::vector<std::string>& notes) {
    CacheModel out = model;
    bool changed = false;
    for (LayerSpec& s : out.layers) {
        if (s.kind == LayerKind::sliding && s.implicit_window) {
            s.kind = LayerKind::full;
            s.window = 0;
            s.implicit_window = false;
            changed = true;
        }
    }
    if (changed) {
        notes.push_back(std::string(to_string(engine)) +
                        (engine == Engine::vllm
                             ? ": the config's sliding_window has no layer_types to place it, and vLLM reads "
                               "windows from layer_types: every layer is full"
                             : ": the config's sliding_window has no layer pattern, and llama.cpp applies a "
                               "window only where its GGUF records n_swa: every layer is full"));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- checked sums

/// Overflow-checked arithmetic that remembers the first overflow, so a formula reads as one.
class Checked {
  public:
    std::uint64_t mul(std::uint64_t a, std::uint64_t b) noexcept {
        const std::optional<std::uint64_t> r = checked_mul(a, b);
        if (!r) overflow_ = true;
        return r.value_or(0);
    }
    std::uint64_t mul(std::initializer_list<std::uint64_t> fs) noexcept {
        std::uint64_t acc = 1;
        for (const std::uint64_t f : fs) acc = mul(acc, f);
        return acc;
    }
    std::uint64_t add(std::uint64_t a, std::uint64_t b) noexcept {
        if (a > kU64Max - b) {
            overflow_ = true;
            return 0;
        }
        return a + b;
    }
    /// ceil(a / b), b > 0
    static constexpr std::uint64_t cdiv(std::uint64_t a, std::uint64_t b) noexcept { return a / b + (a % b != 0); }
    /// GGML_PAD(a, n): a rounded up to a multiple of n
    std::uint64_t pad(std::uint64_t a, std::uint64_t n) noexcept { return mul(cdiv(a, n), n); }

    [[nodiscard]] bool overflow() const noexcept { return overflow_; }
    [[nodiscard, gnu::cold]] Error error(Engine engine, std::uint32_t tokens, std::uint32_t batch) const {
        std::string m = std::string(to_string(engine)).append(": the cache for ");
        m.append(decimal(batch)).append(batch == 1 ? " sequence of " : " sequences of ").append(decimal(tokens));
        m.append(" tokens does not fit in 64 bits (the config's head counts and dims multiply past 2^64)");
        return make_error(ErrorKind::resource_limit_exceeded, sizing_rules::overflow, kTokensField, std::move(m));
    }

  private:
    bool overflow_ = false;
};

/// The largest x in [lo, hi] with fits(x), given fits(lo) and fits monotone (true then false).
template <class F>
std::uint64_t largest(std::uint64_t lo, std::uint64_t hi, F fits) {
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo + 1) / 2;
        if (fits(mid)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

// ---------------------------------------------------------------------------------------------- hf

/// transformers' DynamicCache after one forward pass of `tokens` tokens, for `batch` sequences.
/// Per layer: keys [batch, kv_heads, held, key_dim] and values [batch, kv_heads, held, value_dim], where held is
/// every token for a full layer (DynamicLayer.update concatenates), and min(tokens, window - 1) for a sliding
/// or chunked one (DynamicSlidingWindowLayer.update keeps `full_key_states[:, :, -self.sliding_window + 1:, :]`).
/// MLA layers hold what DeepseekV3Attention passes to update(): up-projected keys and values of every head.
/// Linear-attention and Mamba layers hold their state, counted apart (state_bytes).
struct HfSizer {
    const std::vector<LayerGroup>& groups;
    /// Bytes of the dtype the model runs in, which the cache and the states below take: hf keeps float caches
    /// only (kDTypes), so the resolved cache dtype is the model's (the config's torch_dtype, or --kv-dtype, which
    /// stands for loading the model in that dtype).
    std::uint64_t dsize;

    /// Bytes of one layer's state for one sequence. A Gated DeltaNet (Qwen3-Next, Qwen3.5) keeps its conv state
    /// of conv_kernel taps in the model dtype and its recurrent state in float32: the chunked and recurrent rules
    /// compute it in float32 and the cache keeps the tensor they return (modeling_qwen3_next.py,
    /// torch_chunk_gated_delta_rule and Qwen3NextGatedDeltaNet.forward; cache_utils.py
    /// LinearAttentionLayer.lazy_initialization allocates zeros_like(recurrent_states)). Other states (Mamba's)
    /// are in the model dtype, as MambaCache allocates them.
    [[nodiscard]] std::uint64_t per_sequence_state(const LayerSpec& s, Checked& c) const {
        if (s.kind == LayerKind::linear_attention && (s.conv_channels != 0 || s.ssm_elements != 0)) {
            return c.add(c.mul({s.conv_channels, s.conv_kernel, dsize}), c.mul(s.ssm_elements, 4));
        }
        return c.mul(s.state_elements, dsize);
    }

    /// Fills the groups and totals into `out`; false on overflow.
    bool size(std::uint64_t tokens, std::uint64_t batch, EngineSize* out, Checked& c) const {
        std::uint64_t total = 0, state = 0;
        for (const LayerGroup& g : groups) {
            const LayerSpec& s = g.spec;
            const std::uint64_t n = g.layers.size();
            GroupSize gs{s, static_cast<std::uint32_t>(n), 0, 0, 0};
            if (holds_kv(s.kind)) {
                const bool windowed = s.kind == LayerKind::sliding || s.kind == LayerKind::chunked;
                gs.tokens = windowed ? std::min<std::uint64_t>(tokens, s.window - 1) : tokens;
                gs.bytes = c.mul({batch, gs.tokens, s.kv_heads, std::uint64_t{s.key_dim} + s.value_dim, dsize, n});
                total = c.add(total, gs.bytes);
            } else {
                gs.bytes = c.mul({batch, per_sequence_state(s, c), n});
                state = c.add(state, gs.bytes);
            }
            if (out != nullptr) out->groups.push_back(gs);
        }
        if (out != nullptr) {
            out->total_bytes = total;
            out->state_bytes = state;
        }
        return !c.overflow();
    }
    [[nodiscard]] std::uint64_t total(std::uint64_t tokens, std::uint64_t batch, bool& ok) const {
        Checked c;
        EngineSize tmp;
        ok = size(tokens, batch, &tmp, c);
        return tmp.total_bytes;
    }
};

Result<EngineSize> size_hf(const CacheModel& model, std::uint32_t tokens, const EngineOptions& o, EngineSize out) {
    const std::vector<LayerGroup> groups = cache_groups(model);
    const HfSizer sizer{groups, info(out.kv_dtype).bytes};
    Checked c;
    if (!sizer.size(tokens, o.batch, &out, c)) return c.error(Engine::hf, tokens, o.batch);
    if (out.state_bytes != 0) {
        out.notes.emplace_back("hf: linear-attention and Mamba layers keep a fixed state per sequence (state_bytes), "
                               "not keys and values: conv states in the model dtype, a Gated DeltaNet's recurrent "
                               "state in float32");
    }
    if (o.memory) {
        const std::uint64_t mem = *o.memory;
        bool ok = true;
        // max_tokens: the longest single sequence whose cache fits (total is monotone in the tokens).
        if (sizer.total(0, 1, ok) <= mem) {
            out.max_tokens = largest(0, std::numeric_limits<std::uint32_t>::max(), [&](std::uint64_t t) {
                bool fine = true;
                const std::uint64_t b = sizer.total(t, 1, fine);
                return fine && b <= mem;
            });
        } else {
            out.max_tokens = 0;
        }
        // max_sequences: the cache is linear in the batch.
        const std::uint64_t per = sizer.total(tokens, 1, ok);
        if (per != 0) out.max_sequences = mem / per;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- vllm

/// One vLLM KV cache spec: a layer group's page (block_size tokens of one layer) and what a request of
/// max_model_len = tokens can use of it.
struct VllmSpec {
    const LayerGroup* group;
    std::uint64_t page;   ///< page_size_bytes
    std::uint64_t block;  ///< block_size (raised by unify_kv_cache_spec_page_size in a hybrid)
    [[nodiscard]] int type_class() const noexcept {  // UniformTypeKVCacheSpecs.is_uniform_type's classes
        switch (group->spec.kind) {
            case LayerKind::sliding: return 1;
            case LayerKind::chunked: return 2;
            case LayerKind::linear_attention:
            case LayerKind::mamba: return 3;  // MambaSpec
            default: return 0;  // FullAttentionSpec and its subclass MLAAttentionSpec
        }
    }
    /// max_memory_usage_bytes, in blocks (the bytes are blocks x page).
    [[nodiscard]] std::uint64_t blocks(std::uint64_t tokens, std::uint64_t batched) const noexcept {
        const LayerSpec& s = group->spec;
        switch (s.kind) {
            case LayerKind::sliding:  // SlidingWindowSpec: the last window - 1 tokens plus a batch, +1 block
                return Checked::cdiv(std::min<std::uint64_t>(s.window - 1 + batched, tokens), block) + 1;
            case LayerKind::chunked:  // ChunkedLocalAttentionSpec: a chunk plus a batch
                return Checked::cdiv(std::min<std::uint64_t>(std::uint64_t{s.window} + batched, tokens), block);
            case LayerKind::linear_attention:
            case LayerKind::mamba:  // MambaSpec, mamba_cache_mode "none": page_size_bytes x (1 + 0 speculative)
                return 1;
            default:  // FullAttentionSpec, MLAAttentionSpec: cdiv(max_model_len, block_size)
                return Checked::cdiv(tokens, block);
        }
    }
};

/// vLLM's model dtype (ModelConfig.dtype) in bytes, which the state of linear-attention and Mamba layers takes
/// (MambaStateDtypeCalculator._mamba_state_dtype: mamba_cache_dtype "auto" is the model dtype, whatever
/// --kv-cache-dtype is). A float cache is the model dtype (resolve_dtype: "auto" follows the model, float16 and
/// float32 are the model's --dtype); beside an fp8 cache the weights are served in 16 bits (float32 weights in
/// bfloat16, vllm/config/model.py _resolve_auto_dtype).
std::uint64_t vllm_model_dtype_bytes(CacheDType cache) noexcept {
    return cache == CacheDType::f32 ? 4 : 2;
}

/// MambaSpec.page_size_bytes (vllm/v1/kv_cache_interface.py) before padding: sum of prod(shape) x dtype size
/// over the state's tensors, one sequence of one layer. The shapes are MambaStateShapeCalculator's (tp 1, no
/// speculative tokens): a conv state of conv_channels x (conv_kernel - 1) in the model dtype and a temporal
/// state of ssm_elements in mamba_ssm_cache_dtype (the model dtype for "auto"; Nemotron-H's and Qwen3.5's from
/// their configs).
std::uint64_t vllm_state_page(const LayerSpec& s, std::uint64_t model_bytes, Checked& c) {
    if (s.conv_channels == 0 && s.ssm_elements == 0) return c.mul(s.state_elements, model_bytes);  // not split
    const std::uint64_t ssm_bytes = s.ssm_dtype_bytes != 0 ? s.ssm_dtype_bytes : model_bytes;
    const std::uint64_t taps = s.conv_kernel == 0 ? 0 : s.conv_kernel - 1;
    return c.add(c.mul({s.conv_channels, taps, model_bytes}), c.mul(s.ssm_elements, ssm_bytes));
}

Result<EngineSize> size_vllm(const CacheModel& model, std::uint32_t tokens, const EngineOptions& o, EngineSize out) {
    const std::uint64_t dsize = info(out.kv_dtype).bytes;
    const std::uint64_t model_bytes = vllm_model_dtype_bytes(out.kv_dtype);
    const std::uint64_t batched = o.max_num_batched_tokens;
    const std::vector<LayerGroup> all = cache_groups(model);
    Checked c;
    // Attention layers: bytes of one token of one layer (the page of block_size 1); state layers: the page.
    std::vector<std::pair<const LayerGroup*, std::uint64_t>> attention, states;
    std::uint64_t state_page = 0;  // the largest unpadded state page
    for (const LayerGroup& g : all) {
        const LayerSpec& s = g.spec;
        if (!holds_kv(s.kind)) {
            const std::uint64_t page = vllm_state_page(s, model_bytes, c);
            if (page == 0) continue;  // a state of no elements (a model built by hand): nothing to allocate
            states.emplace_back(&g, page);
            state_page = std::max(state_page, page);
            continue;
        }
        // AttentionSpec.real_page_size_bytes: block_size x num_kv_heads x (head_size + head_size_v) x dtype size
        // (the factor 2 of K and V when they are equal); MLAAttentionSpec: block_size x 1 head x
        // (kv_lora_rank + qk_rope_head_dim) x dtype size, one latent per token and no separate values.
        attention.emplace_back(&g, s.kind == LayerKind::mla
                                       ? c.mul({std::uint64_t{s.kv_lora_rank} + s.rope_dim, dsize})
                                       : c.mul({s.kv_heads, std::uint64_t{s.key_dim} + s.value_dim, dsize}));
    }
    if (c.overflow()) return c.error(Engine::vllm, tokens, o.batch);

    // HybridAttentionMambaModelConfig.verify_and_update_config (vllm/model_executor/models/config.py), with
    // mamba_cache_mode "none": the attention block size is raised to the smallest multiple of the kernel's
    // block alignment (16; 64 for MLA) whose page holds a state page, and the state pages are padded to the
    // attention page (cache_config.mamba_page_size_padded). attn_page_size_1_token is FullAttentionSpec (or
    // MLAAttentionSpec) of block_size 1 for the model's heads: the first attention layer's.
    std::uint64_t block = o.block_size;
    std::uint64_t padded_page = 0;  // the state pages after padding; 0: not padded (no attention layers)
    if (!attention.empty() && state_page != 0) {
        const std::uint64_t one = attention[0].second;
        const std::uint64_t align = attention[0].first->spec.kind == LayerKind::mla ? 64 : 16;
        const std::uint64_t step = c.mul(align, one);
        if (c.overflow()) return c.error(Engine::vllm, tokens, o.batch);
        const std::uint64_t attn_block = c.mul(align, Checked::cdiv(state_page, step));
        if (block < attn_block) block = attn_block;  // "the user has not set it or has set it too small"
        std::uint64_t attn_page = c.mul(block, one);
        if (state_page > attn_page) {  // "Pad whichever is smaller to match the larger"
            block = Checked::cdiv(state_page, one);
            attn_page = c.mul(block, one);
        }
        padded_page = attn_page;
        if (c.overflow()) return c.error(Engine::vllm, tokens, o.batch);
    }
    std::vector<VllmSpec> specs;
    for (const auto& [g, one] : attention) specs.push_back(VllmSpec{g, c.mul(block, one), block});
    // MambaSpec: block_size = mamba_block_size, which MambaModelConfig.verify_and_update_config sets to
    // max_model_len with prefix caching off; page_size_bytes = page_size_padded when set.
    for (const auto& [g, page] : states) specs.push_back(VllmSpec{g, padded_page != 0 ? padded_page : page, tokens});
    if (c.overflow()) return c.error(Engine::vllm, tokens, o.batch);
    if (!states.empty()) {
        out.notes.emplace_back(
            "vllm: linear-attention and Mamba layers keep their state in the KV cache pool, one page per layer "
            "and request (MambaSpec, mamba_cache_mode \"none\": prefix caching off); state_bytes is their part "
            "of total_bytes: a conv state of (conv kernel - 1) taps in the model dtype (" +
            decimal(model_bytes) + " bytes) and the SSM state in mamba_ssm_cache_dtype, " + decimal(state_page) +
            " bytes a layer" + (padded_page > state_page ? ", padded to " + decimal(padded_page) : std::string()));
        out.notes.emplace_back(
            "vllm: not modelled for these layers: prefix caching (mamba_cache_mode \"align\" holds 2 pages a "
            "request, \"all\" one a block), speculative tokens (conv taps and pages), tensor parallelism, and "
            "the block alignment of 32 for head size 256 on Blackwell with FlashInfer");
    }
    std::string block_note = "vllm: block size " + decimal(block);
    if (block != o.block_size) {
        block_note += " (--block-size " + decimal(o.block_size) +
                      " raised so that an attention page holds a state page: "
                      "HybridAttentionMambaModelConfig.verify_and_update_config)";
    }
    out.notes.push_back(block_note + ", max_model_len " + decimal(tokens) + ", max_num_batched_tokens " +
                        decimal(batched));

    // per_request_blocks: blocks of `page` bytes one request of max_model_len tokens uses (num_block_per_request
    // of get_max_concurrency_for_kv_cache_config); per_block: bytes of one such block over all layers sharing it
    // (memory_per_block); tokens_per_block, groups: for _report_kv_cache_config's token count.
    std::uint64_t per_request_blocks = 0, per_block = 0, min_block = block, vllm_groups = 1;
    if (specs.empty()) {
        out.notes.emplace_back("vllm: attention-free model: no KV cache (get_kv_cache_groups returns no group)");
    } else if (specs.size() == 1) {
        // One spec for every layer (_get_kv_cache_groups_uniform_spec): one group; every layer has a tensor of
        // num_blocks pages (get_kv_cache_config_from_groups, general case with group_size = the layers).
        const VllmSpec& v = specs[0];
        const std::uint64_t n = v.group->layers.size();
        const std::uint64_t blocks = v.blocks(tokens, batched);
        per_request_blocks = blocks;
        per_block = c.mul(v.page, n);
        min_block = v.block;
        out.groups.push_back(
            GroupSize{v.group->spec, static_cast<std::uint32_t>(n), 0,
                      holds_kv(v.group->spec.kind) ? c.mul(blocks, v.block) : 0, c.mul({o.batch, blocks, v.page, n})});
    } else if (std::all_of(specs.begin(), specs.end(), [&](const VllmSpec& v) {
                   return v.type_class() == specs[0].type_class() &&
                          (v.type_class() == 0 || v.group->spec.window == specs[0].group->spec.window);
               })) {
        // One type of attention with different sizes (UniformTypeKVCacheSpecs): one group whose page is the sum
        // of the layers' pages; max_memory_usage_bytes = the most pages any layer needs x that sum.
        std::uint64_t max_blocks = 0;
        for (const VllmSpec& v : specs) {
            max_blocks = std::max(max_blocks, v.blocks(tokens, batched));
            per_block = c.add(per_block, c.mul(v.page, v.group->layers.size()));
        }
        per_request_blocks = max_blocks;
        for (const VllmSpec& v : specs) {
            const std::uint64_t n = v.group->layers.size();
            out.groups.push_back(GroupSize{v.group->spec, static_cast<std::uint32_t>(n), 0, c.mul(max_blocks, v.block),
                                           c.mul({o.batch, max_blocks, v.page, n})});
        }
        out.notes.emplace_back("vllm: one attention type with different page sizes: one KV cache group "
                               "(UniformTypeKVCacheSpecs)");
    } else {
        // Hybrid (_get_kv_cache_groups_uniform_page_size): pages unified to the largest by raising the block size
        // of the smaller ones (unify_kv_cache_spec_page_size), then each spec's layers split into groups of
        // group_size layers, the last one padded; group_size is the fewest layers of a spec, or the most when
        // that is under 1.5 times the fewest.
        std::uint64_t max_page = 0, min_n = kU64Max, max_n = 0;
        for (const VllmSpec& v : specs) {
            max_page = std::max(max_page, v.page);
            min_n = std::min<std::uint64_t>(min_n, v.group->layers.size());
            max_n = std::max<std::uint64_t>(max_n, v.group->layers.size());
        }
        for (VllmSpec& v : specs) {
            if (max_page % v.page != 0) {
                return make_error(ErrorKind::unsupported, sizing_rules::page_sizes, kBlockField,
                                  "vllm: the layers' page sizes (" + decimal(v.page) + " and " + decimal(max_page) +
                                      " bytes) do not divide: vLLM refuses the model (NotImplementedError in "
                                      "unify_kv_cache_spec_page_size)");
            }
            v.block = c.mul(v.block, max_page / v.page);
            v.page = max_page;
        }
        const std::uint64_t group_size = 2 * max_n < 3 * min_n ? max_n : min_n;
        std::uint64_t padding = 0;
        vllm_groups = 0;
        min_block = kU64Max;
        for (const VllmSpec& v : specs) {
            const std::uint64_t n = v.group->layers.size();
            const std::uint64_t groups = Checked::cdiv(n, group_size);
            const std::uint64_t blocks = v.blocks(tokens, batched);
            vllm_groups += groups;
            padding += groups * group_size - n;
            min_block = std::min(min_block, v.block);
            per_request_blocks = c.add(per_request_blocks, c.mul(groups, blocks));
            out.groups.push_back(GroupSize{v.group->spec, static_cast<std::uint32_t>(n),
                                           static_cast<std::uint32_t>(groups * group_size - n),
                                           holds_kv(v.group->spec.kind) ? c.mul(blocks, v.block) : 0,
                                           c.mul({o.batch, groups, group_size, blocks, max_page})});
        }
        per_block = c.mul(max_page, group_size);
        std::string note = "vllm: hybrid model: " + decimal(vllm_groups) + " KV cache groups of " +
                           decimal(group_size) + " layers sharing " + decimal(max_page) + "-byte pages";
        if (padding != 0) note += ", " + decimal(padding) + " of them padding layers";
        out.notes.push_back(std::move(note));
    }
    // Memory for the batch: every request holds its blocks (_max_memory_usage_bytes_from_groups per request).
    out.total_bytes = c.mul({o.batch, per_request_blocks, per_block});
    for (const GroupSize& g : out.groups) {
        if (!holds_kv(g.spec.kind)) out.state_bytes = c.add(out.state_bytes, g.bytes);
    }
    if (c.overflow()) return c.error(Engine::vllm, tokens, o.batch);

    if (o.memory && per_block != 0) {
        // get_num_blocks: available_memory // page_size // num_layers (per_block = page x layers per tensor);
        // get_max_concurrency_for_kv_cache_config: num_blocks / num_block_per_request;
        // _report_kv_cache_config: "GPU KV cache size: num_blocks // len(groups) * min_block_size tokens".
        const std::uint64_t num_blocks = *o.memory / per_block;
        out.max_sequences = per_request_blocks == 0 ? 0 : num_blocks / per_request_blocks;
        out.max_tokens = c.mul(num_blocks / vllm_groups, min_block);
        out.notes.emplace_back("vllm: max_tokens is vLLM's \"GPU KV cache size\" (" + decimal(num_blocks) +
                               " blocks), max_sequences its \"maximum concurrency\" rounded down");
        if (c.overflow()) return c.error(Engine::vllm, tokens, o.batch);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- llama.cpp

/// llama.cpp's cache for n_seq_max = batch sequences of `tokens` tokens each, as llama-server -c (tokens x
/// batch) -np batch sets it up: kv_unified false (llama_context_default_params), flash attention (V rows like
/// K rows), default n_batch 2048 and n_ubatch 512.
struct LlamaCppSizer {
    const std::vector<LayerGroup>& groups;
    const CacheDTypeInfo& type;
    std::uint64_t ubatch;

    /// ggml_row_size(type, n) = type_size x n / blck_size; the row must be whole blocks.
    [[nodiscard]] std::optional<std::uint64_t> row(std::uint64_t n, Checked& c) const {
        if (n % type.block != 0) return std::nullopt;
        return c.mul(n / type.block, type.bytes);
    }

    Result<bool> size(std::uint64_t tokens, std::uint64_t batch, EngineSize* out, Checked& c) const {
        // llama_context: n_ctx = GGML_PAD(n_ctx, 256); n_ctx_seq = GGML_PAD(n_ctx / n_seq_max, 256) (not unified)
        const std::uint64_t n_ctx = c.pad(c.mul(tokens, batch), 256);
        const std::uint64_t n_ctx_seq = c.pad(n_ctx / batch, 256);
        const std::uint64_t n_stream = batch;
        const std::uint64_t n_ubatch = std::min({n_ctx, std::uint64_t{2048}, ubatch});  // min(n_batch, n_ubatch)
        std::uint64_t total = 0, state = 0;
        for (const LayerGroup& g : groups) {
            const LayerSpec& s = g.spec;
            const std::uint64_t n = g.layers.size();
            GroupSize gs{s, static_cast<std::uint32_t>(n), 0, 0, 0};
            if (!holds_kv(s.kind)) {
                // llama_memory_recurrent: r and s states in f32, one cell per sequence. src/llama-hparams.cpp:
                // n_embd_r = (ssm_d_conv - 1) x (ssm_d_inner + 2 x ssm_n_group x ssm_d_state), the conv state
                // without the tap shifted out; n_embd_s = ssm_d_state x ssm_d_inner. convert_hf_to_gguf maps the
                // config so that these are vLLM's split (conv_channels x (conv_kernel - 1), ssm_elements).
                const std::uint64_t elements =
                    s.conv_kernel > 0 ? c.add(c.mul(s.conv_channels, s.conv_kernel - 1), s.ssm_elements)
                                      : s.state_elements;
                gs.bytes = c.mul({batch, elements, 4, n});
                state = c.add(state, gs.bytes);
                if (out != nullptr) out->groups.push_back(gs);
                continue;
            }
            const bool swa = s.kind == LayerKind::sliding || s.kind == LayerKind::chunked;
            // llama_kv_cache_iswa: the SWA layers' cache, GGML_PAD(min(size_base, n_swa + n_ubatch), 256)
            gs.tokens = swa ? c.pad(std::min(n_ctx_seq, c.add(s.window, n_ubatch)), 256) : n_ctx_seq;
            // llama_kv_cache: K of n_embd_k_gqa = kv_heads x key dim; V of kv_heads x value dim; MLA: K of
            // kv_lora_rank + qk_rope_head_dim in one head (n_head_kv 1) and no V (has_v = !is_mla)
            const std::uint64_t k_elems = s.kind == LayerKind::mla ? std::uint64_t{s.kv_lora_rank} + s.rope_dim
                                                                   : c.mul(s.kv_heads, s.key_dim);
            const std::uint64_t v_elems = s.kind == LayerKind::mla ? 0 : c.mul(s.kv_heads, s.value_dim);
            const std::optional<std::uint64_t> k_row = row(k_elems, c);
            const std::optional<std::uint64_t> v_row = row(v_elems, c);
            if (!k_row || !v_row) {
                const std::uint64_t bad = k_row ? v_elems : k_elems;
                const ErrorDetails d{bad, type.block};
                return make_error(ErrorKind::dimension_not_divisible, sizing_rules::row_not_divisible, kKvDtypeField,
                                  "llama.cpp: a " + std::string(k_row ? "value" : "key") + " row of " + decimal(bad) +
                                      " elements is not whole blocks of " + decimal(type.block) + " " +
                                      std::string(type.name) + " elements (ggml_row_size)",
                                  d);
            }
            gs.bytes = c.mul({c.add(*k_row, *v_row), gs.tokens, n_stream, n});
            total = c.add(total, gs.bytes);
            if (out != nullptr) out->groups.push_back(gs);
        }
        if (out != nullptr) {
            out->total_bytes = total;
            out->state_bytes = state;
        }
        return !c.overflow();
    }
};

Result<EngineSize> size_llama_cpp(const CacheModel& model, std::uint32_t tokens, const EngineOptions& o,
                                  EngineSize out) {
    const std::vector<LayerGroup> groups = cache_groups(model);
    const LlamaCppSizer sizer{groups, info(out.kv_dtype), o.ubatch};
    Checked c;
    Result<bool> r = sizer.size(tokens, o.batch, &out, c);
    if (!r) return std::move(r).error();
    if (!*r) return c.error(Engine::llama_cpp, tokens, o.batch);
    {
        Checked p;
        const std::uint64_t n_ctx = p.pad(std::uint64_t{tokens} * o.batch, 256);
        out.notes.emplace_back("llama.cpp: n_seq_max " + decimal(o.batch) + ", not unified: " +
                               decimal(o.batch) + (o.batch == 1 ? " stream" : " streams") + " of " +
                               decimal(p.pad(n_ctx / o.batch, 256)) + " cells (the context padded to 256)");
    }
    if (out.state_bytes != 0) {
        out.notes.emplace_back("llama.cpp: linear-attention and Mamba layers keep their state in f32 (state_bytes)");
    }
    if (o.memory) {
        const std::uint64_t mem = *o.memory;
        auto fits = [&](std::uint64_t t, std::uint64_t b) {
            Checked cc;
            EngineSize tmp;
            Result<bool> ok = sizer.size(t, b, &tmp, cc);
            return ok && *ok && tmp.total_bytes <= mem;
        };
        out.max_tokens = fits(1, 1) ? largest(1, std::numeric_limits<std::uint32_t>::max(),
                                              [&](std::uint64_t t) { return fits(t, 1); })
                                    : 0;
        out.max_sequences =
            fits(tokens, 1) ? largest(1, std::numeric_limits<std::uint32_t>::max(),
                                      [&](std::uint64_t b) { return fits(tokens, b); })
                            : 0;
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- public

std::string_view to_string(Engine engine) noexcept {
    switch (engine) {
        case Engine::hf: return "hf";
        case Engine::vllm: return "vllm";
        case Engine::llama_cpp: return "llama.cpp";
    }
    return {};
}

std::optional<Engine> parse_engine(std::string_view text) noexcept {
    for (const Engine e : kEngines) {
        if (to_string(e) == text) return e;
    }
    return std::nullopt;
}

std::span<const CacheDTypeInfo> cache_dtypes() noexcept { return kDTypes; }

const CacheDTypeInfo& info(CacheDType type) noexcept {
    for (const CacheDTypeInfo& d : kDTypes) {
        if (d.type == type) return d;
    }
    return kDTypes[0];
}

std::string_view to_string(CacheDType type) noexcept { return info(type).name; }

std::optional<CacheDType> parse_cache_dtype(std::string_view text) noexcept {
    if (text == "fp8") return CacheDType::fp8_e4m3;  // vLLM: "fp8" is fp8_e4m3
    for (const CacheDTypeInfo& d : kDTypes) {
        if (d.name == text) return d.type;
    }
    return std::nullopt;
}

Result<EngineSize> size_cache(const CacheModel& model, Engine engine, std::uint32_t tokens,
                              const EngineOptions& options) {
    if (tokens == 0) {
        return make_error(ErrorKind::parse, sizing_rules::option, kTokensField, "tokens must be at least 1");
    }
    if (options.batch == 0) {
        return make_error(ErrorKind::parse, sizing_rules::option, kBatchField, "batch must be at least 1");
    }
    if (engine == Engine::vllm && options.block_size == 0) {
        return make_error(ErrorKind::parse, sizing_rules::option, kBlockField, "block_size must be at least 1");
    }
    // Every KV layer has heads and widths, every windowed one a window (the reader makes sure of it; a model
    // built by hand might not): a page of zero bytes would divide by zero in vLLM's page unification.
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const LayerSpec& s = model.layers[i];
        if (!holds_kv(s.kind)) continue;
        const bool windowed = s.kind == LayerKind::sliding || s.kind == LayerKind::chunked;
        const bool empty = s.kind == LayerKind::mla ? s.kv_lora_rank == 0 || s.kv_heads == 0 || s.key_dim == 0
                                                    : s.kv_heads == 0 || s.key_dim == 0 || s.value_dim == 0;
        if (empty || (windowed && s.window == 0)) {
            return make_error(ErrorKind::parse, sizing_rules::empty_layer, kLayersField,
                              "layer " + decimal(i) + " (" + std::string(to_string(s.kind)) +
                                  ") has no KV heads, no head width or no window: a KV layer needs all of them");
        }
    }
    EngineSize out;
    out.engine = engine;
    out.tokens = tokens;
    out.batch = options.batch;
    out.notes = model.notes;
    Result<CacheDType> dt = resolve_dtype(model, engine, options.kv_dtype, out.notes);
    if (!dt) return std::move(dt).error();
    out.kv_dtype = *dt;
    switch (engine) {
        case Engine::hf: return size_hf(model, tokens, options, std::move(out));
        case Engine::vllm: {
            const CacheModel seen = explicit_windows_only(model, engine, out.notes);
            return size_vllm(seen, tokens, options, std::move(out));
        }
        case Engine::llama_cpp: {
            const CacheModel seen = explicit_windows_only(model, engine, out.notes);
            return size_llama_cpp(seen, tokens, options, std::move(out));
        }
    }
    return out;
}

Result<std::uint64_t> contiguous_bytes(const CacheModel& model, std::uint32_t tokens, std::uint32_t batch,
                                       std::uint32_t dtype_bytes) {
    Checked c;
    std::uint64_t total = 0;
    for (const LayerSpec& s : model.layers) {
        if (!holds_kv(s.kind)) continue;
        total = c.add(total, c.mul({batch, tokens, s.kv_heads, std::uint64_t{s.key_dim} + s.value_dim, dtype_bytes}));
    }
    if (c.overflow()) {
        return make_error(ErrorKind::resource_limit_exceeded, sizing_rules::overflow, kTokensField,
                          "the contiguous cache for " + decimal(batch) + " x " + decimal(tokens) +
                              " tokens does not fit in 64 bits");
    }
    return total;
}

Result<std::uint64_t> parse_memory_size(std::string_view text) {
    auto bad = [&] {
        std::string m = "invalid memory size `";
        detail::append_text(m, text.substr(0, 64));
        m.append("`: expected a byte count or a number with a unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 24GiB");
        return make_error(ErrorKind::parse, sizing_rules::memory_size, kMemoryField, std::move(m));
    };
    static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}, {"KB", 1000ull},
        {"MB", 1000000ull},  {"GB", 1000000000ull}, {"TB", 1000000000000ull}, {"B", 1},
    };
    std::uint64_t unit = 1;
    std::string_view number = text;
    for (const auto& [name, scale] : kUnits) {
        if (number.size() > name.size() && number.ends_with(name)) {
            unit = scale;
            number.remove_suffix(name.size());
            break;
        }
    }
    if (number.empty() || number.find_first_not_of("0123456789.") != std::string_view::npos) return bad();
    const std::size_t dot = number.find('.');
    const std::string_view whole = number.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
    if (whole.empty() || (dot != std::string_view::npos && (frac.empty() || unit == 1)) ||
        frac.find('.') != std::string_view::npos || frac.size() > 9) {
        return bad();
    }
    std::uint64_t w = 0;
    if (std::from_chars(whole.data(), whole.data() + whole.size(), w).ec != std::errc{}) return bad();
    std::uint64_t f = 0, f_scale = 1;
    for (const char ch : frac) {
        f = f * 10 + static_cast<std::uint64_t>(ch - '0');
        f_scale *= 10;
    }
    Checked c;
    // w x unit + floor(f x unit / f_scale), with f x unit split so that it cannot overflow past the result
    const std::uint64_t bytes = c.add(c.mul(w, unit), c.mul(unit / f_scale, f) + (unit % f_scale) * f / f_scale);
    if (c.overflow()) return bad();
    return bytes;
}

}  // namespace fib_quant_kv::sizing
