// What every fuzz target requires: a failed invariant traps (libFuzzer saves the input), and every rejection
// is a typed parse Error with a rule and a message that is UTF-8 text (messages reach logs and JSON output).
#pragma once

#include "fib_quant_kv/error.hpp"
#include "internal/text.hpp"

#define FQK_REQUIRE(cond)                 \
    do {                                  \
        if (!(cond)) __builtin_trap();    \
    } while (0)

namespace fib_quant_kv::fuzz {

inline void require_typed_parse_error(const Error& e) {
    FQK_REQUIRE(e.kind == ErrorKind::parse);
    FQK_REQUIRE(!e.rule.empty() && !e.message.empty());
    FQK_REQUIRE(detail::is_valid_utf8(e.message));
}

}  // namespace fib_quant_kv::fuzz
