// kvshape convert --to FORM IN OUT: one descriptor, validated, written in a wire form (any of
// fib_quant_kv::formats::kDescriptorForms) to OUT all or nothing.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"
#include "cli/io.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

struct ConvertOptions {
    std::string to;
    std::string input;
    std::string output;
};

/// What --to takes: every form's short name, in alphabetical order.
std::vector<std::string> form_choices() {
    std::vector<std::string> names;
    for (const fqk::formats::DescriptorFormInfo& f : fqk::formats::kDescriptorForms) names.emplace_back(f.short_name);
    std::sort(names.begin(), names.end());
    return names;
}

/// A v2 cache spec in either wire form: --to json writes its canonical JSON (and a newline), --to fb its
/// FlatBuffer (to_flatbuffer, file identifier FQK2).
int convert_spec(const ConvertOptions& o, fqk::formats::DescriptorForm form, const fqk::Result<fqk::KvCacheSpecV2>& spec) {
    if (!spec) {
        report_invalid(stderr, "kvshape convert: ", form, spec.error());
        return kExitInvalid;
    }
    if (const fqk::Status st = fqk::validate(*spec); !st) {
        report_invalid(stderr, "kvshape convert: ", form, st.error());
        return kExitInvalid;
    }
    std::vector<std::uint8_t> bytes;
    if (fqk::formats::parse_descriptor_form(o.to) == fqk::formats::DescriptorForm::flatbuffer) {
        bytes = fqk::to_flatbuffer(*spec);
    } else {
        std::string text = fqk::to_json(*spec);
        text.push_back('\n');
        bytes.assign(text.begin(), text.end());
    }
    if (const std::optional<IoError> e = write_atomically(o.output, bytes)) {
        std::fprintf(stderr, "kvshape convert: %s\n", e->message.c_str());
        return kExitUsage;
    }
    return kExitValid;
}

int run_convert(const ConvertOptions& o) {
    const std::optional<DescriptorInput> in = read_descriptor("convert", o.input);
    if (!in) return kExitUsage;
    if (in->spec) return convert_spec(o, in->form, *in->spec);
    if (!in->shape) {
        report_invalid(stderr, "kvshape convert: ", in->form, in->shape.error());
        return kExitInvalid;
    }
    if (const fqk::Status st = fqk::validate(*in->shape); !st) {
        report_invalid(stderr, "kvshape convert: ", in->form, st.error());
        return kExitInvalid;
    }
    const fqk::formats::DescriptorForm to = fqk::formats::parse_descriptor_form(o.to).value();  // CLI11 checked
    if (const std::optional<IoError> e = write_atomically(o.output, fqk::formats::write_kv_tensor_shape_v1(to, *in->shape))) {
        std::fprintf(stderr, "kvshape convert: %s\n", e->message.c_str());
        return kExitUsage;
    }
    return kExitValid;
}

}  // namespace

Run add_convert(CLI::App& command) {
    auto o = std::make_shared<ConvertOptions>();
    command.add_option("--to", o->to, "output wire form")->required()->check(CLI::IsMember(form_choices()));
    command.add_option("input", o->input, "descriptor file, or - for standard input")->required();
    command.add_option("output", o->output, "output file, or - for standard output")->required();
    return [o] { return run_convert(*o); };
}

}  // namespace kvshape
