// The Hugging Face config.json reader: every bundled config sized (bytes per token pinned, worked out by hand
// as 2 (K and V) x layers x kv_heads x head_dim x dtype bytes), the JSON row byte for byte, the refusals, and
// hostile input, each with its exact error kind, rule, fields and message.
#define BOOST_TEST_MODULE hf_config
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/hf_config.hpp"
#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace fib_quant_kv::test;
using namespace std::string_literals;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
std::string example(std::string_view name) {
    return read_file(std::string(FIB_QUANT_KV_EXAMPLES_DIR "/configs/").append(name));
}
std::string hostile(std::string_view name) {
    return read_file(std::string(FIB_QUANT_KV_TEST_DATA "/hf_configs/").append(name));
}

HfConfig read_ok(std::string_view json) {
    Result<HfConfig> c = read_hf_config(json);
    BOOST_TEST_REQUIRE(c.ok(), (c.ok() ? "" : c.error().describe()));
    return *c;
}
KvCacheSize size_ok(std::string_view json, std::uint32_t tokens, const HfSizeOptions& options = {}) {
    Result<KvCacheSize> s = size_kv_cache(read_ok(json), tokens, options);
    BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().describe()));
    return *s;
}
Error read_error(std::string_view json, const HfConfigLimits& limits = {}) {
    Result<HfConfig> c = read_hf_config(json, limits);
    BOOST_TEST_REQUIRE(!c.ok());
    return c.error();
}
Error size_error(std::string_view json, std::uint32_t tokens = 4096, const HfSizeOptions& options = {}) {
    Result<KvCacheSize> s = size_kv_cache(read_ok(json), tokens, options);
    BOOST_TEST_REQUIRE(!s.ok());
    return s.error();
}

HfSizeOptions with_batch(std::uint32_t batch) {
    HfSizeOptions o;
    o.batch = batch;
    return o;
}
HfSizeOptions with_dtype(KvDType dtype) {
    HfSizeOptions o;
    o.dtype = dtype;
    return o;
}
HfConfigLimits max_bytes(std::size_t n) {
    HfConfigLimits l;
    l.max_bytes = n;
    return l;
}

/// A minimal Llama-style config with `extra` members spliced in before the closing brace.
std::string llama_with(std::string_view extra) {
    return std::string(R"({"model_type":"llama","num_hidden_layers":32,"num_attention_heads":32,)"
                       R"("num_key_value_heads":8,"hidden_size":4096,"torch_dtype":"bfloat16")")
        .append(extra)
        .append("}");
}

struct Expected {
    const char* file;
    const char* model_type;
    std::uint32_t layers, query_heads, kv_heads, head_dim;
    KvAttentionKind kind;
    KvDType dtype;
    std::uint64_t bytes_per_token;
    std::size_t notes;
};

// bytes_per_token = 2 x layers x kv_heads x head_dim x dtype bytes:
const Expected kBundled[] = {
    // 2 x 32 x 8 x (4096 / 32 = 128) x 2 (bf16) = 131072
    {"llama-3-8b.json", "llama", 32, 32, 8, 128, KvAttentionKind::gqa, KvDType::bf16, 131072, 0},
    // 2 x 32 x 32 x 128 x 2 (f16) = 524288
    {"llama-2-7b.json", "llama", 32, 32, 32, 128, KvAttentionKind::mha, KvDType::f16, 524288, 0},
    // multi_query: 1 KV head; 4544 / 71 = 64; 2 x 32 x 1 x 64 x 2 (bf16) = 8192
    {"falcon-7b.json", "falcon", 32, 71, 1, 64, KvAttentionKind::mqa, KvDType::bf16, 8192, 0},
    // n_layer, n_head, n_embd: 768 / 12 = 64; no KV key, so 12 KV heads; 2 x 12 x 12 x 64 x 4 (f32) = 73728
    {"gpt2.json", "gpt2", 12, 12, 12, 64, KvAttentionKind::mha, KvDType::f32, 73728, 0},
    // explicit head_dim 256 (3072 / 16 would be 192); 2 x 28 x 16 x 256 x 2 (bf16) = 458752
    {"gemma-7b.json", "gemma", 28, 16, 16, 256, KvAttentionKind::mha, KvDType::bf16, 458752, 0},
    // 3584 / 28 = 128; use_sliding_window false: no note; 2 x 28 x 4 x 128 x 2 (bf16) = 57344
    {"qwen2-7b.json", "qwen2", 28, 28, 4, 128, KvAttentionKind::gqa, KvDType::bf16, 57344, 0},
    // explicit head_dim 256; float32 as published; 2 x 42 x 8 x 256 x 4 (f32) = 688128; sliding_window note
    {"gemma-2-9b.json", "gemma2", 42, 16, 8, 256, KvAttentionKind::gqa, KvDType::f32, 688128, 1},
    // text_config: Vicuna-7B (Llama 2); model_type from the root; 2 x 32 x 32 x 128 x 2 (f16) = 524288
    {"llava-1.5-7b.json", "llava", 32, 32, 32, 128, KvAttentionKind::mha, KvDType::f16, 524288, 0},
};

}  // namespace

// ---------------------------------------------------------------------------------------------- bundled configs

BOOST_AUTO_TEST_CASE(bundled_configs_are_sized) {
    for (const Expected& e : kBundled) {
        BOOST_TEST_CONTEXT(e.file) {
            const std::string json = example(e.file);
            const HfConfig c = read_ok(json);
            BOOST_TEST(c.model_type.value_or("") == e.model_type);
            BOOST_TEST(c.layers == e.layers);
            BOOST_TEST(c.query_heads == e.query_heads);
            BOOST_TEST(c.kv_heads == e.kv_heads);
            BOOST_TEST(c.head_dim == e.head_dim);
            BOOST_TEST(c.attention_kind == e.kind);
            BOOST_TEST(c.notes.size() == e.notes);

            const KvCacheSize s = size_ok(json, 4096);
            BOOST_TEST(s.bytes_per_token == e.bytes_per_token);
            BOOST_TEST(s.total_bytes == e.bytes_per_token * 4096);
            BOOST_TEST(s.key.dtype == e.dtype);
            BOOST_TEST(s.key.rope_state == KvRopeState::post_rope);
            BOOST_TEST(s.value.rope_state == KvRopeState::not_applicable);
            BOOST_TEST(s.key.role == KvRole::key);
            BOOST_TEST(s.value.role == KvRole::value);
            BOOST_TEST(validate(s.key).ok());
            BOOST_TEST(validate(s.value).ok());
            BOOST_TEST(s.key.tokens == 4096u);
            BOOST_TEST(s.key.batch == 1u);
        }
    }
}

BOOST_AUTO_TEST_CASE(options_batch_dtype_and_rope) {
    const std::string json = example("llama-3-8b.json");
    const KvCacheSize s = size_ok(json, 131072, HfSizeOptions{8, KvDType::f32, KvRopeState::pre_rope});
    // 2 x 32 x 8 x 128 x 4 (f32) = 262144 per token; x 8 sequences x 131072 tokens = 2^18 x 2^3 x 2^17 = 2^38
    BOOST_TEST(s.bytes_per_token == 262144u);
    BOOST_TEST(s.total_bytes == std::uint64_t{1} << 38);
    BOOST_TEST(s.key.batch == 8u);
    BOOST_TEST(s.key.dtype == KvDType::f32);
    BOOST_TEST(s.key.rope_state == KvRopeState::pre_rope);
    BOOST_TEST(s.value.rope_state == KvRopeState::not_applicable);
}

BOOST_AUTO_TEST_CASE(several_token_counts) {
    const HfConfig c = read_ok(example("llama-3-8b.json"));
    const std::vector<std::uint32_t> tokens = {4096, 32768, 131072};
    Result<std::vector<KvCacheSize>> rows = size_kv_cache(c, tokens);
    BOOST_TEST_REQUIRE(rows.ok());
    BOOST_TEST_REQUIRE(rows->size() == 3u);
    BOOST_TEST((*rows)[0].total_bytes == 131072ull * 4096);    // 512 MiB
    BOOST_TEST((*rows)[1].total_bytes == 131072ull * 32768);   // 4 GiB
    BOOST_TEST((*rows)[2].total_bytes == 131072ull * 131072);  // 16 GiB
    BOOST_TEST((*rows)[2].key.tokens == 131072u);

    const std::vector<std::uint32_t> with_zero = {4096, 0};
    Result<std::vector<KvCacheSize>> bad = size_kv_cache(c, with_zero);
    BOOST_TEST_REQUIRE(!bad.ok());
    CHECK_ERROR(bad.error(), ErrorKind::corrupt_payload, "tokens.nonzero", "tokens", "kv shape tokens must be > 0");
}

BOOST_AUTO_TEST_CASE(token_count_lists) {
    BOOST_TEST((parse_token_counts("4096").value() == std::vector<std::uint32_t>{4096}));
    BOOST_TEST((parse_token_counts("4096,32768,131072").value() == std::vector<std::uint32_t>{4096, 32768, 131072}));
    BOOST_TEST((parse_token_counts("4294967295").value() == std::vector<std::uint32_t>{4294967295u}));
    for (const char* bad :
         {"", ",", "4096,", ",4096", "4096,,1", "1 ", " 1", "+1", "-1", "0x10", "4294967296", "1.5", "0", "4096,0",
          "00"}) {
        BOOST_TEST_CONTEXT(bad) {
            Result<std::vector<std::uint32_t>> r = parse_token_counts(bad);
            BOOST_TEST_REQUIRE(!r.ok());
            BOOST_TEST(r.error().kind == ErrorKind::parse);
            BOOST_TEST(r.error().rule == hf_config_rules::token_list);
        }
    }
    CHECK_ERROR(
        parse_token_counts("4096,x").error(), ErrorKind::parse, "hf_config.token_list", "",
        "invalid token count `x` in `4096,x`: expected decimal integers from 1 to 4294967295, separated by commas");
    CHECK_ERROR(
        parse_token_counts("4096,0").error(), ErrorKind::parse, "hf_config.token_list", "",
        "invalid token count `0` in `4096,0`: expected decimal integers from 1 to 4294967295, separated by commas");
    BOOST_TEST((parse_token_counts("1,007").value() == std::vector<std::uint32_t>{1, 7}));
}

// ---------------------------------------------------------------------------------------------- output

BOOST_AUTO_TEST_CASE(json_row_exactly) {
    const KvCacheSize s = size_ok(example("gemma-2-9b.json"), 4096);
    BOOST_TEST(
        to_json(s) ==
        R"({"model_type":"gemma2",)"
        R"("key":{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,)"
        R"("layers":42,"kv_heads":8,"query_heads":16,"tokens":4096,"head_dim":256,"dtype":"f32","rope_state":"post_rope"},)"
        R"("value":{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"value","attention_kind":"gqa","batch":1,)"
        R"("layers":42,"kv_heads":8,"query_heads":16,"tokens":4096,"head_dim":256,"dtype":"f32","rope_state":"not_applicable"},)"
        R"("bytes_per_token":688128,"total_bytes":2818572288,)"
        R"("notes":["sliding_window 4096 is not in the descriptor: every layer is sized at the full length"]})");
    BOOST_TEST(to_json(s).find(to_json(s.key)) != std::string::npos);  // the canonical descriptors, embedded

    // No model_type: null. Notes escaped by the library's JSON string writer.
    KvCacheSize t = size_ok(R"({"n_layer":1,"n_head":1,"n_embd":8,"torch_dtype":"float16"})", 1);
    BOOST_TEST(!t.model_type.has_value());
    t.notes = {"quote \" and\nnewline"};
    const std::string row = to_json(t);
    BOOST_TEST(row.starts_with(R"({"model_type":null,"key":{)"));
    BOOST_TEST(row.ends_with(R"("bytes_per_token":32,"total_bytes":32,"notes":["quote \" and\nnewline"]})"));
}

// ---------------------------------------------------------------------------------------------- key rules

BOOST_AUTO_TEST_CASE(kv_heads_rules) {
    // num_key_value_heads absent: transformers' default, the attention heads.
    BOOST_TEST(read_ok(R"({"num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64})").kv_heads == 8u);
    // null is absent too.
    BOOST_TEST(read_ok(R"({"num_hidden_layers":2,"num_attention_heads":8,"num_key_value_heads":null,"hidden_size":64})")
                   .kv_heads == 8u);
    // Falcon-40B: new_decoder_architecture with num_kv_heads.
    const HfConfig f40 =
        read_ok(R"({"model_type":"falcon","num_hidden_layers":60,"num_attention_heads":128,)"
                R"("new_decoder_architecture":true,"num_kv_heads":8,"multi_query":true,"hidden_size":8192})");
    BOOST_TEST(f40.kv_heads == 8u);
    BOOST_TEST(f40.attention_kind == KvAttentionKind::gqa);
    // new_decoder_architecture without num_kv_heads: the heads (transformers' FalconConfig default).
    BOOST_TEST(
        read_ok(R"({"num_hidden_layers":2,"num_attention_heads":8,"new_decoder_architecture":true,"hidden_size":64})")
            .kv_heads == 8u);
    // multi_query false: the heads.
    BOOST_TEST(
        read_ok(R"({"num_hidden_layers":2,"num_attention_heads":8,"multi_query":false,"hidden_size":64})").kv_heads ==
        8u);
    // one head, one KV head: MHA, not MQA.
    BOOST_TEST(read_ok(R"({"num_hidden_layers":2,"num_attention_heads":1,"hidden_size":64})").attention_kind ==
               KvAttentionKind::mha);
    // torch_dtype at the root of a text_config config; the newer `dtype` spelling.
    BOOST_TEST(
        read_ok(
            R"({"torch_dtype":"float32","text_config":{"num_hidden_layers":2,"num_attention_heads":1,"hidden_size":64}})")
            .torch_dtype.value_or("") == "float32");
    BOOST_TEST(read_ok(R"({"dtype":"bfloat16","num_hidden_layers":2,"num_attention_heads":1,"hidden_size":64})")
                   .torch_dtype.value_or("") == "bfloat16");
    // text_config null: the root is the model.
    BOOST_TEST(
        read_ok(R"({"text_config":null,"num_hidden_layers":2,"num_attention_heads":1,"hidden_size":64})").layers == 2u);
    // equal qk/v head dims are fine
    BOOST_TEST(read_ok(llama_with(R"(,"v_head_dim":128,"qk_head_dim":128)")).head_dim == 128u);
    // Mistral-style sliding_window (no use_sliding_window key): a note.
    BOOST_TEST(read_ok(llama_with(R"(,"sliding_window":4096)")).notes.size() == 1u);
    BOOST_TEST(read_ok(llama_with(R"(,"sliding_window":null)")).notes.empty());
    BOOST_TEST(read_ok(llama_with(R"(,"sliding_window":4096,"use_sliding_window":true)")).notes.size() == 1u);
    // Keys nested anywhere else are not read.
    BOOST_TEST(
        read_ok(
            llama_with(R"(,"rope_scaling":{"num_hidden_layers":"x","head_dim":[1]},"vision_config":{"head_dim":-1})"))
            .head_dim == 128u);
}

// ---------------------------------------------------------------------------------------------- refusals

BOOST_AUTO_TEST_CASE(mla_is_refused) {
    // The reader takes it (the engines size it, test_sizing); the v1 descriptor refuses it.
    CHECK_ERROR(
        size_error(hostile("deepseek-v2-lite.json")), ErrorKind::unsupported, "hf_config.mla", "kv_lora_rank",
        "key `kv_lora_rank` is set: multi-head latent attention caches a compressed latent shared by the heads, "
        "not per-head keys and values, and a KvTensorShapeV1 cannot describe it");
    // kv_lora_rank null is no MLA.
    BOOST_TEST(read_ok(llama_with(R"(,"kv_lora_rank":null)")).kv_heads == 8u);
}

BOOST_AUTO_TEST_CASE(differing_head_dims_are_refused) {
    CHECK_ERROR(size_error(llama_with(R"(,"v_head_dim":96)")), ErrorKind::unsupported, "hf_config.head_dims_differ",
                "v_head_dim",
                "key `v_head_dim` 96 differs from the head_dim 128: keys and values with different head dims are not "
                "one KvTensorShapeV1 geometry");
    CHECK_ERROR(size_error(llama_with(R"(,"head_dim":192,"qk_head_dim":192,"v_head_dim":128)")), ErrorKind::unsupported,
                "hf_config.head_dims_differ", "v_head_dim",
                "key `v_head_dim` 128 differs from the head_dim 192: keys and values with different head dims are not "
                "one KvTensorShapeV1 geometry");
    CHECK_ERROR(size_error(llama_with(R"(,"qk_head_dim":192)")), ErrorKind::unsupported, "hf_config.head_dims_differ",
                "qk_head_dim",
                "key `qk_head_dim` 192 differs from the head_dim 128: keys and values with different head dims are not "
                "one KvTensorShapeV1 geometry");
}

BOOST_AUTO_TEST_CASE(missing_keys_are_named) {
    CHECK_ERROR(read_error(hostile("missing-layers.json")), ErrorKind::parse, "hf_config.missing_key",
                "num_hidden_layers", "missing key `num_hidden_layers` (or `n_layer` or `num_layers`)");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"hidden_size":64})"), ErrorKind::parse, "hf_config.missing_key",
                "num_attention_heads", "missing key `num_attention_heads` (or `n_head`)");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":8})"), ErrorKind::parse,
                "hf_config.missing_key", "hidden_size",
                "missing key `hidden_size` (or `n_embd`, or an explicit `head_dim`)");
    // A model_type without class defaults here: nothing fills the keys in.
    CHECK_ERROR(read_error(R"({"model_type":"llava","text_config":{"model_type":"custom"}})"), ErrorKind::parse,
                "hf_config.missing_key", "text_config.num_hidden_layers",
                "missing key `text_config.num_hidden_layers` (or `text_config.n_layer` or `text_config.num_layers`)");
    // A required key that is null is missing.
    CHECK_ERROR(read_error(R"({"num_hidden_layers":null,"num_attention_heads":8,"hidden_size":64})"), ErrorKind::parse,
                "hf_config.missing_key", "num_hidden_layers", "missing key `num_hidden_layers` (or `n_layer` or `num_layers`)");
}

BOOST_AUTO_TEST_CASE(dtype_must_be_known) {
    const std::string no_dtype = hostile("no-dtype.json");
    CHECK_ERROR(size_error(no_dtype), ErrorKind::parse, "hf_config.missing_key", "torch_dtype",
                "missing key `torch_dtype`: the config does not say the cache dtype; give one (--dtype f16|bf16|f32)");
    BOOST_TEST(size_ok(no_dtype, 1, with_dtype(KvDType::f16)).bytes_per_token == 131072u);  // 2x32x8x128x2
    const std::string autod =
        R"({"num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64,"torch_dtype":"auto"})";
    CHECK_ERROR(size_error(autod), ErrorKind::parse, "hf_config.missing_key", "torch_dtype",
                "`torch_dtype` is \"auto\": the config does not say the cache dtype; give one (--dtype f16|bf16|f32)");
    const std::string f64 =
        R"({"num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64,"torch_dtype":"float64"})";
    CHECK_ERROR(size_error(f64), ErrorKind::unsupported, "hf_config.dtype_unsupported", "torch_dtype",
                "`torch_dtype` \"float64\" is not a dtype of the descriptor (float16, bfloat16 or float32); give one "
                "(--dtype f16|bf16|f32)");
    BOOST_TEST(size_ok(f64, 1, with_dtype(KvDType::bf16)).key.dtype == KvDType::bf16);  // the option overrides
}

BOOST_AUTO_TEST_CASE(heads_that_do_not_divide) {
    // KV heads: the descriptor's own validate() error, from the reader, so that the v1 rows and every engine's
    // sizing refuse the config alike.
    CHECK_ERROR(read_error(hostile("heads-not-dividing.json")), ErrorKind::corrupt_payload, "grouped.heads_divisible",
                "query_heads,kv_heads", "query_heads must be divisible by kv_heads");
    // More KV heads than query heads (64 of 32: 32 % 64 != 0), and no layers at all.
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":32,"num_key_value_heads":64,)"
                           R"("hidden_size":4096})"),
                ErrorKind::corrupt_payload, "grouped.heads_divisible", "query_heads,kv_heads",
                "query_heads must be divisible by kv_heads");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":0,"num_attention_heads":32,"hidden_size":4096})"),
                ErrorKind::corrupt_payload, "layers.nonzero", "layers", "kv shape layers must be > 0");
    // hidden_size / heads: no head_dim to derive.
    const Error e = read_error(R"({"num_hidden_layers":32,"num_attention_heads":70,"hidden_size":4544})");
    CHECK_ERROR(e, ErrorKind::dimension_not_divisible, "hf_config.hidden_size_divisible", "hidden_size",
                "`hidden_size` 4544 is not a multiple of `num_attention_heads` 70, and there is no `head_dim`");
    BOOST_TEST(e.details.ambient_dim == 4544u);
    BOOST_TEST(e.details.block_dim == 70u);
    CHECK_ERROR(read_error(R"({"text_config":{"n_layer":1,"n_head":5,"n_embd":12}})"),
                ErrorKind::dimension_not_divisible, "hf_config.hidden_size_divisible", "text_config.n_embd",
                "`text_config.n_embd` 12 is not a multiple of `text_config.n_head` 5, and there is no "
                "`text_config.head_dim`");
    // Zero heads: validate() names them.
    CHECK_ERROR(
        read_error(R"({"num_hidden_layers":2,"num_attention_heads":0,"hidden_size":64,"torch_dtype":"float16"})"),
        ErrorKind::corrupt_payload, "kv_heads.nonzero", "kv_heads", "kv shape kv_heads must be > 0");
}

BOOST_AUTO_TEST_CASE(sizes_that_overflow) {
    // Past HfConfigLimits::max_layers (65536), the reader refuses: the cache model keeps one spec per layer.
    CHECK_ERROR(read_error(R"({"num_hidden_layers":65537,"num_attention_heads":1,"head_dim":1})"),
                ErrorKind::resource_limit_exceeded, "hf_config.too_many_layers", "num_hidden_layers",
                "key `num_hidden_layers`: 65537 layers is over the limit of 65536 (HfConfigLimits::max_layers)");
    const HfConfig c = read_ok(R"({"num_hidden_layers":65536,"num_attention_heads":4294967295,)"
                               R"("head_dim":4294967295,"torch_dtype":"float32"})");
    Result<KvCacheSize> s = size_kv_cache(c, 4294967295u, with_batch(4294967295u));
    BOOST_TEST_REQUIRE(!s.ok());
    CHECK_ERROR(s.error(), ErrorKind::resource_limit_exceeded, "size_overflow", "batch,layers,kv_heads,tokens,head_dim",
                "kv shape size overflow");
    // The element count fits in 64 bits, the bytes (x 4) do not: 2^16 x 2^16 x 2^31 = 2^63 elements.
    const HfConfig d = read_ok(
        R"({"num_hidden_layers":65536,"num_attention_heads":65536,"head_dim":2147483648,"torch_dtype":"float32"})");
    Result<KvCacheSize> t = size_kv_cache(d, 1);
    BOOST_TEST_REQUIRE(!t.ok());
    BOOST_TEST(t.error().kind == ErrorKind::resource_limit_exceeded);
    BOOST_TEST(t.error().rule == "size_overflow");
    // Each of K and V fits, together they do not: 2^16 x 2^16 x 2^30 x 4 bytes = 2^64 - no; use 2^62 bytes each.
    const HfConfig e = read_ok(
        R"({"num_hidden_layers":65536,"num_attention_heads":65536,"head_dim":1073741824,"torch_dtype":"float32"})");
    Result<KvCacheSize> u = size_kv_cache(e, 1);  // 2^16 x 2^16 x 2^30 = 2^62 elements, 2^64 bytes: over
    BOOST_TEST_REQUIRE(!u.ok());
    BOOST_TEST(u.error().rule == "size_overflow");
    const HfConfig f = read_ok(
        R"({"num_hidden_layers":65536,"num_attention_heads":65536,"head_dim":536870912,"torch_dtype":"float32"})");
    Result<KvCacheSize> v = size_kv_cache(f, 1);  // 2^61 elements, 2^63 bytes each, 2^64 together
    BOOST_TEST_REQUIRE(!v.ok());
    CHECK_ERROR(v.error(), ErrorKind::resource_limit_exceeded, "hf_config.total_overflow", "",
                "the key and value bytes together do not fit in 64 bits");
}

// ---------------------------------------------------------------------------------------------- hostile input

BOOST_AUTO_TEST_CASE(not_an_object) {
    CHECK_ERROR(read_error("[]"), ErrorKind::parse, "hf_config.invalid_type", "",
                "invalid type: sequence, expected a JSON object (a config.json)");
    CHECK_ERROR(read_error("42"), ErrorKind::parse, "hf_config.invalid_type", "",
                "invalid type: integer `42`, expected a JSON object (a config.json)");
    CHECK_ERROR(read_error(R"("config")"), ErrorKind::parse, "hf_config.invalid_type", "",
                "invalid type: string \"config\", expected a JSON object (a config.json)");
    CHECK_ERROR(read_error("null"), ErrorKind::parse, "hf_config.invalid_type", "",
                "invalid type: null, expected a JSON object (a config.json)");
    CHECK_ERROR(read_error(""), ErrorKind::parse, "json.syntax", "", "invalid JSON: The document is empty.");
    CHECK_ERROR(read_error("{\"a\":1"), ErrorKind::parse, "json.syntax", "",
                "invalid JSON: Missing a comma or '}' after an object member.");
    CHECK_ERROR(read_error("{} {}"), ErrorKind::parse, "json.syntax", "",
                "invalid JSON: The document root must not be followed by other values.");
    // A byte order mark, which Python's json refuses too, is named.
    CHECK_ERROR(read_error("\xEF\xBB\xBF{\"num_hidden_layers\":1}"), ErrorKind::parse, "json.syntax", "",
                "invalid JSON: Invalid value. (the config starts with a UTF-8 byte order mark, which JSON does not "
                "allow)");
    CHECK_ERROR(read_error(R"({"text_config":[1]})"), ErrorKind::parse, "hf_config.invalid_type", "text_config",
                "key `text_config`: invalid type: sequence, expected a JSON object or null");
}

BOOST_AUTO_TEST_CASE(models_without_a_decoder_only_cache) {
    // Encoder-decoder: by the key, whatever the model_type, and before T5's own key names are reported missing.
    CHECK_ERROR(read_error(R"({"model_type":"t5","is_encoder_decoder":true,"num_layers":6,"d_model":512})"),
                ErrorKind::unsupported, "hf_config.not_decoder_only", "is_encoder_decoder",
                "key `is_encoder_decoder` is true: an encoder-decoder model keeps a decoder self-attention cache and "
                "a cross-attention cache of the encoder's output, and the cache model has neither");
    // ... or by the family when the file leaves the key to its config class (BartConfig: true).
    CHECK_ERROR(read_error(R"({"model_type":"bart","d_model":1024})"), ErrorKind::unsupported,
                "hf_config.not_decoder_only", "model_type",
                "model_type \"bart\" is an encoder-decoder model: keeps a decoder self-attention cache and a "
                "cross-attention cache of the encoder's output, and the cache model has neither");
    // Encoder-only: no cache at all, unless the file makes it a decoder.
    const std::string bert = R"({"model_type":"bert","hidden_size":768,"num_attention_heads":12,)"
                             R"("num_hidden_layers":12,"torch_dtype":"float32")";
    CHECK_ERROR(read_error(bert + "}"), ErrorKind::unsupported, "hf_config.not_decoder_only", "model_type",
                "model_type \"bert\" is an encoder-only model: it keeps no KV cache");
    BOOST_TEST(size_ok(bert + R"(,"is_decoder":true})", 1).bytes_per_token == 2u * 12 * 12 * 64 * 4);
    // A file that says it is not an encoder-decoder is taken at its word.
    BOOST_TEST(read_ok(R"({"model_type":"t5","is_encoder_decoder":false,"num_hidden_layers":2,)"
                       R"("num_attention_heads":4,"hidden_size":64})")
                   .layers == 2u);
    CHECK_ERROR(read_error(R"({"model_type":"t5","is_encoder_decoder":"yes"})"), ErrorKind::parse,
                "hf_config.invalid_type", "is_encoder_decoder",
                "key `is_encoder_decoder`: invalid type: string \"yes\", expected a boolean");
}

BOOST_AUTO_TEST_CASE(python_nan_and_infinity) {
    // Python's json.dumps writes NaN, Infinity and -Infinity, and real configs carry them (Mamba-2's
    // time_step_limit: [0.0, Infinity]). Where the cache does not depend on the key, the config reads as without it.
    const std::string plain = R"({"num_hidden_layers":2,"num_attention_heads":4,"hidden_size":64,"torch_dtype":"float16")";
    const KvCacheSize with = size_ok(plain + R"(,"time_step_limit":[0.0,Infinity],"a":NaN,"b":-Infinity,"c":{"d":NaN}})", 8);
    const KvCacheSize without = size_ok(plain + "}", 8);
    BOOST_TEST(with.total_bytes == without.total_bytes);
    BOOST_TEST(with.total_bytes == 2u * 2 * 4 * 16 * 8 * 2);  // K+V x layers x heads x 64/4 x tokens x f16
    // Where it does, the key is named and the value quoted as written.
    CHECK_ERROR(read_error(R"({"num_hidden_layers":Infinity,"num_attention_heads":4,"hidden_size":64})"),
                ErrorKind::parse, "hf_config.invalid_type", "num_hidden_layers",
                "key `num_hidden_layers`: invalid type: floating point `Infinity`, expected u32");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":-Infinity,"hidden_size":64})"),
                ErrorKind::parse, "hf_config.invalid_type", "num_attention_heads",
                "key `num_attention_heads`: invalid type: floating point `-Infinity`, expected u32");
    CHECK_ERROR(read_error(R"({"text_config":{"num_hidden_layers":2,"num_attention_heads":4,"head_dim":NaN}})"),
                ErrorKind::parse, "hf_config.invalid_type", "text_config.head_dim",
                "key `text_config.head_dim`: invalid type: floating point `NaN`, expected u32");
    CHECK_ERROR(read_error("-Infinity"), ErrorKind::parse, "hf_config.invalid_type", "",
                "invalid type: floating point `-Infinity`, expected a JSON object (a config.json)");
    // Misspellings stay syntax errors.
    CHECK_ERROR(read_error(R"({"a":Infinit})"), ErrorKind::parse, "json.syntax", "", "invalid JSON: Invalid value.");
    CHECK_ERROR(read_error(R"({"a":nan})"), ErrorKind::parse, "json.syntax", "", "invalid JSON: Invalid value.");
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_key_path) {
    const auto nested = [](std::string_view heads) {
        return std::string(R"({"model_type":"llava","text_config":{"num_hidden_layers":32,"num_attention_heads":)")
            .append(heads)
            .append(R"(,"hidden_size":4096}})");
    };
    // The value of text_config.num_attention_heads, and the error's rule and message after the key path.
    struct Case {
        std::string value;
        const char* rule;
        const char* message;
    };
    const Case cases[] = {
        {R"("32")", "hf_config.invalid_type", "invalid type: string \"32\", expected u32"},
        {"-1", "hf_config.invalid_value", "invalid value: integer `-1`, expected u32"},
        {"1.5", "hf_config.invalid_type", "invalid type: floating point `1.5`, expected u32"},
        {"32.0", "hf_config.invalid_type", "invalid type: floating point `32.0`, expected u32"},
        {"1e3", "hf_config.invalid_type", "invalid type: floating point `1e3`, expected u32"},
        {"-0", "hf_config.invalid_type", "invalid type: floating point `-0`, expected u32"},
        {"4294967296", "hf_config.invalid_value", "invalid value: integer `4294967296`, expected u32"},
        {"18446744073709551616", "hf_config.invalid_value",
         "invalid value: integer `18446744073709551616`, expected u32"},
        {"true", "hf_config.invalid_type", "invalid type: boolean `true`, expected u32"},
        {"[32]", "hf_config.invalid_type", "invalid type: sequence, expected u32"},
        {"{}", "hf_config.invalid_type", "invalid type: map, expected u32"},
        {'"' + std::string(100, 'x') + '"', "hf_config.invalid_type",
         "invalid type: a string of 100 bytes, expected u32"},
    };
    for (const Case& c : cases) {
        CHECK_ERROR(read_error(nested(c.value)), ErrorKind::parse, c.rule, "text_config.num_attention_heads",
                    "key `text_config.num_attention_heads`: "s + c.message);
    }
    // Root-level keys, booleans and strings.
    CHECK_ERROR(read_error(llama_with(R"(,"multi_query":1)")), ErrorKind::parse, "hf_config.invalid_type",
                "multi_query", "key `multi_query`: invalid type: integer `1`, expected a boolean");
    CHECK_ERROR(read_error(R"({"model_type":7,"num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64})"),
                ErrorKind::parse, "hf_config.invalid_type", "model_type",
                "key `model_type`: invalid type: integer `7`, expected a string");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64,"torch_dtype":16})"),
                ErrorKind::parse, "hf_config.invalid_type", "torch_dtype",
                "key `torch_dtype`: invalid type: integer `16`, expected a string");
    CHECK_ERROR(read_error(llama_with(R"(,"sliding_window":-4096)")), ErrorKind::parse, "hf_config.invalid_value",
                "sliding_window", "key `sliding_window`: invalid value: integer `-4096`, expected u32");
    CHECK_ERROR(read_error(llama_with(R"(,"use_sliding_window":"no","sliding_window":4096)")), ErrorKind::parse,
                "hf_config.invalid_type", "use_sliding_window",
                "key `use_sliding_window`: invalid type: string \"no\", expected a boolean");
    CHECK_ERROR(read_error(llama_with(R"(,"num_hidden_layers":32)")), ErrorKind::parse, "hf_config.duplicate_key",
                "num_hidden_layers", "duplicate key `num_hidden_layers`");
}

BOOST_AUTO_TEST_CASE(limits_on_size_and_depth) {
    // 100000 '[': not an object at its first byte.
    CHECK_ERROR(read_error(std::string(100000, '[')), ErrorKind::parse, "hf_config.invalid_type", "",
                "invalid type: sequence, expected a JSON object (a config.json)");
    // Inside the object: past the depth cap (the root object is level 1).
    const Error deep = read_error("{\"a\":" + std::string(100000, '['));
    CHECK_ERROR(deep, ErrorKind::parse, "hf_config.too_deep", "", "the config nests deeper than 64 levels");
    BOOST_TEST(deep.offset == 5u + 63u);
    BOOST_TEST(read_hf_config(llama_with(",\"x\":" + std::string(63, '[') + std::string(63, ']'))).ok());
    BOOST_TEST(!read_hf_config(llama_with(",\"x\":" + std::string(64, '[') + std::string(64, ']'))).ok());
    // Over the size cap: refused before it is parsed.
    CHECK_ERROR(read_error(std::string((16u << 20) + 1, ' ')), ErrorKind::parse, "hf_config.too_large", "",
                "the config is 16777217 bytes, over the limit of 16777216 bytes");
    CHECK_ERROR(read_error(llama_with(""), max_bytes(10)), ErrorKind::parse, "hf_config.too_large", "",
                "the config is 138 bytes, over the limit of 10 bytes");
    BOOST_TEST(read_hf_config(example("llama-3-8b.json"), HfConfigLimits{16u << 20, 2}).ok());
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_text) {
    CHECK_ERROR(read_error(llama_with(R"(,"architectures":["Llama)"
                                      "\xff"
                                      R"("])")),
                ErrorKind::parse, "json.syntax", "", "invalid JSON: the input is not UTF-8");
    CHECK_ERROR(read_error("{}\0{}"s), ErrorKind::parse, "json.syntax", "", "invalid JSON: NUL byte in the input");
    CHECK_ERROR(read_error(R"({"model_type":"\udc00"})"), ErrorKind::parse, "json.syntax", "model_type",
                "key `model_type`: lone surrogate in a \\u escape");
    // A message shows such a string's bytes as \xNN, so that it stays UTF-8 (found by fuzz_hf_config).
    CHECK_ERROR(read_error(R"("patch\udc00")"), ErrorKind::parse, "hf_config.invalid_type", "",
                R"(invalid type: string "patch\xed\xb0\x80", expected a JSON object (a config.json))");
    CHECK_ERROR(read_error(R"({"head_dim":"\udc00"})"), ErrorKind::parse, "json.syntax", "head_dim",
                "key `head_dim`: lone surrogate in a \\u escape");
    CHECK_ERROR(read_error(R"({"model_type":"\ud800"})"), ErrorKind::parse, "json.syntax", "",
                "invalid JSON: The surrogate pair in string is invalid.");
    // Numbers too large for RapidJSON anywhere are syntax errors (Python would read them as inf).
    BOOST_TEST(read_error(llama_with(R"(,"rope_theta":1e400)")).rule == "json.syntax");
}
