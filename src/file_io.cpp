// fib_quant_kv: files: opening, writing, and the atomic writer (see internal/file_io.hpp).
#include "internal/file_io.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>

#include "internal/rule_errors.hpp"

namespace fib_quant_kv::detail {
namespace {

namespace fs = std::filesystem;

/// Twelve hex digits for a temporary file's name: from getrandom(2), or, where it fails, from the clock and a
/// counter. Only collisions are at stake: O_EXCL makes the creation safe whatever the name.
std::string random_suffix() {
    static std::atomic<std::uint64_t> counter{0};
    constexpr std::uint64_t kSpread = 0x9e3779b97f4a7c15;  // 2^64 / golden ratio: consecutive counts far apart
    std::uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits)) {
        const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        bits = now ^ (counter.fetch_add(std::uint64_t{1}) * kSpread) ^ static_cast<std::uint64_t>(::getpid());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(12, '0');
    for (char& c : out) {
        c = kHex[bits & 15];
        bits >>= 4;
    }
    return out;
}

/// A new, empty temporary file beside `path`, and its name.
Result<std::pair<UniqueFd, fs::path>> create_temporary(const fs::path& folder, const fs::path& path) {
    constexpr std::size_t kNameKept = 200;  // of the destination's name, so the temporary's stays under NAME_MAX
    const std::string name = path.filename().string().substr(0, kNameKept);
    constexpr int kAttempts = 64;
    int err = EEXIST;
    for (int i = 0; i < kAttempts && err == EEXIST; ++i) {
        fs::path tmp = folder / ("." + name + ".tmp." + random_suffix());
        const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return std::pair{UniqueFd(fd), std::move(tmp)};
        err = errno;
    }
    return io_error(io_rules::open, "cannot create a temporary file in " + quote(folder.string()), err);
}

/// fsync of a folder, so that a rename in it is durable. EINVAL: the file system does not sync folders.
Status sync_folder(const fs::path& folder, const fs::path& path) {
    UniqueFd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || (::fsync(dir.get()) != 0 && errno != EINVAL)) {
        const int err = errno;
        return io_error(io_rules::write,
                        "wrote " + quote(path.string()) + " but cannot fsync its folder " + quote(folder.string()), err);
    }
    return {};
}

}  // namespace

int UniqueFd::close() noexcept {
    const int r = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return r;
}

Result<UniqueFd> open_for_reading(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return io_error(io_rules::open, "cannot open " + quote(path.string()), err);
    }
    return UniqueFd(fd);
}

Status write_all_at(int fd, std::span<const std::uint8_t> bytes, std::uint64_t offset, const fs::path& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            return io_error(io_rules::write, "cannot write " + quote(path.string()), err);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
    }
    return {};
}

Status write_file_atomically(const fs::path& path, const FillFile& fill) {
    // "dir/" names a folder, not a file in it: refused before anything is created.
    if (!path.has_filename()) return io_error(io_rules::open, "cannot write " + quote(path.string()), EISDIR);
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    Result<std::pair<UniqueFd, fs::path>> created = create_temporary(folder, path);
    if (!created) return std::move(created).error();
    UniqueFd& out = created->first;
    const fs::path& tmp = created->second;
    auto fail = [&](Error e) -> Status {
        (void)out.close();
        ::unlink(tmp.c_str());
        return e;
    };
    auto fail_errno = [&](const char* what) {
        const int err = errno;
        return fail(io_error(io_rules::write, what + quote(path.string()), err));
    };
    struct stat existing {};
    if (::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode) &&
        ::fchmod(out.get(), existing.st_mode & 0777) != 0) {
        return fail_errno("cannot give the new file the mode of ");
    }
    if (Status st = fill(out.get()); !st) return fail(std::move(st).error());
    if (::fsync(out.get()) != 0) return fail_errno("cannot fsync ");
    if (out.close() != 0) return fail_errno("cannot write ");
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail_errno("cannot rename the new file onto ");
    return sync_folder(folder, path);
}

Status write_file_atomically(const fs::path& path, std::span<const std::uint8_t> bytes) {
    return write_file_atomically(path, [&](int fd) { return write_all_at(fd, bytes, 0, path); });
}

}  // namespace fib_quant_kv::detail
