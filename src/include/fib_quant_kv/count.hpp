// fib_quant_kv: overflow-checked counting. Every size the library derives goes through here.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <type_traits>

namespace fib_quant_kv {

namespace detail {
/// a * b into `out`, wrapping; true when the true product does not fit in 64 bits.
[[nodiscard, gnu::always_inline]] constexpr bool mul_wraps(std::uint64_t a, std::uint64_t b,
                                                            std::uint64_t& out) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_mul_overflow(a, b, &out);  // one multiply and a flag, no division
#else
    out = a * b;
    return a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a;
#endif
}
}  // namespace detail

/// a * b, or nothing when the product does not fit in 64 bits.
[[nodiscard]] constexpr std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t product = 0;
    if (detail::mul_wraps(a, b, product)) return std::nullopt;
    return product;
}

/// a + b, or nothing when the sum does not fit in 64 bits.
[[nodiscard]] constexpr std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) noexcept {
    if (b > std::numeric_limits<std::uint64_t>::max() - a) return std::nullopt;  // compared by subtraction
    return a + b;
}

/// The product of `factors`, multiplied left to right; nothing at the first step that overflows (as the Rust
/// original's try_fold: [2^32, 2^32, 0] overflows even though the true product is 0).
[[nodiscard]] constexpr std::optional<std::uint64_t> checked_product(
    std::initializer_list<std::uint64_t> factors) noexcept {
    std::uint64_t acc = 1;
    for (std::uint64_t f : factors) {
        const auto next = checked_mul(acc, f);
        if (!next) return std::nullopt;
        acc = *next;
    }
    return acc;
}

namespace detail {
/// An overflow-checked count that remembers its first overflow instead of stopping at it: each + and * is one
/// instruction and a flag, with no branch, and a count that overflowed anywhere stays overflowed. "Nothing"
/// (std::nullopt in checked_add/checked_mul) is absorbing in the same way, so a chain of steps on Sticky gives
/// nothing exactly when the same chain on std::optional would: Sticky::nothing() stands for it.
struct Sticky {
    std::uint64_t value = 0;
    bool overflow = false;
    constexpr Sticky() noexcept = default;
    constexpr Sticky(std::uint64_t v) noexcept : value(v) {}  // NOLINT: implicit, as a count
    [[nodiscard]] static constexpr Sticky nothing() noexcept {
        Sticky s;
        s.overflow = true;
        return s;
    }
    [[nodiscard]] constexpr std::optional<std::uint64_t> get() const noexcept {
        return overflow ? std::nullopt : std::optional<std::uint64_t>(value);
    }
    friend constexpr Sticky operator*(Sticky a, Sticky b) noexcept {
        Sticky r;
        r.overflow = mul_wraps(a.value, b.value, r.value) | a.overflow | b.overflow;
        return r;
    }
    friend constexpr Sticky operator+(Sticky a, Sticky b) noexcept {
        Sticky r;
        r.value = a.value + b.value;
        r.overflow = (r.value < a.value) | a.overflow | b.overflow;
        return r;
    }
};

/// The product of `factors` multiplied left to right in straight-line code, wrapping, and whether any step
/// overflowed (which is the same answer as stopping at the first that does).
template <std::same_as<std::uint64_t>... Factors>
[[nodiscard]] constexpr Sticky wrapped_product(Factors... factors) noexcept {
    Sticky p{1};
    ((p = p * Sticky{factors}), ...);
    return p;
}
}  // namespace detail

/// True when checked_product({factors...}) has a value, computed without one.
template <std::same_as<std::uint64_t>... Factors>
[[nodiscard]] constexpr bool product_fits(Factors... factors) noexcept {
    return !detail::wrapped_product(factors...).overflow;
}

namespace detail {
/// Whether the product of `f` (each below 2^32) is not zero and fits in 64 bits. Both are properties of the
/// true product alone, whatever the order of the multiplications (a zero factor makes it zero; without one,
/// every partial product is at most the whole), so the factors are multiplied two by two, each pair exactly
/// in 64 bits, and only the pair products are checked for overflow: the high halves of their 128-bit products
/// are ORed, with no flag per step.
template <std::size_t N>
[[nodiscard]] constexpr bool narrow_product_fits_nonzero(const std::uint64_t (&f)[N]) noexcept {
    std::uint64_t pairs[(N + 1) / 2];
    for (std::size_t i = 0; i < N / 2; ++i) pairs[i] = f[2 * i] * f[2 * i + 1];  // < 2^64: exact
    if constexpr (N % 2 != 0) pairs[N / 2] = f[N - 1];
    std::uint64_t value = pairs[0];
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 U128;  // GCC and Clang; __extension__: no -Wpedantic warning
    std::uint64_t high = 0;
    for (std::size_t i = 1; i < (N + 1) / 2; ++i) {
        const U128 wide = static_cast<U128>(value) * pairs[i];
        high |= static_cast<std::uint64_t>(wide >> 64);
        value = static_cast<std::uint64_t>(wide);
    }
    return high == 0 && value != 0;
#else
    bool overflow = false;
    for (std::size_t i = 1; i < (N + 1) / 2; ++i) {
        overflow |= value != 0 && pairs[i] > std::numeric_limits<std::uint64_t>::max() / value;
        value *= pairs[i];
    }
    return !overflow && value != 0;
#endif
}
}  // namespace detail

/// product_fits(factors...), and the product is not zero: no factor is zero. One test for both. Unlike
/// product_fits(), the answer does not depend on the order of the factors (see narrow_product_fits_nonzero),
/// so factors of 32 bits or fewer are multiplied in pairs.
template <std::unsigned_integral... Factors>
[[nodiscard]] constexpr bool product_fits_nonzero(Factors... factors) noexcept {
    if constexpr (sizeof...(Factors) >= 2 && ((sizeof(Factors) <= 4) && ...)) {
        const std::uint64_t f[] = {static_cast<std::uint64_t>(factors)...};
        return detail::narrow_product_fits_nonzero(f);
    } else {
        const detail::Sticky p = detail::wrapped_product(static_cast<std::uint64_t>(factors)...);
        return !p.overflow && p.value != 0;
    }
}

/// `x` is a multiple of `d`, and `d` is not zero: a mask when `d` is a power of two (head counts and block sizes
/// mostly are; no division then), else the remainder, in the wider of the two types.
template <std::unsigned_integral A, std::unsigned_integral B>
[[nodiscard, gnu::always_inline]] constexpr bool is_multiple_of(A x, B d) noexcept {
    using T = std::common_type_t<A, B>;
    const T wide_x = x;
    const T wide_d = d;
    if (wide_d == 0) return false;
    if ((wide_d & (wide_d - 1)) == 0) return (wide_x & (wide_d - 1)) == 0;
    return wide_x % wide_d == 0;
}

/// `x / d` for `d` > 0: a shift when `d` is a power of two (no division then).
template <std::unsigned_integral T>
[[nodiscard, gnu::always_inline]] constexpr T quotient(T x, T d) noexcept {
    if ((d & (d - 1)) == 0) return x >> std::countr_zero(d);
    return x / d;
}

}  // namespace fib_quant_kv
