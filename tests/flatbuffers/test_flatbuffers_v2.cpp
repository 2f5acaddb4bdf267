// The FlatBuffers form of the v2 cache spec (composite schema): JSON -> FlatBuffers -> JSON byte-exact for
// several specs (optional fields present and absent, MLA, sliding window, chunked, linear, paged, quantized), a
// buffer written with flatc's own builder (an independent writer) read back, the one-pass reader held to the
// general path (flatc's Verifier first) on every buffer, and hostile buffers refused with typed errors:
// truncations, every byte changed, bad offsets, a group vector of 257, unknown enum codes, required fields left
// out, the wrong file identifier, verifier limits.
//
// The zero-copy view (view_kv_cache_spec_v2) is held to the decoder on every one of those buffers: it is made
// exactly when the decode succeeds (the same Error otherwise, by both of its paths), it copies out to the decoded
// spec, and validate(), validate_all(), digest(), the canonical encoding and the byte counts answer as they do
// for the decoded spec. Invalid specs (a window of 0, a repeated layer, a two-headed MLA group, a repeated
// dimension, counts past 2^64) get the same Errors and paths through the view, and the view reads its arrays in
// place.
#define BOOST_TEST_MODULE fib_quant_kv_flatbuffers_v2
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"

namespace fqk = fib_quant_kv;
namespace fb = fib_quant_kv::fb;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Valid specs, in the canonical JSON form (to_json's): each reads, writes as FlatBuffers and comes back as this text.
constexpr std::string_view kSpecs[] = {
    // sliding window (window present) and full (window absent); paged, stacked K and V
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":6,"batch":1,"tokens":1000,"groups":[{"layers":[0,1,2,3,4],"attention":"sliding_window","window":512,"kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"},{"layers":[5],"attention":"full","kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],"storage":{"dim_order":["kv","block","token","head","dim"],"packing":"stacked","block_size":16,"value_layout":"rows"},"quant":{"scheme":"none","dtype":"bf16","scale_granularity":"none"}})",
    // MLA, fp8 with per-tensor scales (scale_dtype present, group_size absent)
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":3,"batch":2,"tokens":100,"groups":[{"layers":[0,1,2],"attention":"mla","kv_lora_rank":512,"qk_rope_head_dim":64,"kv_heads":1,"key_head_dim":576,"value_head_dim":0,"rope_state":"post_rope"}],"storage":{"dim_order":["layer","batch","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},"quant":{"scheme":"fp8_e4m3","dtype":"bf16","scale_granularity":"tensor","scale_dtype":"f32"}})",
    // ggml q8_0, transposed V, layers out of order
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":2,"batch":1,"tokens":10,"groups":[{"layers":[1,0],"attention":"full","kv_heads":8,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],"storage":{"dim_order":["layer","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"transposed"},"quant":{"scheme":"q8_0","dtype":"f16","scale_granularity":"none"}})",
    // linear layers (state_bytes, a u64) beside a full one
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":3,"batch":3,"tokens":5,"groups":[{"layers":[0],"attention":"full","kv_heads":1,"key_head_dim":64,"value_head_dim":64,"rope_state":"pre_rope"},{"layers":[1,2],"attention":"linear","state_bytes":4294967296,"kv_heads":0,"key_head_dim":0,"value_head_dim":0,"rope_state":"not_applicable"}],"storage":{"dim_order":["layer","batch","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},"quant":{"scheme":"none","dtype":"f16","scale_granularity":"none"}})",
    // chunked local attention, int4 with group scales (group_size and scale_dtype present)
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":1,"batch":1,"tokens":1,"groups":[{"layers":[0],"attention":"chunked_local","chunk":8192,"kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],"storage":{"dim_order":["layer","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},"quant":{"scheme":"int4","dtype":"bf16","scale_granularity":"group","group_size":32,"scale_dtype":"f16"}})",
    // paged MLA with q4_k blocks and the imported enums' last values
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":2,"batch":4096,"tokens":4294967295,"groups":[{"layers":[1],"attention":"mla","kv_lora_rank":448,"qk_rope_head_dim":64,"kv_heads":1,"key_head_dim":512,"value_head_dim":0,"rope_state":"pre_rope"},{"layers":[0],"attention":"full","kv_heads":4,"key_head_dim":256,"value_head_dim":256,"rope_state":"post_rope"}],"storage":{"dim_order":["block","layer","head","token","dim"],"packing":"separate","block_size":64,"value_layout":"rows"},"quant":{"scheme":"q4_k","dtype":"f32","scale_granularity":"none"}})",
};

std::span<const std::uint8_t> as_span(const Bytes& b) { return {b.data(), b.size()}; }

fqk::KvCacheSpecV2 from_json(std::string_view json) {
    fqk::Result<fqk::KvCacheSpecV2> r = fqk::parse_kv_cache_spec_v2_json(json);
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? std::string() : r.error().describe()));
    return std::move(r).value();
}

/// `r` and `want` are the same answer: both ok with equal values, or the same Error.
template <class T>
void same_result(const fqk::Result<T>& r, const fqk::Result<T>& want) {
    BOOST_TEST_REQUIRE(r.ok() == want.ok());
    if (r.ok()) {
        BOOST_TEST((*r == *want));
    } else {
        BOOST_TEST((r.error() == want.error()), r.error().describe() << " vs " << want.error().describe());
    }
}
void same_status(const fqk::Status& a, const fqk::Status& b) {
    BOOST_TEST_REQUIRE(a.ok() == b.ok());
    if (!a.ok()) BOOST_TEST((a.error() == b.error()), a.error().describe() << " vs " << b.error().describe());
}

/// The view of `b` (by both of its paths) answers as the decoder's answer `decoded` does, in everything.
void view_agrees(const Bytes& b, const fqk::FlatBufferLimits& limits, const fqk::Result<fqk::KvCacheSpecV2>& decoded) {
    const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::view_kv_cache_spec_v2(as_span(b), limits);
    const fqk::Result<fqk::KvCacheSpecV2View> general = fqk::detail::view_kv_cache_spec_v2_general(as_span(b), limits);
    BOOST_TEST_REQUIRE(view.ok() == decoded.ok(), (view.ok() ? std::string("view ok") : view.error().describe()));
    BOOST_TEST_REQUIRE(general.ok() == decoded.ok());
    if (!decoded.ok()) {
        BOOST_TEST((view.error() == decoded.error()), view.error().describe() << " vs " << decoded.error().describe());
        BOOST_TEST((general.error() == decoded.error()));
        return;
    }
    const fqk::KvCacheSpecV2& spec = *decoded;
    BOOST_TEST((fqk::to_native(*view) == spec));
    BOOST_TEST((fqk::to_native(*general) == spec));
    same_status(fqk::validate(*view), fqk::validate(spec));
    BOOST_TEST((fqk::validate_all(*view) == fqk::validate_all(spec)));
    same_result(fqk::digest(*view), fqk::digest(spec));
    BOOST_TEST(fqk::canonical_encoding(*view) == fqk::canonical_encoding(spec));
    same_result(fqk::bytes_held(*view), fqk::bytes_held(spec));
    same_result(fqk::bytes_per_token(*view), fqk::bytes_per_token(spec));
    const fqk::Result<fqk::KvCacheSpecV2View> verified = fqk::verify_kv_cache_spec_v2_view(as_span(b), limits);
    BOOST_TEST_REQUIRE(verified.ok() == fqk::validate(spec).ok());
    if (!verified.ok()) BOOST_TEST((verified.error() == fqk::validate(spec).error()));
}

/// parse_kv_cache_spec_v2_flatbuffer(buffer), which verifies and decodes in one pass, held to the general
/// path's answer (flatc's Verifier over the whole buffer, then the decode) on every buffer a test hands it.
fqk::Result<fqk::KvCacheSpecV2> decode(const Bytes& b, const fqk::FlatBufferLimits& limits = {}) {
    fqk::Result<fqk::KvCacheSpecV2> one_pass = fqk::parse_kv_cache_spec_v2_flatbuffer(as_span(b), limits);
    const fqk::Result<fqk::KvCacheSpecV2> general = fqk::detail::parse_kv_cache_spec_v2_flatbuffer_general(as_span(b), limits);
    BOOST_TEST_REQUIRE(one_pass.ok() == general.ok(),
                       "one pass " << (one_pass.ok() ? "ok" : one_pass.error().describe()) << " vs general "
                                   << (general.ok() ? "ok" : general.error().describe()));
    if (one_pass.ok()) {
        BOOST_TEST((*one_pass == *general));
    } else {
        BOOST_TEST((one_pass.error() == general.error()),
                   one_pass.error().describe() << " vs the general path's " << general.error().describe());
        BOOST_TEST((one_pass.error().kind == fqk::ErrorKind::parse));
    }
    view_agrees(b, limits, one_pass);
    return one_pass;
}

fqk::Error decode_error(const Bytes& b, const fqk::FlatBufferLimits& limits = {}) {
    fqk::Result<fqk::KvCacheSpecV2> r = decode(b, limits);
    BOOST_TEST_REQUIRE(!r.ok());
    return std::move(r).error();
}

/// A spec written with flatc's own builder (not the library's writer): every field set, unless `leave_out`
/// names one of storage.packing, quant, groups[0].layers.
Bytes flatc_built(std::string_view leave_out = {}) {
    flatbuffers::FlatBufferBuilder b;
    const auto version = b.CreateString("fib_quant_kv_cache_spec_v2");
    const auto layers = b.CreateVector(std::vector<std::uint32_t>{0, 1});
    fb::KvLayerGroupBuilder g(b);
    if (leave_out != "groups[0].layers") g.add_layers(layers);
    g.add_attention(fb::KvLayerAttention::sliding_window);
    g.add_window(4096);
    g.add_kv_heads(8);
    g.add_key_head_dim(128);
    g.add_value_head_dim(128);
    g.add_rope_state(fb::KvRopeState::post_rope);
    const auto group = g.Finish();
    const auto groups = b.CreateVector(std::vector{group});
    const auto dims = b.CreateVector(std::vector<fb::KvDim>{fb::KvDim::layer, fb::KvDim::token, fb::KvDim::head, fb::KvDim::dim});
    fb::KvStorageBuilder s(b);
    s.add_dim_order(dims);
    if (leave_out != "storage.packing") s.add_packing(fb::KvPacking::separate);
    s.add_block_size(0);
    s.add_value_layout(fb::KvValueLayout::rows);
    const auto storage = s.Finish();
    fb::KvQuantizationBuilder q(b);
    q.add_scheme(fb::KvQuantScheme::int8);
    q.add_dtype(fb::KvDType::f16);
    q.add_scale_granularity(fb::KvScaleGranularity::token);
    q.add_scale_dtype(fb::KvDType::f32);
    const auto quant = q.Finish();
    fb::KvCacheSpecV2Builder root(b);
    root.add_schema_version(version);
    root.add_layers(2);
    root.add_batch(1);
    root.add_tokens(8192);
    root.add_groups(groups);
    root.add_storage(storage);
    if (leave_out != "quant") root.add_quant(quant);
    fb::FinishKvCacheSpecV2Buffer(b, root.Finish());
    return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

constexpr std::string_view kFlatcBuiltJson =
    R"({"schema_version":"fib_quant_kv_cache_spec_v2","layers":2,"batch":1,"tokens":8192,"groups":[{"layers":[0,1],"attention":"sliding_window","window":4096,"kv_heads":8,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],"storage":{"dim_order":["layer","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},"quant":{"scheme":"int8","dtype":"f16","scale_granularity":"token","scale_dtype":"f32"}})";

}  // namespace

BOOST_AUTO_TEST_CASE(json_to_flatbuffers_to_json_is_byte_exact) {
    for (const std::string_view json : kSpecs) {
        const fqk::KvCacheSpecV2 spec = from_json(json);
        BOOST_TEST_REQUIRE(fqk::validate(spec).ok(), json);
        const Bytes buffer = fqk::to_flatbuffer(spec);
        BOOST_TEST(std::string_view(reinterpret_cast<const char*>(buffer.data()) + 4, 4) == "FQK2");
        const fqk::Result<fqk::KvCacheSpecV2> back = decode(buffer);
        BOOST_TEST_REQUIRE(back.ok());
        BOOST_TEST(fqk::to_json(*back) == json);
        BOOST_TEST((fqk::to_flatbuffer(*back) == buffer));  // the writer is deterministic
        const fqk::Result<fqk::KvCacheSpecV2> verified = fqk::verify_kv_cache_spec_v2_buffer(as_span(buffer));
        BOOST_TEST_REQUIRE(verified.ok());
        BOOST_TEST((fqk::digest(*verified).value() == fqk::digest(spec).value()));
        // The root table of a verified buffer, as an embedding reader would hand it over.
        const fqk::Result<fqk::KvCacheSpecV2> table = fqk::parse_kv_cache_spec_v2_flatbuffer(fb::GetKvCacheSpecV2(buffer.data()));
        BOOST_TEST_REQUIRE(table.ok());
        BOOST_TEST((*table == spec));
    }
}

BOOST_AUTO_TEST_CASE(absent_is_not_zero) {
    fqk::KvCacheSpecV2 spec = from_json(kSpecs[0]);
    spec.groups[1].window = 0;  // present and zero: invalid, but it must come back as present and zero
    const Bytes buffer = fqk::to_flatbuffer(spec);
    const fqk::Result<fqk::KvCacheSpecV2> back = decode(buffer);
    BOOST_TEST_REQUIRE(back.ok());
    BOOST_TEST(back->groups[1].window.has_value());
    BOOST_TEST(*back->groups[1].window == 0u);
    BOOST_TEST(!back->groups[1].chunk.has_value());
    BOOST_TEST(!back->quant.group_size.has_value());
    BOOST_TEST(fqk::to_json(*back).find(R"("attention":"full","window":0,)") != std::string::npos);
    const fqk::Result<fqk::KvCacheSpecV2> verified = fqk::verify_kv_cache_spec_v2_buffer(as_span(buffer));
    BOOST_TEST_REQUIRE(!verified.ok());
    BOOST_TEST((verified.error() == fqk::validate(spec).error()));
}

BOOST_AUTO_TEST_CASE(a_buffer_from_flatcs_builder_reads) {
    const Bytes buffer = flatc_built();
    const fqk::Result<fqk::KvCacheSpecV2> spec = decode(buffer);
    BOOST_TEST_REQUIRE(spec.ok());
    BOOST_TEST(fqk::to_json(*spec) == kFlatcBuiltJson);
    BOOST_TEST(fqk::verify_kv_cache_spec_v2_buffer(as_span(buffer)).ok());
}

BOOST_AUTO_TEST_CASE(a_required_field_left_out_is_named) {
    const struct {
        std::string_view leave_out, path, field;
    } cases[] = {{"storage.packing", "storage.packing", "packing"},
                 {"quant", "quant", "quant"},
                 {"groups[0].layers", "groups[0].layers", "layers"}};
    for (const auto& c : cases) {
        const fqk::Error e = decode_error(flatc_built(c.leave_out));
        BOOST_TEST(e.rule == fqk::wire_rules::flatbuffers_missing_field);
        BOOST_TEST(e.path == c.path);
        BOOST_TEST_REQUIRE(e.fields.size() == 1u);
        BOOST_TEST(e.fields[0] == c.field);
        BOOST_TEST(e.message == "field `" + std::string(c.path) + "`: missing (the field is required)");
    }
}

BOOST_AUTO_TEST_CASE(unknown_enum_codes_are_refused) {
    {
        fqk::KvCacheSpecV2 spec = from_json(kSpecs[0]);
        spec.groups[1].attention = static_cast<fqk::KvLayerAttention>(9);
        const fqk::Error e = decode_error(fqk::to_flatbuffer(spec));
        BOOST_TEST(e.rule == fqk::wire_rules::flatbuffers_unknown_enum_code);
        BOOST_TEST(e.path == "groups[1].attention");
        BOOST_TEST(e.message ==
                   "field `groups[1].attention`: code 9 is not a value of enum KvLayerAttention (written by a newer schema?)");
    }
    {
        fqk::KvCacheSpecV2 spec = from_json(kSpecs[0]);
        spec.storage.dim_order[2] = static_cast<fqk::KvDim>(200);
        const fqk::Error e = decode_error(fqk::to_flatbuffer(spec));
        BOOST_TEST(e.rule == fqk::wire_rules::flatbuffers_unknown_enum_code);
        BOOST_TEST(e.path == "storage.dim_order[2]");
    }
    {
        fqk::KvCacheSpecV2 spec = from_json(kSpecs[1]);
        spec.quant.scale_dtype = static_cast<fqk::KvDType>(3);  // an imported enum (v1's KvDType), optional
        const fqk::Error e = decode_error(fqk::to_flatbuffer(spec));
        BOOST_TEST(e.rule == fqk::wire_rules::flatbuffers_unknown_enum_code);
        BOOST_TEST(e.path == "quant.scale_dtype");
        BOOST_TEST(e.message.find("enum KvDType") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(vectors_past_their_bound_are_refused) {
    fqk::KvCacheSpecV2 spec = from_json(kSpecs[2]);
    spec.groups.assign(257, spec.groups[0]);
    const fqk::Error e = decode_error(fqk::to_flatbuffer(spec));
    BOOST_TEST(e.rule == fqk::wire_rules::flatbuffers_invalid_length);
    BOOST_TEST(e.path == "groups");
    BOOST_TEST(e.message == "field `groups`: invalid length 257, expected at most 256 items");
    // The JSON reader refuses the same array with its own rule of the same kind.
    const fqk::Result<fqk::KvCacheSpecV2> json = fqk::parse_kv_cache_spec_v2_json(fqk::to_json(spec));
    BOOST_TEST_REQUIRE(!json.ok());
    BOOST_TEST(json.error().rule == fqk::wire_rules::json_invalid_length);
    BOOST_TEST((json.error().kind == e.kind));

    spec.groups.resize(256);  // at the bound: decodes (validate() then refuses the layer partition)
    BOOST_TEST(decode(fqk::to_flatbuffer(spec)).ok());

    fqk::KvCacheSpecV2 dims = from_json(kSpecs[0]);
    dims.storage.dim_order.assign(8, fqk::KvDim::dim);
    const fqk::Error d = decode_error(fqk::to_flatbuffer(dims));
    BOOST_TEST(d.path == "storage.dim_order");
    BOOST_TEST(d.rule == fqk::wire_rules::flatbuffers_invalid_length);
}

BOOST_AUTO_TEST_CASE(frames_offsets_and_limits) {
    const Bytes good = fqk::to_flatbuffer(from_json(kSpecs[0]));
    {
        Bytes b = good;
        b[0] = 0xF0;
        b[1] = 0xFF;
        b[2] = 0xFF;
        b[3] = 0x7F;  // root offset far past the end
        BOOST_TEST(decode_error(b).rule == fqk::wire_rules::flatbuffers_verify);
    }
    {
        const Bytes v1 = fqk::to_flatbuffer(fqk::KvTensorShapeV1{});
        BOOST_TEST(decode_error(v1).rule == fqk::wire_rules::flatbuffers_identifier);
    }
    BOOST_TEST(decode_error(Bytes{1, 2, 3}).rule == fqk::wire_rules::flatbuffers_size);
    fqk::FlatBufferLimits shallow;
    shallow.max_depth = 1;  // the root table alone; its groups are one deeper
    BOOST_TEST(decode_error(good, shallow).rule == fqk::wire_rules::flatbuffers_verify);
    fqk::FlatBufferLimits few;
    few.max_tables = 4;  // root, two groups, storage, quant: five
    BOOST_TEST(decode_error(good, few).rule == fqk::wire_rules::flatbuffers_verify);
    few.max_tables = 5;
    BOOST_TEST(decode(good, few).ok());
}

BOOST_AUTO_TEST_CASE(every_truncation_and_every_changed_byte) {
    for (const std::string_view json : kSpecs) {
        const Bytes good = fqk::to_flatbuffer(from_json(json));
        for (std::size_t n = 0; n < good.size(); ++n) {
            const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
            // Cut into any object: refused. Only alignment padding after the last object may go unnoticed.
            const fqk::Result<fqk::KvCacheSpecV2> r = decode(cut);
            if (r.ok()) BOOST_TEST(fqk::to_json(*r) == json);
            BOOST_TEST((!r.ok() || good.size() - n <= 3));
        }
        for (std::size_t i = 0; i < good.size(); ++i) {
            for (const std::uint8_t v : {std::uint8_t{0}, std::uint8_t{0xFF}, static_cast<std::uint8_t>(good[i] ^ 1u),
                                         static_cast<std::uint8_t>(good[i] ^ 0x80u), std::uint8_t{9}}) {
                Bytes b = good;
                b[i] = v;
                const fqk::Result<fqk::KvCacheSpecV2> r = decode(b);  // both paths agree; nothing crashes
                if (r.ok()) {
                    const fqk::Result<fqk::KvCacheSpecV2> again = decode(fqk::to_flatbuffer(*r));
                    BOOST_TEST_REQUIRE(again.ok());
                    BOOST_TEST((*again == *r));
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------ the zero-copy view

namespace {

/// `json` with its first `from` replaced by `to` (the test fails if there is none).
std::string edit(std::string_view json, std::string_view from, std::string_view to) {
    std::string text(json);
    const std::size_t at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, from);
    text.replace(at, from.size(), to);
    return text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_view_reads_fields_in_place) {
    const Bytes buffer = fqk::to_flatbuffer(from_json(kSpecs[0]));
    const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::view_kv_cache_spec_v2(as_span(buffer));
    BOOST_TEST_REQUIRE(view.ok());
    const fqk::KvCacheSpecV2View& v = *view;
    BOOST_TEST(v.schema_version == "fib_quant_kv_cache_spec_v2");
    BOOST_TEST(v.layers == 6u);
    BOOST_TEST(v.tokens == 1000u);
    BOOST_TEST_REQUIRE(v.groups.size() == 2u);
    const fqk::KvLayerGroupView g0 = v.groups[0];
    BOOST_TEST((g0.attention == fqk::KvLayerAttention::sliding_window));
    BOOST_TEST_REQUIRE(g0.window.has_value());
    BOOST_TEST(*g0.window == 512u);
    BOOST_TEST(!v.groups[1].window.has_value());  // absent is not zero, in the view too
    BOOST_TEST((std::vector<std::uint32_t>(g0.layers.begin(), g0.layers.end()) == std::vector<std::uint32_t>{0, 1, 2, 3, 4}));
    // In place: the string and the arrays point into the buffer, not into copies.
    const auto inside = [&](const void* p) {
        const auto* q = static_cast<const std::uint8_t*>(p);
        return q >= buffer.data() && q < buffer.data() + buffer.size();
    };
    BOOST_TEST(inside(v.schema_version.data()));
    BOOST_TEST(inside(g0.layers.bytes()));
    BOOST_TEST(inside(v.storage.dim_order.bytes()));
    BOOST_TEST((std::vector<fqk::KvDim>(v.storage.dim_order.begin(), v.storage.dim_order.end()) ==
                std::vector<fqk::KvDim>{fqk::KvDim::kv, fqk::KvDim::block, fqk::KvDim::token, fqk::KvDim::head,
                                        fqk::KvDim::dim}));
    BOOST_TEST((v.quant.dtype == fqk::KvDType::bf16));  // a struct of scalars is its own view
    // 6 layers of 5 sliding (512 of 1000 tokens held, in blocks of 16: 512) and 1 full (1000 in 63 blocks: 1008),
    // 2 heads of 128 bf16 channels for K and for V: 1024 bytes a token a layer.
    BOOST_TEST(fqk::bytes_held(v).value() == (5u * 512u + 1u * 1008u) * 1024u);
    BOOST_TEST(fqk::bytes_per_token(v).value() == 6u * 1024u);
    // The root table of a verified buffer, as an embedding reader would hand it over.
    const fqk::Result<fqk::KvCacheSpecV2View> table = fqk::view_kv_cache_spec_v2(fb::GetKvCacheSpecV2(buffer.data()));
    BOOST_TEST_REQUIRE(table.ok());
    BOOST_TEST((fqk::to_native(*table) == from_json(kSpecs[0])));
    BOOST_TEST((fqk::view_kv_cache_spec_v2(static_cast<const fb::KvCacheSpecV2*>(nullptr)).error().kind ==
                fqk::ErrorKind::parse));
}

BOOST_AUTO_TEST_CASE(invalid_specs_get_the_same_errors_through_the_view) {
    const std::string cases[] = {
        edit(kSpecs[0], R"("window":512)", R"("window":0)"),                                  // a window of 0
        edit(kSpecs[0], R"("layers":[0,1,2,3,4])", R"("layers":[0,1,2,3,3])"),                // a repeated layer
        edit(kSpecs[1], R"("kv_heads":1)", R"("kv_heads":2)"),                                // MLA with two heads
        edit(kSpecs[0], R"(["kv","block","token","head","dim"])", R"(["kv","block","token","head","head"])"),
        edit(kSpecs[5], R"("batch":4096)", R"("batch":4294967295)"),                          // bytes past 2^64
        edit(kSpecs[0], R"("fib_quant_kv_cache_spec_v2")", R"("fib_quant_kv_cache_spec_v3")"),
        edit(kSpecs[4], R"("group_size":32)", R"("group_size":48)"),                          // 128 % 48 != 0
    };
    for (const std::string& json : cases) {
        const fqk::KvCacheSpecV2 spec = from_json(json);
        const fqk::Status want = fqk::validate(spec);
        BOOST_TEST_REQUIRE(!want.ok(), json);
        const Bytes buffer = fqk::to_flatbuffer(spec);
        const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::view_kv_cache_spec_v2(as_span(buffer));
        BOOST_TEST_REQUIRE(view.ok());  // well-formed, only invalid
        const fqk::Status got = fqk::validate(*view);
        BOOST_TEST_REQUIRE(!got.ok());
        BOOST_TEST((got.error() == want.error()), got.error().describe() << " vs " << want.error().describe());
        BOOST_TEST((fqk::validate_all(*view) == fqk::validate_all(spec)));
        BOOST_TEST((fqk::digest(*view).error() == want.error()));
        BOOST_TEST((fqk::verify_kv_cache_spec_v2_view(as_span(buffer)).error() == want.error()));
    }
    // The paths: worked out here from the edits above.
    const Bytes window = fqk::to_flatbuffer(from_json(cases[0]));
    BOOST_TEST(fqk::validate(*fqk::view_kv_cache_spec_v2(as_span(window))).error().path == "groups[0].window");
    const Bytes mla = fqk::to_flatbuffer(from_json(cases[2]));
    BOOST_TEST(fqk::validate(*fqk::view_kv_cache_spec_v2(as_span(mla))).error().path == "groups[0].kv_heads");
    const Bytes overflow = fqk::to_flatbuffer(from_json(cases[4]));
    BOOST_TEST((fqk::validate(*fqk::view_kv_cache_spec_v2(as_span(overflow))).error().kind ==
                fqk::ErrorKind::resource_limit_exceeded));
}

BOOST_AUTO_TEST_CASE(many_layers_partitioned_through_the_view) {
    // 96 layers in twelve interleaved groups: past the 64-bit fast path of the partition rule, and past the items
    // the view keeps from its reading (the rest are made from their tables when read). Then one layer moved to
    // make a repeat, and one missing.
    static_assert(fqk::TableVectorView<fqk::KvLayerGroupView>::kCached < 12);
    fqk::KvCacheSpecV2 spec = from_json(kSpecs[0]);
    spec.layers = 96;
    spec.groups.resize(12, spec.groups[1]);
    for (auto& g : spec.groups) g.layers.clear();
    for (std::uint32_t l = 0; l < 96; ++l) spec.groups[l % 12].layers.push_back(l);
    spec.groups[11].attention = fqk::KvLayerAttention::sliding_window;  // the last group differs
    spec.groups[11].window = 77;
    BOOST_TEST_REQUIRE(fqk::validate(spec).ok());
    const Bytes ok = fqk::to_flatbuffer(spec);
    BOOST_TEST(decode(ok).ok());
    const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::view_kv_cache_spec_v2(as_span(ok));
    BOOST_TEST_REQUIRE(view.ok());
    BOOST_TEST_REQUIRE(view->groups.size() == 12u);
    for (std::size_t i = 0; i < 12; ++i) {
        const fqk::KvLayerGroupView g = view->groups[i];
        BOOST_TEST((fqk::to_native(g) == spec.groups[i]), i);
        BOOST_TEST(g.layers.size() == 8u);
        BOOST_TEST(g.layers[7] == 84u + i);  // layer i + 12 k, k = 7
    }
    BOOST_TEST(*view->groups[11].window == 77u);
    spec.groups[2].layers[5] = 0;  // layer 0 twice, 62 missing
    const Bytes bad = fqk::to_flatbuffer(spec);
    const fqk::Result<fqk::KvCacheSpecV2> decoded = decode(bad);
    BOOST_TEST_REQUIRE(decoded.ok());
    BOOST_TEST(fqk::validate(*fqk::view_kv_cache_spec_v2(as_span(bad))).error().path == "groups");
}
