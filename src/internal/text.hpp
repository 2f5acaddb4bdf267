// fib_quant_kv internal: text building shared by the generated writers, the validators and the CLI.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace fib_quant_kv::detail {

/// Appends `value` in decimal.
template <std::unsigned_integral T>
void append_decimal(std::string& out, T value) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr);
}

inline constexpr std::uint64_t kByteOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kByteHighs = 0x8080808080808080ULL;

/// Non-zero exactly when some byte of the word `w` is zero (the classic has-zero test).
[[nodiscard]] constexpr std::uint64_t has_zero_byte(std::uint64_t w) noexcept {
    return (w - kByteOnes) & ~w & kByteHighs;
}

/// Non-zero exactly when some byte of the word `w` is one a JSON string must escape: `"`, `\\` or a control
/// character below 0x20 (the has-less and has-zero tests).
[[nodiscard]] constexpr std::uint64_t json_escape_bytes(std::uint64_t w) noexcept {
    return ((w - kByteOnes * 0x20) & ~w & kByteHighs) | has_zero_byte(w ^ (kByteOnes * '"')) |
           has_zero_byte(w ^ (kByteOnes * '\\'));
}

/// The length of the longest prefix of `text`, counted in whole 8-byte words, that a JSON string holds verbatim:
/// no `"`, no `\\`, no control character. Word at a time (SWAR); the caller looks at the bytes after it one by one.
[[nodiscard]] inline std::size_t json_plain_prefix(std::string_view text) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, text.data() + i, 8);
        if (json_escape_bytes(w) != 0) break;
    }
    return i;
}

/// The most bytes write_json_string() writes for a text of `size` bytes: quotes, and \u00xx for every byte.
[[nodiscard]] constexpr std::size_t json_string_bound(std::size_t size) noexcept { return 2 + 6 * size; }

/// Writes `text` as a JSON string literal at `out` (room for json_string_bound(text.size()) bytes) and returns
/// the end: escaped exactly as serde_json escapes: `"` `\\` and the control characters (\b \f \n \r \t short,
/// the rest as \u00xx in lower-case hex); everything else, including non-ASCII UTF-8 and DEL, verbatim.
char* write_json_string(char* out, std::string_view text) noexcept;

/// Exactly how many bytes write_json_string() writes for `text`.
[[nodiscard]] std::size_t json_string_size(std::string_view text) noexcept;

/// Appends `text` as a JSON string literal, escaped as write_json_string() does.
void append_json_string(std::string& out, std::string_view text);

/// Writes `text` at `out` and returns the end (the generated writers' literal pieces).
inline char* write_bytes(char* out, std::string_view text) noexcept {
    if (!text.empty()) std::memcpy(out, text.data(), text.size());  // an empty view may hold a null pointer
    return out + text.size();
}

/// The most decimal digits an unsigned T has.
template <std::unsigned_integral T>
inline constexpr std::size_t kMaxDecimalDigits = std::numeric_limits<T>::digits10 + 1;

/// Writes `value` in decimal at `out` (room for kMaxDecimalDigits<T> bytes) and returns the end.
template <std::unsigned_integral T>
char* write_decimal(char* out, T value) noexcept {
    return std::to_chars(out, out + kMaxDecimalDigits<T>, value).ptr;
}

/// Appends `bytes` as text: well-formed UTF-8 as it stands, every byte that is not as \xNN, so what a
/// message shows of a value is always UTF-8 (a native struct's string may hold any bytes).
void append_text(std::string& out, std::string_view bytes);

/// Builds a rule message from literal pieces and values (strings, enum names, unsigned numbers).
inline void append_piece(std::string& out, std::string_view piece) { append_text(out, piece); }
template <std::unsigned_integral T>
void append_piece(std::string& out, T value) {
    append_decimal(out, value);
}
template <class... Pieces>
[[nodiscard]] std::string format_message(const Pieces&... pieces) {
    std::string out;
    (append_piece(out, pieces), ...);
    return out;
}

/// The length of the well-formed multi-byte UTF-8 sequence whose lead byte (0x80 or above) is at `p`, or 0 when
/// there is none there (an overlong form, a surrogate, anything above U+10FFFF, a sequence cut short by `end`).
[[nodiscard]] inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
    const unsigned char c = *p;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
        if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0) lo = 0x90;  // no overlong 4-byte forms
        if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (static_cast<std::size_t>(end - p) <= n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (std::size_t i = 2; i <= n; ++i) {
        if ((p[i] & 0xC0) != 0x80) return 0;
    }
    return n + 1;
}

/// The offset of the first byte where `text` stops being well-formed UTF-8 (an overlong form, a surrogate,
/// anything above U+10FFFF, a truncated sequence), or npos when all of it is.
[[nodiscard]] std::size_t first_invalid_utf8(std::string_view text) noexcept;
[[nodiscard]] inline bool is_valid_utf8(std::string_view text) noexcept {
    if (text.size() >= 8 && text.size() <= 64) {  // short text, most often ASCII: whole words, inline
        std::uint64_t high = 0;
        std::uint64_t w;
        for (std::size_t i = 0; i + 8 <= text.size(); i += 8) {
            std::memcpy(&w, text.data() + i, 8);
            high |= w;
        }
        std::memcpy(&w, text.data() + text.size() - 8, 8);  // the last word, overlapping
        if (((high | w) & 0x8080808080808080ULL) == 0) return true;
    }
    return first_invalid_utf8(text) == std::string_view::npos;
}

/// True when `text` (UTF-8 produced by a JSON decoder) holds an encoded UTF-16 surrogate (U+D800..U+DFFF),
/// i.e. a lone surrogate escape such as "\udc00" that a strict decoder must reject.
[[nodiscard]] constexpr bool has_encoded_surrogate(std::string_view text) noexcept {
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (static_cast<unsigned char>(text[i]) == 0xED && (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0xA0)
            return true;
    }
    return false;
}

}  // namespace fib_quant_kv::detail
