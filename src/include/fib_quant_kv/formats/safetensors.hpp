// fib_quant_kv: the safetensors header reader and writer (see formats/checkpoint.hpp and docs/checkpoints.md).
//
// File: an 8-byte little-endian header length N, N bytes of UTF-8 JSON (one object: tensor name ->
// {"dtype", "shape", "data_offsets": [begin, end)}, and an optional "__metadata__" object of string -> string),
// then the data section, which the tensors cover exactly (no gaps, no overlaps); offsets are relative to it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fib_quant_kv/formats/checkpoint.hpp"

namespace fib_quant_kv::checkpoint::safetensors {

namespace rules {
inline constexpr std::string_view header_length = "safetensors.header_length";  ///< no 8 bytes, N past the file
inline constexpr std::string_view header_cap = "safetensors.header_cap";  ///< N over Limits::max_safetensors_header
inline constexpr std::string_view json = "safetensors.json";              ///< not JSON, not UTF-8
inline constexpr std::string_view header_object = "safetensors.header_object";  ///< JSON, but not an object
inline constexpr std::string_view tensor_entry = "safetensors.tensor_entry";  ///< an entry of the wrong form
inline constexpr std::string_view metadata = "safetensors.metadata";  ///< __metadata__ not string -> string
inline constexpr std::string_view dtype = "safetensors.dtype";        ///< an unknown dtype
inline constexpr std::string_view duplicate_name = "safetensors.duplicate_name";
inline constexpr std::string_view shape_overflow = "safetensors.shape_overflow";  ///< product past 2^64
inline constexpr std::string_view byte_length = "safetensors.byte_length";  ///< shape x dtype size != range
inline constexpr std::string_view offsets_reversed = "safetensors.offsets_reversed";  ///< end < begin
inline constexpr std::string_view offsets_range = "safetensors.offsets_range";  ///< end past the data section
inline constexpr std::string_view offsets_overlap = "safetensors.offsets_overlap";
inline constexpr std::string_view offsets_gap = "safetensors.offsets_gap";  ///< bytes no tensor covers
}  // namespace rules

/// Bytes per element of a safetensors dtype (F16, BF16, F32, F64, I8..I64, U8..U64, BOOL, F8_E4M3, F8_E5M2);
/// nothing for any other name.
[[nodiscard]] std::optional<std::uint32_t> dtype_size(std::string_view dtype) noexcept;
/// The KvDType of a safetensors dtype (F16, BF16, F32), if any, and back: the schema's safetensors_dtype
/// attribute of KvDType (empty for a dtype safetensors has no name for).
[[nodiscard]] std::optional<KvDType> to_kv_dtype(std::string_view dtype) noexcept;
[[nodiscard]] std::string_view from_kv_dtype(KvDType dtype) noexcept;

/// Reads and checks the header. Reads 8 + N bytes, never the data.
[[nodiscard]] Result<Header> read_header(int fd, const Limits& limits = {});
[[nodiscard]] Result<Header> read_header(std::span<const std::uint8_t> file, const Limits& limits = {});

/// The bytes before the data section of a file holding `header`'s tensors (same order, dtypes, shapes and
/// relative offsets) and `metadata` (strings; none: no "__metadata__"): the 8-byte length and the JSON, padded
/// with spaces so the data starts at a multiple of 8.
[[nodiscard]] std::string write_header(const Header& header, std::span<const MetadataEntry> metadata);

}  // namespace fib_quant_kv::checkpoint::safetensors
