// fib_quant_kv internal: where the checkpoint readers read from (a file descriptor or bytes in memory), a
// buffered cursor over it, and the checks and texts they share (defined in src/formats/checkpoint_header.cpp).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/error.hpp"
#include "fib_quant_kv/formats/checkpoint.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv::checkpoint::detail {

/// "[a, b, c]"
[[nodiscard]] std::string format_shape(std::span<const std::uint64_t> shape);

/// `duplicate_rule` when two tensors share a name, `key_rule` when two metadata pairs share a key.
[[nodiscard]] Status check_unique(const Header& h, std::string_view duplicate_rule, std::string_view key_rule);

/// Indices of h.tensors ordered by byte range (begin, then end): for coverage and overlap checks.
[[nodiscard]] std::vector<std::size_t> order_by_range(const Header& h);

/// A whole file to read from: a descriptor (pread) or bytes in memory.
class Input {
  public:
    explicit Input(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes), size_(bytes.size()) {}
    explicit Input(int fd) noexcept : fd_(fd) {}

    /// Learns the size of a descriptor's file; memory needs nothing.
    [[nodiscard]] Status open() {
        if (fd_ < 0) return {};
        struct stat st {};
        if (::fstat(fd_, &st) != 0) return fib_quant_kv::detail::io_error(io_rules::read, "cannot stat", errno);
        size_ = static_cast<std::uint64_t>(st.st_size);
        return {};
    }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

    /// Reads exactly out.size() bytes at `offset` (the caller has checked they lie inside the file).
    [[nodiscard]] Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
        if (fd_ < 0) {
            std::memcpy(out.data(), bytes_.data() + offset, out.size());
            return {};
        }
        std::size_t done = 0;
        while (done < out.size()) {
            const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fib_quant_kv::detail::io_error(io_rules::read, "cannot read", errno);
            if (n == 0)
                return fib_quant_kv::detail::make_error(ErrorKind::io, io_rules::read, "the file shrank while being read");
            done += static_cast<std::size_t>(n);
        }
        return {};
    }

  private:
    std::span<const std::uint8_t> bytes_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

/// Sequential little-endian reads through a fixed buffer. Every read is checked against what is left of the
/// file first (by subtraction), so a length read from the file never leads to a read or allocation past it.
class Cursor {
  public:
    explicit Cursor(const Input& in, std::uint64_t pos = 0) noexcept : in_(in), pos_(pos) {}

    [[nodiscard]] std::uint64_t pos() const noexcept { return pos_; }
    [[nodiscard]] std::uint64_t remaining() const noexcept { return in_.size() - pos_; }

    /// Copies n bytes into out (n <= remaining(), checked by the caller).
    [[nodiscard]] Status read(std::uint8_t* out, std::uint64_t n) {
        while (n > 0) {
            if (pos_ >= buf_pos_ && pos_ < buf_pos_ + buf_len_) {
                const std::uint64_t at = pos_ - buf_pos_;
                const std::uint64_t take = std::min<std::uint64_t>(n, buf_len_ - at);
                std::memcpy(out, buf_.data() + at, static_cast<std::size_t>(take));
                out += take;
                n -= take;
                pos_ += take;
                continue;
            }
            if (n >= buf_.size()) {  // large: straight through
                if (Status st = in_.read_at(pos_, {out, static_cast<std::size_t>(n)}); !st) return st;
                pos_ += n;
                return {};
            }
            buf_pos_ = pos_;
            buf_len_ = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), remaining()));
            if (Status st = in_.read_at(pos_, {buf_.data(), buf_len_}); !st) return st;
        }
        return {};
    }
    void skip(std::uint64_t n) noexcept { pos_ += n; }

  private:
    const Input& in_;
    std::uint64_t pos_;
    std::array<std::uint8_t, 64 * 1024> buf_{};
    std::uint64_t buf_pos_ = 0;
    std::size_t buf_len_ = 0;
};

[[nodiscard]] inline std::uint64_t load_le(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

inline void append_le(std::string& out, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace fib_quant_kv::checkpoint::detail
