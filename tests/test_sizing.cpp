// The sizing module: the cache model the reader builds (per-layer kinds, heads and dims, class defaults), and
// each engine's figure, on every bundled real config (examples/configs, see SOURCES) and on configs of the
// families no bundled file covers, written here from those families' published values.
//
// Expected values are worked out in this file, independently of src/sizing: the geometry is pinned by hand from
// each config's keys, and the bytes come from the engines' formulas written out again below (each cites where
// the engine computes it). The code under test is never asked for an expected value.
#define BOOST_TEST_MODULE sizing
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/hf_config.hpp"
#include "fib_quant_kv/sizing/engines.hpp"
#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace fib_quant_kv::test;
namespace sz = fib_quant_kv::sizing;
using sz::LayerKind;
using u64 = std::uint64_t;

namespace fib_quant_kv::sizing {
inline std::ostream& boost_test_print_type(std::ostream& os, LayerKind k) { return os << to_string(k); }
inline std::ostream& boost_test_print_type(std::ostream& os, Engine e) { return os << to_string(e); }
inline std::ostream& boost_test_print_type(std::ostream& os, CacheDType d) { return os << to_string(d); }
}  // namespace fib_quant_kv::sizing

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
std::string example(std::string_view name) {
    return read_file(std::string(FIB_QUANT_KV_EXAMPLES_DIR "/configs/").append(name));
}

HfConfig read_ok(std::string_view json) {
    Result<HfConfig> c = read_hf_config(json);
    BOOST_TEST_REQUIRE(c.ok(), (c.ok() ? "" : c.error().describe()));
    return *c;
}
Error read_error(std::string_view json) {
    Result<HfConfig> c = read_hf_config(json);
    BOOST_TEST_REQUIRE(!c.ok());
    return c.error();
}
sz::EngineSize engine_ok(const HfConfig& c, sz::Engine e, u64 tokens, sz::EngineOptions o = {}) {
    Result<sz::EngineSize> r = sz::size_cache(c.cache, e, static_cast<std::uint32_t>(tokens), o);
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().describe()));
    return *r;
}
Error engine_error(const HfConfig& c, sz::Engine e, u64 tokens, sz::EngineOptions o = {}) {
    Result<sz::EngineSize> r = sz::size_cache(c.cache, e, static_cast<std::uint32_t>(tokens), o);
    BOOST_TEST_REQUIRE(!r.ok());
    return r.error();
}
sz::EngineOptions batch(std::uint32_t b) {
    sz::EngineOptions o;
    o.batch = b;
    return o;
}
sz::EngineOptions kv(sz::CacheDType d) {
    sz::EngineOptions o;
    o.kv_dtype = d;
    return o;
}
sz::EngineOptions memory(u64 bytes) {
    sz::EngineOptions o;
    o.memory = bytes;
    return o;
}

// ---------------------------------------------------------------------------------------------- reference formulas

constexpr u64 cdiv(u64 a, u64 b) { return (a + b - 1) / b; }
constexpr u64 pad256(u64 a) { return cdiv(a, 256) * 256; }  // ggml's GGML_PAD(a, 256)

/// One group of equal layers, as a person reads it off a config.
struct Group {
    LayerKind kind;
    u64 count, window, kv_heads, key_dim, value_dim;
};

/// transformers' DynamicCache after one forward pass (cache_utils.py: DynamicLayer keeps every token,
/// DynamicSlidingWindowLayer keeps `[-sliding_window + 1:]`, i.e. min(T, W - 1)): count x B x held x
/// kv_heads x (key_dim + value_dim) x dtype bytes, summed.
u64 hf_bytes(const std::vector<Group>& groups, u64 t, u64 b, u64 dtype) {
    u64 total = 0;
    for (const Group& g : groups) {
        const u64 held = g.kind == LayerKind::full ? t : std::min(t, g.window - 1);
        total += g.count * b * held * g.kv_heads * (g.key_dim + g.value_dim) * dtype;
    }
    return total;
}

/// vLLM v1, block size 16, max_num_batched_tokens 8192, max_model_len T (kv_cache_interface.py):
/// page = 16 x kv_heads x (key_dim + value_dim) x dtype (AttentionSpec.real_page_size_bytes);
/// full: cdiv(T, 16) pages (FullAttentionSpec.max_memory_usage_bytes);
/// sliding: cdiv(min(W - 1 + 8192, T), 16) + 1 pages (SlidingWindowSpec);
/// chunked: cdiv(min(C + 8192, T), 16) pages (ChunkedLocalAttentionSpec).
u64 vllm_pages(const Group& g, u64 t) {
    switch (g.kind) {
        case LayerKind::sliding: return cdiv(std::min(g.window - 1 + 8192, t), 16) + 1;
        case LayerKind::chunked: return cdiv(std::min(g.window + 8192, t), 16);
        default: return cdiv(t, 16);
    }
}
u64 vllm_page(const Group& g, u64 dtype) { return 16 * g.kv_heads * (g.key_dim + g.value_dim) * dtype; }

/// vLLM for the layouts the bundled configs have: one group (every layer one spec: L x pages x page), or two
/// specs with one page size and the same number of layers each (kv_cache_utils.py,
/// _get_kv_cache_groups_uniform_page_size: group_size = that count; one group each; memory =
/// group_size x page x (pages of one + pages of the other)).
u64 vllm_bytes(const std::vector<Group>& groups, u64 t, u64 b, u64 dtype) {
    if (groups.size() == 1) return b * groups[0].count * vllm_pages(groups[0], t) * vllm_page(groups[0], dtype);
    BOOST_TEST_REQUIRE(groups.size() == 2ull);
    BOOST_TEST_REQUIRE(groups[0].count == groups[1].count);
    BOOST_TEST_REQUIRE(vllm_page(groups[0], dtype) == vllm_page(groups[1], dtype));
    return b * groups[0].count * vllm_page(groups[0], dtype) * (vllm_pages(groups[0], t) + vllm_pages(groups[1], t));
}

/// llama.cpp with f16 rows (2 bytes an element), n_seq_max B, not unified, n_ubatch 512:
/// n_ctx = GGML_PAD(T x B, 256), n_ctx_seq = GGML_PAD(n_ctx / B, 256) (llama-context.cpp), B streams of
/// n_ctx_seq cells (llama-kv-cache.cpp); SWA layers GGML_PAD(min(n_ctx_seq, W + n_ubatch), 256) cells, with
/// n_ubatch = min(512, n_batch = min(2048, n_ctx)) (llama-kv-cache-iswa.cpp).
u64 llama_cells(const Group& g, u64 t, u64 b) {
    const u64 n_ctx = pad256(t * b);
    const u64 n_ctx_seq = pad256(n_ctx / b);
    if (g.kind == LayerKind::full) return n_ctx_seq;
    return pad256(std::min(n_ctx_seq, g.window + std::min<u64>(512, std::min<u64>(2048, n_ctx))));
}
u64 llama_bytes(const std::vector<Group>& groups, u64 t, u64 b) {
    u64 total = 0;
    for (const Group& g : groups) {
        total += g.count * b * llama_cells(g, t, b) * g.kv_heads * (g.key_dim + g.value_dim) * 2;
    }
    return total;
}

/// The reader's groups, checked against the pinned ones (kind, count, window, heads, dims).
void check_groups(const HfConfig& c, const std::vector<Group>& expected) {
    const std::vector<sz::LayerGroup> got = sz::group_layers(c.cache);
    BOOST_TEST_REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST_CONTEXT("group " << i) {
            BOOST_TEST(got[i].spec.kind == expected[i].kind);
            BOOST_TEST(got[i].layers.size() == expected[i].count);
            BOOST_TEST(got[i].spec.window == expected[i].window);
            BOOST_TEST(got[i].spec.kv_heads == expected[i].kv_heads);
            BOOST_TEST(got[i].spec.key_dim == expected[i].key_dim);
            BOOST_TEST(got[i].spec.value_dim == expected[i].value_dim);
        }
    }
}

// ---------------------------------------------------------------------------------------------- bundled configs

struct Bundled {
    const char* file;
    std::vector<Group> groups;  ///< in the order the layers first show each spec
    u64 hf_dtype;               ///< torch_dtype's bytes (float32 4, bfloat16/float16 2; none: float32, 4)
};

// Read off each file (num_hidden_layers, heads, head_dim or hidden_size / heads, layer_types or the window keys):
const Bundled kBundled[] = {
    {"llama-3-8b.json", {{LayerKind::full, 32, 0, 8, 128, 128}}, 2},
    {"llama-2-7b.json", {{LayerKind::full, 32, 0, 32, 128, 128}}, 2},
    {"falcon-7b.json", {{LayerKind::full, 32, 0, 1, 64, 64}}, 2},       // multi_query: one KV head; 4544 / 71
    {"gpt2.json", {{LayerKind::full, 12, 0, 12, 64, 64}}, 4},           // n_layer, n_head, n_embd 768 / 12
    {"gemma-7b.json", {{LayerKind::full, 28, 0, 16, 256, 256}}, 2},      // explicit head_dim 256
    {"qwen2-7b.json", {{LayerKind::full, 28, 0, 4, 128, 128}}, 2},       // use_sliding_window false
    // Gemma2: no layer_types; Gemma2Config slides where (i + 1) % 2 != 0, so layer 0 slides: 21 + 21
    {"gemma-2-9b.json", {{LayerKind::sliding, 21, 4096, 8, 256, 256}, {LayerKind::full, 21, 0, 8, 256, 256}}, 4},
    {"llava-1.5-7b.json", {{LayerKind::full, 32, 0, 32, 128, 128}}, 2},  // text_config
    // layer_types: sliding, full, ... x 12; sliding_window 128; no torch_dtype
    {"gpt-oss-20b.json", {{LayerKind::sliding, 12, 128, 8, 64, 64}, {LayerKind::full, 12, 0, 8, 64, 64}}, 4},
    {"llama-3.1-8b.json", {{LayerKind::full, 32, 0, 8, 128, 128}}, 2},
    {"llama-3.2-3b.json", {{LayerKind::full, 28, 0, 8, 128, 128}}, 2},
    {"qwen2.5-3b.json", {{LayerKind::full, 36, 0, 2, 128, 128}}, 2},     // 2048 / 16
    {"qwen2.5-7b.json", {{LayerKind::full, 28, 0, 4, 128, 128}}, 2},     // 3584 / 28
    {"qwen2.5-14b.json", {{LayerKind::full, 48, 0, 8, 128, 128}}, 2},    // 5120 / 40
    {"qwen2.5-32b.json", {{LayerKind::full, 64, 0, 8, 128, 128}}, 2},
    {"qwen3-4b.json", {{LayerKind::full, 36, 0, 8, 128, 128}}, 2},
    {"qwen3-8b.json", {{LayerKind::full, 36, 0, 8, 128, 128}}, 2},
    {"qwen3-14b.json", {{LayerKind::full, 40, 0, 8, 128, 128}}, 2},
    {"qwen3-32b.json", {{LayerKind::full, 64, 0, 8, 128, 128}}, 2},
    {"qwen3-30b-a3b.json", {{LayerKind::full, 48, 0, 4, 128, 128}}, 2},
    {"exaone-4.0-1.2b.json", {{LayerKind::full, 30, 0, 8, 64, 64}}, 2},  // layer_types: 30 x full_attention
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_bundled_config_in_every_engine) {
    BOOST_TEST(std::size(kBundled) == 21ull);
    for (const Bundled& b : kBundled) {
        BOOST_TEST_CONTEXT(b.file) {
            const HfConfig c = read_ok(example(b.file));
            check_groups(c, b.groups);
            for (const u64 t : {u64{1}, u64{1000}, u64{4096}, u64{32768}, u64{131072}}) {
                for (const std::uint32_t n : {1u, 3u}) {
                    BOOST_TEST_CONTEXT("tokens " << t << ", batch " << n) {
                        const sz::EngineSize hf = engine_ok(c, sz::Engine::hf, t, batch(n));
                        BOOST_TEST(hf.total_bytes == hf_bytes(b.groups, t, n, b.hf_dtype));
                        BOOST_TEST(hf.state_bytes == 0ull);
                        // vLLM serves float32 weights in bfloat16: 2 bytes for every bundled config
                        const sz::EngineSize vllm = engine_ok(c, sz::Engine::vllm, t, batch(n));
                        BOOST_TEST(vllm.total_bytes == vllm_bytes(b.groups, t, n, 2));
                        BOOST_TEST(vllm.kv_dtype == (b.hf_dtype == 4 ? sz::CacheDType::bf16 : hf.kv_dtype));
                        const sz::EngineSize llama = engine_ok(c, sz::Engine::llama_cpp, t, batch(n));
                        BOOST_TEST(llama.total_bytes == llama_bytes(b.groups, t, n));
                        BOOST_TEST(llama.kv_dtype == sz::CacheDType::f16);
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(published_figures) {
    // Llama-3-8B, bf16: 2 x 32 layers x 8 heads x 128 x 2 bytes = 128 KiB a token, 16 GiB at 131072 tokens in
    // every engine (131072 is a multiple of vLLM's 16 and llama.cpp's 256).
    const HfConfig llama = read_ok(example("llama-3-8b.json"));
    for (const sz::Engine e : sz::kEngines) {
        BOOST_TEST(engine_ok(llama, e, 131072).total_bytes == u64{16} << 30);
    }
    // gpt-oss-20b at 32768 tokens in vLLM: 12 full layers x 2048 pages + 12 sliding layers x (cdiv(127 + 8192,
    // 16) + 1 = 521) pages, pages of 16 x 8 x 128 x 2 = 32768 bytes: 12 x 32768 x 2569 = 1010171904.
    const HfConfig oss = read_ok(example("gpt-oss-20b.json"));
    BOOST_TEST(engine_ok(oss, sz::Engine::vllm, 32768).total_bytes == 1010171904ull);
    // llama.cpp: 12 x 32768 cells + 12 x GGML_PAD(128 + 512, 256) = 768 cells, 8 x 128 x 2 bytes a cell.
    BOOST_TEST(engine_ok(oss, sz::Engine::llama_cpp, 32768).total_bytes == (12ull * 32768 + 12ull * 768) * 2048);
    // hf: 12 x 32768 + 12 x 127 tokens, float32 (the config has no torch_dtype): 4096 bytes a token and layer.
    const sz::EngineSize hf = engine_ok(oss, sz::Engine::hf, 32768);
    BOOST_TEST(hf.total_bytes == (12ull * 32768 + 12ull * 127) * 4096);
    BOOST_TEST(hf.kv_dtype == sz::CacheDType::f32);
    BOOST_TEST(std::count_if(hf.notes.begin(), hf.notes.end(), [](const std::string& n) {
                   return n.find("no torch_dtype") != std::string::npos;
               }) == 1);
}

// ---------------------------------------------------------------------------------------------- other families

BOOST_AUTO_TEST_CASE(gemma3_text_config_takes_class_defaults) {
    // google/gemma-3-4b-it's text_config names only hidden_size, num_hidden_layers and sliding_window; the rest
    // is Gemma3TextConfig's: 8 heads, 4 KV heads, head_dim 256, five sliding layers then one full.
    const HfConfig c = read_ok(
        R"({"architectures":["Gemma3ForConditionalGeneration"],"model_type":"gemma3","text_config":{"hidden_size":2560,)"
        R"("intermediate_size":10240,"model_type":"gemma3_text","num_hidden_layers":34,)"
        R"("rope_scaling":{"factor":8.0,"rope_type":"linear"},"sliding_window":1024},"torch_dtype":"bfloat16"})");
    // 34 layers: full where (i + 1) % 6 == 0, i.e. 5, 11, 17, 23, 29: 5 full, 29 sliding
    const std::vector<Group> g = {{LayerKind::sliding, 29, 1024, 4, 256, 256}, {LayerKind::full, 5, 0, 4, 256, 256}};
    check_groups(c, g);
    BOOST_TEST(c.cache.layers[5].kind == LayerKind::full);
    BOOST_TEST(c.cache.layers[6].kind == LayerKind::sliding);
    BOOST_TEST_REQUIRE(c.cache.notes.size() == 1ull);
    BOOST_TEST(c.cache.notes[0].find("gemma3_text class defaults") != std::string::npos);
    // hf at 32768: 29 x 1023 + 5 x 32768 tokens x 4 x 512 x 2 bytes
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 32768).total_bytes == (29ull * 1023 + 5ull * 32768) * 4096);
    // vLLM: pages of 16 x 4 x 512 x 2 = 65536 bytes for both; 29 and 5 layers: group_size 5 (29 >= 1.5 x 5), so
    // 6 sliding groups (one padding layer) and 1 full group; sliding pages cdiv(min(1023 + 8192, 32768), 16) + 1
    // = 577, full 2048: 5 x 65536 x (6 x 577 + 2048).
    const sz::EngineSize v = engine_ok(c, sz::Engine::vllm, 32768);
    BOOST_TEST(v.total_bytes == 5ull * 65536 * (6ull * 577 + 2048));
    BOOST_TEST_REQUIRE(v.groups.size() == 2ull);
    BOOST_TEST(v.groups[0].padding_layers == 1ull);
    // llama.cpp: sliding GGML_PAD(1024 + 512, 256) = 1536 cells, full 32768: 4 x 512 x 2 bytes a cell
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 32768).total_bytes == (29ull * 1536 + 5ull * 32768) * 4096);
}

BOOST_AUTO_TEST_CASE(mla_deepseek_v3) {
    // DeepSeek-V3 (and Kimi-K2, a deepseek_v3 with 64 heads): 61 MLA layers, kv_lora_rank 512, rope 64.
    const HfConfig c = read_ok(
        R"({"architectures":["DeepseekV3ForCausalLM"],"model_type":"deepseek_v3","num_hidden_layers":61,)"
        R"("num_attention_heads":128,"num_key_value_heads":128,"hidden_size":7168,"kv_lora_rank":512,)"
        R"("q_lora_rank":1536,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,"torch_dtype":"bfloat16"})");
    BOOST_TEST_REQUIRE(c.cache.layers.size() == 61ull);
    BOOST_TEST(c.cache.layers[0].kind == LayerKind::mla);
    BOOST_TEST(c.cache.layers[0].kv_lora_rank == 512ull);
    BOOST_TEST(c.cache.layers[0].rope_dim == 64ull);
    BOOST_TEST(c.v1_refusal.has_value());
    // transformers caches 128 heads of keys (128 + 64) and values (128): 61 x T x 128 x 320 x 2 bytes
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 4096).total_bytes == 61ull * 4096 * 128 * 320 * 2);
    // vLLM (MLAAttentionSpec): one latent of 512 + 64 per token, no separate values: 61 x 4096 x 576 x 2 =
    // 70272 bytes a token, the figure usually quoted for DeepSeek-V3's MLA cache.
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 4096).total_bytes == 70272ull * 4096);
    // llama.cpp: K rows of 576 and no V (has_v = !is_mla): the same 70272 bytes a cell in f16;
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4096).total_bytes == 70272ull * 4096);
    // in q8_0, a row of 576 is 18 blocks of 34 bytes: 61 x 612 bytes a cell
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4096, kv(sz::CacheDType::q8_0)).total_bytes == 61ull * 612 * 4096);
    // vLLM fp8: one byte an element
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 4096, kv(sz::CacheDType::fp8_e4m3)).total_bytes == 61ull * 576 * 4096);
}

BOOST_AUTO_TEST_CASE(llama4_chunked_attention) {
    // Llama-4-Scout: 48 layers; attention_chunk_size 8192; no_rope_layers absent, so every fourth layer
    // ((i + 1) % 4 == 0) is full and the others chunked: 36 chunked, 12 full; 8 KV heads of 128.
    const HfConfig c = read_ok(
        R"({"model_type":"llama4","text_config":{"model_type":"llama4_text","num_hidden_layers":48,)"
        R"("num_attention_heads":40,"num_key_value_heads":8,"head_dim":128,"hidden_size":5120,)"
        R"("attention_chunk_size":8192},"torch_dtype":"bfloat16"})");
    check_groups(c, {{LayerKind::chunked, 36, 8192, 8, 128, 128}, {LayerKind::full, 12, 0, 8, 128, 128}});
    BOOST_TEST(c.cache.layers[3].kind == LayerKind::full);
    // hf: chunked layers keep min(T, 8191) (DynamicSlidingWindowLayer with attention_chunk_size)
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 65536).total_bytes == (36ull * 8191 + 12ull * 65536) * 4096);
    // vLLM: pages of 65536; group_size 12 (36 >= 18): 3 chunked groups of cdiv(min(8192 + 8192, 65536), 16) =
    // 1024 pages and one full group of 4096 pages: 12 x 65536 x (3 x 1024 + 4096)
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 65536).total_bytes == 12ull * 65536 * (3ull * 1024 + 4096));
    // llama.cpp: chunked layers in the SWA cache: GGML_PAD(8192 + 512, 256) = 8704 cells
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 65536).total_bytes == (36ull * 8704 + 12ull * 65536) * 4096);
    // An explicit no_rope_layers (1: RoPE, chunked; 0: full) wins over the interval.
    const HfConfig d = read_ok(
        R"({"model_type":"llama4_text","num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":8,)"
        R"("head_dim":8,"attention_chunk_size":16,"no_rope_layers":[0,1,1,0]})");
    BOOST_TEST(d.cache.layers[0].kind == LayerKind::full);
    BOOST_TEST(d.cache.layers[1].kind == LayerKind::chunked);
    BOOST_TEST(d.cache.layers[3].kind == LayerKind::full);
    // attention_chunk_size elsewhere (MiMo-V2-Flash sets it beside a hybrid_layer_pattern of its own) is not
    // laid out by Llama-4's interval: refused, unless the config names the no-RoPE layers itself.
    const std::string other = R"({"model_type":"mimo_v2_flash","num_hidden_layers":4,"num_attention_heads":8,)"
                              R"("num_key_value_heads":8,"head_dim":8,"attention_chunk_size":16)";
    CHECK_ERROR(read_error(other + "}"), ErrorKind::unsupported, "hf_config.unknown_layer_pattern",
                "attention_chunk_size",
                "key `attention_chunk_size` is set for model_type \"mimo_v2_flash\", with no `layer_types`, "
                "`no_rope_layers` or `no_rope_layer_interval` to say which layers are chunked (Llama-4's rule "
                "applies to Llama-4 only)");
    BOOST_TEST(read_ok(other + R"(,"no_rope_layer_interval":2})").cache.layers[1].kind == LayerKind::full);
    BOOST_TEST(read_ok(other + R"(,"layer_types":["chunked_attention","full_attention","full_attention",)"
                               R"("chunked_attention"]})")
                   .cache.layers[3]
                   .kind == LayerKind::chunked);
}

BOOST_AUTO_TEST_CASE(chatglm_keys) {
    // ChatGLM (model_type chatglm: ChatGLM2/3, GLM-4-9B) spells its layers num_layers and its KV heads
    // multi_query_group_num under multi_query_attention; vLLM's GLMAttention takes head_dim = hidden_size / heads
    // (kv_channels agrees, 4096 / 32 = 128). These are THUDM/chatglm3-6b's keys: 28 layers, 2 KV heads of 128.
    const std::string glm = R"({"architectures":["ChatGLMModel"],"model_type":"chatglm","hidden_size":4096,)"
                            R"("kv_channels":128,"num_attention_heads":32,"num_layers":28,"seq_length":8192,)"
                            R"("torch_dtype":"float16")";
    const HfConfig c = read_ok(glm + R"(,"multi_query_attention":true,"multi_query_group_num":2})");
    BOOST_TEST(c.layers == 28u);
    BOOST_TEST(c.kv_heads == 2u);
    BOOST_TEST(c.head_dim == 128u);
    BOOST_TEST(c.attention_kind == KvAttentionKind::gqa);
    check_groups(c, {{LayerKind::full, 28, 0, 2, 128, 128}});
    const u64 per_token = 28ull * 2 * (128 + 128) * 2;  // layers x KV heads x (K + V) x f16
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 8192).total_bytes == per_token * 8192);
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 8192).total_bytes == per_token * 8192);  // 512 whole pages
    // multi_query_attention false: every head has its own K and V; true with no group count: ChatGLMConfig's 1.
    BOOST_TEST(read_ok(glm + R"(,"multi_query_attention":false,"multi_query_group_num":2})").kv_heads == 32u);
    BOOST_TEST(read_ok(glm + R"(,"multi_query_attention":true})").kv_heads == 1u);
    // An explicit num_key_value_heads wins, as for every family.
    BOOST_TEST(read_ok(glm + R"(,"multi_query_attention":true,"num_key_value_heads":4})").kv_heads == 4u);
    // EXAONE-3 (model_type exaone, ExaoneConfig) spells only the layer count num_layers: 32 layers, 8 KV heads of
    // 4096 / 32 = 128.
    const HfConfig x = read_ok(R"({"architectures":["ExaoneForCausalLM"],"model_type":"exaone","num_layers":32,)"
                               R"("num_attention_heads":32,"num_key_value_heads":8,"hidden_size":4096,)"
                               R"("torch_dtype":"bfloat16"})");
    check_groups(x, {{LayerKind::full, 32, 0, 8, 128, 128}});
    BOOST_TEST(engine_ok(x, sz::Engine::vllm, 4096).total_bytes == 32ull * 4096 * 8 * (128 + 128) * 2);
    // The layer count is named by the key the config used.
    CHECK_ERROR(read_error(R"({"num_layers":65537,"num_attention_heads":1,"head_dim":1})"),
                ErrorKind::resource_limit_exceeded, "hf_config.too_many_layers", "num_layers",
                "key `num_layers`: 65537 layers is over the limit of 65536 (HfConfigLimits::max_layers)");
}

BOOST_AUTO_TEST_CASE(nemotron_nas_block_configs) {
    // DeciLM / Nemotron-NAS: layer i attends unless block_configs[i].attention.no_op, with heads /
    // n_heads_in_group KV heads (vLLM's DeciLMDecoderLayer); num_key_value_heads is null in the real files.
    const auto config = [](std::string_view blocks) {
        return std::string(R"({"model_type":"nemotron-nas","num_hidden_layers":4,"num_attention_heads":8,)"
                           R"("num_key_value_heads":null,"hidden_size":64,"torch_dtype":"bfloat16","block_configs":[)")
            .append(blocks)
            .append("]}");
    };
    const std::string attend8 = R"({"attention":{"n_heads_in_group":8,"no_op":false,"replace_with_linear":false,)"
                                R"("window_length":null},"ffn":{"ffn_mult":2.5,"no_op":false}})";
    const std::string attend2 = R"({"attention":{"n_heads_in_group":2,"no_op":false},"ffn":{"no_op":true}})";
    const std::string skip = R"({"attention":{"n_heads_in_group":null,"no_op":true},"ffn":{"ffn_mult":1.0}})";
    // Layers 0 and 2 attend with 8 / 8 = 1 KV head of 64 / 8 = 8; 1 and 3 hold nothing.
    const HfConfig c = read_ok(config(attend8 + "," + skip + "," + attend8 + "," + skip));
    check_groups(c, {{LayerKind::full, 2, 0, 1, 8, 8}, {LayerKind::none, 2, 0, 0, 0, 0}});
    BOOST_TEST(c.kv_heads == 1u);
    BOOST_TEST(c.v1_refusal.has_value());  // only 2 of the 4 layers hold keys and values
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 100).total_bytes == 2ull * 100 * 1 * (8 + 8) * 2);
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 100).total_bytes == 2ull * 7 * 16 * 1 * (8 + 8) * 2);  // 7 pages
    // Every layer attending alike: one v1 geometry (8 / 2 = 4 KV heads, GQA).
    const HfConfig d = read_ok(config(attend2 + "," + attend2 + "," + attend2 + "," + attend2));
    BOOST_TEST(!d.v1_refusal.has_value());
    BOOST_TEST(d.kv_heads == 4u);
    BOOST_TEST(d.attention_kind == KvAttentionKind::gqa);
    // Attending layers that differ in KV heads: sized per layer, no v1 descriptor.
    const HfConfig e = read_ok(config(attend8 + "," + attend2 + "," + skip + "," + attend2));
    check_groups(e, {{LayerKind::full, 1, 0, 1, 8, 8},
                     {LayerKind::full, 2, 0, 4, 8, 8},
                     {LayerKind::none, 1, 0, 0, 0, 0}});
    BOOST_REQUIRE(e.v1_refusal.has_value());
    CHECK_ERROR(*e.v1_refusal, ErrorKind::unsupported, "hf_config.layers_differ", "block_configs",
                "key `block_configs` gives layer 1 4 KV heads and an earlier layer 1: layers with different KV heads "
                "are not one KvTensorShapeV1 geometry");
    // Keys the element leaves out, and values nested deeper or in arrays, are not read as the attention's.
    const std::string noisy = R"({"ffn":{"no_op":true,"x":[{"no_op":true}]},"attention":{"n_heads_in_group":4,)"
                              R"("extra":{"no_op":true},"list":[true]}})";
    BOOST_TEST(read_ok(config(noisy + "," + noisy + "," + noisy + "," + noisy)).kv_heads == 2u);

    // Refusals name the element.
    CHECK_ERROR(read_error(config(attend8)), ErrorKind::parse, "hf_config.layer_types_length", "block_configs",
                "key `block_configs` lists 1 layers, but the model has 4");
    CHECK_ERROR(read_error(config(attend8 + ",[]," + attend8 + "," + attend8)), ErrorKind::parse,
                "hf_config.invalid_type", "block_configs",
                "key `block_configs`: element 1: invalid type: sequence, expected a map");
    CHECK_ERROR(read_error(config(attend8 + "," + attend8 + R"(,{"attention":{"no_op":false}},)" + attend8)),
                ErrorKind::parse, "hf_config.missing_key", "block_configs",
                "key `block_configs`: element 2: missing key `attention.n_heads_in_group` (a layer that is not no_op)");
    CHECK_ERROR(read_error(config(R"({"attention":[8]},)" + attend8 + "," + attend8 + "," + attend8)),
                ErrorKind::parse, "hf_config.missing_key", "block_configs",
                "key `block_configs`: element 0: missing key `attention.n_heads_in_group` (a layer that is not no_op)");
    CHECK_ERROR(read_error(config(attend8 + R"(,{"attention":{"n_heads_in_group":0}},)" + attend8 + "," + attend8)),
                ErrorKind::parse, "hf_config.invalid_value", "block_configs",
                "key `block_configs`: element 1: `attention.n_heads_in_group`: invalid value: integer `0`, expected a "
                "positive integer");
    CHECK_ERROR(read_error(config(attend8 + R"(,{"attention":{"n_heads_in_group":2.0}},)" + attend8 + "," + attend8)),
                ErrorKind::parse, "hf_config.invalid_type", "block_configs",
                "key `block_configs`: element 1: `attention.n_heads_in_group`: invalid type: floating point `2.0`, "
                "expected a positive integer");
    CHECK_ERROR(read_error(config(attend8 + R"(,{"attention":{"n_heads_in_group":3}},)" + attend8 + "," + attend8)),
                ErrorKind::dimension_not_divisible, "hf_config.invalid_value", "block_configs",
                "key `block_configs`: element 1: `attention.n_heads_in_group` 3 does not divide the 8 attention heads");
    CHECK_ERROR(read_error(config(attend8 + R"(,{"attention":{"no_op":"no"}},)" + attend8 + "," + attend8)),
                ErrorKind::parse, "hf_config.invalid_type", "block_configs",
                "key `block_configs`: element 1: `attention.no_op`: invalid type: string \"no\", expected a boolean");
    CHECK_ERROR(read_error(config(attend8 + R"(,{"attention":{"n_heads_in_group":8,"replace_with_linear":true}},)" +
                                  attend8 + "," + attend8)),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "block_configs",
                "key `block_configs`: element 1: `attention.replace_with_linear` is set: only plain attention (or "
                "no_op) is sized");
    CHECK_ERROR(read_error(config(attend8 + "," + attend8 + "," + attend8 +
                                  R"(,{"attention":{"n_heads_in_group":8,"window_length":4096}})")),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "block_configs",
                "key `block_configs`: element 3: `attention.window_length` is set: only plain attention (or no_op) is "
                "sized");
}

BOOST_AUTO_TEST_CASE(layers_not_laid_out_are_refused) {
    // Each key names a per-layer geometry the reader does not model; the config is refused with the key named.
    const std::string base = R"({"model_type":"x","num_hidden_layers":4,"num_attention_heads":8,)"
                             R"("num_key_value_heads":2,"head_dim":16)";
    const std::string tail = ": this reader does not lay out such layers, and does not size them as if they were alike";
    const std::pair<std::string, std::string> cases[] = {
        {R"("linear_attn_config":{"full_attn_layers":[4]})",
         "key `linear_attn_config` lays out linear-attention and MLA layers in an object of its own (Kimi-Linear)"},
        {R"("cross_attention_layers":[1])",
         "key `cross_attention_layers` makes those layers cross-attention layers, which cache the vision tokens "
         "instead (Mllama)"},
        {R"("global_head_dim":32,"v_head_dim":8)",
         "key `global_head_dim` gives the full-attention layers a head_dim of their own, and the others' key and "
         "value widths differ"},
        {R"("mamba_d_ssm":1024)", "key `mamba_d_ssm` runs a Mamba-2 mixer beside the attention of every layer "
                                  "(Falcon-H1), whose state is not modelled"},
        {R"("compress_ratios":[0,4,128,4])",
         "key `compress_ratios` gives layers compressed key-value caches of their own (DeepSeek-V4)"},
    };
    for (const auto& [extra, message] : cases) {
        const Error e = read_error(base + "," + extra + "}");
        BOOST_TEST(e.kind == ErrorKind::unsupported);
        BOOST_TEST(e.rule == "hf_config.unknown_layer_pattern");
        BOOST_TEST(e.message == message + tail);
    }
    // Where layer_types lays the layers out anyway, layers_block_type is not needed and the config is sized.
    BOOST_TEST(read_ok(base + R"(,"layer_types":["full_attention","full_attention","full_attention",)"
                              R"("full_attention"],"layers_block_type":["a","b","c","d"]})")
                   .cache.layers.size() == 4u);
}

BOOST_AUTO_TEST_CASE(nemotron_h_layers_block_type) {
    // Newer Nemotron-H configs name each layer's block and may leave num_hidden_layers out (NemotronHConfig derives
    // it): "mamba" a Mamba-2 state, "attention" keys and values, "mlp" and "moe" nothing.
    const auto config = [](std::string_view blocks) {
        return std::string(R"({"model_type":"nemotron_h","num_attention_heads":8,"num_key_value_heads":2,)"
                           R"("head_dim":16,"hidden_size":128,"mamba_num_heads":4,"mamba_head_dim":8,"n_groups":1,)"
                           R"("ssm_state_size":16,"conv_kernel":4,"torch_dtype":"bfloat16","layers_block_type":)")
            .append(blocks)
            .append("}");
    };
    const HfConfig c = read_ok(config(R"(["mamba","moe","attention","mlp","mamba","attention"])"));
    BOOST_TEST(c.layers == 6u);
    check_groups(c, {{LayerKind::mamba, 2, 0, 0, 0, 0}, {LayerKind::none, 2, 0, 0, 0, 0},
                     {LayerKind::full, 2, 0, 2, 16, 16}});
    // Mamba-2 state a layer: conv (4 x 8 + 2 x 1 x 16) x 4 + SSM 4 x 8 x 16 elements.
    BOOST_TEST(c.cache.layers[0].state_elements == (32ull + 32) * 4 + 32ull * 16);
    CHECK_ERROR(read_error(config(R"(["mamba","attention"],"num_hidden_layers":3)")), ErrorKind::parse,
                "hf_config.layer_types_length", "layers_block_type",
                "key `layers_block_type` lists 2 layers, but the model has 3");
    CHECK_ERROR(read_error(config(R"(["mamba","hybrid","mamba"])")), ErrorKind::unsupported,
                "hf_config.unknown_layer_pattern", "layers_block_type",
                "key `layers_block_type`: element 1 is string \"hybrid\": a layer that holds both a Mamba state and an "
                "attention cache (Zamba2) is not in the cache model");
    CHECK_ERROR(read_error(config(R"(["mamba",7])")), ErrorKind::parse, "hf_config.unknown_layer_type",
                "layers_block_type",
                "key `layers_block_type`: element 1 is integer `7`, expected one of \"mamba\", \"attention\", \"mlp\", "
                "\"moe\"");
}

BOOST_AUTO_TEST_CASE(granite_4_hybrid_mamba2_keys) {
    // Granite-4.0-H (granitemoehybrid): layer_types "mamba" and "attention" (vLLM's ALL_DECODER_LAYER_TYPES), and
    // Mamba-2 keys of its own: mamba_n_heads, mamba_d_head, mamba_n_groups, mamba_d_state, mamba_d_conv; the conv
    // state's intermediate is mamba_expand x hidden_size (get_mamba_state_shape_from_config). Before, "attention"
    // was an unknown layer type. Here the intermediate (2 x 64 = 128) differs from heads x head_dim (4 x 16 = 64)
    // on purpose, so that the two cannot be confused.
    const auto config = [](std::string_view extra) {
        return std::string(R"({"model_type":"granitemoehybrid","num_hidden_layers":3,"num_attention_heads":4,)"
                           R"("num_key_value_heads":2,"hidden_size":64,"mamba_n_heads":4,"mamba_d_head":16,)"
                           R"("mamba_n_groups":1,"mamba_d_state":8,"mamba_d_conv":4,"torch_dtype":"bfloat16",)"
                           R"("layer_types":["mamba","attention","mamba"])")
            .append(extra)
            .append("}");
    };
    const HfConfig c = read_ok(config(R"(,"mamba_expand":2)"));
    check_groups(c, {{LayerKind::mamba, 2, 0, 0, 0, 0}, {LayerKind::full, 1, 0, 2, 16, 16}});
    // A Mamba-2 layer's state: conv (128 + 2 x 1 x 8) x 4 taps, SSM 4 x 16 x 8.
    const std::uint64_t conv_width = 128 + 2 * 1 * 8;
    BOOST_TEST(c.cache.layers[0].state_elements == conv_width * 4 + 4ull * 16 * 8);
    // llama.cpp keeps the state in f32 with d_conv - 1 taps; 100 tokens pad to 256 cells of the attention layer.
    const sz::EngineSize l = engine_ok(c, sz::Engine::llama_cpp, 100);
    BOOST_TEST(l.state_bytes == 2 * (conv_width * 3 + 4ull * 16 * 8) * 4);
    BOOST_TEST(l.total_bytes == 256ull * 2 * (16 + 16) * 2);
    CHECK_ERROR(read_error(config("")), ErrorKind::parse, "hf_config.missing_key", "mamba_expand",
                "missing key `mamba_expand` (and `hidden_size`: a Mamba-2 layer's intermediate size)");
    CHECK_ERROR(read_error(std::string(R"({"model_type":"granitemoehybrid","num_hidden_layers":2,)")
                               .append(R"("num_attention_heads":4,"hidden_size":64,"mamba_n_heads":4,)")
                               .append(R"("mamba_expand":2,)")
                               .append(R"("layer_types":["mamba","attention"]})")),
                ErrorKind::parse, "hf_config.missing_key", "mamba_d_head",
                "missing key `mamba_d_head` (a Mamba-2 layer's state)");
    // A state past 2^64 elements is refused, naming Granite's own heads key: (2^32 - 1)^2 x 2 overflows.
    CHECK_ERROR(read_error(std::string(R"({"model_type":"granitemoehybrid","num_hidden_layers":2,)")
                               .append(R"("num_attention_heads":4,"hidden_size":64,"mamba_expand":2,)")
                               .append(R"("mamba_n_heads":4294967295,"mamba_d_head":4294967295,"mamba_n_groups":1,)")
                               .append(R"("mamba_d_state":2,"mamba_d_conv":4,"layer_types":["mamba","attention"]})")),
                ErrorKind::resource_limit_exceeded, "hf_config.total_overflow", "mamba_n_heads",
                "a Mamba-2 layer's state does not fit in 64 bits");
}

BOOST_AUTO_TEST_CASE(mla_widths_need_no_divisible_hidden_size) {
    // Kimi-style MLA: 7168 / 96 is not an integer, and MLA's widths are its own (qk_nope 128 + qk_rope 64 keys,
    // v_head_dim 128 values; vLLM caches the latent 512 + 64). GLM-5's layer_types name its layers
    // "deepseek_sparse_attention": MLA over the whole context.
    const std::string mla = R"({"model_type":"x","num_hidden_layers":2,"num_attention_heads":96,"hidden_size":7168,)"
                            R"("kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,)"
                            R"("torch_dtype":"bfloat16")";
    const HfConfig c = read_ok(mla + "}");
    check_groups(c, {{LayerKind::mla, 2, 0, 96, 192, 128}});
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 16).total_bytes == 2ull * 16 * (512 + 64) * 2);
    const HfConfig d =
        read_ok(mla + R"(,"layer_types":["deepseek_sparse_attention","deepseek_sparse_attention"]})");
    check_groups(d, {{LayerKind::mla, 2, 0, 96, 192, 128}});
    // Without MLA the division stands.
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":96,"hidden_size":7168})"),
                ErrorKind::dimension_not_divisible, "hf_config.hidden_size_divisible", "hidden_size",
                "`hidden_size` 7168 is not a multiple of `num_attention_heads` 96, and there is no `head_dim`");
}

BOOST_AUTO_TEST_CASE(gemma4_global_layers) {
    // Gemma-4 (vLLM's Gemma4DecoderLayer): full layers take global_head_dim, and num_global_key_value_heads where
    // attention_k_eq_v; K and V are both cached. 6 layers, sliding except every third: 4 sliding of 4 x 16, 2 full.
    const std::string base = R"({"model_type":"gemma4_text","num_hidden_layers":6,"num_attention_heads":8,)"
                             R"("num_key_value_heads":4,"head_dim":16,"global_head_dim":32,"sliding_window":8,)"
                             R"("torch_dtype":"bfloat16","layer_types":["sliding_attention","sliding_attention",)"
                             R"("full_attention","sliding_attention","sliding_attention","full_attention"])";
    const HfConfig c = read_ok(base + R"(,"num_global_key_value_heads":1,"attention_k_eq_v":true})");
    check_groups(c, {{LayerKind::sliding, 4, 8, 4, 16, 16}, {LayerKind::full, 2, 0, 1, 32, 32}});
    BOOST_REQUIRE(c.v1_refusal.has_value());
    CHECK_ERROR(*c.v1_refusal, ErrorKind::unsupported, "hf_config.layers_differ", "global_head_dim",
                "the full-attention layers hold 1 KV heads of 32 (`global_head_dim`, `num_global_key_value_heads`), "
                "the others 4 of 16: layers that differ so are not one KvTensorShapeV1 geometry");
    // hf: sliding layers keep min(T, 8 - 1) tokens; 100 tokens, bf16.
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 100).total_bytes ==
               (4ull * 7 * 4 * (16 + 16) + 2ull * 100 * 1 * (32 + 32)) * 2);
    // Without attention_k_eq_v, num_global_key_value_heads is not read (vLLM reads it only then).
    check_groups(read_ok(base + R"(,"num_global_key_value_heads":1})"),
                 {{LayerKind::sliding, 4, 8, 4, 16, 16}, {LayerKind::full, 2, 0, 4, 32, 32}});
    // A global_head_dim equal to head_dim changes nothing, and the v1 row stands (with its window note).
    BOOST_TEST(!read_ok(R"({"model_type":"x","num_hidden_layers":2,"num_attention_heads":8,"head_dim":16,)"
                        R"("global_head_dim":16})")
                    .v1_refusal.has_value());
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":8,"head_dim":16,"global_head_dim":0})"),
                ErrorKind::parse, "hf_config.invalid_value", "global_head_dim",
                "key `global_head_dim`: invalid value: integer `0`, expected a positive integer");
}

BOOST_AUTO_TEST_CASE(mimo_v2_hybrid_layer_pattern) {
    // MiMo-V2 (vLLM's mimo_v2_flash.py): hybrid_layer_pattern 1 is a sliding-window layer with the swa_* heads and
    // widths and the window sliding_window_size, 0 a full layer; keys 192 wide and values 128 in both.
    const auto config = [](std::string_view pattern) {
        return std::string(R"({"model_type":"mimo_v2_flash","num_hidden_layers":4,"num_attention_heads":8,)"
                           R"("num_key_value_heads":2,"head_dim":192,"v_head_dim":128,"swa_num_key_value_heads":4,)"
                           R"("swa_head_dim":192,"swa_v_head_dim":128,"sliding_window":64,"sliding_window_size":32,)"
                           R"("attention_chunk_size":32,"torch_dtype":"bfloat16","hybrid_layer_pattern":)")
            .append(pattern)
            .append("}");
    };
    const HfConfig c = read_ok(config("[0,1,1,1]"));
    check_groups(c, {{LayerKind::full, 1, 0, 2, 192, 128}, {LayerKind::sliding, 3, 32, 4, 192, 128}});
    BOOST_TEST(c.v1_refusal.has_value());
    // hf: the sliding layers keep min(T, 32 - 1) tokens; 100 tokens, bf16.
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 100).total_bytes ==
               (1ull * 100 * 2 * (192 + 128) + 3ull * 31 * 4 * (192 + 128)) * 2);
    CHECK_ERROR(read_error(config("[0,1]")), ErrorKind::parse, "hf_config.layer_types_length", "hybrid_layer_pattern",
                "key `hybrid_layer_pattern` lists 2 layers, but the model has 4");
    CHECK_ERROR(read_error(config("[0,1,2,1]")), ErrorKind::parse, "hf_config.unknown_layer_type",
                "hybrid_layer_pattern",
                "key `hybrid_layer_pattern`: element 2 is integer `2`, expected 0 (full attention) or 1 (sliding window)");
    CHECK_ERROR(read_error(config(R"([0,1,"1",1])")), ErrorKind::parse, "hf_config.invalid_type",
                "hybrid_layer_pattern",
                "key `hybrid_layer_pattern`: element 2: invalid type: string \"1\", expected u32");
    // Layers that differ only in heads (the widths alike): no v1 descriptor either, by the generic check.
    const HfConfig d = read_ok(R"({"num_hidden_layers":2,"num_attention_heads":8,"num_key_value_heads":2,)"
                               R"("head_dim":16,"swa_num_key_value_heads":4,"sliding_window":8,)"
                               R"("hybrid_layer_pattern":[0,1]})");
    BOOST_REQUIRE(d.v1_refusal.has_value());
    CHECK_ERROR(*d.v1_refusal, ErrorKind::unsupported, "hf_config.layers_differ", "",
                "layers hold different KV heads or widths (2 x 16/16 and 4 x 16/16): not one KvTensorShapeV1 geometry");
}

BOOST_AUTO_TEST_CASE(minimax_attn_type_list) {
    // MiniMax (vLLM's minimax_text_01.py): attn_type_list 1 is a softmax attention layer, 0 a lightning (linear)
    // attention layer. Before this was read, the 0 layers were sized as full attention, 8x the real cache of
    // MiniMax-Text-01; now a 0 is refused by name, and a list of 1 (MiniMax-M2) sizes every layer as full.
    const auto config = [](std::string_view list) {
        return std::string(R"({"model_type":"minimax_m1","num_hidden_layers":4,"num_attention_heads":8,)"
                           R"("num_key_value_heads":2,"head_dim":16,"torch_dtype":"bfloat16","attn_type_list":)")
            .append(list)
            .append("}");
    };
    const HfConfig c = read_ok(config("[1,1,1,1]"));
    check_groups(c, {{LayerKind::full, 4, 0, 2, 16, 16}});
    BOOST_TEST(!c.v1_refusal.has_value());
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 100).total_bytes == 4ull * 100 * 2 * (16 + 16) * 2);
    CHECK_ERROR(read_error(config("[1,1,0,1]")), ErrorKind::unsupported, "hf_config.unknown_layer_pattern",
                "attn_type_list",
                "key `attn_type_list`: element 2 is 0, a lightning (linear) attention layer (MiniMax-Text-01, "
                "MiniMax-M1), whose state is not modelled: this reader does not lay out such layers, and does not "
                "size them as if they were alike");
    CHECK_ERROR(read_error(config("[1,1,1]")), ErrorKind::parse, "hf_config.layer_types_length", "attn_type_list",
                "key `attn_type_list` lists 3 layers, but the model has 4");
    CHECK_ERROR(read_error(config("[1,2,1,1]")), ErrorKind::parse, "hf_config.unknown_layer_type", "attn_type_list",
                "key `attn_type_list`: element 1 is integer `2`, expected 0 (lightning attention) or 1 (softmax "
                "attention)");
    CHECK_ERROR(read_error(config(R"([1,1,true,1])")), ErrorKind::parse, "hf_config.invalid_type", "attn_type_list",
                "key `attn_type_list`: element 2: invalid type: boolean `true`, expected u32");
    // transformers' MiniMax names the same layers "linear_attention" in layer_types: refused alike, rather than
    // asked for a Gated DeltaNet's keys it does not have.
    CHECK_ERROR(read_error(R"({"model_type":"minimax","num_hidden_layers":2,"num_attention_heads":8,)"
                           R"("num_key_value_heads":2,"head_dim":16,)"
                           R"("layer_types":["linear_attention","full_attention"]})"),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "layer_types",
                "key `layer_types`: MiniMax's \"linear_attention\" layers are lightning attention, whose state is not "
                "modelled: this reader does not lay out such layers, and does not size them as if they were alike");
    CHECK_ERROR(read_error(config(R"("1111")")), ErrorKind::parse, "hf_config.invalid_type", "attn_type_list",
                "key `attn_type_list`: invalid type: string \"1111\", expected a sequence");
}

BOOST_AUTO_TEST_CASE(step_num_attention_groups) {
    // StepFun's Step-3 and Step-3.5 give their KV heads as num_attention_groups (vLLM's step3p5.py: num_kv_heads =
    // config.num_attention_groups). Before this was read, Step-3's 64 heads were sized as 64 KV heads, 64x its
    // cache of one.
    const std::string step3 = R"({"model_type":"step3_text","num_hidden_layers":3,"num_attention_heads":64,)"
                              R"("num_attention_groups":1,"head_dim":256,"hidden_size":7168,"torch_dtype":"bfloat16")";
    const HfConfig c = read_ok(step3 + "}");
    check_groups(c, {{LayerKind::full, 3, 0, 1, 256, 256}});
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 10).total_bytes == 3ull * 10 * 1 * (256 + 256) * 2);
    // num_key_value_heads, where a config has both, is the one read.
    check_groups(read_ok(step3 + R"(,"num_key_value_heads":4})"), {{LayerKind::full, 3, 0, 4, 256, 256}});
    // Step-3.5's attention_other_setting gives one layer type heads and widths of its own: refused by name.
    CHECK_ERROR(read_error(step3 + R"(,"attention_other_setting":{"attention_type":"sliding_attention",)"
                                   R"("num_attention_groups":8,"head_dim":128}})"),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "attention_other_setting",
                "key `attention_other_setting` gives the layers of one type heads and widths of their own (Step-3.5): "
                "this reader does not lay out such layers, and does not size them as if they were alike");
}

BOOST_AUTO_TEST_CASE(hunyuan_head_dim_and_cross_layer_attention) {
    // Hunyuan (vLLM's hunyuan_v1.py, HunYuanAttention): head_dim, else attention_head_dim, else hidden_size /
    // heads. Hunyuan-Large's 6400 / 80 is 80, but its heads are 128 wide: before attention_head_dim was read, its
    // cache was sized at 80/128 of the real one.
    const std::string base = R"({"model_type":"hunyuan","num_hidden_layers":2,"num_attention_heads":80,)"
                             R"("num_key_value_heads":8,"hidden_size":6400,"torch_dtype":"bfloat16")";
    check_groups(read_ok(base + "}"), {{LayerKind::full, 2, 0, 8, 80, 80}});
    check_groups(read_ok(base + R"(,"attention_head_dim":128})"), {{LayerKind::full, 2, 0, 8, 128, 128}});
    check_groups(read_ok(base + R"(,"head_dim":96,"attention_head_dim":128})"), {{LayerKind::full, 2, 0, 8, 96, 96}});
    // use_cla with cla_share_factor above 1: layers reuse the keys and values of the layer before (vLLM builds them
    // as HunYuanCrossAttention): refused by name. use_cla false, or a factor of 1, is plain attention.
    CHECK_ERROR(read_error(base + R"(,"use_cla":true,"cla_share_factor":2})"), ErrorKind::unsupported,
                "hf_config.unknown_layer_pattern", "cla_share_factor",
                "key `cla_share_factor` with `use_cla` lets layers share the keys and values of the layer before them "
                "(Hunyuan's cross-layer attention): this reader does not lay out such layers, and does not size them "
                "as if they were alike");
    check_groups(read_ok(base + R"(,"use_cla":false,"cla_share_factor":2})"), {{LayerKind::full, 2, 0, 8, 80, 80}});
    check_groups(read_ok(base + R"(,"use_cla":true,"cla_share_factor":1})"), {{LayerKind::full, 2, 0, 8, 80, 80}});
    CHECK_ERROR(read_error(base + R"(,"use_cla":"yes"})"), ErrorKind::parse, "hf_config.invalid_type", "use_cla",
                "key `use_cla`: invalid type: string \"yes\", expected a boolean");
}

BOOST_AUTO_TEST_CASE(layouts_refused_by_name) {
    // RecurrentGemma's block_types (["recurrent","recurrent","attention"], cycled) make two layers in three an RG-LRU
    // recurrence and the third local attention over attention_window_size: sized before as every layer full
    // attention. Refused by name.
    CHECK_ERROR(read_error(R"({"model_type":"recurrent_gemma","num_hidden_layers":26,"num_attention_heads":10,)"
                           R"("num_key_value_heads":1,"head_dim":256,"attention_window_size":2048,)"
                           R"("block_types":["recurrent","recurrent","attention"]})"),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "block_types",
                "key `block_types` names recurrent and local-attention blocks, a recurrent state beside windowed "
                "attention (RecurrentGemma): this reader does not lay out such layers, and does not size them as if "
                "they were alike");
    // Ling/Ring linear (bailing_moe_linear): layer_group_size 5 makes one layer in five softmax attention and the
    // others linear attention; LFM2's older configs list their attention layers in full_attn_idxs, the others
    // being short convolutions. Both were sized as every layer full attention (5x and 2.7x the real cache).
    const std::string base = R"({"num_hidden_layers":20,"num_attention_heads":16,"num_key_value_heads":4,)"
                             R"("head_dim":128)";
    CHECK_ERROR(read_error(base + R"(,"model_type":"bailing_moe_linear","layer_group_size":5})"),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "layer_group_size",
                "key `layer_group_size` makes one layer in each group softmax attention and the others linear "
                "attention (Ling and Ring linear, bailing_moe_linear): this reader does not lay out such layers, and "
                "does not size them as if they were alike");
    CHECK_ERROR(read_error(base + R"(,"model_type":"lfm2","full_attn_idxs":[2,5,8,10,12,14]})"),
                ErrorKind::unsupported, "hf_config.unknown_layer_pattern", "full_attn_idxs",
                "key `full_attn_idxs` makes the layers it does not list short-convolution layers with a state of "
                "their own (LFM2): this reader does not lay out such layers, and does not size them as if they were "
                "alike");
}

BOOST_AUTO_TEST_CASE(gemma3n_shared_kv_layers) {
    // Gemma-3n: the last num_kv_shared_layers layers keep no keys and values (vLLM, transformers and llama.cpp
    // alike). 10 layers, 4 sliding then 1 full, the last 4 shared: 6 layers hold a cache (0-3 sliding, 4 full,
    // 5 sliding).
    const HfConfig c = read_ok(
        R"({"model_type":"gemma3n_text","num_hidden_layers":10,"num_attention_heads":8,"num_key_value_heads":2,)"
        R"("head_dim":32,"sliding_window":16,"num_kv_shared_layers":4,"torch_dtype":"bfloat16","layer_types":[)"
        R"("sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",)"
        R"("sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention"]})");
    check_groups(c, {{LayerKind::sliding, 5, 16, 2, 32, 32}, {LayerKind::full, 1, 0, 2, 32, 32},
                     {LayerKind::none, 4, 0, 0, 0, 0}});
    BOOST_TEST(c.cache.notes.back() ==
               "the last 4 layers reuse the keys and values of earlier ones (`num_kv_shared_layers`) and keep none of "
               "their own");
    // hf: 5 sliding layers at min(T, 15), one full at T; 100 tokens, bf16.
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 100).total_bytes == (5ull * 15 + 1ull * 100) * 2 * (32 + 32) * 2);
    CHECK_ERROR(read_error(R"({"num_hidden_layers":2,"num_attention_heads":8,"head_dim":16,"num_kv_shared_layers":2})"),
                ErrorKind::parse, "hf_config.invalid_value", "num_kv_shared_layers",
                "key `num_kv_shared_layers`: 2 shared layers of 2: no layer would keep keys and values for them to share");
}

BOOST_AUTO_TEST_CASE(sparse_attention_indexer_is_noted) {
    // DeepSeek-V3.2's keys: MLA plus an indexer (index_head_dim 128); the sizes are the MLA cache's, with a note.
    const HfConfig c = read_ok(
        R"({"model_type":"deepseek_v32","num_hidden_layers":2,"num_attention_heads":4,"hidden_size":64,)"
        R"("kv_lora_rank":32,"qk_rope_head_dim":8,"qk_nope_head_dim":16,"v_head_dim":16,"index_head_dim":128,)"
        R"("index_n_heads":64,"index_topk":2048,"torch_dtype":"bfloat16"})");
    const std::string note = "DeepSeek sparse attention: the indexer's own key cache (index_head_dim 128 per token "
                             "and layer) is not counted";
    BOOST_TEST(c.notes == std::vector<std::string>{note});
    const sz::EngineSize v = engine_ok(c, sz::Engine::vllm, 16);
    BOOST_TEST(v.total_bytes == 2ull * 16 * (32 + 8) * 2);  // 2 layers x one page of the latent
    BOOST_TEST((std::find(v.notes.begin(), v.notes.end(), note) != v.notes.end()));
}

BOOST_AUTO_TEST_CASE(jamba_mamba_and_attention) {
    // Jamba: attention where i % 8 == 4 (layers 4, 12, 20, 28), Mamba elsewhere (28 layers).
    const HfConfig c = read_ok(
        R"({"architectures":["JambaForCausalLM"],"model_type":"jamba","num_hidden_layers":32,"num_attention_heads":32,)"
        R"("num_key_value_heads":8,"hidden_size":4096,"attn_layer_period":8,"attn_layer_offset":4,"mamba_d_state":16,)"
        R"("mamba_d_conv":4,"mamba_expand":2,"torch_dtype":"bfloat16"})");
    BOOST_TEST(c.cache.layers[4].kind == LayerKind::full);
    BOOST_TEST(c.cache.layers[5].kind == LayerKind::mamba);
    // Mamba state: intermediate 2 x 4096 = 8192 channels x (d_state 16 + d_conv 4)
    check_groups(c, {{LayerKind::mamba, 28, 0, 0, 0, 0}, {LayerKind::full, 4, 0, 8, 128, 128}});
    BOOST_TEST(c.cache.layers[0].state_elements == 8192ull * 20);
    BOOST_TEST(c.v1_refusal.has_value());
    const sz::EngineSize hf = engine_ok(c, sz::Engine::hf, 4096);
    BOOST_TEST(hf.total_bytes == 4ull * 4096 * 8 * 256 * 2);
    BOOST_TEST(hf.state_bytes == 28ull * 8192 * 20 * 2);
    // vLLM (HybridAttentionMambaModelConfig.verify_and_update_config, MambaStateShapeCalculator.mamba1_state_shape):
    // a state page of conv 8192 x (4 - 1) + SSM 8192 x 16 elements in bfloat16 = 311296 bytes; an attention token
    // of 8 x 256 x 2 = 4096 bytes: block size 16 x cdiv(311296, 16 x 4096) = 80, page 327680 (the state padded to
    // it). Groups of 4: one full group of cdiv(4096, 80) = 52 pages, 7 Mamba groups of one page each.
    const sz::EngineSize vllm = engine_ok(c, sz::Engine::vllm, 4096);
    BOOST_TEST(vllm.total_bytes == 4ull * 327680 * (52 + 7));
    BOOST_TEST(vllm.state_bytes == 4ull * 327680 * 7);
    const sz::EngineSize llama = engine_ok(c, sz::Engine::llama_cpp, 4096);
    BOOST_TEST(llama.total_bytes == 4ull * 4096 * 8 * 256 * 2);
    // f32 recurrent state (llama_memory_recurrent), src/llama-hparams.cpp: n_embd_r = (d_conv - 1) x d_inner (no
    // groups in Mamba-1), n_embd_s = d_state x d_inner: 8192 x (3 + 16) elements a layer.
    BOOST_TEST(llama.state_bytes == 28ull * 8192 * (3 + 16) * 4);
    // An offset at or past the period would leave no layer attending: refused rather than sized all-Mamba.
    CHECK_ERROR(read_error(R"({"model_type":"jamba","num_hidden_layers":16,"num_attention_heads":8,"hidden_size":64,)"
                           R"("attn_layer_period":8,"attn_layer_offset":8,"mamba_d_state":16,"mamba_d_conv":4,)"
                           R"("mamba_expand":2})"),
                ErrorKind::parse, "hf_config.invalid_value", "attn_layer_offset",
                "key `attn_layer_offset`: 8 is not less than `attn_layer_period` 8, so no layer would attend");
}

BOOST_AUTO_TEST_CASE(qwen3_next_linear_attention) {
    // Qwen3-Next: full attention every fourth layer (12 of 48), Gated DeltaNet elsewhere (36).
    const HfConfig c = read_ok(
        R"({"model_type":"qwen3_next","num_hidden_layers":48,"num_attention_heads":16,"num_key_value_heads":2,)"
        R"("head_dim":256,"hidden_size":2048,"full_attention_interval":4,"linear_num_key_heads":16,)"
        R"("linear_num_value_heads":32,"linear_key_head_dim":128,"linear_value_head_dim":128,)"
        R"("linear_conv_kernel_dim":4,"torch_dtype":"bfloat16"})");
    check_groups(c, {{LayerKind::linear_attention, 36, 0, 0, 0, 0}, {LayerKind::full, 12, 0, 2, 256, 256}});
    // state: conv (2 x 16 x 128 + 32 x 128) x 4 = 32768, recurrent 32 x 128 x 128 = 524288
    BOOST_TEST(c.cache.layers[0].state_elements == 32768ull + 524288ull);
    // vLLM's split (MambaStateShapeCalculator.gated_delta_net_state_shape): conv 8192 channels x (4 - 1) taps,
    // temporal 32 x 128 x 128.
    BOOST_TEST(c.cache.layers[0].conv_channels == 8192ull);
    BOOST_TEST(c.cache.layers[0].conv_kernel == 4u);
    BOOST_TEST(c.cache.layers[0].ssm_elements == 524288ull);
    const sz::EngineSize hf = engine_ok(c, sz::Engine::hf, 262144);
    BOOST_TEST(hf.total_bytes == 12ull * 262144 * 2 * 512 * 2);
    // transformers keeps the conv state (8192 channels x 4 taps) in bf16 and the recurrent state in float32
    BOOST_TEST(hf.state_bytes == 36ull * (8192 * 4 * 2 + 524288 * 4));
    // The same model through the explicit layer_types of newer configs.
    std::string types;
    for (int i = 0; i < 48; ++i) types += (i % 4 == 3) ? "\"full_attention\"," : "\"linear_attention\",";
    types.pop_back();
    const HfConfig d = read_ok(
        R"({"model_type":"qwen3_next","num_hidden_layers":48,"num_attention_heads":16,"num_key_value_heads":2,)"
        R"("head_dim":256,"hidden_size":2048,"torch_dtype":"bfloat16","layer_types":[)" +
        types + "]}");
    BOOST_TEST(d.cache.layers == c.cache.layers);
}

BOOST_AUTO_TEST_CASE(sliding_window_families) {
    // Mistral v0.1: sliding_window 4096 and no layer_types: transformers' DynamicCache slides every layer
    // (cache_utils.py: layer_types defaults to "sliding_attention" for all when sliding_window is set). vLLM's
    // LlamaAttention takes a window only from layer_types (models/llama.py), which MistralConfig does not define,
    // and llama.cpp's llama architecture records no n_swa: both keep every layer full.
    const HfConfig m = read_ok(
        R"({"architectures":["MistralForCausalLM"],"model_type":"mistral","num_hidden_layers":32,"num_attention_heads":32,)"
        R"("num_key_value_heads":8,"hidden_size":4096,"sliding_window":4096,"torch_dtype":"bfloat16"})");
    const std::vector<Group> mg = {{LayerKind::sliding, 32, 4096, 8, 128, 128}};
    const std::vector<Group> full = {{LayerKind::full, 32, 0, 8, 128, 128}};
    check_groups(m, mg);
    BOOST_TEST(m.cache.layers[0].implicit_window);
    for (const u64 t : {u64{100}, u64{4096}, u64{32768}}) {
        BOOST_TEST(engine_ok(m, sz::Engine::hf, t).total_bytes == hf_bytes(mg, t, 1, 2));
        const sz::EngineSize v = engine_ok(m, sz::Engine::vllm, t);
        BOOST_TEST(v.total_bytes == vllm_bytes(full, t, 1, 2));
        BOOST_TEST(std::any_of(v.notes.begin(), v.notes.end(), [](const std::string& n) {
            return n.find("vLLM reads windows from layer_types") != std::string::npos;
        }));
        BOOST_TEST(engine_ok(m, sz::Engine::llama_cpp, t).total_bytes == llama_bytes(full, t, 1));
    }
    // A window placed by a pattern is explicit: Gemma-2's layers slide in every engine (every_bundled_config...).
    BOOST_TEST(!read_ok(example("gemma-2-9b.json")).cache.layers[0].implicit_window);
    // Mistral's class default window applies when the key is left out; null turns it off.
    BOOST_TEST(read_ok(R"({"model_type":"mistral","torch_dtype":"bfloat16"})").cache.layers[0].window == 4096ull);
    BOOST_TEST(read_ok(R"({"model_type":"mistral","sliding_window":null})").cache.layers[0].kind == LayerKind::full);

    // Cohere-2: a pattern string, "LLLG": three local (sliding) layers, then a global one.
    const HfConfig co = read_ok(
        R"({"model_type":"cohere2","num_hidden_layers":8,"num_attention_heads":8,"num_key_value_heads":2,)"
        R"("hidden_size":1024,"sliding_window":4096,"sliding_window_pattern":"LLLG","torch_dtype":"bfloat16"})");
    check_groups(co, {{LayerKind::sliding, 6, 4096, 2, 128, 128}, {LayerKind::full, 2, 0, 2, 128, 128}});
    BOOST_TEST(co.cache.layers[3].kind == LayerKind::full);
    BOOST_TEST(co.cache.layers[7].kind == LayerKind::full);
    // ... and as Cohere2Config's default integer pattern 4: the same layers.
    const HfConfig co4 = read_ok(
        R"({"model_type":"cohere2","num_hidden_layers":8,"num_attention_heads":8,"num_key_value_heads":2,)"
        R"("hidden_size":1024,"sliding_window":4096,"torch_dtype":"bfloat16"})");
    BOOST_TEST(co4.cache.layers == co.cache.layers);

    // Qwen2 with use_sliding_window: layers from max_window_layers on slide.
    const HfConfig q = read_ok(
        R"({"model_type":"qwen2","num_hidden_layers":28,"num_attention_heads":28,"num_key_value_heads":4,)"
        R"("hidden_size":3584,"use_sliding_window":true,"sliding_window":4096,"max_window_layers":21,)"
        R"("torch_dtype":"bfloat16"})");
    check_groups(q, {{LayerKind::full, 21, 0, 4, 128, 128}, {LayerKind::sliding, 7, 4096, 4, 128, 128}});
}

BOOST_AUTO_TEST_CASE(falcon_legacy_keys_and_composites) {
    // RefinedWeb (Falcon-40B as first published): n_head_kv 8, the new decoder architecture by model type.
    const HfConfig rw = read_ok(
        R"({"model_type":"RefinedWeb","n_layer":60,"n_head":128,"n_head_kv":8,"hidden_size":8192,"torch_dtype":"bfloat16"})");
    check_groups(rw, {{LayerKind::full, 60, 0, 8, 64, 64}});
    // RefinedWebModel (Falcon-7B): multi-query by class default.
    const HfConfig rwm =
        read_ok(R"({"model_type":"RefinedWebModel","n_layer":32,"n_head":71,"hidden_size":4544})");
    check_groups(rwm, {{LayerKind::full, 32, 0, 1, 64, 64}});
    // falcon without multi_query: FalconConfig's default, True.
    BOOST_TEST(read_ok(R"({"model_type":"falcon","num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64})")
                   .kv_heads == 1ull);
    // A LLaVA config whose text_config says only model_type llama: LlamaConfig's 32 layers, 32 heads, 4096.
    const HfConfig llava =
        read_ok(R"({"model_type":"llava","text_config":{"model_type":"llama","vocab_size":32064},"torch_dtype":"float16"})");
    check_groups(llava, {{LayerKind::full, 32, 0, 32, 128, 128}});
    // ... and with no model_type in text_config, LlavaConfig's default text model is a Llama too.
    BOOST_TEST(read_ok(R"({"model_type":"llava","text_config":{}})").layers == 32ull);
}

BOOST_AUTO_TEST_CASE(mamba_state_only) {
    const HfConfig c = read_ok(
        R"({"architectures":["MambaForCausalLM"],"model_type":"mamba","num_hidden_layers":24,"hidden_size":768,)"
        R"("intermediate_size":1536,"state_size":16,"conv_kernel":4,"expand":2,"torch_dtype":"float32"})");
    check_groups(c, {{LayerKind::mamba, 24, 0, 0, 0, 0}});
    BOOST_TEST(c.cache.layers[0].state_elements == 1536ull * 20);
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 4096).total_bytes == 0ull);
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4096).total_bytes == 0ull);
    // vLLM keeps the Mamba state in its KV cache pool (MambaSpec, one group of every layer, one page a request):
    // conv 1536 x (4 - 1) + SSM 1536 x 16 elements in bfloat16 (float32 weights are served in bfloat16).
    const sz::EngineSize vllm = engine_ok(c, sz::Engine::vllm, 4096);
    BOOST_TEST(vllm.total_bytes == 24ull * (1536 * 3 + 1536 * 16) * 2);
    BOOST_TEST(vllm.state_bytes == vllm.total_bytes);
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 4096).state_bytes == 24ull * 1536 * 20 * 4);
}

// ---------------------------------------------------------------------------------------------- options

BOOST_AUTO_TEST_CASE(cache_dtypes) {
    const HfConfig c = read_ok(example("llama-3-8b.json"));
    // ggml: q8_0 blocks of 32 elements in 34 bytes; a K or V row of 8 x 128 = 1024 elements is 1088 bytes
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4096, kv(sz::CacheDType::q8_0)).total_bytes ==
               32ull * 4096 * 2 * 1088);
    // q4_0: 18 bytes a block: 576 bytes a row; q5_1: 24 bytes: 768
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4096, kv(sz::CacheDType::q4_0)).total_bytes ==
               32ull * 4096 * 2 * 576);
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4096, kv(sz::CacheDType::q5_1)).total_bytes ==
               32ull * 4096 * 2 * 768);
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 4096, kv(sz::CacheDType::fp8_e5m2)).total_bytes == 32ull * 4096 * 2048);
    BOOST_TEST(engine_ok(c, sz::Engine::hf, 4096, kv(sz::CacheDType::f32)).total_bytes == 32ull * 4096 * 8192);
    // What an engine does not keep is refused, naming what it does keep.
    CHECK_ERROR(engine_error(c, sz::Engine::hf, 1, kv(sz::CacheDType::q8_0)), ErrorKind::unsupported,
                "sizing.dtype_unsupported", "kv_dtype", "hf does not keep a cache of q8_0 (it takes: auto f32 f16 bf16)");
    CHECK_ERROR(engine_error(c, sz::Engine::vllm, 1, kv(sz::CacheDType::q4_0)), ErrorKind::unsupported,
                "sizing.dtype_unsupported", "kv_dtype",
                "vllm does not keep a cache of q4_0 (it takes: auto f32 f16 bf16 fp8_e4m3 fp8_e5m2)");
    BOOST_TEST(engine_error(c, sz::Engine::llama_cpp, 1, kv(sz::CacheDType::fp8_e4m3)).rule ==
               sz::sizing_rules::dtype_unsupported);
    // A row that is not whole blocks: one KV head of 48 in q4_0 (blocks of 32).
    const HfConfig odd = read_ok(R"({"num_hidden_layers":1,"num_attention_heads":1,"head_dim":48})");
    const Error e = engine_error(odd, sz::Engine::llama_cpp, 1, kv(sz::CacheDType::q4_0));
    CHECK_ERROR(e, ErrorKind::dimension_not_divisible, "sizing.row_not_divisible", "kv_dtype",
                "llama.cpp: a key row of 48 elements is not whole blocks of 32 q4_0 elements (ggml_row_size)");
    BOOST_TEST((sz::parse_cache_dtype("fp8") == sz::CacheDType::fp8_e4m3));
    BOOST_TEST(!sz::parse_cache_dtype("q8").has_value());
}

BOOST_AUTO_TEST_CASE(memory_fits) {
    const HfConfig c = read_ok(example("llama-3-8b.json"));
    const u64 mem = u64{24} << 30;
    // 131072 bytes a token: 24 GiB hold 196608 tokens; 48 sequences of 4096.
    const sz::EngineSize hf = engine_ok(c, sz::Engine::hf, 4096, memory(mem));
    BOOST_TEST(hf.max_tokens.value_or(0) == 196608ull);
    BOOST_TEST(hf.max_sequences.value_or(0) == 48ull);
    // vLLM: get_num_blocks = 24 GiB / 65536-byte pages / 32 layers = 12288 blocks of 16 tokens; a sequence of
    // 4096 takes 256 of them: 48; of 4000, cdiv(4000, 16) = 250: 49 (12288 / 250 = 49.15).
    const sz::EngineSize v = engine_ok(c, sz::Engine::vllm, 4096, memory(mem));
    BOOST_TEST(v.max_tokens.value_or(0) == 196608ull);
    BOOST_TEST(v.max_sequences.value_or(0) == 48ull);
    BOOST_TEST(engine_ok(c, sz::Engine::vllm, 4000, memory(mem)).max_sequences.value_or(0) == 49ull);
    // llama.cpp: cells padded to 256, 131072 bytes each: 196608 cells; 48 streams of 4096; of 4000 tokens each,
    // a stream is still GGML_PAD(4000, 256) = 4096 cells, so 48 again.
    const sz::EngineSize l = engine_ok(c, sz::Engine::llama_cpp, 4096, memory(mem));
    BOOST_TEST(l.max_tokens.value_or(0) == 196608ull);
    BOOST_TEST(l.max_sequences.value_or(0) == 48ull);
    BOOST_TEST(engine_ok(c, sz::Engine::llama_cpp, 4000, memory(mem)).max_sequences.value_or(0) == 48ull);
    // Memory sizes.
    BOOST_TEST(sz::parse_memory_size("24GiB").value() == u64{24} << 30);
    BOOST_TEST(sz::parse_memory_size("80GB").value() == 80000000000ull);
    BOOST_TEST(sz::parse_memory_size("1.5GiB").value() == (u64{3} << 29));
    BOOST_TEST(sz::parse_memory_size("512MiB").value() == u64{512} << 20);
    BOOST_TEST(sz::parse_memory_size("1024").value() == 1024ull);
    for (const char* bad : {"", "GiB", "1.5", "-1GiB", "1e9", "24 GiB", "1..5GiB", "99999999999TiB", "0x10"}) {
        BOOST_TEST_CONTEXT(bad) {
            const Result<u64> r = sz::parse_memory_size(bad);
            BOOST_TEST_REQUIRE(!r.ok());
            BOOST_TEST(r.error().rule == sz::sizing_rules::memory_size);
        }
    }
}

// ---------------------------------------------------------------------------------------------- refusals

BOOST_AUTO_TEST_CASE(bad_configs_are_refused_naming_the_key) {
    const std::string head =
        R"({"model_type":"x","num_hidden_layers":4,"num_attention_heads":8,"hidden_size":64,"sliding_window":16)";
    CHECK_ERROR(read_error(head + R"(,"layer_types":["full_attention","sliding_attention","full_attention"]})"),
                ErrorKind::parse, "hf_config.layer_types_length", "layer_types",
                "key `layer_types` lists 3 layers, but the model has 4 (`num_hidden_layers`)");
    CHECK_ERROR(
        read_error(head + R"(,"layer_types":["full_attention","global","full_attention","full_attention"]})"),
        ErrorKind::parse, "hf_config.unknown_layer_type", "layer_types",
        "key `layer_types`: element 1 is string \"global\", expected one of \"full_attention\", \"sliding_attention\", "
        "\"chunked_attention\", \"linear_attention\", \"mamba\", \"deepseek_sparse_attention\", \"attention\"");
    CHECK_ERROR(read_error(head + R"(,"layer_types":[1,2,3,4]})"), ErrorKind::parse, "hf_config.unknown_layer_type",
                "layer_types",
                "key `layer_types`: element 0 is integer `1`, expected one of \"full_attention\", \"sliding_attention\", "
                "\"chunked_attention\", \"linear_attention\", \"mamba\", \"deepseek_sparse_attention\", "
                "\"attention\"");
    CHECK_ERROR(read_error(head + R"(,"layer_types":"full_attention"})"), ErrorKind::parse, "hf_config.invalid_type",
                "layer_types", "key `layer_types`: invalid type: string \"full_attention\", expected a sequence");
    const std::string base = R"({"model_type":"x","num_hidden_layers":4,"num_attention_heads":8,"hidden_size":64)";
    CHECK_ERROR(read_error(base + R"(,"sliding_window":0})"), ErrorKind::parse, "hf_config.invalid_value",
                "sliding_window", "key `sliding_window`: invalid value: integer `0`, expected a positive integer");
    CHECK_ERROR(read_error(base + R"(,"sliding_window":40.5})"), ErrorKind::parse, "hf_config.invalid_type",
                "sliding_window", "key `sliding_window`: invalid type: floating point `40.5`, expected u32");
    CHECK_ERROR(read_error(base + R"(,"attention_chunk_size":-8192})"), ErrorKind::parse, "hf_config.invalid_value",
                "attention_chunk_size",
                "key `attention_chunk_size`: invalid value: integer `-8192`, expected u32");
    CHECK_ERROR(read_error(base + R"(,"sliding_window":8,"sliding_window_pattern":"LXG"})"), ErrorKind::parse,
                "hf_config.invalid_value", "sliding_window_pattern",
                "key `sliding_window_pattern`: invalid value: string \"LXG\", expected a positive integer or a string "
                "of L and G");
    CHECK_ERROR(read_error(base + R"(,"sliding_window":8,"sliding_window_pattern":0})"), ErrorKind::parse,
                "hf_config.invalid_value", "sliding_window_pattern",
                "key `sliding_window_pattern`: invalid value: integer `0`, expected a positive integer");
    CHECK_ERROR(read_error(base + R"(,"attn_layer_period":0})"), ErrorKind::parse, "hf_config.invalid_value",
                "attn_layer_period", "key `attn_layer_period`: invalid value: integer `0`, expected a positive integer");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":-4,"num_attention_heads":8,"hidden_size":64})"), ErrorKind::parse,
                "hf_config.invalid_value", "num_hidden_layers",
                "key `num_hidden_layers`: invalid value: integer `-4`, expected u32");
    CHECK_ERROR(read_error(R"({"num_hidden_layers":"32","num_attention_heads":8,"hidden_size":64})"),
                ErrorKind::parse, "hf_config.invalid_type", "num_hidden_layers",
                "key `num_hidden_layers`: invalid type: string \"32\", expected u32");
    CHECK_ERROR(read_error(base + R"(,"attention_chunk_size":16,"no_rope_layers":[1,1,"x",1]})"), ErrorKind::parse,
                "hf_config.invalid_type", "no_rope_layers",
                "key `no_rope_layers`: element 2: invalid type: string \"x\", expected u32");
    CHECK_ERROR(read_error(base + R"(,"layer_types":["sliding_attention","full_attention","full_attention","full_attention"]})"),
                ErrorKind::parse, "hf_config.missing_key", "sliding_window",
                "missing key `sliding_window` (layer kind `sliding` needs it)");
    CHECK_ERROR(read_error(R"({"model_type":"x","num_hidden_layers":2,"num_attention_heads":8,"hidden_size":64,)"
                           R"("kv_lora_rank":512,"qk_nope_head_dim":128,"v_head_dim":128})"),
                ErrorKind::parse, "hf_config.missing_key", "qk_rope_head_dim",
                "missing key `qk_rope_head_dim` (a multi-head latent attention config)");
    // Products past 2^64: refused by each engine, never wrapped.
    const HfConfig huge = read_ok(
        R"({"num_hidden_layers":65536,"num_attention_heads":4294967295,"head_dim":4294967295,"torch_dtype":"float32"})");
    for (const sz::Engine e : sz::kEngines) {
        const Error err = engine_error(huge, e, 4294967295ull);
        BOOST_TEST(err.kind == ErrorKind::resource_limit_exceeded);
        BOOST_TEST(err.rule == sz::sizing_rules::overflow);
    }
    BOOST_TEST(!sz::contiguous_bytes(huge.cache, 4294967295u, 1, 4).ok());
    // Options: zero tokens, zero batch.
    const HfConfig c = read_ok(example("gpt2.json"));
    BOOST_TEST(engine_error(c, sz::Engine::hf, 0).rule == sz::sizing_rules::option);
    BOOST_TEST(engine_error(c, sz::Engine::vllm, 1, batch(0)).rule == sz::sizing_rules::option);
}

BOOST_AUTO_TEST_CASE(contiguous_upper_bound) {
    // Every KV layer at the full length: gemma-2-9b in bf16 is 42 x 8 x 512 x 2 = 344064 bytes a token.
    const HfConfig c = read_ok(example("gemma-2-9b.json"));
    BOOST_TEST(sz::contiguous_bytes(c.cache, 4096, 2, 2).value() == 344064ull * 4096 * 2);
    // Mamba layers add nothing.
    const HfConfig j = read_ok(
        R"({"model_type":"jamba","num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,)"
        R"("hidden_size":4096})");
    BOOST_TEST(sz::contiguous_bytes(j.cache, 10, 1, 2).value() == 2ull * 10 * 8 * 256 * 2);
}
