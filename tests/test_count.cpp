// Overflow-checked counting: checked_mul and checked_product at the edges of 64 bits, the Rust original's
// left-to-right try_fold semantics, and the derived counts of a shape (vector_count, element_count, byte_size).
#define BOOST_TEST_MODULE count
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>

#include "test_support.hpp"

using namespace fib_quant_kv;
using fib_quant_kv::test::kU32Max;
using fib_quant_kv::test::kU64Max;

namespace {

constexpr std::uint64_t k2p32 = std::uint64_t{1} << 32;
constexpr std::uint64_t k2p63 = std::uint64_t{1} << 63;
// 2^64 - 1 = (2^32 + 1)(2^32 - 1) = 641 * 6700417 * 65537 * 257 * 17 * 5 * 3
constexpr std::uint64_t kFermat5Low = 641;
constexpr std::uint64_t kFermat5High = 6700417;

/// checked_mul's answer as something Boost.Test can print and compare: the product, or -1 for "overflow".
struct Product {
    bool overflow;
    std::uint64_t value;
    friend bool operator==(const Product&, const Product&) = default;
};
std::ostream& boost_test_print_type(std::ostream& os, const Product& p) {
    return p.overflow ? os << "overflow" : os << p.value;
}
Product product(std::optional<std::uint64_t> r) { return r ? Product{false, *r} : Product{true, 0}; }
constexpr Product fits(std::uint64_t v) { return {false, v}; }
constexpr Product overflows() { return {true, 0}; }

/// A valid MHA key shape with these dims (query_heads = kv_heads).
KvTensorShapeV1 shape(std::uint32_t batch, std::uint32_t layers, std::uint32_t heads, std::uint32_t tokens,
                      std::uint32_t head_dim, KvDType dtype = KvDType::f16) {
    return make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mha, batch, layers, heads, heads, tokens, head_dim,
                                   dtype, KvRopeState::pre_rope);
}

void check_overflow_error(const Error& e) {
    CHECK_ERROR(e, ErrorKind::resource_limit_exceeded, "size_overflow", "batch,layers,kv_heads,tokens,head_dim",
                "kv shape size overflow");
    BOOST_TEST(e.offset == Error::no_offset);
    BOOST_TEST((e.details == ErrorDetails{}));
}

}  // namespace

// The primitives are constexpr.
static_assert(checked_mul(k2p32 - 1, k2p32 + 1) == kU64Max);
static_assert(!checked_mul(k2p32, k2p32).has_value());
static_assert(checked_product({}) == 1U);
static_assert(!checked_product({k2p32, k2p32, 0}).has_value());
static_assert(kFermat5Low * kFermat5High == k2p32 + 1);

BOOST_AUTO_TEST_SUITE(checked_mul_edges)

BOOST_AUTO_TEST_CASE(zero_and_one) {
    BOOST_TEST(product(checked_mul(0, 0)) == fits(0));
    BOOST_TEST(product(checked_mul(0, kU64Max)) == fits(0));
    BOOST_TEST(product(checked_mul(kU64Max, 0)) == fits(0));
    BOOST_TEST(product(checked_mul(1, 1)) == fits(1));
    BOOST_TEST(product(checked_mul(1, kU64Max)) == fits(kU64Max));
    BOOST_TEST(product(checked_mul(kU64Max, 1)) == fits(kU64Max));
    BOOST_TEST(product(checked_mul(1, kU32Max)) == fits(kU32Max));
}

BOOST_AUTO_TEST_CASE(around_two_to_the_64) {
    // just below
    BOOST_TEST(product(checked_mul(kU32Max, kU32Max)) == fits(0xFFFF'FFFE'0000'0001ULL));
    BOOST_TEST(product(checked_mul(k2p32, k2p32 - 1)) == fits(0xFFFF'FFFF'0000'0000ULL));
    BOOST_TEST(product(checked_mul(k2p63, 1)) == fits(k2p63));
    BOOST_TEST(product(checked_mul(2, k2p63 - 1)) == fits(kU64Max - 1));
    // exactly 2^64 - 1
    BOOST_TEST(product(checked_mul(k2p32 - 1, k2p32 + 1)) == fits(kU64Max));
    BOOST_TEST(product(checked_mul(k2p32 + 1, k2p32 - 1)) == fits(kU64Max));
    BOOST_TEST(product(checked_mul(3, 6148914691236517205ULL)) == fits(kU64Max));
    BOOST_TEST(product(checked_mul(6148914691236517205ULL, 3)) == fits(kU64Max));
    // exactly 2^64 and just above
    BOOST_TEST(product(checked_mul(k2p32, k2p32)) == overflows());
    BOOST_TEST(product(checked_mul(k2p63, 2)) == overflows());
    BOOST_TEST(product(checked_mul(2, k2p63)) == overflows());
    BOOST_TEST(product(checked_mul(k2p32 + 1, k2p32)) == overflows());
    BOOST_TEST(product(checked_mul(3, 6148914691236517206ULL)) == overflows());
    BOOST_TEST(product(checked_mul(kU64Max, 2)) == overflows());
    BOOST_TEST(product(checked_mul(kU64Max, kU64Max)) == overflows());
    BOOST_TEST(product(checked_mul(k2p32 + 1, k2p32 + 1)) == overflows());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checked_product_fold)

BOOST_AUTO_TEST_CASE(small_products) {
    BOOST_TEST(product(checked_product({})) == fits(1));
    BOOST_TEST(product(checked_product({0})) == fits(0));
    BOOST_TEST(product(checked_product({7})) == fits(7));
    BOOST_TEST(product(checked_product({kU64Max})) == fits(kU64Max));
    BOOST_TEST(product(checked_product({2, 3, 7})) == fits(42));
    BOOST_TEST(product(checked_product({1, 1, 1, 1, 1})) == fits(1));
}

BOOST_AUTO_TEST_CASE(left_to_right_like_try_fold) {
    // The first step that overflows ends the fold, even when a later factor would make the true product 0.
    BOOST_TEST(product(checked_product({k2p32, k2p32, 0})) == overflows());
    BOOST_TEST(product(checked_product({kU64Max, 2, 0})) == overflows());
    // A zero before the large factors keeps every step at 0.
    BOOST_TEST(product(checked_product({0, k2p32, k2p32})) == fits(0));
    BOOST_TEST(product(checked_product({k2p32, 0, k2p32})) == fits(0));
    // Order does not matter when nothing overflows.
    BOOST_TEST(product(checked_product({k2p32 + 1, k2p32 - 1})) == fits(kU64Max));
    BOOST_TEST(product(checked_product({k2p32 - 1, k2p32 + 1})) == fits(kU64Max));
}

BOOST_AUTO_TEST_CASE(u32_factors) {
    BOOST_TEST(product(checked_product({kU32Max, kU32Max})) == fits(0xFFFF'FFFE'0000'0001ULL));
    BOOST_TEST(product(checked_product({kU32Max, kU32Max, 1})) == fits(0xFFFF'FFFE'0000'0001ULL));
    BOOST_TEST(product(checked_product({kU32Max, kU32Max, 2})) == overflows());
    BOOST_TEST(product(checked_product({kU32Max, kU32Max, kU32Max})) == overflows());
    BOOST_TEST(product(checked_product({kU32Max, kU32Max, kU32Max, kU32Max})) == overflows());
    // 2^16 four times is exactly 2^64: one past the largest value
    BOOST_TEST(product(checked_product({65536, 65536, 65536, 65536})) == overflows());
    BOOST_TEST(product(checked_product({65536, 65536, 65536, 65535})) == fits(0xFFFF'0000'0000'0000ULL));
    // 2^64 - 1 from five u32 factors: 641 * 6700417 * 65537 * 255 * 257
    BOOST_TEST(product(checked_product({kFermat5Low, kFermat5High, 65537, 255, 257})) == fits(kU64Max));
    BOOST_TEST(product(checked_product({kFermat5Low, kFermat5High, 65537, 256, 257})) == overflows());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shape_counts)

BOOST_AUTO_TEST_CASE(ordinary_shape) {
    const KvTensorShapeV1 s = shape(2, 3, 4, 5, 6, KvDType::f32);
    BOOST_TEST(vector_count(s).value() == 120U);
    BOOST_TEST(element_count(s).value() == 720U);
    BOOST_TEST(byte_size(s).value() == 2880U);
    BOOST_TEST(byte_size(shape(2, 3, 4, 5, 6, KvDType::f16)).value() == 1440U);
    BOOST_TEST(byte_size(shape(2, 3, 4, 5, 6, KvDType::bf16)).value() == 1440U);
}

BOOST_AUTO_TEST_CASE(query_heads_do_not_count) {
    KvTensorShapeV1 s = shape(2, 3, 4, 5, 6);
    s.attention_kind = KvAttentionKind::gqa;
    s.query_heads = kU32Max;
    BOOST_TEST(vector_count(s).value() == 120U);
    BOOST_TEST(element_count(s).value() == 720U);
}

BOOST_AUTO_TEST_CASE(counts_do_not_validate) {
    // Zero dims, a wrong schema_version and an unknown dtype: the counts are still plain products.
    KvTensorShapeV1 s = shape(0, 3, 4, 5, 6);
    s.schema_version = "other";
    BOOST_TEST(vector_count(s).value() == 0U);
    BOOST_TEST(element_count(s).value() == 0U);
    BOOST_TEST(byte_size(s).value() == 0U);
    const KvTensorShapeV1 no_head_dim = shape(2, 3, 4, 5, 0);
    BOOST_TEST(vector_count(no_head_dim).value() == 120U);
    BOOST_TEST(element_count(no_head_dim).value() == 0U);
    KvTensorShapeV1 unknown_dtype = shape(2, 3, 4, 5, 6);
    unknown_dtype.dtype = static_cast<KvDType>(7);
    BOOST_TEST(byte_size(unknown_dtype).value() == 0U);  // an unknown dtype has byte_size 0
}

BOOST_AUTO_TEST_CASE(ones_and_u32_max) {
    const KvTensorShapeV1 ones = shape(1, 1, 1, 1, 1, KvDType::f32);
    BOOST_TEST(vector_count(ones).value() == 1U);
    BOOST_TEST(element_count(ones).value() == 1U);
    BOOST_TEST(byte_size(ones).value() == 4U);

    const KvTensorShapeV1 wide = shape(1, 1, 1, 1, kU32Max, KvDType::f32);
    BOOST_TEST(element_count(wide).value() == kU32Max);
    BOOST_TEST(byte_size(wide).value() == std::uint64_t{kU32Max} * 4U);

    const KvTensorShapeV1 two_max = shape(kU32Max, kU32Max, 1, 1, 1);
    BOOST_TEST(vector_count(two_max).value() == 0xFFFF'FFFE'0000'0001ULL);
    BOOST_TEST(element_count(two_max).value() == 0xFFFF'FFFE'0000'0001ULL);
    check_overflow_error(byte_size(two_max).error());  // * 2 bytes no longer fits
}

BOOST_AUTO_TEST_CASE(element_count_exactly_u64_max) {
    // 641 * 6700417 * 65537 * 255 * 257 = 2^64 - 1: the largest element count there is.
    const KvTensorShapeV1 s = shape(641, 6700417, 65537, 255, 257);
    BOOST_TEST(vector_count(s).value() == 641ULL * 6700417ULL * 65537ULL * 255ULL);
    BOOST_TEST(element_count(s).value() == kU64Max);
    check_overflow_error(byte_size(s).error());
    BOOST_TEST(validate(s).ok());  // the seed's validate() checks element_count only

    // one token more and the element count is past 2^64 - 1; the vector count still fits
    const KvTensorShapeV1 past = shape(641, 6700417, 65537, 256, 257);
    BOOST_TEST(vector_count(past).value() == 641ULL * 6700417ULL * 65537ULL * 256ULL);
    check_overflow_error(element_count(past).error());
    check_overflow_error(byte_size(past).error());
}

BOOST_AUTO_TEST_CASE(vector_count_exactly_u64_max) {
    // 641 * 6700417 * 65537 * 65535 = 2^64 - 1 as the vector count
    const KvTensorShapeV1 s = shape(641, 6700417, 65537, 65535, 1);
    BOOST_TEST(vector_count(s).value() == kU64Max);
    BOOST_TEST(element_count(s).value() == kU64Max);
    const KvTensorShapeV1 two_wide = shape(641, 6700417, 65537, 65535, 2);
    BOOST_TEST(vector_count(two_wide).value() == kU64Max);
    check_overflow_error(element_count(two_wide).error());
    const KvTensorShapeV1 past = shape(641, 6700417, 65537, 65536, 1);
    check_overflow_error(vector_count(past).error());
    check_overflow_error(element_count(past).error());
}

BOOST_AUTO_TEST_CASE(all_dims_u32_max_overflow) {
    const KvTensorShapeV1 s = shape(kU32Max, kU32Max, kU32Max, kU32Max, kU32Max);
    check_overflow_error(vector_count(s).error());
    check_overflow_error(element_count(s).error());
    check_overflow_error(byte_size(s).error());
    // three factors of u32 max already overflow
    check_overflow_error(vector_count(shape(kU32Max, kU32Max, kU32Max, 1, 1)).error());
}

BOOST_AUTO_TEST_CASE(fold_overflows_before_a_zero) {
    // [batch, layers, kv_heads, tokens] = [max, max, max, 0]: the third step overflows, as the seed's try_fold.
    const KvTensorShapeV1 s = shape(kU32Max, kU32Max, kU32Max, 0, 1);
    check_overflow_error(vector_count(s).error());
    check_overflow_error(element_count(s).error());
    // head_dim 0 does not rescue an overflowing vector count
    check_overflow_error(element_count(shape(kU32Max, kU32Max, kU32Max, 1, 0)).error());
    // a zero first keeps every step at 0
    BOOST_TEST(vector_count(shape(0, kU32Max, kU32Max, kU32Max, kU32Max)).value() == 0U);
    BOOST_TEST(element_count(shape(0, kU32Max, kU32Max, kU32Max, kU32Max)).value() == 0U);
}

BOOST_AUTO_TEST_CASE(result_access) {
    const Result<std::uint64_t> ok = vector_count(shape(1, 2, 3, 4, 5));
    BOOST_TEST(ok.ok());
    BOOST_TEST(static_cast<bool>(ok));
    BOOST_TEST(*ok == 24U);
    BOOST_TEST(ok.value_or(7) == 24U);
    BOOST_CHECK_THROW(static_cast<void>(ok.error()), BadResultAccess);

    const Result<std::uint64_t> bad = vector_count(shape(kU32Max, kU32Max, kU32Max, 1, 1));
    BOOST_TEST(!bad.ok());
    BOOST_TEST(!static_cast<bool>(bad));
    BOOST_TEST(bad.value_or(7) == 7U);
    BOOST_CHECK_THROW(static_cast<void>(bad.value()), BadResultAccess);
}

BOOST_AUTO_TEST_SUITE_END()
