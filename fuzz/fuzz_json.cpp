// libFuzzer target: the JSON reader, and every invariant that must hold for what it accepts.
//   * parse never crashes, and every rejection is a typed parse Error with a rule and a UTF-8 message;
//   * what parses survives to_json -> parse unchanged, and to_flatbuffer -> view -> to_native unchanged;
//   * validate() is the first of validate_all(), and the view validates exactly as the struct;
//   * digest() is defined exactly for valid shapes, and is the same through the view.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;
using fqk::detail::is_valid_utf8;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const fqk::Result<fqk::KvTensorShapeV1> parsed = fqk::parse_kv_tensor_shape_v1_json(text);
    if (!parsed) {
        fqk::fuzz::require_typed_parse_error(parsed.error());
        return 0;
    }
    const fqk::KvTensorShapeV1& shape = *parsed;

    const fqk::Result<fqk::KvTensorShapeV1> again = fqk::parse_kv_tensor_shape_v1_json(fqk::to_json(shape));
    FQK_REQUIRE(again.ok() && *again == shape);

    FQK_REQUIRE(is_valid_utf8(fqk::to_json(shape)));
    const fqk::Status first = fqk::validate(shape);
    if (!first.ok()) FQK_REQUIRE(is_valid_utf8(first.error().message));
    const std::vector<fqk::Error> all = fqk::validate_all(shape);
    FQK_REQUIRE(first.ok() == all.empty());
    if (!first.ok()) FQK_REQUIRE(first.error() == all.front());

    const std::vector<std::uint8_t> buffer = fqk::to_flatbuffer(shape);
    const fqk::Result<fqk::KvTensorShapeV1View> view = fqk::view_kv_tensor_shape_v1(buffer);
    FQK_REQUIRE(view.ok() && fqk::to_native(*view) == shape);
    FQK_REQUIRE(fqk::validate_all(*view) == all);

    const fqk::Result<fqk::Digest> digest = fqk::digest(shape);
    FQK_REQUIRE(digest.ok() == first.ok());
    if (digest.ok()) FQK_REQUIRE(fqk::digest(*view).value() == *digest);
    return 0;
}
