// The FlatBuffers form of KvTensorShapeV1: round trips, view == native for every check, the verified view
// against hostile buffers (every truncation, every byte value at every offset, broken offsets, wrong or
// missing identifiers, misalignment, missing fields, unknown enum codes, invalid UTF-8, verifier limits),
// and building into a caller's builder.
#define BOOST_TEST_MODULE fib_quant_kv_flatbuffers
#include <boost/test/unit_test.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <concepts>
#include <map>
#include <set>

#include "fb_test_support.hpp"

namespace fqk = fib_quant_kv;
using namespace fib_quant_kv::fbtest;
using fqk::ErrorKind;
using fqk::KvAttentionKind;
using fqk::KvDType;
using fqk::KvRole;
using fqk::KvRopeState;
using fqk::KvTensorShapeV1;

namespace {

constexpr std::string_view kVerifyMessage =
    "the FlatBuffers verifier rejected the buffer: not a well-formed KvTensorShapeV1 (truncated, an offset out of "
    "bounds, misaligned or too deeply nested)";
constexpr std::string_view kAlignmentMessage =
    "buffer does not start on a 4-byte boundary; copy it to aligned memory first";
constexpr std::string_view kUtf8Message = "field `schema_version`: string is not UTF-8";

std::string size_message(std::size_t n) {
    return "buffer of " + std::to_string(n) + " bytes is too short for a KvTensorShapeV1 FlatBuffer (8 bytes at least)";
}

std::string unknown_code_message(std::string_view field, std::string_view enum_name, unsigned code) {
    return "field `" + std::string(field) + "`: code " + std::to_string(code) + " is not a value of enum " +
           std::string(enum_name) + " (written by a newer schema?)";
}

/// view_kv_tensor_shape_v1(buffer), which verifies and reads in one pass, held to the general path's answer
/// (flatc's Verifier over the whole buffer, then the table's presence and enum-code checks) on every buffer a
/// test hands it: truncations, every byte value at every offset, broken offsets, missing fields, limits.
fqk::Result<fqk::KvTensorShapeV1View> view_of(const Bytes& b, const fqk::FlatBufferLimits& limits = {}) {
    fqk::Result<fqk::KvTensorShapeV1View> one_pass = fqk::view_kv_tensor_shape_v1(as_span(b), limits);
    const fqk::Result<fqk::KvTensorShapeV1View> general = fqk::detail::view_kv_tensor_shape_v1_general(as_span(b), limits);
    BOOST_TEST_REQUIRE(one_pass.ok() == general.ok());
    if (one_pass.ok()) {
        BOOST_TEST((fqk::to_native(*one_pass) == fqk::to_native(*general)));
        BOOST_TEST((one_pass->table() == general->table()));
    } else {
        BOOST_TEST((one_pass.error() == general.error()),
                   one_pass.error().describe() << " vs the general path's " << general.error().describe());
    }
    return one_pass;
}

std::uint32_t read_u32(const Bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(b.at(at)) | static_cast<std::uint32_t>(b.at(at + 1)) << 8 |
           static_cast<std::uint32_t>(b.at(at + 2)) << 16 | static_cast<std::uint32_t>(b.at(at + 3)) << 24;
}

void write_u32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}

void write_u16(Bytes& b, std::size_t at, std::uint16_t v) {
    b.at(at) = static_cast<std::uint8_t>(v);
    b.at(at + 1) = static_cast<std::uint8_t>(v >> 8);
}

/// The u32 field with this schema index (3..8).
std::uint32_t& u32_field(KvTensorShapeV1& s, std::size_t index) {
    switch (index) {
        case 3: return s.batch;
        case 4: return s.layers;
        case 5: return s.kv_heads;
        case 6: return s.query_heads;
        case 7: return s.tokens;
        case 8: return s.head_dim;
        default: throw std::logic_error("not a u32 field");
    }
}

/// Sets the enum field with this schema index (1, 2, 9, 10) to a raw code.
void set_enum_code(KvTensorShapeV1& s, std::size_t index, std::uint8_t code) {
    switch (index) {
        case 1: s.role = static_cast<KvRole>(code); return;
        case 2: s.attention_kind = static_cast<KvAttentionKind>(code); return;
        case 9: s.dtype = static_cast<KvDType>(code); return;
        case 10: s.rope_state = static_cast<KvRopeState>(code); return;
        default: throw std::logic_error("not an enum field");
    }
}

std::uint8_t enum_code(const KvTensorShapeV1& s, std::size_t index) {
    switch (index) {
        case 1: return static_cast<std::uint8_t>(s.role);
        case 2: return static_cast<std::uint8_t>(s.attention_kind);
        case 9: return static_cast<std::uint8_t>(s.dtype);
        case 10: return static_cast<std::uint8_t>(s.rope_state);
        default: throw std::logic_error("not an enum field");
    }
}

constexpr std::size_t kEnumFields[] = {1, 2, 9, 10};
constexpr std::size_t kU32Fields[] = {3, 4, 5, 6, 7, 8};

std::string_view enum_name(std::size_t index) {
    switch (index) {
        case 1: return fqk::EnumTraits<KvRole>::name;
        case 2: return fqk::EnumTraits<KvAttentionKind>::name;
        case 9: return fqk::EnumTraits<KvDType>::name;
        case 10: return fqk::EnumTraits<KvRopeState>::name;
        default: throw std::logic_error("not an enum field");
    }
}

/// Number of values of the enum field with this index (codes are 0..n-1).
unsigned enum_size(std::size_t index) {
    switch (index) {
        case 1: return fqk::EnumTraits<KvRole>::values.size();
        case 2: return fqk::EnumTraits<KvAttentionKind>::values.size();
        case 9: return fqk::EnumTraits<KvDType>::values.size();
        case 10: return fqk::EnumTraits<KvRopeState>::values.size();
        default: throw std::logic_error("not an enum field");
    }
}

/// Where each scalar field of `shape` lies in to_flatbuffer(shape): found by encoding a variant that differs in
/// that field only and diffing the bytes (the layout does not depend on the values).
std::map<std::size_t, std::size_t> scalar_field_bytes(const KvTensorShapeV1& shape) {
    const Bytes base = fqk::to_flatbuffer(shape);
    std::map<std::size_t, std::size_t> owner;  // byte offset -> field index
    auto diff = [&](const KvTensorShapeV1& variant, std::size_t field, std::size_t expected_bytes) {
        const Bytes other = fqk::to_flatbuffer(variant);
        BOOST_TEST_REQUIRE(other.size() == base.size());
        std::size_t n = 0;
        for (std::size_t i = 0; i < base.size(); ++i) {
            if (base[i] != other[i]) {
                BOOST_TEST_REQUIRE(owner.count(i) == 0U);
                owner[i] = field;
                ++n;
            }
        }
        BOOST_TEST_REQUIRE(n == expected_bytes, "field " << kFieldNames[field]);
    };
    for (const std::size_t f : kEnumFields) {
        KvTensorShapeV1 v = shape;
        set_enum_code(v, f, static_cast<std::uint8_t>(enum_code(shape, f) ^ 0xFF));
        diff(v, f, 1);
    }
    for (const std::size_t f : kU32Fields) {
        KvTensorShapeV1 v = shape;
        u32_field(v, f) ^= 0xFFFFFFFFU;
        diff(v, f, 4);
    }
    return owner;
}

/// Every combination of the four enums, in schema order.
std::vector<KvTensorShapeV1> every_enum_combination() {
    std::vector<KvTensorShapeV1> out;
    for (const KvRole role : fqk::EnumTraits<KvRole>::values)
        for (const KvAttentionKind kind : fqk::EnumTraits<KvAttentionKind>::values)
            for (const KvDType dtype : fqk::EnumTraits<KvDType>::values)
                for (const KvRopeState rope : fqk::EnumTraits<KvRopeState>::values)
                    out.push_back(fqk::make_kv_tensor_shape_v1(role, kind, 2, 3, 4, 8, 5, 64, dtype, rope));
    return out;
}

}  // namespace

// ============================================================================================== round trips
BOOST_AUTO_TEST_SUITE(round_trip)

BOOST_AUTO_TEST_CASE(file_identifier_constant) {
    BOOST_TEST(fqk::kKvTensorShapeV1FileIdentifier == "FQKV");
    BOOST_TEST(std::string_view(fqk::fb::KvTensorShapeV1Identifier()) == "FQKV");
    const Bytes b = fqk::to_flatbuffer(mha_key());
    BOOST_TEST_REQUIRE(b.size() >= 8U);
    BOOST_TEST(std::string(b.begin() + 4, b.begin() + 8) == "FQKV");
    BOOST_TEST(b.size() % 4 == 0U);
}

BOOST_AUTO_TEST_CASE(every_enum_value_of_every_enum) {
    // 2 roles x 3 kinds x 3 dtypes x 3 rope states; some combinations break rules (e.g. a key with
    // not_applicable), which must read back just the same and give the same verdicts.
    const std::vector<KvTensorShapeV1> shapes = every_enum_combination();
    BOOST_TEST(shapes.size() == 54U);
    std::size_t valid = 0;
    for (const KvTensorShapeV1& s : shapes) {
        BOOST_TEST_CONTEXT(fqk::to_json(s)) {
            const Bytes b = fqk::to_flatbuffer(s);
            const auto view = view_of(b);
            BOOST_TEST_REQUIRE(view.ok(), full(view));
            CHECK_VIEW_MATCHES(*view, s);
            // Re-encoding what was read gives the very same bytes.
            BOOST_TEST(fqk::to_flatbuffer(fqk::to_native(*view)) == b);
            if (fqk::validate(s)) ++valid;
        }
    }
    // mha needs kv == query (4 != 8), mqa needs kv == 1: only gqa is valid, with 2 of 3 rope states for a
    // key and 1 of 3 for a value, for each of 3 dtypes.
    BOOST_TEST(valid == 9U);
}

BOOST_AUTO_TEST_CASE(boundary_dimensions) {
    // Every dimension at 1 and at u32 max, in every combination, for each attention kind.
    std::size_t checked = 0;
    for (const KvAttentionKind kind : fqk::EnumTraits<KvAttentionKind>::values) {
        for (unsigned mask = 0; mask < 64; ++mask) {
            KvTensorShapeV1 s = fqk::make_kv_tensor_shape_v1(KvRole::value, kind, 1, 1, 1, 1, 1, 1, KvDType::f32,
                                                             KvRopeState::not_applicable);
            for (std::size_t bit = 0; bit < 6; ++bit) {
                if (mask & (1U << bit)) u32_field(s, kU32Fields[bit]) = kU32Max;
            }
            const Bytes b = fqk::to_flatbuffer(s);
            const auto view = view_of(b);
            BOOST_TEST_REQUIRE(view.ok(), full(view));
            CHECK_VIEW_MATCHES(*view, s);
            ++checked;
        }
    }
    BOOST_TEST(checked == 192U);

    // Spot checks of what those comparisons cover.
    const KvTensorShapeV1 ones = fqk::make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::mha, 1, 1, 1, 1, 1, 1,
                                                              KvDType::f32, KvRopeState::not_applicable);
    const Bytes ones_b = fqk::to_flatbuffer(ones);
    const auto ones_v = fqk::verify_kv_tensor_shape_v1_buffer(as_span(ones_b));
    BOOST_TEST_REQUIRE(ones_v.ok(), full(ones_v));
    BOOST_TEST(fqk::byte_size(*ones_v).value() == 4U);

    KvTensorShapeV1 max = ones;
    for (const std::size_t f : kU32Fields) u32_field(max, f) = kU32Max;
    const Bytes max_b = fqk::to_flatbuffer(max);
    const auto max_v = view_of(max_b);
    BOOST_TEST_REQUIRE(max_v.ok(), full(max_v));
    for (const std::size_t f : kU32Fields) BOOST_TEST(u32_field(max, f) == kU32Max);
    BOOST_TEST(max_v->batch() == kU32Max);
    BOOST_TEST(max_v->head_dim() == kU32Max);
    const fqk::Status st = fqk::validate(*max_v);
    BOOST_TEST_REQUIRE(!st.ok());
    CHECK_ERROR(st.error(), ErrorKind::resource_limit_exceeded, "size_overflow", "batch,layers,kv_heads,tokens,head_dim",
                "kv shape size overflow");
    const auto verified = fqk::verify_kv_tensor_shape_v1_buffer(as_span(max_b));
    BOOST_TEST_REQUIRE(!verified.ok());
    CHECK_ERROR(verified.error(), ErrorKind::resource_limit_exceeded, "size_overflow",
                "batch,layers,kv_heads,tokens,head_dim", "kv shape size overflow");
}

BOOST_AUTO_TEST_CASE(zero_values_and_zero_codes_are_written_not_defaulted) {
    // Every field holds 0 (the first enum value, or a zero count): each must still be present in the buffer,
    // never read as missing, and never confused with an absent field.
    KvTensorShapeV1 zero;  // schema_version defaults to the schema id; everything else is 0
    const Bytes b = fqk::to_flatbuffer(zero);
    const auto view = view_of(b);
    BOOST_TEST_REQUIRE(view.ok(), full(view));
    CHECK_VIEW_MATCHES(*view, zero);
    BOOST_TEST(view->table()->batch().has_value());
    BOOST_TEST(view->table()->role().has_value());
    BOOST_TEST(static_cast<int>(*view->table()->role()) == static_cast<int>(fqk::fb::KvRole::key));
    const fqk::Status st = fqk::validate(*view);
    BOOST_TEST_REQUIRE(!st.ok());
    CHECK_ERROR(st.error(), ErrorKind::corrupt_payload, "batch.nonzero", "batch", "kv shape batch must be > 0");
}

BOOST_AUTO_TEST_CASE(to_flatbuffer_bytes_are_pinned) {
    // The exact bytes to_flatbuffer writes for mha_key() (flatbuffers 2.0.8's builder, fields added in schema
    // order, the string first). A change here is a wire-layout change: still readable by any FlatBuffers peer
    // if the schema did not change, but it should be deliberate.
    const std::string expected =
        "24000000"                  // 0: root uoffset: the table is at 36
        "46514b56"                  // 4: "FQKV"
        "0000"                      // 8: padding
        "1a002800"                  // 10: vtable: 26 bytes long, for a table 40 bytes long; field offsets:
        "240023002200"              //   schema_version +36, role +35, attention_kind +34
        "1c00180014001000"          //   batch +28, layers +24, kv_heads +20, query_heads +16
        "0c00080007000600"          //   tokens +12, head_dim +8, dtype +7, rope_state +6
        "1a000000"                  // 36: the table: soffset 26 back to the vtable at 10
        "0000"                      // 40: padding
        "0000"                      // 42: rope_state pre_rope (0), 43: dtype f16 (0)
        "8000000000100000"          // 44: head_dim 128, 48: tokens 4096
        "0800000008000000"          // 52: query_heads 8, 56: kv_heads 8
        "2000000002000000"          // 60: layers 32, 64: batch 2
        "0000"                      // 68: padding
        "0000"                      // 70: attention_kind mha (0), 71: role key (0)
        "04000000"                  // 72: uoffset 4 to the string at 76
        "1c000000"                  // 76: string length 28
        "6669625f7175616e745f6b765f74656e736f725f73686170655f7631"  // 80: fib_quant_kv_tensor_shape_v1
        "00000000";                 // 108: NUL, 109: padding to 112
    const Bytes b = fqk::to_flatbuffer(mha_key());
    BOOST_TEST(to_hex(as_span(b)) == expected);
    BOOST_TEST(fqk::to_flatbuffer(mha_key()) == b, "to_flatbuffer is deterministic");
}

BOOST_AUTO_TEST_CASE(to_flatbuffer_bytes_are_pinned_nonzero_enum_codes) {
    // The buffer above has every enum at code 0, so two swapped codes (say bf16 and f32 in the .fbs or in the C++
    // enum) would not change it. gqa_value() has every enum at a non-zero code: role value 1, attention_kind
    // gqa 2, dtype bf16 1, rope_state not_applicable 2. Expected bytes derived by hand: the layout (vtable, field
    // offsets, padding) is the one of the all-zero buffer above, the same builder writing the same fields in the
    // same order, with gqa_value()'s values written little-endian into their slots; the enum codes are the ones
    // docs/digest.md lists. Cross-checked once outside the library: `flatc --json --strict-json --raw-binary
    // generated/fbs/kv_tensor_shape_v1.fbs -- buf.fqkv` renders these bytes as gqa_value()'s JSON. (flatc -b
    // itself lays tables out differently, largest fields first, so its buffer is not byte-comparable.)
    const std::string expected =
        "24000000"                  // 0: root uoffset: the table is at 36
        "46514b56"                  // 4: "FQKV"
        "0000"                      // 8: padding
        "1a002800"                  // 10: vtable: 26 bytes long, for a table 40 bytes long; field offsets:
        "240023002200"              //   schema_version +36, role +35, attention_kind +34
        "1c00180014001000"          //   batch +28, layers +24, kv_heads +20, query_heads +16
        "0c00080007000600"          //   tokens +12, head_dim +8, dtype +7, rope_state +6
        "1a000000"                  // 36: the table: soffset 26 back to the vtable at 10
        "0000"                      // 40: padding
        "0201"                      // 42: rope_state not_applicable (2), 43: dtype bf16 (1)
        "4000000000040000"          // 44: head_dim 64, 48: tokens 1024
        "2000000008000000"          // 52: query_heads 32, 56: kv_heads 8
        "1800000001000000"          // 60: layers 24, 64: batch 1
        "0000"                      // 68: padding
        "0201"                      // 70: attention_kind gqa (2), 71: role value (1)
        "04000000"                  // 72: uoffset 4 to the string at 76
        "1c000000"                  // 76: string length 28
        "6669625f7175616e745f6b765f74656e736f725f73686170655f7631"  // 80: fib_quant_kv_tensor_shape_v1
        "00000000";                 // 108: NUL, 109: padding to 112
    const Bytes b = fqk::to_flatbuffer(gqa_value());
    BOOST_TEST(to_hex(as_span(b)) == expected);
    // And the other way: these bytes, verified in place, are gqa_value().
    Bytes pinned;
    for (std::size_t i = 0; i + 1 < expected.size(); i += 2) {
        pinned.push_back(static_cast<std::uint8_t>(std::stoul(expected.substr(i, 2), nullptr, 16)));
    }
    const auto view = view_of(pinned);
    BOOST_TEST_REQUIRE(view.ok(), full(view));
    CHECK_VIEW_MATCHES(*view, gqa_value());
}

BOOST_AUTO_TEST_CASE(view_reads_in_place) {
    const Bytes b = fqk::to_flatbuffer(gqa_value());
    const auto view = view_of(b);
    BOOST_TEST_REQUIRE(view.ok(), full(view));
    const auto* begin = reinterpret_cast<const char*>(b.data());
    const std::string_view sv = view->schema_version();
    BOOST_TEST((sv.data() > begin && sv.data() + sv.size() < begin + b.size()), "schema_version points into the buffer");
    BOOST_TEST(reinterpret_cast<const std::uint8_t*>(view->table()) > b.data());
    BOOST_TEST(view->table() == fqk::fb::GetKvTensorShapeV1(b.data()));
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== validation parity
BOOST_AUTO_TEST_SUITE(validation_over_a_view)

struct RuleCase {
    const char* name;
    KvTensorShapeV1 shape;
    const char* first_rule;
    const char* all_rules;
};

std::vector<RuleCase> rule_cases() {
    auto with = [](KvTensorShapeV1 s, auto edit) {
        edit(s);
        return s;
    };
    std::vector<RuleCase> c;
    c.push_back({"valid mha key", mha_key(), "", ""});
    c.push_back({"valid gqa value", gqa_value(), "", ""});
    c.push_back({"valid mqa key", mqa_key(), "", ""});
    c.push_back({"schema_version", with(mha_key(), [](auto& s) { s.schema_version = "fib_quant_kv_tensor_shape_v0"; }),
                 "schema_version.matches", "schema_version.matches"});
    c.push_back({"empty schema_version", with(mha_key(), [](auto& s) { s.schema_version.clear(); }),
                 "schema_version.matches", "schema_version.matches"});
    c.push_back({"batch", with(mha_key(), [](auto& s) { s.batch = 0; }), "batch.nonzero", "batch.nonzero"});
    c.push_back({"layers", with(mha_key(), [](auto& s) { s.layers = 0; }), "layers.nonzero", "layers.nonzero"});
    c.push_back({"kv_heads", with(mha_key(), [](auto& s) { s.kv_heads = 0; }), "kv_heads.nonzero",
                 "kv_heads.nonzero,mha.heads_equal"});
    c.push_back({"query_heads", with(mha_key(), [](auto& s) { s.query_heads = 0; }), "query_heads.nonzero",
                 "query_heads.nonzero,mha.heads_equal"});
    c.push_back({"tokens", with(mha_key(), [](auto& s) { s.tokens = 0; }), "tokens.nonzero", "tokens.nonzero"});
    c.push_back({"head_dim", with(mha_key(), [](auto& s) { s.head_dim = 0; }), "head_dim.nonzero", "head_dim.nonzero"});
    c.push_back({"mha heads", with(mha_key(), [](auto& s) { s.query_heads = 16; }), "mha.heads_equal", "mha.heads_equal"});
    c.push_back({"mqa kv 2", with(mqa_key(), [](auto& s) { s.kv_heads = 2; }), "mqa.single_kv_head",
                 "mqa.single_kv_head"});
    c.push_back({"mqa kv 3", with(mqa_key(), [](auto& s) { s.kv_heads = 3; }), "mqa.single_kv_head",
                 "mqa.single_kv_head,grouped.heads_divisible"});
    c.push_back({"gqa divisible", with(gqa_value(), [](auto& s) { s.query_heads = 12; }), "grouped.heads_divisible",
                 "grouped.heads_divisible"});
    c.push_back({"gqa kv 0", with(gqa_value(), [](auto& s) { s.kv_heads = 0; }), "kv_heads.nonzero",
                 "kv_heads.nonzero,grouped.heads_divisible"});
    c.push_back({"key rope", with(mha_key(), [](auto& s) { s.rope_state = KvRopeState::not_applicable; }),
                 "key.rope_declared", "key.rope_declared"});
    c.push_back({"value rope", with(gqa_value(), [](auto& s) { s.rope_state = KvRopeState::post_rope; }),
                 "value.rope_not_applicable", "value.rope_not_applicable"});
    c.push_back({"size overflow", with(mha_key(), [](auto& s) { s.batch = s.layers = s.tokens = kU32Max; }),
                 "size_overflow", "size_overflow"});
    // element_count fits in 64 bits, byte_size does not: validate() passes (its rule is on element_count), and
    // byte_size() reports size_overflow; the view must agree on both.
    c.push_back({"byte_size overflow only",
                 fqk::make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::mha, kU32Max, kU32Max, 1, 1, 1, 1,
                                              KvDType::f16, KvRopeState::not_applicable),
                 "", ""});
    c.push_back({"everything wrong",
                 fqk::make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mqa, 0, 0, 3, 5, 0, 0, KvDType::bf16,
                                              KvRopeState::not_applicable),
                 "batch.nonzero",
                 "batch.nonzero,layers.nonzero,tokens.nonzero,head_dim.nonzero,mqa.single_kv_head,"
                 "grouped.heads_divisible,key.rope_declared"});
    c.back().shape.schema_version = "x";
    c.back().all_rules =
        "schema_version.matches,batch.nonzero,layers.nonzero,tokens.nonzero,head_dim.nonzero,mqa.single_kv_head,"
        "grouped.heads_divisible,key.rope_declared";
    c.back().first_rule = "schema_version.matches";
    return c;
}

BOOST_AUTO_TEST_CASE(every_rule_gives_the_same_error_over_a_view) {
    for (const RuleCase& rc : rule_cases()) {
        BOOST_TEST_CONTEXT(rc.name << ": " << fqk::to_json(rc.shape)) {
            // The expectation itself, over the native struct.
            const fqk::Status native = fqk::validate(rc.shape);
            BOOST_TEST(std::string(native ? "" : native.error().rule) == rc.first_rule);
            BOOST_TEST(rules_of(fqk::validate_all(rc.shape)) == rc.all_rules);

            const Bytes b = fqk::to_flatbuffer(rc.shape);
            const auto view = view_of(b);
            BOOST_TEST_REQUIRE(view.ok(), full(view));
            CHECK_VIEW_MATCHES(*view, rc.shape);

            // verify_kv_tensor_shape_v1_buffer = view + validate: the validation error of a well-formed buffer.
            const auto verified = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b));
            BOOST_TEST(full(verified) == full(native));
            if (verified) BOOST_TEST(verified->table() == view->table());
        }
    }
}

BOOST_AUTO_TEST_CASE(exact_errors_from_a_verified_buffer) {
    KvTensorShapeV1 s = mha_key();
    s.query_heads = 16;
    const Bytes b = fqk::to_flatbuffer(s);
    BOOST_TEST(view_of(b).ok());
    const auto verified = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b));
    BOOST_TEST_REQUIRE(!verified.ok());
    CHECK_ERROR(verified.error(), ErrorKind::corrupt_payload, "mha.heads_equal", "query_heads,kv_heads",
                "MHA requires query_heads == kv_heads");

    KvTensorShapeV1 v = mha_key();
    v.schema_version = "other";
    const Bytes vb = fqk::to_flatbuffer(v);
    const auto vv = fqk::verify_kv_tensor_shape_v1_buffer(as_span(vb));
    BOOST_TEST_REQUIRE(!vv.ok());
    CHECK_ERROR(vv.error(), ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                "kv shape schema_version other, expected fib_quant_kv_tensor_shape_v1");
}

BOOST_AUTO_TEST_CASE(block_dim_over_a_view) {
    const Bytes b = fqk::to_flatbuffer(mha_key());  // head_dim 128
    const auto view = view_of(b);
    BOOST_TEST_REQUIRE(view.ok(), full(view));
    BOOST_TEST(fqk::validate_block_dim(*view, 32).ok());
    BOOST_TEST(fqk::validate_block_dim(*view, 128).ok());
    const fqk::Status st = fqk::validate_block_dim(*view, 48);
    BOOST_TEST_REQUIRE(!st.ok());
    check_error_at(st.error(), ErrorKind::dimension_not_divisible, "head_dim.block_divisible", "head_dim",
                   "kv shape head_dim 128 is not divisible by block_dim 48", __FILE__, __LINE__, {128, 48});
    const fqk::Status zero = fqk::validate_block_dim(*view, 0);
    BOOST_TEST_REQUIRE(!zero.ok());
    check_error_at(zero.error(), ErrorKind::dimension_not_divisible, "head_dim.block_divisible", "head_dim",
                   "kv shape head_dim 128 is not divisible by block_dim 0", __FILE__, __LINE__, {128, 0});
    // validate() runs first: an invalid shape reports its rule, not the block.
    KvTensorShapeV1 bad = mha_key();
    bad.batch = 0;
    const Bytes bb = fqk::to_flatbuffer(bad);
    const auto bv = view_of(bb);
    BOOST_TEST_REQUIRE(bv.ok());
    const fqk::Status bst = fqk::validate_block_dim(*bv, 48);
    BOOST_TEST_REQUIRE(!bst.ok());
    CHECK_ERROR(bst.error(), ErrorKind::corrupt_payload, "batch.nonzero", "batch", "kv shape batch must be > 0");
}

BOOST_AUTO_TEST_CASE(digest_and_canonical_encoding_of_a_view) {
    for (const KvTensorShapeV1& s : {mha_key(), gqa_value(), mqa_key()}) {
        const Bytes b = fqk::to_flatbuffer(s);
        const auto view = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b));
        BOOST_TEST_REQUIRE(view.ok(), full(view));
        const auto dv = fqk::digest(*view);
        const auto dn = fqk::digest(s);
        BOOST_TEST_REQUIRE(dv.ok());
        BOOST_TEST_REQUIRE(dn.ok());
        BOOST_TEST(dv.value() == dn.value());
        BOOST_TEST(fqk::canonical_encoding(*view) == fqk::canonical_encoding(s));
        BOOST_TEST(dv.value() == fqk::digest_bytes(fqk::canonical_encoding(*view)));
    }
    // Distinct shapes, distinct digests.
    const Bytes a = fqk::to_flatbuffer(mha_key());
    const Bytes c = fqk::to_flatbuffer(mqa_key());
    BOOST_TEST(fqk::digest(*view_of(a)).value() != fqk::digest(*view_of(c)).value());
}

BOOST_AUTO_TEST_CASE(a_native_enum_code_unknown_to_the_schema) {
    // A native struct can hold any code (a cast); validate() reports <field>.known. Written to a FlatBuffer, the
    // same code is refused by the view as a parse error naming the field.
    for (const std::size_t f : kEnumFields) {
        KvTensorShapeV1 s = mha_key();
        const auto code = static_cast<std::uint8_t>(enum_size(f));
        set_enum_code(s, f, code);
        const std::string field(kFieldNames[f]);
        BOOST_TEST_CONTEXT(field) {
            const fqk::Status native = fqk::validate(s);
            BOOST_TEST_REQUIRE(!native.ok());
            CHECK_ERROR(native.error(), ErrorKind::corrupt_payload, field + ".known", field,
                        "kv shape " + field + " holds a code that is not a value of its enum");
            const Bytes b = fqk::to_flatbuffer(s);
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.unknown_enum_code", field,
                              unknown_code_message(field, enum_name(f), code));
            CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.unknown_enum_code", field,
                              unknown_code_message(field, enum_name(f), code));
        }
    }
}

// Error's operator== compares every part (it was once a defaulted operator, implicitly deleted because of the
// std::span member, so `a == b` did not compile).
BOOST_AUTO_TEST_CASE(errors_compare_equal_across_view_and_native) {
    static_assert(std::equality_comparable<fqk::Error>);
    KvTensorShapeV1 s = mha_key();
    s.query_heads = 16;
    const Bytes b = fqk::to_flatbuffer(s);
    const fqk::Status native = fqk::validate(s);
    const fqk::Status viewed = fqk::validate(*view_of(b));
    BOOST_TEST_REQUIRE(!native.ok());
    BOOST_TEST_REQUIRE(!viewed.ok());
    BOOST_TEST((native.error() == viewed.error()));
    BOOST_TEST((fqk::validate_all(s) == fqk::validate_all(*view_of(b))));
    fqk::Error other = native.error();
    other.message += ".";
    BOOST_TEST(!(other == native.error()));
    other = native.error();
    other.details.block_dim = 1;
    BOOST_TEST(!(other == native.error()));
    other = native.error();
    other.fields = other.fields.first(1);
    BOOST_TEST(!(other == native.error()));
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== hostile buffers
BOOST_AUTO_TEST_SUITE(hostile_buffers)

BOOST_AUTO_TEST_CASE(too_short) {
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(std::span<const std::uint8_t>()), "flatbuffers.size", "",
                      size_message(0));
    const Bytes one{0x46};
    CHECK_PARSE_ERROR(view_of(one), "flatbuffers.size", "", size_message(1));
    CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(one)), "flatbuffers.size", "", size_message(1));
    const Bytes seven{0, 0, 0, 0, 'F', 'Q', 'K'};
    CHECK_PARSE_ERROR(view_of(seven), "flatbuffers.size", "", size_message(7));
    // 8 bytes pass the frame check (identifier present) but cannot hold a table: the verifier says no.
    const Bytes eight{8, 0, 0, 0, 'F', 'Q', 'K', 'V'};
    CHECK_PARSE_ERROR(view_of(eight), "flatbuffers.verify", "", kVerifyMessage);
}

BOOST_AUTO_TEST_CASE(over_the_2gib_limit) {
    // FlatBuffers buffers are under 2 GiB (FLATBUFFERS_MAX_BUFFER_SIZE = 2^31 - 1, exclusive). Address space is
    // reserved, never touched beyond the first page (MAP_NORESERVE, reads of untouched pages see zeros).
    const std::size_t limit = FLATBUFFERS_MAX_BUFFER_SIZE;
    void* p = ::mmap(nullptr, limit, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        BOOST_TEST_MESSAGE("mmap of 2 GiB failed; skipping the size-limit check");
        return;
    }
    const auto* data = static_cast<const std::uint8_t*>(p);
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(std::span<const std::uint8_t>(data, limit)), "flatbuffers.size", "",
                      "buffer is larger than FlatBuffers' 2 GiB limit");
    // One byte less passes the size check and fails on the identifier (all zero bytes).
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(std::span<const std::uint8_t>(data, limit - 1)),
                      "flatbuffers.identifier", "",
                      "file identifier \"\\x00\\x00\\x00\\x00\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)");
    ::munmap(p, limit);
}

BOOST_AUTO_TEST_CASE(every_truncation) {
    const Bytes full_buffer = fqk::to_flatbuffer(gqa_value());
    const auto whole = view_of(full_buffer);
    BOOST_TEST_REQUIRE(whole.ok());
    // The string is written first, so it lies last; after its NUL only alignment padding follows. Cutting
    // padding leaves a buffer the verifier accepts (it checks that every referenced byte is inside, not that
    // the buffer ends where the builder stopped), and the view must be unchanged.
    const std::string_view sv = whole->schema_version();
    const auto needed =
        static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(sv.data()) - full_buffer.data()) + sv.size() + 1;
    BOOST_TEST_REQUIRE(needed <= full_buffer.size());
    BOOST_TEST_REQUIRE(full_buffer.size() - needed < 4U, "only padding after the string's NUL");
    for (std::size_t len = 0; len < full_buffer.size(); ++len) {
        BOOST_TEST_CONTEXT("truncated to " << len << " of " << full_buffer.size() << " bytes") {
            // A fresh allocation of exactly `len` bytes, so that ASan sees any read past the end.
            const Bytes cut(full_buffer.begin(), full_buffer.begin() + static_cast<std::ptrdiff_t>(len));
            const auto r = view_of(cut);
            if (len < 8) {
                CHECK_PARSE_ERROR(r, "flatbuffers.size", "", size_message(len));
            } else if (len < needed) {
                CHECK_PARSE_ERROR(r, "flatbuffers.verify", "", kVerifyMessage);
            } else {
                BOOST_TEST_REQUIRE(r.ok(), full(r));
                CHECK_VIEW_MATCHES(*r, gqa_value());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(every_byte_value_at_every_offset) {
    // Each byte of a valid buffer takes each of the 255 other values in turn. The answer is always a typed
    // parse error or a view; a view must then read, validate, count and digest exactly like its native copy.
    // Bytes whose role is known are held to the exact answer.
    const KvTensorShapeV1 base_shape = gqa_value();
    const Bytes base = fqk::to_flatbuffer(base_shape);
    const auto base_view = view_of(base);
    BOOST_TEST_REQUIRE(base_view.ok());
    const std::map<std::size_t, std::size_t> scalar_owner = scalar_field_bytes(base_shape);
    const std::string_view sv = base_view->schema_version();
    const auto str_begin = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(sv.data()) - base.data());
    const std::size_t str_nul = str_begin + sv.size();

    const std::set<std::string_view> parse_rules{"flatbuffers.verify", "flatbuffers.missing_field",
                                                 "flatbuffers.unknown_enum_code", "flatbuffers.invalid_utf8"};
    std::map<std::string, std::size_t> tally;
    for (std::size_t at = 0; at < base.size(); ++at) {
        for (unsigned value = 0; value < 256; ++value) {
            if (value == base[at]) continue;
            Bytes b = base;
            b[at] = static_cast<std::uint8_t>(value);
            BOOST_TEST_CONTEXT("byte " << at << " set to " << value) {
                const auto r = view_of(b);
                tally[r ? std::string("view") : std::string(r.error().rule)]++;
                if (at >= 4 && at < 8) {
                    BOOST_TEST_REQUIRE(!r.ok());
                    BOOST_TEST(r.error().rule == "flatbuffers.identifier");
                    continue;
                }
                if (const auto it = scalar_owner.find(at); it != scalar_owner.end()) {
                    const std::size_t f = it->second;
                    KvTensorShapeV1 expected = base_shape;
                    if (std::find(std::begin(kEnumFields), std::end(kEnumFields), f) != std::end(kEnumFields)) {
                        if (value >= enum_size(f)) {
                            CHECK_PARSE_ERROR(r, "flatbuffers.unknown_enum_code", std::string(kFieldNames[f]),
                                              unknown_code_message(kFieldNames[f], enum_name(f), value));
                            continue;
                        }
                        set_enum_code(expected, f, static_cast<std::uint8_t>(value));
                    } else {
                        std::size_t first = at;
                        while (first > 0 && scalar_owner.count(first - 1) && scalar_owner.at(first - 1) == f) --first;
                        u32_field(expected, f) = read_u32(b, first);
                    }
                    BOOST_TEST_REQUIRE(r.ok(), full(r));
                    CHECK_VIEW_MATCHES(*r, expected);
                    continue;
                }
                if (at >= str_begin && at < str_nul) {
                    // One byte of an ASCII string: still UTF-8 if ASCII (NUL included), never otherwise.
                    if (value >= 0x80) {
                        CHECK_PARSE_ERROR(r, "flatbuffers.invalid_utf8", "schema_version", kUtf8Message);
                    } else {
                        KvTensorShapeV1 expected = base_shape;
                        expected.schema_version[at - str_begin] = static_cast<char>(value);
                        BOOST_TEST_REQUIRE(r.ok(), full(r));
                        CHECK_VIEW_MATCHES(*r, expected);
                        BOOST_TEST(fqk::validate(*r).error().rule == "schema_version.matches");
                    }
                    continue;
                }
                if (at == str_nul) {  // the terminator must be 0
                    CHECK_PARSE_ERROR(r, "flatbuffers.verify", "", kVerifyMessage);
                    continue;
                }
                if (at > str_nul) {  // padding after the string: not read
                    BOOST_TEST_REQUIRE(r.ok(), full(r));
                    CHECK_VIEW_MATCHES(*r, base_shape);
                    continue;
                }
                // Offsets, vtable, table header, string length, padding between fields: anything may happen,
                // but only a typed parse error or a view that behaves.
                if (r) {
                    CHECK_VIEW_MATCHES(*r, fqk::to_native(*r));
                    // The fields the flip did not reach must read back unchanged unless the vtable moved them.
                } else {
                    const fqk::Error& e = r.error();
                    BOOST_TEST(e.kind == ErrorKind::parse);
                    BOOST_TEST(parse_rules.count(e.rule) == 1U, full(e));
                    BOOST_TEST(!e.message.empty());
                    BOOST_TEST(e.offset == fqk::Error::no_offset);
                }
            }
        }
    }
    std::string summary;
    for (const auto& [rule, n] : tally) summary += rule + "=" + std::to_string(n) + " ";
    BOOST_TEST_MESSAGE("byte flips over " << base.size() << " bytes: " << summary);
    BOOST_TEST(tally["view"] > 0U);
    BOOST_TEST(tally["flatbuffers.verify"] > 0U);
    BOOST_TEST(tally["flatbuffers.identifier"] == 4U * 255U);
}

BOOST_AUTO_TEST_CASE(root_offset_outside_the_buffer) {
    const Bytes base = fqk::to_flatbuffer(mha_key());
    const auto size = static_cast<std::uint32_t>(base.size());
    for (const std::uint32_t root : {0U, 4U, size - 2, size, size + 4, 0x7FFFFFFCU, 0x80000000U, 0xFFFFFFFCU}) {
        BOOST_TEST_CONTEXT("root offset " << root) {
            Bytes b = base;
            write_u32(b, 0, root);
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.verify", "", kVerifyMessage);
            CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.verify", "",
                              kVerifyMessage);
        }
    }
    // Inside the buffer but at the last 4 bytes (NUL and padding, all zero): a "table" whose soffset 0 makes
    // it its own vtable, of size 0, so it has no fields. Well-formed to the verifier; a missing field to us.
    BOOST_TEST_REQUIRE(read_u32(base, base.size() - 4) == 0U);
    Bytes b = base;
    write_u32(b, 0, size - 4);
    CHECK_PARSE_ERROR(view_of(b), "flatbuffers.missing_field", "schema_version", "missing field `schema_version`");
}

BOOST_AUTO_TEST_CASE(vtable_offset_outside_the_buffer) {
    const Bytes base = fqk::to_flatbuffer(mha_key());
    const std::uint32_t table = read_u32(base, 0);
    const auto t = static_cast<std::int64_t>(table);
    const auto size = static_cast<std::int64_t>(base.size());
    // The table starts with a signed offset back to its vtable (vtable = table - soffset).
    for (const std::int64_t soffset : {t + 4, t + 1000, -size, -(size - t), std::int64_t{INT32_MIN},
                                       std::int64_t{INT32_MAX}, std::int64_t{1}}) {
        BOOST_TEST_CONTEXT("soffset " << soffset) {
            Bytes b = base;
            write_u32(b, table, static_cast<std::uint32_t>(static_cast<std::int32_t>(soffset)));
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.verify", "", kVerifyMessage);
        }
    }
}

BOOST_AUTO_TEST_CASE(vtable_size_field) {
    const Bytes base = fqk::to_flatbuffer(mha_key());
    const std::uint32_t table = read_u32(base, 0);
    const auto vtable = static_cast<std::size_t>(static_cast<std::int64_t>(table) -
                                                 static_cast<std::int32_t>(read_u32(base, table)));
    BOOST_TEST_REQUIRE((base[vtable] | base[vtable + 1] << 8) == 4 + 2 * 11);
    // Larger than the buffer, or odd: the verifier says no.
    for (const std::uint16_t vsize : {std::uint16_t{0xFFFE}, std::uint16_t{27}, std::uint16_t{3}}) {
        Bytes b = base;
        write_u16(b, vtable, vsize);
        BOOST_TEST_CONTEXT("vtable size " << vsize) {
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.verify", "", kVerifyMessage);
        }
    }
    // A shorter vtable simply lists fewer fields: the first field it no longer covers is missing.
    for (std::size_t covered = 0; covered < kFieldNames.size(); ++covered) {
        Bytes b = base;
        write_u16(b, vtable, static_cast<std::uint16_t>(4 + 2 * covered));
        const std::string field(kFieldNames[covered]);
        BOOST_TEST_CONTEXT("vtable covering " << covered << " fields") {
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.missing_field", field, "missing field `" + field + "`");
        }
    }
}

BOOST_AUTO_TEST_CASE(string_length_and_terminator) {
    const Bytes base = fqk::to_flatbuffer(mha_key());
    const auto view = view_of(base);
    BOOST_TEST_REQUIRE(view.ok());
    const auto str = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(view->schema_version().data()) -
                                              base.data());
    const std::uint32_t real = read_u32(base, str - 4);
    BOOST_TEST_REQUIRE(real == 28U);
    BOOST_TEST_REQUIRE(base.size() == str + 32);  // 28 bytes, NUL, 3 bytes of zero padding
    // Longer into the zero padding: still a NUL-terminated string inside the buffer, now ending in NULs.
    for (std::uint32_t len = 29; len <= 31; ++len) {
        Bytes b = base;
        write_u32(b, str - 4, len);
        BOOST_TEST_CONTEXT("string length " << len) {
            const auto r = view_of(b);
            BOOST_TEST_REQUIRE(r.ok(), full(r));
            KvTensorShapeV1 expected = mha_key();
            expected.schema_version.append(len - 28, '\0');
            CHECK_VIEW_MATCHES(*r, expected);
            BOOST_TEST(fqk::validate(*r).error().rule == "schema_version.matches");
        }
    }
    // Past the end (the terminator would be outside), or absurd: the verifier says no.
    for (const std::uint32_t len : {32U, 33U, 1000U, 0x7FFFFFFFU, 0x80000000U, 0xFFFFFFFFU}) {
        Bytes b = base;
        write_u32(b, str - 4, len);
        BOOST_TEST_CONTEXT("string length " << len) {
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.verify", "", kVerifyMessage);
        }
    }
    // Shorter: the byte after the string is then not NUL, and the verifier says no.
    for (const std::uint32_t len : {0U, 5U, 27U}) {
        Bytes b = base;
        write_u32(b, str - 4, len);
        BOOST_TEST_CONTEXT("string length " << len) {
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.verify", "", kVerifyMessage);
        }
    }
}

BOOST_AUTO_TEST_CASE(wrong_file_identifier) {
    Bytes b = fqk::to_flatbuffer(mha_key());
    std::memcpy(b.data() + 4, "FQKM", 4);
    CHECK_PARSE_ERROR(view_of(b), "flatbuffers.identifier", "",
                      "file identifier \"FQKM\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)");
    std::memcpy(b.data() + 4, "fqkv", 4);
    CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.identifier", "",
                      "file identifier \"fqkv\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)");
    std::memcpy(b.data() + 4, "\"\\\n\x01", 4);  // bytes other than printable ASCII as \xNN
    CHECK_PARSE_ERROR(view_of(b), "flatbuffers.identifier", "",
                      "file identifier \"\\x22\\x5c\\x0a\\x01\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)");
    std::memcpy(b.data() + 4, "\xff\xfe\xc3\xa9", 4);  // never bytes that are not UTF-8 in a message
    CHECK_PARSE_ERROR(view_of(b), "flatbuffers.identifier", "",
                      "file identifier \"\\xff\\xfe\\xc3\\xa9\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)");
}

BOOST_AUTO_TEST_CASE(missing_file_identifier) {
    // Finish() without an identifier: the table is otherwise fine, and flatc's own verifier (no identifier
    // asked) accepts it, but ours requires "FQKV".
    const Bytes b = finish_raw(raw_of(mha_key()), /*with_identifier=*/false);
    flatbuffers::Verifier plain(b.data(), b.size());
    BOOST_TEST(plain.VerifyBuffer<fqk::fb::KvTensorShapeV1>(nullptr));
    const auto r = view_of(b);
    BOOST_TEST_REQUIRE(!r.ok());
    const fqk::Error& e = r.error();
    BOOST_TEST(e.kind == ErrorKind::parse);
    BOOST_TEST(e.rule == "flatbuffers.identifier");
    BOOST_TEST(fields_of(e).empty());
    BOOST_TEST(e.message.starts_with("file identifier \""), e.message);
    BOOST_TEST(e.message.ends_with("\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)"), e.message);
    // With the identifier, the same table is accepted.
    BOOST_TEST(view_of(finish_raw(raw_of(mha_key()))).ok());
}

BOOST_AUTO_TEST_CASE(size_prefixed_buffer) {
    // FinishSizePrefixed puts a length first; the identifier is then at bytes 8..12, not 4..8.
    flatbuffers::FlatBufferBuilder builder;
    fqk::fb::FinishSizePrefixedKvTensorShapeV1Buffer(builder, fqk::build_kv_tensor_shape_v1(builder, mha_key()));
    const Bytes b(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
    const auto r = view_of(b);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().rule == "flatbuffers.identifier");
    // Skipping the 4-byte prefix gives an ordinary (and still aligned) buffer.
    const auto skipped = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b).subspan(4));
    BOOST_TEST_REQUIRE(skipped.ok(), full(skipped));
    CHECK_VIEW_MATCHES(*skipped, mha_key());
}

BOOST_AUTO_TEST_CASE(misaligned_start) {
    const Bytes b = fqk::to_flatbuffer(mha_key());
    alignas(8) std::array<std::uint8_t, 256> storage{};
    BOOST_TEST_REQUIRE(b.size() + 8 <= storage.size());
    for (std::size_t shift = 1; shift < 4; ++shift) {
        std::memcpy(storage.data() + shift, b.data(), b.size());
        const std::span<const std::uint8_t> span(storage.data() + shift, b.size());
        BOOST_TEST_CONTEXT("shift " << shift) {
            CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(span), "flatbuffers.alignment", "", kAlignmentMessage);
            CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(span), "flatbuffers.alignment", "",
                              kAlignmentMessage);
        }
    }
    // 4-byte alignment is all that is needed.
    std::memcpy(storage.data() + 4, b.data(), b.size());
    const auto ok = fqk::verify_kv_tensor_shape_v1_buffer(std::span<const std::uint8_t>(storage.data() + 4, b.size()));
    BOOST_TEST_REQUIRE(ok.ok(), full(ok));
    CHECK_VIEW_MATCHES(*ok, mha_key());
}

BOOST_AUTO_TEST_CASE(frame_checks_in_order) {
    // size, then alignment, then identifier.
    alignas(8) std::array<std::uint8_t, 64> storage{};
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(std::span<const std::uint8_t>(storage.data() + 1, 7)),
                      "flatbuffers.size", "", size_message(7));
    std::memcpy(storage.data() + 5, "XXXX", 4);  // wrong identifier too
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(std::span<const std::uint8_t>(storage.data() + 1, 32)),
                      "flatbuffers.alignment", "", kAlignmentMessage);
}

BOOST_AUTO_TEST_CASE(each_field_missing) {
    for (std::size_t i = 0; i < kFieldNames.size(); ++i) {
        RawShape r = raw_of(mha_key());
        r.omit(i);
        const Bytes b = finish_raw(r);
        const std::string field(kFieldNames[i]);
        BOOST_TEST_CONTEXT("without " << field) {
            // Well-formed for flatc: every field is optional to FlatBuffers itself.
            flatbuffers::Verifier verifier(b.data(), b.size());
            BOOST_TEST(fqk::fb::VerifyKvTensorShapeV1Buffer(verifier));
            CHECK_PARSE_ERROR(view_of(b), "flatbuffers.missing_field", field, "missing field `" + field + "`");
            CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.missing_field", field,
                              "missing field `" + field + "`");
            // And through the table overload.
            CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(fqk::fb::GetKvTensorShapeV1(b.data())),
                              "flatbuffers.missing_field", field, "missing field `" + field + "`");
        }
    }
    // With several missing, the first in schema order is named; an empty table lacks schema_version.
    RawShape two = raw_of(mha_key());
    two.omit(8);
    two.omit(3);
    CHECK_PARSE_ERROR(view_of(finish_raw(two)), "flatbuffers.missing_field", "batch", "missing field `batch`");
    RawShape none;
    for (std::size_t i = 0; i < kFieldNames.size(); ++i) none.omit(i);
    CHECK_PARSE_ERROR(view_of(finish_raw(none)), "flatbuffers.missing_field", "schema_version",
                      "missing field `schema_version`");
}

BOOST_AUTO_TEST_CASE(a_verifier_failure_anywhere_wins_over_an_earlier_missing_field) {
    // view_kv_tensor_shape_v1(buffer) reads fields as it verifies them; a field missing early must not hide a
    // later field the Verifier refuses: the answer is the Verifier's, as when it runs over the whole table first.
    RawShape r = raw_of(mha_key());
    r.omit(0);  // schema_version, the first field
    Bytes b = finish_raw(r);
    const std::size_t table = read_u32(b, 0);
    const std::size_t vtable = table - static_cast<std::size_t>(static_cast<std::int32_t>(read_u32(b, table)));
    const std::size_t rope_state_slot = vtable + 4 + 2 * 10;  // the last field's entry in the vtable
    BOOST_TEST_REQUIRE(rope_state_slot + 2 <= vtable + static_cast<std::size_t>(b[vtable] | b[vtable + 1] << 8));
    write_u16(b, rope_state_slot, 0xFFF0);  // far past the end of the table
    CHECK_PARSE_ERROR(view_of(b), "flatbuffers.verify", "", kVerifyMessage);
    CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.verify", "", kVerifyMessage);
    // Without the broken entry, the missing field is the answer.
    CHECK_PARSE_ERROR(view_of(finish_raw(r)), "flatbuffers.missing_field", "schema_version",
                      "missing field `schema_version`");
}

BOOST_AUTO_TEST_CASE(unknown_enum_codes) {
    for (const std::size_t f : kEnumFields) {
        const std::string field(kFieldNames[f]);
        for (const unsigned code : {enum_size(f), 7U, 127U, 128U, 255U}) {
            RawShape r = raw_of(mha_key());
            switch (f) {
                case 1: r.role = static_cast<std::uint8_t>(code); break;
                case 2: r.attention_kind = static_cast<std::uint8_t>(code); break;
                case 9: r.dtype = static_cast<std::uint8_t>(code); break;
                default: r.rope_state = static_cast<std::uint8_t>(code); break;
            }
            const Bytes b = finish_raw(r);
            BOOST_TEST_CONTEXT(field << " code " << code) {
                CHECK_PARSE_ERROR(view_of(b), "flatbuffers.unknown_enum_code", field,
                                  unknown_code_message(field, enum_name(f), code));
                CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.unknown_enum_code",
                                  field, unknown_code_message(field, enum_name(f), code));
            }
        }
    }
    // The brief's example, spelled out: role 7 written through flatc's builder.
    flatbuffers::FlatBufferBuilder builder;
    const auto sv = builder.CreateString(std::string(fqk::kKvTensorShapeV1SchemaId));
    fqk::fb::KvTensorShapeV1Builder t(builder);
    t.add_schema_version(sv);
    t.add_role(static_cast<fqk::fb::KvRole>(7));
    t.add_attention_kind(fqk::fb::KvAttentionKind::mha);
    t.add_batch(1);
    t.add_layers(1);
    t.add_kv_heads(1);
    t.add_query_heads(1);
    t.add_tokens(1);
    t.add_head_dim(1);
    t.add_dtype(fqk::fb::KvDType::f16);
    t.add_rope_state(fqk::fb::KvRopeState::pre_rope);
    fqk::fb::FinishKvTensorShapeV1Buffer(builder, t.Finish());
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(std::span<const std::uint8_t>(builder.GetBufferPointer(),
                                                                                 builder.GetSize())),
                      "flatbuffers.unknown_enum_code", "role",
                      "field `role`: code 7 is not a value of enum KvRole (written by a newer schema?)");
}

BOOST_AUTO_TEST_CASE(checks_in_schema_order) {
    // An unknown role (field 1) is found before a missing batch (field 3); a missing role before an unknown dtype.
    RawShape a = raw_of(mha_key());
    a.role = 9;
    a.batch.reset();
    CHECK_PARSE_ERROR(view_of(finish_raw(a)), "flatbuffers.unknown_enum_code", "role",
                      unknown_code_message("role", "KvRole", 9));
    RawShape b = raw_of(mha_key());
    b.role.reset();
    b.dtype = 3;
    CHECK_PARSE_ERROR(view_of(finish_raw(b)), "flatbuffers.missing_field", "role", "missing field `role`");
    // Invalid UTF-8 in schema_version (field 0) comes before an unknown role.
    RawShape c = raw_of(mha_key());
    c.schema_version = std::string("\xff");
    c.role = 9;
    CHECK_PARSE_ERROR(view_of(finish_raw(c)), "flatbuffers.invalid_utf8", "schema_version", kUtf8Message);
}

BOOST_AUTO_TEST_CASE(schema_version_utf8) {
    using namespace std::string_literals;
    const std::vector<std::string> valid{
        ""s, "fib_quant_kv_tensor_shape_v1"s, "\xC2\x80"s, "\xDF\xBF"s, "\xE0\xA0\x80"s, "\xED\x9F\xBF"s,
        "\xEE\x80\x80"s, "\xEF\xBF\xBF"s, "\xF0\x90\x80\x80"s, "\xF4\x8F\xBF\xBF"s, "a\0b"s,
        "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"s,  // é € 😀
        "\x7F"s};
    const std::vector<std::string> invalid{
        "\x80"s, "\xBF"s, "\xC0\x80"s, "\xC1\xBF"s, "\xC2"s, "\xC2\x41"s, "\xE0\x80\x80"s, "\xE0\x9F\xBF"s,
        "\xED\xA0\x80"s, "\xED\xBF\xBF"s, "\xE2\x82"s, "\xE2\x82\x41"s, "\xE2\x41\x82"s, "\xF0\x80\x80\x80"s,
        "\xF0\x8F\xBF\xBF"s, "\xF4\x90\x80\x80"s, "\xF5\x80\x80\x80"s, "\xF8\x88\x80\x80\x80"s, "\xFE"s, "\xFF"s,
        "fib_quant_kv_tensor_shape_v1\xFF"s, "\xF0\x90\x80"s, "\xF0\x90\x80\x41"s, "\xF0\x90\x41\x80"s};
    for (const std::string& text : valid) {
        BOOST_TEST_CONTEXT("valid " << to_hex(text)) {
            KvTensorShapeV1 s = mha_key();
            s.schema_version = text;
            const Bytes b = fqk::to_flatbuffer(s);
            const auto view = view_of(b);
            BOOST_TEST_REQUIRE(view.ok(), full(view));
            CHECK_VIEW_MATCHES(*view, s);
            const auto verified = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b));
            if (text == fqk::kKvTensorShapeV1SchemaId) {
                BOOST_TEST(verified.ok());
            } else {
                BOOST_TEST_REQUIRE(!verified.ok());
                CHECK_ERROR(verified.error(), ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                            "kv shape schema_version " + text + ", expected fib_quant_kv_tensor_shape_v1");
            }
        }
    }
    for (const std::string& text : invalid) {
        BOOST_TEST_CONTEXT("invalid " << to_hex(text)) {
            KvTensorShapeV1 s = mha_key();
            s.schema_version = text;
            // Written by the library itself (a native string may hold any bytes) and by flatc's builder.
            const Bytes ours = fqk::to_flatbuffer(s);
            RawShape r = raw_of(mha_key());
            r.schema_version = text;
            const Bytes theirs = finish_raw(r);
            for (const Bytes* b : {&ours, &theirs}) {
                CHECK_PARSE_ERROR(view_of(*b), "flatbuffers.invalid_utf8", "schema_version", kUtf8Message);
                CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(*b)), "flatbuffers.invalid_utf8",
                                  "schema_version", kUtf8Message);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(verifier_limits) {
    const Bytes b = fqk::to_flatbuffer(mha_key());
    // A lone shape is one table deep (the string does not count): depth 1 and one table are enough.
    BOOST_TEST(view_of(b, {.max_depth = 1, .max_tables = 1000000}).ok());
    BOOST_TEST(view_of(b, {.max_depth = 64, .max_tables = 1}).ok());
    BOOST_TEST(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b), {.max_depth = 1, .max_tables = 1}).ok());
    CHECK_PARSE_ERROR(view_of(b, {.max_depth = 0, .max_tables = 1000000}), "flatbuffers.verify", "", kVerifyMessage);
    CHECK_PARSE_ERROR(view_of(b, {.max_depth = 64, .max_tables = 0}), "flatbuffers.verify", "", kVerifyMessage);
    CHECK_PARSE_ERROR(view_of(b, {.max_depth = 1, .max_tables = 0}), "flatbuffers.verify", "", kVerifyMessage);
    CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b), {.max_depth = 0, .max_tables = 0}),
                      "flatbuffers.verify", "", kVerifyMessage);
}

BOOST_AUTO_TEST_CASE(null_table_pointer) {
    const auto r = fqk::view_kv_tensor_shape_v1(static_cast<const fqk::fb::KvTensorShapeV1*>(nullptr));
    CHECK_PARSE_ERROR(r, "flatbuffers.missing_field", "", "missing table KvTensorShapeV1");
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== caller's builder
BOOST_AUTO_TEST_SUITE(callers_builder)

BOOST_AUTO_TEST_CASE(two_shapes_in_one_vector) {
    flatbuffers::FlatBufferBuilder builder(64);
    // Unrelated data of odd sizes first, so the shapes do not start on a convenient boundary.
    const auto junk = builder.CreateString("x");
    const std::uint8_t three[] = {1, 2, 3};
    const auto bytes = builder.CreateVector(three, 3);
    KvTensorShapeV1 bad = mqa_key();
    bad.kv_heads = 2;
    const auto first = fqk::build_kv_tensor_shape_v1(builder, gqa_value());
    const auto second = fqk::build_kv_tensor_shape_v1(builder, bad);
    const std::vector<flatbuffers::Offset<fqk::fb::KvTensorShapeV1>> offsets{first, second};
    const auto vec = builder.CreateVector(offsets);
    (void)junk;
    (void)bytes;
    builder.Finish(vec);  // a vector as the root, which FlatBuffers allows

    const std::uint8_t* buf = builder.GetBufferPointer();
    flatbuffers::Verifier verifier(buf, builder.GetSize());
    using ShapeVector = flatbuffers::Vector<flatbuffers::Offset<fqk::fb::KvTensorShapeV1>>;
    BOOST_TEST_REQUIRE(verifier.VerifyOffset(0) != 0U);
    const auto* shapes = flatbuffers::GetRoot<ShapeVector>(buf);
    BOOST_TEST_REQUIRE(verifier.VerifyVector(shapes));
    BOOST_TEST_REQUIRE(verifier.VerifyVectorOfTables(shapes));
    BOOST_TEST_REQUIRE(shapes->size() == 2U);

    const auto v0 = fqk::view_kv_tensor_shape_v1(shapes->Get(0));
    BOOST_TEST_REQUIRE(v0.ok(), full(v0));
    CHECK_VIEW_MATCHES(*v0, gqa_value());
    BOOST_TEST(fqk::validate(*v0).ok());

    const auto v1 = fqk::view_kv_tensor_shape_v1(shapes->Get(1));
    BOOST_TEST_REQUIRE(v1.ok(), full(v1));
    CHECK_VIEW_MATCHES(*v1, bad);
    const fqk::Status st = fqk::validate(*v1);
    BOOST_TEST_REQUIRE(!st.ok());
    CHECK_ERROR(st.error(), ErrorKind::corrupt_payload, "mqa.single_kv_head", "kv_heads", "MQA requires kv_heads == 1");
}

BOOST_AUTO_TEST_CASE(builder_options_do_not_matter) {
    // ForceDefaults and vtable de-duplication change the layout, never what is read.
    for (const bool force : {false, true}) {
        for (const bool dedup : {false, true}) {
            flatbuffers::FlatBufferBuilder builder;
            builder.ForceDefaults(force);
            builder.DedupVtables(dedup);
            KvTensorShapeV1 zero;
            const auto a = fqk::build_kv_tensor_shape_v1(builder, zero);
            const auto c = fqk::build_kv_tensor_shape_v1(builder, mha_key());
            (void)a;
            fqk::fb::FinishKvTensorShapeV1Buffer(builder, c);
            const auto view = fqk::verify_kv_tensor_shape_v1_buffer(
                std::span<const std::uint8_t>(builder.GetBufferPointer(), builder.GetSize()));
            BOOST_TEST_CONTEXT("force " << force << " dedup " << dedup) {
                BOOST_TEST_REQUIRE(view.ok(), full(view));
                CHECK_VIEW_MATCHES(*view, mha_key());
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// A view points into the caller's bytes, so a temporary buffer must not make one: refused at compile time.
template <class B>
concept ViewableFrom = requires(B&& b) { fqk::view_kv_tensor_shape_v1(std::forward<B>(b)); };
template <class B>
concept VerifiableFrom = requires(B&& b) { fqk::verify_kv_tensor_shape_v1_buffer(std::forward<B>(b)); };
static_assert(ViewableFrom<std::vector<std::uint8_t>&> && ViewableFrom<const std::vector<std::uint8_t>&>);
static_assert(ViewableFrom<std::span<const std::uint8_t>>);
static_assert(!ViewableFrom<std::vector<std::uint8_t>> && !ViewableFrom<std::vector<std::uint8_t>&&>);
static_assert(VerifiableFrom<std::vector<std::uint8_t>&> && !VerifiableFrom<std::vector<std::uint8_t>>);
