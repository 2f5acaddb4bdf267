// libFuzzer: the GGUF header reader (a trust boundary). Any input: a typed Error, quickly and without a large
// allocation, or a sound header (tensors inside the data section, at most 4 dims); an accepted header, written
// back by our writer (from a memfd holding the input) with the data, reads back as the same tables.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fib_quant_kv/formats/gguf.hpp"
#include "fuzz_checkpoint.hpp"

namespace ck = fib_quant_kv::checkpoint;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    const auto r = ck::gguf::read_header(in);
    if (!r) {
        fib_quant_kv::fuzz::require_typed_reader_error(r.error());
        return 0;
    }
    fib_quant_kv::fuzz::require_sound_header(*r, size);
    FQK_REQUIRE(r->data_offset % r->alignment == 0 || r->data_offset == size);

    const int fd = ::memfd_create("fuzz_gguf", 0);
    FQK_REQUIRE(fd >= 0);
    FQK_REQUIRE(::write(fd, data, size) == static_cast<ssize_t>(size));
    auto head = ck::gguf::write_header(fd, *r, r->metadata);
    ::close(fd);
    FQK_REQUIRE(head.ok());
    std::string rewritten = std::move(*head);
    FQK_REQUIRE(rewritten.size() % r->alignment == 0);
    rewritten.append(reinterpret_cast<const char*>(data) + r->data_offset, size - r->data_offset);
    const auto back = ck::gguf::read_header({reinterpret_cast<const std::uint8_t*>(rewritten.data()), rewritten.size()});
    FQK_REQUIRE(back.ok());
    fib_quant_kv::fuzz::require_same_tables(*r, *back);
    return 0;
}
