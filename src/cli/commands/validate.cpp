// kvshape validate [--all] [--block-dim B] IN: one descriptor, JSON or FlatBuffer, and its verdict on stdout.
#include <cstdio>
#include <memory>
#include <string>
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

/// Every violation (--all) or the first, block_dim's rule included.
template <class Descriptor>
std::vector<fqk::Error> violations(const Descriptor& s, const ValidateOptions& o) {
    std::vector<fqk::Error> errors;
    if (o.all) {
        errors = fqk::validate_all(s);
        if (o.block_dim && errors.empty()) {
            if (fqk::Status st = fqk::validate_block_dim(s, *o.block_dim); !st) errors.push_back(std::move(st).error());
        }
    } else if (fqk::Status st = o.block_dim ? fqk::validate_block_dim(s, *o.block_dim) : fqk::validate(s); !st) {
        errors.push_back(std::move(st).error());
    }
    return errors;
}

/// "valid json: vector_count V, element_count E, byte_size B, digest HEX"
template <class Descriptor>
void report_valid(fqk::formats::DescriptorForm form, const Descriptor& s) {
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

/// A v2 cache spec: every violation (--all) or the first; when valid, its counts and digest.
int validate_spec(const ValidateOptions& o, fqk::formats::DescriptorForm form,
                  const fqk::Result<fqk::KvCacheSpecV2>& spec) {
    std::vector<fqk::Error> errors;
    if (!spec) {
        errors.push_back(spec.error());
    } else if (o.all) {
        errors = fqk::validate_all(*spec);
    } else if (fqk::Status st = fqk::validate(*spec); !st) {
        errors.push_back(std::move(st).error());
    }
    if (errors.empty() && o.block_dim) {
        std::fprintf(stderr, "kvshape validate: --block-dim applies to v1 descriptors only\n");
        return kExitUsage;
    }
    if (!errors.empty()) {
        for (const fqk::Error& e : errors) report_invalid(stdout, "", form, e);
        return kExitInvalid;
    }
    std::printf("valid %s: kv cache spec v2, %zu layer groups, bytes_per_token %llu, bytes_held %llu, digest %s\n",
                std::string(fqk::formats::to_string(form)).c_str(), spec->groups.size(),
                static_cast<unsigned long long>(fqk::bytes_per_token(*spec).value()),
                static_cast<unsigned long long>(fqk::bytes_held(*spec).value()), fqk::digest(*spec).value().hex().c_str());
    return kExitValid;
}

int run_validate(const ValidateOptions& o) {
    const std::optional<DescriptorInput> in = read_descriptor("validate", o.input);
    if (!in) return kExitUsage;
    if (in->spec) return validate_spec(o, in->form, *in->spec);
    const std::vector<fqk::Error> errors = in->shape ? violations(*in->shape, o) : std::vector{in->shape.error()};
    if (!errors.empty()) {
        for (const fqk::Error& e : errors) report_invalid(stdout, "", in->form, e);
        return kExitInvalid;
    }
    report_valid(in->form, *in->shape);
    return kExitValid;
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
