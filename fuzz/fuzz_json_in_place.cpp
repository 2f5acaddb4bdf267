// libFuzzer target: the in-place JSON reader against the copying one. For every input,
// parse_kv_tensor_shape_v1_json_in_place on a copy of the bytes (a buffer of exactly their size, no NUL after
// it, so AddressSanitizer sees any read past the end) gives what parse_kv_tensor_shape_v1_json gives: the same
// value, or the same Error (kind, rule, fields, message, details, offset).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const fqk::Result<fqk::KvTensorShapeV1> copied = fqk::parse_kv_tensor_shape_v1_json(text);

    const std::unique_ptr<char[]> scratch(new char[size]);  // exactly the input's size
    std::copy(text.begin(), text.end(), scratch.get());
    const fqk::Result<fqk::KvTensorShapeV1> in_place =
        fqk::parse_kv_tensor_shape_v1_json_in_place(std::span<char>(scratch.get(), size));

    FQK_REQUIRE(in_place.ok() == copied.ok());
    if (copied.ok()) {
        FQK_REQUIRE(*in_place == *copied);
    } else {
        fqk::fuzz::require_typed_parse_error(in_place.error());
        FQK_REQUIRE(in_place.error() == copied.error());
    }
    return 0;
}
