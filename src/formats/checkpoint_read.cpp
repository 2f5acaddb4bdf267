// fib_quant_kv: checkpoints, reading: a file's format told by its content, and its header read by the GGUF or
// the safetensors module. Depends on those two; nothing in them depends on this file.
#include <unistd.h>

#include <array>
#include <cerrno>

#include "fib_quant_kv/formats/checkpoint.hpp"
#include "fib_quant_kv/formats/gguf.hpp"
#include "fib_quant_kv/formats/safetensors.hpp"
#include "internal/file_io.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv::checkpoint {
namespace {

bool starts_with_gguf(std::span<const std::uint8_t> first) {
    return first.size() >= 4 && first[0] == 'G' && first[1] == 'G' && first[2] == 'U' && first[3] == 'F';
}

Result<Format> detect_fd(int fd) {
    std::array<std::uint8_t, 4> magic{};
    ssize_t n = 0;
    do n = ::pread(fd, magic.data(), magic.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return fib_quant_kv::detail::io_error(io_rules::read, "cannot read", errno);
    return starts_with_gguf({magic.data(), static_cast<std::size_t>(n)}) ? Format::gguf : Format::safetensors;
}

}  // namespace

Result<Format> detect(const std::filesystem::path& path) {
    Result<fib_quant_kv::detail::UniqueFd> fd = fib_quant_kv::detail::open_for_reading(path);
    if (!fd) return std::move(fd).error();
    return detect_fd(fd->get());
}

Result<Header> read_header(int fd, const Limits& limits) {
    Result<Format> format = detect_fd(fd);
    if (!format) return std::move(format).error();
    return *format == Format::gguf ? gguf::read_header(fd, limits) : safetensors::read_header(fd, limits);
}

Result<Header> read_header(const std::filesystem::path& path, const Limits& limits) {
    Result<fib_quant_kv::detail::UniqueFd> fd = fib_quant_kv::detail::open_for_reading(path);
    if (!fd) return std::move(fd).error();
    return read_header(fd->get(), limits);
}

Result<Header> read_header(std::span<const std::uint8_t> bytes, const Limits& limits) {
    return starts_with_gguf(bytes) ? gguf::read_header(bytes, limits) : safetensors::read_header(bytes, limits);
}

}  // namespace fib_quant_kv::checkpoint
