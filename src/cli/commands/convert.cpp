// kvshape convert --to FORM IN OUT: one descriptor, validated, written in a wire form (any of
// fib_quant_kv::formats::kDescriptorForms) to OUT all or nothing.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"
#include "cli/io.hpp"

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

int run_convert(const ConvertOptions& o) {
    const std::optional<DescriptorInput> in = read_descriptor("convert", o.input);
    if (!in) return kExitUsage;
    if (!in->descriptor) {
        report_invalid(stderr, "kvshape convert: ", in->form, in->descriptor.error());
        return kExitInvalid;
    }
    if (const fqk::Status st = std::visit([](const auto& d) { return fqk::validate(d); }, *in->descriptor); !st) {
        report_invalid(stderr, "kvshape convert: ", in->form, st.error());
        return kExitInvalid;
    }
    const fqk::formats::DescriptorForm to = fqk::formats::parse_descriptor_form(o.to).value();  // CLI11 checked
    const fqk::Result<std::vector<std::uint8_t>> bytes = fqk::formats::write_descriptor(to, *in->descriptor);
    if (!bytes) {  // a form this schema has no writer for
        std::fprintf(stderr, "kvshape convert: %s\n", bytes.error().describe().c_str());
        return kExitUsage;
    }
    if (const std::optional<IoError> e = write_atomically(o.output, *bytes)) {
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
