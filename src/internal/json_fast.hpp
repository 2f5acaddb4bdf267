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
        constexpr int kMaxDigits = 19;  // any 19 digits fit in 64 bits; longer numbers go to the general reader
        const char* const begin = p_;
        std::uint64_t v = 0;
        while (p_ < end_ && static_cast<unsigned>(*p_ - '0') <= 9) {
            if (p_ - begin == kMaxDigits) return false;
            v = v * 10 + static_cast<unsigned>(*p_ - '0');
            ++p_;
        }
        const std::ptrdiff_t digits = p_ - begin;
        if (digits == 0 || (digits > 1 && *begin == '0') || v > max) return false;
        out = v;
        return true;
    }

    /// Consumes one of `names` that is followed by the string's closing quote (not consumed); its index in `index`.
    [[nodiscard, gnu::always_inline]] bool variant(std::span<const std::string_view> names, std::size_t& index) noexcept {
        const auto left = static_cast<std::size_t>(end_ - p_);
        for (std::size_t i = 0; i < names.size(); ++i) {
            const std::string_view n = names[i];
            if (n.size() < left && p_[n.size()] == '"' && !n.empty() && p_[0] == n[0] &&
                std::memcmp(p_, n.data(), n.size()) == 0) {
                p_ += n.size();
                index = i;
                return true;
            }
        }
        return false;
    }

    /// True when all of the text has been consumed.
    [[nodiscard]] bool at_end() const noexcept { return p_ == end_; }

  private:
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
