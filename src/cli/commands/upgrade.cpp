// kvshape upgrade [--key-rope pre_rope|post_rope] IN: the v2 cache spec of the cache a v1 descriptor (JSON or
// FlatBuffer) describes, as one line of canonical JSON: one full-attention group, contiguous, unquantized.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"
#include "fib_quant_kv/cache_spec.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

struct UpgradeOptions {
    std::string input;
    std::string key_rope = "post_rope";
};

int run_upgrade(const UpgradeOptions& o) {
    const std::optional<DescriptorInput> in = read_descriptor("upgrade", o.input);
    if (!in) return kExitUsage;
    if (!in->claims<fqk::KvTensorShapeV1>()) {
        std::fprintf(stderr, "kvshape upgrade: the input is already a v2 cache spec\n");
        return kExitUsage;
    }
    if (!in->descriptor) {
        report_invalid(stderr, "kvshape upgrade: ", in->form, in->descriptor.error());
        return kExitInvalid;
    }
    const fqk::Result<fqk::KvCacheSpecV2> spec =
        fqk::upgrade(std::get<fqk::KvTensorShapeV1>(*in->descriptor), fqk::parse_kv_rope_state(o.key_rope).value());  // CLI11 checked the name
    if (!spec) {
        report_invalid(stderr, "kvshape upgrade: ", in->form, spec.error());
        return kExitInvalid;
    }
    std::printf("%s\n", fqk::to_json(*spec).c_str());
    return kExitValid;
}

}  // namespace

Run add_upgrade(CLI::App& command) {
    auto o = std::make_shared<UpgradeOptions>();
    command.add_option("input", o->input, "v1 descriptor file (JSON or FlatBuffer), or - for standard input")
        ->required();
    command
        .add_option("--key-rope", o->key_rope,
                    "the keys' RoPE state, for a value descriptor (a key descriptor carries its own)")
        ->check(CLI::IsMember({"pre_rope", "post_rope"}))
        ->capture_default_str();
    return [o] { return run_upgrade(*o); };
}

}  // namespace kvshape
