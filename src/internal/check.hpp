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
bool check_line(std::string& out, std::string& scratch, std::uint64_t number, std::span<char> text,
                std::optional<std::uint32_t> block_dim);

}  // namespace fib_quant_kv::detail
