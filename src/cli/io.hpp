// kvshape's I/O, shared by every command: an input (a file or -) read line by line or whole, and an output file
// (or -) written all or nothing by the library's atomic writer.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "fib_quant_kv/error.hpp"

namespace kvshape {

/// Bytes owned through malloc/realloc. Growing a large block with realloc remaps its pages rather than copying
/// them (glibc: mremap), so a buffer grown to hold a 300 MB input never needs a second 300 MB; and malloc's
/// alignment suits a FlatBuffer view. Running out of memory throws std::bad_alloc, as a std::vector would.
class Bytes {
  public:
    Bytes() = default;
    Bytes(Bytes&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
                                    capacity_(std::exchange(other.capacity_, 0)) {}
    Bytes& operator=(Bytes&& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
        return *this;
    }
    ~Bytes();

    [[nodiscard]] char* data() noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    /// The bytes as text to parse in place, or as a buffer to view.
    [[nodiscard]] std::span<char> chars() noexcept { return {data_, size_}; }
    [[nodiscard]] std::span<const std::uint8_t> octets() const noexcept {
        return {reinterpret_cast<const std::uint8_t*>(data_), size_};
    }

    /// Room for at least `capacity` bytes; the first size() are kept.
    void reserve(std::size_t capacity);
    /// Room for `more` bytes after size(), growing by doubling.
    void reserve_more(std::size_t more) {
        if (capacity_ - size_ < more) reserve(std::max(capacity_ * 2, size_ + more));
    }
    void resize(std::size_t size) noexcept { size_ = size; }  // within capacity()

  private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

/// A file or stdin ("-"), opened for reading and closed on scope exit (stdin is left open).
class InputFile {
  public:
    explicit InputFile(const std::string& path);
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile();
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
    [[nodiscard]] int fd() const noexcept { return fd_; }

  private:
    int fd_;
};

/// The lines of an input, read in large blocks into one buffer that grows (by doubling, with realloc) only as
/// far as the longest line needs. Each line is handed out as bytes in that buffer, to be parsed in place.
class LineReader {
  public:
    static constexpr std::size_t kReadBlock = 256 * 1024;  // bytes asked of each read(2)

    explicit LineReader(const std::string& path) : file_(path) {}
    [[nodiscard]] bool is_open() const noexcept { return file_.is_open(); }

    /// The next line without its '\n', as bytes the caller may overwrite; nothing at the end of the input or on a
    /// read error (see error()). `before_read` runs before each read(2) that may block, so that whatever output
    /// is pending reaches a reader waiting on it.
    template <class BeforeRead>
    [[nodiscard]] std::optional<std::span<char>> next_line(BeforeRead&& before_read) {
        for (;;) {
            char* const data = buffer_.data();
            if (scanned_ < buffer_.size()) {
                if (const void* nl = std::memchr(data + scanned_, '\n', buffer_.size() - scanned_)) {
                    const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
                    const std::span<char> line(data + begin_, end - begin_);
                    begin_ = scanned_ = end + 1;
                    return line;
                }
                scanned_ = buffer_.size();
            }
            if (eof_ || error_ != 0) {
                if (begin_ == buffer_.size() || error_ != 0) return std::nullopt;
                const std::span<char> line(data + begin_, buffer_.size() - begin_);  // the last, without '\n'
                begin_ = scanned_ = buffer_.size();
                return line;
            }
            make_room();
            before_read();
            fill();
        }
    }
    /// The errno of a failed read, or 0.
    [[nodiscard]] int error() const noexcept { return error_; }

  private:
    void make_room();  // keeps only the unfinished line, at the front, and room for a block after it
    void fill();       // one read(2) into that room: bytes, the end of the input, or an error

    InputFile file_;
    Bytes buffer_;
    std::size_t begin_ = 0;    // the first byte of the next line
    std::size_t scanned_ = 0;  // bytes from begin_ to here hold no '\n'
    bool eof_ = false;
    int error_ = 0;
};

/// An I/O failure, reported as exit status 2: the library's Error of kind io (rule io.open, io.read or io.write),
/// its message naming the file and ending with the operating system's text.
using IoError = fib_quant_kv::Error;

/// The IoError of an input (a file, or - for standard input) that cannot be opened, or read, with errno `err`:
/// "cannot open `PATH`: ...", "cannot read standard input: ...".
[[nodiscard]] IoError open_error(const std::string& path, int err);
[[nodiscard]] IoError read_error(const std::string& path, int err);
/// The IoError of standard output that cannot be written: "cannot write standard output: ...".
[[nodiscard]] IoError stdout_error(int err);

/// All of a file (or stdin) in memory, read into one buffer: sized from fstat for a regular file (one byte more,
/// so that the read that meets the end needs no room of its own), grown by realloc for anything else. At most
/// `limit` bytes are read: a reader with a size cap passes cap + 1 and sees that the input is larger, without
/// reading all of it.
[[nodiscard]] std::variant<Bytes, IoError> read_all(const std::string& path,
                                                    std::size_t limit = std::numeric_limits<std::size_t>::max());

/// Writes `bytes` to `path` durably and all or nothing, with the library's atomic writer
/// (fib_quant_kv::detail::write_file_atomically, src/internal/file_io.hpp: a new file gets 0666 less the umask, a
/// replaced one keeps its permission bits). "-" writes to standard output.
[[nodiscard]] std::optional<IoError> write_atomically(const std::string& path, std::span<const std::uint8_t> bytes);

}  // namespace kvshape
