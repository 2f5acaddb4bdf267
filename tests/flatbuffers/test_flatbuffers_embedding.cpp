// Embedding: KvTensorShapeV1 tables inside a user's own schema (tests/flatbuffers/manifest.fbs includes the
// library's .fbs). The shapes are written with build_kv_tensor_shape_v1 into the user's builder, the outer
// buffer is verified by flatc's code, and each shape is then viewed and validated in place.
#define BOOST_TEST_MODULE fib_quant_kv_flatbuffers_embedding
#include <boost/test/unit_test.hpp>

#include "fb_test_support.hpp"
#include "manifest_generated.h"  // flatc --cpp of the fixture, namespace fib_quant_kv_test::manifest

namespace fqk = fib_quant_kv;
namespace mf = fib_quant_kv_test::manifest;
using namespace fib_quant_kv::fbtest;
using fqk::ErrorKind;
using fqk::KvTensorShapeV1;

namespace {

struct Group {
    std::uint32_t first_layer;
    std::optional<KvTensorShapeV1> key;
    std::optional<KvTensorShapeV1> value;
};

KvTensorShapeV1 mha_mismatch() {
    KvTensorShapeV1 s = mha_key();
    s.query_heads = 16;  // MHA needs query_heads == kv_heads (8)
    return s;
}

std::vector<Group> groups() {
    return {
        {0, mha_key(), gqa_value()},
        {12, mqa_key(), gqa_value()},
        {24, mha_mismatch(), gqa_value()},  // the invalid entry
        {36, mha_key(), std::nullopt},      // no value table
    };
}

Bytes build_manifest(const std::vector<Group>& gs) {
    flatbuffers::FlatBufferBuilder builder(128);
    std::vector<flatbuffers::Offset<mf::LayerGroup>> offsets;
    for (const Group& g : gs) {
        flatbuffers::Offset<fqk::fb::KvTensorShapeV1> key;
        flatbuffers::Offset<fqk::fb::KvTensorShapeV1> value;
        if (g.key) key = fqk::build_kv_tensor_shape_v1(builder, *g.key);
        if (g.value) value = fqk::build_kv_tensor_shape_v1(builder, *g.value);
        offsets.push_back(mf::CreateLayerGroup(builder, g.first_layer, key, value));
    }
    mf::FinishManifestBuffer(builder, mf::CreateManifest(builder, builder.CreateVector(offsets)));
    return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(manifest_of_several_groups) {
    const std::vector<Group> gs = groups();
    const Bytes b = build_manifest(gs);

    flatbuffers::Verifier verifier(b.data(), b.size());
    BOOST_TEST_REQUIRE(mf::VerifyManifestBuffer(verifier));
    const mf::Manifest* manifest = mf::GetManifest(b.data());
    BOOST_TEST_REQUIRE(manifest->groups() != nullptr);
    BOOST_TEST_REQUIRE(manifest->groups()->size() == gs.size());

    std::size_t valid = 0;
    for (flatbuffers::uoffset_t i = 0; i < manifest->groups()->size(); ++i) {
        const mf::LayerGroup* g = manifest->groups()->Get(i);
        BOOST_TEST_CONTEXT("group " << i) {
            BOOST_TEST(g->first_layer() == gs[i].first_layer);
            for (const auto& [table, expected] : {std::pair{g->key(), gs[i].key}, std::pair{g->value(), gs[i].value}}) {
                const auto view = fqk::view_kv_tensor_shape_v1(table);
                if (!expected) {
                    // The null table pointer of an absent field: a parse error, not a crash.
                    BOOST_TEST(table == nullptr);
                    CHECK_PARSE_ERROR(view, "flatbuffers.missing_field", "", "missing table KvTensorShapeV1");
                    continue;
                }
                BOOST_TEST_REQUIRE(view.ok(), full(view));
                // Zero-copy: the view is the embedded table itself, its string lies inside the outer buffer.
                BOOST_TEST(view->table() == table);
                const auto* sv = reinterpret_cast<const std::uint8_t*>(view->schema_version().data());
                BOOST_TEST((sv > b.data() && sv < b.data() + b.size()));
                CHECK_VIEW_MATCHES(*view, *expected);
                const fqk::Status st = fqk::validate(*view);
                if (i == 2 && table == g->key()) {
                    BOOST_TEST_REQUIRE(!st.ok());
                    CHECK_ERROR(st.error(), ErrorKind::corrupt_payload, "mha.heads_equal", "query_heads,kv_heads",
                                "MHA requires query_heads == kv_heads");
                } else {
                    BOOST_TEST(st.ok(), full(st));
                    BOOST_TEST(fqk::digest(*view).value() == fqk::digest(*expected).value());
                    ++valid;
                }
            }
        }
    }
    BOOST_TEST(valid == 6U);  // 8 slots: one invalid, one absent
}

BOOST_AUTO_TEST_CASE(embedded_table_with_problems) {
    // Tables written with flatc's builder inside the manifest: one lacks a field, one has an unknown code.
    flatbuffers::FlatBufferBuilder builder;
    RawShape missing = raw_of(gqa_value());
    missing.omit(7);  // tokens
    RawShape unknown = raw_of(mha_key());
    unknown.attention_kind = 5;
    const auto k = build_raw(builder, missing);
    const auto v = build_raw(builder, unknown);
    const std::vector<flatbuffers::Offset<mf::LayerGroup>> offsets{mf::CreateLayerGroup(builder, 0, k, v)};
    mf::FinishManifestBuffer(builder, mf::CreateManifest(builder, builder.CreateVector(offsets)));
    const std::uint8_t* buf = builder.GetBufferPointer();

    flatbuffers::Verifier verifier(buf, builder.GetSize());
    BOOST_TEST_REQUIRE(mf::VerifyManifestBuffer(verifier));
    const mf::LayerGroup* g = mf::GetManifest(buf)->groups()->Get(0);
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(g->key()), "flatbuffers.missing_field", "tokens",
                      "missing field `tokens`");
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(g->value()), "flatbuffers.unknown_enum_code", "attention_kind",
                      "field `attention_kind`: code 5 is not a value of enum KvAttentionKind (written by a newer schema?)");
}

BOOST_AUTO_TEST_CASE(manifest_is_not_a_shape_buffer) {
    const Bytes b = build_manifest(groups());
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(as_span(b)), "flatbuffers.identifier", "",
                      "file identifier \"FQKM\", expected \"FQKV\" (not a KvTensorShapeV1 FlatBuffer)");
}

BOOST_AUTO_TEST_CASE(outer_verifier_depth) {
    // The outer verifier's limits cover the embedded shapes: Manifest > LayerGroup > KvTensorShapeV1 is 3 deep.
    const Bytes b = build_manifest(groups());
    flatbuffers::Verifier deep_enough(b.data(), b.size(), 3);
    BOOST_TEST(mf::VerifyManifestBuffer(deep_enough));
    flatbuffers::Verifier too_shallow(b.data(), b.size(), 2);
    BOOST_TEST(!mf::VerifyManifestBuffer(too_shallow));
}

BOOST_AUTO_TEST_CASE(null_table_pointer) {
    CHECK_PARSE_ERROR(fqk::view_kv_tensor_shape_v1(static_cast<const fqk::fb::KvTensorShapeV1*>(nullptr)),
                      "flatbuffers.missing_field", "", "missing table KvTensorShapeV1");
}
