// fib_quant_kv internal: the one place an Error is built, always on the cold path. The generated rule chains find
// which rule is broken (a row of the struct's rule table) and turn the row into an Error here; every hand-written
// failure (a format's, a checkpoint's, an I/O failure) is built by make_error() or io_error() below.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

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

/// An Error of `kind` under `rule` (static storage) with `message`, the byte offset in the input where the
/// failure was found (parse errors), and the fields it concerns (static storage).
[[nodiscard, gnu::cold]] Error make_error(ErrorKind kind, std::string_view rule, std::string message,
                                          std::size_t offset = Error::no_offset,
                                          std::span<const std::string_view> fields = {});

/// An I/O failure: kind io, `rule` one of io_rules, the message "WHAT: " and the operating system's text for
/// `err` (an errno value), e.g. "cannot open `in.gguf`: No such file or directory".
[[nodiscard, gnu::cold]] Error io_error(std::string_view rule, std::string_view what, int err);

/// A name (a file, a tensor, a key) as messages quote it: in backticks, printable ASCII kept, every other byte
/// and the backtick and backslash as \xNN, at most 200 bytes shown ("..." after).
[[nodiscard]] std::string quote(std::string_view name);

/// What an error builder does when asked for the error of a descriptor that breaks no rule: throws
/// std::logic_error. A caller's bug: the hot and cold chains are rendered from the same rules, so no descriptor
/// can lead here.
[[noreturn]] Error not_violated();

}  // namespace fib_quant_kv::detail
