// fib_quant_kv: JSON string escaping (serde_json's exact form) and Error::describe.
#include "internal/text.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "fib_quant_kv/error.hpp"

namespace fib_quant_kv::detail {

namespace {

/// How many bytes each byte grows by when escaped: 0 verbatim, 1 for a short escape (\" \\ \b \f \n \r \t),
/// 5 for \u00xx.
constexpr std::array<unsigned char, 256> kEscapeGrowth = [] {
    std::array<unsigned char, 256> t{};
    for (std::size_t c = 0; c < 0x20; ++c) t[c] = 5;
    for (const char c : {'"', '\\', '\b', '\f', '\n', '\r', '\t'}) t[static_cast<unsigned char>(c)] = 1;
    return t;
}();

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    // Measure first, then write into room made once: no append per escape.
    std::size_t size = text.size() + 2;
    for (const char c : text) size += kEscapeGrowth[static_cast<unsigned char>(c)];
    const std::size_t at = out.size();
    out.resize(at + size);
    char* p = out.data() + at;
    *p++ = '"';
    if (size == text.size() + 2) {  // nothing to escape
        if (!text.empty()) std::memcpy(p, text.data(), text.size());
        p += text.size();
    } else {
        static constexpr char hex[] = "0123456789abcdef";
        for (const char ch : text) {
            const auto c = static_cast<unsigned char>(ch);
            switch (kEscapeGrowth[c]) {
                case 0: *p++ = ch; continue;
                case 1: {
                    *p++ = '\\';
                    switch (c) {
                        case '\b': *p++ = 'b'; break;
                        case '\f': *p++ = 'f'; break;
                        case '\n': *p++ = 'n'; break;
                        case '\r': *p++ = 'r'; break;
                        case '\t': *p++ = 't'; break;
                        default: *p++ = ch;  // '"' and '\\' stand for themselves
                    }
                    continue;
                }
                default: {
                    const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                    std::memcpy(p, esc, sizeof esc);
                    p += sizeof esc;
                }
            }
        }
    }
    *p = '"';
}

std::size_t first_invalid_utf8(std::string_view text) noexcept {
    const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
    const auto* p = begin;
    const auto* end = p + text.size();
    while (p < end) {
        if (end - p >= 8) {  // eight ASCII bytes at a time, the common case
            std::uint64_t word;
            std::memcpy(&word, p, sizeof word);
            if ((word & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        const std::size_t n = utf8_sequence_length(p, end);
        if (n == 0) return static_cast<std::size_t>(p - begin);
        p += n;
    }
    return std::string_view::npos;
}

}  // namespace fib_quant_kv::detail

namespace fib_quant_kv {

std::string Error::describe() const {
    std::string out(to_string(kind));
    if (!rule.empty()) out.append(" [").append(rule).append("]");
    if (!fields.empty()) {
        out.append(" (");
        for (std::size_t i = 0; i < fields.size(); ++i) out.append(i == 0 ? "" : ", ").append(fields[i]);
        out.append(")");
    }
    out.append(": ").append(message);
    if (offset != no_offset) {
        out.append(" (at byte ");
        detail::append_decimal(out, offset);
        out.append(")");
    }
    return out;
}

}  // namespace fib_quant_kv
