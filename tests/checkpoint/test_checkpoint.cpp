// Checkpoints: the hostile-file table (every file built byte by byte here), round trips attach -> read ->
// verify -> detach for safetensors and GGUF with byte-exact checks, verify's every kind of disagreement, refusals
// that leave nothing behind, and peak RSS while attaching to a 1 GiB sparse file.
#define BOOST_TEST_MODULE checkpoint
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "bytes.hpp"
#include "test_support.hpp"
#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/formats/checkpoint.hpp"
#include "fib_quant_kv/formats/gguf.hpp"
#include "fib_quant_kv/formats/safetensors.hpp"

namespace fs = std::filesystem;
namespace ck = fib_quant_kv::checkpoint;
using fib_quant_kv::ErrorKind;
using namespace ckpt_test;
using fib_quant_kv::test::AsNobody;
using fib_quant_kv::test::slurp;
using fib_quant_kv::test::TempDir;

namespace {

std::span<const std::uint8_t> span_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

fib_quant_kv::KvTensorShapeV1 shape(std::uint32_t layers, std::uint32_t kv_heads, std::uint32_t tokens,
                                    std::uint32_t head_dim, fib_quant_kv::KvDType dtype) {
    return {.role = fib_quant_kv::KvRole::key, .attention_kind = fib_quant_kv::KvAttentionKind::gqa, .batch = 1,
            .layers = layers, .kv_heads = kv_heads, .query_heads = kv_heads * 2, .tokens = tokens,
            .head_dim = head_dim, .dtype = dtype, .rope_state = fib_quant_kv::KvRopeState::post_rope};
}

// ---------------------------------------------------------------------------------------------- hostile files
struct Hostile {
    const char* name;
    std::string bytes;
    ErrorKind kind;
    std::string_view rule;
    const char* fragment;
};

std::string st_json(std::string_view json, std::size_t data = 0) { return safetensors_file(json, std::string(data, 'x')); }

std::string gguf_pre(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
    Bytes b;
    b.raw("GGUF").u32(version).u64(tensors).u64(kvs);
    return b.s;
}

std::vector<Hostile> hostile_files() {
    namespace S = ck::safetensors::rules;
    namespace G = ck::gguf::rules;
    std::vector<Hostile> t;
    // safetensors
    t.push_back({"st: shorter than the length", "\x05\0\0", ErrorKind::parse, S::header_length, "fewer than the 8-byte"});
    t.push_back({"st: length past the file", Bytes().u64(1000).raw("{}").s, ErrorKind::parse, S::header_length, "past the end of the file"});
    t.push_back({"st: length over the cap", Bytes().u64(200'000'000).raw("{}").s, ErrorKind::resource_limit_exceeded, S::header_cap, "over the cap"});
    t.push_back({"st: length 2^64-1", Bytes().u64(~0ULL).raw("{}").s, ErrorKind::resource_limit_exceeded, S::header_cap, "over the cap"});
    t.push_back({"st: not JSON", st_json("{abc"), ErrorKind::parse, S::json, "not UTF-8 JSON"});
    t.push_back({"st: not UTF-8", st_json("{\"\xff\xfe\":1}"), ErrorKind::parse, S::json, "not UTF-8 JSON"});
    t.push_back({"st: lone surrogate in a metadata value", st_json(R"({"__metadata__":{"a":"x\udc00"}})"), ErrorKind::parse, S::json, "lone surrogate"});
    t.push_back({"st: trailing garbage", st_json("{} x"), ErrorKind::parse, S::json, "not UTF-8 JSON"});
    t.push_back({"st: an array", st_json("[1,2]"), ErrorKind::parse, S::header_object, "not a JSON object"});
    t.push_back({"st: 100000 nested arrays", st_json(std::string(100000, '[') + std::string(100000, ']')), ErrorKind::parse, S::header_object, "not a JSON object"});
    t.push_back({"st: metadata value not a string", st_json(R"({"__metadata__":{"a":1}})"), ErrorKind::parse, S::metadata, "`a` is not a string"});
    t.push_back({"st: metadata not an object", st_json(R"({"__metadata__":["a"]})"), ErrorKind::parse, S::metadata, "not an object"});
    t.push_back({"st: entry not an object", st_json(R"({"t":1})"), ErrorKind::parse, S::tensor_entry, "tensor `t`: not an object"});
    t.push_back({"st: entry without data_offsets", st_json(R"({"t":{"dtype":"F16","shape":[1]}})"), ErrorKind::parse, S::tensor_entry, "missing field `data_offsets`"});
    t.push_back({"st: negative dim", st_json(R"({"t":{"dtype":"F16","shape":[-1],"data_offsets":[0,2]}})", 2), ErrorKind::parse, S::tensor_entry, "`shape`"});
    t.push_back({"st: unknown dtype", st_json(R"({"t":{"dtype":"F17","shape":[1],"data_offsets":[0,2]}})", 2), ErrorKind::parse, S::dtype, "unknown dtype `F17`"});
    t.push_back({"st: offsets reversed", st_json(R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}})", 4), ErrorKind::corrupt_payload, S::offsets_reversed, "are reversed"});
    t.push_back({"st: offsets past the data", st_json(R"({"t":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 4), ErrorKind::corrupt_payload, S::offsets_range, "past the data section"});
    t.push_back({"st: offsets overlap", st_json(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 6), ErrorKind::corrupt_payload, S::offsets_overlap, "tensor `b`"});
    t.push_back({"st: gap between tensors", st_json(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}})", 10), ErrorKind::corrupt_payload, S::offsets_gap, "[4, 6)"});
    t.push_back({"st: gap at the end", st_json(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 8), ErrorKind::corrupt_payload, S::offsets_gap, "at the end"});
    t.push_back({"st: shape product overflows", st_json(R"({"t":{"dtype":"F16","shape":[4294967296,4294967296,2],"data_offsets":[0,2]}})", 2), ErrorKind::resource_limit_exceeded, S::shape_overflow, "64 bits"});
    t.push_back({"st: shape disagrees with the range", st_json(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4), ErrorKind::corrupt_payload, S::byte_length, "is 8 bytes, data_offsets hold 4"});
    t.push_back({"st: duplicate tensor", st_json(R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"t":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4), ErrorKind::parse, S::duplicate_name, "`t` appears twice"});
    // GGUF
    // Not the GGUF magic: read as safetensors, whose length "GGUX\3\0\0\0" is over the cap.
    t.push_back({"gguf: bad magic", Bytes().raw("GGUX").u32(3).u64(0).u64(0).s, ErrorKind::resource_limit_exceeded, S::header_cap, "over the cap"});
    t.push_back({"gguf: version 1", gguf_pre(0, 0, 1), ErrorKind::parse, G::version, "version 1 is not supported"});
    t.push_back({"gguf: big-endian version 3", gguf_pre(0, 0, 0x03000000), ErrorKind::parse, G::version, "big-endian"});
    t.push_back({"gguf: truncated preamble", Bytes().raw("GGUF").u32(3).s, ErrorKind::parse, G::truncated, "24-byte preamble"});
    t.push_back({"gguf: kv_count past the file", gguf_pre(0, 1ULL << 60), ErrorKind::parse, G::kv_count, "kv_count 1152921504606846976"});
    t.push_back({"gguf: tensor_count past the file", gguf_pre(1ULL << 62, 0) + std::string(64, '\0'), ErrorKind::parse, G::tensor_count, "tensor_count"});
    t.push_back({"gguf: key length past the file", gguf_pre(0, 1) + Bytes().u64(1ULL << 62).raw("abcdefgh").s, ErrorKind::parse, G::string_length, "a key: string length 4611686018427387904"});
    t.push_back({"gguf: string value past the file", gguf_pre(0, 1) + Bytes().str("k").u32(T_STR).u64(100).raw("abc").s, ErrorKind::parse, G::string_length, "a string value"});
    t.push_back({"gguf: u8 array past the file", gguf_pre(0, 1) + Bytes().str("k").u32(T_ARR).u32(T_U8).u64(1ULL << 40).raw("abc").s, ErrorKind::parse, G::array_length, "array of 1099511627776 uint8"});
    t.push_back({"gguf: string array past the file", gguf_pre(0, 1) + Bytes().str("k").u32(T_ARR).u32(T_STR).u64(1000).str("a").s, ErrorKind::parse, G::array_length, "string elements"});
    t.push_back({"gguf: array string past the file", gguf_pre(0, 1) + Bytes().str("k").u32(T_ARR).u32(T_STR).u64(2).str("a").u64(99).raw("b").s, ErrorKind::parse, G::string_length, "an array's string"});
    {
        Bytes deep;
        deep.str("k").u32(T_ARR);
        for (int i = 0; i < 40; ++i) deep.u32(T_ARR).u64(1);
        deep.u32(T_U8).u64(0);
        t.push_back({"gguf: arrays nested 40 deep", gguf_pre(0, 1) + deep.s, ErrorKind::resource_limit_exceeded, G::array_depth, "nested deeper than 16"});
    }
    t.push_back({"gguf: unknown value type", gguf_pre(0, 1) + Bytes().str("k").u32(13).u64(0).s, ErrorKind::parse, G::value_type, "unknown value type 13"});
    t.push_back({"gguf: unknown array element type", gguf_pre(0, 1) + Bytes().str("k").u32(T_ARR).u32(99).u64(0).s, ErrorKind::parse, G::value_type, "unknown value type 99"});
    t.push_back({"gguf: file ends inside a value", gguf_pre(0, 1) + Bytes().str("k").u32(T_U64).u32(7).s, ErrorKind::parse, G::truncated, "in a value"});
    t.push_back({"gguf: duplicate key", gguf_file({kv_u32("k", 1), kv_u32("k", 2)}, {}, ""), ErrorKind::parse, G::duplicate_key, "`k` appears twice"});
    t.push_back({"gguf: alignment 3", gguf_file({kv_u32("general.alignment", 3)}, {}, ""), ErrorKind::parse, G::alignment, "power of two"});
    t.push_back({"gguf: alignment as u64", gguf_file({Bytes().str("general.alignment").u32(T_U64).u64(32).s}, {}, ""), ErrorKind::parse, G::alignment, "uint32"});
    t.push_back({"gguf: 5 dims", gguf_file({}, {tensor_info("t", {1, 1, 1, 1, 1}, 0, 0)}, std::string(4, 'x')), ErrorKind::parse, G::n_dims, "5 dims, more than 4"});
    t.push_back({"gguf: dim past INT64_MAX", gguf_file({}, {tensor_info("t", {1ULL << 63}, 0, 0)}, ""), ErrorKind::parse, G::dims, "INT64_MAX"});
    t.push_back({"gguf: removed tensor type 4", gguf_file({}, {tensor_info("t", {32}, 4, 0)}, std::string(32, 'x')), ErrorKind::parse, G::tensor_type, "unknown ggml type 4"});
    t.push_back({"gguf: unknown tensor type 200", gguf_file({}, {tensor_info("t", {1}, 200, 0)}, std::string(32, 'x')), ErrorKind::parse, G::tensor_type, "unknown ggml type 200"});
    t.push_back({"gguf: shape product overflows", gguf_file({}, {tensor_info("t", {1ULL << 40, 1ULL << 40}, 0, 0)}, ""), ErrorKind::resource_limit_exceeded, G::shape_overflow, "64 bits"});
    t.push_back({"gguf: bytes overflow", gguf_file({}, {tensor_info("t", {1ULL << 62}, 0, 0)}, ""), ErrorKind::resource_limit_exceeded, G::shape_overflow, "more bytes"});
    t.push_back({"gguf: Q4_0 row not whole blocks", gguf_file({}, {tensor_info("t", {10}, 2, 0)}, std::string(32, 'x')), ErrorKind::corrupt_payload, G::block_size, "block of 32"});
    t.push_back({"gguf: misaligned offset", gguf_file({}, {tensor_info("t", {1}, 0, 3)}, std::string(64, 'x')), ErrorKind::corrupt_payload, G::tensor_offset, "offset 3 is not a multiple of the alignment 32"});
    t.push_back({"gguf: tensor past the end", gguf_file({}, {tensor_info("t", {16}, 0, 0)}, std::string(32, 'x')), ErrorKind::corrupt_payload, G::tensor_range, "past the end of the file"});
    t.push_back({"gguf: tensors overlap", gguf_file({}, {tensor_info("a", {16}, 0, 0), tensor_info("b", {16}, 0, 32)}, std::string(128, 'x')), ErrorKind::corrupt_payload, G::tensor_overlap, "`a` and `b` overlap"});
    t.push_back({"gguf: duplicate tensor", gguf_file({}, {tensor_info("a", {8}, 0, 0), tensor_info("a", {8}, 0, 32)}, std::string(64, 'x')), ErrorKind::parse, G::duplicate_name, "`a` appears twice"});
    return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hostile_files_get_typed_errors) {
    const std::vector<Hostile> table = hostile_files();
    BOOST_TEST(table.size() >= 30u);
    TempDir dir;
    for (const Hostile& h : table) {
        BOOST_TEST_CONTEXT(h.name) {
            // From memory and from a file descriptor: the same error.
            const auto mem = ck::read_header(span_of(h.bytes));
            const auto file = ck::read_header(dir.write("f", h.bytes));
            BOOST_REQUIRE(!mem.ok());
            BOOST_REQUIRE(!file.ok());
            BOOST_TEST((mem.error() == file.error()));
            BOOST_TEST(fib_quant_kv::to_string(mem.error().kind) == fib_quant_kv::to_string(h.kind));
            BOOST_TEST(mem.error().rule == h.rule);
            BOOST_TEST(mem.error().message.find(h.fragment) != std::string::npos, mem.error().describe());
        }
    }
}

// The bad-magic row above: a file that is not GGUF goes to the safetensors reader. Its own check:
BOOST_AUTO_TEST_CASE(gguf_reader_checks_the_magic) {
    const std::string bytes = Bytes().raw("GGUX").u32(3).u64(0).u64(0).s;
    const auto r = ck::gguf::read_header(span_of(bytes));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().rule == ck::gguf::rules::magic);
}

BOOST_AUTO_TEST_CASE(gguf_version_2_reads_like_3) {
    const std::string data = pattern_bytes(16, 1);
    for (std::uint32_t version : {2u, 3u}) {
        const std::string bytes = gguf_file({kv_str("general.name", "x")}, {tensor_info("t", {4}, 0, 0)}, data, 32, version);
        const auto h = ck::read_header(span_of(bytes));
        BOOST_REQUIRE(h.ok());
        BOOST_TEST(h->version == version);
        BOOST_TEST(h->tensors.at(0).dtype == "F32");
    }
}

// ---------------------------------------------------------------------------------------------- round trips
namespace {

void require_same_data(const std::string& a, const ck::Header& ha, const std::string& b, const ck::Header& hb) {
    BOOST_TEST(a.substr(ha.data_offset) == b.substr(hb.data_offset));
    BOOST_REQUIRE(ha.tensors.size() == hb.tensors.size());
    for (std::size_t i = 0; i < ha.tensors.size(); ++i) {
        BOOST_TEST(ha.tensors[i].name == hb.tensors[i].name);
        BOOST_TEST(ha.tensors[i].dtype == hb.tensors[i].dtype);
        BOOST_TEST(ha.tensors[i].shape == hb.tensors[i].shape);
        BOOST_TEST(a.substr(ha.tensors[i].begin, ha.tensors[i].byte_length()) ==
                   b.substr(hb.tensors[i].begin, hb.tensors[i].byte_length()));
        BOOST_TEST(ha.tensors[i].begin - ha.data_offset == hb.tensors[i].begin - hb.data_offset);
    }
}

std::vector<std::pair<std::string, std::string>> string_metadata(const ck::Header& h) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : h.metadata) out.emplace_back(e.key, e.value.as_string() ? *e.value.as_string() : "<" + std::string(ck::to_string(e.value.type)) + ">");
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(safetensors_round_trip_single_and_per_layer) {
    TempDir dir;
    // cache: BF16 [1, 2, 2, 4, 8] (256 bytes); past.{0,1}.key: F16 [1, 2, 4, 8] (128 bytes each); ids: U8 [3].
    const std::string json =
        R"({"cache":{"dtype":"BF16","shape":[1,2,2,4,8],"data_offsets":[0,256]},)"
        R"("__metadata__":{"format":"pt","note":"caf\u00e9 \"q\""},)"
        R"("past.0.key":{"dtype":"F16","shape":[1,2,4,8],"data_offsets":[256,384]},)"
        R"("past.1.key":{"dtype":"F16","shape":[1,2,4,8],"data_offsets":[384,512]},)"
        R"("ids":{"dtype":"U8","shape":[3],"data_offsets":[512,515]}}   )";  // padded with spaces
    const fs::path src = dir.write("in.safetensors", safetensors_file(json, pattern_bytes(515, 3)));
    const std::string before = slurp(src);
    const auto h0 = ck::read_header(src);
    BOOST_REQUIRE_MESSAGE(h0.ok(), (h0.ok() ? std::string() : h0.error().describe()));

    const auto single = shape(2, 2, 4, 8, fib_quant_kv::KvDType::bf16);
    const auto group = shape(2, 2, 4, 8, fib_quant_kv::KvDType::f16);
    const fs::path mid = dir.path / "mid.safetensors";
    std::uint64_t last_done = 0, last_total = 0;
    ck::WriteOptions opts;
    opts.progress = [&](std::uint64_t done, std::uint64_t total) { last_done = done; last_total = total; };
    BOOST_REQUIRE(ck::attach(src, mid, single, "cache", opts).ok());
    BOOST_TEST(last_done == last_total);
    BOOST_TEST(last_total == fs::file_size(mid));
    BOOST_REQUIRE(ck::attach(mid, mid, group, "past.{layer}.key").ok());  // dst == src
    BOOST_TEST(dir.entries() == 2u);  // in, mid: no temporary file left

    const std::string after = slurp(mid);
    const auto h1 = ck::read_header(mid);
    BOOST_REQUIRE(h1.ok());
    BOOST_TEST(h1->data_offset % 8 == 0u);
    require_same_data(before, *h0, after, *h1);
    auto md = string_metadata(*h1);
    BOOST_REQUIRE(md.size() == 4u);
    BOOST_TEST(md[0].first == "format");
    BOOST_TEST(md[1].second == "caf\xc3\xa9 \"q\"");
    BOOST_TEST(md[2].first == "fib_quant_kv.kv_shape.cache");
    BOOST_TEST(md[2].second == fib_quant_kv::to_json(single));
    BOOST_TEST(md[3].first == "fib_quant_kv.kv_shape.past.{layer}.key");

    const auto ins = ck::inspect(mid);
    BOOST_REQUIRE(ins.ok());
    BOOST_REQUIRE(ins->descriptors.size() == 2u);
    BOOST_TEST(!ins->descriptors[0].per_layer);
    BOOST_TEST(ins->descriptors[1].per_layer);
    BOOST_TEST(ins->descriptors[1].tensors == (std::vector<std::string>{"past.0.key", "past.1.key"}));
    BOOST_TEST(*ins->descriptors[1].shape == group);
    const auto v = ck::verify(mid);
    BOOST_REQUIRE(v.ok());
    BOOST_TEST(v->empty());

    const fs::path out = dir.path / "out.safetensors";
    BOOST_REQUIRE(ck::detach(mid, out, "cache").ok());
    BOOST_REQUIRE(ck::detach(out, out, "past.{layer}.key").ok());
    const auto h2 = ck::read_header(out);
    BOOST_REQUIRE(h2.ok());
    require_same_data(before, *h0, slurp(out), *h2);
    BOOST_TEST((string_metadata(*h2) == string_metadata(*h0)));
    const auto d = ck::detach(out, out, "cache");
    BOOST_REQUIRE(!d.ok());
    BOOST_TEST(d.error().rule == ck::rules::not_attached);
}

BOOST_AUTO_TEST_CASE(gguf_round_trip_keeps_every_byte) {
    TempDir dir;
    for (std::size_t alignment : {32u, 64u}) {
        BOOST_TEST_CONTEXT("alignment " << alignment) {
            std::vector<std::string> kvs{kv_str("general.architecture", "llama")};
            if (alignment != 32) kvs.push_back(kv_u32("general.alignment", static_cast<std::uint32_t>(alignment)));
            kvs.push_back(Bytes().str("tokenizer.tokens").u32(T_ARR).u32(T_STR).u64(3).str("a").str("bc").str("").s);
            kvs.push_back(Bytes().str("nested").u32(T_ARR).u32(T_ARR).u64(2)
                              .u32(T_U16).u64(1).le(7, 2).u32(T_U16).u64(2).le(1, 2).le(2, 2).s);
            kvs.push_back(Bytes().str("f").u32(T_F64).u64(0x400921fb54442d18ULL).s);
            // blk.{0,1}.attn_k: F16 [batch 1, kv_heads 2, tokens 4, head_dim 8], innermost first; tok: F32 [5].
            const std::vector<std::string> infos{tensor_info("blk.0.attn_k", {8, 4, 2, 1}, 1, 0),
                                                 tensor_info("tok", {5}, 0, 256),
                                                 tensor_info("blk.1.attn_k", {8, 4, 2, 1}, 1, 128)};
            std::string kv_bytes, info_bytes;
            for (const auto& k : kvs) kv_bytes += k;
            for (const auto& k : infos) info_bytes += k;
            const std::string original = gguf_file(kvs, infos, pattern_bytes(276, 5), alignment);
            const fs::path src = dir.write("in.gguf", original);
            const auto h0 = ck::read_header(src);
            BOOST_REQUIRE_MESSAGE(h0.ok(), (h0.ok() ? std::string() : h0.error().describe()));
            BOOST_TEST(h0->alignment == alignment);
            BOOST_TEST(h0->tensors[0].shape == (std::vector<std::uint64_t>{1, 2, 4, 8}));
            BOOST_TEST(h0->metadata[alignment == 32 ? 1 : 2].value.count == 3u);
            BOOST_TEST(*h0->find_metadata("general.architecture")->value.as_string() == "llama");

            const auto s = shape(2, 2, 4, 8, fib_quant_kv::KvDType::f16);
            const fs::path mid = dir.path / "mid.gguf";
            BOOST_REQUIRE(ck::attach(src, mid, s, "blk.{layer}.attn_k").ok());
            const std::string after = slurp(mid);
            const auto h1 = ck::read_header(mid);
            BOOST_REQUIRE(h1.ok());
            BOOST_TEST(h1->data_offset % alignment == 0u);
            BOOST_TEST(after.substr(24, kv_bytes.size()) == kv_bytes);  // every pair unchanged, in order
            BOOST_TEST(after.substr(h1->tensor_infos_begin, h1->tensor_infos_end - h1->tensor_infos_begin) == info_bytes);
            require_same_data(original, *h0, after, *h1);
            // GGUF keys are lower_snake_case segments: the pattern is a value, under a name made of it.
            const std::size_t n = h1->metadata.size();
            BOOST_TEST(h1->metadata[n - 2].key == "fib_quant_kv.kv_shape.blk_layer_attn_k.descriptor");
            BOOST_TEST(*h1->metadata[n - 2].value.as_string() == fib_quant_kv::to_json(s));
            BOOST_TEST(h1->metadata[n - 1].key == "fib_quant_kv.kv_shape.blk_layer_attn_k.tensors");
            BOOST_TEST(*h1->metadata[n - 1].value.as_string() == "blk.{layer}.attn_k");
            const auto v = ck::verify(mid);
            BOOST_REQUIRE(v.ok());
            BOOST_TEST(v->empty());
            // Attaching again replaces the pair in place; detaching gives back the original, byte for byte.
            BOOST_REQUIRE(ck::attach(mid, mid, s, "blk.{layer}.attn_k").ok());
            BOOST_TEST(slurp(mid) == after);
            BOOST_REQUIRE(ck::detach(mid, mid, "blk.{layer}.attn_k").ok());
            BOOST_TEST(slurp(mid) == original);
            // A single 5-dim tensor cannot exist in GGUF: refused.
            const auto single = ck::attach(src, mid, s, "tok");
            BOOST_REQUIRE(!single.ok());
            BOOST_TEST(single.error().kind == ErrorKind::tensor_mismatch);
        }
    }
}

BOOST_AUTO_TEST_CASE(gguf_descriptor_names_are_key_segments) {
    BOOST_TEST(ck::gguf_descriptor_name("blk.{layer}.attn_k") == "blk_layer_attn_k");
    BOOST_TEST(ck::gguf_descriptor_name("past_key_values.{layer}.key") == "past_key_values_layer_key");
    BOOST_TEST(ck::gguf_descriptor_name("Cache.K") == "cache_k");
    BOOST_TEST(ck::gguf_descriptor_name("{layer}") == "layer");
    BOOST_TEST(ck::gguf_descriptor_name("x{layer}y") == "x_layer_y");
    BOOST_TEST(ck::gguf_descriptor_name("--a..b--") == "a_b");
    BOOST_TEST(ck::gguf_descriptor_name("...") == "tensor");
    BOOST_TEST(ck::gguf_descriptor_name("\xc3\xa9t\xc3\xa9") == "t");  // UTF-8 "été": only the ASCII letter stays
}

BOOST_AUTO_TEST_CASE(refusals_leave_nothing_behind) {
    TempDir dir;
    const std::string json = R"({"k":{"dtype":"F32","shape":[1,2,2,4,8],"data_offsets":[0,512]}})";
    const fs::path src = dir.write("in.safetensors", safetensors_file(json, pattern_bytes(512, 1)));
    const std::string before = slurp(src);
    const auto s = shape(2, 2, 4, 8, fib_quant_kv::KvDType::f16);
    const auto r = ck::attach(src, src, s, "k");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().kind == ErrorKind::tensor_mismatch);
    BOOST_TEST(r.error().rule == ck::rules::dtype);
    BOOST_TEST(slurp(src) == before);
    auto bad = s;
    bad.query_heads = 3;  // not a multiple of kv_heads
    const auto r2 = ck::attach(src, dir.path / "out", bad, "k");
    BOOST_REQUIRE(!r2.ok());
    BOOST_TEST(r2.error().rule == "grouped.heads_divisible");
    BOOST_TEST(!ck::attach(src, dir.path / "out", s, "k.{layer}.{layer}").ok());
    BOOST_TEST(!ck::attach(src, dir.path / "no_such_folder" / "out", shape(2, 2, 4, 8, fib_quant_kv::KvDType::f32), "k").ok());
    const auto missing = ck::read_header(dir.path / "absent");
    BOOST_REQUIRE(!missing.ok());
    BOOST_TEST(missing.error().rule == ck::rules::io_open);
    BOOST_TEST(missing.error().kind == fib_quant_kv::ErrorKind::io);
    BOOST_TEST(dir.entries() == 1u);
    BOOST_TEST(slurp(src) == before);
}

namespace {

/// in.safetensors in `dir`: one tensor `k`, F16 [1, 2, 2, 4, 8], its 256 bytes pattern_bytes(256, 1).
fs::path one_f16_tensor(const TempDir& dir) {
    const std::string json = R"({"k":{"dtype":"F16","shape":[1,2,2,4,8],"data_offsets":[0,256]}})";
    return dir.write("in.safetensors", safetensors_file(json, pattern_bytes(256, 1)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(attach_and_detach_replace_an_existing_output_by_rename) {
    // Atomic means a new file renamed over the old one: a reader holding the old output (here a hard link made
    // beforehand) keeps its bytes, and the name points at a new inode with the old one's permission bits. A writer
    // that truncated the output in place would pass every contents-only check whenever -o is not the input.
    TempDir dir;
    const fs::path src = one_f16_tensor(dir);
    const auto s = shape(2, 2, 4, 8, fib_quant_kv::KvDType::f16);
    const std::string old_bytes = "old output, longer than the new one: " + std::string(4000, 'x');
    const fs::path out = dir.write("out.safetensors", old_bytes);
    const fs::path link = dir.path / "out.hardlink";
    fs::create_hard_link(out, link);
    BOOST_REQUIRE(::chmod(out.c_str(), 0600) == 0);
    auto check_replaced = [&](const struct stat& before) {
        struct stat after {};
        BOOST_REQUIRE(::stat(out.c_str(), &after) == 0);
        BOOST_TEST(after.st_ino != before.st_ino, "the writer wrote into the old file instead of renaming over it");
        BOOST_TEST(after.st_nlink == 1u);
        BOOST_TEST((after.st_mode & 07777) == 0600u);
        struct stat held {};
        BOOST_REQUIRE(::stat(link.c_str(), &held) == 0);
        BOOST_TEST(held.st_ino == before.st_ino);
    };
    struct stat before {};
    BOOST_REQUIRE(::stat(out.c_str(), &before) == 0);
    BOOST_REQUIRE(ck::attach(src, out, s, "k").ok());
    check_replaced(before);
    BOOST_TEST(slurp(link) == old_bytes);
    const auto h = ck::read_header(out);
    BOOST_REQUIRE(h.ok());
    BOOST_TEST(h->metadata.size() == 1u);

    // detach over an existing output, and attach in place (-o the input): the same.
    const std::string attached = slurp(out);
    fs::remove(link);
    fs::create_hard_link(out, link);
    BOOST_REQUIRE(::stat(out.c_str(), &before) == 0);
    BOOST_REQUIRE(ck::detach(out, out, "k").ok());
    check_replaced(before);
    BOOST_TEST(slurp(link) == attached);
    BOOST_TEST(slurp(out).substr(slurp(out).size() - 256) == pattern_bytes(256, 1));
    BOOST_TEST(dir.names() == (std::vector<std::string>{"in.safetensors", "out.hardlink", "out.safetensors"}));
}

BOOST_AUTO_TEST_CASE(io_failures_are_io_errors_with_the_os_text) {
    TempDir dir;
    const fs::path src = one_f16_tensor(dir);
    const std::string before = slurp(src);
    const auto s = shape(2, 2, 4, 8, fib_quant_kv::KvDType::f16);
    const fs::path absent = dir.path / "absent";
    const std::string no_such = "cannot open `" + absent.string() + "`: No such file or directory";
    CHECK_ERROR(ck::detect(absent).error(), ErrorKind::io, ck::rules::io_open, "", no_such);
    CHECK_ERROR(ck::read_header(absent).error(), ErrorKind::io, ck::rules::io_open, "", no_such);
    CHECK_ERROR(ck::inspect(absent).error(), ErrorKind::io, ck::rules::io_open, "", no_such);
    CHECK_ERROR(ck::verify(absent).error(), ErrorKind::io, ck::rules::io_open, "", no_such);
    CHECK_ERROR(ck::attach(absent, dir.path / "out", s, "k").error(), ErrorKind::io, ck::rules::io_open, "", no_such);
    CHECK_ERROR(ck::detach(absent, dir.path / "out", "k").error(), ErrorKind::io, ck::rules::io_open, "", no_such);
    // A folder opens, but does not read.
    CHECK_ERROR(ck::read_header(dir.path).error(), ErrorKind::io, ck::rules::io_read, "", "cannot read: Is a directory");
    {
        fib_quant_kv::checkpoint::Header h;
        h.format = ck::Format::gguf;
        h.tensor_infos_begin = 0;
        h.tensor_infos_end = 4;
        const int folder = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        BOOST_REQUIRE(folder >= 0);
        const auto g = ck::gguf::write_header(folder, h, {});
        ::close(folder);
        BOOST_REQUIRE(!g.ok());
        CHECK_ERROR(g.error(), ErrorKind::io, ck::rules::io_read, "", "cannot read: Is a directory");
    }
    // An input nobody may read, and an output folder nobody may write.
    const fs::path unreadable = dir.write("unreadable.safetensors", before);
    BOOST_REQUIRE(::chmod(unreadable.c_str(), 0) == 0);
    const fs::path read_only = dir.path / "read_only";
    fs::create_directory(read_only);
    fs::permissions(read_only, fs::perms(0555));
    {
        const AsNobody nobody;
        CHECK_ERROR(ck::inspect(unreadable).error(), ErrorKind::io, ck::rules::io_open, "",
                    "cannot open `" + unreadable.string() + "`: Permission denied");
        CHECK_ERROR(ck::attach(src, read_only / "out", s, "k").error(), ErrorKind::io, ck::rules::io_open, "",
                    "cannot create a temporary file in `" + read_only.string() + "`: Permission denied");
        CHECK_ERROR(ck::attach(src, dir.path / "no_such_folder" / "out", s, "k").error(), ErrorKind::io,
                    ck::rules::io_open, "",
                    "cannot create a temporary file in `" + (dir.path / "no_such_folder").string() +
                        "`: No such file or directory");
    }
    BOOST_TEST(fs::is_empty(read_only));
    BOOST_TEST(slurp(src) == before);
    BOOST_TEST(dir.names() == (std::vector<std::string>{"in.safetensors", "read_only", "unreadable.safetensors"}));
}

// ---------------------------------------------------------------------------------------------- verify
BOOST_AUTO_TEST_CASE(verify_reports_every_disagreement) {
    TempDir dir;
    using fib_quant_kv::KvDType;
    auto key = [](std::string_view target, const fib_quant_kv::KvTensorShapeV1& s) {
        std::string out = "\"fib_quant_kv.kv_shape.";
        out.append(target).append("\":");
        std::string j = fib_quant_kv::to_json(s), esc;
        for (char c : j) {
            if (c == '"') esc += '\\';
            esc += c;
        }
        return out + "\"" + esc + "\"";
    };
    auto mha = shape(2, 2, 4, 8, KvDType::f16);
    mha.attention_kind = fib_quant_kv::KvAttentionKind::mha;  // query_heads 4 != kv_heads 2
    const std::string json =
        "{\"__metadata__\":{" + key("a", shape(2, 2, 4, 8, KvDType::f16)) + "," +  // a is F32: dtype, bytes
        key("b", shape(2, 2, 4, 8, KvDType::f16)) + "," +                           // b is I16: dtype
        key("c", shape(2, 2, 4, 8, KvDType::bf16)) + "," +                          // c has head_dim 4: shape, bytes
        key("gone", shape(2, 2, 4, 8, KvDType::f16)) + "," +                        // no such tensor
        key("l.{layer}", shape(3, 2, 4, 8, KvDType::f16)) + "," +                   // l.2 missing, l.1 is [1,2,4,4]
        key("bad", mha) + "," +                                                     // invalid descriptor
        "\"fib_quant_kv.kv_shape.junk\":\"not json\"},"
        R"("a":{"dtype":"F32","shape":[1,2,2,4,8],"data_offsets":[0,512]},)"
        R"("b":{"dtype":"I16","shape":[1,2,2,4,8],"data_offsets":[512,768]},)"
        R"("c":{"dtype":"BF16","shape":[1,2,2,4,4],"data_offsets":[768,896]},)"
        R"("l.0":{"dtype":"F16","shape":[1,2,4,8],"data_offsets":[896,1024]},)"
        R"("l.1":{"dtype":"F16","shape":[1,2,4,4],"data_offsets":[1024,1088]},)"
        R"("bad":{"dtype":"F16","shape":[1,2,2,4,8],"data_offsets":[1088,1344]}})";
    const fs::path f = dir.write("v.safetensors", safetensors_file(json, pattern_bytes(1344, 2)));
    const auto v = ck::verify(f);
    BOOST_REQUIRE_MESSAGE(v.ok(), (v.ok() ? std::string() : v.error().describe()));
    std::vector<std::pair<std::string_view, std::string>> got;
    for (const auto& e : *v) got.emplace_back(e.rule, e.message);
    for (const auto& [rule, message] : got) BOOST_TEST_MESSAGE(rule << ": " << message);
    const std::vector<std::pair<std::string_view, std::string>> expected_prefixes{
        {ck::rules::dtype, "tensor `a`: dtype F32"},       {ck::rules::byte_length, "tensor `a`: 512 bytes"},
        {ck::rules::dtype, "tensor `b`: dtype I16"},       {ck::rules::shape, "tensor `c`: shape [1, 2, 2, 4, 4]"},
        {ck::rules::byte_length, "tensor `c`: 128 bytes"}, {ck::rules::missing_tensor, "tensor `gone` is not"},
        {ck::rules::shape, "tensor `l.1`: shape"},         {ck::rules::byte_length, "tensor `l.1`: 64 bytes"},
        {ck::rules::missing_tensor, "tensor `l.2` (layer 2 of 3)"},
        {"mha.heads_equal", "descriptor `fib_quant_kv.kv_shape.bad`: MHA requires"},
        {"json.syntax", "descriptor `fib_quant_kv.kv_shape.junk`"},
    };
    BOOST_REQUIRE(got.size() == expected_prefixes.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].first == expected_prefixes[i].first);
        BOOST_TEST(got[i].second.starts_with(expected_prefixes[i].second), got[i].second);
    }
    BOOST_TEST((*v)[0].kind == ErrorKind::tensor_mismatch);
}

BOOST_AUTO_TEST_CASE(gguf_tensors_key_without_its_descriptor_is_reported) {
    // A GGUF descriptor is a pair of keys, NAME.descriptor and NAME.tensors; the second alone is half a pair,
    // reported by verify rather than skipped. Its other half present, the pair reads as one descriptor.
    TempDir dir;
    // blk.0.attn_k: F16 [batch 1, kv_heads 2, tokens 4, head_dim 8], innermost first: layer 0 of a 1-layer cache.
    const std::string t = tensor_info("blk.0.attn_k", {8, 4, 2, 1}, 1, 0);
    const fs::path orphan = dir.write(
        "orphan.gguf", gguf_file({kv_str("fib_quant_kv.kv_shape.k.tensors", "blk.{layer}.attn_k")}, {t}, pattern_bytes(128, 3)));
    const auto v = ck::verify(orphan);
    BOOST_REQUIRE_MESSAGE(v.ok(), (v.ok() ? std::string() : v.error().describe()));
    BOOST_REQUIRE(v->size() == 1);
    BOOST_TEST((*v)[0].kind == ErrorKind::parse);
    BOOST_TEST((*v)[0].rule == ck::rules::descriptor_keys);
    BOOST_TEST((*v)[0].message ==
               "key `fib_quant_kv.kv_shape.k.tensors` names the tensors of a descriptor, but there is no "
               "`fib_quant_kv.kv_shape.k.descriptor` beside it");

    const std::string json = fib_quant_kv::to_json(shape(1, 2, 4, 8, fib_quant_kv::KvDType::f16));
    const fs::path pair = dir.write(
        "pair.gguf", gguf_file({kv_str("fib_quant_kv.kv_shape.k.tensors", "blk.{layer}.attn_k"),
                                kv_str("fib_quant_kv.kv_shape.k.descriptor", json)},
                               {t}, pattern_bytes(128, 3)));
    const auto w = ck::verify(pair);
    BOOST_REQUIRE_MESSAGE(w.ok(), (w.ok() ? std::string() : w.error().describe()));
    for (const auto& e : *w) BOOST_TEST_MESSAGE(e.rule << ": " << e.message);
    BOOST_TEST(w->empty());
}

BOOST_AUTO_TEST_CASE(many_missing_layers_are_summed_up) {
    const std::string bytes = safetensors_file(R"({"l.0":{"dtype":"F16","shape":[1,1,1,1],"data_offsets":[0,2]}})", "xy");
    const auto h = ck::read_header(span_of(bytes));
    BOOST_REQUIRE(h.ok());
    auto s = shape(4000000000u, 1, 1, 1, fib_quant_kv::KvDType::f16);
    s.attention_kind = fib_quant_kv::KvAttentionKind::mqa;
    s.query_heads = 1;
    const auto errors = ck::check_descriptor(*h, s, "l.{layer}");
    BOOST_REQUIRE(errors.size() == 17u);
    BOOST_TEST(errors.back().message.find("3999999983 more layers") != std::string::npos, errors.back().message);
}

// ---------------------------------------------------------------------------------------------- memory
namespace {
boost::test_tools::assertion_result not_sanitized(boost::unit_test::test_unit_id) {
    const char* v = std::getenv("FIB_QUANT_KV_SANITIZED");
    boost::test_tools::assertion_result r(v == nullptr || *v == '\0' || std::string_view(v) == "0");
    r.message() << "sanitized build: peak RSS is not meaningful under the sanitizers' runtime";
    return r;
}
long peak_rss_kib() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}
}  // namespace

BOOST_AUTO_TEST_CASE(attach_to_1_gib_keeps_peak_rss_small, *boost::unit_test::precondition(not_sanitized)) {
    TempDir dir;
    // One F16 tensor [1, 16, 8, 16384, 256]: 2^30 bytes, a hole but for its first and last bytes.
    const std::uint64_t bytes = 1ULL << 30;
    const std::string json = R"({"kv":{"dtype":"F16","shape":[1,16,8,16384,256],"data_offsets":[0,1073741824]}})";
    const fs::path src = dir.write("big.safetensors", safetensors_file(json, "AB"));
    fs::resize_file(src, 8 + json.size() + bytes);
    {
        std::fstream f(src, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(8 + json.size() + bytes - 2));
        f.write("YZ", 2);
    }
    const long before = peak_rss_kib();
    const auto s = shape(16, 8, 16384, 256, fib_quant_kv::KvDType::f16);
    const fs::path dst = dir.path / "out.safetensors";
    BOOST_REQUIRE(ck::attach(src, dst, s, "kv").ok());
    const long after = peak_rss_kib();
    BOOST_TEST_MESSAGE("peak RSS " << before / 1024 << " MiB before, " << after / 1024 << " MiB after attaching to 1 GiB");
    BOOST_TEST(after - before < 64 * 1024);
    const auto h = ck::read_header(dst);
    BOOST_REQUIRE(h.ok());
    BOOST_TEST(h->file_size - h->data_offset == bytes);
    std::ifstream in(dst, std::ios::binary);
    char head[2], tail[2];
    in.seekg(static_cast<std::streamoff>(h->data_offset));
    in.read(head, 2);
    in.seekg(static_cast<std::streamoff>(h->file_size - 2));
    in.read(tail, 2);
    BOOST_TEST(std::string(head, 2) == "AB");
    BOOST_TEST(std::string(tail, 2) == "YZ");
    const auto v = ck::verify(dst);
    BOOST_REQUIRE(v.ok());
    BOOST_TEST(v->empty());
}
