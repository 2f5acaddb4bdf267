// Microbenchmarks of the paths a serving or checkpointing system runs per tensor (Google Benchmark):
//   * JSON text -> decoded -> validated, and the same with the digest;
//   * FlatBuffer bytes -> verified view -> validated (zero-copy, allocation-free), against the bare FlatBuffers
//     Verifier alone as the floor;
//   * the digest of a decoded descriptor; to_json; to_flatbuffer.
// Build with -DFIB_QUANT_KV_BENCH=ON; run build/bench/bench_descriptors. Numbers, not pass/fail: speed targets
// live here, never in the tests.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"

namespace fqk = fib_quant_kv;

namespace {

const std::string kJson =
    R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,)"
    R"("layers":32,"kv_heads":8,"query_heads":32,"tokens":8192,"head_dim":128,"dtype":"bf16",)"
    R"("rope_state":"post_rope"})";

fqk::KvTensorShapeV1 shape() { return fqk::parse_kv_tensor_shape_v1_json(kJson).value(); }

void json_parse(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(fqk::parse_kv_tensor_shape_v1_json(kJson));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kJson.size()));
}
BENCHMARK(json_parse);

void json_parse_validate(benchmark::State& state) {
    for (auto _ : state) {
        fqk::Result<fqk::KvTensorShapeV1> s = fqk::parse_kv_tensor_shape_v1_json(kJson);
        benchmark::DoNotOptimize(s.ok() && fqk::validate(*s).ok());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kJson.size()));
}
BENCHMARK(json_parse_validate);

void json_parse_validate_digest(benchmark::State& state) {
    for (auto _ : state) {
        fqk::Result<fqk::KvTensorShapeV1> s = fqk::parse_kv_tensor_shape_v1_json(kJson);
        benchmark::DoNotOptimize(s.ok() && fqk::digest(*s).ok());
    }
}
BENCHMARK(json_parse_validate_digest);

void flatbuffers_bare_verifier(benchmark::State& state) {
    const std::vector<std::uint8_t> buf = fqk::to_flatbuffer(shape());
    for (auto _ : state) {
        flatbuffers::Verifier v(buf.data(), buf.size());
        benchmark::DoNotOptimize(fqk::fb::VerifyKvTensorShapeV1Buffer(v));
    }
}
BENCHMARK(flatbuffers_bare_verifier);

void flatbuffers_verify_validate(benchmark::State& state) {
    const std::vector<std::uint8_t> buf = fqk::to_flatbuffer(shape());
    for (auto _ : state) benchmark::DoNotOptimize(fqk::verify_kv_tensor_shape_v1_buffer(buf));
}
BENCHMARK(flatbuffers_verify_validate);

void flatbuffers_verify_validate_digest(benchmark::State& state) {
    const std::vector<std::uint8_t> buf = fqk::to_flatbuffer(shape());
    for (auto _ : state) {
        fqk::Result<fqk::KvTensorShapeV1View> v = fqk::verify_kv_tensor_shape_v1_buffer(buf);
        benchmark::DoNotOptimize(v.ok() && fqk::digest(*v).ok());
    }
}
BENCHMARK(flatbuffers_verify_validate_digest);

void validate_native(benchmark::State& state) {
    const fqk::KvTensorShapeV1 s = shape();
    for (auto _ : state) benchmark::DoNotOptimize(fqk::validate(s));
}
BENCHMARK(validate_native);

void digest_native(benchmark::State& state) {
    const fqk::KvTensorShapeV1 s = shape();
    for (auto _ : state) benchmark::DoNotOptimize(fqk::digest(s));
}
BENCHMARK(digest_native);

void to_json(benchmark::State& state) {
    const fqk::KvTensorShapeV1 s = shape();
    for (auto _ : state) benchmark::DoNotOptimize(fqk::to_json(s));
}
BENCHMARK(to_json);

void to_flatbuffer(benchmark::State& state) {
    const fqk::KvTensorShapeV1 s = shape();
    for (auto _ : state) benchmark::DoNotOptimize(fqk::to_flatbuffer(s));
}
BENCHMARK(to_flatbuffer);

}  // namespace

BENCHMARK_MAIN();
