// The descriptor's wire forms as a library module (fib_quant_kv/formats/descriptor_io.hpp): the form table,
// detection by content, read and write in every form, round trips, and errors that name the form's rules.
#define BOOST_TEST_MODULE formats
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <span>
#include <variant>
#include <vector>

#include "fib_quant_kv/formats/descriptor_io.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "test_shapes.hpp"
#include "test_support.hpp"

using namespace fib_quant_kv;
using formats::DescriptorForm;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

}  // namespace

BOOST_AUTO_TEST_CASE(form_table_names_and_parsing) {
    BOOST_TEST(formats::kDescriptorForms.size() == 2U);
    for (std::size_t i = 0; i < formats::kDescriptorForms.size(); ++i) {
        const formats::DescriptorFormInfo& info = formats::kDescriptorForms[i];
        BOOST_TEST(static_cast<std::size_t>(info.form) == i);  // in enum order
        BOOST_TEST(formats::to_string(info.form) == info.name);
        BOOST_TEST((formats::parse_descriptor_form(info.name) == info.form));
        BOOST_TEST((formats::parse_descriptor_form(info.short_name) == info.form));
    }
    BOOST_TEST(formats::to_string(DescriptorForm::flatbuffer) == "flatbuffer");
    BOOST_TEST((formats::parse_descriptor_form("fb") == DescriptorForm::flatbuffer));
    BOOST_TEST(!formats::parse_descriptor_form("xml").has_value());
    BOOST_TEST(!formats::parse_descriptor_form("").has_value());
    BOOST_TEST(formats::to_string(static_cast<DescriptorForm>(7)).empty());
}

BOOST_AUTO_TEST_CASE(detect_by_content) {
    const std::vector<std::uint8_t> fb = to_flatbuffer(test_shapes::mha_key());
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(fb) == DescriptorForm::flatbuffer));
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes_of(" \t\r\n{")) == DescriptorForm::json));
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes_of("[1]")) == DescriptorForm::json));
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes_of("")) == DescriptorForm::json));
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes_of("nope")) == DescriptorForm::json));  // text
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes_of(std::string_view("ab\0", 3))) ==
                DescriptorForm::flatbuffer));  // binary
    // JSON wins when the text starts like a descriptor, whatever bytes 4..8 hold.
    BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes_of("{   FQKV")) == DescriptorForm::json));
    // Another schema's identifier is its own.
    BOOST_TEST((formats::detect_descriptor_form(fb, "ABCD") == DescriptorForm::flatbuffer));  // has a NUL
    BOOST_TEST((formats::detect_descriptor_form(bytes_of("xxxxABCD"), "ABCD") == DescriptorForm::flatbuffer));
    BOOST_TEST((formats::detect_descriptor_form(bytes_of("xxxxABCD"), "FQKV") == DescriptorForm::json));
}

BOOST_AUTO_TEST_CASE(write_then_read_every_form) {
    for (const KvTensorShapeV1& shape : {test_shapes::mha_key(), test_shapes::gqa_value(), test_shapes::mqa_key()}) {
        for (const formats::DescriptorFormInfo& info : formats::kDescriptorForms) {
            BOOST_TEST_CONTEXT(info.name) {
                std::vector<std::uint8_t> bytes = formats::write_kv_tensor_shape_v1(info.form, shape);
                BOOST_TEST((formats::detect_kv_tensor_shape_v1_form(bytes) == info.form));
                const Result<KvTensorShapeV1> read = formats::read_kv_tensor_shape_v1(info.form, bytes);
                BOOST_TEST_REQUIRE(static_cast<bool>(read));
                BOOST_TEST((*read == shape));
                std::vector<char> scratch(bytes.begin(), bytes.end());
                const Result<KvTensorShapeV1> in_place = formats::read_kv_tensor_shape_v1_in_place(info.form, scratch);
                BOOST_TEST_REQUIRE(static_cast<bool>(in_place));
                BOOST_TEST((*in_place == shape));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(written_bytes_are_the_generated_writers) {
    const KvTensorShapeV1 shape = test_shapes::gqa_value();
    const std::vector<std::uint8_t> json = formats::write_kv_tensor_shape_v1(DescriptorForm::json, shape);
    BOOST_TEST(std::string(json.begin(), json.end()) == to_json(shape) + "\n");
    BOOST_TEST((formats::write_kv_tensor_shape_v1(DescriptorForm::flatbuffer, shape) == to_flatbuffer(shape)));
    BOOST_TEST(formats::write_kv_tensor_shape_v1(static_cast<DescriptorForm>(7), shape).empty());
}

BOOST_AUTO_TEST_CASE(read_decodes_without_validating) {
    KvTensorShapeV1 shape = test_shapes::mha_key();
    shape.query_heads = 3;  // breaks mha.heads_equal
    for (const formats::DescriptorFormInfo& info : formats::kDescriptorForms) {
        const std::vector<std::uint8_t> bytes = formats::write_kv_tensor_shape_v1(info.form, shape);
        const Result<KvTensorShapeV1> read = formats::read_kv_tensor_shape_v1(info.form, bytes);
        BOOST_TEST_REQUIRE(static_cast<bool>(read));
        BOOST_TEST(validate(*read).error().rule == "mha.heads_equal");
    }
}

BOOST_AUTO_TEST_CASE(errors_name_the_form_rules) {
    const Result<KvTensorShapeV1> json = formats::read_kv_tensor_shape_v1(DescriptorForm::json, bytes_of("nope"));
    BOOST_TEST_REQUIRE(!json);
    BOOST_TEST(json.error().rule == wire_rules::json_syntax);
    const std::vector<std::uint8_t> fb = to_flatbuffer(test_shapes::mha_key());
    const std::vector<std::uint8_t> short_fb(fb.begin(), fb.begin() + 6);
    const Result<KvTensorShapeV1> cut = formats::read_kv_tensor_shape_v1(DescriptorForm::flatbuffer, short_fb);
    BOOST_TEST_REQUIRE(!cut);
    BOOST_TEST(cut.error().rule == wire_rules::flatbuffers_size);
    const Result<KvTensorShapeV1> unknown = formats::read_kv_tensor_shape_v1(static_cast<DescriptorForm>(7), fb);
    BOOST_TEST_REQUIRE(!unknown);
    BOOST_TEST(unknown.error().rule == formats::kUnknownDescriptorFormRule);
    BOOST_TEST(unknown.error().message == "descriptor form code 7 is not a form of this library");
}

// ---- the descriptor registry: any schema's descriptor, told apart by content and read through one face

namespace {

// A v2 cache spec (schema/kv_cache_spec_v2.yaml), written out: one full-attention group of one layer.
const std::string kSpecV2 =
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":1,"batch":1,"tokens":8,"groups":[)"
    R"({"layers":[0],"attention":"full","kv_heads":2,"key_head_dim":64,"value_head_dim":64,"rope_state":"post_rope"}],)"
    R"("storage":{"dim_order":["layer","batch","token","head","dim"],"packing":"separate","block_size":0,)"
    R"("value_layout":"rows"},"quant":{"scheme":"none","dtype":"f16","scale_granularity":"none"}})";

Result<AnyDescriptor> read_any(std::string text) {
    const DescriptorForm form = formats::detect_any_descriptor_form(bytes_of(text));
    return formats::read_descriptor_in_place(form, std::span<char>(text));
}

}  // namespace

BOOST_AUTO_TEST_CASE(registry_rows_follow_the_library_document) {
    // schema/library.yaml lists v1 then v2; each row carries its schema's id, root type and file identifier.
    BOOST_TEST(std::variant_size_v<AnyDescriptor> == 2U);
    BOOST_TEST(formats::schema_index<KvTensorShapeV1>() == 0U);
    BOOST_TEST(formats::schema_index<KvCacheSpecV2>() == 1U);
    BOOST_TEST(kSchemaIds[0] == "fib_quant_kv_tensor_shape_v1");
    BOOST_TEST(kSchemaIds[1] == "fib_quant_kv_cache_spec_v2");
    BOOST_TEST(SchemaTraits<KvTensorShapeV1>::file_identifier == kKvTensorShapeV1FileIdentifier);
    BOOST_TEST(SchemaTraits<KvCacheSpecV2>::type_name == "KvCacheSpecV2");
    BOOST_TEST(SchemaTraits<KvCacheSpecV2>::file_identifier == "FQK2");
}

BOOST_AUTO_TEST_CASE(registry_reads_each_schema_by_what_it_claims) {
    const KvTensorShapeV1 v1 = test_shapes::mha_key();
    // v1, JSON and FlatBuffer: the first row, equal to the shape written.
    for (const DescriptorForm form : {DescriptorForm::json, DescriptorForm::flatbuffer}) {
        const std::vector<std::uint8_t> bytes = formats::write_kv_tensor_shape_v1(form, v1);
        BOOST_TEST(formats::descriptor_schema_index(form, bytes) == 0U);
        const Result<AnyDescriptor> read = read_any(std::string(bytes.begin(), bytes.end()));
        BOOST_TEST_REQUIRE(static_cast<bool>(read));
        BOOST_TEST_REQUIRE(std::holds_alternative<KvTensorShapeV1>(*read));
        BOOST_TEST((std::get<KvTensorShapeV1>(*read) == v1));
    }
    // v2 JSON: the second row; written back byte for byte (canonical JSON and a newline).
    BOOST_TEST(formats::descriptor_schema_index(DescriptorForm::json, bytes_of(kSpecV2)) == 1U);
    const Result<AnyDescriptor> spec = read_any(kSpecV2);
    BOOST_TEST_REQUIRE(static_cast<bool>(spec));
    BOOST_TEST_REQUIRE(std::holds_alternative<KvCacheSpecV2>(*spec));
    BOOST_TEST(std::get<KvCacheSpecV2>(*spec).groups.size() == 1U);
    const Result<std::vector<std::uint8_t>> json = formats::write_descriptor(DescriptorForm::json, *spec);
    BOOST_TEST_REQUIRE(static_cast<bool>(json));
    BOOST_TEST(std::string(json->begin(), json->end()) == kSpecV2 + "\n");
    // The v2 id as a value elsewhere does not make a v1 document v2: only the top-level schema_version counts.
    const std::string v1_json = to_json(v1);
    std::string mentions = v1_json;
    mentions.insert(1, R"("note":"fib_quant_kv_cache_spec_v2",)");
    BOOST_TEST(formats::descriptor_schema_index(DescriptorForm::json, bytes_of(mentions)) == 0U);
    // A schema_version no row has falls to the first schema, whose reader names it.
    std::string other = kSpecV2;
    other.replace(other.find("cache_spec_v2"), 13, "cache_spec_v9");
    BOOST_TEST(formats::descriptor_schema_index(DescriptorForm::json, bytes_of(other)) == 0U);
}

BOOST_AUTO_TEST_CASE(registry_errors_are_typed) {
    // A v2 document that does not decode: v2's reader names the field.
    std::string bad = kSpecV2;
    bad.replace(bad.find(R"("tokens":8)"), 10, R"("tokens":-8)");
    BOOST_TEST(formats::descriptor_schema_index(DescriptorForm::json, bytes_of(bad)) == 1U);
    const Result<AnyDescriptor> read = read_any(bad);
    BOOST_TEST_REQUIRE(!read);
    BOOST_TEST((read.error().kind == ErrorKind::parse));
    BOOST_TEST(read.error().describe().find("tokens") != std::string::npos);
    // An unknown form code is a parse error with the form rule, for any schema.
    const Result<std::vector<std::uint8_t>> unknown =
        formats::write_descriptor(static_cast<DescriptorForm>(7), AnyDescriptor(test_shapes::mha_key()));
    BOOST_TEST_REQUIRE(!unknown);
    BOOST_TEST(unknown.error().rule == formats::kUnknownDescriptorFormRule);
}

BOOST_AUTO_TEST_CASE(registry_reads_and_writes_v2_flatbuffers) {
    const Result<AnyDescriptor> spec = read_any(kSpecV2);
    BOOST_TEST_REQUIRE(static_cast<bool>(spec));
    const Result<std::vector<std::uint8_t>> fb = formats::write_descriptor(DescriptorForm::flatbuffer, *spec);
    BOOST_TEST_REQUIRE(static_cast<bool>(fb));
    // FlatBuffers: the schema's file identifier sits at bytes 4..8 (schema/kv_cache_spec_v2.yaml: FQK2).
    BOOST_TEST_REQUIRE(fb->size() > 8U);
    BOOST_TEST(std::string(fb->begin() + 4, fb->begin() + 8) == "FQK2");
    BOOST_TEST((formats::detect_any_descriptor_form(*fb) == DescriptorForm::flatbuffer));
    BOOST_TEST(formats::descriptor_schema_index(DescriptorForm::flatbuffer, *fb) == 1U);
    const Result<AnyDescriptor> back = read_any(std::string(fb->begin(), fb->end()));
    BOOST_TEST_REQUIRE(static_cast<bool>(back));
    BOOST_TEST((*back == *spec));
    // A v2 buffer cut short is v2's reader's typed error, not v1's.
    const Result<AnyDescriptor> cut = read_any(std::string(fb->begin(), fb->begin() + 12));
    BOOST_TEST_REQUIRE(!cut);
    BOOST_TEST((cut.error().kind == ErrorKind::parse));
}
