// kvshape from-hf-config CONFIG.json --tokens T[,T...]: a model's key and value descriptors, and the KV-cache
// bytes they take, from its Hugging Face config.json (fib_quant_kv/hf_config.hpp does the reading and sizing).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cli/commands.hpp"
#include "cli/io.hpp"
#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/hf_config.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;

struct Options {
    std::string config;
    std::string tokens;
    std::uint32_t batch = 1;
    std::optional<fqk::KvDType> dtype;
    fqk::KvRopeState rope = fqk::KvRopeState::post_rope;
    std::string format = "text";
};

int run_from_hf_config(const Options& o) {
    const fqk::Result<std::vector<std::uint32_t>> tokens = fqk::parse_token_counts(o.tokens);
    if (!tokens) {
        std::fprintf(stderr, "kvshape from-hf-config: --tokens: %s\n", tokens.error().message.c_str());
        return kExitUsage;
    }
    const fqk::HfConfigLimits limits;
    std::variant<Bytes, IoError> text = read_all(o.config, limits.max_bytes + 1);  // enough to see "too large"
    if (const auto* io = std::get_if<IoError>(&text)) {
        std::fprintf(stderr, "kvshape from-hf-config: %s\n", io->message.c_str());
        return kExitUsage;
    }
    Bytes& bytes = std::get<Bytes>(text);
    const fqk::Result<fqk::HfConfig> config =
        fqk::read_hf_config(std::string_view(bytes.data(), bytes.size()), limits);
    if (!config) {
        std::fprintf(stderr, "kvshape from-hf-config: %s: %s\n", o.config.c_str(), config.error().describe().c_str());
        return kExitInvalid;
    }
    fqk::HfSizeOptions options;
    options.batch = o.batch;
    options.dtype = o.dtype;
    options.key_rope = o.rope;
    const fqk::Result<std::vector<fqk::KvCacheSize>> rows = fqk::size_kv_cache(*config, *tokens, options);
    if (!rows) {
        std::fprintf(stderr, "kvshape from-hf-config: %s: %s\n", o.config.c_str(), rows.error().describe().c_str());
        return kExitInvalid;
    }
    std::string out;
    if (o.format == "json") {
        for (const fqk::KvCacheSize& row : *rows) out.append(fqk::to_json(row)).push_back('\n');
    } else {
        out = fqk::to_text(*rows);
    }
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "kvshape from-hf-config: error writing output: %s\n", std::strerror(errno));
        return kExitUsage;
    }
    return kExitValid;
}

}  // namespace

Run add_from_hf_config(CLI::App& command) {
    auto o = std::make_shared<Options>();
    command.add_option("config", o->config, "the model's config.json, or - for standard input")->required();
    command.add_option("--tokens", o->tokens, "context length in tokens, or a comma-separated list of them")
        ->required()
        ->type_name("T[,T...]");
    command
        .add_option_function<std::string>(
            "--batch", [o](const std::string& text) { o->batch = parse_u32(text).value_or(0); },
            "sequences in the batch (default 1)")
        ->type_name("B")
        ->check(u32_validator());
    command
        .add_option_function<std::string>(
            "--dtype", [o](const std::string& text) { o->dtype = fqk::parse_kv_dtype(text); },
            "the cache's element type (default: the config's torch_dtype)")
        ->type_name("f16|bf16|f32")
        ->check(CLI::Validator(
            [](std::string& text) {
                return fqk::parse_kv_dtype(text) ? std::string() : "expected f16, bf16 or f32, got '" + text + "'";
            },
            "DTYPE"));
    command
        .add_option_function<std::string>(
            "--rope", [o](const std::string& text) { o->rope = *fqk::parse_kv_rope_state(text); },
            "the keys' RoPE state (default post_rope, what serving caches store)")
        ->type_name("pre_rope|post_rope")
        ->check(CLI::IsMember({"pre_rope", "post_rope"}));
    command.add_option("--format", o->format, "text (a table with human units and digests) or json (one object per "
                                              "token count)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    return [o] { return run_from_hf_config(*o); };
}

}  // namespace kvshape
