// fib_quant_kv sizing, step 2 of 4: a model of the cache's structure, as data.
//
// The config reader (fib_quant_kv/hf_config.hpp, step 1) turns a config.json, with its family's keys and its
// class defaults, into one LayerSpec per decoder layer. Nothing after it knows which family a model came from:
// the engines' allocators (fib_quant_kv/sizing/engines.hpp, step 3) ask each layer group the same questions,
// and the report (the CLI, step 4) prints what they answer.
//
// This is llama.cpp's way (src/llama-hparams.h keeps per-layer arrays, n_head_kv_arr and a swa_layers flag per
// layer, set once from the model's pattern) and vLLM's (vllm/v1/kv_cache_interface.py gives each attention kind
// its own spec and groups equal specs, vllm/v1/core/kv_cache_utils.py get_kv_cache_groups).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fib_quant_kv::sizing {

/// What one decoder layer keeps for a sequence.
enum class LayerKind : std::uint8_t {
    full,              ///< keys and values of every token
    sliding,           ///< keys and values of the last `window` tokens
    chunked,           ///< keys and values of the current chunk of `window` tokens (Llama-4 local attention)
    mla,               ///< multi-head latent attention: a compressed latent (DeepSeek-V2/V3, Kimi-K2)
    linear_attention,  ///< no keys and values: a fixed-size recurrent state (Qwen3-Next Gated DeltaNet)
    mamba,             ///< no keys and values: a fixed-size SSM state (Mamba, Jamba's Mamba layers)
    none,              ///< no attention and no state: an MLP or MoE layer of a hybrid (Nemotron-H's "-" and "E")
};

/// The wire names: "full", "sliding", "chunked", "mla", "linear_attention", "mamba", "none".
[[nodiscard]] std::string_view to_string(LayerKind kind) noexcept;

/// True for the kinds that hold keys and values per token.
[[nodiscard]] constexpr bool holds_kv(LayerKind kind) noexcept {
    return kind == LayerKind::full || kind == LayerKind::sliding || kind == LayerKind::chunked ||
           kind == LayerKind::mla;
}

/// One layer's facts. Two layers with equal specs size alike in every engine.
struct LayerSpec {
    LayerKind kind = LayerKind::full;
    std::uint32_t window = 0;     ///< sliding: the window; chunked: the chunk size; else 0
    std::uint32_t kv_heads = 0;   ///< heads of keys and values per token (mla: the attention heads, as
                                  ///< transformers caches the up-projected keys and values of every head)
    std::uint32_t key_dim = 0;    ///< elements of one head's key (mla: qk_nope_head_dim + qk_rope_head_dim)
    std::uint32_t value_dim = 0;  ///< elements of one head's value (mla: v_head_dim)
    std::uint32_t kv_lora_rank = 0;  ///< mla: the rank of the compressed latent; else 0
    std::uint32_t rope_dim = 0;      ///< mla: qk_rope_head_dim, the decoupled RoPE key stored beside it; else 0
    std::uint64_t state_elements = 0;  ///< linear_attention and mamba: elements of one sequence's state, as
                                       ///< transformers keeps it (conv_channels x conv_kernel + ssm_elements)
    /// linear_attention and mamba, the state's two parts as vLLM shapes them (vllm/model_executor/layers/mamba/
    /// mamba_utils.py, MambaStateShapeCalculator: a conv state of conv_channels x (conv_kernel - 1) and a
    /// temporal/SSM state of ssm_elements); 0 where the reader did not split the state.
    std::uint64_t conv_channels = 0;
    std::uint32_t conv_kernel = 0;
    std::uint64_t ssm_elements = 0;
    /// Bytes of one SSM-state element the config asks engines for (Nemotron-H's mamba_ssm_cache_dtype, which
    /// vLLM's NemotronHForCausalLMConfig reads, float16 when the key is absent; Qwen3.5's mamba_ssm_dtype, which
    /// vLLM's Qwen3_5ForConditionalGenerationConfig reads); 0: the engine's own choice.
    std::uint32_t ssm_dtype_bytes = 0;
    /// sliding: the window is the config's one sliding_window applied to every layer for want of any layer
    /// pattern (Mistral v0.1). transformers' DynamicCache slides such layers; vLLM (which reads windows from
    /// layer_types, vllm/model_executor/models/llama.py) and llama.cpp (which reads n_swa where its converter
    /// records one) keep them full.
    bool implicit_window = false;

    friend bool operator==(const LayerSpec&, const LayerSpec&) = default;
};

/// A model's cache: one spec per decoder layer, in layer order.
struct CacheModel {
    std::optional<std::string> model_type;   ///< the root's, else the text section's
    std::uint32_t query_heads = 0;           ///< attention heads (for the v1 descriptor)
    std::vector<LayerSpec> layers;
    std::optional<std::string> torch_dtype;  ///< the weights' dtype as the config writes it ("bfloat16")
    std::vector<std::string> notes;          ///< what the reader assumed (class defaults, patterns)

    friend bool operator==(const CacheModel&, const CacheModel&) = default;
};

/// Layers with one spec, in the order the spec first appears.
struct LayerGroup {
    LayerSpec spec;
    std::vector<std::uint32_t> layers;  ///< layer indices, ascending

    friend bool operator==(const LayerGroup&, const LayerGroup&) = default;
};

/// Groups the layers by equal spec (vLLM's first step in _get_kv_cache_groups_uniform_page_size).
[[nodiscard]] std::vector<LayerGroup> group_layers(const CacheModel& model);

/// group_layers() without the layers that cache nothing (LayerKind::none): what an engine allocates for.
[[nodiscard]] std::vector<LayerGroup> cache_groups(const CacheModel& model);

}  // namespace fib_quant_kv::sizing
