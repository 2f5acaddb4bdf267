// libFuzzer target: the Hugging Face config.json reader (a trust boundary: the file is whatever was downloaded).
//   * read_hf_config never crashes, and every rejection is a typed Error with a rule and a UTF-8 message: parse
//     for input it cannot read, unsupported or dimension_not_divisible for a config it will not size;
//   * what it accepts sizes without crashing: every row's descriptors validate, its JSON row is UTF-8 and holds
//     their canonical JSON, total_bytes is the two byte sizes added, and bytes_per_token is no more than it;
//     a sizing failure is a typed Error too.
// Seeds: examples/configs and tests/data/hf_configs (copied to the build tree, see CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/hf_config.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;
using fqk::detail::is_valid_utf8;

namespace {

void require_typed(const fqk::Error& e) {
    FQK_REQUIRE(!e.rule.empty() && !e.message.empty());
    FQK_REQUIRE(is_valid_utf8(e.message));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const fqk::Result<fqk::HfConfig> config = fqk::read_hf_config(text);
    if (!config) {
        const fqk::Error& e = config.error();
        require_typed(e);
        FQK_REQUIRE(e.kind == fqk::ErrorKind::parse || e.kind == fqk::ErrorKind::unsupported ||
                    e.kind == fqk::ErrorKind::dimension_not_divisible);
        return 0;
    }
    if (config->model_type) FQK_REQUIRE(is_valid_utf8(*config->model_type));

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
    FQK_REQUIRE(is_valid_utf8(fqk::to_text(*rows)));
    return 0;
}
