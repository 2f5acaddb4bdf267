// The verdict line of `check`, shared by the kvshape CLI and the Python module.
#include "internal/check.hpp"

#include <optional>
#include <string_view>
#include <variant>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/formats/descriptor_io.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::detail {

namespace {

void append_kv(std::string& out, std::string_view key, std::uint64_t value) {
    out.append(",\"").append(key).append("\":");
    detail::append_decimal(out, value);
}

void append_kv(std::string& out, std::string_view key, std::string_view text) {
    out.append(",\"").append(key).append("\":");
    detail::append_json_string(out, text);
}

/// Appends a digest as 32 lower-case hex digits (Digest::hex(), without a string of its own).
void append_hex(std::string& out, const Digest& digest) {
    static constexpr char digits[] = "0123456789abcdef";
    for (const std::uint8_t b : digest.bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xF]);
    }
}

/// A parse failure: the reader's message.
bool parse_failed(std::string& out, const Error& e) {
    out.append(",\"ok\":false,\"stage\":\"parse\"");
    append_kv(out, "error", e.message);
    out.push_back('}');
    return false;
}

// What each schema's verdict says. The template is the row any schema gets with no edit here: the validate()
// error named by kind, rule and field path; on success the schema id. A schema with derived counts worth a
// column has its own overloads below it (v1's are the Rust original's, byte for byte).

template <class Root>
Status check_validate(const Root& d, std::optional<std::uint32_t> /*block_dim: v1's*/) {
    return validate(d);
}
Status check_validate(const KvTensorShapeV1& d, std::optional<std::uint32_t> block_dim) {
    return block_dim ? validate_block_dim(d, *block_dim) : validate(d);
}

template <class Root>
void append_invalid(std::string& out, const Root&, const Error& e) {
    append_kv(out, "error", to_string(e.kind));
    append_kv(out, "rule", e.rule);
    append_kv(out, "path", e.path);
    append_kv(out, "message", e.message);
}
void append_invalid(std::string& out, const KvTensorShapeV1&, const Error& e) {
    append_kv(out, "error", to_string(e.kind));
    if (e.kind == ErrorKind::dimension_not_divisible) {
        append_kv(out, "ambient_dim", e.details.ambient_dim);
        append_kv(out, "block_dim", e.details.block_dim);
    } else {
        append_kv(out, "message", e.message);
    }
}

template <class Root>
void append_counts(std::string& out, const Root&) {
    append_kv(out, "schema", SchemaTraits<Root>::id);
}
// validate() passed, so no count can overflow and the digest is defined.
void append_counts(std::string& out, const KvTensorShapeV1& shape) {
    append_kv(out, "vector_count", vector_count(shape).value());
    append_kv(out, "element_count", element_count(shape).value());
}
void append_counts(std::string& out, const KvCacheSpecV2& spec) {
    append_kv(out, "schema", SchemaTraits<KvCacheSpecV2>::id);
    append_kv(out, "bytes_per_token", bytes_per_token(spec).value());
    append_kv(out, "bytes_held", bytes_held(spec).value());
}

template <class Root>
bool check_descriptor(std::string& out, std::string& scratch, const Root& d, std::optional<std::uint32_t> block_dim) {
    if (const Status st = check_validate(d, block_dim); !st) {
        out.append(",\"ok\":false,\"stage\":\"validate\"");
        append_invalid(out, d, st.error());
        out.push_back('}');
        return false;
    }
    out.append(",\"ok\":true");
    append_counts(out, d);
    scratch.clear();
    append_json(scratch, d);
    append_kv(out, "canonical", scratch);
    out.append(",\"digest\":\"");
    append_hex(out, digest(d).value());
    out.append("\"}");
    return true;
}

}  // namespace

bool check_line(std::string& out, std::string& scratch, std::uint64_t number, std::span<char> text,
                std::optional<std::uint32_t> block_dim) {
    out.append("{\"line\":");
    detail::append_decimal(out, number);
    // The registry tells the schema by schema_version (a v1 line pays one search for the other ids).
    Result<AnyDescriptor> read = formats::read_descriptor_in_place(formats::DescriptorForm::json, text);
    if (!read) return parse_failed(out, read.error());
    return std::visit([&](const auto& d) { return check_descriptor(out, scratch, d, block_dim); }, *read);
}

}  // namespace fib_quant_kv::detail
