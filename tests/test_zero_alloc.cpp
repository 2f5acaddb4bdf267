// The FlatBuffers view is zero-copy and allocation-free on the success path: verifying a buffer, validating it
// (first violation and the block_dim check), counting and digesting it allocate nothing. Checked by replacing
// the global operator new with one that counts.
#define BOOST_TEST_MODULE zero_alloc
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
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
