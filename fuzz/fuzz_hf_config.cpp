// libFuzzer target: the Hugging Face config.json reader (a trust boundary: the file is whatever was downloaded).
//   * read_hf_config never crashes, and every rejection is a typed Error with a rule and a UTF-8 message: parse
//     for input it cannot read, unsupported or dimension_not_divisible for a config it will not size,
//     corrupt_payload for a geometry the descriptor's validate() refuses (KV heads that do not divide the heads),
//     resource_limit_exceeded past HfConfigLimits::max_layers or for a layer state past 2^64;
//   * what it accepts sizes without crashing: every row's descriptors validate, its JSON row is UTF-8 and holds
//     their canonical JSON, total_bytes is the two byte sizes added, and bytes_per_token is no more than it;
//     a sizing failure is a typed Error too;
//   * the cache model (one spec per layer, from layer_types, the pattern keys and class defaults) has as many
//     layers as the config, and every engine sizes it without crashing: its groups add up to total_bytes (KV
//     layers; vLLM's total holds the state pages too) and state_bytes (linear attention, Mamba), no engine holds
//     more than the contiguous bound for the same dtype width where that bound is meaningful (hf), and --memory
//     answers fit in the memory.
// Seeds: examples/configs and tests/data/hf_configs (copied to the build tree, see CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/hf_config.hpp"
#include "fib_quant_kv/sizing/engines.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;
using fqk::detail::is_valid_utf8;

namespace {

void require_typed(const fqk::Error& e) {
    FQK_REQUIRE(!e.rule.empty() && !e.message.empty());
    FQK_REQUIRE(is_valid_utf8(e.message));
}

namespace sz = fib_quant_kv::sizing;

/// Every engine, at a few token counts and options picked by the input's first bytes.
void check_engines(const fqk::HfConfig& config, const std::uint8_t* data, std::size_t size) {
    sz::EngineOptions o;
    const std::span<const sz::CacheDTypeInfo> dtypes = sz::cache_dtypes();
    if (size > 0) o.kv_dtype = dtypes[data[0] % dtypes.size()].type;
    if (size > 1) o.batch = 1u + data[1] % 8u;
    if (size > 2) o.block_size = 1u + data[2];
    if (size > 3) o.max_num_batched_tokens = 1u + data[3] * 64u;
    if (size > 4) o.ubatch = 1u + data[4] * 8u;
    if (size > 5 && data[5] % 2 == 0) o.memory = std::uint64_t{data[5]} << (data[5] % 40);
    for (const sz::Engine e : sz::kEngines) {
        for (const std::uint32_t t : {1u, 4095u, 65536u, 0xFFFFFFFFu}) {
            const fqk::Result<sz::EngineSize> r = sz::size_cache(config.cache, e, t, o);
            if (!r) {
                require_typed(r.error());
                FQK_REQUIRE(r.error().kind == fqk::ErrorKind::unsupported ||
                            r.error().kind == fqk::ErrorKind::resource_limit_exceeded ||
                            r.error().kind == fqk::ErrorKind::dimension_not_divisible ||
                            r.error().kind == fqk::ErrorKind::parse);
                continue;
            }
            std::uint64_t kv = 0, state = 0;
            for (const sz::GroupSize& g : r->groups) {
                (sz::holds_kv(g.spec.kind) ? kv : state) += g.bytes;
            }
            FQK_REQUIRE(state == r->state_bytes);
            if (e == sz::Engine::vllm) {
                // vLLM keeps linear-attention and Mamba state in its KV cache pool: state_bytes is part of the total
                std::uint64_t sum = 0;
                FQK_REQUIRE(!__builtin_add_overflow(kv, state, &sum) && sum == r->total_bytes);
            } else {
                FQK_REQUIRE(kv == r->total_bytes);
            }
            for (const std::string& note : r->notes) FQK_REQUIRE(is_valid_utf8(note));
            if (e == sz::Engine::hf) {
                const fqk::Result<std::uint64_t> bound =
                    sz::contiguous_bytes(config.cache, t, o.batch, sz::info(r->kv_dtype).bytes);
                FQK_REQUIRE(!bound || r->total_bytes <= *bound);  // the bound may overflow where windows keep hf small
            }
            if (o.memory && r->max_sequences && *r->max_sequences > 0 && e != sz::Engine::vllm) {
                // the engine's own sizing of that many sequences fits in the memory
                sz::EngineOptions fit = o;
                fit.memory.reset();
                fit.batch = static_cast<std::uint32_t>(std::min<std::uint64_t>(*r->max_sequences, 0xFFFFFFFFu));
                const fqk::Result<sz::EngineSize> f = sz::size_cache(config.cache, e, t, fit);
                FQK_REQUIRE(!f || f->total_bytes <= *o.memory);
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const fqk::Result<fqk::HfConfig> config = fqk::read_hf_config(text);
    if (!config) {
        const fqk::Error& e = config.error();
        require_typed(e);
        FQK_REQUIRE(e.kind == fqk::ErrorKind::parse || e.kind == fqk::ErrorKind::unsupported ||
                    e.kind == fqk::ErrorKind::dimension_not_divisible ||
                    e.kind == fqk::ErrorKind::corrupt_payload ||            // the geometry, by validate()
                    e.kind == fqk::ErrorKind::resource_limit_exceeded);  // over max_layers, a state past 2^64
        return 0;
    }
    if (config->model_type) FQK_REQUIRE(is_valid_utf8(*config->model_type));
    FQK_REQUIRE(config->cache.layers.size() == config->layers);
    for (const std::string& note : config->cache.notes) FQK_REQUIRE(is_valid_utf8(note));
    check_engines(*config, data, size);

    // The last bytes pick the options, so that the fuzzer reaches batch, dtype and overflow paths.
    const std::uint32_t tokens[] = {1, 4096, size > 0 ? 0xFFFFFFFFu / (data[size - 1] + 1u) : 7u};
    fqk::HfSizeOptions options;
    if (size > 1) options.batch = data[size - 2] == 0xFF ? 0xFFFFFFFFu : data[size - 2];
    if (size > 2 && data[size - 3] % 4 != 3) options.dtype = static_cast<fqk::KvDType>(data[size - 3] % 4);
    const fqk::Result<std::vector<fqk::KvCacheSize>> rows = fqk::size_kv_cache(*config, std::span(tokens), options);
    if (!rows) {
        require_typed(rows.error());
        return 0;
    }
    for (const fqk::KvCacheSize& row : *rows) {
        FQK_REQUIRE(fqk::validate(row.key).ok() && fqk::validate(row.value).ok());
        FQK_REQUIRE(row.total_bytes == fqk::byte_size(row.key).value() + fqk::byte_size(row.value).value());
        FQK_REQUIRE(row.bytes_per_token <= row.total_bytes);
        const std::string json = fqk::to_json(row);
        FQK_REQUIRE(is_valid_utf8(json));
        FQK_REQUIRE(json.find(fqk::to_json(row.key)) != std::string::npos);
    }
    return 0;
}
