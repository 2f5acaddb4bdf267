// fib_quant_kv internal: the schema-agnostic parts of reading a FlatBuffer: the frame checks that come before
// the FlatBuffers Verifier, and the parse Errors the generated view code reports.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "fib_quant_kv/error.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::detail::flatbuffers_support {

/// Size (8 bytes at least, under FlatBuffers' 2 GiB limit), alignment of the start (4 bytes, so that every
/// scalar the verifier accepts can be read in place) and the file identifier at bytes 4..8.
[[nodiscard]] std::optional<Error> check_frame(std::span<const std::uint8_t> buffer, std::string_view identifier,
                                               std::string_view type_name);

[[nodiscard]] Error verify_failed(std::string_view type_name);
[[nodiscard]] Error missing_table(std::string_view type_name);
[[nodiscard]] Error missing_field(std::span<const std::string_view> field);
[[nodiscard]] Error invalid_utf8(std::span<const std::string_view> field);
[[nodiscard]] Error unknown_enum_code(std::span<const std::string_view> field, std::string_view enum_name,
                                      std::uint32_t code);

}  // namespace fib_quant_kv::detail::flatbuffers_support
