// One descriptor read from IN (a file or -) for validate, digest, convert, upgrade and checkpoint attach: the
// bytes, the wire form and schema they claim to be by content (fib_quant_kv/formats/descriptor_io.hpp), and
// the decoded descriptor of that schema or why not.
#pragma once

#include <cstddef>
#include <cstdio>
#include <optional>

#include "cli/io.hpp"
#include "fib_quant_kv/formats/descriptor_io.hpp"

namespace kvshape {

struct DescriptorInput {
    fib_quant_kv::formats::DescriptorForm form;
    std::size_t schema;  ///< index into AnyDescriptor of the schema the bytes claim, decoded or not
    fib_quant_kv::Result<fib_quant_kv::AnyDescriptor> descriptor;  ///< decoded, not validated

    /// True when the bytes claim `Root`'s schema.
    template <class Root>
    [[nodiscard]] bool claims() const noexcept {
        return schema == fib_quant_kv::formats::schema_index<Root>();
    }
};

/// Reads and decodes IN as whichever schema it claims; on an I/O error prints "kvshape COMMAND: MESSAGE" on
/// stderr and returns nothing.
[[nodiscard]] std::optional<DescriptorInput> read_descriptor(const char* command, const std::string& path);

/// "PREFIXinvalid json: corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires ..."
void report_invalid(std::FILE* out, const char* prefix, fib_quant_kv::formats::DescriptorForm form,
                    const fib_quant_kv::Error& error);

}  // namespace kvshape
