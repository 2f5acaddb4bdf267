// fib_quant_kv internal: building the Error of a violated rule, on the cold path. The generated rule chains find
// which rule is broken (a row of the struct's rule table); these turn the row into an Error.
#pragma once

#include <string>

#include "fib_quant_kv/error.hpp"

namespace fib_quant_kv::detail {

/// The Error of a rule as its table row gives it: kind, id, fields, and the message when it shows no values.
[[nodiscard]] inline Error make_error(const RuleInfo& rule) {
    Error e;
    e.kind = rule.kind;
    e.rule = rule.id;
    e.fields = rule.fields;
    if (!rule.formatted) e.message = std::string(rule.message);
    return e;
}

/// What an error builder does when asked for the error of a descriptor that breaks no rule: throws
/// std::logic_error. A caller's bug: the hot and cold chains are rendered from the same rules, so no descriptor
/// can lead here.
[[noreturn]] Error not_violated();

}  // namespace fib_quant_kv::detail
