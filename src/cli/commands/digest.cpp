// kvshape digest IN: the digest of one valid descriptor, JSON or FlatBuffer.
#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

int run_digest(const std::string& input) {
    const std::optional<DescriptorInput> in = read_descriptor("digest", input);
    if (!in) return kExitUsage;
    const fqk::Result<fqk::Digest> digest =
        in->descriptor ? std::visit([](const auto& d) { return fqk::digest(d); }, *in->descriptor)  // validates
                       : fqk::Result<fqk::Digest>(in->descriptor.error());
    if (!digest) {
        report_invalid(stderr, "kvshape digest: ", in->form, digest.error());
        return kExitInvalid;
    }
    std::printf("%s\n", digest->hex().c_str());
    return kExitValid;
}

}  // namespace

Run add_digest(CLI::App& command) {
    auto input = std::make_shared<std::string>();
    command.add_option("input", *input, "descriptor file, or - for standard input")->required();
    return [input] { return run_digest(*input); };
}

}  // namespace kvshape
