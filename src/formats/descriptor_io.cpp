// fib_quant_kv formats: the descriptor's wire forms (see fib_quant_kv/formats/descriptor_io.hpp).
#include "fib_quant_kv/formats/descriptor_io.hpp"

#include <algorithm>
#include <cstring>
#include <string>

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

}  // namespace

DescriptorForm detect_descriptor_form(std::span<const std::uint8_t> bytes, std::string_view file_identifier) noexcept {
    std::size_t i = 0;
    while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r')) ++i;
    if (i < bytes.size() && (bytes[i] == '{' || bytes[i] == '[')) return DescriptorForm::json;
    constexpr std::size_t kIdentifierAt = 4;  // after the root offset, a u32
    if (bytes.size() >= kIdentifierAt + file_identifier.size() &&
        std::memcmp(bytes.data() + kIdentifierAt, file_identifier.data(), file_identifier.size()) == 0) {
        return DescriptorForm::flatbuffer;
    }
    const bool binary = std::find(bytes.begin(), bytes.end(), std::uint8_t{0}) != bytes.end();
    return binary ? DescriptorForm::flatbuffer : DescriptorForm::json;
}

DescriptorForm detect_kv_tensor_shape_v1_form(std::span<const std::uint8_t> bytes) noexcept {
    return detect_descriptor_form(bytes, kKvTensorShapeV1FileIdentifier);
}

Result<KvTensorShapeV1> read_kv_tensor_shape_v1(DescriptorForm form, std::span<const std::uint8_t> bytes) {
    switch (form) {
        case DescriptorForm::json:
            return parse_kv_tensor_shape_v1_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        case DescriptorForm::flatbuffer: {
            Result<KvTensorShapeV1View> view = view_kv_tensor_shape_v1(bytes);
            if (!view) return std::move(view).error();
            return to_native(*view);
        }
    }
    return unknown_form(form);
}

Result<KvTensorShapeV1> read_kv_tensor_shape_v1_in_place(DescriptorForm form, std::span<char> bytes) {
    if (form == DescriptorForm::json) return parse_kv_tensor_shape_v1_json_in_place(bytes);
    return read_kv_tensor_shape_v1(form, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

std::vector<std::uint8_t> write_kv_tensor_shape_v1(DescriptorForm form, const KvTensorShapeV1& shape) {
    switch (form) {
        case DescriptorForm::json: {
            std::vector<std::uint8_t> out;
            std::string json = to_json(shape);
            json.push_back('\n');
            out.assign(json.begin(), json.end());
            return out;
        }
        case DescriptorForm::flatbuffer: return to_flatbuffer(shape);
    }
    return {};
}

}  // namespace fib_quant_kv::formats
