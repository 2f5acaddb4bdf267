// kvshape check [--block-dim B] [FILE|-]: JSON Lines in, one verdict line out per input line, streamed. The
// verdict line itself is fib_quant_kv::detail::check_line (src/check.cpp), shared with the Python module.
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/io.hpp"
#include "internal/check.hpp"

namespace kvshape {
namespace {

struct CheckOptions {
    std::string input = "-";
    std::optional<std::uint32_t> block_dim;
};

int run_check(const CheckOptions& o) {
    LineReader in(o.input);
    if (!in.is_open()) {
        std::fprintf(stderr, "kvshape check: %s\n", open_error(o.input, errno).message.c_str());
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
        all_valid &= fib_quant_kv::detail::check_line(out, scratch, ++number, *line, o.block_dim);
        out.push_back('\n');
        if (out.size() >= kWriteBlock) flush();
        if (write_failed) break;
    }
    flush();
    if (in.error() != 0) {
        std::fprintf(stderr, "kvshape check: %s\n", read_error(o.input, in.error()).message.c_str());
        return kExitUsage;
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "kvshape check: %s\n", stdout_error(errno).message.c_str());
        return kExitUsage;
    }
    return all_valid ? kExitValid : kExitInvalid;
}

}  // namespace

Run add_check(CLI::App& command) {
    auto o = std::make_shared<CheckOptions>();
    command.add_option("input", o->input, "JSON Lines file, or - for standard input")->capture_default_str();
    add_block_dim_option(command, o->block_dim);
    return [o] { return run_check(*o); };
}

}  // namespace kvshape
