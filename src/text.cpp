// fib_quant_kv: JSON string escaping (serde_json's exact form) and UTF-8 checks.
#include "internal/text.hpp"

#include <array>
#include <cstdint>
#include <cstring>

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

char* write_json_string(char* out, std::string_view text) noexcept {
    static constexpr char hex[] = "0123456789abcdef";
    *out++ = '"';
    std::size_t run = 0;  // start of the pending verbatim run
    auto flush = [&](std::size_t end) {
        if (end > run) std::memcpy(out, text.data() + run, end - run);
        out += end - run;
    };
    for (std::size_t i = json_plain_prefix(text); i < text.size(); ++i) {  // plain words skipped whole
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        flush(i);
        run = i + 1;
        *out++ = '\\';
        switch (c) {
            case '"': *out++ = '"'; break;
            case '\\': *out++ = '\\'; break;
            case '\b': *out++ = 'b'; break;
            case '\f': *out++ = 'f'; break;
            case '\n': *out++ = 'n'; break;
            case '\r': *out++ = 'r'; break;
            case '\t': *out++ = 't'; break;
            default:
                *out++ = 'u';
                *out++ = '0';
                *out++ = '0';
                *out++ = hex[c >> 4];
                *out++ = hex[c & 0xF];
        }
    }
    flush(text.size());
    *out++ = '"';
    return out;
}

void append_text(std::string& out, std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    while (!bytes.empty()) {
        const std::size_t bad = first_invalid_utf8(bytes);
        if (bad == std::string_view::npos) {
            out.append(bytes);
            return;
        }
        const auto c = static_cast<unsigned char>(bytes[bad]);
        out.append(bytes.substr(0, bad)).append("\\x").push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
        bytes.remove_prefix(bad + 1);
    }
}

std::size_t json_string_size(std::string_view text) noexcept {
    std::size_t size = text.size() + 2;
    for (std::size_t i = json_plain_prefix(text); i < text.size(); ++i) {
        size += kEscapeGrowth[static_cast<unsigned char>(text[i])];
    }
    return size;
}

void append_json_string(std::string& out, std::string_view text) {
    // Measure first, then write into room made once: a long text costs its exact size, never the bound.
    const std::size_t at = out.size();
    out.resize(at + json_string_size(text));
    write_json_string(out.data() + at, text);
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
