// fib_quant_kv formats: the descriptor's wire forms (see fib_quant_kv/formats/descriptor_io.hpp).
#include "fib_quant_kv/formats/descriptor_io.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "internal/rule_errors.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::formats {
namespace {

[[gnu::cold]] Error unknown_form(DescriptorForm form) {
    std::string message = "descriptor form code ";
    detail::append_decimal(message, static_cast<std::uint64_t>(form));
    message.append(" is not a form of this library");
    return detail::make_error(ErrorKind::parse, kUnknownDescriptorFormRule, std::move(message));
}

constexpr std::size_t kIdentifierAt = 4;  // a FlatBuffer's file identifier follows its root offset, a u32

bool has_identifier(std::span<const std::uint8_t> bytes, std::string_view file_identifier) noexcept {
    return bytes.size() >= kIdentifierAt + file_identifier.size() &&
           std::memcmp(bytes.data() + kIdentifierAt, file_identifier.data(), file_identifier.size()) == 0;
}

/// detect_descriptor_form() for any of `identifiers`.
template <class Identifiers>
DescriptorForm detect_form(std::span<const std::uint8_t> bytes, const Identifiers& identifiers) noexcept {
    std::size_t i = 0;
    while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r')) ++i;
    if (i < bytes.size() && (bytes[i] == '{' || bytes[i] == '[')) return DescriptorForm::json;
    for (std::string_view id : identifiers) {
        if (has_identifier(bytes, id)) return DescriptorForm::flatbuffer;
    }
    const bool binary = std::find(bytes.begin(), bytes.end(), std::uint8_t{0}) != bytes.end();
    return binary ? DescriptorForm::flatbuffer : DescriptorForm::json;
}

constexpr std::size_t kSchemaCount = std::variant_size_v<AnyDescriptor>;

template <std::size_t... I>
constexpr std::array<std::string_view, kSchemaCount> file_identifiers(std::index_sequence<I...>) {
    return {SchemaTraits<std::variant_alternative_t<I, AnyDescriptor>>::file_identifier...};
}
constexpr std::array<std::string_view, kSchemaCount> kFileIdentifiers =
    file_identifiers(std::make_index_sequence<kSchemaCount>());

[[gnu::cold, maybe_unused]] Error unsupported_form(std::string_view type_name, DescriptorForm form, std::string_view what) {
    std::string message(type_name);
    message.append(" has no ").append(to_string(form)).append(" ").append(what).append(" yet");
    return detail::make_error(ErrorKind::unsupported, kUnsupportedFormRule, std::move(message));
}

// A schema's FlatBuffer reader: one overload per schema that has one; the template answers for the others.
Result<KvTensorShapeV1> read_flatbuffer(std::span<const std::uint8_t> bytes, std::type_identity<KvTensorShapeV1>) {
    Result<KvTensorShapeV1View> view = view_kv_tensor_shape_v1(bytes);
    if (!view) return std::move(view).error();
    return to_native(*view);
}
Result<KvCacheSpecV2> read_flatbuffer(std::span<const std::uint8_t> bytes, std::type_identity<KvCacheSpecV2>) {
    return parse_kv_cache_spec_v2_flatbuffer(bytes);
}
template <class Root>
Result<Root> read_flatbuffer(std::span<const std::uint8_t>, std::type_identity<Root>) {
    return unsupported_form(SchemaTraits<Root>::type_name, DescriptorForm::flatbuffer, "reader");
}

template <class Root>
Result<Root> read_one(DescriptorForm form, std::span<char> bytes) {
    switch (form) {
        case DescriptorForm::json: return SchemaTraits<Root>::parse_json(bytes);
        case DescriptorForm::flatbuffer:
            return read_flatbuffer({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                   std::type_identity<Root>{});
    }
    return unknown_form(form);
}

template <std::size_t I = 0>
Result<AnyDescriptor> read_alternative(std::size_t index, DescriptorForm form, std::span<char> bytes) {
    using Root = std::variant_alternative_t<I, AnyDescriptor>;
    if constexpr (I + 1 < kSchemaCount) {
        if (index != I) return read_alternative<I + 1>(index, form, bytes);
    }
    Result<Root> one = read_one<Root>(form, bytes);
    if (!one) return std::move(one).error();
    return AnyDescriptor(std::in_place_index<I>, std::move(*one));
}

template <class Root>
Result<std::vector<std::uint8_t>> write_one(DescriptorForm form, const Root& d) {
    switch (form) {
        case DescriptorForm::json: {
            std::string json = to_json(d);
            json.push_back('\n');
            return std::vector<std::uint8_t>(json.begin(), json.end());
        }
        case DescriptorForm::flatbuffer:
            if constexpr (requires { to_flatbuffer(d); }) {
                return to_flatbuffer(d);
            } else {
                return unsupported_form(SchemaTraits<Root>::type_name, form, "writer");
            }
    }
    return unknown_form(form);
}

}  // namespace

DescriptorForm detect_descriptor_form(std::span<const std::uint8_t> bytes, std::string_view file_identifier) noexcept {
    return detect_form(bytes, std::array<std::string_view, 1>{file_identifier});
}

DescriptorForm detect_any_descriptor_form(std::span<const std::uint8_t> bytes) noexcept {
    return detect_form(bytes, kFileIdentifiers);
}

std::size_t descriptor_schema_index(DescriptorForm form, std::span<const std::uint8_t> bytes) {
    if (form == DescriptorForm::flatbuffer) {
        for (std::size_t i = 1; i < kSchemaCount; ++i) {
            if (has_identifier(bytes, kFileIdentifiers[i])) return i;
        }
        return 0;
    }
    // Only a text that holds another schema's id can name it: the first schema's inputs pay a search, not a
    // second parse.
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (std::size_t i = 1; i < kSchemaCount; ++i) {
        if (text.find(kSchemaIds[i]) == std::string_view::npos) continue;
        const std::optional<std::string> version = json_schema_version(text);
        if (!version) return 0;
        for (std::size_t j = 1; j < kSchemaCount; ++j) {
            if (*version == kSchemaIds[j]) return j;
        }
        return 0;
    }
    return 0;
}

Result<AnyDescriptor> read_descriptor_in_place(DescriptorForm form, std::span<char> bytes) {
    const std::size_t index =
        descriptor_schema_index(form, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    return read_alternative(index, form, bytes);
}

Result<std::vector<std::uint8_t>> write_descriptor(DescriptorForm form, const AnyDescriptor& descriptor) {
    return std::visit([form](const auto& d) { return write_one(form, d); }, descriptor);
}

DescriptorForm detect_kv_tensor_shape_v1_form(std::span<const std::uint8_t> bytes) noexcept {
    return detect_descriptor_form(bytes, kKvTensorShapeV1FileIdentifier);
}

Result<KvTensorShapeV1> read_kv_tensor_shape_v1(DescriptorForm form, std::span<const std::uint8_t> bytes) {
    switch (form) {
        case DescriptorForm::json:
            return parse_kv_tensor_shape_v1_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        case DescriptorForm::flatbuffer: return read_flatbuffer(bytes, std::type_identity<KvTensorShapeV1>{});
    }
    return unknown_form(form);
}

Result<KvTensorShapeV1> read_kv_tensor_shape_v1_in_place(DescriptorForm form, std::span<char> bytes) {
    if (form == DescriptorForm::json) return parse_kv_tensor_shape_v1_json_in_place(bytes);
    return read_kv_tensor_shape_v1(form, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

std::vector<std::uint8_t> write_kv_tensor_shape_v1(DescriptorForm form, const KvTensorShapeV1& shape) {
    Result<std::vector<std::uint8_t>> bytes = write_one(form, shape);
    return bytes ? std::move(*bytes) : std::vector<std::uint8_t>{};
}

}  // namespace fib_quant_kv::formats
