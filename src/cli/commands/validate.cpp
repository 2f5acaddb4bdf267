// kvshape validate [--all] [--block-dim B] IN: one descriptor, JSON or FlatBuffer, and its verdict on stdout.
#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

struct ValidateOptions {
    std::string input;
    bool all = false;
    std::optional<std::uint32_t> block_dim;
};

/// Every violation (--all) or the first, block_dim's rule included for a schema that has one.
template <class Descriptor>
std::vector<fqk::Error> violations(const Descriptor& s, const ValidateOptions& o) {
    std::vector<fqk::Error> errors;
    if (o.all) {
        errors = fqk::validate_all(s);
    } else if (fqk::Status st = fqk::validate(s); !st) {
        errors.push_back(std::move(st).error());
    }
    if constexpr (requires { fqk::validate_block_dim(s, 0u); }) {
        if (o.block_dim && errors.empty()) {
            if (fqk::Status st = fqk::validate_block_dim(s, *o.block_dim); !st) errors.push_back(std::move(st).error());
        }
    }
    return errors;
}

/// "valid json: vector_count V, element_count E, byte_size B, digest HEX"
void report_valid(fqk::formats::DescriptorForm form, const fqk::KvTensorShapeV1& s) {
    // validate() bounds element_count; byte_size (element_count times the dtype's width) may still overflow.
    const fqk::Result<std::uint64_t> bytes = fqk::byte_size(s);
    std::string byte_size = "over 2^64";
    if (bytes) byte_size = std::to_string(*bytes);
    std::printf("valid %s: vector_count %llu, element_count %llu, byte_size %s, digest %s\n",
                std::string(fqk::formats::to_string(form)).c_str(),
                static_cast<unsigned long long>(fqk::vector_count(s).value()),
                static_cast<unsigned long long>(fqk::element_count(s).value()), byte_size.c_str(),
                fqk::digest(s).value().hex().c_str());
}

/// "valid json: kv cache spec v2, G layer groups, bytes_per_token N, bytes_held H, digest HEX"
void report_valid(fqk::formats::DescriptorForm form, const fqk::KvCacheSpecV2& spec) {
    std::printf("valid %s: kv cache spec v2, %zu layer groups, bytes_per_token %llu, bytes_held %llu, digest %s\n",
                std::string(fqk::formats::to_string(form)).c_str(), spec.groups.size(),
                static_cast<unsigned long long>(fqk::bytes_per_token(spec).value()),
                static_cast<unsigned long long>(fqk::bytes_held(spec).value()), fqk::digest(spec).value().hex().c_str());
}

int run_validate(const ValidateOptions& o) {
    const std::optional<DescriptorInput> in = read_descriptor("validate", o.input);
    if (!in) return kExitUsage;
    std::vector<fqk::Error> errors;
    if (!in->descriptor) {
        errors.push_back(in->descriptor.error());
    } else {
        errors = std::visit([&o](const auto& d) { return violations(d, o); }, *in->descriptor);
    }
    if (!errors.empty()) {
        for (const fqk::Error& e : errors) report_invalid(stdout, "", in->form, e);
        return kExitInvalid;
    }
    return std::visit(
        [&](const auto& d) {
            using Root = std::decay_t<decltype(d)>;
            if constexpr (!requires { fqk::validate_block_dim(d, 0u); }) {
                if (o.block_dim) {
                    std::fprintf(stderr, "kvshape validate: --block-dim does not apply to a %s\n",
                                 std::string(fqk::SchemaTraits<Root>::type_name).c_str());
                    return kExitUsage;
                }
            }
            report_valid(in->form, d);
            return kExitValid;
        },
        *in->descriptor);
}

}  // namespace

Run add_validate(CLI::App& command) {
    auto o = std::make_shared<ValidateOptions>();
    command.add_option("input", o->input, "descriptor file, or - for standard input")->required();
    command.add_flag("--all", o->all, "print every violated rule with its id, not only the first");
    add_block_dim_option(command, o->block_dim);
    return [o] { return run_validate(*o); };
}

}  // namespace kvshape
