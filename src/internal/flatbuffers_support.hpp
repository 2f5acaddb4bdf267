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
[[nodiscard]] std::optional<Error> frame_error(std::span<const std::uint8_t> buffer, std::string_view identifier,
                                               std::string_view type_name);

/// frame_error()'s checks as one yes or no, inline: the common, well-framed buffer costs a few compares.
[[nodiscard]] inline bool frame_ok(std::span<const std::uint8_t> buffer, std::string_view identifier) noexcept {
    constexpr std::size_t kOffsetBytes = 4;      // sizeof(flatbuffers::uoffset_t): the root offset
    constexpr std::size_t kIdentifierBytes = 4;  // flatbuffers::kFileIdentifierLength, after the root offset
    constexpr std::size_t kMaxBuffer = (std::size_t{1} << 31) - 1;  // FLATBUFFERS_MAX_BUFFER_SIZE
    return buffer.size() >= kOffsetBytes + kIdentifierBytes && buffer.size() < kMaxBuffer &&
           reinterpret_cast<std::uintptr_t>(buffer.data()) % kOffsetBytes == 0 &&
           std::string_view(reinterpret_cast<const char*>(buffer.data()) + kOffsetBytes, kIdentifierBytes) ==
               identifier;
}

/// The frame's Error, if any (see frame_error()); the check is inline, the Error is built out of line.
[[nodiscard]] inline std::optional<Error> check_frame(std::span<const std::uint8_t> buffer,
                                                      std::string_view identifier, std::string_view type_name) {
    if (frame_ok(buffer, identifier)) [[likely]] return std::nullopt;
    return frame_error(buffer, identifier, type_name);
}

[[nodiscard]] Error verify_failed(std::string_view type_name);
[[nodiscard]] Error missing_table(std::string_view type_name);
[[nodiscard]] Error missing_field(std::span<const std::string_view> field);
[[nodiscard]] Error invalid_utf8(std::span<const std::string_view> field);
[[nodiscard]] Error unknown_enum_code(std::span<const std::string_view> field, std::string_view enum_name,
                                      std::uint32_t code);

/// The first presence, enum-code or UTF-8 problem met while a table is verified and read in one pass. It is
/// reported only after the whole table has verified, so that a Verifier failure anywhere wins, exactly as when
/// the Verifier runs over the table before any field is read.
class FirstProblem {
  public:
    void missing_field(std::span<const std::string_view> field) noexcept { note(Kind::missing_field, field); }
    void invalid_utf8(std::span<const std::string_view> field) noexcept { note(Kind::invalid_utf8, field); }
    void unknown_enum_code(std::span<const std::string_view> field, std::string_view enum_name,
                           std::uint32_t code) noexcept {
        if (note(Kind::unknown_enum_code, field)) {
            enum_name_ = enum_name;
            code_ = code;
        }
    }
    [[nodiscard]] bool any() const noexcept { return kind_ != Kind::none; }
    /// The Error of the problem; any() must hold.
    [[nodiscard]] Error error() const;

  private:
    enum class Kind : std::uint8_t { none, missing_field, invalid_utf8, unknown_enum_code };
    bool note(Kind kind, std::span<const std::string_view> field) noexcept {
        if (kind_ != Kind::none) return false;
        kind_ = kind;
        field_ = field;
        return true;
    }
    Kind kind_ = Kind::none;
    std::span<const std::string_view> field_;
    std::string_view enum_name_;
    std::uint32_t code_ = 0;
};

}  // namespace fib_quant_kv::detail::flatbuffers_support
