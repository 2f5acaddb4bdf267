// One descriptor read from IN (see descriptor_input.hpp).
#include "cli/descriptor_input.hpp"

#include <string>
#include <utility>
#include <variant>

#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"

namespace kvshape {

namespace fqk = fib_quant_kv;

std::optional<DescriptorInput> read_descriptor(const char* command, const std::string& path) {
    std::variant<Bytes, IoError> read = read_all(path);
    if (const auto* io = std::get_if<IoError>(&read)) {
        std::fprintf(stderr, "kvshape %s: %s\n", command, io->message.c_str());
        return std::nullopt;
    }
    Bytes& bytes = std::get<Bytes>(read);
    const fqk::formats::DescriptorForm form = fqk::formats::detect_kv_tensor_shape_v1_form(bytes.octets());
    if (form == fqk::formats::DescriptorForm::json) {
        const std::string_view text(bytes.chars().data(), bytes.chars().size());
        // Only a text that holds the v2 id can name it: v1 inputs pay one search, not a second parse.
        if (text.find(fqk::kKvCacheSpecV2SchemaId) != std::string_view::npos &&
            fqk::json_schema_version(text) == fqk::kKvCacheSpecV2SchemaId) {
            return DescriptorInput{form, fqk::Error{}, fqk::parse_kv_cache_spec_v2_json(text)};
        }
    }
    if (form == fqk::formats::DescriptorForm::flatbuffer && bytes.octets().size() >= 8 &&
        std::string_view(bytes.chars().data() + 4, 4) == fqk::kKvCacheSpecV2FileIdentifier) {
        return DescriptorInput{form, fqk::Error{}, fqk::parse_kv_cache_spec_v2_flatbuffer(bytes.octets())};
    }
    // The decoded struct keeps nothing of the bytes, so they may be the JSON reader's scratch.
    return DescriptorInput{form, fqk::formats::read_kv_tensor_shape_v1_in_place(form, bytes.chars())};
}

void report_invalid(std::FILE* out, const char* prefix, fqk::formats::DescriptorForm form, const fqk::Error& error) {
    const std::string_view name = fqk::formats::to_string(form);
    std::fprintf(out, "%sinvalid %.*s: %s\n", prefix, static_cast<int>(name.size()), name.data(),
                 error.describe().c_str());
}

}  // namespace kvshape
