// fib_quant_kv formats: the wire forms of one descriptor (JSON and FlatBuffers) as a table, told apart by
// content, read and written through one face. kvshape and the Python binding call these; they never parse a
// form themselves. Each form's own reader and writer are the generated ones (parse_*_json, view_*, to_json,
// to_flatbuffer); this module names the forms and picks the right one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"

namespace fib_quant_kv::formats {

/// A wire form of one descriptor.
enum class DescriptorForm : std::uint8_t { json, flatbuffer };

struct DescriptorFormInfo {
    DescriptorForm form;
    std::string_view name;        // in messages: "invalid flatbuffer: ..."
    std::string_view short_name;  // on the command line: `kvshape convert --to fb`
};

/// Every descriptor form, in enum order.
inline constexpr std::array<DescriptorFormInfo, 2> kDescriptorForms{{
    {DescriptorForm::json, "json", "json"},
    {DescriptorForm::flatbuffer, "flatbuffer", "fb"},
}};

/// The form's row of kDescriptorForms; nothing for a code outside the enum.
[[nodiscard]] constexpr const DescriptorFormInfo* descriptor_form_info(DescriptorForm form) noexcept {
    const auto index = static_cast<std::size_t>(form);
    return index < kDescriptorForms.size() ? &kDescriptorForms[index] : nullptr;
}

/// "json", "flatbuffer"; empty for a code outside the enum.
[[nodiscard]] constexpr std::string_view to_string(DescriptorForm form) noexcept {
    const DescriptorFormInfo* info = descriptor_form_info(form);
    return info != nullptr ? info->name : std::string_view();
}

/// The form named `text` by its name or its short name ("flatbuffer" or "fb").
[[nodiscard]] constexpr std::optional<DescriptorForm> parse_descriptor_form(std::string_view text) noexcept {
    for (const DescriptorFormInfo& info : kDescriptorForms) {
        if (text == info.name || text == info.short_name) return info.form;
    }
    return std::nullopt;
}

/// Tells the forms apart by content, for any schema's descriptor: JSON when the first byte after JSON
/// whitespace is `{` or `[` (a descriptor is an object or an array); otherwise a FlatBuffer when
/// `file_identifier` sits at bytes 4..8; otherwise JSON if the bytes are text (no NUL byte), so that the JSON
/// reader names what is wrong, and a FlatBuffer if they are binary, for the frame checks' error.
[[nodiscard]] DescriptorForm detect_descriptor_form(std::span<const std::uint8_t> bytes,
                                                   std::string_view file_identifier) noexcept;

// ------------------------------------------------------------------------------------------ any schema
// Written once over the descriptor registry (SchemaTraits and AnyDescriptor in fib_quant_kv/schemas.hpp): a
// schema added to schema/library.yaml is read and written here with no edit.

/// The index of `Root` among AnyDescriptor's alternatives.
template <class Root, std::size_t I = 0>
[[nodiscard]] constexpr std::size_t schema_index() noexcept {
    if constexpr (std::is_same_v<Root, std::variant_alternative_t<I, AnyDescriptor>>) {
        return I;
    } else {
        return schema_index<Root, I + 1>();
    }
}

/// detect_descriptor_form() with every schema's file identifier.
[[nodiscard]] DescriptorForm detect_any_descriptor_form(std::span<const std::uint8_t> bytes) noexcept;

/// The index into AnyDescriptor of the schema `bytes` in `form` claim to be: JSON by its top-level
/// schema_version, a FlatBuffer by its file identifier. The first schema when they claim none (or are not
/// decodable that far), so that its reader names what is wrong, as it always has.
[[nodiscard]] std::size_t descriptor_schema_index(DescriptorForm form, std::span<const std::uint8_t> bytes);

/// The rule id of the unsupported Error for a form a schema has no reader or writer for (yet).
inline constexpr std::string_view kUnsupportedFormRule = "formats.unsupported_form";

/// Decodes a descriptor of whichever schema the bytes claim (descriptor_schema_index), not validated; JSON is
/// decoded where it stands when its schema's reader can (the bytes hold unspecified values afterwards).
[[nodiscard]] Result<AnyDescriptor> read_descriptor_in_place(DescriptorForm form, std::span<char> bytes);

/// The bytes of a file holding `descriptor` in `form` (as write_kv_tensor_shape_v1 writes them). Does not
/// validate. Unsupported for a form its schema has no writer for; parse for a code outside the enum.
/// The JSON form names its schema only by schema_version, so the bytes read back as the same schema only when
/// the descriptor's schema_version is its schema's id (SchemaTraits<Root>::id; validate() refuses any other):
/// a FlatBuffer that says FQK2 but carries schema_version "..._v3" is written as it is and is then not a v2 text.
[[nodiscard]] Result<std::vector<std::uint8_t>> write_descriptor(DescriptorForm form, const AnyDescriptor& descriptor);

// ------------------------------------------------------------------------------------------ KvTensorShapeV1

/// detect_descriptor_form() with the KvTensorShapeV1 FlatBuffer's file identifier.
[[nodiscard]] DescriptorForm detect_kv_tensor_shape_v1_form(std::span<const std::uint8_t> bytes) noexcept;

/// The rule id of the parse Error read_*() returns for a DescriptorForm code outside the enum (a caller's bug).
inline constexpr std::string_view kUnknownDescriptorFormRule = "formats.unknown_form";

/// Decodes a descriptor in `form` (decoded, not validated: run validate() or validate_all() on it). A
/// FlatBuffer is checked whole (frame, Verifier, presence, enum codes) and must start on a 4-byte boundary.
[[nodiscard]] Result<KvTensorShapeV1> read_kv_tensor_shape_v1(DescriptorForm form,
                                                             std::span<const std::uint8_t> bytes);

/// The same, spending the bytes: JSON is decoded where it stands (its bytes hold unspecified values
/// afterwards), so a large input is not copied. A FlatBuffer's bytes are only read.
[[nodiscard]] Result<KvTensorShapeV1> read_kv_tensor_shape_v1_in_place(DescriptorForm form, std::span<char> bytes);

/// The bytes of a file holding `shape` in `form`: JSON is the canonical form (to_json) and a newline; a
/// FlatBuffer is to_flatbuffer's buffer. Does not validate. Empty for a code outside the enum.
[[nodiscard]] std::vector<std::uint8_t> write_kv_tensor_shape_v1(DescriptorForm form, const KvTensorShapeV1& shape);

}  // namespace fib_quant_kv::formats
