// kvshape: the fib_quant_kv command line. One binary, one subcommand per job, each in src/cli/commands/:
//
//   kvshape check [--block-dim B] [FILE|-]          JSON Lines in, one verdict line out per input line
//   kvshape validate [--all] [--block-dim B] IN     one descriptor (JSON or FlatBuffer): the verdict
//   kvshape digest IN                               one descriptor: its digest
//   kvshape convert --to fb|json IN OUT             one descriptor, validated, into another wire form
//   kvshape from-hf-config CONFIG --tokens T[,T...] a model's key and value descriptors and KV-cache size
//   kvshape checkpoint inspect|attach|verify|detach descriptors inside safetensors and GGUF files
//
// IN is a file or - for standard input; the wire forms are told apart by content (fib_quant_kv/formats).
// Exit status: 0 valid, 1 invalid, 2 usage or I/O error.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"

namespace kvshape {

namespace {

/// The table: one row per subcommand, in the order of `kvshape --help`.
constexpr Command kCommands[] = {
    {"check", "Read JSON Lines (one descriptor per line) and write one JSON verdict line per input line", add_check},
    {"validate", "Check one descriptor (JSON or FlatBuffer, told apart by content) and print the verdict",
     add_validate},
    {"digest", "Print the digest of one valid descriptor (JSON or FlatBuffer)", add_digest},
    {"convert", "Validate one descriptor and write it in the other wire form (atomically: all or nothing)",
     add_convert},
    {"from-hf-config", "Size a model's KV cache from a Hugging Face config.json, as hf, vLLM and llama.cpp allocate it",
     add_from_hf_config},
    {"checkpoint", "Descriptors inside safetensors and GGUF files: inspect, attach, verify, detach", add_checkpoint},
    {"upgrade", "Print the v2 cache spec of the cache a v1 descriptor describes", add_upgrade},
    {"compat", "Exit 0 if a cache written under spec A can be read under spec B, else list the differences",
     add_compat},
};

bool is_command(std::string_view word) {
    return std::any_of(std::begin(kCommands), std::end(kCommands), [&](const Command& c) { return c.name == word; });
}

/// A command line without a command says so, naming the commands: a first word that is no option and no command
/// (CLI11 would only say that a command is required, which reads as if none had been given), no words at all, or
/// only an option kvshape does not know. True when it was reported.
bool report_missing_command(int argc, char** argv) {
    std::string names;
    for (const Command& c : kCommands) names.append(names.empty() ? "" : ", ").append(c.name);
    if (argc < 2) {
        std::fprintf(stderr, "kvshape: a command is required (the commands: %s; see kvshape --help)\n", names.c_str());
        return true;
    }
    const std::string_view first = argv[1];
    if (first[0] != '-') {
        if (is_command(first)) return false;
        std::fprintf(stderr, "kvshape: unknown command '%s' (the commands: %s; see kvshape --help)\n", argv[1],
                     names.c_str());
        return true;
    }
    if (first == "-h" || first == "--help" || first == "--help-all" || first == "--version") return false;
    for (int i = 2; i < argc; ++i) {
        if (is_command(argv[i])) return false;  // CLI11 names the unknown option in its context
    }
    std::fprintf(stderr, "kvshape: unknown option '%s', and no command (the commands: %s; see kvshape --help)\n",
                 argv[1], names.c_str());
    return true;
}

/// The command line, parsed and dispatched. Exceptions (out of memory) are main()'s to report.
int run(int argc, char** argv) {
    CLI::App app{"kvshape: check, validate and digest fib_quant_kv KV-cache tensor descriptors", "kvshape"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(FIB_QUANT_KV_VERSION));
    std::vector<std::pair<const CLI::App*, Run>> runs;
    for (const Command& c : kCommands) {
        CLI::App* sub = app.add_subcommand(std::string(c.name), std::string(c.summary));
        runs.emplace_back(sub, c.add(*sub));
    }

    if (report_missing_command(argc, argv)) return kExitUsage;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return kExitUsage;
    }
    for (const auto& [sub, run_command] : runs) {
        if (sub->parsed()) return run_command();
    }
    return kExitUsage;
}

}  // namespace

std::span<const Command> commands() noexcept { return kCommands; }

}  // namespace kvshape

int main(int argc, char** argv) {
    try {
        return kvshape::run(argc, argv);
    } catch (const std::exception& e) {  // out of memory, or a bug: report it, never abort
        std::fprintf(stderr, "kvshape: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "kvshape: unexpected error\n");
    }
    return kvshape::kExitUsage;
}
