// validate(), validate_all() and validate_block_dim(): every rule of the schema with its pass and fail sides,
// the exact kind, rule id, fields and message of each (the seed's texts), and the seed's check order.
#define BOOST_TEST_MODULE validate
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/equals_constant.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace fib_quant_kv::test;

namespace {

/// validate()'s error; fails the test when the shape is valid.
Error first_error(const KvTensorShapeV1& s) {
    const Status st = validate(s);
    BOOST_TEST_REQUIRE(!st.ok(), "expected an invalid shape: " << to_json(s));
    return st.error();
}

/// validate_block_dim()'s error; fails the test when it passes.
Error block_error(const KvTensorShapeV1& s, std::uint32_t block_dim) {
    const Status st = validate_block_dim(s, block_dim);
    BOOST_TEST_REQUIRE(!st.ok(), "expected block_dim " << block_dim << " to be rejected for " << to_json(s));
    return st.error();
}

void check_valid(const KvTensorShapeV1& s) {
    BOOST_TEST_CONTEXT("shape " << to_json(s)) {
        const Status st = validate(s);
        BOOST_TEST(st.ok(), (st.ok() ? std::string() : st.error().describe()));
        BOOST_TEST(validate_all(s).empty());
    }
}

/// validate() reports the first of validate_all()'s list, whole.
void check_first_is_first_of_all(const KvTensorShapeV1& s) {
    const std::vector<Error> all = validate_all(s);
    const Status st = validate(s);
    BOOST_TEST_CONTEXT("shape " << to_json(s)) {
        BOOST_TEST(st.ok() == all.empty());
        if (!st.ok() && !all.empty()) CHECK_SAME_ERROR(st.error(), all.front());
    }
}

constexpr std::string_view kSchemaMessageTail = ", expected fib_quant_kv_tensor_shape_v1";

}  // namespace

BOOST_AUTO_TEST_SUITE(construction)

BOOST_AUTO_TEST_CASE(make_sets_every_field_and_the_schema_id) {
    const KvTensorShapeV1 s = make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::gqa, 3, 5, 7, 21, 11, 13,
                                                      KvDType::bf16, KvRopeState::not_applicable);
    BOOST_TEST(s.schema_version == "fib_quant_kv_tensor_shape_v1");
    BOOST_TEST(s.schema_version == std::string(kKvTensorShapeV1SchemaId));
    BOOST_TEST(s.role == KvRole::value);
    BOOST_TEST(s.attention_kind == KvAttentionKind::gqa);
    BOOST_TEST(s.batch == 3U);
    BOOST_TEST(s.layers == 5U);
    BOOST_TEST(s.kv_heads == 7U);
    BOOST_TEST(s.query_heads == 21U);
    BOOST_TEST(s.tokens == 11U);
    BOOST_TEST(s.head_dim == 13U);
    BOOST_TEST(s.dtype == KvDType::bf16);
    BOOST_TEST(s.rope_state == KvRopeState::not_applicable);
    check_valid(s);
}

BOOST_AUTO_TEST_CASE(designated_initializers_default_the_schema_version) {
    const KvTensorShapeV1 s{
        .role = KvRole::value,
        .attention_kind = KvAttentionKind::gqa,
        .batch = 3,
        .layers = 5,
        .kv_heads = 7,
        .query_heads = 21,
        .tokens = 11,
        .head_dim = 13,
        .dtype = KvDType::bf16,
        .rope_state = KvRopeState::not_applicable,
    };
    BOOST_TEST(s.schema_version == "fib_quant_kv_tensor_shape_v1");
    BOOST_TEST(s == make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::gqa, 3, 5, 7, 21, 11, 13, KvDType::bf16,
                                            KvRopeState::not_applicable));
    check_valid(s);

    const KvTensorShapeV1 explicit_version{.schema_version = "v0", .batch = 1};
    BOOST_TEST(explicit_version.schema_version == "v0");
    BOOST_TEST(explicit_version.batch == 1U);
    BOOST_TEST(explicit_version.layers == 0U);
}

BOOST_AUTO_TEST_CASE(default_constructed_shape) {
    const KvTensorShapeV1 s{};
    BOOST_TEST(s.schema_version == std::string(kKvTensorShapeV1SchemaId));
    BOOST_TEST(s.role == KvRole::key);
    BOOST_TEST(s.attention_kind == KvAttentionKind::mha);
    BOOST_TEST(s.dtype == KvDType::f16);
    BOOST_TEST(s.rope_state == KvRopeState::pre_rope);
    BOOST_TEST(s.batch == 0U);
    BOOST_TEST(s.head_dim == 0U);
    BOOST_TEST(rules_of(validate_all(s)) ==
               "batch.nonzero,layers.nonzero,kv_heads.nonzero,query_heads.nonzero,tokens.nonzero,head_dim.nonzero");
}

BOOST_AUTO_TEST_CASE(equality_looks_at_every_field) {
    const KvTensorShapeV1 base = mha_key();
    BOOST_TEST(base == mha_key());
    KvTensorShapeV1 s = base;
    s.schema_version += " ";
    BOOST_TEST(!(s == base));
    s = base;
    s.rope_state = KvRopeState::post_rope;
    BOOST_TEST(!(s == base));
    s = base;
    s.tokens += 1;
    BOOST_TEST(!(s == base));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rules)

BOOST_AUTO_TEST_CASE(valid_shapes_of_every_geometry) {
    check_valid(mha_key());
    check_valid(gqa_value());
    check_valid(mqa_key());
    for (const KvDType dtype : EnumTraits<KvDType>::values) {
        KvTensorShapeV1 s = mha_key();
        s.dtype = dtype;
        check_valid(s);
    }
    KvTensorShapeV1 post = mha_key();
    post.rope_state = KvRopeState::post_rope;
    check_valid(post);
}

BOOST_AUTO_TEST_CASE(unknown_enum_codes) {
    KvTensorShapeV1 s = mha_key();
    s.role = static_cast<KvRole>(9);
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "role.known", "role",
                "kv shape role holds a code that is not a value of its enum");
    s.role = static_cast<KvRole>(2);
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "role.known", "role",
                "kv shape role holds a code that is not a value of its enum");

    s = mha_key();
    s.attention_kind = static_cast<KvAttentionKind>(3);
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "attention_kind.known", "attention_kind",
                "kv shape attention_kind holds a code that is not a value of its enum");

    s = mha_key();
    s.dtype = static_cast<KvDType>(255);
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "dtype.known", "dtype",
                "kv shape dtype holds a code that is not a value of its enum");

    s = mha_key();
    s.rope_state = static_cast<KvRopeState>(3);
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "rope_state.known", "rope_state",
                "kv shape rope_state holds a code that is not a value of its enum");
}

BOOST_AUTO_TEST_CASE(unknown_codes_come_before_the_seed_rules) {
    KvTensorShapeV1 s = mha_key();
    s.schema_version = "nope";
    s.batch = 0;
    s.dtype = static_cast<KvDType>(9);
    BOOST_TEST(std::string(first_error(s).rule) == "dtype.known");
    s.role = static_cast<KvRole>(9);
    BOOST_TEST(std::string(first_error(s).rule) == "role.known");
}

BOOST_AUTO_TEST_CASE(schema_version) {
    for (const std::string& version :
         {std::string(""), std::string("fib_quant_kv_tensor_shape_v2"), std::string("FIB_QUANT_KV_TENSOR_SHAPE_V1"),
          std::string("fib_quant_kv_tensor_shape_v1 "), std::string(" fib_quant_kv_tensor_shape_v1"),
          std::string("fib_quant_kv_tensor_shape_v"), std::string("fib_quant_kv_tensor_shape_v1\0", 29),
          std::string("tab\there\nnl\rcr"), std::string("emoji \xF0\x9F\x98\x80")}) {
        KvTensorShapeV1 s = mha_key();
        s.schema_version = version;
        BOOST_TEST_CONTEXT("schema_version of " << version.size() << " bytes") {
            // The seed formats the value with Display: verbatim, no quoting or escaping.
            CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                        "kv shape schema_version " + version + std::string(kSchemaMessageTail));
        }
    }
    CHECK_ERROR(first_error(KvTensorShapeV1{.schema_version = "x", .batch = 1}), ErrorKind::corrupt_payload,
                "schema_version.matches", "schema_version",
                "kv shape schema_version x, expected fib_quant_kv_tensor_shape_v1");
    // A native struct may hold bytes that are not UTF-8 (JSON and FlatBuffers input cannot): the message stays
    // text, each such byte shown as \xNN and everything else as it stands.
    for (const auto& [version, shown] : std::vector<std::pair<std::string, std::string>>{
             {"v\xff", "v\\xff"},
             {"\x80tail", "\\x80tail"},
             {"\xC3\xA9 ok, \xC3 cut", "\xC3\xA9 ok, \\xc3 cut"},
             {"\xED\xA0\x80", "\\xed\\xa0\\x80"},  // an encoded surrogate: three bytes that are not UTF-8
         }) {
        KvTensorShapeV1 s = mha_key();
        s.schema_version = version;
        CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                    "kv shape schema_version " + shown + std::string(kSchemaMessageTail));
    }
}

// The hot predicate compares schema_version in two overlapping 16-byte blocks (equals_constant): a change to any
// one byte of the 28, the 4 bytes where the blocks overlap among them, must be seen, by validate() and (for ASCII
// bytes) by the FlatBuffers view's validate() alike.
BOOST_AUTO_TEST_CASE(schema_version_every_byte) {
    const std::string id(kKvTensorShapeV1SchemaId);
    BOOST_TEST_REQUIRE(id.size() == 28u);
    for (std::size_t i = 0; i < id.size(); ++i) {
        for (const int flip : {0x01, 0x20, 0x80}) {
            KvTensorShapeV1 s = mha_key();
            s.schema_version[i] = static_cast<char>(static_cast<unsigned char>(s.schema_version[i]) ^ flip);
            BOOST_TEST_CONTEXT("byte " << i << " xor " << flip) {
                BOOST_TEST(std::string(first_error(s).rule) == "schema_version.matches");
                if (flip == 0x80) continue;  // not UTF-8: a FlatBuffers reader refuses it before validate()
                const std::vector<std::uint8_t> buffer = to_flatbuffer(s);
                const Result<KvTensorShapeV1View> view = view_kv_tensor_shape_v1(buffer);
                BOOST_TEST_REQUIRE(view.ok());
                const Status st = validate(*view);
                BOOST_TEST_REQUIRE(!st.ok());
                BOOST_TEST(std::string(st.error().rule) == "schema_version.matches");
            }
        }
    }
    check_valid(mha_key());
}

BOOST_AUTO_TEST_CASE(every_dim_nonzero) {
    constexpr std::array<std::string_view, 6> dims{"batch", "layers", "kv_heads", "query_heads", "tokens", "head_dim"};
    for (std::size_t i = 0; i < dims.size(); ++i) {
        KvTensorShapeV1 s = mha_key();
        std::uint32_t* fields[] = {&s.batch, &s.layers, &s.kv_heads, &s.query_heads, &s.tokens, &s.head_dim};
        *fields[i] = 0;
        const std::string name(dims[i]);
        BOOST_TEST_CONTEXT("dim " << name) {
            CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, name + ".nonzero", name,
                        "kv shape " + name + " must be > 0");
            *fields[i] = 1;  // and the pass side: 1 is enough (kv_heads/query_heads 1 each for MHA)
            if (name == "kv_heads" || name == "query_heads") {
                s.kv_heads = 1;
                s.query_heads = 1;
            }
            check_valid(s);
        }
    }
}

BOOST_AUTO_TEST_CASE(mha_heads_equal) {
    KvTensorShapeV1 s = mha_key();
    s.query_heads = 16;  // divisible, but MHA needs equality
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "mha.heads_equal", "query_heads,kv_heads",
                "MHA requires query_heads == kv_heads");
    s.query_heads = 4;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "mha.heads_equal", "query_heads,kv_heads",
                "MHA requires query_heads == kv_heads");
    s.query_heads = s.kv_heads;
    check_valid(s);
}

BOOST_AUTO_TEST_CASE(mqa_single_kv_head) {
    KvTensorShapeV1 s = mqa_key();
    s.kv_heads = 2;
    s.query_heads = 4;  // divisible, still not MQA
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "mqa.single_kv_head", "kv_heads",
                "MQA requires kv_heads == 1");
    BOOST_TEST(rules_of(validate_all(s)) == "mqa.single_kv_head");
    s.kv_heads = 1;
    for (const std::uint32_t q : {1U, 3U, 16U, kU32Max}) {
        s.query_heads = q;
        check_valid(s);
    }
}

BOOST_AUTO_TEST_CASE(mqa_check_order) {
    // kv_heads 3, query_heads 4: the seed's MQA arm answers before the divisibility arm.
    KvTensorShapeV1 s = mqa_key();
    s.kv_heads = 3;
    s.query_heads = 4;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "mqa.single_kv_head", "kv_heads",
                "MQA requires kv_heads == 1");
    BOOST_TEST(rules_of(validate_all(s)) == "mqa.single_kv_head,grouped.heads_divisible");
}

BOOST_AUTO_TEST_CASE(gqa_heads_divisible) {
    KvTensorShapeV1 s = gqa_value();  // 8 kv heads
    for (const std::uint32_t q : {12U, 4U, 9U, 33U, kU32Max}) {
        s.query_heads = q;
        BOOST_TEST_CONTEXT("query_heads " << q) {
            CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "grouped.heads_divisible", "query_heads,kv_heads",
                        "query_heads must be divisible by kv_heads");
        }
    }
    for (const std::uint32_t q : {8U, 16U, 64U, 4294967288U}) {
        s.query_heads = q;
        check_valid(s);
    }
    // GQA with one KV head (an MQA in all but name) and with as many KV heads as query heads are valid
    s.kv_heads = 1;
    s.query_heads = 7;
    check_valid(s);
    s.kv_heads = kU32Max;
    s.query_heads = kU32Max;
    check_valid(s);
}

BOOST_AUTO_TEST_CASE(gqa_zero_kv_heads_is_the_nonzero_error_not_a_division) {
    KvTensorShapeV1 s = gqa_value();
    s.kv_heads = 0;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "kv_heads.nonzero", "kv_heads",
                "kv shape kv_heads must be > 0");
    // validate_all goes on: the divisibility rule fails too (0 divides nothing), without dividing by zero
    BOOST_TEST(rules_of(validate_all(s)) == "kv_heads.nonzero,grouped.heads_divisible");
    s.attention_kind = KvAttentionKind::mqa;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "kv_heads.nonzero", "kv_heads",
                "kv shape kv_heads must be > 0");
    BOOST_TEST(rules_of(validate_all(s)) == "kv_heads.nonzero,mqa.single_kv_head,grouped.heads_divisible");
}

BOOST_AUTO_TEST_CASE(key_rope_declared) {
    KvTensorShapeV1 s = mha_key();
    s.rope_state = KvRopeState::not_applicable;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "key.rope_declared", "rope_state",
                "key tensors must declare pre_rope or post_rope");
    s.rope_state = KvRopeState::pre_rope;
    check_valid(s);
    s.rope_state = KvRopeState::post_rope;
    check_valid(s);
}

BOOST_AUTO_TEST_CASE(value_rope_not_applicable) {
    KvTensorShapeV1 s = gqa_value();
    for (const KvRopeState rope : {KvRopeState::pre_rope, KvRopeState::post_rope}) {
        s.rope_state = rope;
        CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "value.rope_not_applicable", "rope_state",
                    "value tensors must use not_applicable rope state");
    }
    s.rope_state = KvRopeState::not_applicable;
    check_valid(s);
}

BOOST_AUTO_TEST_CASE(size_overflow) {
    KvTensorShapeV1 s = mha_key();
    s.batch = s.layers = s.kv_heads = s.query_heads = s.tokens = s.head_dim = kU32Max;
    const Error e = first_error(s);
    CHECK_ERROR(e, ErrorKind::resource_limit_exceeded, "size_overflow", "batch,layers,kv_heads,tokens,head_dim",
                "kv shape size overflow");
    BOOST_TEST(e.describe() ==
               "resource_limit_exceeded [size_overflow] (batch, layers, kv_heads, tokens, head_dim): "
               "kv shape size overflow");

    // The largest element count, 2^64 - 1, passes; one token more does not.
    KvTensorShapeV1 edge = make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mha, 641, 6700417, 65537, 65537, 255,
                                                   257, KvDType::f32, KvRopeState::pre_rope);
    check_valid(edge);
    edge.tokens = 256;
    CHECK_ERROR(first_error(edge), ErrorKind::resource_limit_exceeded, "size_overflow",
                "batch,layers,kv_heads,tokens,head_dim", "kv shape size overflow");
}

BOOST_AUTO_TEST_CASE(boundary_dims) {
    check_valid(make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mha, 1, 1, 1, 1, 1, 1, KvDType::f16,
                                        KvRopeState::pre_rope));
    // each dim alone at u32 max
    for (std::size_t i = 0; i < 5; ++i) {
        KvTensorShapeV1 s = make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::mha, 1, 1, 1, 1, 1, 1, KvDType::f32,
                                                    KvRopeState::not_applicable);
        std::uint32_t* dims[] = {&s.batch, &s.layers, &s.tokens, &s.head_dim, &s.kv_heads};
        *dims[i] = kU32Max;
        if (i == 4) s.query_heads = kU32Max;  // MHA: both head counts
        check_valid(s);
    }
    // two factors of u32 max fit, a third factor of 2 does not
    KvTensorShapeV1 s = make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::gqa, kU32Max, 1, 1, 1, 1, kU32Max,
                                                KvDType::bf16, KvRopeState::post_rope);
    check_valid(s);
    s.tokens = 2;
    BOOST_TEST(std::string(first_error(s).rule) == "size_overflow");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_order)

BOOST_AUTO_TEST_CASE(schema_version_before_dims) {
    KvTensorShapeV1 s = mha_key();
    s.schema_version = "v0";
    s.batch = 0;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                "kv shape schema_version v0, expected fib_quant_kv_tensor_shape_v1");
}

BOOST_AUTO_TEST_CASE(dims_in_declaration_order) {
    KvTensorShapeV1 s = mha_key();
    s.batch = 0;
    s.layers = 0;
    BOOST_TEST(first_error(s).message == "kv shape batch must be > 0");
    s.batch = 1;
    BOOST_TEST(first_error(s).message == "kv shape layers must be > 0");
    s.tokens = 0;
    s.head_dim = 0;
    BOOST_TEST(first_error(s).message == "kv shape layers must be > 0");
    s.layers = 1;
    BOOST_TEST(first_error(s).message == "kv shape tokens must be > 0");
    s.tokens = 1;
    BOOST_TEST(first_error(s).message == "kv shape head_dim must be > 0");
}

BOOST_AUTO_TEST_CASE(dims_before_geometry_before_rope_before_size) {
    KvTensorShapeV1 s = mha_key();
    s.query_heads = 0;  // also breaks MHA's equality
    BOOST_TEST(std::string(first_error(s).rule) == "query_heads.nonzero");
    s.query_heads = 3;
    s.rope_state = KvRopeState::not_applicable;
    BOOST_TEST(std::string(first_error(s).rule) == "mha.heads_equal");
    s.query_heads = s.kv_heads;
    s.batch = s.layers = s.tokens = kU32Max;
    BOOST_TEST(std::string(first_error(s).rule) == "key.rope_declared");
    s.rope_state = KvRopeState::post_rope;
    BOOST_TEST(std::string(first_error(s).rule) == "size_overflow");
}

BOOST_AUTO_TEST_CASE(zero_dims_before_overflow) {
    KvTensorShapeV1 s = mha_key();
    s.batch = s.layers = s.kv_heads = s.query_heads = s.tokens = kU32Max;
    s.head_dim = 0;
    CHECK_ERROR(first_error(s), ErrorKind::corrupt_payload, "head_dim.nonzero", "head_dim",
                "kv shape head_dim must be > 0");
    BOOST_TEST(rules_of(validate_all(s)) == "head_dim.nonzero,size_overflow");
    // the fold overflows before it reaches tokens 0 (as the seed's try_fold)
    s.head_dim = 1;
    s.tokens = 0;
    BOOST_TEST(rules_of(validate_all(s)) == "tokens.nonzero,size_overflow");
    // a zero first keeps the product at 0: no overflow
    s.tokens = kU32Max;
    s.batch = 0;
    BOOST_TEST(rules_of(validate_all(s)) == "batch.nonzero");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_all_lists)

BOOST_AUTO_TEST_CASE(valid_shape_gives_nothing) {
    BOOST_TEST(validate_all(mha_key()).empty());
    BOOST_TEST(validate_all(gqa_value()).empty());
    BOOST_TEST(validate_all(mqa_key()).empty());
}

BOOST_AUTO_TEST_CASE(every_code_unknown_and_every_dim_zero) {
    KvTensorShapeV1 s{};
    s.schema_version = "x";
    s.role = static_cast<KvRole>(9);
    s.attention_kind = static_cast<KvAttentionKind>(9);
    s.dtype = static_cast<KvDType>(9);
    s.rope_state = static_cast<KvRopeState>(9);
    const std::vector<Error> all = validate_all(s);
    BOOST_TEST(rules_of(all) ==
               "role.known,attention_kind.known,dtype.known,rope_state.known,schema_version.matches,"
               "batch.nonzero,layers.nonzero,kv_heads.nonzero,query_heads.nonzero,tokens.nonzero,head_dim.nonzero");
    BOOST_TEST_REQUIRE(all.size() == 11U);
    CHECK_ERROR(all[4], ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                "kv shape schema_version x, expected fib_quant_kv_tensor_shape_v1");
    CHECK_ERROR(all[10], ErrorKind::corrupt_payload, "head_dim.nonzero", "head_dim", "kv shape head_dim must be > 0");
    check_first_is_first_of_all(s);
}

BOOST_AUTO_TEST_CASE(value_mqa_with_everything_else_wrong) {
    const KvTensorShapeV1 s{
        .schema_version = "v0",
        .role = KvRole::value,
        .attention_kind = KvAttentionKind::mqa,
        .batch = kU32Max,
        .layers = kU32Max,
        .kv_heads = 3,
        .query_heads = 4,
        .tokens = kU32Max,
        .head_dim = 1,
        .dtype = KvDType::bf16,
        .rope_state = KvRopeState::post_rope,
    };
    const std::vector<Error> all = validate_all(s);
    BOOST_TEST_REQUIRE(all.size() == 5U);
    CHECK_ERROR(all[0], ErrorKind::corrupt_payload, "schema_version.matches", "schema_version",
                "kv shape schema_version v0, expected fib_quant_kv_tensor_shape_v1");
    CHECK_ERROR(all[1], ErrorKind::corrupt_payload, "mqa.single_kv_head", "kv_heads", "MQA requires kv_heads == 1");
    CHECK_ERROR(all[2], ErrorKind::corrupt_payload, "grouped.heads_divisible", "query_heads,kv_heads",
                "query_heads must be divisible by kv_heads");
    CHECK_ERROR(all[3], ErrorKind::corrupt_payload, "value.rope_not_applicable", "rope_state",
                "value tensors must use not_applicable rope state");
    CHECK_ERROR(all[4], ErrorKind::resource_limit_exceeded, "size_overflow", "batch,layers,kv_heads,tokens,head_dim",
                "kv shape size overflow");
    check_first_is_first_of_all(s);
}

BOOST_AUTO_TEST_CASE(key_mha_with_unknown_rope_code) {
    KvTensorShapeV1 s = mha_key();
    s.rope_state = static_cast<KvRopeState>(5);
    s.query_heads = 9;
    // an unknown rope code is neither pre_rope nor post_rope, so the key rule fails too
    BOOST_TEST(rules_of(validate_all(s)) == "rope_state.known,mha.heads_equal,key.rope_declared");
    // an unknown role is neither key nor value: no rope rule applies
    s = mha_key();
    s.role = static_cast<KvRole>(7);
    s.rope_state = KvRopeState::not_applicable;
    BOOST_TEST(rules_of(validate_all(s)) == "role.known");
    // an unknown attention kind is none of MHA, MQA, GQA: no geometry rule applies
    s = mha_key();
    s.attention_kind = static_cast<KvAttentionKind>(7);
    s.kv_heads = 3;
    s.query_heads = 4;
    BOOST_TEST(rules_of(validate_all(s)) == "attention_kind.known");
}

BOOST_AUTO_TEST_CASE(validate_reports_the_first_of_validate_all) {
    std::vector<KvTensorShapeV1> shapes{mha_key(), gqa_value(), mqa_key(), KvTensorShapeV1{}};
    KvTensorShapeV1 s = gqa_value();
    s.query_heads = 9;
    s.rope_state = KvRopeState::pre_rope;
    shapes.push_back(s);
    s.tokens = 0;
    shapes.push_back(s);
    s.schema_version.clear();
    shapes.push_back(s);
    s = mqa_key();
    s.kv_heads = 5;
    s.batch = s.layers = s.tokens = kU32Max;
    shapes.push_back(s);
    for (const KvTensorShapeV1& shape : shapes) check_first_is_first_of_all(shape);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(block_dim)

BOOST_AUTO_TEST_CASE(divisible_block_dims_pass) {
    const KvTensorShapeV1 s = mha_key();  // head_dim 128
    for (const std::uint32_t b : {1U, 2U, 32U, 64U, 128U}) {
        BOOST_TEST_CONTEXT("block_dim " << b) { BOOST_TEST(validate_block_dim(s, b).ok()); }
    }
    KvTensorShapeV1 odd = mqa_key();
    odd.head_dim = 276;
    BOOST_TEST(validate_block_dim(odd, 4).ok());
    BOOST_TEST(validate_block_dim(odd, 69).ok());
    BOOST_TEST(validate_block_dim(odd, 276).ok());
    odd.head_dim = kU32Max;  // 3 * 5 * 17 * 257 * 65537
    BOOST_TEST(validate_block_dim(odd, kU32Max).ok());
    BOOST_TEST(validate_block_dim(odd, 65537).ok());
}

BOOST_AUTO_TEST_CASE(not_divisible) {
    KvTensorShapeV1 s = mqa_key();
    s.head_dim = 276;
    const Error e = block_error(s, 32);
    CHECK_ERROR(e, ErrorKind::dimension_not_divisible, "head_dim.block_divisible", "head_dim",
                "kv shape head_dim 276 is not divisible by block_dim 32");
    BOOST_TEST(e.details.ambient_dim == 276U);
    BOOST_TEST(e.details.block_dim == 32U);

    const Error larger = block_error(mha_key(), 256);
    CHECK_ERROR(larger, ErrorKind::dimension_not_divisible, "head_dim.block_divisible", "head_dim",
                "kv shape head_dim 128 is not divisible by block_dim 256");
    BOOST_TEST((larger.details == ErrorDetails{128, 256}));

    s.head_dim = kU32Max;
    const Error even = block_error(s, 2);
    BOOST_TEST(even.message == "kv shape head_dim 4294967295 is not divisible by block_dim 2");
    BOOST_TEST((even.details == ErrorDetails{kU32Max, 2}));
    const Error widest = block_error(s, kU32Max - 1);
    BOOST_TEST((widest.details == ErrorDetails{kU32Max, kU32Max - 1}));
}

BOOST_AUTO_TEST_CASE(block_dim_zero) {
    const Error e = block_error(mha_key(), 0);
    CHECK_ERROR(e, ErrorKind::dimension_not_divisible, "head_dim.block_divisible", "head_dim",
                "kv shape head_dim 128 is not divisible by block_dim 0");
    BOOST_TEST(e.details.ambient_dim == 128U);
    BOOST_TEST(e.details.block_dim == 0U);
}

BOOST_AUTO_TEST_CASE(validate_errors_come_first) {
    KvTensorShapeV1 s = mha_key();
    s.batch = 0;
    for (const std::uint32_t b : {0U, 3U, 32U}) {
        const Error e = block_error(s, b);
        CHECK_ERROR(e, ErrorKind::corrupt_payload, "batch.nonzero", "batch", "kv shape batch must be > 0");
        BOOST_TEST((e.details == ErrorDetails{}));
    }
    s = mha_key();
    s.batch = s.layers = s.tokens = kU32Max;
    CHECK_ERROR(block_error(s, 0), ErrorKind::resource_limit_exceeded, "size_overflow",
                "batch,layers,kv_heads,tokens,head_dim", "kv shape size overflow");
    s = mha_key();
    s.schema_version = "v9";
    BOOST_TEST(block_error(s, 7).message == "kv shape schema_version v9, expected fib_quant_kv_tensor_shape_v1");
    // head_dim 0 is validate()'s error, not a divisibility one
    s = mha_key();
    s.head_dim = 0;
    BOOST_TEST(std::string(block_error(s, 32).rule) == "head_dim.nonzero");
}

BOOST_AUTO_TEST_SUITE_END()

// equals_constant<C>(s), the compare the generated rules make between a string field and a schema constant, must
// answer s == C for every length of constant: under 16 bytes and over 32 (std::string_view's compare), and from
// 16 to 32 (two 16-byte blocks, overlapping below 32), in constant evaluation and at run time.
namespace {
constexpr std::string_view k1 = "a";
constexpr std::string_view k15 = "abcdefghijklmno";
constexpr std::string_view k16 = "abcdefghijklmnop";
constexpr std::string_view k17 = "abcdefghijklmnopq";
constexpr std::string_view k31 = "abcdefghijklmnopqrstuvwxyz01234";
constexpr std::string_view k32 = "abcdefghijklmnopqrstuvwxyz012345";
constexpr std::string_view k33 = "abcdefghijklmnopqrstuvwxyz0123456";
constexpr std::string_view kNul{"abc\0defghijklmnopq\0", 20};

static_assert(equals_constant<k17>("abcdefghijklmnopq"));
static_assert(!equals_constant<k17>("abcdefghijklmnopQ"));
static_assert(!equals_constant<k16>("abcdefghijklmnopq"));
static_assert(equals_constant<k1>("a") && !equals_constant<k1>(""));

/// Every change to one byte of `C`, every prefix and every one-byte extension is unequal; `C` itself is equal,
/// read from a buffer of its own size (so that a block read past the end would be seen by the sanitizers).
template <const std::string_view& C>
void check_equals_constant() {
    BOOST_TEST_CONTEXT("constant of " << C.size() << " bytes") {
        const std::vector<char> exact(C.begin(), C.end());
        BOOST_TEST(equals_constant<C>(std::string_view(exact.data(), exact.size())));
        for (std::size_t i = 0; i < C.size(); ++i) {
            for (const int flip : {0x01, 0x40, 0x80}) {
                std::vector<char> changed = exact;
                changed[i] = static_cast<char>(static_cast<unsigned char>(changed[i]) ^ flip);
                BOOST_TEST(!equals_constant<C>(std::string_view(changed.data(), changed.size())),
                           "byte " << i << " xor " << flip);
            }
        }
        for (std::size_t n = 0; n < C.size(); ++n) BOOST_TEST(!equals_constant<C>(C.substr(0, n)), "prefix " << n);
        std::string longer(C);
        longer += C.back();
        BOOST_TEST(!equals_constant<C>(longer));
    }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(string_constants)

BOOST_AUTO_TEST_CASE(every_length_every_byte) {
    check_equals_constant<k1>();
    check_equals_constant<k15>();
    check_equals_constant<k16>();
    check_equals_constant<k17>();
    check_equals_constant<k31>();
    check_equals_constant<k32>();
    check_equals_constant<k33>();
    check_equals_constant<kNul>();
    check_equals_constant<kKvTensorShapeV1SchemaId>();
    check_equals_constant<kKvCacheSpecV2SchemaId>();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(status_access) {
    const Status ok = validate(mha_key());
    BOOST_TEST(ok.ok());
    BOOST_TEST(static_cast<bool>(ok));
    BOOST_CHECK_THROW(static_cast<void>(ok.error()), BadResultAccess);

    KvTensorShapeV1 s = mha_key();
    s.tokens = 0;
    const Status bad = validate(s);
    BOOST_TEST(!bad.ok());
    BOOST_TEST(!static_cast<bool>(bad));
    BOOST_TEST(bad.error().offset == Error::no_offset);
    BOOST_TEST(!bad.error().is_parse_error());
    BOOST_TEST(bad.error().describe() == "corrupt_payload [tokens.nonzero] (tokens): kv shape tokens must be > 0");
}

BOOST_AUTO_TEST_SUITE_END()
