// libFuzzer target: the descriptor registry's reader (fib_quant_kv/formats/descriptor_io.hpp), what kvshape
// validate, digest, convert, upgrade and compat read IN with. Any bytes:
//   * detect_any_descriptor_form() and descriptor_schema_index() never crash and name a form and a schema;
//   * read_descriptor_in_place() gives exactly what that schema's own reader gives on the same bytes (the same
//     value, or the same Error), so the registry adds no reading of its own;
//   * a descriptor that claims its own schema (schema_version), written by write_descriptor() as JSON, reads
//     back as the same descriptor of the same schema; its FlatBuffer too, for a schema that has one.
// Seeds: the parity corpus (v1 JSON), the FlatBuffer seeds and the v2 specs (see fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/formats/descriptor_io.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;
namespace fmt = fib_quant_kv::formats;

namespace {

/// The schema's own reader on a copy of the bytes; nothing where the schema has no reader of its own for the
/// form (the registry must then refuse it as unsupported).
template <class Root>
std::optional<fqk::Result<Root>> own_reader(fmt::DescriptorForm form, std::span<const std::uint8_t> bytes) {
    if constexpr (std::is_same_v<Root, fqk::KvTensorShapeV1>) {
        return fmt::read_kv_tensor_shape_v1(form, bytes);
    } else {
        if (form == fmt::DescriptorForm::flatbuffer) return fqk::parse_kv_cache_spec_v2_flatbuffer(bytes);
        std::vector<char> scratch(bytes.begin(), bytes.end());
        return fqk::SchemaTraits<Root>::parse_json(std::span<char>(scratch));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    const fmt::DescriptorForm form = fmt::detect_any_descriptor_form(bytes);
    FQK_REQUIRE(fmt::descriptor_form_info(form) != nullptr);
    const std::size_t index = fmt::descriptor_schema_index(form, bytes);
    FQK_REQUIRE(index < std::variant_size_v<fqk::AnyDescriptor>);

    std::vector<char> scratch(bytes.begin(), bytes.end());
    const fqk::Result<fqk::AnyDescriptor> read = fmt::read_descriptor_in_place(form, std::span<char>(scratch));
    if (read) FQK_REQUIRE(read->index() == index);

    // The registry's answer is the schema's own reader's answer.
    const auto same_as_own = [&]<class Root>(std::type_identity<Root>) {
        const std::optional<fqk::Result<Root>> own_or_none = own_reader<Root>(form, bytes);
        if (!own_or_none) {
            FQK_REQUIRE(!read.ok() && read.error().kind == fqk::ErrorKind::unsupported);
            return;
        }
        const fqk::Result<Root>& own = *own_or_none;
        FQK_REQUIRE(own.ok() == read.ok());
        if (own) {
            FQK_REQUIRE(std::get<Root>(*read) == *own);
        } else {
            FQK_REQUIRE(own.error().kind == read.error().kind && own.error().rule == read.error().rule);
            FQK_REQUIRE(fqk::detail::is_valid_utf8(read.error().message));
        }
    };
    if (index == fmt::schema_index<fqk::KvTensorShapeV1>()) same_as_own(std::type_identity<fqk::KvTensorShapeV1>{});
    if (index == fmt::schema_index<fqk::KvCacheSpecV2>()) same_as_own(std::type_identity<fqk::KvCacheSpecV2>{});
    if (!read) return 0;
    // The JSON form names its schema by schema_version alone: a descriptor claiming another schema's id (read
    // from a FlatBuffer, whose file identifier names the schema, and refused by validate) cannot round-trip.
    const bool claims_own_schema = std::visit(
        []<class Root>(const Root& d) { return d.schema_version == fqk::SchemaTraits<Root>::id; }, *read);
    if (!claims_own_schema) return 0;

    // What it reads, written in each form it has, reads back the same, as the same schema.
    for (const fmt::DescriptorFormInfo& info : fmt::kDescriptorForms) {
        const fqk::Result<std::vector<std::uint8_t>> out = fmt::write_descriptor(info.form, *read);
        if (!out) {
            FQK_REQUIRE(info.form != fmt::DescriptorForm::json);  // JSON is every schema's form
            FQK_REQUIRE(out.error().kind == fqk::ErrorKind::unsupported);
            continue;
        }
        FQK_REQUIRE(fmt::detect_any_descriptor_form(*out) == info.form);
        FQK_REQUIRE(fmt::descriptor_schema_index(info.form, *out) == index);
        std::vector<char> again_bytes(out->begin(), out->end());
        const fqk::Result<fqk::AnyDescriptor> again =
            fmt::read_descriptor_in_place(info.form, std::span<char>(again_bytes));
        FQK_REQUIRE(again.ok() && *again == *read);
    }
    return 0;
}
