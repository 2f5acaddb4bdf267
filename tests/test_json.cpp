// The JSON wire form: to_json byte for byte as serde_json::to_string, and parse_kv_tensor_shape_v1_json with
// serde's derived Deserialize rules (what it accepts, and what it rejects with which wire rule).
#define BOOST_TEST_MODULE json
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/json_decode.hpp"  // prescan(), the pre-pass the in-place parser relies on
#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace fib_quant_kv::test;
using namespace std::string_literals;

namespace {

// ---------------------------------------------------------------------------------------------- inputs
/// One `"name": value` member, the value as raw JSON text.
struct Member {
    std::string name;
    std::string value;
};
using Members = std::vector<Member>;

/// The members of the base descriptor, in declaration order.
Members base_members() {
    return {
        {"schema_version", R"("fib_quant_kv_tensor_shape_v1")"},
        {"role", R"("key")"},
        {"attention_kind", R"("gqa")"},
        {"batch", "1"},
        {"layers", "8"},
        {"kv_heads", "2"},
        {"query_heads", "24"},
        {"tokens", "134626"},
        {"head_dim", "64"},
        {"dtype", R"("f32")"},
        {"rope_state", R"("post_rope")"},
    };
}

/// The base descriptor as parsed.
KvTensorShapeV1 base_shape() {
    return make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::gqa, 1, 8, 2, 24, 134626, 64, KvDType::f32,
                                   KvRopeState::post_rope);
}

/// serde_json's compact form of the base descriptor.
const std::string kBaseJson =
    R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,"layers":8,)"
    R"("kv_heads":2,"query_heads":24,"tokens":134626,"head_dim":64,"dtype":"f32","rope_state":"post_rope"})";

/// The array form of the base descriptor.
const std::string kBaseArray = R"(["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,134626,64,"f32","post_rope"])";

/// An object of `members`, with `ws` around every token.
std::string object(const Members& members, std::string_view ws = "") {
    std::string out(ws);
    out.append("{");
    bool first = true;
    for (const Member& m : members) {
        out.append(ws);
        if (!first) out.append(",").append(ws);
        first = false;
        out.append("\"").append(m.name).append("\"").append(ws).append(":").append(ws).append(m.value);
    }
    out.append(ws).append("}").append(ws);
    return out;
}

/// The base object with one member's raw value replaced.
std::string with(std::string_view name, std::string_view value) {
    Members m = base_members();
    for (Member& member : m) {
        if (member.name == name) member.value = value;
    }
    return object(m);
}

/// The base object without one member.
std::string without(std::string_view name) {
    Members m;
    for (const Member& member : base_members()) {
        if (member.name != name) m.push_back(member);
    }
    return object(m);
}

/// The base object with extra members inserted before member `at`.
std::string with_extra(std::size_t at, const Members& extra) {
    Members m = base_members();
    m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), extra.begin(), extra.end());
    return object(m);
}

/// "1" and n - 1 zeros: an integer of n digits.
std::string digits_of(std::size_t n);

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out.append(s);
    return out;
}

// ---------------------------------------------------------------------------------------------- checks
/// parse_kv_tensor_shape_v1_json_in_place on a copy of `json` in a buffer of exactly its size (no NUL after it,
/// so AddressSanitizer catches a read past the end).
Result<KvTensorShapeV1> parse_in_place_copy(std::string_view json) {
    std::vector<char> bytes(json.begin(), json.end());
    return parse_kv_tensor_shape_v1_json_in_place(bytes);
}

/// The in-place parser agrees with the copying one: the same value, or the same Error (kind, rule, fields,
/// message, details, offset).
void check_in_place_agrees_at(std::string_view json, const Result<KvTensorShapeV1>& expected, const char* file,
                              int line) {
    const Result<KvTensorShapeV1> r = parse_in_place_copy(json);
    BOOST_TEST_CONTEXT("in place (checked at " << file << ":" << line << "): " << json.substr(0, 200)) {
        BOOST_TEST_REQUIRE(r.ok() == expected.ok());
        if (r.ok()) {
            BOOST_TEST(*r == *expected);
        } else {
            BOOST_TEST(r.error() == expected.error());
        }
    }
}
#define CHECK_IN_PLACE_AGREES(json) check_in_place_agrees_at((json), parse_kv_tensor_shape_v1_json(json), __FILE__, __LINE__)

KvTensorShapeV1 parse_ok_at(std::string_view json, const char* file, int line) {
    Result<KvTensorShapeV1> r = parse_kv_tensor_shape_v1_json(json);
    check_in_place_agrees_at(json, r, file, line);
    BOOST_TEST_REQUIRE(r.ok(), "parse failed (checked at " << file << ":" << line
                                                           << "): " << (r.ok() ? std::string() : r.error().describe()));
    return std::move(r).value();
}
std::string digits_of(std::size_t n) { return "1" + repeat("0", n - 1); }

#define PARSE_OK(json) parse_ok_at((json), __FILE__, __LINE__)

Error parse_error_at(std::string_view json, const char* file, int line) {
    Result<KvTensorShapeV1> r = parse_kv_tensor_shape_v1_json(json);
    check_in_place_agrees_at(json, r, file, line);
    BOOST_TEST_REQUIRE(!r.ok(), "parse accepted (checked at " << file << ":" << line << "): " << json.substr(0, 200));
    Error e = std::move(r).error();
    BOOST_TEST_CONTEXT("parse error checked at " << file << ":" << line << ": " << e.describe()) {
        BOOST_TEST(e.kind == ErrorKind::parse);
        BOOST_TEST(e.is_parse_error());
        BOOST_TEST(e.offset != Error::no_offset);
        BOOST_TEST(e.offset <= json.size());
        BOOST_TEST((e.details == ErrorDetails{}));
    }
    return e;
}
#define PARSE_ERROR(json) parse_error_at((json), __FILE__, __LINE__)

/// A rejection of the JSON text itself: json.syntax, no field, "invalid JSON: ..." unless the decoder's own.
void check_syntax_at(std::string_view json, const char* file, int line) {
    const Error e = parse_error_at(json, file, line);
    BOOST_TEST_CONTEXT("syntax error checked at " << file << ":" << line << ": " << e.describe()) {
        BOOST_TEST(std::string(e.rule) == "json.syntax");
        BOOST_TEST(e.fields.empty());
        BOOST_TEST(e.message.rfind("invalid JSON: ", 0) == 0U);
    }
}
#define CHECK_SYNTAX(json) check_syntax_at((json), __FILE__, __LINE__)

/// A rejection of one field: the rule, the field, and a message "field `name`: ...".
void check_field_error_at(std::string_view json, std::string_view rule, std::string_view field,
                          std::string_view message, const char* file, int line) {
    const Error e = parse_error_at(json, file, line);
    check_error_at(e, ErrorKind::parse, rule, field, message, file, line);
}
#define CHECK_FIELD_ERROR(json, rule, field, message) \
    check_field_error_at((json), (rule), (field), (message), __FILE__, __LINE__)

/// parse(to_json(s)) == s, and to_json is stable through the round trip.
void check_round_trip(const KvTensorShapeV1& s) {
    const std::string json = to_json(s);
    BOOST_TEST_CONTEXT("json " << json) {
        const KvTensorShapeV1 back = PARSE_OK(json);
        BOOST_TEST(back == s);
        BOOST_TEST(to_json(back) == json);
    }
}

/// Every control character, DEL and two non-ASCII characters, raw.
std::string all_special_bytes() {
    std::string s;
    for (int c = 0; c < 0x20; ++c) s.push_back(static_cast<char>(c));
    s.append("\x7f");
    s.append("\xC3\xA9");          // é
    s.append("\xF0\x9F\x98\x80");  // U+1F600
    s.append("\"\\/");
    return s;
}

/// all_special_bytes() as serde_json writes it, spelled out by hand.
const std::string kAllSpecialEscaped =
    R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
    R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f)"
    "\x7f\xC3\xA9\xF0\x9F\x98\x80"
    R"(\"\\/")";

/// The schema_version member's raw value replaced by `raw` (bytes between the quotes, unescaped).
std::string with_schema_bytes(std::string_view raw) { return with("schema_version", "\"" + std::string(raw) + "\""); }

}  // namespace

// ============================================================================================== to_json
BOOST_AUTO_TEST_SUITE(to_json_bytes)

BOOST_AUTO_TEST_CASE(compact_serde_form) {
    BOOST_TEST(to_json(base_shape()) == kBaseJson);
    BOOST_TEST(to_json(make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mqa, 1, 24, 1, 32, 128231, 276,
                                               KvDType::f16, KvRopeState::pre_rope)) ==
               R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"mqa","batch":1,)"
               R"("layers":24,"kv_heads":1,"query_heads":32,"tokens":128231,"head_dim":276,"dtype":"f16",)"
               R"("rope_state":"pre_rope"})");
    BOOST_TEST(to_json(make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::mha, 8, 60, 8, 8, 234909, 243,
                                               KvDType::bf16, KvRopeState::not_applicable)) ==
               R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"value","attention_kind":"mha","batch":8,)"
               R"("layers":60,"kv_heads":8,"query_heads":8,"tokens":234909,"head_dim":243,"dtype":"bf16",)"
               R"("rope_state":"not_applicable"})");
}

BOOST_AUTO_TEST_CASE(zero_and_u32_max_dims_no_validation) {
    const KvTensorShapeV1 s{.schema_version = "v0",
                            .role = KvRole::value,
                            .attention_kind = KvAttentionKind::gqa,
                            .batch = 0,
                            .layers = kU32Max,
                            .kv_heads = 0,
                            .query_heads = kU32Max,
                            .tokens = 1,
                            .head_dim = 10,
                            .dtype = KvDType::f32,
                            .rope_state = KvRopeState::pre_rope};
    BOOST_TEST(to_json(s) ==
               R"({"schema_version":"v0","role":"value","attention_kind":"gqa","batch":0,"layers":4294967295,)"
               R"("kv_heads":0,"query_heads":4294967295,"tokens":1,"head_dim":10,"dtype":"f32",)"
               R"("rope_state":"pre_rope"})");
}

BOOST_AUTO_TEST_CASE(append_json_appends) {
    std::string out = "prefix:";
    append_json(out, base_shape());
    BOOST_TEST(out == "prefix:" + kBaseJson);
    append_json(out, base_shape());
    BOOST_TEST(out == "prefix:" + kBaseJson + kBaseJson);
}

BOOST_AUTO_TEST_CASE(string_escaping) {
    KvTensorShapeV1 s = base_shape();
    const std::string tail = kBaseJson.substr(kBaseJson.find(",\"role\""));

    s.schema_version = R"(say "hi" \ back/slash)";
    BOOST_TEST(to_json(s) == R"({"schema_version":"say \"hi\" \\ back/slash")" + tail);

    s.schema_version = "\b\f\n\r\t";
    BOOST_TEST(to_json(s) == R"({"schema_version":"\b\f\n\r\t")" + tail);

    s.schema_version = "\x01\x0b\x1a\x1f"s + '\0';
    BOOST_TEST(to_json(s) == R"({"schema_version":"\u0001\u000b\u001a\u001f\u0000")" + tail);

    s.schema_version = "del\x7f";
    BOOST_TEST(to_json(s) == "{\"schema_version\":\"del\x7f\"" + tail);

    s.schema_version = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF";
    BOOST_TEST(to_json(s) == "{\"schema_version\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF\"" + tail);

    s.schema_version = all_special_bytes();
    BOOST_TEST(to_json(s) == R"({"schema_version":)" + kAllSpecialEscaped + tail);

    s.schema_version.clear();
    BOOST_TEST(to_json(s) == R"({"schema_version":"")" + tail);
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== round trips
BOOST_AUTO_TEST_SUITE(round_trip)

BOOST_AUTO_TEST_CASE(every_enum_value_combination) {
    std::size_t n = 0;
    for (const KvRole role : EnumTraits<KvRole>::values) {
        for (const KvAttentionKind kind : EnumTraits<KvAttentionKind>::values) {
            for (const KvDType dtype : EnumTraits<KvDType>::values) {
                for (const KvRopeState rope : EnumTraits<KvRopeState>::values) {
                    check_round_trip(make_kv_tensor_shape_v1(role, kind, 3, 5, 7, 11, 13, 17, dtype, rope));
                    ++n;
                }
            }
        }
    }
    BOOST_TEST(n == 54U);
}

BOOST_AUTO_TEST_CASE(boundary_dims) {
    check_round_trip(make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mha, 1, 1, 1, 1, 1, 1, KvDType::f16,
                                             KvRopeState::pre_rope));
    check_round_trip(make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::gqa, kU32Max, kU32Max, kU32Max, kU32Max,
                                             kU32Max, kU32Max, KvDType::f32, KvRopeState::not_applicable));
    check_round_trip(KvTensorShapeV1{});  // all zero
    check_round_trip(make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mqa, 0, kU32Max, 1, 4294967294U, 0, 10,
                                             KvDType::bf16, KvRopeState::post_rope));
}

BOOST_AUTO_TEST_CASE(schema_version_strings) {
    for (const std::string& version :
         {""s, "v0"s, all_special_bytes(), "\0"s, "a\0b"s, "\xF4\x8F\xBF\xBF"s, "a\"b\\c"s, repeat("x", 10000)}) {
        KvTensorShapeV1 s = base_shape();
        s.schema_version = version;
        check_round_trip(s);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== accepted
BOOST_AUTO_TEST_SUITE(parse_accepts)

BOOST_AUTO_TEST_CASE(the_compact_form) {
    BOOST_TEST(PARSE_OK(kBaseJson) == base_shape());
    BOOST_TEST(PARSE_OK(object(base_members())) == base_shape());
}

BOOST_AUTO_TEST_CASE(any_field_order) {
    Members m = base_members();
    std::reverse(m.begin(), m.end());
    BOOST_TEST(PARSE_OK(object(m)) == base_shape());
    std::rotate(m.begin(), m.begin() + 4, m.end());
    BOOST_TEST(PARSE_OK(object(m)) == base_shape());
}

BOOST_AUTO_TEST_CASE(whitespace_everywhere) {
    for (const std::string_view ws : {" ", "\t", "\n", "\r", " \t\n\r", "\r\n\r\n    "}) {
        BOOST_TEST_CONTEXT("whitespace of " << ws.size() << " bytes") {
            BOOST_TEST(PARSE_OK(object(base_members(), ws)) == base_shape());
            Members maps = base_members();
            maps[1].value = std::string("{")
                                .append(ws)
                                .append("\"key\"")
                                .append(ws)
                                .append(":")
                                .append(ws)
                                .append("null")
                                .append(ws)
                                .append("}");
            BOOST_TEST(PARSE_OK(object(maps, ws)) == base_shape());
        }
    }
    BOOST_TEST(PARSE_OK(" \t\n\r[ \"fib_quant_kv_tensor_shape_v1\" ,\n\"key\",\t\"gqa\" ,1 ,8,2,24,134626,64,"
                        "\"f32\"\r,\"post_rope\" ] \n") == base_shape());
}

BOOST_AUTO_TEST_CASE(unknown_fields_with_any_value) {
    for (const std::string& value : {"null"s,
                                     "true"s,
                                     "false"s,
                                     "0"s,
                                     "-1"s,
                                     "1.5e300"s,
                                     "-1.5e-300"s,
                                     "1E+2"s,
                                     "0.0"s,
                                     "-0"s,
                                     "18446744073709551616"s,
                                     "-18446744073709551617"s,
                                     "123456789012345678901234567890"s,
                                     "\"s\""s,
                                     "\"\""s,
                                     R"("\ud83d\ude00 \uD83D\uDE00 \u00e9 \/ \\ \" \b\f\n\r\t")"s,
                                     "[]"s,
                                     "{}"s,
                                     R"([1,[2,{"a":[],"b":{"c":null}}],"x",{"batch":0,"role":"nope"}])"s,
                                     R"({"batch":0,"batch":1,"role":{"key":null,"x":1},"dtype":12})"s}) {
        BOOST_TEST_CONTEXT("unknown value " << value) {
            BOOST_TEST(PARSE_OK(with_extra(0, {{"x", value}})) == base_shape());
            BOOST_TEST(PARSE_OK(with_extra(5, {{"comment", value}})) == base_shape());
            BOOST_TEST(PARSE_OK(with_extra(11, {{"_meta", value}})) == base_shape());
        }
    }
}

// serde skips unknown values without decoding them, so it accepts there what it rejects in a field it keeps:
// numbers beyond a double's range and lone high surrogate escapes. RapidJSON rejects both anywhere; the decoder
// bridges the difference (json_decode.hpp), and these pin both sides of it.
BOOST_AUTO_TEST_CASE(what_serde_skips_in_unknown_values) {
    const std::string digits400 = "1" + repeat("0", 399);
    for (const std::string& value : {"1e400"s, "-1e400"s, "1E+999"s, "0.5e309"s, "[1e400,-2e999,{\"a\":9e9999}]"s,
                                     digits400, "-" + digits400, digits400 + ".5e3"s,
                                     R"("\ud800")"s, R"("\uDBFF")"s, R"("a\ud800b")"s, R"("\ud800\u0041")"s,
                                     R"("\ud800\ud800")"s, R"("\udc00")"s, R"({"\ud800":1})"s,
                                     R"(["\ud800",{"k":"\udbff"}])"s, R"("\\ud800")"s}) {
        BOOST_TEST_CONTEXT("unknown value " << value) {
            BOOST_TEST(PARSE_OK(with_extra(0, {{"x", value}})) == base_shape());
            BOOST_TEST(PARSE_OK(with_extra(11, {{"_meta", value}})) == base_shape());
        }
    }
    // Several too-large numbers in one document, each bridged in turn.
    BOOST_TEST(PARSE_OK(with_extra(2, {{"a", "1e400"}, {"b", "-1e400"}, {"c", digits400}})) == base_shape());
}

BOOST_AUTO_TEST_CASE(what_serde_rejects_in_fields_it_keeps) {
    // A number beyond a double in a u32 field: a float to serde ("number out of range"); named as written.
    CHECK_FIELD_ERROR(with("batch", "1e400"), "json.invalid_type", "batch",
                      "field `batch`: invalid type: floating point `1e400`, expected u32");
    CHECK_FIELD_ERROR(with("tokens", "-1e400"), "json.invalid_type", "tokens",
                      "field `tokens`: invalid type: floating point `-1e400`, expected u32");
    CHECK_FIELD_ERROR(with("head_dim", digits_of(400)), "json.invalid_value", "head_dim",
                      "field `head_dim`: invalid value: integer `" + digits_of(400) + "`, expected u32");
    // A lone high surrogate in a kept string, an enum name or a top-level key.
    for (const std::string& v : {R"("\ud800")"s, R"("fib\ud800")"s, R"("\ud800\u0041")"s, R"("\udbff")"s}) {
        BOOST_TEST_CONTEXT("value " << v) {
            CHECK_FIELD_ERROR(with("schema_version", v), "json.syntax", "schema_version",
                              "field `schema_version`: lone surrogate in a \\u escape");
            CHECK_FIELD_ERROR(with("dtype", v), "json.syntax", "dtype", "field `dtype`: lone surrogate in a \\u escape");
        }
    }
    // ... and wherever else serde decodes a string, whatever type was expected there: the error is the surrogate,
    // and no message carries the decoded bytes, which are not UTF-8.
    for (const std::string& v : {R"("\udc00")"s, R"("x\ud800")"s}) {
        BOOST_TEST_CONTEXT("value " << v) {
            CHECK_FIELD_ERROR(with("batch", v), "json.syntax", "batch", "field `batch`: lone surrogate in a \\u escape");
            CHECK_FIELD_ERROR(with("role", "{\"key\":" + v + "}"), "json.syntax", "role",
                              "field `role`: lone surrogate in a \\u escape");
            CHECK_ERROR(PARSE_ERROR(v), ErrorKind::parse, "json.syntax", "", "lone surrogate in a \\u escape");
            CHECK_ERROR(PARSE_ERROR("[" + v + "]"), ErrorKind::parse, "json.syntax", "schema_version",
                        "field `schema_version`: lone surrogate in a \\u escape");
        }
    }
    const Error key = PARSE_ERROR(with_extra(0, {{"\\ud800", "1"}}));
    CHECK_ERROR(key, ErrorKind::parse, "json.syntax", "", "lone surrogate in a \\u escape of an object key");
    // The bridge keeps the grammar: what follows a too-large number is still checked.
    CHECK_SYNTAX(with_extra(0, {{"x", "1e400-5"}}));
    CHECK_SYNTAX(with_extra(0, {{"x", "1e400.5"}}));
    CHECK_SYNTAX(with_extra(0, {{"x", "01e400"}}));
}

BOOST_AUTO_TEST_CASE(unknown_names_are_case_sensitive_and_may_repeat) {
    // "Batch" is not "batch"; an unknown name twice is no duplicate
    BOOST_TEST(PARSE_OK(with_extra(3, {{"Batch", "0"}, {"x", "1"}, {"x", "2"}, {"BATCH", "\"y\""}})) == base_shape());
    // unknown keys may hold any valid string, including escapes and non-ASCII
    BOOST_TEST(PARSE_OK(with_extra(2, {{"\\ud83d\\ude00", "1"}, {"caf\xC3\xA9", "2"}, {"", "3"}, {"\\u0000", "4"}})) ==
               base_shape());
    // a known name with anything more, even an escaped NUL, is another name
    BOOST_TEST(PARSE_OK(with_extra(4, {{"batch\\u0000", "0"}, {"batch ", "0"}, {" batch", "0"}, {"batc", "0"}})) ==
               base_shape());
}

BOOST_AUTO_TEST_CASE(known_names_nested_in_unknown_values_do_not_count) {
    const KvTensorShapeV1 s = PARSE_OK(with_extra(4, {{"comment", R"({"batch":0,"layers":[],"role":"value"})"}}));
    BOOST_TEST(s == base_shape());
    BOOST_TEST(s.batch == 1U);
}

BOOST_AUTO_TEST_CASE(deep_nesting_inside_an_unknown_field) {
    constexpr std::size_t depth = 100000;
    const std::string arrays = repeat("[", depth) + repeat("]", depth);
    BOOST_TEST(PARSE_OK(with_extra(3, {{"deep", arrays}})) == base_shape());
    const std::string objects = repeat(R"({"a":)", depth) + "null" + repeat("}", depth);
    BOOST_TEST(PARSE_OK(with_extra(11, {{"deep", objects}})) == base_shape());
    const std::string mixed = repeat(R"([{"batch":)", depth) + "0" + repeat("}]", depth);
    BOOST_TEST(PARSE_OK(with_extra(0, {{"deep", mixed}})) == base_shape());
}

BOOST_AUTO_TEST_CASE(escaped_keys_and_strings) {
    Members m = base_members();
    m[0].name = "\\u0073chema_version";
    m[3].name = "b\\u0061tch";
    m[9].name = "\\u0064\\u0074\\u0079\\u0070\\u0065";
    BOOST_TEST(PARSE_OK(object(m)) == base_shape());

    BOOST_TEST(PARSE_OK(with("schema_version", R"("fib\u005fquant_kv_tensor_shape\u005Fv1")")) == base_shape());
    BOOST_TEST(PARSE_OK(with("role", R"("\u006b\u0065\u0079")")) == base_shape());
    BOOST_TEST(PARSE_OK(with("attention_kind", R"("g\u0071a")")) == base_shape());
    BOOST_TEST(PARSE_OK(with("rope_state", R"("post\u005Frope")")) == base_shape());
    BOOST_TEST(PARSE_OK(with("dtype", R"({"\u0066\u0033\u0032":null})")) == base_shape());
}

BOOST_AUTO_TEST_CASE(decoded_schema_version_strings) {
    BOOST_TEST(PARSE_OK(with("schema_version", R"("\ud83d\ude00")")).schema_version == "\xF0\x9F\x98\x80");
    BOOST_TEST(PARSE_OK(with("schema_version", R"("\uD83D\uDE00")")).schema_version == "\xF0\x9F\x98\x80");
    BOOST_TEST(PARSE_OK(with("schema_version", R"("\udbff\udfff")")).schema_version == "\xF4\x8F\xBF\xBF");
    BOOST_TEST(PARSE_OK(with("schema_version", R"("a\/b\\c\"d")")).schema_version == R"(a/b\c"d)");
    BOOST_TEST(PARSE_OK(with("schema_version", R"("\u0000")")).schema_version == "\0"s);
    BOOST_TEST(PARSE_OK(with("schema_version", R"("\b\f\n\r\t\u001F")")).schema_version == "\b\f\n\r\t\x1f");
    BOOST_TEST(PARSE_OK(with_schema_bytes("raw \x7f \xC3\xA9 \xEF\xBF\xBF \xF4\x8F\xBF\xBF")).schema_version ==
               "raw \x7f \xC3\xA9 \xEF\xBF\xBF \xF4\x8F\xBF\xBF");
    BOOST_TEST(PARSE_OK(object(base_members())).schema_version.size() == 28U);
}

BOOST_AUTO_TEST_CASE(the_array_form) {
    BOOST_TEST(PARSE_OK(kBaseArray) == base_shape());
    BOOST_TEST(PARSE_OK(R"(["fib_quant_kv_tensor_shape_v1",{"key":null},{ "gqa" : null },1,8,2,24,134626,64,)"
                        R"({"f32":null},{"post_rope":null}])") == base_shape());
    // the array form does not validate either
    BOOST_TEST(PARSE_OK(R"(["",  "value", "mha", 0, 0, 0, 0, 0, 0, "bf16", "pre_rope"])") ==
               (KvTensorShapeV1{.schema_version = "",
                                .role = KvRole::value,
                                .attention_kind = KvAttentionKind::mha,
                                .dtype = KvDType::bf16,
                                .rope_state = KvRopeState::pre_rope}));
}

BOOST_AUTO_TEST_CASE(enums_as_a_one_key_map) {
    const Members maps{
        {"role", R"({"value":null})"},
        {"attention_kind", R"({"mqa":null})"},
        {"dtype", "{ \"bf16\"\t:\nnull\r}"},
        {"rope_state", R"({"not_applicable":null})"},
    };
    Members m = base_members();
    for (Member& member : m) {
        for (const Member& map : maps) {
            if (member.name == map.name) member.value = map.value;
        }
    }
    const KvTensorShapeV1 s = PARSE_OK(object(m));
    BOOST_TEST(s.role == KvRole::value);
    BOOST_TEST(s.attention_kind == KvAttentionKind::mqa);
    BOOST_TEST(s.dtype == KvDType::bf16);
    BOOST_TEST(s.rope_state == KvRopeState::not_applicable);
}

BOOST_AUTO_TEST_CASE(every_enum_name_in_both_forms) {
    for (const std::string_view name : EnumTraits<KvRopeState>::wire_names) {
        const std::string quoted = "\"" + std::string(name) + "\"";
        BOOST_TEST(to_string(PARSE_OK(with("rope_state", quoted)).rope_state) == name);
        BOOST_TEST(to_string(PARSE_OK(with("rope_state", "{" + quoted + ":null}")).rope_state) == name);
    }
    for (const std::string_view name : EnumTraits<KvAttentionKind>::wire_names) {
        const std::string quoted = "\"" + std::string(name) + "\"";
        BOOST_TEST(to_string(PARSE_OK(with("attention_kind", quoted)).attention_kind) == name);
        BOOST_TEST(to_string(PARSE_OK(with("attention_kind", "{" + quoted + ":null}")).attention_kind) == name);
    }
    for (const std::string_view name : EnumTraits<KvDType>::wire_names) {
        const std::string quoted = "\"" + std::string(name) + "\"";
        BOOST_TEST(to_string(PARSE_OK(with("dtype", quoted)).dtype) == name);
        BOOST_TEST(to_string(PARSE_OK(with("dtype", "{" + quoted + ":null}")).dtype) == name);
    }
    BOOST_TEST(PARSE_OK(with("role", R"("value")")).role == KvRole::value);
    BOOST_TEST(PARSE_OK(with("role", R"({"value":null})")).role == KvRole::value);
}

BOOST_AUTO_TEST_CASE(integer_range_edges) {
    for (const char* field : {"batch", "layers", "kv_heads", "query_heads", "tokens", "head_dim"}) {
        BOOST_TEST_CONTEXT("field " << field) {
            const KvTensorShapeV1 max = PARSE_OK(with(field, "4294967295"));
            const KvTensorShapeV1 zero = PARSE_OK(with(field, "0"));
            const std::string name(field);
            const std::uint32_t KvTensorShapeV1::*member = name == "batch"         ? &KvTensorShapeV1::batch
                                                           : name == "layers"      ? &KvTensorShapeV1::layers
                                                           : name == "kv_heads"    ? &KvTensorShapeV1::kv_heads
                                                           : name == "query_heads" ? &KvTensorShapeV1::query_heads
                                                           : name == "tokens"      ? &KvTensorShapeV1::tokens
                                                                                   : &KvTensorShapeV1::head_dim;
            BOOST_TEST((max.*member) == kU32Max);
            BOOST_TEST((zero.*member) == 0U);
        }
    }
}

BOOST_AUTO_TEST_CASE(parse_does_not_validate) {
    const KvTensorShapeV1 zero_batch = PARSE_OK(with("batch", "0"));
    BOOST_TEST(zero_batch.batch == 0U);
    const Status st = validate(zero_batch);
    BOOST_TEST_REQUIRE(!st.ok());
    CHECK_ERROR(st.error(), ErrorKind::corrupt_payload, "batch.nonzero", "batch", "kv shape batch must be > 0");

    const KvTensorShapeV1 other_version = PARSE_OK(with("schema_version", R"("fib_quant_kv_tensor_shape_v2")"));
    BOOST_TEST(other_version.schema_version == "fib_quant_kv_tensor_shape_v2");
    BOOST_TEST(std::string(validate(other_version).error().rule) == "schema_version.matches");

    const KvTensorShapeV1 key_without_rope = PARSE_OK(with("rope_state", R"("not_applicable")"));
    BOOST_TEST(std::string(validate(key_without_rope).error().rule) == "key.rope_declared");

    const KvTensorShapeV1 huge = PARSE_OK(object({{"schema_version", R"("fib_quant_kv_tensor_shape_v1")"},
                                                  {"role", R"("key")"},
                                                  {"attention_kind", R"("mha")"},
                                                  {"batch", "4294967295"},
                                                  {"layers", "4294967295"},
                                                  {"kv_heads", "4294967295"},
                                                  {"query_heads", "4294967295"},
                                                  {"tokens", "4294967295"},
                                                  {"head_dim", "4294967295"},
                                                  {"dtype", R"("f16")"},
                                                  {"rope_state", R"("pre_rope")"}}));
    BOOST_TEST(std::string(validate(huge).error().rule) == "size_overflow");
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== rejected
BOOST_AUTO_TEST_SUITE(parse_rejects_fields)

BOOST_AUTO_TEST_CASE(duplicate_field_at_the_second_occurrence) {
    // equal values
    const std::string json = with_extra(11, {{"batch", "1"}});
    const Error e = PARSE_ERROR(json);
    CHECK_ERROR(e, ErrorKind::parse, "json.duplicate_field", "batch", "duplicate field `batch`");
    const std::size_t second = json.rfind("\"batch\"");
    BOOST_TEST(e.offset > json.find("\"batch\""));
    BOOST_TEST(e.offset >= second);
    BOOST_TEST(e.offset <= second + 8);

    // different values, another field, the duplicate before a missing field
    CHECK_FIELD_ERROR(with_extra(3, {{"role", R"("value")"}}), "json.duplicate_field", "role",
                      "duplicate field `role`");
    CHECK_FIELD_ERROR(with_extra(1, {{"schema_version", R"("fib_quant_kv_tensor_shape_v1")"}}), "json.duplicate_field",
                      "schema_version", "duplicate field `schema_version`");
    CHECK_FIELD_ERROR(R"({"tokens":1,"tokens":2})", "json.duplicate_field", "tokens",
                      "duplicate field `tokens`");
    // a duplicate spelled with an escape is still the same field
    CHECK_FIELD_ERROR(with_extra(11, {{"d\\u0074ype", R"("f16")"}}), "json.duplicate_field", "dtype",
                      "duplicate field `dtype`");
    // an invalid second value does not matter: the duplicate key comes first
    CHECK_FIELD_ERROR(with_extra(11, {{"head_dim", "-1"}}), "json.duplicate_field", "head_dim",
                      "duplicate field `head_dim`");
}

BOOST_AUTO_TEST_CASE(missing_field_first_in_declaration_order) {
    for (const Member& m : base_members()) {
        BOOST_TEST_CONTEXT("without " << m.name) {
            CHECK_FIELD_ERROR(without(m.name), "json.missing_field", m.name,
                              "missing field `" + m.name + "`");
        }
    }
    // several missing: the first in declaration order, whatever order the rest came in
    CHECK_FIELD_ERROR(R"({"rope_state":"pre_rope","tokens":1,"schema_version":"x","batch":1})", "json.missing_field",
                      "role", "missing field `role`");
    CHECK_FIELD_ERROR("{}", "json.missing_field", "schema_version",
                      "missing field `schema_version`");
    CHECK_FIELD_ERROR(" { \n } ", "json.missing_field", "schema_version",
                      "missing field `schema_version`");
    // a known name nested in an unknown value does not supply the field
    Members m = base_members();
    m[4] = {"comment", R"({"layers":8})"};
    CHECK_FIELD_ERROR(object(m), "json.missing_field", "layers", "missing field `layers`");
    // names are case-sensitive
    m[4] = {"Layers", "8"};
    CHECK_FIELD_ERROR(object(m), "json.missing_field", "layers", "missing field `layers`");
}

BOOST_AUTO_TEST_CASE(integers_only) {
    const std::pair<std::string, std::string> cases[] = {
        {"1.0", "invalid type: floating point `1.0`, expected u32"},
        {"1e3", "invalid type: floating point `1e3`, expected u32"},
        {"1E3", "invalid type: floating point `1E3`, expected u32"},
        {"1e0", "invalid type: floating point `1e0`, expected u32"},
        {"0.5", "invalid type: floating point `0.5`, expected u32"},
        {"-0", "invalid type: floating point `-0`, expected u32"},
        {"-0.0", "invalid type: floating point `-0.0`, expected u32"},
        {"4096.000", "invalid type: floating point `4096.000`, expected u32"},
        {R"("8")", R"(invalid type: string "8", expected u32)"},
        {"true", "invalid type: boolean `true`, expected u32"},
        {"false", "invalid type: boolean `false`, expected u32"},
        {"null", "invalid type: null, expected u32"},
        {"[]", "invalid type: sequence, expected u32"},
        {"[1]", "invalid type: sequence, expected u32"},
        {"{}", "invalid type: map, expected u32"},
    };
    for (const char* field : {"batch", "head_dim"}) {
        for (const auto& [value, message] : cases) {
            BOOST_TEST_CONTEXT(field << " = " << value) {
                CHECK_FIELD_ERROR(with(field, value), "json.invalid_type", field,
                                  "field `" + std::string(field) + "`: " + message);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(integers_in_range) {
    // Out of the field's range. (serde classes an integer beyond u64 as a float, "invalid type"; this library
    // reports every integer literal outside 0..=u32::MAX as an invalid value. Both reject it at the parse stage.)
    for (const std::string value : {"-1", "-4294967295", "4294967296", "9999999999", "18446744073709551615",
                                    "18446744073709551616", "123456789012345678901234567890"}) {
        BOOST_TEST_CONTEXT("tokens = " << value) {
            CHECK_FIELD_ERROR(with("tokens", value), "json.invalid_value", "tokens",
                              "field `tokens`: invalid value: integer `" + value + "`, expected u32");
        }
    }
}

BOOST_AUTO_TEST_CASE(strings_only_for_schema_version) {
    CHECK_FIELD_ERROR(with("schema_version", "1"), "json.invalid_type", "schema_version",
                      "field `schema_version`: invalid type: integer `1`, expected a string");
    CHECK_FIELD_ERROR(with("schema_version", "null"), "json.invalid_type", "schema_version",
                      "field `schema_version`: invalid type: null, expected a string");
    CHECK_FIELD_ERROR(with("schema_version", R"(["fib_quant_kv_tensor_shape_v1"])"), "json.invalid_type",
                      "schema_version", "field `schema_version`: invalid type: sequence, expected a string");
    CHECK_FIELD_ERROR(with("schema_version", "{}"), "json.invalid_type", "schema_version",
                      "field `schema_version`: invalid type: map, expected a string");
}

BOOST_AUTO_TEST_CASE(enum_names) {
    for (const std::string name : {"Key", "KEY", "key ", " key", "", "k", "keys", "mha", "pre_rope"}) {
        BOOST_TEST_CONTEXT("role \"" << name << "\"") {
            CHECK_FIELD_ERROR(with("role", "\"" + name + "\""), "json.unknown_variant", "role",
                              "field `role`: unknown variant \"" + name + "\", expected `key` or `value`");
            CHECK_FIELD_ERROR(with("role", "{\"" + name + "\":null}"), "json.unknown_variant", "role",
                              "field `role`: unknown variant \"" + name + "\", expected `key` or `value`");
        }
    }
    CHECK_FIELD_ERROR(with("attention_kind", R"("MHA")"), "json.unknown_variant", "attention_kind",
                      "field `attention_kind`: unknown variant \"MHA\", expected one of `mha`, `mqa`, `gqa`");
    CHECK_FIELD_ERROR(with("dtype", R"("fp8")"), "json.unknown_variant", "dtype",
                      "field `dtype`: unknown variant \"fp8\", expected one of `f16`, `bf16`, `f32`");
    CHECK_FIELD_ERROR(with("rope_state", R"("PreRope")"), "json.unknown_variant", "rope_state",
                      "field `rope_state`: unknown variant \"PreRope\", expected one of `pre_rope`, `post_rope`, "
                      "`not_applicable`");
    // the unknown name is shown as a JSON string: escaped
    CHECK_FIELD_ERROR(with("dtype", R"("a\"b\n")"), "json.unknown_variant", "dtype",
                      "field `dtype`: unknown variant \"a\\\"b\\n\", expected one of `f16`, `bf16`, `f32`");
}

BOOST_AUTO_TEST_CASE(enum_wrong_types) {
    CHECK_FIELD_ERROR(with("role", "0"), "json.invalid_type", "role",
                      "field `role`: invalid type: integer `0`, expected enum KvRole (a string)");
    CHECK_FIELD_ERROR(with("dtype", "2.0"), "json.invalid_type", "dtype",
                      "field `dtype`: invalid type: floating point `2.0`, expected enum KvDType (a string)");
    CHECK_FIELD_ERROR(with("rope_state", "null"), "json.invalid_type", "rope_state",
                      "field `rope_state`: invalid type: null, expected enum KvRopeState (a string)");
    CHECK_FIELD_ERROR(with("attention_kind", "true"), "json.invalid_type", "attention_kind",
                      "field `attention_kind`: invalid type: boolean `true`, expected enum KvAttentionKind (a string)");
    CHECK_FIELD_ERROR(with("role", R"(["key"])"), "json.invalid_type", "role",
                      "field `role`: invalid type: sequence, expected enum KvRole");
}

BOOST_AUTO_TEST_CASE(enum_map_form_errors) {
    CHECK_FIELD_ERROR(with("role", R"({"key":1})"), "json.invalid_type", "role",
                      "field `role`: invalid type: integer `1`, expected unit (null)");
    CHECK_FIELD_ERROR(with("role", R"({"key":"x"})"), "json.invalid_type", "role",
                      "field `role`: invalid type: string \"x\", expected unit (null)");
    CHECK_FIELD_ERROR(with("role", R"({"key":false})"), "json.invalid_type", "role",
                      "field `role`: invalid type: boolean `false`, expected unit (null)");
    CHECK_FIELD_ERROR(with("role", R"({"key":{}})"), "json.invalid_type", "role",
                      "field `role`: invalid type: map, expected unit (null)");
    CHECK_FIELD_ERROR(with("role", R"({"key":[]})"), "json.invalid_type", "role",
                      "field `role`: invalid type: sequence, expected unit (null)");
    for (const std::string extra :
         {R"({"key": null, "x": null})", R"({"key":null,"key":null})", R"({"key":null,"value":null})"}) {
        CHECK_FIELD_ERROR(with("role", extra), "json.invalid_type", "role",
                          "field `role`: invalid type: map with more than one key, expected enum {\"variant\": null}");
    }
    for (const std::string empty : {"{}", "{ }", "{\n}"}) {
        CHECK_FIELD_ERROR(with("dtype", empty), "json.invalid_type", "dtype",
                          "field `dtype`: invalid type: empty map, expected enum as a string or {\"variant\": null}");
    }
}

BOOST_AUTO_TEST_CASE(first_error_in_document_order) {
    // a bad value before a missing field and a later bad value: the first one met
    CHECK_FIELD_ERROR(R"({"batch":"x","layers":-1})", "json.invalid_type", "batch",
                      "field `batch`: invalid type: string \"x\", expected u32");
    Members m = base_members();
    m[9].value = R"("f64")";
    m[3].value = "1.5";
    CHECK_FIELD_ERROR(object(m), "json.invalid_type", "batch",
                      "field `batch`: invalid type: floating point `1.5`, expected u32");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parse_rejects_structure)

BOOST_AUTO_TEST_CASE(array_form_length) {
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,134626,64,"f32"])", "json.invalid_length",
                      "", "invalid length 10, expected struct KvTensorShapeV1 with 11 elements");
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,134626,64,"f32","post_rope",1])",
                      "json.invalid_length", "",
                      "invalid length: more than 11 elements, expected struct KvTensorShapeV1 with 11 elements");
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,134626,64,"f32","post_rope",[[]]])",
                      "json.invalid_length", "",
                      "invalid length: more than 11 elements, expected struct KvTensorShapeV1 with 11 elements");
    CHECK_FIELD_ERROR("[]", "json.invalid_length", "",
                      "invalid length 0, expected struct KvTensorShapeV1 with 11 elements");
    CHECK_FIELD_ERROR(" [ ] ", "json.invalid_length", "",
                      "invalid length 0, expected struct KvTensorShapeV1 with 11 elements");
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1"])", "json.invalid_length", "",
                      "invalid length 1, expected struct KvTensorShapeV1 with 11 elements");
}

BOOST_AUTO_TEST_CASE(array_form_element_types) {
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1",1,"gqa",1,8,2,24,134626,64,"f32","post_rope"])",
                      "json.invalid_type", "role",
                      "field `role`: invalid type: integer `1`, expected enum KvRole (a string)");
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,"134626",64,"f32","post_rope"])",
                      "json.invalid_type", "tokens", "field `tokens`: invalid type: string \"134626\", expected u32");
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,134626,64,"f32","Post_rope"])",
                      "json.unknown_variant", "rope_state",
                      "field `rope_state`: unknown variant \"Post_rope\", expected one of `pre_rope`, `post_rope`, "
                      "`not_applicable`");
    // the array form holds values only: a nested object where a number goes is a type error
    CHECK_FIELD_ERROR(R"(["fib_quant_kv_tensor_shape_v1","key","gqa",{"batch":1},8,2,24,134626,64,"f32","post_rope"])",
                      "json.invalid_type", "batch", "field `batch`: invalid type: map, expected u32");
}

BOOST_AUTO_TEST_CASE(top_level_not_a_struct) {
    const std::pair<std::string, std::string> cases[] = {
        {R"("fib_quant_kv_tensor_shape_v1")", R"(string "fib_quant_kv_tensor_shape_v1")"},
        {"3.5", "floating point `3.5`"},
        {"42", "integer `42`"},
        {"-7", "integer `-7`"},
        {"null", "null"},
        {"true", "boolean `true`"},
        {" false ", "boolean `false`"},
    };
    for (const auto& [json, what] : cases) {
        CHECK_FIELD_ERROR(json, "json.invalid_type", "",
                          "invalid type: " + what + ", expected struct KvTensorShapeV1 (a JSON object or array)");
    }
}

BOOST_AUTO_TEST_CASE(trailing_characters) {
    for (const std::string& tail : {" x"s, "{}"s, "[]"s, ","s, "}"s, "]"s, " 1"s, "\"\""s, " null"s}) {
        const std::string json = kBaseJson + tail;
        BOOST_TEST_CONTEXT("tail " << tail) {
            CHECK_SYNTAX(json);
            const std::size_t at = json.find_first_not_of(' ', kBaseJson.size());
            BOOST_TEST(PARSE_ERROR(json).offset == at);
        }
    }
    CHECK_SYNTAX(kBaseArray + " []");
    CHECK_SYNTAX(kBaseJson + kBaseJson);
    const Error e = PARSE_ERROR(kBaseJson + " x");
    BOOST_TEST(e.message == "invalid JSON: The document root must not be followed by other values.");
}

BOOST_AUTO_TEST_CASE(trailing_commas) {
    CHECK_SYNTAX(kBaseJson.substr(0, kBaseJson.size() - 1) + ",}");
    CHECK_SYNTAX(kBaseArray.substr(0, kBaseArray.size() - 1) + ",]");
    CHECK_SYNTAX(with_extra(0, {{"x", "[1,]"}}));
    CHECK_SYNTAX(with_extra(0, {{"x", R"({"a":1,})"}}));
    CHECK_SYNTAX(with("role", R"({"key":null,})"));
    CHECK_SYNTAX("{,}");
    CHECK_SYNTAX(R"({"batch":1,,"layers":2})");
}

BOOST_AUTO_TEST_CASE(comments_and_single_quotes) {
    CHECK_SYNTAX("/* c */" + kBaseJson);
    CHECK_SYNTAX("// c\n" + kBaseJson);
    CHECK_SYNTAX(kBaseJson + " // c");
    CHECK_SYNTAX(kBaseJson + "/**/");
    CHECK_SYNTAX(with_extra(0, {{"x", "1 /* c */"}}));
    CHECK_SYNTAX(R"({'schema_version':"fib_quant_kv_tensor_shape_v1"})");
    CHECK_SYNTAX(with("role", "'key'"));
    CHECK_SYNTAX(with_extra(0, {{"x", "'y'"}}));
}

BOOST_AUTO_TEST_CASE(not_json_numbers_and_literals) {
    for (const std::string value : {"01", "+1", ".5", "1.", "1e", "1e+", "-", "0x10", "NaN", "Infinity", "-Infinity",
                                    "1_000", "tru", "nul", "True", "NULL", "undefined", "key"}) {
        BOOST_TEST_CONTEXT("value " << value) {
            CHECK_SYNTAX(with("batch", value));
            CHECK_SYNTAX(with_extra(2, {{"x", value}}));
        }
    }
}

BOOST_AUTO_TEST_CASE(nul_byte_anywhere) {
    const std::string json = kBaseJson;
    for (const std::size_t at :
         {std::size_t{0}, std::size_t{1}, std::size_t{5}, json.find("key"), json.size() - 1, json.size()}) {
        std::string bad = json;
        bad.insert(at, 1, '\0');
        BOOST_TEST_CONTEXT("NUL at " << at) {
            const Error e = PARSE_ERROR(bad);
            CHECK_ERROR(e, ErrorKind::parse, "json.syntax", "", "invalid JSON: NUL byte in the input");
            BOOST_TEST(e.offset == at);
        }
    }
    CHECK_SYNTAX(std::string_view("\0", 1));
    // escaped, a NUL is an ordinary character of the string
    BOOST_TEST(PARSE_OK(with("schema_version", R"("\u0000")")).schema_version == std::string(1, '\0'));
}

BOOST_AUTO_TEST_CASE(invalid_utf8) {
    for (const std::string& bytes : {"\xff"s, "\xfe"s, "\x80"s, "\xbf"s, "\xc0\x80"s, "\xc1\xbf"s, "\xe0\x80\xaf"s,
                                     "\xf0\x80\x80\xaf"s, "\xed\xa0\x80"s, "\xed\xbf\xbf"s, "\xf4\x90\x80\x80"s,
                                     "\xf5\x80\x80\x80"s, "\xf8\x88\x80\x80\x80"s, "\xc3"s, "\xe2\x82"s, "a\xc3(b"s}) {
        BOOST_TEST_CONTEXT("bytes " << to_hex(bytes)) {
            CHECK_SYNTAX(with_schema_bytes(bytes));
            CHECK_SYNTAX(with_schema_bytes("fib" + bytes + "quant"));
            CHECK_SYNTAX(with_extra(0, {{"x", "\"" + bytes + "\""}}));
            CHECK_SYNTAX(with_extra(5, {{"k" + bytes, "1"}}));
            CHECK_SYNTAX(with("role", "\"key" + bytes + "\""));
            CHECK_SYNTAX(bytes + kBaseJson);
        }
    }
}

BOOST_AUTO_TEST_CASE(utf8_bom) {
    const Error e = PARSE_ERROR("\xEF\xBB\xBF" + kBaseJson);
    BOOST_TEST(std::string(e.rule) == "json.syntax");
    BOOST_TEST(e.offset == 0U);
    CHECK_SYNTAX("\xEF\xBB\xBF" + kBaseArray);
}

BOOST_AUTO_TEST_CASE(lone_surrogate_escapes) {
    for (const std::string escape : {R"(\ud800)", R"(\udbff)", R"(\udc00)", R"(\uDFFF)", R"(\ud800x)",
                                     R"(\ud800\u0041)", R"(\udc00\ud800)", R"(\ud800\ud800)"}) {
        BOOST_TEST_CONTEXT("escape " << escape) {
            // in a decoded string and in a top-level key: rejected as not valid Unicode text
            const Error in_value = PARSE_ERROR(with("schema_version", "\"" + escape + "\""));
            BOOST_TEST(std::string(in_value.rule) == "json.syntax");
            const Error in_key = PARSE_ERROR(with_extra(3, {{escape, "1"}}));
            BOOST_TEST(std::string(in_key.rule) == "json.syntax");
            BOOST_TEST(in_key.fields.empty());
            const Error in_enum = PARSE_ERROR(with("role", "\"" + escape + "\""));
            BOOST_TEST(std::string(in_enum.rule) == "json.syntax");
        }
    }
    // the decoder's own check (the low half): it names the field it was decoding
    CHECK_FIELD_ERROR(with("schema_version", R"("fib\udc00")"), "json.syntax", "schema_version",
                      "field `schema_version`: lone surrogate in a \\u escape");
    CHECK_FIELD_ERROR(with("dtype", R"({"\udfff":null})"), "json.syntax", "dtype",
                      "field `dtype`: lone surrogate in a \\u escape");
    CHECK_FIELD_ERROR(with_extra(0, {{R"(b\udc00atch)", "1"}}), "json.syntax", "",
                      "lone surrogate in a \\u escape of an object key");
}

BOOST_AUTO_TEST_CASE(raw_control_characters_in_strings) {
    for (const char c : {'\x01', '\x08', '\t', '\n', '\r', '\x1b', '\x1f'}) {
        const std::string raw(1, c);
        BOOST_TEST_CONTEXT("byte " << to_hex(raw)) {
            CHECK_SYNTAX(with_schema_bytes("a" + raw + "b"));
            CHECK_SYNTAX(with_extra(0, {{"x", "\"" + raw + "\""}}));
            CHECK_SYNTAX(with_extra(0, {{"k" + raw, "1"}}));
            CHECK_SYNTAX(with("role", "\"" + raw + "key\""));
        }
    }
}

BOOST_AUTO_TEST_CASE(invalid_escapes) {
    for (const std::string escape :
         {R"(\x41)", R"(\a)", R"(\U0041)", R"(\u12)", R"(\u12G4)", R"(\')", R"(\ )", R"(\0)", R"(\e)", R"(\u-123)"}) {
        BOOST_TEST_CONTEXT("escape " << escape) {
            CHECK_SYNTAX(with("schema_version", "\"" + escape + "\""));
            CHECK_SYNTAX(with_extra(0, {{"x", "\"" + escape + "\""}}));
            CHECK_SYNTAX(with_extra(0, {{escape, "1"}}));
        }
    }
    CHECK_SYNTAX(R"({"schema_version":"\)");
}

BOOST_AUTO_TEST_CASE(empty_and_whitespace_only) {
    const Error empty = PARSE_ERROR("");
    CHECK_ERROR(empty, ErrorKind::parse, "json.syntax", "", "invalid JSON: The document is empty.");
    BOOST_TEST(empty.offset == 0U);
    // A default string_view has a null data pointer: still a typed error, never a null passed to the C library.
    const Error null_view = PARSE_ERROR(std::string_view{});
    CHECK_ERROR(null_view, ErrorKind::parse, "json.syntax", "", "invalid JSON: The document is empty.");
    for (const std::string ws : {" ", "\t", "\n", "\r", " \t\r\n "}) {
        const Error e = PARSE_ERROR(ws);
        CHECK_ERROR(e, ErrorKind::parse, "json.syntax", "", "invalid JSON: The document is empty.");
        BOOST_TEST(e.offset == ws.size());
    }
}

BOOST_AUTO_TEST_CASE(only_json_whitespace) {
    for (const std::string& ws : {"\f"s, "\v"s, "\xC2\xA0"s, "\xE2\x80\xA8"s, "\xE3\x80\x80"s}) {
        BOOST_TEST_CONTEXT("whitespace " << to_hex(ws)) {
            CHECK_SYNTAX(ws + kBaseJson);
            CHECK_SYNTAX(kBaseJson + ws);
            CHECK_SYNTAX(object(base_members(), ws));
        }
    }
}

BOOST_AUTO_TEST_CASE(every_truncation) {
    for (const std::string& json : {kBaseJson, kBaseArray, object(base_members(), " ")}) {
        std::string_view whole = json;
        while (!whole.empty() && whole.back() == ' ') whole.remove_suffix(1);
        for (std::size_t n = 0; n < whole.size(); ++n) {
            BOOST_TEST_CONTEXT("first " << n << " bytes of " << json) { CHECK_SYNTAX(whole.substr(0, n)); }
        }
    }
}

BOOST_AUTO_TEST_CASE(offsets_point_into_the_input) {
    // a field error is reported where the decoder stood: at or after the offending value
    const std::string json = with("tokens", "1.5");
    const Error e = PARSE_ERROR(json);
    BOOST_TEST(e.offset >= json.find("1.5"));
    BOOST_TEST(e.offset < json.size());
    // a syntax error at the offending byte
    const std::string bad = with_schema_bytes("fib\xff");
    BOOST_TEST(PARSE_ERROR(bad).offset <= bad.find('\xff') + 1);
    BOOST_TEST(PARSE_ERROR(bad).offset >= bad.find("\"fib"));
}

BOOST_AUTO_TEST_SUITE_END()

// ============================================================================================== in place
// parse_kv_tensor_shape_v1_json_in_place gives what parse_kv_tensor_shape_v1_json gives for every input; every
// PARSE_OK and PARSE_ERROR above checks that too. These add the inputs where the two paths differ inside.
BOOST_AUTO_TEST_SUITE(parse_in_place)

BOOST_AUTO_TEST_CASE(agrees_on_the_parity_corpus) {
    const std::string path = std::string(FIB_QUANT_KV_TEST_DATA) + "/../parity/data/corpus.jsonl";
    std::ifstream in(path, std::ios::binary);
    BOOST_TEST_REQUIRE(in.good(), "cannot open " << path);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        BOOST_TEST_CONTEXT("corpus line " << n + 1) { CHECK_IN_PLACE_AGREES(line); }
        ++n;
    }
    BOOST_TEST(n >= 1000U);
}

BOOST_AUTO_TEST_CASE(numbers_too_large_for_rapidjson) {
    // the unknown ones are bridged from a working copy, and the known ones quoted as written
    const std::string digits400 = digits_of(400);
    for (const std::string& value : {"1e400"s, "-1e400"s, "1E+999"s, "0.5e309"s, digits400, "-" + digits400,
                                     digits400 + ".5e3"s, "[1e400,-2e999,{\"a\":9e9999}]"s, "1e400-5"s, "01e400"s,
                                     "1e308"s, "1e-999"s, "1e+99"s, digits_of(299)}) {
        BOOST_TEST_CONTEXT("value " << value) {
            CHECK_IN_PLACE_AGREES(with_extra(0, {{"x", value}}));
            CHECK_IN_PLACE_AGREES(with_extra(11, {{"x", value}}));
            CHECK_IN_PLACE_AGREES(with("batch", value));
            CHECK_IN_PLACE_AGREES(with("head_dim", value));
            CHECK_IN_PLACE_AGREES("[" + value + "]");
            CHECK_IN_PLACE_AGREES(value);
        }
    }
    // a string that only looks like one, before and after a real one
    CHECK_IN_PLACE_AGREES(with_extra(0, {{"x", "\"e123 " + digits400 + "\""}, {"y", "1e400"}}));
    CHECK_IN_PLACE_AGREES(with_extra(0, {{"y", "1e400"}, {"x", "\"E+999\""}, {"z", "\"\\ud800\""}}));
    CHECK_IN_PLACE_AGREES(with_extra(0, {{"y", "-1e400"}}) + " x");
}

BOOST_AUTO_TEST_CASE(lone_surrogates_are_softened_in_the_callers_bytes) {
    for (const std::string& value : {R"("\ud800")"s, R"("\uDBFF")"s, R"("a\ud800b")"s, R"("\ud800\u0041")"s,
                                     R"("\ud800\ud800")"s, R"("\udc00")"s, R"("\\ud800")"s, R"("\ud800\udc00")"s,
                                     R"("\ud800)"s, R"("\ud8)"s, R"(\ud800)"s}) {
        BOOST_TEST_CONTEXT("value " << value) {
            CHECK_IN_PLACE_AGREES(with_extra(0, {{"x", value}}));
            CHECK_IN_PLACE_AGREES(with_extra(0, {{value.substr(1, value.size() > 2 ? value.size() - 2 : 0), "1"}}));
            CHECK_IN_PLACE_AGREES(with("schema_version", value));
            CHECK_IN_PLACE_AGREES(with("role", value));
            CHECK_IN_PLACE_AGREES(value);
        }
    }
}

BOOST_AUTO_TEST_CASE(no_terminator_and_empty_spans) {
    // a buffer of exactly the document, no NUL after it: the end of the span is the end of the text
    std::vector<char> exact(kBaseJson.begin(), kBaseJson.end());
    const Result<KvTensorShapeV1> r = parse_kv_tensor_shape_v1_json_in_place(exact);
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(*r == base_shape());
    // a span that stops inside a larger buffer: what follows it is not read
    std::string larger = kBaseJson + "} trailing garbage";
    const Result<KvTensorShapeV1> inner =
        parse_kv_tensor_shape_v1_json_in_place(std::span<char>(larger.data(), kBaseJson.size()));
    BOOST_TEST_REQUIRE(inner.ok());
    BOOST_TEST(*inner == base_shape());
    BOOST_TEST(larger.substr(kBaseJson.size()) == "} trailing garbage");
    // every truncation, each in a buffer of its own size
    for (std::size_t n = 0; n < kBaseJson.size(); ++n) CHECK_IN_PLACE_AGREES(std::string_view(kBaseJson).substr(0, n));
    // empty: a null span and a zero-length one
    const Result<KvTensorShapeV1> null_span = parse_kv_tensor_shape_v1_json_in_place({});
    BOOST_TEST_REQUIRE(!null_span.ok());
    BOOST_TEST(null_span.error() == parse_kv_tensor_shape_v1_json("").error());
    char one = '{';
    const Result<KvTensorShapeV1> zero = parse_kv_tensor_shape_v1_json_in_place(std::span<char>(&one, 0));
    BOOST_TEST_REQUIRE(!zero.ok());
    BOOST_TEST(zero.error() == parse_kv_tensor_shape_v1_json("").error());
}

BOOST_AUTO_TEST_CASE(nul_and_utf8_errors_at_every_alignment) {
    // the pre-pass looks at eight bytes at a time: put each kind of byte at each position of a word
    const std::string base = with_extra(0, {{"x", "\"" + repeat("a", 40) + "\""}});
    const std::size_t at = base.find("aaaa");
    for (std::size_t k = 0; k < 16; ++k) {
        for (const std::string& bytes : {"\0"s, "\xff"s, "\xc3"s, "\xed\xa0\x80"s, "\xc3\xa9"s, "\\"s, "7"s,
                                         "\xff\0"s, "\xf0\x9f\x98\x80"s}) {
            std::string s = base;
            s.replace(at + k, bytes.size(), bytes);
            BOOST_TEST_CONTEXT("bytes " << to_hex(bytes) << " at " << at + k) { CHECK_IN_PLACE_AGREES(s); }
        }
    }
    // NUL wins wherever it stands, even after a byte that is not UTF-8
    std::string both = base;
    both[at + 3] = '\xff';
    both[at + 30] = '\0';
    const Error e = PARSE_ERROR(both);
    CHECK_ERROR(e, ErrorKind::parse, "json.syntax", "", "invalid JSON: NUL byte in the input");
    BOOST_TEST(e.offset == at + 30);
}

BOOST_AUTO_TEST_CASE(the_pre_pass) {
    using detail::json::prescan;
    BOOST_TEST(!prescan("").maybe_huge_number);
    BOOST_TEST(!prescan(kBaseJson).maybe_huge_number);
    BOOST_TEST(!prescan(kBaseJson).backslash);
    BOOST_TEST(prescan(R"({"a":"\n"})").backslash);
    for (std::size_t pad = 0; pad < 9; ++pad) {
        const std::string p(pad, ' ');
        BOOST_TEST_CONTEXT("padding " << pad) {
            BOOST_TEST(prescan(p + "1e400").maybe_huge_number);
            BOOST_TEST(prescan(p + "1E+400").maybe_huge_number);
            BOOST_TEST(prescan(p + "1e0400").maybe_huge_number);
            BOOST_TEST(!prescan(p + "1e-400").maybe_huge_number);
            BOOST_TEST(!prescan(p + "1e40").maybe_huge_number);
            BOOST_TEST(!prescan(p + "e+40 400").maybe_huge_number);
            BOOST_TEST(prescan(p + digits_of(detail::json::kHugeDigitRun)).maybe_huge_number);
            BOOST_TEST(!prescan(p + digits_of(detail::json::kHugeDigitRun - 1) + " 1").maybe_huge_number);
            BOOST_TEST(prescan(p + "\0"s + "\xff").nul == pad);
            BOOST_TEST(prescan(p + "\xff" + "\0"s).nul == pad + 1);
            BOOST_TEST(prescan(p + "\xff" + "\0"s).bad_utf8 == pad);
            BOOST_TEST(prescan(p + "\xc3\xa9\xff").bad_utf8 == pad + 2);
        }
    }
    // a number RapidJSON finds too large is always announced (309 integer digits; an exponent above 308)
    BOOST_TEST(detail::json::kHugeDigitRun <= 309U);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------- the fast path
// parse_kv_tensor_shape_v1_json() reads the canonical compact form with a fast path and hands anything else to
// the general reader. Each way of leaving the fast path is here: the fast path must decline the input, and the
// public parse must then answer exactly what the general reader answers (value or Error, offset included).
BOOST_AUTO_TEST_SUITE(fast_path)

namespace {

/// The public answer equals the general reader's, whichever path gave it.
void check_same_answer(const std::string& text) {
    const Result<KvTensorShapeV1> got = parse_kv_tensor_shape_v1_json(text);
    const Result<KvTensorShapeV1> general = detail::parse_kv_tensor_shape_v1_json_general(text);
    BOOST_TEST_REQUIRE(got.ok() == general.ok(), text);
    if (got.ok()) {
        BOOST_TEST(*got == *general, text);
    } else {
        BOOST_TEST(got.error() == general.error(), text);
    }
}

bool fast_path_takes(const std::string& text) { return detail::parse_kv_tensor_shape_v1_json_canonical(text).has_value(); }

/// `text` with its first `from` replaced by `to`.
std::string with(std::string text, std::string_view from, std::string_view to) {
    const std::size_t at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, from);
    return text.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_CASE(takes_what_to_json_writes) {
    for (const KvTensorShapeV1& s : {base_shape(), mha_key(), mqa_key(), gqa_value()}) {
        const std::string text = to_json(s);
        const std::optional<KvTensorShapeV1> out = detail::parse_kv_tensor_shape_v1_json_canonical(text);
        BOOST_TEST_REQUIRE(out.has_value(), text);
        BOOST_TEST(*out == s);
        check_same_answer(text);
    }
    // Every enum value, zero and u32 max in every integer (parsing does not validate).
    for (const KvRole role : EnumTraits<KvRole>::values) {
        for (const KvDType dtype : EnumTraits<KvDType>::values) {
            for (const std::uint32_t n : {0U, 1U, 9U, 10U, kU32Max}) {
                const KvTensorShapeV1 s = make_kv_tensor_shape_v1(role, KvAttentionKind::mqa, n, n, n, n, n, n, dtype,
                                                                  KvRopeState::not_applicable);
                const std::string text = to_json(s);
                const std::optional<KvTensorShapeV1> out = detail::parse_kv_tensor_shape_v1_json_canonical(text);
                BOOST_TEST_REQUIRE(out.has_value(), text);
                BOOST_TEST(*out == s);
            }
        }
    }
    // A schema_version that is not the schema id but is plain ASCII: decoded as it stands.
    const std::string other = with(kBaseJson, "fib_quant_kv_tensor_shape_v1", " other ~!#$%&'()*+,-./ v2 ");
    BOOST_TEST(fast_path_takes(other));
    check_same_answer(other);
}

BOOST_AUTO_TEST_CASE(every_way_out_gives_the_general_answer) {
    const std::vector<std::string> ways_out = {
        // layout
        " " + kBaseJson,                                           // leading whitespace
        kBaseJson + " ",                                           // trailing whitespace
        kBaseJson + "\n",                                          // trailing newline
        with(kBaseJson, "\"role\":", "\"role\" :"),                // whitespace inside
        with(kBaseJson, ",\"layers\"", ", \"layers\""),            // whitespace after a comma
        [] {                                                       // fields in another order
            Members m = base_members();
            std::reverse(m.begin(), m.end());
            return object(m);
        }(),
        kBaseArray,                                                // the array form
        with(kBaseJson, "{", "{\"x\":1,"),                         // an unknown field first
        with(kBaseJson, "\"}", "\",\"x\":1}"),                     // an unknown field last
        with(kBaseJson, ",\"dtype\":\"f32\"", ""),                 // a field missing
        with(kBaseJson, "\"}", "\",\"dtype\":\"f32\"}"),           // a field twice
        kBaseJson + "}",                                           // trailing characters
        kBaseJson.substr(0, kBaseJson.size() - 1),                 // truncated
        // strings
        with(kBaseJson, "fib_quant", "fib\\u005fquant"),           // an escape
        with(kBaseJson, "fib_quant", "fib\\/quant"),               // an escape of '/'
        with(kBaseJson, "fib_quant", "fib\xc3\xa9quant"),          // non-ASCII UTF-8
        with(kBaseJson, "fib_quant", "fib\xff quant"),             // not UTF-8
        with(kBaseJson, "fib_quant", "fib\x7fquant"),              // DEL
        with(kBaseJson, "fib_quant", "fib\tquant"),                // a raw control character
        with(kBaseJson, "fib_quant", std::string("fib\0quant", 9)),  // a NUL byte
        with(kBaseJson, "\"fib_quant_kv_tensor_shape_v1\"", "null"),  // not a string
        // integers
        with(kBaseJson, "\"batch\":1", "\"batch\":01"),            // a leading zero
        with(kBaseJson, "\"batch\":1", "\"batch\":-1"),            // a sign
        with(kBaseJson, "\"batch\":1", "\"batch\":-0"),            // negative zero
        with(kBaseJson, "\"batch\":1", "\"batch\":1.0"),           // a fraction
        with(kBaseJson, "\"batch\":1", "\"batch\":1e0"),           // an exponent
        with(kBaseJson, "\"batch\":1", "\"batch\":4294967296"),    // past u32
        with(kBaseJson, "\"batch\":1", "\"batch\":18446744073709551616"),  // past u64
        with(kBaseJson, "\"batch\":1", "\"batch\":00000000000000000001"),  // 20 digits
        with(kBaseJson, "\"batch\":1", "\"batch\":\"1\""),         // a string
        with(kBaseJson, "\"batch\":1", "\"batch\":"),              // nothing
        // enums
        with(kBaseJson, "\"key\"", "\"Key\""),                     // not a wire name
        with(kBaseJson, "\"key\"", "\"ke\""),                      // a prefix of one
        with(kBaseJson, "\"key\"", "\"keys\""),                    // one as a prefix
        with(kBaseJson, "\"key\"", "{\"key\":null}"),              // the map form
        with(kBaseJson, "\"key\"", "\"k\\u0065y\""),               // an escape in a wire name
        with(kBaseJson, "\"f32\"", "2"),                           // a code
    };
    for (const std::string& text : ways_out) {
        BOOST_TEST(!fast_path_takes(text), text);
        check_same_answer(text);
    }
}

BOOST_AUTO_TEST_CASE(every_truncation_and_every_byte_flip) {
    const std::string text = kBaseJson;
    for (std::size_t n = 0; n <= text.size(); ++n) check_same_answer(text.substr(0, n));
    for (std::size_t i = 0; i < text.size(); ++i) {
        for (const char c : {'"', '\\', ' ', '0', '9', 'a', '{', '}', ',', ':', '\x01', '\x80'}) {
            std::string flipped = text;
            flipped[i] = c;
            check_same_answer(flipped);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
