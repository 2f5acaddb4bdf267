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

#include "internal/file_io.hpp"
#include "internal/rule_errors.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

/// How messages name an input: "standard input" for -, else the path as the library quotes names.
std::string input_name(const std::string& path) {
    return path == "-" ? std::string("standard input") : fqk::detail::quote(path);
}

/// read(2) that retries on EINTR: the number of bytes read, 0 at end of input, -1 on an error (errno set).
ssize_t read_some(int fd, char* into, std::size_t count) {
    for (;;) {
        const ssize_t n = ::read(fd, into, count);
        if (n >= 0 || errno != EINTR) return n;
    }
}

}  // namespace

IoError open_error(const std::string& path, int err) {
    return fqk::detail::io_error(fqk::io_rules::open, "cannot open " + input_name(path), err);
}

IoError read_error(const std::string& path, int err) {
    return fqk::detail::io_error(fqk::io_rules::read, "cannot read " + input_name(path), err);
}

IoError stdout_error(int err) {
    return fqk::detail::io_error(fqk::io_rules::write, "cannot write standard output", err);
}

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
    if (!file.is_open()) return open_error(path, errno);
    struct stat st {};
    const bool regular = ::fstat(file.fd(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0;
    constexpr std::size_t kReadBlock = 64 * 1024;
    Bytes bytes;
    bytes.reserve(std::min(regular ? static_cast<std::size_t>(st.st_size) + 1 : kReadBlock, limit));
    while (bytes.size() < limit) {
        if (bytes.size() == bytes.capacity()) bytes.reserve_more(kReadBlock);  // a file that grew, or a pipe
        const std::size_t room = std::min(bytes.capacity(), limit) - bytes.size();
        const ssize_t n = read_some(file.fd(), bytes.data() + bytes.size(), room);
        if (n < 0) return read_error(path, errno);
        if (n == 0) break;
        bytes.resize(bytes.size() + static_cast<std::size_t>(n));
    }
    return bytes;
}

std::optional<IoError> write_atomically(const std::string& path, std::span<const std::uint8_t> bytes) {
    if (path == "-") {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
            return stdout_error(errno);
        }
        return std::nullopt;
    }
    fqk::Status st = fqk::detail::write_file_atomically(path, bytes);
    if (!st) return std::move(st).error();
    return std::nullopt;
}

}  // namespace kvshape
