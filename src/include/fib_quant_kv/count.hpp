// fib_quant_kv: overflow-checked counting. Every size the library derives goes through here.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>

namespace fib_quant_kv {

/// a * b, or nothing when the product does not fit in 64 bits.
[[nodiscard]] constexpr std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    std::uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;  // one multiply and a flag, no division
    return product;
#else
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::nullopt;
    return a * b;
#endif
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
/// The product of `factors` multiplied left to right in straight-line code, wrapping, and whether any step
/// overflowed (which is the same answer as stopping at the first that does).
struct WrappedProduct {
    std::uint64_t value = 1;
    bool overflow = false;
};
template <std::same_as<std::uint64_t>... Factors>
[[nodiscard]] constexpr WrappedProduct wrapped_product(Factors... factors) noexcept {
    WrappedProduct p;
#if defined(__GNUC__) || defined(__clang__)
    ((p.overflow |= __builtin_mul_overflow(p.value, factors, &p.value)), ...);
#else
    ((p.overflow |= (p.value != 0 && factors > std::numeric_limits<std::uint64_t>::max() / p.value),
      p.value *= factors),
     ...);
#endif
    return p;
}
}  // namespace detail

/// True when checked_product({factors...}) has a value, computed without one.
template <std::same_as<std::uint64_t>... Factors>
[[nodiscard]] constexpr bool product_fits(Factors... factors) noexcept {
    return !detail::wrapped_product(factors...).overflow;
}

/// product_fits(factors...), and the product is not zero: no factor is zero. One test for both.
template <std::same_as<std::uint64_t>... Factors>
[[nodiscard]] constexpr bool product_fits_nonzero(Factors... factors) noexcept {
    const detail::WrappedProduct p = detail::wrapped_product(factors...);
    return !p.overflow && p.value != 0;
}

}  // namespace fib_quant_kv
