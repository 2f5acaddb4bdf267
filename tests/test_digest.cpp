// The descriptor digest of docs/digest.md: the canonical encoding byte for byte, the known-answer vectors of
// tests/data/digest_vectors.jsonl (computed from the spec with Python's struct and `xxhsum -H2`, independently
// of this library) through every entry point, wire-form independence, sensitivity to every field, the
// validate() gate, and Digest's hex form.
#define BOOST_TEST_MODULE digest
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/json_decode.hpp"  // the library's own JSON decoder, to read the vector file
#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace fib_quant_kv::test;
using namespace std::string_literals;

namespace {

// ---------------------------------------------------------------------------------------------- the vectors
/// One line of digest_vectors.jsonl.
struct Vector {
    std::string json;           ///< the input, any accepted wire form
    std::string canonical_hex;  ///< its canonical encoding
    std::string digest;         ///< XXH3-128 of the encoding, as `xxhsum -H2` prints it
    std::size_t line = 0;
};

std::ostream& operator<<(std::ostream& os, const Vector& v) {
    return os << "digest_vectors.jsonl line " << v.line << " (" << v.digest << ")";
}

/// Binds Vector to the library's schema-agnostic JSON decoder: three string fields, nothing else.
constexpr std::string_view kVectorFieldNames[] = {"json", "canonical_hex", "digest"};
constexpr detail::json::FieldSpec kVectorFields[] = {
    {"json", detail::json::FieldType::string, 0, "a string", {}, {kVectorFieldNames + 0, 1}},
    {"canonical_hex", detail::json::FieldType::string, 0, "a string", {}, {kVectorFieldNames + 1, 1}},
    {"digest", detail::json::FieldType::string, 0, "a string", {}, {kVectorFieldNames + 2, 1}},
};
struct VectorBinding {
    using type = Vector;
    static constexpr std::string_view name = "DigestVector";
    static constexpr std::span<const detail::json::FieldSpec> fields = kVectorFields;
    static void set_string(type& v, std::size_t field, std::string_view text) {
        (field == 0 ? v.json : field == 1 ? v.canonical_hex : v.digest).assign(text);
    }
    static void set_uint(type&, std::size_t, std::uint64_t) noexcept {}
    static void set_enum(type&, std::size_t, std::size_t) noexcept {}
};

const test::LoadedVectors<Vector>& loaded() {
    static const std::string path = std::string(FIB_QUANT_KV_TEST_DATA) + "/digest_vectors.jsonl";
    static const test::LoadedVectors<Vector> result =
        test::load_vector_file<Vector>(path, [](const std::string& text, std::string& problem) {
            Result<Vector> r = detail::json::decode<VectorBinding>(text);
            if (!r) {
                problem = r.error().describe();
                return Vector{};
            }
            return std::move(r).value();
        });
    return result;
}

const std::vector<Vector>& vectors() { return loaded().vectors; }

// ---------------------------------------------------------------------------------------------- helpers
/// Hex to bytes (the vectors' canonical_hex); test-side, not the library's.
std::string from_hex(std::string_view hex) {
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    }
    return out;
}

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span<const char>(s)); }

/// docs/digest.md's encoding, written out here from the spec: domain tag, then each field little-endian.
std::string encode_by_spec(const KvTensorShapeV1& s) {
    std::string out("fib_quant_kv_tensor_shape_v1\0KvTensorShapeV1\0", 45);
    auto u32 = [&out](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    const std::uint64_t len = s.schema_version.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
    out.append(s.schema_version);
    u32(static_cast<std::uint8_t>(s.role));
    u32(static_cast<std::uint8_t>(s.attention_kind));
    u32(s.batch);
    u32(s.layers);
    u32(s.kv_heads);
    u32(s.query_heads);
    u32(s.tokens);
    u32(s.head_dim);
    u32(static_cast<std::uint8_t>(s.dtype));
    u32(static_cast<std::uint8_t>(s.rope_state));
    return out;
}

/// The digest of `bytes` fed to a DigestBuilder in the given pieces.
Digest streamed(std::string_view bytes, const std::vector<std::size_t>& cuts) {
    DigestBuilder b;
    std::size_t at = 0;
    for (const std::size_t cut : cuts) {
        b.update(bytes.substr(at, cut - at));
        at = cut;
    }
    b.update(bytes.substr(at));
    return b.finish();
}

/// How many ways of feeding `bytes` to the streaming entry point disagree with `expected`: whole (both
/// overloads), split in two at every offset, split in three at every pair of offsets (when `pairs`), byte by
/// byte, and in pieces of 7.
std::size_t streaming_mismatches(std::string_view bytes, const std::string& expected, bool pairs) {
    std::size_t bad = 0;
    {
        DigestBuilder b;
        b.update(bytes);
        bad += b.finish().hex() != expected;
        // finish() does not consume the state
        bad += b.finish().hex() != expected;
    }
    {
        DigestBuilder b;
        b.update(as_bytes(bytes));
        bad += b.finish().hex() != expected;
    }
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
        bad += streamed(bytes, {i}).hex() != expected;
        if (pairs) {
            for (std::size_t j = i; j <= bytes.size(); ++j) bad += streamed(bytes, {i, j}).hex() != expected;
        }
    }
    {
        DigestBuilder b;
        for (const char c : bytes) b.update(std::string_view(&c, 1));
        bad += b.finish().hex() != expected;
    }
    {
        DigestBuilder b;
        for (std::size_t i = 0; i < bytes.size(); i += 7) b.update(as_bytes(bytes.substr(i, 7)));
        bad += b.finish().hex() != expected;
    }
    {
        DigestBuilder b;  // empty pieces change nothing
        b.update(std::string_view());
        b.update(bytes);
        b.update(std::span<const std::byte>());
        bad += b.finish().hex() != expected;
    }
    return bad;
}

/// A valid descriptor to vary.
KvTensorShapeV1 base() {
    return make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::gqa, 2, 24, 4, 16, 8192, 128, KvDType::bf16,
                                   KvRopeState::pre_rope);
}

const std::string kBaseJson =
    R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":2,"layers":24,)"
    R"("kv_heads":4,"query_heads":16,"tokens":8192,"head_dim":128,"dtype":"bf16","rope_state":"pre_rope"})";

}  // namespace

// ============================================================================================== vectors
BOOST_AUTO_TEST_SUITE(known_answers)

BOOST_AUTO_TEST_CASE(vector_file) {
    BOOST_TEST_REQUIRE(loaded().problem.empty(), loaded().problem);
    BOOST_TEST(vectors().size() >= 8U);
    std::set<std::string> digests;
    for (const Vector& v : vectors()) {
        BOOST_TEST_CONTEXT(v) {
            BOOST_TEST(v.canonical_hex.size() == 242U);
            BOOST_TEST(v.digest.size() == 32U);
            BOOST_TEST(v.canonical_hex.find_first_not_of("0123456789abcdef") == std::string::npos);
            BOOST_TEST(v.digest.find_first_not_of("0123456789abcdef") == std::string::npos);
        }
        digests.insert(v.digest);
    }
    BOOST_TEST(digests.size() == vectors().size());  // every vector a different descriptor
}

BOOST_DATA_TEST_CASE(each_vector, boost::unit_test::data::make(vectors()), v) {
    Result<KvTensorShapeV1> parsed = parse_kv_tensor_shape_v1_json(v.json);
    BOOST_TEST_REQUIRE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().describe()));
    const KvTensorShapeV1 shape = std::move(parsed).value();
    const Status valid = validate(shape);
    BOOST_TEST_REQUIRE(valid.ok(), (valid.ok() ? std::string() : valid.error().describe()));

    // the encoding
    const std::string encoding = canonical_encoding(shape);
    BOOST_TEST(encoding.size() == 121U);
    BOOST_TEST(to_hex(encoding) == v.canonical_hex);
    BOOST_TEST(to_hex(encode_by_spec(shape)) == v.canonical_hex);

    // the digest, one-shot
    const std::string expected_bytes = from_hex(v.canonical_hex);
    BOOST_TEST(digest_bytes(expected_bytes).hex() == v.digest);
    BOOST_TEST(digest_bytes(encoding).hex() == v.digest);
    BOOST_TEST(digest_bytes(as_bytes(encoding)).hex() == v.digest);
    const Result<Digest> d = digest(shape);
    BOOST_TEST_REQUIRE(d.ok());
    BOOST_TEST(d->hex() == v.digest);

    // streaming: whole, split at every offset (and every pair of offsets), byte by byte
    BOOST_TEST(streaming_mismatches(encoding, v.digest, true) == 0U);

    // the hex form parses back to the same digest
    const std::optional<Digest> back = Digest::from_hex(v.digest);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(*back == *d);

    // the descriptor written out again (serde's compact form) digests the same
    const Result<KvTensorShapeV1> reparsed = parse_kv_tensor_shape_v1_json(to_json(shape));
    BOOST_TEST_REQUIRE(reparsed.ok());
    BOOST_TEST(digest(*reparsed)->hex() == v.digest);
}

BOOST_AUTO_TEST_CASE(xxh3_128_primitive) {
    // `xxhsum -H2` of files of n bytes, byte i = (7 i + 3) mod 256: lengths across XXH3's internal thresholds.
    const std::pair<std::size_t, std::string_view> answers[] = {
        {0, "99aa06d3014798d86001c324468d497f"},      {1, "22bbb76b211a39ba13e608bc156defed"},
        {3, "ce31763cbf8245a5a9088dda485b481c"},      {16, "ce0b9647ab24f88460d75c5e47d40a24"},
        {17, "bfd327edcc2fbd12eeed7654312a26d7"},     {128, "1b1962a096bac78bc580008b6c92ac53"},
        {129, "293e4968c4619023bd91ce7ace4d385b"},    {240, "ad46c1021b076bc704e0b5f034bee80b"},
        {241, "ac6c3492c3d6b45d8beadd3a8874fe17"},    {1024, "18bc0eaca9a336369b81661c641c72b1"},
        {100000, "d9e155dd16e141d00c056f6fcc340974"},
    };
    for (const auto& [n, expected] : answers) {
        std::string bytes(n, '\0');
        for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((i * 7 + 3) % 256);
        BOOST_TEST_CONTEXT(n << " bytes") {
            BOOST_TEST(digest_bytes(bytes).hex() == expected);
            BOOST_TEST(digest_bytes(as_bytes(bytes)).hex() == expected);
            if (n <= 1024) {
                BOOST_TEST(streaming_mismatches(bytes, std::string(expected), false) == 0U);
            } else {
                std::size_t bad = 0;
                constexpr std::size_t cuts[] = {1, 63, 64, 255, 256, 1023, 1024, 1025, 50000, 99999};
                for (const std::size_t cut : cuts) {
                    bad += streamed(bytes, {cut}).hex() != expected;
                }
                bad += streamed(bytes, {100, 5000, 5001, 70000}).hex() != expected;
                DigestBuilder b;
                for (const char c : bytes) b.update(std::string_view(&c, 1));
                bad += b.finish().hex() != expected;
                BOOST_TEST(bad == 0U);
            }
        }
    }
    BOOST_TEST(digest_bytes("abc").hex() == "06b05ab6733a618578af5f94892f3950");
    BOOST_TEST(DigestBuilder().finish().hex() == "99aa06d3014798d86001c324468d497f");
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== encoding
BOOST_AUTO_TEST_SUITE(canonical_encoding_layout)

BOOST_AUTO_TEST_CASE(layout_of_a_valid_descriptor) {
    const std::string e = canonical_encoding(base());
    BOOST_TEST_REQUIRE(e.size() == 121U);
    BOOST_TEST(e.substr(0, 45) == std::string("fib_quant_kv_tensor_shape_v1\0KvTensorShapeV1\0", 45));
    BOOST_TEST(to_hex(e.substr(45, 8)) == "1c00000000000000");  // 28
    BOOST_TEST(e.substr(53, 28) == "fib_quant_kv_tensor_shape_v1");
    BOOST_TEST(to_hex(e.substr(81, 4)) == "00000000");   // role key
    BOOST_TEST(to_hex(e.substr(85, 4)) == "02000000");   // gqa
    BOOST_TEST(to_hex(e.substr(89, 4)) == "02000000");   // batch 2
    BOOST_TEST(to_hex(e.substr(93, 4)) == "18000000");   // layers 24
    BOOST_TEST(to_hex(e.substr(97, 4)) == "04000000");   // kv_heads 4
    BOOST_TEST(to_hex(e.substr(101, 4)) == "10000000");  // query_heads 16
    BOOST_TEST(to_hex(e.substr(105, 4)) == "00200000");  // tokens 8192
    BOOST_TEST(to_hex(e.substr(109, 4)) == "80000000");  // head_dim 128
    BOOST_TEST(to_hex(e.substr(113, 4)) == "01000000");  // bf16
    BOOST_TEST(to_hex(e.substr(117, 4)) == "00000000");  // pre_rope
}

BOOST_AUTO_TEST_CASE(enum_codes_and_wide_values) {
    KvTensorShapeV1 s = make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::mqa, kU32Max, 0x01020304U, 1, kU32Max,
                                                0x80000000U, 1, KvDType::f32, KvRopeState::not_applicable);
    const std::string e = canonical_encoding(s);
    BOOST_TEST(to_hex(e.substr(81)) ==
               "01000000"    // value
               "01000000"    // mqa
               "ffffffff"    // batch
               "04030201"    // layers, little-endian
               "01000000"    // kv_heads
               "ffffffff"    // query_heads
               "00000080"    // tokens
               "01000000"    // head_dim
               "02000000"    // f32
               "02000000");  // not_applicable
}

BOOST_AUTO_TEST_CASE(no_validation_and_any_schema_version) {
    // canonical_encoding() encodes whatever the fields hold: other lengths, zero dims, codes outside the schema
    for (const std::string& version : {""s, "v"s, std::string(300, 'x'), "caf\xC3\xA9"s, "a\0b"s}) {
        KvTensorShapeV1 s{};
        s.schema_version = version;
        s.role = static_cast<KvRole>(9);
        s.dtype = static_cast<KvDType>(255);
        const std::string e = canonical_encoding(s);
        BOOST_TEST_CONTEXT("schema_version of " << version.size() << " bytes") {
            BOOST_TEST(e.size() == 45U + 8U + version.size() + 40U);
            BOOST_TEST(to_hex(e) == to_hex(encode_by_spec(s)));
            BOOST_TEST(to_hex(e.substr(53 + version.size(), 4)) == "09000000");
            BOOST_TEST(to_hex(e.substr(53 + version.size() + 32, 4)) == "ff000000");
        }
    }
    const std::string long_version(0x0102, 'v');
    KvTensorShapeV1 s = base();
    s.schema_version = long_version;
    BOOST_TEST(to_hex(canonical_encoding(s).substr(45, 8)) == "0201000000000000");
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== properties
BOOST_AUTO_TEST_SUITE(digest_properties)

BOOST_AUTO_TEST_CASE(same_descriptor_same_digest_from_every_wire_form) {
    const std::string expected = digest(base())->hex();
    const std::string forms[] = {
        kBaseJson,
        R"({"rope_state":"pre_rope","dtype":"bf16","head_dim":128,"tokens":8192,"query_heads":16,"kv_heads":4,)"
        R"("layers":24,"batch":2,"attention_kind":"gqa","role":"key","schema_version":"fib_quant_kv_tensor_shape_v1"})",
        " {\n\t\"schema_version\" : \"fib_quant_kv_tensor_shape_v1\" ,\r\n \"role\" : \"key\", \"attention_kind\":"
        " \"gqa\", \"batch\" : 2, \"layers\" : 24, \"kv_heads\" : 4, \"query_heads\" : 16, \"tokens\" : 8192,"
        " \"head_dim\" : 128, \"dtype\" : \"bf16\", \"rope_state\" : \"pre_rope\" }\n",
        R"(["fib_quant_kv_tensor_shape_v1","key","gqa",2,24,4,16,8192,128,"bf16","pre_rope"])",
        R"(["fib_quant_kv_tensor_shape_v1",{"key":null},{"gqa":null},2,24,4,16,8192,128,{"bf16":null},)"
        R"({ "pre_rope" : null }])",
        R"({"schema_version":"fib\u005fquant_kv_tensor_shape_v1","r\u006fle":{"\u006bey":null},"x":[1,{"batch":0}],)"
        R"("attention_kind":"gqa","batch":2,"layers":24,"kv_heads":4,"query_heads":16,"tokens":8192,)"
        R"("head_dim":128,"dtype":"bf16","rope_state":"pre_rope","comment":"ignored"})",
    };
    for (const std::string& json : forms) {
        BOOST_TEST_CONTEXT("input " << json) {
            const Result<KvTensorShapeV1> s = parse_kv_tensor_shape_v1_json(json);
            BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? std::string() : s.error().describe()));
            BOOST_TEST(to_hex(canonical_encoding(*s)) == to_hex(canonical_encoding(base())));
            const Result<Digest> d = digest(*s);
            BOOST_TEST_REQUIRE(d.ok());
            BOOST_TEST(d->hex() == expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_single_field_change_changes_the_digest) {
    struct Change {
        const char* field;
        std::size_t offset;  ///< where in the 121-byte encoding the field lives (docs/digest.md's layout)
        std::size_t size;
        bool stays_valid;
        void (*apply)(KvTensorShapeV1&);
    };
    const Change changes[] = {
        {"schema_version", 53, 28, false, [](KvTensorShapeV1& s) { s.schema_version[27] = '2'; }},
        {"role", 81, 4, false, [](KvTensorShapeV1& s) { s.role = KvRole::value; }},
        {"attention_kind", 85, 4, true, [](KvTensorShapeV1& s) { s.attention_kind = KvAttentionKind::mqa; }},
        {"batch", 89, 4, true, [](KvTensorShapeV1& s) { s.batch = 3; }},
        {"layers", 93, 4, true, [](KvTensorShapeV1& s) { s.layers = 25; }},
        {"kv_heads", 97, 4, true, [](KvTensorShapeV1& s) { s.kv_heads = 8; }},
        {"query_heads", 101, 4, true, [](KvTensorShapeV1& s) { s.query_heads = 32; }},
        {"tokens", 105, 4, true, [](KvTensorShapeV1& s) { s.tokens = 8193; }},
        {"head_dim", 109, 4, true, [](KvTensorShapeV1& s) { s.head_dim = 129; }},
        {"dtype", 113, 4, true, [](KvTensorShapeV1& s) { s.dtype = KvDType::f16; }},
        {"rope_state", 117, 4, true, [](KvTensorShapeV1& s) { s.rope_state = KvRopeState::post_rope; }},
    };
    const std::string base_encoding = canonical_encoding(base());
    const Digest base_digest = digest(base()).value();
    std::set<std::string> seen{base_digest.hex()};
    for (const Change& c : changes) {
        KvTensorShapeV1 s = base();
        if (std::string_view(c.field) == "attention_kind") s.kv_heads = 1;  // MQA needs one KV head
        const std::string before = canonical_encoding(s);
        c.apply(s);
        const std::string after = canonical_encoding(s);
        BOOST_TEST_CONTEXT("field " << c.field) {
            BOOST_TEST_REQUIRE(after.size() == 121U);
            // only the field's own bytes differ
            BOOST_TEST(before.substr(0, c.offset) == after.substr(0, c.offset));
            BOOST_TEST(before.substr(c.offset, c.size) != after.substr(c.offset, c.size));
            BOOST_TEST(before.substr(c.offset + c.size) == after.substr(c.offset + c.size));
            const Digest changed = digest_bytes(after);
            BOOST_TEST(!(changed == digest_bytes(before)));
            BOOST_TEST(seen.insert(changed.hex()).second);
            BOOST_TEST(validate(s).ok() == c.stays_valid);
            if (c.stays_valid) {
                const Result<Digest> d = digest(s);
                BOOST_TEST_REQUIRE(d.ok());
                BOOST_TEST(*d == changed);
                BOOST_TEST(!(*d == base_digest));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(invalid_descriptor_gives_validates_first_error) {
    std::vector<KvTensorShapeV1> invalid;
    KvTensorShapeV1 s = base();
    s.batch = 0;
    invalid.push_back(s);
    s = base();
    s.schema_version = "fib_quant_kv_tensor_shape_v0";
    s.tokens = 0;
    invalid.push_back(s);
    s = base();
    s.query_heads = 6;
    invalid.push_back(s);
    s = base();
    s.rope_state = KvRopeState::not_applicable;
    invalid.push_back(s);
    s = base();
    s.batch = s.layers = s.tokens = kU32Max;
    invalid.push_back(s);
    s = base();
    s.role = static_cast<KvRole>(2);
    invalid.push_back(s);
    invalid.push_back(KvTensorShapeV1{});
    for (const KvTensorShapeV1& shape : invalid) {
        BOOST_TEST_CONTEXT("shape " << to_json(shape)) {
            const Result<Digest> d = digest(shape);
            BOOST_TEST_REQUIRE(!d.ok());
            const Status st = validate(shape);
            BOOST_TEST_REQUIRE(!st.ok());
            CHECK_SAME_ERROR(d.error(), st.error());
        }
    }
    s = base();
    s.batch = s.layers = s.tokens = kU32Max;
    CHECK_ERROR(digest(s).error(), ErrorKind::resource_limit_exceeded, "size_overflow",
                "batch,layers,kv_heads,tokens,head_dim", "kv shape size overflow");
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== Digest
BOOST_AUTO_TEST_SUITE(digest_hex)

BOOST_AUTO_TEST_CASE(hex_form) {
    BOOST_TEST(Digest{}.hex() == std::string(32, '0'));
    Digest d;
    for (std::size_t i = 0; i < 16; ++i) d.bytes[i] = static_cast<std::uint8_t>(i * 17);
    BOOST_TEST(d.hex() == "00112233445566778899aabbccddeeff");
    d.bytes[0] = 0xA5;
    d.bytes[15] = 0x0F;
    BOOST_TEST(d.hex() == "a5112233445566778899aabbccddee0f");
}

BOOST_AUTO_TEST_CASE(from_hex_round_trip) {
    const std::string text = "0123456789abcdeffedcba9876543210";
    const std::optional<Digest> d = Digest::from_hex(text);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST(d->bytes[0] == 0x01U);
    BOOST_TEST(d->bytes[7] == 0xEFU);
    BOOST_TEST(d->bytes[8] == 0xFEU);
    BOOST_TEST(d->bytes[15] == 0x10U);
    BOOST_TEST(d->hex() == text);
    // either case in, lower case out
    const std::optional<Digest> upper = Digest::from_hex("0123456789ABCDEFFEDCBA9876543210");
    BOOST_TEST_REQUIRE(upper.has_value());
    BOOST_TEST(*upper == *d);
    const std::optional<Digest> mixed = Digest::from_hex("0123456789aBcDeFfEdCbA9876543210");
    BOOST_TEST_REQUIRE(mixed.has_value());
    BOOST_TEST(mixed->hex() == text);
    const Digest computed = digest(base()).value();
    const std::optional<Digest> again = Digest::from_hex(computed.hex());
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(*again == computed);
    BOOST_TEST((Digest::from_hex(std::string(32, '0')) == Digest{}));
}

BOOST_AUTO_TEST_CASE(from_hex_rejects) {
    const std::string good = "0123456789abcdeffedcba9876543210";
    BOOST_TEST(!Digest::from_hex(good.substr(0, 31)).has_value());
    BOOST_TEST(!Digest::from_hex(good + "0").has_value());
    BOOST_TEST(!Digest::from_hex("").has_value());
    BOOST_TEST(!Digest::from_hex(good + good).has_value());
    BOOST_TEST(!Digest::from_hex(" " + good.substr(1)).has_value());
    BOOST_TEST(!Digest::from_hex("0x" + good.substr(2)).has_value());
    BOOST_TEST(!Digest::from_hex(good.substr(0, 31) + "\n").has_value());
    for (std::size_t at = 0; at < good.size(); ++at) {
        for (const char c : {'g', 'G', 'x', ' ', '-', ':', '\0', '\xC3'}) {
            std::string bad = good;
            bad[at] = c;
            BOOST_TEST_CONTEXT("char " << static_cast<int>(static_cast<unsigned char>(c)) << " at " << at) {
                BOOST_TEST(!Digest::from_hex(bad).has_value());
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
