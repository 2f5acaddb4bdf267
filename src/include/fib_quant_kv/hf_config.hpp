// fib_quant_kv sizing, step 1 of 4: a model's cache from its Hugging Face config.json.
//
// read_hf_config() reads the bytes of a config.json (bounded: HfConfigLimits) into an HfConfig: the numbers of
// the v1 descriptor (layers, query heads, KV heads, head_dim, the config's dtype) and `cache`, the cache model
// of every layer (fib_quant_kv/sizing/cache_model.hpp) that the engines size (fib_quant_kv/sizing/engines.hpp).
// size_kv_cache() turns the first into the key and value KvTensorShapeV1 for a batch and a token count, both
// validated, with their byte sizes; to_json() writes that row. Nothing throws; every failure is an Error:
//   * parse: not a JSON object, not UTF-8, too large or too deep, a key of the wrong type or out of range
//     (rules hf_config.*, json.syntax), a required key missing (hf_config.missing_key, naming the key),
//     layer_types of the wrong length (hf_config.layer_types_length) or naming an unknown kind
//     (hf_config.unknown_layer_type), a window, chunk, period or interval of 0 (hf_config.invalid_value);
//   * unsupported, from size_kv_cache() only (HfConfig::v1_refusal): a cache the v1 descriptor cannot describe
//     faithfully: multi-head latent attention (kv_lora_rank), key and value head dims that differ, layers
//     without keys and values (linear attention, Mamba), a torch_dtype that is not f16, bf16 or f32;
//   * unsupported, from read_hf_config(): a model with no decoder-only KV cache (hf_config.not_decoder_only):
//     is_encoder_decoder true, or a model_type of an encoder-only or encoder-decoder family (BERT, T5, ...);
//   * unsupported, from read_hf_config(): a key that gives layers a geometry of their own this reader does not
//     lay out (hf_config.unknown_layer_pattern): a layers_block_type "hybrid" layer (Zamba2), linear_attn_config
//     (Kimi-Linear), block_configs attention other than plain or no_op (Nemotron-NAS's replace_with_linear,
//     window_length, sinks), cross_attention_layers (Mllama), mamba_d_ssm (Falcon-H1's parallel Mamba-2),
//     compress_ratios (DeepSeek-V4), a global_head_dim beside key and value widths that differ, a 0 in
//     attn_type_list or model_type "minimax" with "linear_attention" layers (MiniMax's lightning attention),
//     attention_other_setting (Step-3.5), block_types (RecurrentGemma), layer_group_size (Ling/Ring linear),
//     full_attn_idxs (LFM2), use_cla with a cla_share_factor above 1 (Hunyuan's cross-layer attention);
//     attention_chunk_size outside Llama-4 with nothing that says which layers are chunked;
//   * dimension_not_divisible: hidden_size (n_embd) is not a multiple of the attention heads, with no head_dim;
//   * the descriptor's own validate() error, from read_hf_config(), on the attention geometry of one token (so
//     that the v1 rows and every engine refuse alike): grouped.heads_divisible when KV heads do not divide the
//     heads (more KV heads than heads among them), layers.nonzero, kv_heads.nonzero, head_dim.nonzero;
//   * resource_limit_exceeded: a size that does not fit in 64 bits.
//
// NaN, Infinity and -Infinity, which Python's json module writes (Mamba-2's time_step_limit), are read as numbers
// that are not integers: a key the cache does not depend on may hold one; one it does is refused as that key's
// invalid type.
//
// Which keys are read (a key whose value is null counts as absent, as transformers' defaults do):
//   * the model section: `text_config` when it is an object (LLaVA-style multimodal configs), else the root;
//   * class defaults: a key the section leaves out takes the default of transformers' config class for the
//     section's model_type (a composite's text model: LLaVA's is Llama), from one table of rows (a note says
//     which were used);
//   * layers: num_hidden_layers, else n_layer (GPT-2), else num_layers (ChatGLM); heads: num_attention_heads,
//     else n_head (none: a Mamba model, all state);
//   * KV heads: num_key_value_heads, else num_attention_groups (Step-3); else Falcon's: new_decoder_architecture
//     true -> num_kv_heads (n_head_kv in the RefinedWeb configs; default the heads), multi_query true -> 1,
//     num_kv_heads; ChatGLM's multi_query_attention true -> multi_query_group_num (default 1); else the
//     attention heads;
//   * head_dim: an explicit head_dim, else attention_head_dim (Hunyuan), else hidden_size (or n_embd) / heads,
//     which must divide exactly;
//     qk_head_dim and v_head_dim, when given, are the key and value widths;
//   * MLA: kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
//   * Gemma-4's full-attention layers: global_head_dim, and num_global_key_value_heads where attention_k_eq_v
//     (K and V both cached, as vLLM's Gemma4DecoderLayer does); MiMo-V2's sliding layers (hybrid_layer_pattern
//     1): swa_num_key_value_heads, swa_head_dim, swa_v_head_dim and the window sliding_window_size; Gemma-3n's
//     num_kv_shared_layers: the last layers keep no keys and values of their own;
//   * each layer's kind: layer_types ("attention" too, Granite-4.0-H's name for full attention), else the
//     family's pattern: hybrid_layer_pattern (MiMo-V2: 1 sliding, 0 full), attn_type_list (MiniMax: 1 full),
//     block_configs (Nemotron-NAS: attention with
//     num_attention_heads / attention.n_heads_in_group KV heads, none where attention.no_op; a layer's KV heads
//     may differ), hybrid_override_pattern or layers_block_type (Nemotron-H; the latter also gives the layer
//     count when num_hidden_layers is absent), attn_layer_period/attn_layer_offset (Jamba;
//     Mamba elsewhere), full_attention_interval (Qwen3-Next; linear attention elsewhere), attention_chunk_size
//     with no_rope_layers or no_rope_layer_interval (Llama-4), sliding_window_pattern as an integer or a string
//     of L and G (Gemma-2/3, Cohere-2), use_sliding_window with max_window_layers (Qwen2), a sliding_window on
//     every layer (Mistral v0.1), else full;
//   * Mamba-2 state: mamba_num_heads, mamba_head_dim, n_groups, ssm_state_size, conv_kernel (Nemotron-H), or
//     Granite-4.0-H's mamba_n_heads, mamba_d_head, mamba_n_groups, mamba_d_state, mamba_d_conv with an
//     intermediate of mamba_expand x hidden_size;
//   * dtype: torch_dtype (or transformers' newer `dtype`) in the model section, else at the root; "auto" or
//     absent needs an explicit dtype (HfSizeOptions::dtype), which also overrides the config's;
//   * model_type: the root's (e.g. "llava"), else the model section's; absent is allowed (JSON null);
//   * sliding_window: a non-null value, unless use_sliding_window is false (Qwen2), adds a note to the v1 row:
//     the descriptor has no window, so every layer is sized at the full length.
// MHA, MQA or GQA is inferred: MHA when KV heads == heads, MQA when KV heads == 1 < heads, GQA otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/error.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1.hpp"
#include "fib_quant_kv/sizing/cache_model.hpp"

namespace fib_quant_kv {

/// Rule ids of the config reader's own errors.
namespace hf_config_rules {
inline constexpr std::string_view too_large = "hf_config.too_large";        ///< parse: over max_bytes
inline constexpr std::string_view too_deep = "hf_config.too_deep";          ///< parse: nested past max_depth
inline constexpr std::string_view invalid_type = "hf_config.invalid_type";  ///< parse: a key of the wrong JSON type
inline constexpr std::string_view invalid_value = "hf_config.invalid_value";  ///< parse: right type, out of range
inline constexpr std::string_view duplicate_key = "hf_config.duplicate_key";  ///< parse: a key read twice
inline constexpr std::string_view missing_key = "hf_config.missing_key";      ///< parse: a required key absent
inline constexpr std::string_view hidden_size_divisible = "hf_config.hidden_size_divisible";  ///< no head_dim
inline constexpr std::string_view mla = "hf_config.mla";                          ///< unsupported: kv_lora_rank
inline constexpr std::string_view head_dims_differ = "hf_config.head_dims_differ";  ///< unsupported
inline constexpr std::string_view dtype_unsupported = "hf_config.dtype_unsupported";  ///< unsupported
inline constexpr std::string_view total_overflow = "hf_config.total_overflow";  ///< resource_limit_exceeded
inline constexpr std::string_view token_list = "hf_config.token_list";          ///< parse: a bad --tokens list
inline constexpr std::string_view layer_types_length = "hf_config.layer_types_length";  ///< parse: wrong length
inline constexpr std::string_view unknown_layer_type = "hf_config.unknown_layer_type";  ///< parse: not a kind
inline constexpr std::string_view too_many_layers = "hf_config.too_many_layers";  ///< resource_limit_exceeded
inline constexpr std::string_view layers_differ = "hf_config.layers_differ";  ///< unsupported: not one geometry
inline constexpr std::string_view not_decoder_only = "hf_config.not_decoder_only";  ///< unsupported: encoder
inline constexpr std::string_view unknown_layer_pattern = "hf_config.unknown_layer_pattern";  ///< unsupported
}  // namespace hf_config_rules

/// Bounds on the input, checked before and while parsing. Real configs are a few KiB, nested 3 or 4 deep.
struct HfConfigLimits {
    std::size_t max_bytes = std::size_t{16} << 20;  ///< 16 MiB
    std::size_t max_depth = 64;                     ///< arrays and objects, the root object counting as 1
    std::uint32_t max_layers = 65536;               ///< decoder layers: the cache model keeps one spec per layer
};

/// What a config.json says about the KV cache.
struct HfConfig {
    std::optional<std::string> model_type;  ///< the root's model_type, else the model section's
    std::uint32_t layers = 0;
    std::uint32_t query_heads = 0;
    std::uint32_t kv_heads = 0;
    std::uint32_t head_dim = 0;
    KvAttentionKind attention_kind{};       ///< inferred from the head counts
    std::optional<std::string> torch_dtype;  ///< as written; resolved by size_kv_cache()
    std::vector<std::string> notes;         ///< what the descriptors leave out (sliding windows)
    std::optional<Error> v1_refusal;        ///< why size_kv_cache() cannot describe this cache, if it cannot
    sizing::CacheModel cache;               ///< every layer's facts, for the engines (sizing/engines.hpp)

    friend bool operator==(const HfConfig&, const HfConfig&) = default;
};

/// Reads a config.json. The text is not kept.
[[nodiscard]] Result<HfConfig> read_hf_config(std::string_view json, const HfConfigLimits& limits = {});

/// How to size a cache from an HfConfig.
struct HfSizeOptions {
    std::uint32_t batch = 1;
    std::optional<KvDType> dtype;                    ///< overrides the config's torch_dtype
    KvRopeState key_rope = KvRopeState::post_rope;  ///< what serving caches store
};

/// One model's KV cache at one token count: the row `kvshape from-hf-config` prints.
struct KvCacheSize {
    std::optional<std::string> model_type;
    KvTensorShapeV1 key;            ///< validated
    KvTensorShapeV1 value;          ///< validated; rope_state not_applicable
    std::uint64_t bytes_per_token;  ///< K + V bytes for one token of one sequence
    std::uint64_t total_bytes;      ///< K + V bytes for `batch` sequences of `tokens` tokens
    std::vector<std::string> notes;

    friend bool operator==(const KvCacheSize&, const KvCacheSize&) = default;
};

/// The cache's dtype: options.dtype, else the config's torch_dtype (an error when it has none, or one the
/// descriptor does not know).
[[nodiscard]] Result<KvDType> cache_dtype(const HfConfig& config, const HfSizeOptions& options = {});

/// The cache for `tokens` tokens; the dtype is options.dtype, else the config's torch_dtype.
[[nodiscard]] Result<KvCacheSize> size_kv_cache(const HfConfig& config, std::uint32_t tokens,
                                                const HfSizeOptions& options = {});

/// One row per token count, in order; the first failure stops it.
[[nodiscard]] Result<std::vector<KvCacheSize>> size_kv_cache(const HfConfig& config,
                                                             std::span<const std::uint32_t> tokens,
                                                             const HfSizeOptions& options = {});

/// A token count list, "4096" or "4096,32768,131072": decimal u32 values from 1, comma-separated, no spaces, at
/// least one. Zero is refused here, so that a list is refused alike whatever is sized from it (size_kv_cache()'s
/// descriptors and the engines' options each refuse a zero too, with their own rules).
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_token_counts(std::string_view text);

/// One row as one compact JSON object, fields in this order:
/// {"model_type":"llama","key":{...},"value":{...},"bytes_per_token":N,"total_bytes":N,"notes":["..."]}
/// key and value are the descriptors' canonical JSON (to_json()); model_type is null when the config has none.
[[nodiscard]] std::string to_json(const KvCacheSize& row);

}  // namespace fib_quant_kv
