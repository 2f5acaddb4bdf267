// Consumer of the installed fib_quant_kv package: parses descriptors, validates them, prints their element count
// and digest, and fails on any difference from the values below. The digests were computed independently of the
// library (docs/digest.md: the canonical encoding built with Python's struct module, hashed by `xxhsum -H2`).
#include <fib_quant_kv/fib_quant_kv.hpp>
#include <fib_quant_kv/hf_config.hpp>
#include <fib_quant_kv/kv_tensor_shape_v1.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace fqk = fib_quant_kv;

namespace {

struct ValidCase {
    std::string_view json;
    std::uint64_t vector_count;
    std::uint64_t element_count;
    std::string_view canonical;
    std::string_view digest;
};

constexpr ValidCase kValid[] = {
    {R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,"layers":8,)"
     R"("kv_heads":2,"query_heads":24,"tokens":134626,"head_dim":64,"dtype":"f32","rope_state":"post_rope"})",
     2154016, 137857024,
     R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,"layers":8,)"
     R"("kv_heads":2,"query_heads":24,"tokens":134626,"head_dim":64,"dtype":"f32","rope_state":"post_rope"})",
     "308f89732ab038cd596b5e93fc512db7"},
    // Another field order, spacing and an unknown field: same descriptor, same canonical form and digest.
    {R"( { "rope_state" : "not_applicable", "dtype": "bf16", "head_dim": 128, "tokens": 4096, "query_heads": 8,)"
     R"( "kv_heads": 8, "layers": 32, "batch": 2, "attention_kind": "mha", "role": "value", "note": [1, {"x": null}],)"
     R"( "schema_version": "fib_quant_kv_tensor_shape_v1" } )",
     2097152, 268435456,
     R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"value","attention_kind":"mha","batch":2,"layers":32,)"
     R"("kv_heads":8,"query_heads":8,"tokens":4096,"head_dim":128,"dtype":"bf16","rope_state":"not_applicable"})",
     "3b436cb743a8a40023302b7d0cfa4025"},
};

int failures = 0;

void fail(const char* what, std::string_view got, std::string_view want) {
    ++failures;
    std::fprintf(stderr, "MISMATCH %s: got '%.*s', want '%.*s'\n", what, static_cast<int>(got.size()), got.data(),
                 static_cast<int>(want.size()), want.data());
}

void check_valid(const ValidCase& c) {
    const fqk::Result<fqk::KvTensorShapeV1> shape = fqk::parse_kv_tensor_shape_v1_json(c.json);
    if (!shape) {
        fail("parse", shape.error().message, "a descriptor");
        return;
    }
    const fqk::Status status = fqk::validate(*shape);
    if (!status) {
        fail("validate", status.error().message, "ok");
        return;
    }
    const fqk::Result<std::uint64_t> vectors = fqk::vector_count(*shape);
    const fqk::Result<std::uint64_t> elements = fqk::element_count(*shape);
    const fqk::Result<fqk::Digest> digest = fqk::digest(*shape);
    if (!vectors || !elements || !digest) {
        fail("counts/digest", "an error", "values");
        return;
    }
    const std::string hex = digest->hex();
    std::printf("element_count=%llu digest=%s\n", static_cast<unsigned long long>(*elements), hex.c_str());
    if (*vectors != c.vector_count) fail("vector_count", std::to_string(*vectors), std::to_string(c.vector_count));
    if (*elements != c.element_count) {
        fail("element_count", std::to_string(*elements), std::to_string(c.element_count));
    }
    if (hex != c.digest) fail("digest", hex, c.digest);
    const std::string json = fqk::to_json(*shape);
    if (json != c.canonical) fail("to_json", json, c.canonical);
    const std::optional<fqk::Digest> parsed = fqk::Digest::from_hex(c.digest);
    if (!parsed || !(*parsed == *digest)) fail("Digest::from_hex", hex, c.digest);
}

}  // namespace

int main() {
    for (const ValidCase& c : kValid) check_valid(c);

    // A validation error carries the seed's message.
    const fqk::Result<fqk::KvTensorShapeV1> zero = fqk::parse_kv_tensor_shape_v1_json(
        R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"mqa","batch":0,)"
        R"("layers":1,"kv_heads":1,"query_heads":4,"tokens":1,"head_dim":64,"dtype":"f16","rope_state":"pre_rope"})");
    if (!zero) {
        fail("parse (batch 0)", zero.error().message, "a descriptor");
    } else {
        const fqk::Status status = fqk::validate(*zero);
        if (status) {
            fail("validate (batch 0)", "ok", "an error");
        } else {
            std::printf("batch 0: %s: %s\n", std::string(fqk::to_string(status.error().kind)).c_str(),
                        status.error().message.c_str());
            if (status.error().kind != fqk::ErrorKind::corrupt_payload) {
                fail("error kind (batch 0)", fqk::to_string(status.error().kind), "corrupt_payload");
            }
            if (status.error().message != "kv shape batch must be > 0") {
                fail("error message (batch 0)", status.error().message, "kv shape batch must be > 0");
            }
            if (fqk::digest(*zero)) fail("digest (batch 0)", "a digest", "an error");
        }
    }

    // Not JSON: a parse error.
    const fqk::Result<fqk::KvTensorShapeV1> broken = fqk::parse_kv_tensor_shape_v1_json("{\"schema_version\":");
    if (broken) {
        fail("parse (truncated)", "ok", "a parse error");
    } else if (!broken.error().is_parse_error()) {
        fail("parse (truncated) kind", fqk::to_string(broken.error().kind), "parse");
    }

    // The Hugging Face config module ships too: a Llama-3-8B-shaped config, 2 x 32 x 8 x 128 x 2 bytes a token.
    const fqk::Result<fqk::HfConfig> hf = fqk::read_hf_config(
        R"({"model_type":"llama","num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,)"
        R"("hidden_size":4096,"torch_dtype":"bfloat16"})");
    const fqk::Result<fqk::KvCacheSize> row =
        hf ? fqk::size_kv_cache(*hf, 4096) : fqk::Result<fqk::KvCacheSize>(hf.error());
    if (!row) {
        fail("hf_config", row.error().message, "a size");
    } else if (row->bytes_per_token != 131072) {
        fail("hf_config bytes_per_token", std::to_string(row->bytes_per_token), "131072");
    }

    if (failures != 0) {
        std::fprintf(stderr, "%d mismatch(es)\n", failures);
        return 1;
    }
    std::printf("consumer OK\n");
    return 0;
}
