// kvshape: the fib_quant_kv command line. One binary, one subcommand per job.
//
//   kvshape check [--block-dim B] [FILE|-]   JSON Lines in, one verdict line out per input line
//
// Exit status: 0 every input valid, 1 some input invalid, 2 usage or I/O error.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "internal/text.hpp"

namespace fqk = fib_quant_kv;

namespace {

constexpr int kExitValid = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

/// An input file or stdin, closed on scope exit.
class Input {
  public:
    explicit Input(const std::string& path) : path_(path) {
        if (path == "-") {
            file_ = stdin;
        } else {
            file_ = std::fopen(path.c_str(), "rb");
        }
    }
    Input(const Input&) = delete;
    Input& operator=(const Input&) = delete;
    ~Input() {
        if (file_ != nullptr && file_ != stdin) std::fclose(file_);
        std::free(line_);
    }
    [[nodiscard]] bool is_open() const noexcept { return file_ != nullptr; }
    /// The next line without its '\n'; nothing at end of input or on a read error (see failed()).
    [[nodiscard]] std::optional<std::string_view> next_line() {
        const ssize_t n = ::getline(&line_, &capacity_, file_);
        if (n < 0) return std::nullopt;
        std::size_t len = static_cast<std::size_t>(n);
        if (len > 0 && line_[len - 1] == '\n') --len;
        return std::string_view(line_, len);
    }
    [[nodiscard]] bool failed() const noexcept { return std::ferror(file_) != 0; }

  private:
    std::string path_;
    std::FILE* file_ = nullptr;
    char* line_ = nullptr;
    std::size_t capacity_ = 0;
};

void append_kv(std::string& out, std::string_view key, std::uint64_t value) {
    out.append(",\"").append(key).append("\":");
    fqk::detail::append_decimal(out, value);
}

void append_kv(std::string& out, std::string_view key, std::string_view text) {
    out.append(",\"").append(key).append("\":");
    fqk::detail::append_json_string(out, text);
}

/// The verdict line for one input line (without the newline); true when the line is valid.
bool check_line(std::string& out, std::uint64_t number, std::string_view text, std::optional<std::uint32_t> block_dim) {
    out.append("{\"line\":");
    fqk::detail::append_decimal(out, number);
    fqk::Result<fqk::KvTensorShapeV1> shape = fqk::parse_kv_tensor_shape_v1_json(text);
    if (!shape) {
        out.append(",\"ok\":false,\"stage\":\"parse\"");
        append_kv(out, "error", shape.error().message);
        out.push_back('}');
        return false;
    }
    const fqk::Status st = block_dim ? fqk::validate_block_dim(*shape, *block_dim) : fqk::validate(*shape);
    if (!st) {
        const fqk::Error& e = st.error();
        out.append(",\"ok\":false,\"stage\":\"validate\"");
        append_kv(out, "error", fqk::to_string(e.kind));
        if (e.kind == fqk::ErrorKind::dimension_not_divisible) {
            append_kv(out, "ambient_dim", e.details.ambient_dim);
            append_kv(out, "block_dim", e.details.block_dim);
        } else {
            append_kv(out, "message", e.message);
        }
        out.push_back('}');
        return false;
    }
    // validate() passed, so neither count can overflow and the digest is defined.
    out.append(",\"ok\":true");
    append_kv(out, "vector_count", fqk::vector_count(*shape).value());
    append_kv(out, "element_count", fqk::element_count(*shape).value());
    append_kv(out, "canonical", fqk::to_json(*shape));
    append_kv(out, "digest", fqk::digest(*shape).value().hex());
    out.push_back('}');
    return true;
}

int run_check(const std::string& path, std::optional<std::uint32_t> block_dim) {
    Input in(path);
    if (!in.is_open()) {
        std::fprintf(stderr, "kvshape check: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
        return kExitUsage;
    }
    bool all_valid = true;
    std::uint64_t number = 0;
    std::string out;
    while (const std::optional<std::string_view> line = in.next_line()) {
        out.clear();
        all_valid &= check_line(out, ++number, *line, block_dim);
        out.push_back('\n');
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) break;
    }
    if (in.failed()) {
        std::fprintf(stderr, "kvshape check: error reading %s: %s\n", path.c_str(), std::strerror(errno));
        return kExitUsage;
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "kvshape check: error writing output: %s\n", std::strerror(errno));
        return kExitUsage;
    }
    return all_valid ? kExitValid : kExitInvalid;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kvshape: check, validate and digest fib_quant_kv KV-cache tensor descriptors", "kvshape"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(FIB_QUANT_KV_VERSION));

    std::string check_input = "-";
    std::optional<std::uint32_t> check_block_dim;
    CLI::App* check = app.add_subcommand(
        "check", "Read JSON Lines (one descriptor per line) and write one JSON verdict line per input line");
    check->add_option("input", check_input, "JSON Lines file, or - for standard input")->capture_default_str();
    check->add_option("--block-dim", check_block_dim, "also require head_dim to be a multiple of B (0 never is)")
        ->type_name("B");

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

    try {
        if (check->parsed()) return run_check(check_input, check_block_dim);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kvshape: %s\n", e.what());
        return kExitUsage;
    }
    return kExitUsage;
}
