// fib_quant_kv internal: digest_bytes() compiled into the caller, for encodings whose length the caller knows
// at compile time (a valid v1 descriptor's is a constant): XXH3-128 then picks its one length class when it is
// compiled, instead of testing the length and calling out. Same digest as digest_bytes(): XXH3_128bits, seed 0,
// in the canonical big-endian form (docs/digest.md).
#pragma once

#include <cstddef>
#include <cstring>

#include "fib_quant_kv/digest.hpp"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only use, as in src/digest.cpp: static functions, no run-time libxxhash
#endif
#include <xxhash.h>

namespace fib_quant_kv::detail {

/// digest_bytes(std::string_view(bytes, N)), inline.
template <std::size_t N>
[[nodiscard, gnu::always_inline]] inline Digest digest_fixed_size(const char* bytes) noexcept {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(bytes, N));
    Digest d;
    static_assert(sizeof c.digest == sizeof d.bytes);
    std::memcpy(d.bytes.data(), c.digest, sizeof c.digest);
    return d;
}

}  // namespace fib_quant_kv::detail
