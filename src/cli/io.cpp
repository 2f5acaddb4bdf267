// kvshape's shared I/O (see io.hpp).
#include "cli/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace kvshape {
namespace {

/// read(2) that retries on EINTR: the number of bytes read, 0 at end of input, -1 on an error (errno set).
ssize_t read_some(int fd, char* into, std::size_t count) {
    for (;;) {
        const ssize_t n = ::read(fd, into, count);
        if (n >= 0 || errno != EINTR) return n;
    }
}

}  // namespace

Bytes::~Bytes() { std::free(data_); }

void Bytes::reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    void* grown = std::realloc(data_, capacity);
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<char*>(grown);
    capacity_ = capacity;
}

InputFile::InputFile(const std::string& path)
    : fd_(path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}

InputFile::~InputFile() {
    if (fd_ > STDIN_FILENO) ::close(fd_);
}

void LineReader::make_room() {
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, buffer_.size() - begin_);
        buffer_.resize(buffer_.size() - begin_);
        scanned_ -= begin_;
        begin_ = 0;
    }
    buffer_.reserve_more(kReadBlock);
}

void LineReader::fill() {
    const ssize_t n = read_some(file_.fd(), buffer_.data() + buffer_.size(), kReadBlock);
    if (n < 0) {
        error_ = errno;
    } else if (n == 0) {
        eof_ = true;
    } else {
        buffer_.resize(buffer_.size() + static_cast<std::size_t>(n));
    }
}

std::variant<Bytes, IoError> read_all(const std::string& path, std::size_t limit) {
    const InputFile file(path);
    if (!file.is_open()) return IoError{"cannot open " + path + ": " + std::strerror(errno)};
    struct stat st {};
    const bool regular = ::fstat(file.fd(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0;
    constexpr std::size_t kReadBlock = 64 * 1024;
    Bytes bytes;
    bytes.reserve(std::min(regular ? static_cast<std::size_t>(st.st_size) + 1 : kReadBlock, limit));
    while (bytes.size() < limit) {
        if (bytes.size() == bytes.capacity()) bytes.reserve_more(kReadBlock);  // a file that grew, or a pipe
        const std::size_t room = std::min(bytes.capacity(), limit) - bytes.size();
        const ssize_t n = read_some(file.fd(), bytes.data() + bytes.size(), room);
        if (n < 0) return IoError{"error reading " + path + ": " + std::strerror(errno)};
        if (n == 0) break;
        bytes.resize(bytes.size() + static_cast<std::size_t>(n));
    }
    return bytes;
}

std::optional<IoError> write_atomically(const std::string& path, std::span<const std::uint8_t> bytes) {
    if (path == "-") {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
            return IoError{std::string("error writing standard output: ") + std::strerror(errno)};
        }
        return std::nullopt;
    }
    std::string tmp = path + ".tmp.XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return IoError{"cannot create a temporary file beside " + path + ": " + std::strerror(errno)};
    auto fail = [&](const char* what) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return IoError{std::string(what) + " " + path + ": " + std::strerror(err)};
    };
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail("error writing");
        done += static_cast<std::size_t>(n);
    }
    const mode_t mask = ::umask(0);  // mkstemp makes 0600; give the file the usual 0666 less umask
    ::umask(mask);
    if (::fchmod(fd, 0666 & ~mask) != 0 || ::fsync(fd) != 0) return fail("error writing");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return IoError{"error writing " + path + ": " + std::strerror(err)};
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return IoError{"cannot rename the temporary file to " + path + ": " + std::strerror(err)};
    }
    // Make the rename itself durable: flush the folder's entry too (best effort: some file systems refuse).
    const std::string::size_type slash = path.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        (void)::fsync(dir);
        ::close(dir);
    }
    return std::nullopt;
}

}  // namespace kvshape
