// Schema evolution: buffers of a later schema revision (tests/flatbuffers/kv_tensor_shape_v1_1.fbs, one field
// and one KvDType value appended) read by this library, and this library's buffers read by flatc's code for
// that later revision.
#define BOOST_TEST_MODULE fib_quant_kv_flatbuffers_evolution
#include <boost/test/unit_test.hpp>

#include "fb_test_support.hpp"
#include "kv_tensor_shape_v1_1_generated.h"  // flatc --cpp of the v1.1 fixture, namespace fib_quant_kv_next::fb

namespace fqk = fib_quant_kv;
namespace next = fib_quant_kv_next::fb;
using namespace fib_quant_kv::fbtest;
using fqk::ErrorKind;
using fqk::KvTensorShapeV1;

namespace {

/// A v1.1 buffer written with flatc's v1.1 builder: `shape`'s fields, dtype as a raw v1.1 code, and page_size
/// when given.
Bytes build_v1_1(const KvTensorShapeV1& shape, next::KvDType dtype, std::optional<std::uint32_t> page_size) {
    flatbuffers::FlatBufferBuilder builder;
    const auto sv = builder.CreateString(shape.schema_version);
    next::KvTensorShapeV1Builder t(builder);
    t.add_schema_version(sv);
    t.add_role(static_cast<next::KvRole>(shape.role));
    t.add_attention_kind(static_cast<next::KvAttentionKind>(shape.attention_kind));
    t.add_batch(shape.batch);
    t.add_layers(shape.layers);
    t.add_kv_heads(shape.kv_heads);
    t.add_query_heads(shape.query_heads);
    t.add_tokens(shape.tokens);
    t.add_head_dim(shape.head_dim);
    t.add_dtype(dtype);
    t.add_rope_state(static_cast<next::KvRopeState>(shape.rope_state));
    if (page_size) t.add_page_size(*page_size);
    next::FinishKvTensorShapeV1Buffer(builder, t.Finish());
    return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(fixture_schema_matches_v1) {
    // The fixture is only meaningful if its v1 part is v1: same identifier, same enum codes.
    BOOST_TEST(std::string_view(next::KvTensorShapeV1Identifier()) == fqk::kKvTensorShapeV1FileIdentifier);
    BOOST_TEST(static_cast<int>(next::KvDType::f32) == static_cast<int>(fqk::KvDType::f32));
    BOOST_TEST(static_cast<int>(next::KvDType::fp8) == 3);
    BOOST_TEST(std::string_view(next::EnumNameKvDType(next::KvDType::fp8)) == "fp8");
    BOOST_TEST(static_cast<int>(next::KvRopeState::not_applicable) ==
               static_cast<int>(fqk::KvRopeState::not_applicable));
    BOOST_TEST(static_cast<int>(next::KvTensorShapeV1::VT_PAGE_SIZE) ==
               static_cast<int>(fqk::fb::KvTensorShapeV1::VT_ROPE_STATE) + 2);
}

BOOST_AUTO_TEST_CASE(v1_1_buffer_with_a_new_field_reads_as_v1) {
    for (const KvTensorShapeV1& shape : {mha_key(), gqa_value(), mqa_key()}) {
        BOOST_TEST_CONTEXT(fqk::to_json(shape)) {
            const Bytes b = build_v1_1(shape, static_cast<next::KvDType>(shape.dtype), 256);
            // The new field is really there for a v1.1 reader.
            flatbuffers::Verifier next_verifier(b.data(), b.size());
            BOOST_TEST_REQUIRE(next::VerifyKvTensorShapeV1Buffer(next_verifier));
            BOOST_TEST_REQUIRE(next::GetKvTensorShapeV1(b.data())->page_size().has_value());
            BOOST_TEST(*next::GetKvTensorShapeV1(b.data())->page_size() == 256U);

            // The v1 view ignores it, validates, and gives what a v1 buffer of the same shape gives.
            const auto view = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b));
            BOOST_TEST_REQUIRE(view.ok(), full(view));
            CHECK_VIEW_MATCHES(*view, shape);
            BOOST_TEST(fqk::to_native(*view) == shape);
            BOOST_TEST(fqk::digest(*view).value() == fqk::digest(shape).value());
            // It is not byte-identical to our own buffer (it carries one more field).
            BOOST_TEST(b != fqk::to_flatbuffer(shape));
        }
    }
}

BOOST_AUTO_TEST_CASE(v1_1_buffer_without_the_new_field) {
    const Bytes b = build_v1_1(gqa_value(), next::KvDType::bf16, std::nullopt);
    const auto view = fqk::verify_kv_tensor_shape_v1_buffer(as_span(b));
    BOOST_TEST_REQUIRE(view.ok(), full(view));
    CHECK_VIEW_MATCHES(*view, gqa_value());
}

BOOST_AUTO_TEST_CASE(v1_1_new_enum_value_is_refused) {
    for (const std::optional<std::uint32_t> page_size : {std::optional<std::uint32_t>(64), std::optional<std::uint32_t>()}) {
        const Bytes b = build_v1_1(mha_key(), next::KvDType::fp8, page_size);
        flatbuffers::Verifier next_verifier(b.data(), b.size());
        BOOST_TEST_REQUIRE(next::VerifyKvTensorShapeV1Buffer(next_verifier));
        // Well-formed for the v1 verifier too: enum ranges are not its business.
        flatbuffers::Verifier v1_verifier(b.data(), b.size());
        BOOST_TEST(fqk::fb::VerifyKvTensorShapeV1Buffer(v1_verifier));
        const std::string message = "field `dtype`: code 3 is not a value of enum KvDType (written by a newer schema?)";
        CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(as_span(b)), "flatbuffers.unknown_enum_code", "dtype", message);
        CHECK_PARSE_ERROR(fqk::verify_kv_tensor_shape_v1_buffer(as_span(b)), "flatbuffers.unknown_enum_code", "dtype",
                          message);
        CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(fqk::fb::GetKvTensorShapeV1(b.data())),
                          "flatbuffers.unknown_enum_code", "dtype", message);
    }
}

BOOST_AUTO_TEST_CASE(v1_buffer_read_by_v1_1_code) {
    for (const KvTensorShapeV1& shape : {mha_key(), gqa_value(), mqa_key()}) {
        BOOST_TEST_CONTEXT(fqk::to_json(shape)) {
            const Bytes b = fqk::to_flatbuffer(shape);
            flatbuffers::Verifier verifier(b.data(), b.size());
            BOOST_TEST_REQUIRE(next::VerifyKvTensorShapeV1Buffer(verifier));
            BOOST_TEST(next::KvTensorShapeV1BufferHasIdentifier(b.data()));
            const next::KvTensorShapeV1* t = next::GetKvTensorShapeV1(b.data());
            BOOST_TEST_REQUIRE(t->schema_version() != nullptr);
            BOOST_TEST(t->schema_version()->str() == shape.schema_version);
            BOOST_TEST(static_cast<int>(t->role().value()) == static_cast<int>(shape.role));
            BOOST_TEST(static_cast<int>(t->attention_kind().value()) == static_cast<int>(shape.attention_kind));
            BOOST_TEST(t->batch().value() == shape.batch);
            BOOST_TEST(t->layers().value() == shape.layers);
            BOOST_TEST(t->kv_heads().value() == shape.kv_heads);
            BOOST_TEST(t->query_heads().value() == shape.query_heads);
            BOOST_TEST(t->tokens().value() == shape.tokens);
            BOOST_TEST(t->head_dim().value() == shape.head_dim);
            BOOST_TEST(static_cast<int>(t->dtype().value()) == static_cast<int>(shape.dtype));
            BOOST_TEST(std::string_view(next::EnumNameKvDType(t->dtype().value())) == fqk::to_string(shape.dtype));
            BOOST_TEST(static_cast<int>(t->rope_state().value()) == static_cast<int>(shape.rope_state));
            BOOST_TEST(!t->page_size().has_value(), "page_size is absent, not 0");
        }
    }
}
