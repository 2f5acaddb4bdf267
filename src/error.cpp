// fib_quant_kv: building and describing Errors (see internal/rule_errors.hpp), all on the cold path.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "fib_quant_kv/error.hpp"
#include "internal/rule_errors.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::detail {

Error make_error(ErrorKind kind, std::string_view rule, std::string message, std::size_t offset,
                 std::span<const std::string_view> fields) {
    Error e;
    e.kind = kind;
    e.rule = rule;
    e.fields = fields;
    e.message = std::move(message);
    e.offset = offset;
    return e;
}

Error io_error(std::string_view rule, std::string_view what, int err) {
    std::string message(what);
    message.append(": ").append(std::strerror(err));
    return make_error(ErrorKind::io, rule, std::move(message));
}

std::string quote(std::string_view name) {
    static constexpr char kHex[] = "0123456789abcdef";
    constexpr std::size_t kShown = 200;
    std::string out = "`";
    const std::size_t shown = std::min(name.size(), kShown);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c >= 0x20 && c < 0x7f && c != '`' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    if (shown < name.size()) out += "...";
    out += '`';
    return out;
}

Error not_violated() {
    throw std::logic_error("fib_quant_kv: an error was asked for a descriptor that breaks no rule");
}

}  // namespace fib_quant_kv::detail

namespace fib_quant_kv {

std::string Error::describe() const {
    std::string out(to_string(kind));
    if (!rule.empty()) out.append(" [").append(rule).append("]");
    if (!path.empty()) {
        out.append(" (").append(path).append(")");
    } else if (!fields.empty()) {
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
