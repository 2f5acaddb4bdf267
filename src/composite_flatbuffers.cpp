// fib_quant_kv: the parse Errors of the composite FlatBuffers reader (internal/composite_flatbuffers.hpp).
#include "internal/composite_flatbuffers.hpp"

#include <string>

#include "internal/rule_errors.hpp"

namespace fib_quant_kv::detail::composite_fb {
namespace {

Error parse_error(std::string_view rule, const FieldInfo& field, const PathLink& at, std::string message) {
    std::string path = at.text();
    Error e = make_error(ErrorKind::parse, rule, "field `" + path + "`: " + message, Error::no_offset, field.fields);
    e.path = std::move(path);
    return e;
}

}  // namespace

Error missing_field(const FieldInfo& field, const PathLink& at) {
    return parse_error(wire_rules::flatbuffers_missing_field, field, at, "missing (the field is required)");
}

Error unknown_enum_code(const FieldInfo& field, const PathLink& at, std::string_view enum_name, std::uint32_t code) {
    std::string m = "code ";
    append_decimal(m, code);
    m.append(" is not a value of enum ").append(enum_name).append(" (written by a newer schema?)");
    return parse_error(wire_rules::flatbuffers_unknown_enum_code, field, at, std::move(m));
}

Error invalid_length(const FieldInfo& field, const PathLink& at, std::size_t count) {
    std::string m = "invalid length ";
    append_decimal(m, count);
    m.append(", expected at most ");
    append_decimal(m, field.max_items);
    m.append(" items");
    return parse_error(wire_rules::flatbuffers_invalid_length, field, at, std::move(m));
}

Error invalid_utf8(const FieldInfo& field, const PathLink& at) {
    return parse_error(wire_rules::flatbuffers_invalid_utf8, field, at, "string is not UTF-8");
}

}  // namespace fib_quant_kv::detail::composite_fb
