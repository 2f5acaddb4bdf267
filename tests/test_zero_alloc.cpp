// The FlatBuffers views are zero-copy and allocation-free on the success path: verifying a buffer, validating it
// (first violation and the block_dim check), counting and digesting it allocate nothing, for v1's descriptor and
// for the v2 cache spec (nested groups and arrays read in place). Checked by replacing the global operator new
// with one that counts.
#define BOOST_TEST_MODULE zero_alloc
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace fqk = fib_quant_kv;

namespace {

fqk::KvTensorShapeV1 sample() {
    return fqk::make_kv_tensor_shape_v1(fqk::KvRole::key, fqk::KvAttentionKind::gqa, 2, 32, 8, 32, 4096, 128,
                                        fqk::KvDType::bf16, fqk::KvRopeState::post_rope);
}

/// Allocations made by `f`.
template <class F>
std::size_t allocations_in(F&& f) {
    const std::size_t before = g_allocations.load();
    f();
    return g_allocations.load() - before;
}

}  // namespace

BOOST_AUTO_TEST_CASE(counting_allocator_counts) {
    // The check below means something only if this replacement is in force.
    const std::size_t n = allocations_in([] { std::vector<int> v(100); BOOST_TEST(v.size() == 100U); });
    BOOST_TEST(n == 1U);
}

BOOST_AUTO_TEST_CASE(verify_validate_count_digest_allocate_nothing) {
    const std::vector<std::uint8_t> buffer = fqk::to_flatbuffer(sample());
    const fqk::Digest expected = fqk::digest(sample()).value();
    bool all_ok = false;
    const std::size_t n = allocations_in([&] {
        const fqk::Result<fqk::KvTensorShapeV1View> view = fqk::verify_kv_tensor_shape_v1_buffer(buffer);
        if (!view) return;
        const fqk::Status block = fqk::validate_block_dim(*view, 64);
        const fqk::Result<std::uint64_t> elements = fqk::element_count(*view);
        const fqk::Result<std::uint64_t> bytes = fqk::byte_size(*view);
        const fqk::Result<fqk::Digest> digest = fqk::digest(*view);
        all_ok = block.ok() && elements.ok() && bytes.ok() && digest.ok() && digest.value() == expected &&
                 elements.value() == 2ULL * 32 * 8 * 4096 * 128 && bytes.value() == elements.value() * 2;
    });
    BOOST_TEST(all_ok);
    BOOST_TEST(n == 0U);
}

BOOST_AUTO_TEST_CASE(native_validate_and_digest_allocate_nothing) {
    const fqk::KvTensorShapeV1 shape = sample();
    bool all_ok = false;
    const std::size_t n = allocations_in([&] {
        all_ok = fqk::validate(shape).ok() && fqk::validate_block_dim(shape, 32).ok() && fqk::digest(shape).ok();
    });
    BOOST_TEST(all_ok);
    BOOST_TEST(n == 0U);
}

namespace {

/// A v2 spec of `layers` layers: every fourth one full, the rest a sliding window of 1024, paged in blocks of 16,
/// 8 KV heads of 128 bf16 channels, 32768 tokens of 2 sequences.
fqk::KvCacheSpecV2 v2_sample(std::uint32_t layers) {
    fqk::KvCacheSpecV2 spec;
    spec.schema_version = std::string(fqk::kKvCacheSpecV2SchemaId);
    spec.layers = layers;
    spec.batch = 2;
    spec.tokens = 32768;
    fqk::KvLayerGroup sliding{};
    sliding.attention = fqk::KvLayerAttention::sliding_window;
    sliding.window = 1024;
    sliding.kv_heads = 8;
    sliding.key_head_dim = 128;
    sliding.value_head_dim = 128;
    sliding.rope_state = fqk::KvRopeState::post_rope;
    fqk::KvLayerGroup full = sliding;
    full.attention = fqk::KvLayerAttention::full;
    full.window.reset();
    for (std::uint32_t l = 0; l < layers; ++l) (l % 4 == 3 ? full : sliding).layers.push_back(l);
    spec.groups = {sliding, full};
    spec.storage.dim_order = {fqk::KvDim::kv, fqk::KvDim::block, fqk::KvDim::token, fqk::KvDim::head, fqk::KvDim::dim};
    spec.storage.packing = fqk::KvPacking::stacked;
    spec.storage.block_size = 16;
    spec.quant.scheme = fqk::KvQuantScheme::none;
    spec.quant.dtype = fqk::KvDType::bf16;
    return spec;
}

}  // namespace

BOOST_AUTO_TEST_CASE(v2_view_verify_validate_count_digest_allocate_nothing) {
    for (const std::uint32_t layers : {4u, 48u, 96u}) {  // the partition rule's register and stack paths
        const fqk::KvCacheSpecV2 spec = v2_sample(layers);
        const std::vector<std::uint8_t> buffer = fqk::to_flatbuffer(spec);
        const fqk::Digest expected = fqk::digest(spec).value();
        // Per layer and token: K and V, 8 heads of 128 bf16 = 4096 bytes. Sliding layers hold 1024 tokens, full
        // layers all 32768 (whole blocks of 16 either way), for each of 2 sequences.
        const std::uint64_t full = layers / 4, sliding = layers - full;
        const std::uint64_t held = (sliding * 1024 + full * 32768) * 4096 * 2;
        bool all_ok = false;
        const std::size_t n = allocations_in([&] {
            const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::verify_kv_cache_spec_v2_view(buffer);
            if (!view) return;
            const fqk::Result<std::uint64_t> bytes = fqk::bytes_held(*view);
            const fqk::Result<fqk::Digest> digest = fqk::digest(*view);
            all_ok = bytes.ok() && bytes.value() == held && digest.ok() && digest.value() == expected;
        });
        BOOST_TEST(all_ok, layers);
        BOOST_TEST(n == 0U, layers);
    }
}

BOOST_AUTO_TEST_CASE(v2_native_validate_and_digest_allocate_nothing) {
    const fqk::KvCacheSpecV2 spec = v2_sample(48);
    bool all_ok = false;
    const std::size_t n = allocations_in([&] {
        all_ok = fqk::validate(spec).ok() && fqk::bytes_held(spec).ok() && fqk::digest(spec).ok();
    });
    BOOST_TEST(all_ok);
    BOOST_TEST(n == 0U);
}
