// fib_quant_kv internal: text building shared by the generated writers, the validators and the CLI.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
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

/// Appends `text` as a JSON string literal, escaped exactly as serde_json escapes: `"` `\\` and the control
/// characters (\b \f \n \r \t short, the rest as \u00xx in lower-case hex); everything else, including
/// non-ASCII UTF-8 and DEL, verbatim.
void append_json_string(std::string& out, std::string_view text);

/// Builds a rule message from literal pieces and values (strings, enum names, unsigned numbers).
inline void append_piece(std::string& out, std::string_view piece) { out.append(piece); }
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
