// fib_quant_kv: the descriptor digest. XXH3-128 over the canonical encoding (see docs/digest.md), printed in
// xxHash's canonical big-endian form as 32 lower-case hex digits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fib_quant_kv {

/// A 128-bit digest in canonical (big-endian) byte order.
struct Digest {
    std::array<std::uint8_t, 16> bytes{};

    /// 32 lower-case hex digits, the form `xxhsum -H2` prints.
    [[nodiscard]] std::string hex() const;
    /// Parses 32 hex digits (either case); nothing for any other text.
    [[nodiscard]] static std::optional<Digest> from_hex(std::string_view text) noexcept;

    friend bool operator==(const Digest&, const Digest&) = default;
};

/// Streaming entry point: feed the canonical encoding in any number of pieces, then finish().
class DigestBuilder {
  public:
    DigestBuilder() noexcept;
    DigestBuilder(const DigestBuilder&) = delete;
    DigestBuilder& operator=(const DigestBuilder&) = delete;
    ~DigestBuilder();

    void update(std::span<const std::byte> bytes) noexcept;
    void update(std::string_view bytes) noexcept;
    [[nodiscard]] Digest finish() const noexcept;

  private:
    alignas(64) std::byte state_[576];  // XXH3_state_t, kept opaque so xxhash.h stays out of this header
};

/// One-shot entry point over a complete canonical encoding.
[[nodiscard]] Digest digest_bytes(std::span<const std::byte> bytes) noexcept;
[[nodiscard]] Digest digest_bytes(std::string_view bytes) noexcept;

}  // namespace fib_quant_kv
