// libFuzzer target: the FlatBuffers view over arbitrary bytes.
//   * view_kv_tensor_shape_v1 never crashes or reads out of bounds, and every rejection is a typed parse Error;
//   * it answers exactly as its general path (flatc's Verifier over the whole buffer, then the presence and
//     enum-code checks), though it verifies and reads in one pass; verify_*_buffer is that plus validate();
//   * an accepted view survives to_native -> to_flatbuffer -> view unchanged, with the same verdicts and digest.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> buffer(data, data + size);  // aligned copy, as a reader would hold it
    const fqk::Result<fqk::KvTensorShapeV1View> view = fqk::view_kv_tensor_shape_v1(buffer);
    const fqk::Result<fqk::KvTensorShapeV1View> general = fqk::detail::view_kv_tensor_shape_v1_general(buffer);
    FQK_REQUIRE(view.ok() == general.ok());
    const fqk::Result<fqk::KvTensorShapeV1View> verified = fqk::verify_kv_tensor_shape_v1_buffer(buffer);
    if (!view) {
        FQK_REQUIRE(view.error() == general.error());
        FQK_REQUIRE(!verified.ok() && verified.error() == view.error());
        fqk::fuzz::require_typed_parse_error(view.error());
        return 0;
    }
    const fqk::KvTensorShapeV1 shape = fqk::to_native(*view);
    FQK_REQUIRE(fqk::to_native(*general) == shape && general->table() == view->table());
    const fqk::Status valid = fqk::validate(shape);
    FQK_REQUIRE(verified.ok() == valid.ok());
    if (!valid.ok()) FQK_REQUIRE(verified.error() == valid.error());
    const std::vector<std::uint8_t> rebuilt = fqk::to_flatbuffer(shape);
    const fqk::Result<fqk::KvTensorShapeV1View> again = fqk::view_kv_tensor_shape_v1(rebuilt);
    FQK_REQUIRE(again.ok() && fqk::to_native(*again) == shape);
    FQK_REQUIRE(fqk::validate_all(*view) == fqk::validate_all(shape));
    const fqk::Result<fqk::Digest> a = fqk::digest(*view);
    const fqk::Result<fqk::Digest> b = fqk::digest(shape);
    FQK_REQUIRE(a.ok() == b.ok());
    if (a.ok()) FQK_REQUIRE(*a == *b);
    return 0;
}
