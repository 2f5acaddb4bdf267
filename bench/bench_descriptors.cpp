// Microbenchmarks of the paths a serving or checkpointing system runs per tensor (Google Benchmark). Every
// benchmark cycles through the 64 shapes of bench/shapes.hpp, the set reference/src/bench.rs times the Rust
// original on, so one iteration is one call on one shape:
//   * validate, validate_all (valid shapes), digest (validation included), to_json, append_json into a reused
//     string (reports allocs_per_op, which must be 0);
//   * JSON text -> descriptor: compact canonical text, and pretty-printed, reordered-field, array-form and
//     unknown-field variants of the same shapes; also decode + validate (+ digest);
//   * FlatBuffer bytes -> verified view (zero-copy), against the bare FlatBuffers Verifier alone as the floor;
//   * a second baseline: nlohmann/json parsing the canonical text into the struct.
//   * the v2 cache spec (bench/specs_v2.jsonl, realistic specs of real models' caches): validate, digest, JSON
//     parse (the public reader, and its general path alone), to_json; each reports `doc_bytes`, the mean length
//     of the canonical JSON text per op, so that bench/run can put them per byte next to v1's (whose benchmarks
//     report it too).
// bench/run runs this next to `kvshape-reference bench` and prints the comparison. `bench_descriptors
// --dump-shapes` prints the shape set as canonical JSON lines (bench/run diffs it against the Rust side's).
// Numbers, not pass/fail: speed targets live in bench/run, never in the tests.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_cache_spec_v2.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "shapes.hpp"

namespace fqk = fib_quant_kv;

// ---------------------------------------------------------------------------------------------- allocation count
// Every operator new in this program is counted, so a benchmark can report its allocations per op.
namespace {
thread_local std::uint64_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
    ++g_allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using fqk::bench::kShapeCount;

// ---------------------------------------------------------------------------------------------- inputs
const std::vector<fqk::KvTensorShapeV1>& shapes() {
    static const std::vector<fqk::KvTensorShapeV1> set = fqk::bench::shapes();
    return set;
}

std::string json_string(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    out.append(s);
    out.push_back('"');
    return out;
}

/// The shape's fields as (name, JSON value text), in schema order. The set has no characters to escape.
std::vector<std::pair<std::string, std::string>> fields(const fqk::KvTensorShapeV1& s) {
    return {{"schema_version", json_string(s.schema_version)},
            {"role", json_string(fqk::to_string(s.role))},
            {"attention_kind", json_string(fqk::to_string(s.attention_kind))},
            {"batch", std::to_string(s.batch)},
            {"layers", std::to_string(s.layers)},
            {"kv_heads", std::to_string(s.kv_heads)},
            {"query_heads", std::to_string(s.query_heads)},
            {"tokens", std::to_string(s.tokens)},
            {"head_dim", std::to_string(s.head_dim)},
            {"dtype", json_string(fqk::to_string(s.dtype))},
            {"rope_state", json_string(fqk::to_string(s.rope_state))}};
}

/// serde_json::to_string_pretty's layout: two-space indent, `": "`.
std::string pretty(const fqk::KvTensorShapeV1& s) {
    std::string out = "{\n";
    const auto f = fields(s);
    for (std::size_t i = 0; i < f.size(); ++i)
        out += "  \"" + f[i].first + "\": " + f[i].second + (i + 1 < f.size() ? ",\n" : "\n");
    return out + "}";
}

std::string reordered(const fqk::KvTensorShapeV1& s) {
    std::string out = "{";
    const auto f = fields(s);
    for (std::size_t i = f.size(); i-- > 0;) out += "\"" + f[i].first + "\":" + f[i].second + (i > 0 ? "," : "");
    return out + "}";
}

std::string array_form(const fqk::KvTensorShapeV1& s) {
    std::string out = "[";
    for (const auto& [name, value] : fields(s)) out += value + ",";
    out.back() = ']';
    return out;
}

/// Unknown fields before and after the known ones, with nested values that the decoder must check and skip.
std::string unknown_fields(const fqk::KvTensorShapeV1& s) {
    std::string out = R"({"x_meta":{"source":"trainer","tags":["kv","cache"],"step":12345,"lr":3.0e-4,)"
                      R"("ok":true,"none":null},)";
    for (const auto& [name, value] : fields(s)) out += "\"" + name + "\":" + value + ",";
    return out + R"("x_note":"unknown fields are skipped \"as is\""})";
}

template <class F>
std::vector<std::string> texts(F&& render) {
    std::vector<std::string> out;
    for (const fqk::KvTensorShapeV1& s : shapes()) out.push_back(render(s));
    return out;
}

const std::vector<std::string>& compact_texts() {
    static const std::vector<std::string> t = texts([](const fqk::KvTensorShapeV1& s) { return fqk::to_json(s); });
    return t;
}

const std::vector<std::vector<std::uint8_t>>& buffers() {
    static const std::vector<std::vector<std::uint8_t>> b = [] {
        std::vector<std::vector<std::uint8_t>> out;
        for (const fqk::KvTensorShapeV1& s : shapes()) out.push_back(fqk::to_flatbuffer(s));
        return out;
    }();
    return b;
}

std::int64_t total_bytes(const std::vector<std::string>& t, std::int64_t iterations) {
    std::size_t sum = 0;
    for (const std::string& s : t) sum += s.size();
    return static_cast<std::int64_t>(sum) * iterations / static_cast<std::int64_t>(t.size());
}

/// The mean length of the texts, as the counter `doc_bytes` (per op: every benchmark cycles through its set).
void doc_bytes(benchmark::State& state, const std::vector<std::string>& t) {
    std::size_t sum = 0;
    for (const std::string& s : t) sum += s.size();
    state.counters["doc_bytes"] = benchmark::Counter(static_cast<double>(sum) / static_cast<double>(t.size()));
}

// ---------------------------------------------------------------------------------------------- native struct
// What is kept is the verdict, as the Rust side keeps black_box(validate().is_ok()) and a caller tests ok() or
// empty(): keeping the Status or the vector itself would also time its store to memory and its destructor.
void validate(benchmark::State& state) {
    const auto& set = shapes();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::validate(set[i]).ok());
        i = (i + 1) % kShapeCount;
    }
    doc_bytes(state, compact_texts());
}
BENCHMARK(validate);

void validate_all(benchmark::State& state) {
    const auto& set = shapes();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::validate_all(set[i]).empty());
        i = (i + 1) % kShapeCount;
    }
    doc_bytes(state, compact_texts());
}
BENCHMARK(validate_all);

void digest(benchmark::State& state) {
    const auto& set = shapes();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::digest(set[i]));
        i = (i + 1) % kShapeCount;
    }
    doc_bytes(state, compact_texts());
}
BENCHMARK(digest);

void to_json(benchmark::State& state) {
    const auto& set = shapes();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::to_json(set[i]));
        i = (i + 1) % kShapeCount;
    }
    doc_bytes(state, compact_texts());
}
BENCHMARK(to_json);

void append_json(benchmark::State& state) {
    const auto& set = shapes();
    std::string out;
    for (const fqk::KvTensorShapeV1& s : set) {  // warm-up: the capacity of the longest text
        out.clear();
        fqk::append_json(out, s);
    }
    std::size_t i = 0;
    const std::uint64_t before = g_allocations;
    for (auto _ : state) {
        out.clear();
        fqk::append_json(out, set[i]);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
        i = (i + 1) % kShapeCount;
    }
    state.counters["allocs_per_op"] = benchmark::Counter(
        static_cast<double>(g_allocations - before) / static_cast<double>(state.iterations()));
}
BENCHMARK(append_json);

void to_flatbuffer(benchmark::State& state) {
    const auto& set = shapes();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::to_flatbuffer(set[i]));
        i = (i + 1) % kShapeCount;
    }
}
BENCHMARK(to_flatbuffer);

// ---------------------------------------------------------------------------------------------- JSON text
void parse(benchmark::State& state, const std::vector<std::string>& t) {
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::parse_kv_tensor_shape_v1_json(t[i]));
        i = (i + 1) % kShapeCount;
    }
    state.SetBytesProcessed(total_bytes(t, state.iterations()));
    doc_bytes(state, t);
}

void parse_json_compact(benchmark::State& state) { parse(state, compact_texts()); }
BENCHMARK(parse_json_compact);

void parse_json_pretty(benchmark::State& state) {
    static const std::vector<std::string> t = texts(pretty);
    parse(state, t);
}
BENCHMARK(parse_json_pretty);

void parse_json_reordered(benchmark::State& state) {
    static const std::vector<std::string> t = texts(reordered);
    parse(state, t);
}
BENCHMARK(parse_json_reordered);

void parse_json_array(benchmark::State& state) {
    static const std::vector<std::string> t = texts(array_form);
    parse(state, t);
}
BENCHMARK(parse_json_array);

void parse_json_unknown_fields(benchmark::State& state) {
    static const std::vector<std::string> t = texts(unknown_fields);
    parse(state, t);
}
BENCHMARK(parse_json_unknown_fields);

void parse_json_validate(benchmark::State& state) {
    const auto& t = compact_texts();
    std::size_t i = 0;
    for (auto _ : state) {
        fqk::Result<fqk::KvTensorShapeV1> s = fqk::parse_kv_tensor_shape_v1_json(t[i]);
        benchmark::DoNotOptimize(s.ok() && fqk::validate(*s).ok());
        i = (i + 1) % kShapeCount;
    }
    state.SetBytesProcessed(total_bytes(t, state.iterations()));
}
BENCHMARK(parse_json_validate);

void parse_json_validate_digest(benchmark::State& state) {
    const auto& t = compact_texts();
    std::size_t i = 0;
    for (auto _ : state) {
        fqk::Result<fqk::KvTensorShapeV1> s = fqk::parse_kv_tensor_shape_v1_json(t[i]);
        benchmark::DoNotOptimize(s.ok() && fqk::digest(*s).ok());
        i = (i + 1) % kShapeCount;
    }
}
BENCHMARK(parse_json_validate_digest);

/// The second baseline: nlohmann/json (a DOM) parsing the canonical text, then the fields copied out.
fqk::KvTensorShapeV1 nlohmann_extract(std::string_view text) {
    const nlohmann::json j = nlohmann::json::parse(text);
    auto wire = [&](const char* key) -> const std::string& { return j.at(key).get_ref<const std::string&>(); };
    auto need = [](auto v) {
        if (!v) throw std::runtime_error("unknown enum name");
        return *v;
    };
    fqk::KvTensorShapeV1 s;
    s.schema_version = wire("schema_version");
    s.role = need(fqk::parse_kv_role(wire("role")));
    s.attention_kind = need(fqk::parse_kv_attention_kind(wire("attention_kind")));
    s.batch = j.at("batch").get<std::uint32_t>();
    s.layers = j.at("layers").get<std::uint32_t>();
    s.kv_heads = j.at("kv_heads").get<std::uint32_t>();
    s.query_heads = j.at("query_heads").get<std::uint32_t>();
    s.tokens = j.at("tokens").get<std::uint32_t>();
    s.head_dim = j.at("head_dim").get<std::uint32_t>();
    s.dtype = need(fqk::parse_kv_dtype(wire("dtype")));
    s.rope_state = need(fqk::parse_kv_rope_state(wire("rope_state")));
    return s;
}

void nlohmann_parse_extract(benchmark::State& state) {
    const auto& t = compact_texts();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(nlohmann_extract(t[i]));
        i = (i + 1) % kShapeCount;
    }
    state.SetBytesProcessed(total_bytes(t, state.iterations()));
}
BENCHMARK(nlohmann_parse_extract);

// ---------------------------------------------------------------------------------------------- FlatBuffers
void fb_bare_verifier(benchmark::State& state) {
    const auto& b = buffers();
    std::size_t i = 0;
    for (auto _ : state) {
        flatbuffers::Verifier v(b[i].data(), b[i].size());
        benchmark::DoNotOptimize(fqk::fb::VerifyKvTensorShapeV1Buffer(v));
        i = (i + 1) % kShapeCount;
    }
}
BENCHMARK(fb_bare_verifier);

void fb_verified_view(benchmark::State& state) {
    const auto& b = buffers();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::verify_kv_tensor_shape_v1_buffer(b[i]));
        i = (i + 1) % kShapeCount;
    }
}
BENCHMARK(fb_verified_view);

void fb_verified_view_digest(benchmark::State& state) {
    const auto& b = buffers();
    std::size_t i = 0;
    for (auto _ : state) {
        fqk::Result<fqk::KvTensorShapeV1View> v = fqk::verify_kv_tensor_shape_v1_buffer(b[i]);
        benchmark::DoNotOptimize(v.ok() && fqk::digest(*v).ok());
        i = (i + 1) % kShapeCount;
    }
}
BENCHMARK(fb_verified_view_digest);

// ---------------------------------------------------------------------------------------------- v2 cache spec
/// bench/specs_v2.jsonl: canonical v2 specs, one a line (bench/make_specs_v2.sh wrote them with kvshape).
const std::vector<std::string>& v2_texts() {
    static const std::vector<std::string> t = [] {
        std::vector<std::string> out;
        std::ifstream in(FQK_BENCH_SPECS_V2);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) out.push_back(line);
        }
        return out;
    }();
    return t;
}

const std::vector<fqk::KvCacheSpecV2>& v2_specs() {
    static const std::vector<fqk::KvCacheSpecV2> set = [] {
        std::vector<fqk::KvCacheSpecV2> out;
        for (const std::string& text : v2_texts()) out.push_back(*fqk::parse_kv_cache_spec_v2_json(text));
        return out;
    }();
    return set;
}

void v2_validate(benchmark::State& state) {
    const auto& set = v2_specs();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::validate(set[i]).ok());
        i = (i + 1) % set.size();
    }
    doc_bytes(state, v2_texts());
}
BENCHMARK(v2_validate);

void v2_digest(benchmark::State& state) {
    const auto& set = v2_specs();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::digest(set[i]));
        i = (i + 1) % set.size();
    }
    doc_bytes(state, v2_texts());
}
BENCHMARK(v2_digest);

void v2_to_json(benchmark::State& state) {
    const auto& set = v2_specs();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::to_json(set[i]));
        i = (i + 1) % set.size();
    }
    doc_bytes(state, v2_texts());
}
BENCHMARK(v2_to_json);

void v2_parse_json(benchmark::State& state) {
    const auto& t = v2_texts();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::parse_kv_cache_spec_v2_json(t[i]));
        i = (i + 1) % t.size();
    }
    state.SetBytesProcessed(total_bytes(t, state.iterations()));
    doc_bytes(state, t);
}
BENCHMARK(v2_parse_json);

void v2_parse_json_general(benchmark::State& state) {
    const auto& t = v2_texts();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::detail::parse_kv_cache_spec_v2_json_general(t[i]));
        i = (i + 1) % t.size();
    }
    state.SetBytesProcessed(total_bytes(t, state.iterations()));
    doc_bytes(state, t);
}
BENCHMARK(v2_parse_json_general);

/// The specs as FQK2 buffers.
const std::vector<std::vector<std::uint8_t>>& v2_buffers() {
    static const std::vector<std::vector<std::uint8_t>> set = [] {
        std::vector<std::vector<std::uint8_t>> out;
        for (const fqk::KvCacheSpecV2& spec : v2_specs()) out.push_back(fqk::to_flatbuffer(spec));
        return out;
    }();
    return set;
}

void v2_fb_bare_verifier(benchmark::State& state) {
    const auto& b = v2_buffers();
    std::size_t i = 0;
    for (auto _ : state) {
        flatbuffers::Verifier v(b[i].data(), b[i].size());
        benchmark::DoNotOptimize(fqk::fb::VerifyKvCacheSpecV2Buffer(v));
        i = (i + 1) % b.size();
    }
}
BENCHMARK(v2_fb_bare_verifier);

/// The zero-copy view, verified and validated: what a reader of a peer's buffer runs.
void v2_fb_verified_view(benchmark::State& state) {
    const auto& b = v2_buffers();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::verify_kv_cache_spec_v2_view(b[i]));
        i = (i + 1) % b.size();
    }
}
BENCHMARK(v2_fb_verified_view);

/// The same buffers decoded into the native struct and validated.
void v2_fb_verified_decode(benchmark::State& state) {
    const auto& b = v2_buffers();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(fqk::verify_kv_cache_spec_v2_buffer(b[i]));
        i = (i + 1) % b.size();
    }
}
BENCHMARK(v2_fb_verified_decode);

// ---------------------------------------------------------------------------------------------- self-check
/// Before timing anything: every shape valid, every text variant and buffer reads back as its shape.
bool inputs_agree() {
    const auto& set = shapes();
    for (std::size_t i = 0; i < set.size(); ++i) {
        const fqk::KvTensorShapeV1& s = set[i];
        bool ok = fqk::validate(s).ok() && fqk::validate_all(s).empty();
        for (const std::string& text : {fqk::to_json(s), pretty(s), reordered(s), array_form(s), unknown_fields(s)}) {
            const fqk::Result<fqk::KvTensorShapeV1> back = fqk::parse_kv_tensor_shape_v1_json(text);
            ok = ok && back.ok() && *back == s;
        }
        ok = ok && nlohmann_extract(fqk::to_json(s)) == s;
        const fqk::Result<fqk::KvTensorShapeV1View> view = fqk::verify_kv_tensor_shape_v1_buffer(buffers()[i]);
        ok = ok && view.ok() && fqk::to_native(*view) == s;
        if (!ok) {
            std::fprintf(stderr, "bench_descriptors: shape %zu does not round-trip: %s\n", i, fqk::to_json(s).c_str());
            return false;
        }
    }
    if (v2_texts().empty()) {
        std::fprintf(stderr, "bench_descriptors: no v2 specs in %s\n", FQK_BENCH_SPECS_V2);
        return false;
    }
    for (const std::string& text : v2_texts()) {
        const fqk::Result<fqk::KvCacheSpecV2> spec = fqk::parse_kv_cache_spec_v2_json(text);
        if (!spec || !fqk::validate(*spec).ok() || fqk::to_json(*spec) != text) {
            std::fprintf(stderr, "bench_descriptors: a v2 spec is not valid canonical JSON: %s\n", text.c_str());
            return false;
        }
    }
    for (std::size_t i = 0; i < v2_buffers().size(); ++i) {
        const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::verify_kv_cache_spec_v2_view(v2_buffers()[i]);
        if (!view || !(fqk::to_native(*view) == v2_specs()[i])) {
            std::fprintf(stderr, "bench_descriptors: v2 spec %zu does not read back through the view\n", i);
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "--dump-shapes") == 0) {
        for (const fqk::KvTensorShapeV1& s : shapes()) std::printf("%s\n", fqk::to_json(s).c_str());
        return 0;
    }
    if (!inputs_agree()) return 1;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
