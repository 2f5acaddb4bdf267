// fib_quant_kv: a string compared with a constant of the schema (a schema id), as the generated hot predicates
// compare every descriptor's schema_version.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fib_quant_kv {

namespace detail {
/// Bytes [from, from + 16) of `Constant`, 16-byte aligned, so that a compare can take them as a memory operand.
template <const std::string_view& Constant, std::size_t From>
alignas(16) inline constexpr std::array<char, 16> kConstantBlock = [] {
    std::array<char, 16> block{};
    for (std::size_t i = 0; i < 16 && From + i < Constant.size(); ++i) block[i] = Constant[From + i];
    return block;
}();
}  // namespace detail

/// `s == Constant`. With SSE2 and a constant of 16 to 32 bytes (a schema id, such as
/// "fib_quant_kv_tensor_shape_v1"), once the lengths agree the bytes are compared as two 16-byte blocks, the
/// first and the last (they overlap when the constant is shorter than 32), in a handful of instructions without
/// a branch between them; any other constant goes to std::string_view's compare.
template <const std::string_view& Constant>
[[nodiscard, gnu::always_inline]] constexpr bool equals_constant(std::string_view s) noexcept {
    constexpr std::size_t n = Constant.size();
    if (s.size() != n) return false;
#if defined(__SSE2__)
    if constexpr (n >= 16 && n <= 32) {
        if (!std::is_constant_evaluated()) {
            // Both loads are inside s: its size is n, and n >= 16.
            const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
            const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + (n - 16)));
            const __m128i same = _mm_and_si128(
                _mm_cmpeq_epi8(head, _mm_load_si128(reinterpret_cast<const __m128i*>(
                                         detail::kConstantBlock<Constant, 0>.data()))),
                _mm_cmpeq_epi8(tail, _mm_load_si128(reinterpret_cast<const __m128i*>(
                                         detail::kConstantBlock<Constant, n - 16>.data()))));
            return _mm_movemask_epi8(same) == 0xFFFF;
        }
    }
#endif
    return s == Constant;
}

}  // namespace fib_quant_kv
