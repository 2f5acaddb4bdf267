// fib_quant_kv: JSON string escaping (serde_json's exact form), Error::describe, and the cold error path's guard.
#include "internal/text.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "fib_quant_kv/error.hpp"
#include "internal/sinks.hpp"

namespace fib_quant_kv::detail {

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

void append_json_string(std::string& out, std::string_view text) {
    const std::size_t at = out.size();
    out.resize(at + json_string_bound(text.size()));
    char* const end = write_json_string(out.data() + at, text);
    out.resize(static_cast<std::size_t>(end - out.data()));
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
            return static_cast<std::size_t>(p - begin);
        }
        if (static_cast<std::size_t>(end - p) <= n) return static_cast<std::size_t>(p - begin);
        if (p[1] < lo || p[1] > hi) return static_cast<std::size_t>(p - begin);
        for (std::size_t i = 2; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return static_cast<std::size_t>(p - begin);
        }
        p += n + 1;
    }
    return std::string_view::npos;
}

Error not_violated() {
    throw std::logic_error("fib_quant_kv: an error was asked for a descriptor that breaks no rule");
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
