// libFuzzer target: the v2 cache spec's JSON reader and everything downstream of it (a trust boundary: specs
// arrive from other processes and files).
//   * parse_kv_cache_spec_v2_json never crashes; every rejection is a typed parse Error with a UTF-8 message
//     that names the path it gives in Error::path;
//   * what it accepts round-trips: to_json() reads back to the same spec and is a fixed point, and the
//     canonical encoding is the same from either;
//   * validate() and validate_all() agree (the first of every violation is validate()'s); a valid spec has its
//     digest, both byte counts (bytes_per_token no more than bytes_held), and no differences from itself;
//   * an invalid spec's errors are typed, with a rule id and UTF-8 messages.
//   * the reader's two paths give one answer: where the fast path takes the input (only ever what to_json()
//     writes), the general reader returns the same value, and the public parse answers exactly as the general
//     reader (value, or Error with kind, rule, fields, path, message and offset).
// Seeds: tests/data/spec_v2_inputs.jsonl, one file per line.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/cache_spec.hpp"
#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;
using fqk::detail::is_valid_utf8;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const fqk::Result<fqk::KvCacheSpecV2> spec = fqk::parse_kv_cache_spec_v2_json(text);
    const fqk::Result<fqk::KvCacheSpecV2> general = fqk::detail::parse_kv_cache_spec_v2_json_general(text);
    if (const std::optional<fqk::KvCacheSpecV2> fast = fqk::detail::parse_kv_cache_spec_v2_json_fast(text)) {
        FQK_REQUIRE(general.ok() && *general == *fast);
        FQK_REQUIRE(fqk::to_json(*fast) == text);  // the fast path takes only what to_json writes
    }
    FQK_REQUIRE(spec.ok() == general.ok());
    if (spec.ok()) {
        FQK_REQUIRE(*spec == *general);
    } else {
        FQK_REQUIRE(spec.error() == general.error());
    }
    if (!spec) {
        const fqk::Error& e = spec.error();
        fqk::fuzz::require_typed_parse_error(e);
        FQK_REQUIRE(is_valid_utf8(e.path));
        if (!e.path.empty() && e.rule != "json.missing_field") {
            FQK_REQUIRE(e.message.find(e.path) != std::string::npos);
        }
        return 0;
    }
    const std::string json = fqk::to_json(*spec);
    FQK_REQUIRE(is_valid_utf8(json));
    const fqk::Result<fqk::KvCacheSpecV2> again = fqk::parse_kv_cache_spec_v2_json(json);
    FQK_REQUIRE(again.ok() && *again == *spec);
    FQK_REQUIRE(fqk::to_json(*again) == json);
    FQK_REQUIRE(fqk::canonical_encoding(*again) == fqk::canonical_encoding(*spec));

    const fqk::Status first = fqk::validate(*spec);
    const std::vector<fqk::Error> all = fqk::validate_all(*spec);
    FQK_REQUIRE(first.ok() == all.empty());
    for (const fqk::Error& e : all) {
        FQK_REQUIRE(!e.rule.empty() && is_valid_utf8(e.message) && is_valid_utf8(e.path));
        FQK_REQUIRE(e.kind != fqk::ErrorKind::parse);
    }
    if (!first.ok()) {
        FQK_REQUIRE(first.error() == all.front());
        FQK_REQUIRE(!fqk::digest(*spec).ok());
        return 0;
    }
    FQK_REQUIRE(fqk::digest(*spec).ok());
    const fqk::Result<std::uint64_t> per_token = fqk::bytes_per_token(*spec);
    const fqk::Result<std::uint64_t> held = fqk::bytes_held(*spec);
    FQK_REQUIRE(per_token.ok() && held.ok());
    FQK_REQUIRE(*per_token <= *held);
    FQK_REQUIRE(fqk::differences(*spec, *spec).empty());
    FQK_REQUIRE(fqk::compat(*spec, *spec).empty());
    return 0;
}
