// Shared helpers of the FlatBuffers tests (header-only). Include after <boost/test/unit_test.hpp>.
//
// Errors and Status/Result values are compared through full(), a one-line rendering of every part (kind, rule,
// fields, message, details, offset), so that a failing check prints both sides in full.
#pragma once

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "../test_shapes.hpp"

// ---------------------------------------------------------------------------------------------- printing
// Boost.Test finds boost_test_print_type by argument-dependent lookup when it logs a failing BOOST_TEST.
namespace fib_quant_kv {

template <class E>
    requires std::is_enum_v<E>
std::ostream& boost_test_print_type(std::ostream& os, const E& value) {
    const std::string_view name = to_string(value);
    os << (name.empty() ? "<unknown>" : name) << " (code "
       << static_cast<unsigned>(static_cast<std::underlying_type_t<E>>(value)) << ")";
    return os;
}

inline std::ostream& boost_test_print_type(std::ostream& os, const KvTensorShapeV1& shape) {
    return os << to_json(shape);
}

inline std::ostream& boost_test_print_type(std::ostream& os, const Digest& digest) { return os << digest.hex(); }

}  // namespace fib_quant_kv

namespace fib_quant_kv::fbtest {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint32_t kU32Max = std::numeric_limits<std::uint32_t>::max();

/// The table's fields in schema (and field id) order.
inline constexpr std::array<std::string_view, 11> kFieldNames{
    "schema_version", "role",   "attention_kind", "batch", "layers",     "kv_heads",
    "query_heads",    "tokens", "head_dim",       "dtype", "rope_state",
};

// ---------------------------------------------------------------------------------------------- errors
/// An error's fields as "query_heads,kv_heads".
inline std::string fields_of(const Error& e) {
    std::string out;
    for (const std::string_view f : e.fields) {
        if (!out.empty()) out.push_back(',');
        out.append(f);
    }
    return out;
}

/// Every part of an Error on one line: kind, rule, fields, message, details and offset.
inline std::string full(const Error& e) {
    std::string out(to_string(e.kind));
    out.append(" [").append(e.rule).append("] {").append(fields_of(e)).append("} ").append(e.message);
    out.append(" details=").append(std::to_string(e.details.ambient_dim)).append("/").append(
        std::to_string(e.details.block_dim));
    out.append(" offset=").append(e.offset == Error::no_offset ? std::string("none") : std::to_string(e.offset));
    return out;
}

inline std::string full(const std::vector<Error>& errors) {
    std::string out;
    for (const Error& e : errors) out.append(full(e)).append("\n");
    return out;
}

inline std::string full(const Status& st) { return st ? std::string("ok") : full(st.error()); }

template <class T>
std::string full(const Result<T>& r) {
    if (!r) return full(r.error());
    if constexpr (std::is_same_v<T, Digest>) {
        return "ok " + r.value().hex();
    } else if constexpr (std::is_integral_v<T>) {
        return "ok " + std::to_string(r.value());
    } else {
        return "ok";
    }
}

/// The rule ids of a list of errors as "batch.nonzero,layers.nonzero".
inline std::string rules_of(const std::vector<Error>& errors) {
    std::string out;
    for (const Error& e : errors) {
        if (!out.empty()) out.push_back(',');
        out.append(e.rule);
    }
    return out;
}

/// Checks every part of an error: kind, rule id, fields, message, details and offset (parse errors from
/// FlatBuffers carry no offset; details are zero except for dimension_not_divisible).
inline void check_error_at(const Error& e, ErrorKind kind, std::string_view rule, std::string_view fields,
                           std::string_view message, const char* file, int line, ErrorDetails details = {}) {
    BOOST_TEST_CONTEXT("error checked at " << file << ":" << line << ": " << full(e)) {
        BOOST_TEST(e.kind == kind);
        BOOST_TEST(std::string(e.rule) == std::string(rule));
        BOOST_TEST(fields_of(e) == std::string(fields));
        BOOST_TEST(e.message == std::string(message));
        BOOST_TEST(e.details.ambient_dim == details.ambient_dim);
        BOOST_TEST(e.details.block_dim == details.block_dim);
        BOOST_TEST(e.offset == Error::no_offset);
    }
}

/// CHECK_ERROR(error, ErrorKind::parse, "flatbuffers.missing_field", "role", "missing field `role`")
#define CHECK_ERROR(error, kind, rule, fields, message) \
    ::fib_quant_kv::fbtest::check_error_at((error), (kind), (rule), (fields), (message), __FILE__, __LINE__)

/// CHECK_PARSE_ERROR(result, "flatbuffers.size", "", "buffer of 0 bytes ..."): the result is a parse error.
#define CHECK_PARSE_ERROR(result, rule, fields, message)                                                        \
    do {                                                                                                        \
        const auto& check_parse_result_ = (result);                                                             \
        BOOST_TEST_REQUIRE(!check_parse_result_.ok());                                                          \
        CHECK_ERROR(check_parse_result_.error(), ::fib_quant_kv::ErrorKind::parse, (rule), (fields), (message)); \
    } while (false)

/// Two Status / Result values are the same: both ok (with equal values) or both the same Error.
template <class A, class B>
void check_same_at(const A& a, const B& b, const char* file, int line) {
    BOOST_TEST_CONTEXT("compared at " << file << ":" << line) { BOOST_TEST(full(a) == full(b)); }
}
#define CHECK_SAME(a, b) ::fib_quant_kv::fbtest::check_same_at((a), (b), __FILE__, __LINE__)

// ---------------------------------------------------------------------------------------------- shapes
using test_shapes::gqa_value;
using test_shapes::mha_key;
using test_shapes::mqa_key;

// ---------------------------------------------------------------------------------------------- raw tables
/// A KvTensorShapeV1 table as raw wire values, written with flatc's own builder: any field may be left out
/// (nullopt) and the enums hold raw codes, so tables the library would never write can be built.
struct RawShape {
    std::optional<std::string> schema_version = std::string(kKvTensorShapeV1SchemaId);
    std::optional<std::uint8_t> role = 0;
    std::optional<std::uint8_t> attention_kind = 0;
    std::optional<std::uint32_t> batch = 1;
    std::optional<std::uint32_t> layers = 1;
    std::optional<std::uint32_t> kv_heads = 1;
    std::optional<std::uint32_t> query_heads = 1;
    std::optional<std::uint32_t> tokens = 1;
    std::optional<std::uint32_t> head_dim = 1;
    std::optional<std::uint8_t> dtype = 0;
    std::optional<std::uint8_t> rope_state = 0;

    /// Leaves out the field with this schema index (see kFieldNames).
    void omit(std::size_t index) {
        switch (index) {
            case 0: schema_version.reset(); break;
            case 1: role.reset(); break;
            case 2: attention_kind.reset(); break;
            case 3: batch.reset(); break;
            case 4: layers.reset(); break;
            case 5: kv_heads.reset(); break;
            case 6: query_heads.reset(); break;
            case 7: tokens.reset(); break;
            case 8: head_dim.reset(); break;
            case 9: dtype.reset(); break;
            case 10: rope_state.reset(); break;
            default: BOOST_FAIL("no field " << index);
        }
    }
};

inline RawShape raw_of(const KvTensorShapeV1& s) {
    RawShape r;
    r.schema_version = s.schema_version;
    r.role = static_cast<std::uint8_t>(s.role);
    r.attention_kind = static_cast<std::uint8_t>(s.attention_kind);
    r.batch = s.batch;
    r.layers = s.layers;
    r.kv_heads = s.kv_heads;
    r.query_heads = s.query_heads;
    r.tokens = s.tokens;
    r.head_dim = s.head_dim;
    r.dtype = static_cast<std::uint8_t>(s.dtype);
    r.rope_state = static_cast<std::uint8_t>(s.rope_state);
    return r;
}

/// Writes `r` with fib_quant_kv::fb::KvTensorShapeV1Builder (flatc's generated builder), one add_* per field set.
inline flatbuffers::Offset<fb::KvTensorShapeV1> build_raw(flatbuffers::FlatBufferBuilder& builder, const RawShape& r) {
    flatbuffers::Offset<flatbuffers::String> sv;
    if (r.schema_version) sv = builder.CreateString(r.schema_version->data(), r.schema_version->size());
    fb::KvTensorShapeV1Builder t(builder);
    if (r.schema_version) t.add_schema_version(sv);
    if (r.role) t.add_role(static_cast<fb::KvRole>(*r.role));
    if (r.attention_kind) t.add_attention_kind(static_cast<fb::KvAttentionKind>(*r.attention_kind));
    if (r.batch) t.add_batch(*r.batch);
    if (r.layers) t.add_layers(*r.layers);
    if (r.kv_heads) t.add_kv_heads(*r.kv_heads);
    if (r.query_heads) t.add_query_heads(*r.query_heads);
    if (r.tokens) t.add_tokens(*r.tokens);
    if (r.head_dim) t.add_head_dim(*r.head_dim);
    if (r.dtype) t.add_dtype(static_cast<fb::KvDType>(*r.dtype));
    if (r.rope_state) t.add_rope_state(static_cast<fb::KvRopeState>(*r.rope_state));
    return t.Finish();
}

/// A finished buffer holding `r` as its root; with the "FQKV" file identifier unless told otherwise.
inline Bytes finish_raw(const RawShape& r, bool with_identifier = true) {
    flatbuffers::FlatBufferBuilder builder;
    const auto root = build_raw(builder, r);
    if (with_identifier) {
        fb::FinishKvTensorShapeV1Buffer(builder, root);
    } else {
        builder.Finish(root);
    }
    return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

inline std::span<const std::uint8_t> as_span(const Bytes& b) { return {b.data(), b.size()}; }

/// Bytes as lower-case hex.
inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xF]);
    }
    return out;
}

inline std::string to_hex(std::string_view bytes) {
    return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// ---------------------------------------------------------------------------------------------- view == native
/// Checks that everything the library computes over `view` equals what it computes over `native`: every
/// accessor, to_native, the counts, validate, validate_all, validate_block_dim, canonical_encoding, digest.
inline void check_view_matches_native_at(const KvTensorShapeV1View& view, const KvTensorShapeV1& native,
                                         const char* file, int line) {
    BOOST_TEST_CONTEXT("view checked at " << file << ":" << line << " against " << to_json(native)) {
        BOOST_TEST(view.schema_version() == std::string_view(native.schema_version));
        BOOST_TEST(view.role() == native.role);
        BOOST_TEST(view.attention_kind() == native.attention_kind);
        BOOST_TEST(view.batch() == native.batch);
        BOOST_TEST(view.layers() == native.layers);
        BOOST_TEST(view.kv_heads() == native.kv_heads);
        BOOST_TEST(view.query_heads() == native.query_heads);
        BOOST_TEST(view.tokens() == native.tokens);
        BOOST_TEST(view.head_dim() == native.head_dim);
        BOOST_TEST(view.dtype() == native.dtype);
        BOOST_TEST(view.rope_state() == native.rope_state);
        BOOST_TEST(to_native(view) == native);

        BOOST_TEST(full(vector_count(view)) == full(vector_count(native)));
        BOOST_TEST(full(element_count(view)) == full(element_count(native)));
        BOOST_TEST(full(byte_size(view)) == full(byte_size(native)));
        BOOST_TEST(full(validate(view)) == full(validate(native)));
        BOOST_TEST(full(validate_all(view)) == full(validate_all(native)));
        for (const std::uint32_t block_dim : {0U, 1U, 3U, 32U, 64U, 128U, kU32Max, native.head_dim}) {
            BOOST_TEST(full(validate_block_dim(view, block_dim)) == full(validate_block_dim(native, block_dim)),
                       "block_dim " << block_dim);
        }
        BOOST_TEST(to_hex(canonical_encoding(view)) == to_hex(canonical_encoding(native)));
        BOOST_TEST(full(digest(view)) == full(digest(native)));
    }
}
#define CHECK_VIEW_MATCHES(view, native) \
    ::fib_quant_kv::fbtest::check_view_matches_native_at((view), (native), __FILE__, __LINE__)

}  // namespace fib_quant_kv::fbtest
