// The README's API tour as a program that builds and runs with the tests (ctest: example_api), so the README
// cannot drift from the library. Exit status 0 when every step behaved as the comments say.
#include <fib_quant_kv/fib_quant_kv.hpp>
#include <fib_quant_kv/cache_spec.hpp>                       // upgrade() and compat() of v2 cache specs
#include <fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp>     // only for the FlatBuffers forms
#include <fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp>

#include <cstdio>
#include <string_view>
#include <vector>

namespace fqk = fib_quant_kv;

namespace {

int report(const fqk::Error& e) {
    std::printf("%s\n", e.describe().c_str());
    return 1;
}

int tour(std::string_view text) {
    fqk::Result<fqk::KvTensorShapeV1> shape = fqk::parse_kv_tensor_shape_v1_json(text);  // decode only
    if (!shape) return report(shape.error());        // kind parse, rule "json.missing_field", field, message
    if (fqk::Status st = fqk::validate(*shape); !st)  // first violation, the Rust original's order and text
        return report(st.error());                    // e.g. corrupt_payload, rule "mha.heads_equal"
    std::vector<fqk::Error> all = fqk::validate_all(*shape);  // every violation, with rule ids
    std::uint64_t bytes = fqk::byte_size(*shape).value();     // overflow-checked, 64-bit
    std::string hex = fqk::digest(*shape).value().hex();      // XXH3-128 of the canonical encoding
    std::string json = fqk::to_json(*shape);                  // byte-identical to serde_json::to_string
    std::printf("valid: %zu violations, %llu bytes, digest %s\n%s\n", all.size(),
                static_cast<unsigned long long>(bytes), hex.c_str(), json.c_str());

    // Build one in code: designated initializers (schema_version defaults to the schema id) or make_...().
    fqk::KvTensorShapeV1 s{.role = fqk::KvRole::key, .attention_kind = fqk::KvAttentionKind::gqa,
                           .batch = 1, .layers = 32, .kv_heads = 8, .query_heads = 32, .tokens = 8192,
                           .head_dim = 128, .dtype = fqk::KvDType::bf16, .rope_state = fqk::KvRopeState::post_rope};

    // FlatBuffers: verify in place (Verifier, presence, enum codes, then every rule), no copy, no allocation.
    std::vector<std::uint8_t> buf = fqk::to_flatbuffer(s);
    fqk::Result<fqk::KvTensorShapeV1View> view = fqk::verify_kv_tensor_shape_v1_buffer(buf);
    if (!view) return report(view.error());
    const bool same = view->head_dim() == 128 && fqk::digest(*view).value() == fqk::digest(s).value() &&
                      fqk::to_native(*view) == s && s == *shape;
    std::printf("flatbuffer: %zu bytes, same shape and digest: %s\n", buf.size(), same ? "yes" : "no");
    if (!same) return 1;

    // v2: the cache spec of the same cache (K and V, one full-attention group), and its zero-copy view.
    fqk::Result<fqk::KvCacheSpecV2> spec = fqk::upgrade(s);
    if (!spec) return report(spec.error());
    std::vector<std::uint8_t> buf2 = fqk::to_flatbuffer(*spec);
    fqk::Result<fqk::KvCacheSpecV2View> v2 = fqk::verify_kv_cache_spec_v2_view(buf2);  // in place, validated
    if (!v2) return report(v2.error());
    const bool same2 = fqk::digest(*v2).value() == fqk::digest(*spec).value() && fqk::to_native(*v2) == *spec;
    std::printf("v2 view: %zu group of %zu layers, %llu bytes held, same spec and digest: %s\n", v2->groups.size(),
                v2->groups[0].layers.size(), static_cast<unsigned long long>(fqk::bytes_held(*v2).value()),
                same2 ? "yes" : "no");
    return same2 ? 0 : 1;
}

}  // namespace

int main() {
    return tour(R"({"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa",)"
                R"("batch":1,"layers":32,"kv_heads":8,"query_heads":32,"tokens":8192,"head_dim":128,)"
                R"("dtype":"bf16","rope_state":"post_rope"})");
}
