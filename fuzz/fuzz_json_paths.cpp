// libFuzzer target: the JSON reader's two paths on the same bytes. parse_kv_tensor_shape_v1_json() reads the
// canonical compact form on a fast path and hands everything else to the general reader; this holds them to
// one answer:
//   * where the fast path takes the input, the general reader returns the same value;
//   * the public parse always answers exactly as the general reader (value, or Error with kind, rule, fields,
//     message and offset).
// Inputs close to the canonical form matter most: seed it with to_json() output (fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const fqk::Result<fqk::KvTensorShapeV1> general = fqk::detail::parse_kv_tensor_shape_v1_json_general(text);
    if (const std::optional<fqk::KvTensorShapeV1> fast = fqk::detail::parse_kv_tensor_shape_v1_json_canonical(text)) {
        FQK_REQUIRE(general.ok() && *general == *fast);
        FQK_REQUIRE(fqk::to_json(*fast) == text);  // the fast path takes only what to_json writes
    }
    const fqk::Result<fqk::KvTensorShapeV1> parsed = fqk::parse_kv_tensor_shape_v1_json(text);
    FQK_REQUIRE(parsed.ok() == general.ok());
    if (parsed.ok()) {
        FQK_REQUIRE(*parsed == *general);
    } else {
        FQK_REQUIRE(parsed.error() == general.error());
        fqk::fuzz::require_typed_parse_error(parsed.error());
    }
    return 0;
}
