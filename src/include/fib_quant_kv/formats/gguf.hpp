// fib_quant_kv: the GGUF header reader and writer (see formats/checkpoint.hpp and docs/checkpoints.md).
//
// File (little-endian): magic "GGUF", version u32 (2 or 3: the same layout), tensor_count u64, kv_count u64;
// kv_count pairs (key: u64 length + bytes, value type u32, value); tensor_count infos (name, n_dims u32 <= 4,
// dims u64[n_dims] innermost first, ggml type u32, offset u64 relative to the data section); the data section,
// at the next multiple of general.alignment (default 32). Every count and length is checked against what is
// left of the file before anything is allocated.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fib_quant_kv/formats/checkpoint.hpp"

namespace fib_quant_kv::checkpoint::gguf {

namespace rules {
inline constexpr std::string_view magic = "gguf.magic";
inline constexpr std::string_view version = "gguf.version";      ///< not 2 or 3 (big-endian files included)
inline constexpr std::string_view truncated = "gguf.truncated";  ///< the file ends inside the header
inline constexpr std::string_view kv_count = "gguf.kv_count";    ///< more pairs than the file can hold
inline constexpr std::string_view tensor_count = "gguf.tensor_count";  ///< more infos than the file can hold
inline constexpr std::string_view string_length = "gguf.string_length";  ///< past the end of the file
inline constexpr std::string_view string_cap = "gguf.string_cap";  ///< over Limits::max_gguf_string
inline constexpr std::string_view array_length = "gguf.array_length";  ///< more elements than the file holds
inline constexpr std::string_view array_depth = "gguf.array_depth";  ///< over Limits::max_gguf_array_depth
inline constexpr std::string_view value_type = "gguf.value_type";    ///< an unknown value type
inline constexpr std::string_view duplicate_key = "gguf.duplicate_key";
inline constexpr std::string_view alignment = "gguf.alignment";  ///< general.alignment not a u32 power of two
inline constexpr std::string_view n_dims = "gguf.n_dims";        ///< more than 4
inline constexpr std::string_view dims = "gguf.dims";            ///< a dim past INT64_MAX
inline constexpr std::string_view tensor_type = "gguf.tensor_type";  ///< an unknown or removed ggml type
inline constexpr std::string_view shape_overflow = "gguf.shape_overflow";  ///< product past 2^64
inline constexpr std::string_view block_size = "gguf.block_size";  ///< innermost dim not a multiple of the block
inline constexpr std::string_view duplicate_name = "gguf.duplicate_name";
inline constexpr std::string_view tensor_offset = "gguf.tensor_offset";  ///< not a multiple of the alignment
inline constexpr std::string_view tensor_range = "gguf.tensor_range";    ///< data past the end of the file
inline constexpr std::string_view tensor_overlap = "gguf.tensor_overlap";
}  // namespace rules

/// A ggml tensor type: its name, elements per block and bytes per block.
struct GgmlType {
    std::string_view name;
    std::uint32_t block_size;
    std::uint32_t type_size;
};
/// The ggml type with this code (F32 0, F16 1, the quantized types, BF16 30, ...); nothing for an unknown or
/// removed code.
[[nodiscard]] std::optional<GgmlType> ggml_type(std::uint32_t code) noexcept;
/// The KvDType of a ggml type code (0 f32, 1 f16, 30 bf16), if any, and back: the schema's ggml_type attribute
/// of KvDType, by name (nothing for a dtype GGUF has no type for).
[[nodiscard]] std::optional<KvDType> to_kv_dtype(std::uint32_t code) noexcept;
[[nodiscard]] std::optional<std::uint32_t> from_kv_dtype(KvDType dtype) noexcept;

/// Reads and checks the header. Reads up to the end of the tensor infos, never the data.
[[nodiscard]] Result<Header> read_header(int fd, const Limits& limits = {});
[[nodiscard]] Result<Header> read_header(std::span<const std::uint8_t> file, const Limits& limits = {});

/// The bytes before the data section of a file like `header`'s (read from `src_fd`) whose metadata is
/// `metadata`: each entry with a byte range (end > begin) is copied from src_fd unchanged, each without one is
/// written as a string pair. The tensor infos are copied unchanged, and zeros pad the result to the alignment.
[[nodiscard]] Result<std::string> write_header(int src_fd, const Header& header,
                                               std::span<const MetadataEntry> metadata);

}  // namespace fib_quant_kv::checkpoint::gguf
