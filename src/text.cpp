// fib_quant_kv: JSON string escaping (serde_json's exact form) and Error::describe.
#include "internal/text.hpp"

#include <cstdint>
#include <cstring>

#include "fib_quant_kv/error.hpp"

namespace fib_quant_kv::detail {

void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the pending verbatim run
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(text.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default: {
                const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                out.append(esc, sizeof esc);
            }
        }
    }
    out.append(text.data() + run, text.size() - run);
    out.push_back('"');
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
