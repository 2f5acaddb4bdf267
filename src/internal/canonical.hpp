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
        const std::size_t n = piece.size();
        if (n >= 8 && n <= 32) {  // short strings (a schema id): four overlapping 8-byte moves, no call
            std::uint64_t w[4];
            std::memcpy(&w[0], piece.data(), 8);
            std::memcpy(&w[1], piece.data() + (n >= 16 ? 8 : n - 8), 8);
            std::memcpy(&w[2], piece.data() + (n >= 24 ? 16 : n - 8), 8);
            std::memcpy(&w[3], piece.data() + n - 8, 8);
            std::memcpy(next, &w[0], 8);
            std::memcpy(next + (n >= 16 ? 8 : n - 8), &w[1], 8);
            std::memcpy(next + (n >= 24 ? 16 : n - 8), &w[2], 8);
            std::memcpy(next + n - 8, &w[3], 8);
        } else if (n != 0) {  // an empty view may hold a null pointer
            std::memcpy(next, piece.data(), n);
        }
        next += n;
    }
};

/// Collects the encoding in a buffer of its own, on the stack while it fits in N bytes (a descriptor of any
/// common size), in a std::string past that; bytes() is the encoding either way. For one-shot hashing.
template <std::size_t N>
class StackSink {
  public:
    StackSink() noexcept = default;
    StackSink(const StackSink&) = delete;
    StackSink& operator=(const StackSink&) = delete;

    [[gnu::always_inline]] void update(std::string_view piece) {
        if (!spilled_ && piece.size() <= N - size_) [[likely]] {
            if (!piece.empty()) std::memcpy(buf_ + size_, piece.data(), piece.size());
            size_ += piece.size();
        } else {
            spill(piece);
        }
    }
    [[nodiscard]] std::string_view bytes() const noexcept {
        return spilled_ ? std::string_view(overflow_) : std::string_view(buf_, size_);
    }

  private:
    [[gnu::noinline]] void spill(std::string_view piece) {
        if (!spilled_) {
            overflow_.reserve(2 * (size_ + piece.size()));
            overflow_.append(buf_, size_);
            spilled_ = true;
        }
        overflow_.append(piece);
    }

    std::size_t size_ = 0;
    bool spilled_ = false;
    std::string overflow_;
    char buf_[N];
};

/// `value` as sizeof(T) little-endian bytes.
template <std::unsigned_integral T, class Sink>
[[gnu::always_inline]] inline void put_uint(Sink& sink, T value) {
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

