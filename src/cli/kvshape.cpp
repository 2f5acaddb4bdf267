// kvshape: the fib_quant_kv command line. One binary, one subcommand per job.
//
//   kvshape check [--block-dim B] [FILE|-]          JSON Lines in, one verdict line out per input line
//   kvshape validate [--all] [--block-dim B] IN     one descriptor (JSON or FlatBuffer): the verdict
//   kvshape digest IN                               one descriptor: its digest
//   kvshape convert --to fb|json IN OUT             one descriptor, validated, into the other wire form
//
// IN is a file or - for standard input; JSON and FlatBuffers are told apart by content (see detect()).
// Exit status: 0 valid, 1 invalid, 2 usage or I/O error.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "internal/check.hpp"
#include "internal/text.hpp"

namespace fqk = fib_quant_kv;

namespace {

constexpr int kExitValid = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

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
    ~Bytes() { std::free(data_); }

    [[nodiscard]] char* data() noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    /// The bytes as text to parse in place, or as a buffer to view.
    [[nodiscard]] std::span<char> chars() noexcept { return {data_, size_}; }
    [[nodiscard]] std::span<const std::uint8_t> octets() const noexcept {
        return {reinterpret_cast<const std::uint8_t*>(data_), size_};
    }

    /// Room for at least `capacity` bytes; the first size() are kept.
    void reserve(std::size_t capacity) {
        if (capacity <= capacity_) return;
        void* grown = std::realloc(data_, capacity);
        if (grown == nullptr) throw std::bad_alloc();
        data_ = static_cast<char*>(grown);
        capacity_ = capacity;
    }
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

/// read(2) that retries on EINTR: the number of bytes read, 0 at end of input, -1 on an error (errno set).
ssize_t read_some(int fd, char* into, std::size_t count) {
    for (;;) {
        const ssize_t n = ::read(fd, into, count);
        if (n >= 0 || errno != EINTR) return n;
    }
}

/// A file or stdin, opened for reading and closed on scope exit (stdin is left open).
class InputFile {
  public:
    explicit InputFile(const std::string& path)
        : fd_(path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile() {
        if (fd_ > STDIN_FILENO) ::close(fd_);
    }
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
    /// read error (see failed()). `before_read` runs before each read(2) that may block, so that whatever output
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
            if (begin_ > 0) {  // keep only the unfinished line, at the front
                std::memmove(data, data + begin_, buffer_.size() - begin_);
                buffer_.resize(buffer_.size() - begin_);
                scanned_ -= begin_;
                begin_ = 0;
            }
            buffer_.reserve_more(kReadBlock);
            before_read();
            const ssize_t n = read_some(file_.fd(), buffer_.data() + buffer_.size(), kReadBlock);
            if (n < 0) {
                error_ = errno;
            } else if (n == 0) {
                eof_ = true;
            } else {
                buffer_.resize(buffer_.size() + static_cast<std::size_t>(n));
            }
        }
    }
    /// The errno of a failed read, or 0.
    [[nodiscard]] int error() const noexcept { return error_; }

  private:
    InputFile file_;
    Bytes buffer_;
    std::size_t begin_ = 0;    // the first byte of the next line
    std::size_t scanned_ = 0;  // bytes from begin_ to here hold no '\n'
    bool eof_ = false;
    int error_ = 0;
};

int run_check(const std::string& path, std::optional<std::uint32_t> block_dim) {
    LineReader in(path);
    if (!in.is_open()) {
        std::fprintf(stderr, "kvshape check: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
        return kExitUsage;
    }
    constexpr std::size_t kWriteBlock = 64 * 1024;  // verdicts are written in blocks of about this size
    bool all_valid = true;
    bool write_failed = false;
    std::uint64_t number = 0;
    std::string out;
    std::string scratch;
    out.reserve(2 * kWriteBlock);
    auto flush = [&] {
        if (!out.empty() && !write_failed) write_failed = std::fwrite(out.data(), 1, out.size(), stdout) != out.size();
        out.clear();
    };
    while (const std::optional<std::span<char>> line = in.next_line(flush)) {
        all_valid &= fqk::detail::check_line(out, scratch, ++number, *line, block_dim);
        out.push_back('\n');
        if (out.size() >= kWriteBlock) flush();
        if (write_failed) break;
    }
    flush();
    if (in.error() != 0) {
        std::fprintf(stderr, "kvshape check: error reading %s: %s\n", path.c_str(), std::strerror(in.error()));
        return kExitUsage;
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "kvshape check: error writing output: %s\n", std::strerror(errno));
        return kExitUsage;
    }
    return all_valid ? kExitValid : kExitInvalid;
}

// ------------------------------------------------------------------------------------------ one descriptor

/// An I/O failure, reported as exit status 2.
struct IoError {
    std::string message;
};

/// All of a file (or stdin) in memory, read into one buffer: sized from fstat for a regular file (one byte more,
/// so that the read that meets the end needs no room of its own), grown by realloc for anything else.
std::variant<Bytes, IoError> read_all(const std::string& path) {
    const InputFile file(path);
    if (!file.is_open()) return IoError{"cannot open " + path + ": " + std::strerror(errno)};
    struct stat st {};
    const bool regular = ::fstat(file.fd(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0;
    constexpr std::size_t kReadBlock = 64 * 1024;
    Bytes bytes;
    bytes.reserve(regular ? static_cast<std::size_t>(st.st_size) + 1 : kReadBlock);
    for (;;) {
        if (bytes.size() == bytes.capacity()) bytes.reserve_more(kReadBlock);  // a file that grew, or a pipe
        const ssize_t n = read_some(file.fd(), bytes.data() + bytes.size(), bytes.capacity() - bytes.size());
        if (n < 0) return IoError{"error reading " + path + ": " + std::strerror(errno)};
        if (n == 0) return bytes;
        bytes.resize(bytes.size() + static_cast<std::size_t>(n));
    }
}

enum class WireForm { json, flatbuffer };

/// A descriptor read from one input, decoded but not yet validated.
struct Loaded {
    Bytes bytes;  // owns what `view` points into (JSON is parsed in place: then scratch)
    WireForm form = WireForm::json;
    std::optional<fqk::KvTensorShapeV1> native;         // JSON input
    std::optional<fqk::KvTensorShapeV1View> view;       // FlatBuffer input
    std::optional<fqk::Error> error;                    // decoding failed

    [[nodiscard]] std::string_view form_name() const { return form == WireForm::json ? "json" : "flatbuffer"; }
};

/// JSON when the first byte after JSON whitespace is `{` or `[` (a descriptor is an object or an array);
/// otherwise a FlatBuffer when its file identifier sits at bytes 4..8; otherwise JSON if the input is text (no NUL
/// byte), for the JSON reader's own error, and a FlatBuffer if it is binary, for the frame checks' error.
WireForm detect(std::span<const std::uint8_t> bytes) {
    std::size_t i = 0;
    while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r')) ++i;
    if (i < bytes.size() && (bytes[i] == '{' || bytes[i] == '[')) return WireForm::json;
    const std::string_view id = fqk::kKvTensorShapeV1FileIdentifier;
    if (bytes.size() >= 8 && std::memcmp(bytes.data() + 4, id.data(), id.size()) == 0) return WireForm::flatbuffer;
    const bool binary = std::find(bytes.begin(), bytes.end(), std::uint8_t{0}) != bytes.end();
    return binary ? WireForm::flatbuffer : WireForm::json;
}

std::unique_ptr<Loaded> decode(Bytes bytes) {
    auto out = std::make_unique<Loaded>();
    out->bytes = std::move(bytes);
    out->form = detect(out->bytes.octets());
    if (out->form == WireForm::flatbuffer) {  // a view points into the bytes: never parsed in place
        fqk::Result<fqk::KvTensorShapeV1View> v = fqk::view_kv_tensor_shape_v1(out->bytes.octets());
        if (v) out->view = *v; else out->error = std::move(v).error();
    } else {  // the decoded struct keeps nothing of the text, so the bytes may be its scratch
        fqk::Result<fqk::KvTensorShapeV1> s = fqk::parse_kv_tensor_shape_v1_json_in_place(out->bytes.chars());
        if (s) out->native = std::move(*s); else out->error = std::move(s).error();
    }
    return out;
}

/// Runs `f` on whichever form the descriptor was decoded into.
template <class F>
decltype(auto) visit(const Loaded& d, F&& f) {
    return d.view ? f(*d.view) : f(*d.native);
}

/// "invalid json: corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires ..."
void report_invalid(std::FILE* out, const char* prefix, const Loaded& d, const fqk::Error& e) {
    std::fprintf(out, "%sinvalid %.*s: %s\n", prefix, static_cast<int>(d.form_name().size()), d.form_name().data(),
                 e.describe().c_str());
}

/// Reads and decodes IN; prints the I/O error and returns nothing on failure.
std::unique_ptr<Loaded> load(const char* command, const std::string& path) {
    auto bytes = read_all(path);
    if (auto* io = std::get_if<IoError>(&bytes)) {
        std::fprintf(stderr, "kvshape %s: %s\n", command, io->message.c_str());
        return nullptr;
    }
    return decode(std::move(std::get<Bytes>(bytes)));
}

int run_validate(const std::string& path, bool all, std::optional<std::uint32_t> block_dim) {
    const std::unique_ptr<Loaded> d = load("validate", path);
    if (!d) return kExitUsage;
    std::vector<fqk::Error> errors;
    if (d->error) {
        errors.push_back(*d->error);
    } else if (all) {
        errors = visit(*d, [](const auto& s) { return fqk::validate_all(s); });
        if (block_dim && errors.empty()) {
            if (fqk::Status st = visit(*d, [&](const auto& s) { return fqk::validate_block_dim(s, *block_dim); }); !st) {
                errors.push_back(st.error());
            }
        }
    } else {
        const fqk::Status st = visit(*d, [&](const auto& s) {
            return block_dim ? fqk::validate_block_dim(s, *block_dim) : fqk::validate(s);
        });
        if (!st) errors.push_back(st.error());
    }
    if (!errors.empty()) {
        for (const fqk::Error& e : errors) report_invalid(stdout, "", *d, e);
        return kExitInvalid;
    }
    visit(*d, [&](const auto& s) {
        // validate() bounds element_count; byte_size (element_count times the dtype's width) may still overflow.
        const fqk::Result<std::uint64_t> bytes = fqk::byte_size(s);
        std::string byte_size = "over 2^64";
        if (bytes) byte_size = std::to_string(*bytes);
        std::printf("valid %s: vector_count %llu, element_count %llu, byte_size %s, digest %s\n",
                    std::string(d->form_name()).c_str(),
                    static_cast<unsigned long long>(fqk::vector_count(s).value()),
                    static_cast<unsigned long long>(fqk::element_count(s).value()), byte_size.c_str(),
                    fqk::digest(s).value().hex().c_str());
    });
    return kExitValid;
}

int run_digest(const std::string& path) {
    const std::unique_ptr<Loaded> d = load("digest", path);
    if (!d) return kExitUsage;
    if (d->error) {
        report_invalid(stderr, "kvshape digest: ", *d, *d->error);
        return kExitInvalid;
    }
    const fqk::Result<fqk::Digest> digest = visit(*d, [](const auto& s) { return fqk::digest(s); });
    if (!digest) {
        report_invalid(stderr, "kvshape digest: ", *d, digest.error());
        return kExitInvalid;
    }
    std::printf("%s\n", digest->hex().c_str());
    return kExitValid;
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed, then renamed over
/// `path`; nothing is left behind on failure. "-" writes to standard output.
std::optional<IoError> write_atomically(const std::string& path, std::string_view bytes) {
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
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY); dir >= 0) {
        (void)::fsync(dir);
        ::close(dir);
    }
    return std::nullopt;
}

int run_convert(const std::string& to, const std::string& in, const std::string& out) {
    const std::unique_ptr<Loaded> d = load("convert", in);
    if (!d) return kExitUsage;
    if (d->error) {
        report_invalid(stderr, "kvshape convert: ", *d, *d->error);
        return kExitInvalid;
    }
    const fqk::KvTensorShapeV1 shape = d->view ? fqk::to_native(*d->view) : *d->native;
    if (const fqk::Status st = fqk::validate(shape); !st) {
        report_invalid(stderr, "kvshape convert: ", *d, st.error());
        return kExitInvalid;
    }
    std::string bytes;
    if (to == "json") {
        bytes = fqk::to_json(shape);
        bytes.push_back('\n');
    } else {
        const std::vector<std::uint8_t> fb = fqk::to_flatbuffer(shape);
        bytes.assign(reinterpret_cast<const char*>(fb.data()), fb.size());
    }
    if (const std::optional<IoError> e = write_atomically(out, bytes)) {
        std::fprintf(stderr, "kvshape convert: %s\n", e->message.c_str());
        return kExitUsage;
    }
    return kExitValid;
}

/// A u32 written in plain decimal digits (leading zeros allowed), as Rust's u32::from_str reads it, without the
/// sign: not empty, no spaces, no "0x", no octal.
std::optional<std::uint32_t> parse_u32(std::string_view text) {
    std::uint32_t value = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), value, 10);
    if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

/// Adds `--block-dim B`, read with parse_u32().
void add_block_dim_option(CLI::App* app, std::optional<std::uint32_t>& target, const char* help) {
    app->add_option_function<std::string>(
           "--block-dim", [&target](const std::string& text) { target = parse_u32(text); }, help)
        ->type_name("B")
        ->check(CLI::Validator(
            [](std::string& text) {
                return parse_u32(text) ? std::string() : "expected a whole number from 0 to 4294967295, got '" + text + "'";
            },
            "U32"));
}

/// The command line, parsed and dispatched. Exceptions (out of memory) are main()'s to report.
int run(int argc, char** argv) {
    CLI::App app{"kvshape: check, validate and digest fib_quant_kv KV-cache tensor descriptors", "kvshape"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(FIB_QUANT_KV_VERSION));

    std::string check_input = "-";
    std::optional<std::uint32_t> check_block_dim;
    CLI::App* check = app.add_subcommand(
        "check", "Read JSON Lines (one descriptor per line) and write one JSON verdict line per input line");
    check->add_option("input", check_input, "JSON Lines file, or - for standard input")->capture_default_str();
    add_block_dim_option(check, check_block_dim, "also require head_dim to be a multiple of B (0 never is)");

    std::string validate_input;
    bool validate_all = false;
    std::optional<std::uint32_t> validate_block_dim;
    CLI::App* validate = app.add_subcommand(
        "validate", "Check one descriptor (JSON or FlatBuffer, told apart by content) and print the verdict");
    validate->add_option("input", validate_input, "descriptor file, or - for standard input")->required();
    validate->add_flag("--all", validate_all, "print every violated rule with its id, not only the first");
    add_block_dim_option(validate, validate_block_dim, "also require head_dim to be a multiple of B (0 never is)");

    std::string digest_input;
    CLI::App* digest = app.add_subcommand("digest", "Print the digest of one valid descriptor (JSON or FlatBuffer)");
    digest->add_option("input", digest_input, "descriptor file, or - for standard input")->required();

    std::string convert_to;
    std::string convert_input;
    std::string convert_output;
    CLI::App* convert = app.add_subcommand(
        "convert", "Validate one descriptor and write it in the other wire form (atomically: all or nothing)");
    convert->add_option("--to", convert_to, "output wire form")
        ->required()
        ->check(CLI::IsMember({"fb", "json"}));
    convert->add_option("input", convert_input, "descriptor file, or - for standard input")->required();
    convert->add_option("output", convert_output, "output file, or - for standard output")->required();

    // A first word that is no option and no command is named as such (CLI11 would only say that a command is
    // required, which reads as if none had been given).
    if (argc > 1 && argv[1][0] != '-') {
        const std::string_view word = argv[1];
        const std::vector<CLI::App*> commands = app.get_subcommands([](CLI::App*) { return true; });
        if (std::none_of(commands.begin(), commands.end(), [&](const CLI::App* c) { return c->get_name() == word; })) {
            std::string names;
            for (const CLI::App* c : commands) names.append(names.empty() ? "" : ", ").append(c->get_name());
            std::fprintf(stderr, "kvshape: unknown command '%s' (the commands: %s; see kvshape --help)\n", argv[1],
                         names.c_str());
            return kExitUsage;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return kExitUsage;
    }

    if (check->parsed()) return run_check(check_input, check_block_dim);
    if (validate->parsed()) return run_validate(validate_input, validate_all, validate_block_dim);
    if (digest->parsed()) return run_digest(digest_input);
    if (convert->parsed()) return run_convert(convert_to, convert_input, convert_output);
    return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // out of memory, or a bug: report it, never abort
        std::fprintf(stderr, "kvshape: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "kvshape: unexpected error\n");
    }
    return kExitUsage;
}
