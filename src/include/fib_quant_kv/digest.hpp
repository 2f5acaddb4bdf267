// fib_quant_kv: the descriptor digest. XXH3-128 over the canonical encoding (see docs/digest.md), printed in
// xxHash's canonical big-endian form as 32 lower-case hex digits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

/// Streaming entry point: feed the canonical encoding in any number of pieces, then finish(). Up to
/// kInline bytes are kept and hashed in one shot (a descriptor's encoding is 121 bytes); past that it streams.
class DigestBuilder {
  public:
    static constexpr std::size_t kInline = 256;

    DigestBuilder() noexcept = default;
    DigestBuilder(const DigestBuilder&) = delete;
    DigestBuilder& operator=(const DigestBuilder&) = delete;
    ~DigestBuilder() = default;

    void update(std::span<const std::byte> bytes) noexcept {
        if (!streaming_ && bytes.size() <= kInline - pending_size_) {  // inline: the common, small case
            if (!bytes.empty()) std::memcpy(pending_ + pending_size_, bytes.data(), bytes.size());
            pending_size_ += bytes.size();
            return;
        }
        update_streaming(bytes);
    }
    void update(std::string_view bytes) noexcept { update(std::as_bytes(std::span(bytes))); }
    [[nodiscard]] Digest finish() const noexcept;

  private:
    void update_streaming(std::span<const std::byte> bytes) noexcept;

    std::size_t pending_size_ = 0;
    bool streaming_ = false;
    std::byte pending_[kInline];
    alignas(64) std::byte state_[576];  // XXH3_state_t once streaming; opaque so xxhash.h stays out of here
};

/// One-shot entry point over a complete canonical encoding.
[[nodiscard]] Digest digest_bytes(std::span<const std::byte> bytes) noexcept;
[[nodiscard]] Digest digest_bytes(std::string_view bytes) noexcept;

}  // namespace fib_quant_kv
