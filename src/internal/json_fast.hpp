// fib_quant_kv internal: the JSON reader's fast path, the cursor the generated parse_*_json_canonical() steps
// through the canonical compact form with (what to_json() writes: fields in schema order, no whitespace).
//
// Every step either consumes exactly what it expects or fails; a generated reader stops at the first failure and
// the general reader (json_decode.hpp) decides the input instead, so the fast path only ever answers for input it
// reads completely, and then with the value the general reader would give. What it accepts is deliberately
// narrow: strings of printable ASCII without escapes, integers of plain digits without a leading zero, enum wire
// names as strings, nothing after the closing brace. Every input byte is read once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>

#include "internal/text.hpp"

namespace fib_quant_kv::detail::json_fast {

/// The `n` bytes at `a` and at `b` are equal: 8, 4, 2 and 1 bytes at a time, inline (names are short; a call to
/// memcmp costs more than the compare).
[[nodiscard, gnu::always_inline]] inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        if (x != y) return false;
    }
    std::uint64_t diff = 0;
    if (n >= 4) {
        std::uint32_t u = 0;
        std::uint32_t v = 0;
        std::memcpy(&u, a, 4);
        std::memcpy(&v, b, 4);
        diff |= u ^ v;
        a += 4;
        b += 4;
        n -= 4;
    }
    if (n >= 2) {
        std::uint16_t u = 0;
        std::uint16_t v = 0;
        std::memcpy(&u, a, 2);
        std::memcpy(&v, b, 2);
        diff |= static_cast<std::uint16_t>(u ^ v);
        a += 2;
        b += 2;
        n -= 2;
    }
    if (n != 0) diff |= static_cast<unsigned char>(*a ^ *b);
    return diff == 0;
}

class Cursor {
  public:
    /// A text the general reader refuses for its size alone (4 GiB or more, see json_decode.hpp) reads as empty
    /// here, so that the fast path declines it too.
    explicit Cursor(std::string_view text) noexcept
        : p_(text.data()),
          end_(text.data() + (text.size() < std::numeric_limits<std::uint32_t>::max() ? text.size() : 0)) {}

    /// Consumes exactly `literal`.
    [[nodiscard, gnu::always_inline]] bool literal(std::string_view literal) noexcept {
        if (static_cast<std::size_t>(end_ - p_) < literal.size() || std::memcmp(p_, literal.data(), literal.size()) != 0) {
            return false;
        }
        p_ += literal.size();
        return true;
    }

    /// Consumes a string's content up to (not including) its closing quote: printable ASCII without `\`.
    [[nodiscard, gnu::always_inline]] bool plain_string(std::string_view& out) noexcept {
        const char* const begin = p_;
        while (end_ - p_ >= 8 && is_plain_ascii_word(p_)) p_ += 8;  // then byte by byte from the first odd byte
        while (p_ < end_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
                return true;
            }
            if (c < 0x20 || c > 0x7E || c == '\\') return false;
            ++p_;
        }
        return false;
    }

    /// Consumes an unsigned integer of plain digits (no sign, fraction, exponent or leading zero) up to `max`.
    [[nodiscard, gnu::always_inline]] bool uint(std::uint64_t max, std::uint64_t& out) noexcept {
        const char* const p = plain_uint(p_, end_, max, out);
        if (p == nullptr) return false;
        p_ = p;
        return true;
    }

    /// Consumes a run of comma-separated unsigned integers, as uint() reads each (up to `max`), at least one and
    /// at most `cap`, into `out`; `n` is how many. It stops after the last integer, so that the `,` after `cap` of
    /// them is left for the caller (more follow); a comma not followed by an integer fails.
    template <class T>
    [[nodiscard, gnu::always_inline]] bool uint_run(std::uint64_t max, T* out, std::size_t cap,
                                                    std::size_t& n) noexcept {
        const char* p = p_;
        std::size_t k = 0;
        for (;;) {
            std::uint64_t v = 0;
            // Most items of such runs (layer indices) are one or two digits: those take no digit loop.
            const char* const next = short_uint(p, end_, v);
            p = next != nullptr && v <= max ? next : plain_uint(p, end_, max, v);
            if (p == nullptr) return false;
            out[k++] = static_cast<T>(v);
            if (k == cap || p == end_ || *p != ',') break;
            ++p;
        }
        p_ = p;
        n = k;
        return true;
    }

    /// Consumes one of `names` that is followed by the string's closing quote (not consumed); its index in `index`.
    [[nodiscard, gnu::always_inline]] bool variant(std::span<const std::string_view> names, std::size_t& index) noexcept {
        const auto left = static_cast<std::size_t>(end_ - p_);
        for (std::size_t i = 0; i < names.size(); ++i) {
            const std::string_view n = names[i];
            if (n.size() < left && p_[n.size()] == '"' && !n.empty() && p_[0] == n[0] &&
                same_bytes(p_, n.data(), n.size())) {
                p_ += n.size();
                index = i;
                return true;
            }
        }
        return false;
    }

    /// Consumes `c` when it is the next byte.
    [[nodiscard, gnu::always_inline]] bool take(char c) noexcept {
        if (p_ == end_ || *p_ != c) return false;
        ++p_;
        return true;
    }

    /// Consumes an object member's key and its colon, `"name":`, preceded by a comma unless `first`; consumes
    /// nothing when the text does not hold exactly that (so the caller may try another key).
    [[nodiscard, gnu::always_inline]] bool member_key(std::string_view name, bool first) noexcept {
        const char* p = p_;
        if (!first) {
            if (p == end_ || *p != ',') return false;
            ++p;
        }
        if (static_cast<std::size_t>(end_ - p) < name.size() + 3 || p[0] != '"' ||
            !same_bytes(p + 1, name.data(), name.size()) || p[name.size() + 1] != '"' || p[name.size() + 2] != ':') {
            return false;
        }
        p_ = p + name.size() + 3;
        return true;
    }

    /// True when all of the text has been consumed.
    [[nodiscard]] bool at_end() const noexcept { return p_ == end_; }

  private:
    /// A plain unsigned integer of one or two digits at `p`, followed by a byte that is not a digit, in `out`:
    /// where it ends; nullptr for anything else (fewer than three bytes left, a longer number, a leading zero),
    /// which plain_uint() then decides.
    [[nodiscard, gnu::always_inline]] static const char* short_uint(const char* p, const char* end,
                                                                   std::uint64_t& out) noexcept {
        if (end - p < 3) return nullptr;
        const unsigned d0 = static_cast<unsigned char>(p[0]) - unsigned{'0'};
        const unsigned d1 = static_cast<unsigned char>(p[1]) - unsigned{'0'};
        if (d0 > 9) return nullptr;
        if (d1 > 9) {
            out = d0;
            return p + 1;
        }
        const unsigned d2 = static_cast<unsigned char>(p[2]) - unsigned{'0'};
        if (d0 == 0 || d2 <= 9) return nullptr;
        out = d0 * 10 + d1;
        return p + 2;
    }

    /// The plain unsigned integer (as uint() takes it) at `p`, up to `max`, in `out`: where it ends, or nullptr.
    [[nodiscard, gnu::always_inline]] static const char* plain_uint(const char* p, const char* end, std::uint64_t max,
                                                                   std::uint64_t& out) noexcept {
        constexpr int kMaxDigits = 19;  // any 19 digits fit in 64 bits; longer numbers go to the general reader
        const char* const begin = p;
        std::uint64_t v = 0;
        while (p < end) {
            const auto digit = static_cast<unsigned>(*p - '0');
            if (digit > 9) break;
            if (p - begin == kMaxDigits) return nullptr;
            v = v * 10 + digit;
            ++p;
        }
        const std::ptrdiff_t digits = p - begin;
        if (digits == 0 || (digits > 1 && *begin == '0') || v > max) return nullptr;
        out = v;
        return p;
    }

    /// True when all 8 bytes at `p` are printable ASCII other than `"` and `\\`: none a JSON string escapes,
    /// none non-ASCII, no DEL.
    static bool is_plain_ascii_word(const char* p) noexcept {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        return (json_escape_bytes(w) | (w & kByteHighs) | has_zero_byte(w ^ (kByteOnes * 0x7F))) == 0;
    }

    const char* p_;
    const char* end_;
};

}  // namespace fib_quant_kv::detail::json_fast
