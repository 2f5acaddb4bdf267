// The schema's enums as generated: wire names, numeric codes, EnumTraits tables, parse/from_code round trips,
// unknown names and out-of-range codes, KvDType::byte_size and the error kinds.
#define BOOST_TEST_MODULE enums
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace std::string_view_literals;

namespace {

/// What the schema says about each enum, written out literally (not read back from the generated tables),
/// plus the generated free functions that take the enum's own name.
template <class E>
struct Expected;

template <>
struct Expected<KvRole> {
    static constexpr std::string_view type_name = "KvRole";
    static constexpr std::array<std::string_view, 2> names{"key", "value"};
    static constexpr std::array<std::uint32_t, 2> codes{0, 1};
    static std::optional<KvRole> parse(std::string_view s) { return parse_kv_role(s); }
    static std::optional<KvRole> from_code(std::uint32_t c) { return kv_role_from_code(c); }
};

template <>
struct Expected<KvRopeState> {
    static constexpr std::string_view type_name = "KvRopeState";
    static constexpr std::array<std::string_view, 3> names{"pre_rope", "post_rope", "not_applicable"};
    static constexpr std::array<std::uint32_t, 3> codes{0, 1, 2};
    static std::optional<KvRopeState> parse(std::string_view s) { return parse_kv_rope_state(s); }
    static std::optional<KvRopeState> from_code(std::uint32_t c) { return kv_rope_state_from_code(c); }
};

template <>
struct Expected<KvAttentionKind> {
    static constexpr std::string_view type_name = "KvAttentionKind";
    static constexpr std::array<std::string_view, 3> names{"mha", "mqa", "gqa"};
    static constexpr std::array<std::uint32_t, 3> codes{0, 1, 2};
    static std::optional<KvAttentionKind> parse(std::string_view s) { return parse_kv_attention_kind(s); }
    static std::optional<KvAttentionKind> from_code(std::uint32_t c) { return kv_attention_kind_from_code(c); }
};

template <>
struct Expected<KvDType> {
    static constexpr std::string_view type_name = "KvDType";
    static constexpr std::array<std::string_view, 3> names{"f16", "bf16", "f32"};
    static constexpr std::array<std::uint32_t, 3> codes{0, 1, 2};
    static std::optional<KvDType> parse(std::string_view s) { return parse_kv_dtype(s); }
    static std::optional<KvDType> from_code(std::uint32_t c) { return kv_dtype_from_code(c); }
};

using AllEnums = std::tuple<KvRole, KvRopeState, KvAttentionKind, KvDType>;

template <class E>
constexpr std::uint32_t code_of(E v) {
    return static_cast<std::uint32_t>(static_cast<std::underlying_type_t<E>>(v));
}

/// The generated parse functions of every enum, to show a name of one enum is not a name of another.
bool parses_as_any_enum(std::string_view s) {
    return parse_kv_role(s).has_value() || parse_kv_rope_state(s).has_value() ||
           parse_kv_attention_kind(s).has_value() || parse_kv_dtype(s).has_value();
}

}  // namespace

// The generated functions are constexpr: the schema's facts hold at compile time too.
static_assert(to_string(KvRole::key) == "key");
static_assert(to_string(KvRopeState::not_applicable) == "not_applicable");
static_assert(parse_kv_attention_kind("gqa") == KvAttentionKind::gqa);
static_assert(kv_dtype_from_code(1) == KvDType::bf16);
static_assert(byte_size(KvDType::f32) == 4);
static_assert(!is_known(static_cast<KvRole>(2)));
static_assert(std::is_same_v<std::underlying_type_t<KvRole>, std::uint8_t>);
static_assert(std::is_same_v<std::underlying_type_t<ErrorKind>, std::uint8_t>);

BOOST_AUTO_TEST_SUITE(schema_enums)

BOOST_AUTO_TEST_CASE_TEMPLATE(traits_tables_match_the_schema, E, AllEnums) {
    using X = Expected<E>;
    BOOST_TEST(EnumTraits<E>::name == X::type_name);
    BOOST_TEST_REQUIRE(EnumTraits<E>::values.size() == X::names.size());
    BOOST_TEST_REQUIRE(EnumTraits<E>::wire_names.size() == X::names.size());
    for (std::size_t i = 0; i < X::names.size(); ++i) {
        BOOST_TEST_CONTEXT("value #" << i << " " << X::names[i]) {
            BOOST_TEST(EnumTraits<E>::wire_names[i] == X::names[i]);
            BOOST_TEST(code_of(EnumTraits<E>::values[i]) == X::codes[i]);
            BOOST_TEST(to_string(EnumTraits<E>::values[i]) == X::names[i]);
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_value_round_trips, E, AllEnums) {
    using X = Expected<E>;
    for (std::size_t i = 0; i < X::names.size(); ++i) {
        BOOST_TEST_CONTEXT("value " << X::names[i]) {
            const std::optional<E> by_name = X::parse(X::names[i]);
            BOOST_TEST_REQUIRE(by_name.has_value());
            BOOST_TEST(code_of(*by_name) == X::codes[i]);
            BOOST_TEST(is_known(*by_name));
            BOOST_TEST(to_string(*by_name) == X::names[i]);

            const std::optional<E> by_code = X::from_code(X::codes[i]);
            BOOST_TEST_REQUIRE(by_code.has_value());
            BOOST_TEST(*by_code == *by_name);
            BOOST_TEST((X::parse(to_string(*by_code)) == by_code));
            BOOST_TEST((X::from_code(code_of(*by_name)) == by_name));
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(names_and_codes_are_distinct, E, AllEnums) {
    std::set<std::string_view> names;
    std::set<std::uint32_t> codes;
    for (const E v : EnumTraits<E>::values) {
        names.insert(to_string(v));
        codes.insert(code_of(v));
    }
    BOOST_TEST(names.size() == EnumTraits<E>::values.size());
    BOOST_TEST(codes.size() == EnumTraits<E>::values.size());
    BOOST_TEST(names.count(""sv) == 0U);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(unknown_names_are_rejected, E, AllEnums) {
    using X = Expected<E>;
    for (const std::string_view s :
         {"Key"sv, "key "sv, " key"sv, ""sv, "KEY"sv, "ke"sv, "keys"sv, "\"key\""sv, "Value"sv, "MHA"sv, "F16"sv,
          "pre-rope"sv, "PreRope"sv, "not applicable"sv, "0"sv, "1"sv, "null"sv}) {
        BOOST_TEST_CONTEXT("name \"" << s << "\"") { BOOST_TEST(!X::parse(s).has_value()); }
    }
    for (const std::string_view name : X::names) {
        std::string upper(name);
        for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        const std::string padded_right = std::string(name) + " ";
        const std::string padded_left = " " + std::string(name);
        const std::string with_nul = std::string(name) + '\0';
        const std::string truncated(name.substr(0, name.size() - 1));
        for (const std::string& s : {upper, padded_right, padded_left, with_nul, truncated}) {
            BOOST_TEST_CONTEXT("near-name of " << name << " (" << s.size() << " bytes)") {
                BOOST_TEST(!X::parse(s).has_value());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a_name_of_one_enum_is_not_a_name_of_another) {
    BOOST_TEST(!parse_kv_role("mha").has_value());
    BOOST_TEST(!parse_kv_role("f16").has_value());
    BOOST_TEST(!parse_kv_attention_kind("key").has_value());
    BOOST_TEST(!parse_kv_dtype("pre_rope").has_value());
    BOOST_TEST(!parse_kv_rope_state("value").has_value());
    BOOST_TEST(!parses_as_any_enum("fp8"));
    BOOST_TEST(!parses_as_any_enum("f64"));
    BOOST_TEST(!parses_as_any_enum("none"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(out_of_range_codes_are_reported_not_indexed, E, AllEnums) {
    using X = Expected<E>;
    const auto count = static_cast<std::uint32_t>(X::names.size());
    for (const std::uint32_t code : {count, count + 1, 9U, 127U, 128U, 255U, 256U, 65535U, 0xFFFFFFFFU}) {
        BOOST_TEST_CONTEXT("code " << code) { BOOST_TEST(!X::from_code(code).has_value()); }
    }
    // A value outside the schema's codes, as a cast or a newer peer can produce: no name, not known.
    for (const unsigned raw : {static_cast<unsigned>(count), 9U, 200U, 255U}) {
        const auto v = static_cast<E>(static_cast<std::underlying_type_t<E>>(raw));
        BOOST_TEST_CONTEXT("raw value " << raw) {
            BOOST_TEST(to_string(v).empty());
            BOOST_TEST(!is_known(v));
        }
    }
}

BOOST_AUTO_TEST_CASE(enum_codes_are_the_schema_codes) {
    BOOST_TEST(code_of(KvRole::key) == 0U);
    BOOST_TEST(code_of(KvRole::value) == 1U);
    BOOST_TEST(code_of(KvRopeState::pre_rope) == 0U);
    BOOST_TEST(code_of(KvRopeState::post_rope) == 1U);
    BOOST_TEST(code_of(KvRopeState::not_applicable) == 2U);
    BOOST_TEST(code_of(KvAttentionKind::mha) == 0U);
    BOOST_TEST(code_of(KvAttentionKind::mqa) == 1U);
    BOOST_TEST(code_of(KvAttentionKind::gqa) == 2U);
    BOOST_TEST(code_of(KvDType::f16) == 0U);
    BOOST_TEST(code_of(KvDType::bf16) == 1U);
    BOOST_TEST(code_of(KvDType::f32) == 2U);
}

BOOST_AUTO_TEST_CASE(byte_size_per_dtype) {
    BOOST_TEST(byte_size(KvDType::f16) == 2U);
    BOOST_TEST(byte_size(KvDType::bf16) == 2U);
    BOOST_TEST(byte_size(KvDType::f32) == 4U);
    BOOST_TEST(byte_size(static_cast<KvDType>(3)) == 0U);
    BOOST_TEST(byte_size(static_cast<KvDType>(255)) == 0U);
}

BOOST_AUTO_TEST_CASE(value_initialised_enums_are_the_first_value) {
    BOOST_TEST(KvRole{} == KvRole::key);
    BOOST_TEST(KvRopeState{} == KvRopeState::pre_rope);
    BOOST_TEST(KvAttentionKind{} == KvAttentionKind::mha);
    BOOST_TEST(KvDType{} == KvDType::f16);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(error_kinds)

BOOST_AUTO_TEST_CASE(names_and_codes) {
    const std::array<std::tuple<ErrorKind, std::string_view, unsigned>, 7> kinds{{
        {ErrorKind::parse, "parse", 1},
        {ErrorKind::corrupt_payload, "corrupt_payload", 2},
        {ErrorKind::dimension_not_divisible, "dimension_not_divisible", 3},
        {ErrorKind::resource_limit_exceeded, "resource_limit_exceeded", 4},
        {ErrorKind::tensor_mismatch, "tensor_mismatch", 5},
        {ErrorKind::unsupported, "unsupported", 6},
        {ErrorKind::io, "io", 7},
    }};
    for (const auto& [kind, name, code] : kinds) {
        BOOST_TEST_CONTEXT("error kind " << name) {
            BOOST_TEST(to_string(kind) == name);
            BOOST_TEST(static_cast<unsigned>(kind) == code);
            const std::optional<ErrorKind> parsed = parse_error_kind(name);
            BOOST_TEST_REQUIRE(parsed.has_value());
            BOOST_TEST(*parsed == kind);
        }
    }
}

BOOST_AUTO_TEST_CASE(unknown_names_and_codes) {
    for (const std::string_view s : {"Parse"sv, "parse "sv, ""sv, "corrupt-payload"sv, "CorruptPayload"sv,
                                     "dimension_not_divisible\n"sv, "resource_limit"sv, "1"sv}) {
        BOOST_TEST_CONTEXT("name \"" << s << "\"") { BOOST_TEST(!parse_error_kind(s).has_value()); }
    }
    BOOST_TEST(to_string(static_cast<ErrorKind>(0)).empty());
    BOOST_TEST(to_string(static_cast<ErrorKind>(8)).empty());
    BOOST_TEST(to_string(static_cast<ErrorKind>(255)).empty());
}

BOOST_AUTO_TEST_CASE(default_error_is_a_parse_error_without_offset) {
    const Error e;
    BOOST_TEST(e.kind == ErrorKind::parse);
    BOOST_TEST(e.is_parse_error());
    BOOST_TEST(e.offset == Error::no_offset);
    BOOST_TEST(e.rule.empty());
    BOOST_TEST(e.fields.empty());
    BOOST_TEST((e.details == ErrorDetails{}));
    BOOST_TEST(e.describe() == "parse: ");

    Error c;
    c.kind = ErrorKind::corrupt_payload;
    c.rule = "mha.heads_equal";
    c.message = "MHA requires query_heads == kv_heads";
    BOOST_TEST(!c.is_parse_error());
    BOOST_TEST(c.describe() == "corrupt_payload [mha.heads_equal]: MHA requires query_heads == kv_heads");
    static constexpr std::string_view two[] = {"query_heads", "kv_heads"};
    c.fields = two;
    BOOST_TEST(c.describe() ==
               "corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires query_heads == kv_heads");
    Error p;
    p.rule = "json.missing_field";
    p.message = "missing field `dtype`";
    p.offset = 211;
    BOOST_TEST(p.describe() == "parse [json.missing_field]: missing field `dtype` (at byte 211)");
}

BOOST_AUTO_TEST_SUITE_END()
