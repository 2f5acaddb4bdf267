// kvshape compat A B: exit 0 when a cache written under spec A can be read under spec B; otherwise exit 1 with
// one line per difference: "PATH: A_VALUE -> B_VALUE". A and B are v2 cache specs (JSON), or v1 descriptors
// (JSON or FlatBuffer), which are upgraded first (fib_quant_kv::upgrade).
#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"
#include "fib_quant_kv/cache_spec.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

struct CompatOptions {
    std::string a, b;
};

/// The v2 spec a descriptor stands for: itself, or a v1 descriptor's upgrade().
fqk::Result<fqk::KvCacheSpecV2> as_spec(const fqk::KvCacheSpecV2& spec) { return spec; }
fqk::Result<fqk::KvCacheSpecV2> as_spec(const fqk::KvTensorShapeV1& shape) { return fqk::upgrade(shape); }

/// The valid v2 spec IN holds or stands for; nothing after printing why not (`exit` says which status).
std::optional<fqk::KvCacheSpecV2> read_spec(const std::string& path, int& exit) {
    const std::optional<DescriptorInput> in = read_descriptor("compat", path);
    exit = kExitUsage;
    if (!in) return std::nullopt;
    exit = kExitInvalid;
    fqk::Result<fqk::KvCacheSpecV2> spec =
        in->descriptor ? std::visit([](const auto& d) { return as_spec(d); }, *in->descriptor)
                       : fqk::Result<fqk::KvCacheSpecV2>(in->descriptor.error());
    if (spec) {
        if (fqk::Status st = fqk::validate(*spec); !st) spec = std::move(st).error();
    }
    if (!spec) {
        const std::string prefix = "kvshape compat: " + path + ": ";
        report_invalid(stderr, prefix.c_str(), in->form, spec.error());
        return std::nullopt;
    }
    return std::move(spec).value();
}

int run_compat(const CompatOptions& o) {
    int exit = kExitValid;
    const std::optional<fqk::KvCacheSpecV2> a = read_spec(o.a, exit);
    if (!a) return exit;
    const std::optional<fqk::KvCacheSpecV2> b = read_spec(o.b, exit);
    if (!b) return exit;
    const std::vector<fqk::Difference> diffs = fqk::compat(*a, *b);
    for (const fqk::Difference& d : diffs) std::printf("%s: %s -> %s\n", d.path.c_str(), d.a.c_str(), d.b.c_str());
    return diffs.empty() ? kExitValid : kExitInvalid;
}

}  // namespace

Run add_compat(CLI::App& command) {
    auto o = std::make_shared<CompatOptions>();
    command.add_option("a", o->a, "the spec the cache was written under (file, or - for standard input)")
        ->required();
    command.add_option("b", o->b, "the spec it is to be read under")->required();
    return [o] { return run_compat(*o); };
}

}  // namespace kvshape
