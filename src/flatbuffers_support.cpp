// fib_quant_kv: frame checks and parse errors for FlatBuffers input.
#include "internal/flatbuffers_support.hpp"

#include <flatbuffers/base.h>

#include <string>

#include "internal/rule_errors.hpp"
#include "internal/text.hpp"

static_assert(FLATBUFFERS_MAX_BUFFER_SIZE == (1ULL << 31) - 1 && flatbuffers::kFileIdentifierLength == 4 &&
                  sizeof(flatbuffers::uoffset_t) == 4,
              "flatbuffers_support::frame_ok() spells out these FlatBuffers constants: update it");

namespace fib_quant_kv::detail::flatbuffers_support {
namespace {

Error parse_error(std::string_view rule, std::span<const std::string_view> field, std::string message) {
    return make_error(ErrorKind::parse, rule, std::move(message), Error::no_offset, field);
}

/// Bytes for a message: printable ASCII as is, anything else as \xNN, so the message stays text.
std::string printable(std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out.push_back(ch);
        } else {
            out.append("\\x").push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
    }
    out.push_back('"');
    return out;
}

std::string field_prefix(std::span<const std::string_view> field) {
    return field.empty() ? std::string() : std::string("field `").append(field.front()).append("`: ");
}

}  // namespace

std::optional<Error> frame_error(std::span<const std::uint8_t> buffer, std::string_view identifier,
                                 std::string_view type_name) {
    constexpr std::size_t frame = sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength;
    if (buffer.size() < frame) {
        std::string m = "buffer of ";
        append_decimal(m, buffer.size());
        m.append(" bytes is too short for a ").append(type_name).append(" FlatBuffer (8 bytes at least)");
        return parse_error(wire_rules::flatbuffers_size, {}, std::move(m));
    }
    if (buffer.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
        return parse_error(wire_rules::flatbuffers_size, {}, "buffer is larger than FlatBuffers' 2 GiB limit");
    }
    if (reinterpret_cast<std::uintptr_t>(buffer.data()) % alignof(flatbuffers::uoffset_t) != 0) {
        return parse_error(wire_rules::flatbuffers_alignment, {},
                           "buffer does not start on a 4-byte boundary; copy it to aligned memory first");
    }
    const std::string_view found(reinterpret_cast<const char*>(buffer.data()) + sizeof(flatbuffers::uoffset_t),
                                 flatbuffers::kFileIdentifierLength);
    if (found != identifier) {
        std::string m = "file identifier ";
        m.append(printable(found)).append(", expected ").append(printable(identifier));
        m.append(" (not a ").append(type_name).append(" FlatBuffer)");
        return parse_error(wire_rules::flatbuffers_identifier, {}, std::move(m));
    }
    return std::nullopt;
}

Error verify_failed(std::string_view type_name) {
    return parse_error(wire_rules::flatbuffers_verify, {},
                       std::string("the FlatBuffers verifier rejected the buffer: not a well-formed ")
                           .append(type_name)
                           .append(" (truncated, an offset out of bounds, misaligned or too deeply nested)"));
}

Error missing_table(std::string_view type_name) {
    return parse_error(wire_rules::flatbuffers_missing_field, {},
                       std::string("missing table ").append(type_name));
}

Error missing_field(std::span<const std::string_view> field) {
    return parse_error(wire_rules::flatbuffers_missing_field, field,
                       std::string("missing field `").append(field.empty() ? "" : field.front()).append("`"));
}

Error invalid_utf8(std::span<const std::string_view> field) {
    return parse_error(wire_rules::flatbuffers_invalid_utf8, field, field_prefix(field).append("string is not UTF-8"));
}

Error unknown_enum_code(std::span<const std::string_view> field, std::string_view enum_name, std::uint32_t code) {
    std::string m = field_prefix(field).append("code ");
    append_decimal(m, code);
    m.append(" is not a value of enum ").append(enum_name).append(" (written by a newer schema?)");
    return parse_error(wire_rules::flatbuffers_unknown_enum_code, field, std::move(m));
}

Error FirstProblem::error() const {
    switch (kind_) {
        case Kind::missing_field: return flatbuffers_support::missing_field(field_);
        case Kind::invalid_utf8: return flatbuffers_support::invalid_utf8(field_);
        case Kind::unknown_enum_code: return flatbuffers_support::unknown_enum_code(field_, enum_name_, code_);
        case Kind::none: break;
    }
    return not_violated();
}

}  // namespace fib_quant_kv::detail::flatbuffers_support
