// One descriptor read from IN (a file or -) for validate, digest and convert: the bytes, the wire form they
// were told to be by content (fib_quant_kv/formats/descriptor_io.hpp), and the decoded descriptor or why not.
#pragma once

#include <cstdio>
#include <optional>

#include "cli/io.hpp"
#include "fib_quant_kv/formats/descriptor_io.hpp"

namespace kvshape {

struct DescriptorInput {
    fib_quant_kv::formats::DescriptorForm form;
    fib_quant_kv::Result<fib_quant_kv::KvTensorShapeV1> shape;  // decoded, not validated
    /// Set instead of `shape` for a JSON document whose schema_version names the v2 cache spec.
    std::optional<fib_quant_kv::Result<fib_quant_kv::KvCacheSpecV2>> spec{};
};

/// Reads and decodes IN, as a v1 descriptor or, for JSON whose schema_version says so, a v2 cache spec; on an
/// I/O error prints "kvshape COMMAND: MESSAGE" on stderr and returns nothing.
[[nodiscard]] std::optional<DescriptorInput> read_descriptor(const char* command, const std::string& path);

/// "PREFIXinvalid json: corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires ..."
void report_invalid(std::FILE* out, const char* prefix, fib_quant_kv::formats::DescriptorForm form,
                    const fib_quant_kv::Error& error);

}  // namespace kvshape
