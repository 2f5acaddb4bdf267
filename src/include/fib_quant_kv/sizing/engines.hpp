// fib_quant_kv sizing, step 3 of 4: what an engine allocates for a CacheModel (fib_quant_kv/sizing/cache_model.hpp).
//
// One allocator per engine. Each groups the layers by spec and asks every group the same questions (how many
// bytes one token of one layer takes, how many tokens the layer keeps for a sequence of T tokens); none looks at
// the model's family. The formulas, and where each engine computes them, are cited in src/sizing/engines.cpp:
//   * hf: transformers' DynamicCache after one forward pass of T tokens (cache_utils.py);
//   * vllm: vLLM v1's paged KV cache: KV cache specs, groups, blocks (v1/kv_cache_interface.py, core/kv_cache_utils.py);
//   * llama.cpp: llama_kv_cache / llama_kv_cache_iswa tensors of ggml rows (src/llama-kv-cache*.cpp, ggml type traits).
// Nothing throws; every failure is an Error (see sizing_rules).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/error.hpp"
#include "fib_quant_kv/sizing/cache_model.hpp"

namespace fib_quant_kv::sizing {

/// Rule ids of the sizing errors.
namespace sizing_rules {
inline constexpr std::string_view dtype_unsupported = "sizing.dtype_unsupported";  ///< unsupported: engine and dtype
inline constexpr std::string_view overflow = "sizing.overflow";          ///< resource_limit_exceeded: past 2^64
inline constexpr std::string_view row_not_divisible = "sizing.row_not_divisible";  ///< dimension_not_divisible
inline constexpr std::string_view page_sizes = "sizing.page_sizes";      ///< unsupported: vLLM cannot unify pages
inline constexpr std::string_view option = "sizing.option";              ///< parse: a bad option value
inline constexpr std::string_view memory_size = "sizing.memory_size";    ///< parse: a bad --memory text
inline constexpr std::string_view empty_layer = "sizing.empty_layer";    ///< parse: a KV layer of zero heads or width
}  // namespace sizing_rules

enum class Engine : std::uint8_t { hf, vllm, llama_cpp };

/// "hf", "vllm", "llama.cpp".
[[nodiscard]] std::string_view to_string(Engine engine) noexcept;
[[nodiscard]] std::optional<Engine> parse_engine(std::string_view text) noexcept;
inline constexpr Engine kEngines[] = {Engine::hf, Engine::vllm, Engine::llama_cpp};

/// The element type of a cache. `automatic` is each engine's default (resolved in EngineSize::kv_dtype).
enum class CacheDType : std::uint8_t { automatic, f32, f16, bf16, fp8_e4m3, fp8_e5m2, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl };

/// One cache dtype as data: its name, its storage (bytes per block of `block` elements, ggml's type traits for
/// the block types), and the engines that can keep a cache of it.
struct CacheDTypeInfo {
    CacheDType type;
    std::string_view name;   ///< as --kv-dtype spells it
    std::uint32_t block;     ///< elements per block (1 for the float types)
    std::uint32_t bytes;     ///< bytes per block
    bool hf, vllm, llama_cpp;
};

[[nodiscard]] std::span<const CacheDTypeInfo> cache_dtypes() noexcept;
[[nodiscard]] const CacheDTypeInfo& info(CacheDType type) noexcept;
[[nodiscard]] std::string_view to_string(CacheDType type) noexcept;
/// A --kv-dtype name; "fp8" is vLLM's alias of fp8_e4m3.
[[nodiscard]] std::optional<CacheDType> parse_cache_dtype(std::string_view text) noexcept;

/// How the engine is run. The defaults are each engine's own.
struct EngineOptions {
    std::uint32_t batch = 1;                  ///< sequences held at once
    CacheDType kv_dtype = CacheDType::automatic;
    std::uint32_t block_size = 16;            ///< vLLM --block-size (CacheConfig's default on CUDA)
    std::uint32_t max_num_batched_tokens = 8192;  ///< vLLM --max-num-batched-tokens (`vllm serve`'s default)
    std::uint32_t ubatch = 512;               ///< llama.cpp -ub, n_ubatch (llama_context_default_params)
    std::optional<std::uint64_t> memory;      ///< bytes for the cache: fills max_tokens and max_sequences
};

/// One layer group as an engine sized it.
struct GroupSize {
    LayerSpec spec;
    std::uint32_t layers = 0;          ///< layers of this spec
    std::uint32_t padding_layers = 0;  ///< vLLM: layers added to make its groups equal
    std::uint64_t tokens = 0;          ///< token slots one layer keeps per sequence (vLLM: blocks x block size;
                                       ///< llama.cpp: cells per stream)
    std::uint64_t bytes = 0;           ///< the group's bytes for all sequences (padding included)
};

/// What one engine holds for `batch` sequences of `tokens` tokens.
struct EngineSize {
    Engine engine = Engine::hf;
    std::uint32_t tokens = 0;
    std::uint32_t batch = 0;
    CacheDType kv_dtype = CacheDType::automatic;  ///< resolved
    std::uint64_t total_bytes = 0;   ///< the KV cache (padding included), for all sequences
    std::uint64_t state_bytes = 0;   ///< linear-attention and Mamba state, for all sequences: hf and llama.cpp
                                     ///< apart from total_bytes; vLLM keeps it in the KV cache pool, and this
                                     ///< is the part of total_bytes in its (padded) state pages
    std::vector<GroupSize> groups;   ///< in the order their spec first appears
    std::optional<std::uint64_t> max_tokens;     ///< with EngineOptions::memory: tokens the cache holds
    std::optional<std::uint64_t> max_sequences;  ///< with EngineOptions::memory: sequences of `tokens` at once
    std::vector<std::string> notes;  ///< the reader's notes, then the engine's

    friend bool operator==(const EngineSize&, const EngineSize&) = default;
};

/// The cache `engine` allocates for options.batch sequences of `tokens` tokens.
[[nodiscard]] Result<EngineSize> size_cache(const CacheModel& model, Engine engine, std::uint32_t tokens,
                                            const EngineOptions& options = {});

/// The contiguous upper bound: every KV layer at the full length, keys and values of every head as transformers
/// lays them out, `dtype_bytes` per element, for `batch` sequences of `tokens` tokens.
[[nodiscard]] Result<std::uint64_t> contiguous_bytes(const CacheModel& model, std::uint32_t tokens,
                                                     std::uint32_t batch, std::uint32_t dtype_bytes);

/// A memory size: "24GiB", "80GB", "512MiB", "1.5GiB" or a byte count. Binary (KiB, MiB, GiB, TiB) and decimal
/// (KB, MB, GB, TB) units; a fraction only with a unit; the result is rounded down to whole bytes.
[[nodiscard]] Result<std::uint64_t> parse_memory_size(std::string_view text);

}  // namespace fib_quant_kv::sizing
