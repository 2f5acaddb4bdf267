// One verdict line of `check` (kvshape check, python3 -m fib_quant_kv check): the same bytes from both, since
// both call this.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace fib_quant_kv::detail {

/// Appends the verdict line for one input line (without the newline); true when the line is valid. The line's
/// bytes are parsed in place (they are scratch afterwards); `scratch` is reused for the canonical form.
///   {"line":N,"ok":false,"stage":"parse","error":MESSAGE}
///   {"line":N,"ok":false,"stage":"validate","error":KIND,"message":MESSAGE}  (or "ambient_dim"/"block_dim")
///   {"line":N,"ok":true,"vector_count":V,"element_count":E,"canonical":JSON,"digest":HEX}
/// That is a v1 line's (the Rust original's form). A line is read through the descriptor registry, so a line
/// whose schema_version names another schema is that schema's: a v2 cache spec's verdict names its error by
/// kind, rule, path and message, and its counts are "schema", "bytes_per_token" and "bytes_held"; a schema
/// added later gets kind, rule, path and message, and "schema", with no edit here. `block_dim` is v1's.
bool check_line(std::string& out, std::string& scratch, std::uint64_t number, std::span<char> text,
                std::optional<std::uint32_t> block_dim);

}  // namespace fib_quant_kv::detail
