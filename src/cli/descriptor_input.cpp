// One descriptor read from IN (see descriptor_input.hpp).
#include "cli/descriptor_input.hpp"

#include <string>
#include <utility>
#include <variant>


namespace kvshape {

namespace fqk = fib_quant_kv;

std::optional<DescriptorInput> read_descriptor(const char* command, const std::string& path) {
    std::variant<Bytes, IoError> read = read_all(path);
    if (const auto* io = std::get_if<IoError>(&read)) {
        std::fprintf(stderr, "kvshape %s: %s\n", command, io->message.c_str());
        return std::nullopt;
    }
    Bytes& bytes = std::get<Bytes>(read);
    const fqk::formats::DescriptorForm form = fqk::formats::detect_any_descriptor_form(bytes.octets());
    const std::size_t schema = fqk::formats::descriptor_schema_index(form, bytes.octets());
    // The decoded descriptor keeps nothing of the bytes, so they may be the JSON reader's scratch.
    return DescriptorInput{form, schema, fqk::formats::read_descriptor_in_place(form, bytes.chars())};
}

void report_invalid(std::FILE* out, const char* prefix, fqk::formats::DescriptorForm form, const fqk::Error& error) {
    const std::string_view name = fqk::formats::to_string(form);
    std::fprintf(out, "%sinvalid %.*s: %s\n", prefix, static_cast<int>(name.size()), name.data(),
                 error.describe().c_str());
}

}  // namespace kvshape
