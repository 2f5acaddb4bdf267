// fib_quant_kv: XXH3-128 digests in xxHash's canonical (big-endian) form.
#include "fib_quant_kv/digest.hpp"

#define XXH_INLINE_ALL  // header-only use: no run-time dependency on libxxhash for the library's users
#include <xxhash.h>

#include <cstring>
#include <new>
#include <type_traits>

namespace fib_quant_kv {

static_assert(sizeof(XXH3_state_t) <= 576 && alignof(XXH3_state_t) <= 64,
              "DigestBuilder::state_ is too small for this xxHash's XXH3_state_t");

namespace {

XXH3_state_t* state(std::byte* storage) noexcept { return std::launder(reinterpret_cast<XXH3_state_t*>(storage)); }
const XXH3_state_t* state(const std::byte* storage) noexcept {
    return std::launder(reinterpret_cast<const XXH3_state_t*>(storage));
}

Digest canonical(XXH128_hash_t h) noexcept {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    Digest d;
    for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = c.digest[i];
    return d;
}

}  // namespace

std::string Digest::hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(32, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xF];
    }
    return out;
}

std::optional<Digest> Digest::from_hex(std::string_view text) noexcept {
    if (text.size() != 32) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Digest d;
    for (std::size_t i = 0; i < 16; ++i) {
        const int hi = nibble(text[2 * i]);
        const int lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        d.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return d;
}

static_assert(std::is_trivially_destructible_v<XXH3_state_t>);

void DigestBuilder::update_streaming(std::span<const std::byte> bytes) noexcept {
    if (!streaming_) {  // the inline buffer is full: move what it holds into a streaming state
        auto* s = new (state_) XXH3_state_t;
        XXH3_128bits_reset(s);
        XXH3_128bits_update(s, pending_, pending_size_);
        streaming_ = true;
    }
    XXH3_128bits_update(state(state_), bytes.data(), bytes.size());
}

Digest DigestBuilder::finish() const noexcept {
    if (!streaming_) return canonical(XXH3_128bits(pending_, pending_size_));
    return canonical(XXH3_128bits_digest(state(state_)));
}

Digest digest_bytes(std::span<const std::byte> bytes) noexcept {
    return canonical(XXH3_128bits(bytes.data(), bytes.size()));
}

Digest digest_bytes(std::string_view bytes) noexcept { return canonical(XXH3_128bits(bytes.data(), bytes.size())); }

}  // namespace fib_quant_kv
