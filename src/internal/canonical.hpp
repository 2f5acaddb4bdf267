// fib_quant_kv internal: the primitives of the canonical encoding (docs/digest.md). Fixed-width little-endian
// integers and length-prefixed strings, written to any sink with update(std::string_view).
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace fib_quant_kv::detail {

/// Collects the encoding in memory.
struct StringSink {
    std::string bytes;
    void update(std::string_view piece) { bytes.append(piece); }
};

/// Writes the encoding into a caller's buffer, which must have room for all of it (the generated
/// canonical_size_*() says how much): no bounds checks, no allocation.
struct BufferSink {
    char* next;
    void update(std::string_view piece) noexcept {
        if (!piece.empty()) std::memcpy(next, piece.data(), piece.size());  // an empty view may hold a null pointer
        next += piece.size();
    }
};

/// `value` as sizeof(T) little-endian bytes.
template <std::unsigned_integral T, class Sink>
void put_uint(Sink& sink, T value) {
    char buf[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        buf[i] = static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
    }
    sink.update(std::string_view(buf, sizeof buf));
}

/// A string as its u64 little-endian byte length, then its bytes.
template <class Sink>
void put_string(Sink& sink, std::string_view text) {
    put_uint<std::uint64_t>(sink, static_cast<std::uint64_t>(text.size()));
    sink.update(text);
}

}  // namespace fib_quant_kv::detail

