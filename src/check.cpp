// The verdict line of `check`, shared by the kvshape CLI and the Python module.
#include "internal/check.hpp"

#include <string_view>

#include "fib_quant_kv/fib_quant_kv.hpp"
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

/// The verdict on a line whose schema_version names the v2 cache spec (--block-dim is v1's and does not apply).
bool check_spec_line(std::string& out, std::string& scratch, std::string_view text) {
    Result<KvCacheSpecV2> spec = parse_kv_cache_spec_v2_json(text);
    if (!spec) {
        out.append(",\"ok\":false,\"stage\":\"parse\"");
        append_kv(out, "error", spec.error().message);
        out.push_back('}');
        return false;
    }
    if (const Status st = validate(*spec); !st) {
        const Error& e = st.error();
        out.append(",\"ok\":false,\"stage\":\"validate\"");
        append_kv(out, "error", to_string(e.kind));
        append_kv(out, "rule", e.rule);
        append_kv(out, "path", e.path);
        append_kv(out, "message", e.message);
        out.push_back('}');
        return false;
    }
    out.append(",\"ok\":true");
    append_kv(out, "schema", kKvCacheSpecV2SchemaId);
    append_kv(out, "bytes_per_token", bytes_per_token(*spec).value());
    append_kv(out, "bytes_held", bytes_held(*spec).value());
    scratch.clear();
    append_json(scratch, *spec);
    append_kv(out, "canonical", scratch);
    out.append(",\"digest\":\"");
    append_hex(out, digest(*spec).value());
    out.append("\"}");
    return true;
}

/// True when the line's top-level schema_version is the v2 cache spec's: a search for the id first, so that v1
/// lines (which do not hold it) pay one memmem and nothing else.
bool is_spec_line(std::string_view text) {
    if (text.find(kKvCacheSpecV2SchemaId) == std::string_view::npos) return false;
    return json_schema_version(text) == kKvCacheSpecV2SchemaId;
}

}  // namespace

bool check_line(std::string& out, std::string& scratch, std::uint64_t number, std::span<char> text,
                std::optional<std::uint32_t> block_dim) {
    out.append("{\"line\":");
    detail::append_decimal(out, number);
    if (is_spec_line({text.data(), text.size()})) [[unlikely]] return check_spec_line(out, scratch, {text.data(), text.size()});
    Result<KvTensorShapeV1> shape = parse_kv_tensor_shape_v1_json_in_place(text);
    if (!shape) {
        out.append(",\"ok\":false,\"stage\":\"parse\"");
        append_kv(out, "error", shape.error().message);
        out.push_back('}');
        return false;
    }
    const Status st = block_dim ? validate_block_dim(*shape, *block_dim) : validate(*shape);
    if (!st) {
        const Error& e = st.error();
        out.append(",\"ok\":false,\"stage\":\"validate\"");
        append_kv(out, "error", to_string(e.kind));
        if (e.kind == ErrorKind::dimension_not_divisible) {
            append_kv(out, "ambient_dim", e.details.ambient_dim);
            append_kv(out, "block_dim", e.details.block_dim);
        } else {
            append_kv(out, "message", e.message);
        }
        out.push_back('}');
        return false;
    }
    // validate() passed, so neither count can overflow and the digest is defined.
    out.append(",\"ok\":true");
    append_kv(out, "vector_count", vector_count(*shape).value());
    append_kv(out, "element_count", element_count(*shape).value());
    scratch.clear();
    append_json(scratch, *shape);
    append_kv(out, "canonical", scratch);
    out.append(",\"digest\":\"");
    append_hex(out, digest(*shape).value());
    out.append("\"}");
    return true;
}

}  // namespace fib_quant_kv::detail
