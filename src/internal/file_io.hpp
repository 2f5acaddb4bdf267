// fib_quant_kv internal: files, for every part of the library and kvshape that opens or writes one. An owned
// file descriptor, opening for reading, writing all of a buffer, and the one atomic writer. Every failure is an
// Error of kind io (io_rules), its message naming the file and ending with the operating system's text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <utility>

#include "fib_quant_kv/error.hpp"

namespace fib_quant_kv::detail {

/// An owned file descriptor, closed when it goes out of scope (a negative one owns nothing).
class UniqueFd {
  public:
    explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { (void)close(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    /// Closes the descriptor now: close(2)'s result (0, or -1 with errno set; 0 when nothing was open).
    int close() noexcept;

  private:
    int fd_;
};

/// `path` opened for reading (O_CLOEXEC). io.open: "cannot open `PATH`: ...".
[[nodiscard]] Result<UniqueFd> open_for_reading(const std::filesystem::path& path);

/// Writes all of `bytes` to `fd` at `offset` (pwrite, again after a short write or EINTR). io.write on failure:
/// "cannot write `PATH`: ...", naming `path`, the file the caller knows `fd` as.
[[nodiscard]] Status write_all_at(int fd, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                                  const std::filesystem::path& path);

/// Writes the content of a new file through `fd`, an empty regular file open for reading and writing; returns
/// the first failure, which write_file_atomically() returns unchanged.
using FillFile = std::function<Status(int fd)>;

/// Replaces `path` with the content `fill` writes, durably and all or nothing:
///  1. a temporary file `.NAME.tmp.XXXXXXXXXXXX` is created in `path`'s folder, O_CREAT | O_EXCL | O_CLOEXEC,
///     mode 0666 less the umask (what any new file gets, the folder's default ACL included);
///  2. when `path` already is a regular file, the temporary file takes its permission bits (0777; no set-id or
///     sticky bits, and not its owner or group: the file is a new one, owned by whoever writes it);
///  3. `fill` writes the content; the file is fsynced and closed;
///  4. it is renamed over `path` (a symlink at `path` is replaced, not followed), and the folder is fsynced so
///     the rename itself survives a crash (a file system that cannot sync a folder, EINVAL, is taken as done).
/// Until the rename, any failure removes the temporary file and leaves `path` untouched; a folder fsync that
/// fails after it is reported too, though `path` has then been replaced. Errors: kind io, rule io.open
/// (the temporary file cannot be created), io.write (anything after); or whatever `fill` returned.
[[nodiscard]] Status write_file_atomically(const std::filesystem::path& path, const FillFile& fill);

/// The same, the content being `bytes`.
[[nodiscard]] Status write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

}  // namespace fib_quant_kv::detail
