// libFuzzer: the safetensors header reader (a trust boundary). Any input: a typed Error or a sound header whose
// tensors cover the data section exactly; an accepted header, written back by our writer with the data, reads
// back as the same tables with the data section 8-aligned.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fib_quant_kv/formats/safetensors.hpp"
#include "fuzz_checkpoint.hpp"

namespace ck = fib_quant_kv::checkpoint;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    const auto r = ck::safetensors::read_header(in);
    if (!r) {
        fib_quant_kv::fuzz::require_typed_reader_error(r.error());
        return 0;
    }
    fib_quant_kv::fuzz::require_sound_header(*r, size);
    std::uint64_t covered = 0;
    for (const ck::TensorInfo& t : r->tensors) covered += t.byte_length();
    FQK_REQUIRE(covered == size - r->data_offset);

    std::string rewritten = ck::safetensors::write_header(*r, r->metadata);
    FQK_REQUIRE(rewritten.size() % 8 == 0);
    rewritten.append(reinterpret_cast<const char*>(data) + r->data_offset, size - r->data_offset);
    const auto back = ck::safetensors::read_header(
        {reinterpret_cast<const std::uint8_t*>(rewritten.data()), rewritten.size()});
    FQK_REQUIRE(back.ok());
    fib_quant_kv::fuzz::require_same_tables(*r, *back);
    return 0;
}
