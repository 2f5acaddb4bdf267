// kvshape from-hf-config CONFIG.json --tokens T[,T...]: a model's KV cache from its Hugging Face config.json,
// sized the way engines allocate it. This file is step 4 of the sizing module, the report: reading and the
// cache model are fib_quant_kv/hf_config.hpp, the engines' allocators fib_quant_kv/sizing/engines.hpp.
//
//   * --format json without --engine: today's rows, unchanged: the v1 key and value descriptors and their
//     contiguous bytes (key and value null, with the reason in the notes, when v1 cannot describe the cache);
//   * --format json with --engine E[,E...]: one object per token count and engine (engine_row_json below);
//   * text: a table per model, the contiguous upper bound and each engine's figure side by side.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
#include "fib_quant_kv/sizing/engines.hpp"
#include "fib_quant_kv/sizing/spec.hpp"
#include "internal/text.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;
namespace sz = fib_quant_kv::sizing;

struct Options {
    std::string config;
    std::string tokens;
    std::uint32_t batch = 1;
    std::optional<fqk::KvDType> dtype;
    fqk::KvRopeState rope = fqk::KvRopeState::post_rope;
    std::string format = "text";
    std::vector<sz::Engine> engines;  ///< empty: none for json, all three for text
    sz::EngineOptions engine;
    bool kv_dtype_given = false;
};

// ---------------------------------------------------------------------------------------------- formatting

std::string decimal(std::uint64_t v) {
    std::string s;
    fqk::detail::append_decimal(s, v);
    return s;
}

void pad_left(std::string& out, std::string_view s, std::size_t width) {
    if (s.size() < width) out.append(width - s.size(), ' ');
    out.append(s);
}

/// "1 KV head", "8 KV heads".
std::string count(std::uint64_t n, std::string_view noun) {
    return decimal(n).append(" ").append(noun).append(n == 1 ? "" : "s");
}

void append_string(std::string& out, std::string_view s) { fqk::detail::append_json_string(out, s); }

void append_notes(std::string& out, const std::vector<std::string>& notes) {
    out.append("[");
    for (std::size_t i = 0; i < notes.size(); ++i) {
        if (i != 0) out.push_back(',');
        append_string(out, notes[i]);
    }
    out.append("]");
}

/// The layers as groups: "42 layers (21 sliding 4096, 21 full)".
std::string layer_summary(const sz::CacheModel& model) {
    std::string s = count(model.layers.size(), "layer");
    const std::vector<sz::LayerGroup> groups = sz::group_layers(model);
    if (groups.empty()) return s;
    s.append(" (");
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const sz::LayerSpec& spec = groups[i].spec;
        if (i != 0) s.append(", ");
        s.append(decimal(groups[i].layers.size())).append(" ").append(sz::to_string(spec.kind));
        if (spec.window != 0) s.append(" ").append(decimal(spec.window));
        if (sz::holds_kv(spec.kind)) {
            s.append(" ").append(decimal(spec.kv_heads)).append("x");
            s.append(spec.key_dim == spec.value_dim ? decimal(spec.key_dim)
                                                    : decimal(spec.key_dim).append("/").append(decimal(spec.value_dim)));
        }
    }
    return s.append(")");
}

/// The v1 row with null descriptors: the contiguous size of a cache the v1 descriptor cannot describe.
std::string contiguous_row_json(const fqk::HfConfig& config, std::uint64_t per_token, std::uint64_t total,
                                const std::string& reason) {
    std::string out = "{\"model_type\":";
    if (config.model_type) {
        append_string(out, *config.model_type);
    } else {
        out.append("null");
    }
    out.append(",\"key\":null,\"value\":null,\"bytes_per_token\":").append(decimal(per_token));
    out.append(",\"total_bytes\":").append(decimal(total)).append(",\"notes\":");
    std::vector<std::string> notes = config.notes;
    notes.insert(notes.begin(), "the v1 descriptor cannot describe this cache: " + reason);
    append_notes(out, notes);
    return out.append("}");
}

/// One engine's figure for one token count, as one JSON object, fields in this order:
/// {"engine","model_type","tokens","batch","kv_dtype","contiguous_bytes","total_bytes","state_bytes",
///  "groups":[{"kind","layers","padding_layers","window","kv_heads","key_dim","value_dim","kv_lora_rank",
///  "rope_dim","state_elements","tokens","bytes"}],"spec" (the v2 cache spec, or null),"max_tokens",
///  "max_sequences" (with --memory),"notes"}
std::string engine_row_json(const fqk::HfConfig& config, const sz::EngineSize& e,
                            std::optional<std::uint64_t> contiguous, const sz::EngineOptions& options) {
    std::string out = "{\"engine\":";
    append_string(out, sz::to_string(e.engine));
    out.append(",\"model_type\":");
    if (config.model_type) {
        append_string(out, *config.model_type);
    } else {
        out.append("null");
    }
    out.append(",\"tokens\":").append(decimal(e.tokens)).append(",\"batch\":").append(decimal(e.batch));
    out.append(",\"kv_dtype\":");
    append_string(out, sz::to_string(e.kv_dtype));
    out.append(",\"contiguous_bytes\":").append(contiguous ? decimal(*contiguous) : "null");
    out.append(",\"total_bytes\":").append(decimal(e.total_bytes));
    out.append(",\"state_bytes\":").append(decimal(e.state_bytes));
    out.append(",\"groups\":[");
    for (std::size_t i = 0; i < e.groups.size(); ++i) {
        const sz::GroupSize& g = e.groups[i];
        if (i != 0) out.push_back(',');
        out.append("{\"kind\":");
        append_string(out, sz::to_string(g.spec.kind));
        out.append(",\"layers\":").append(decimal(g.layers));
        out.append(",\"padding_layers\":").append(decimal(g.padding_layers));
        out.append(",\"window\":").append(decimal(g.spec.window));
        out.append(",\"kv_heads\":").append(decimal(g.spec.kv_heads));
        out.append(",\"key_dim\":").append(decimal(g.spec.key_dim));
        out.append(",\"value_dim\":").append(decimal(g.spec.value_dim));
        out.append(",\"kv_lora_rank\":").append(decimal(g.spec.kv_lora_rank));
        out.append(",\"rope_dim\":").append(decimal(g.spec.rope_dim));
        out.append(",\"state_elements\":").append(decimal(g.spec.state_elements));
        out.append(",\"tokens\":").append(decimal(g.tokens));
        out.append(",\"bytes\":").append(decimal(g.bytes)).append("}");
    }
    out.append("]");
    // The v2 cache spec of this cache (fib_quant_kv/sizing/spec.hpp); null, with a note, where v2 cannot say it.
    out.append(",\"spec\":");
    std::vector<std::string> notes = e.notes;
    if (const fqk::Result<fqk::KvCacheSpecV2> spec = sz::cache_spec(config.cache, e, options)) {
        fqk::append_json(out, *spec);
    } else {
        out.append("null");
        notes.push_back("spec: " + spec.error().message);
    }
    if (e.max_tokens) out.append(",\"max_tokens\":").append(decimal(*e.max_tokens));
    if (e.max_sequences) out.append(",\"max_sequences\":").append(decimal(*e.max_sequences));
    out.append(",\"notes\":");
    append_notes(out, notes);
    return out.append("}");
}

// ---------------------------------------------------------------------------------------------- the run

int fail(const Options& o, const fqk::Error& e) {
    std::fprintf(stderr, "kvshape from-hf-config: %s: %s\n", o.config.c_str(), e.describe().c_str());
    return kExitInvalid;
}

int write_out(const std::string& out) {
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "kvshape from-hf-config: error writing output: %s\n", std::strerror(errno));
        return kExitUsage;
    }
    return kExitValid;
}

int run_from_hf_config(Options o) {
    const fqk::Result<std::vector<std::uint32_t>> tokens = fqk::parse_token_counts(o.tokens);
    if (!tokens) {
        std::fprintf(stderr, "kvshape from-hf-config: --tokens: %s\n", tokens.error().message.c_str());
        return kExitUsage;
    }
    // A model's folder (a Hugging Face snapshot) stands for its config.json.
    if (std::error_code ec; o.config != "-" && std::filesystem::is_directory(o.config, ec)) {
        o.config = (std::filesystem::path(o.config) / "config.json").string();
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
    if (!config) return fail(o, config.error());

    fqk::HfSizeOptions v1;
    v1.batch = o.batch;
    v1.dtype = o.dtype;
    v1.key_rope = o.rope;
    const bool json = o.format == "json";
    const bool explicit_engines = !o.engines.empty();
    std::vector<sz::Engine> engines = o.engines;
    if (!json && !explicit_engines) engines.assign(std::begin(sz::kEngines), std::end(sz::kEngines));

    // The contiguous upper bound: every KV layer at the full length, in the v1 dtype (--dtype or torch_dtype).
    // JSON without --engine keeps today's contract: no dtype, no row. The text table shows "-" and says why.
    const fqk::Result<fqk::KvDType> v1_dtype = fqk::cache_dtype(*config, v1);
    if (!v1_dtype && json && !explicit_engines) return fail(o, v1_dtype.error());
    auto contiguous = [&](std::uint32_t t, std::uint32_t batch) -> fqk::Result<std::uint64_t> {
        return sz::contiguous_bytes(config->cache, t, batch, static_cast<std::uint32_t>(fqk::byte_size(*v1_dtype)));
    };

    // The v1 rows, where the descriptor can describe the cache.
    std::vector<fqk::KvCacheSize> rows;
    if (!explicit_engines && !config->v1_refusal && v1_dtype) {
        fqk::Result<std::vector<fqk::KvCacheSize>> r = fqk::size_kv_cache(*config, *tokens, v1);
        if (!r) return fail(o, r.error());
        rows = std::move(*r);
    }

    sz::EngineOptions eo = o.engine;
    eo.batch = o.batch;
    if (!o.kv_dtype_given && o.dtype) {  // --dtype alone: the engines' cache dtype too
        eo.kv_dtype = *o.dtype == fqk::KvDType::f16    ? sz::CacheDType::f16
                      : *o.dtype == fqk::KvDType::bf16 ? sz::CacheDType::bf16
                                                       : sz::CacheDType::f32;
    }

    std::string out;
    if (json && !explicit_engines) {
        for (std::size_t i = 0; i < tokens->size(); ++i) {
            if (!config->v1_refusal) {
                out.append(fqk::to_json(rows[i])).push_back('\n');
                continue;
            }
            fqk::Result<std::uint64_t> total = contiguous((*tokens)[i], o.batch);
            fqk::Result<std::uint64_t> per_token = contiguous(1, 1);
            if (!total) return fail(o, total.error());
            if (!per_token) return fail(o, per_token.error());
            out.append(contiguous_row_json(*config, *per_token, *total, config->v1_refusal->message)).push_back('\n');
        }
        return write_out(out);
    }

    // Every engine at every token count; with engines chosen by default (text), one that refuses the options
    // shows "-" and says why in a note.
    struct Cell {
        std::optional<sz::EngineSize> size;
        std::string refusal;
    };
    std::vector<std::vector<Cell>> cells(tokens->size(), std::vector<Cell>(engines.size()));
    for (std::size_t i = 0; i < tokens->size(); ++i) {
        for (std::size_t j = 0; j < engines.size(); ++j) {
            fqk::Result<sz::EngineSize> r = sz::size_cache(config->cache, engines[j], (*tokens)[i], eo);
            if (!r) {
                if (explicit_engines || r.error().kind != fqk::ErrorKind::unsupported) return fail(o, r.error());
                cells[i][j].refusal = r.error().message;
                continue;
            }
            cells[i][j].size = std::move(*r);
        }
    }
    std::vector<std::optional<std::uint64_t>> contiguous_totals(tokens->size());
    for (std::size_t i = 0; i < tokens->size(); ++i) {
        if (!v1_dtype) continue;
        fqk::Result<std::uint64_t> c = contiguous((*tokens)[i], o.batch);
        if (!c) return fail(o, c.error());
        contiguous_totals[i] = *c;
    }

    if (json) {
        for (std::size_t i = 0; i < tokens->size(); ++i) {
            for (std::size_t j = 0; j < engines.size(); ++j) {
                out.append(engine_row_json(*config, *cells[i][j].size, contiguous_totals[i], eo)).push_back('\n');
            }
        }
        return write_out(out);
    }

    // Text: the model, then one table of token counts with the contiguous bound and each engine's figure.
    const sz::CacheModel& model = config->cache;
    fqk::detail::append_text(out, config->model_type ? std::string_view(*config->model_type) : "(no model_type)");
    out.append(": ").append(layer_summary(model));
    if (!rows.empty()) {
        const fqk::KvTensorShapeV1& k = rows.front().key;
        out.append(", ").append(count(k.query_heads, "query head")).append(", ");
        out.append(count(k.kv_heads, "KV head")).append(" (").append(fqk::to_string(k.attention_kind));
        out.append("), head_dim ").append(decimal(k.head_dim)).append(", ").append(fqk::to_string(k.dtype));
        out.append(", key ").append(fqk::to_string(k.rope_state));
    } else if (v1_dtype) {
        out.append(", ").append(fqk::to_string(*v1_dtype));
    }
    out.append(", batch ").append(decimal(o.batch)).append("\n");
    if (!rows.empty()) {
        out.append("K+V per token: ").append(human_bytes(rows.front().bytes_per_token)).append(" (");
        out.append(decimal(rows.front().bytes_per_token)).append(" bytes), contiguous\n");
    }
    out.append("    tokens      contiguous");
    for (const sz::Engine e : engines) pad_left(out, sz::to_string(e), 16);
    out.append("\n");
    for (std::size_t i = 0; i < tokens->size(); ++i) {
        pad_left(out, decimal((*tokens)[i]), 10);
        pad_left(out, contiguous_totals[i] ? human_bytes(*contiguous_totals[i]) : "-", 16);
        for (const Cell& c : cells[i]) pad_left(out, c.size ? human_bytes(c.size->total_bytes) : "-", 16);
        out.append("\n");
    }
    if (eo.memory) {
        out.append("in ").append(human_bytes(*eo.memory)).append(": max tokens (one sequence; vllm: its cache "
                                                                  "size) / max sequences of each length\n");
        for (std::size_t i = 0; i < tokens->size(); ++i) {
            pad_left(out, decimal((*tokens)[i]), 10);
            pad_left(out, "", 16);
            for (const Cell& c : cells[i]) {
                pad_left(out,
                         c.size && c.size->max_tokens
                             ? decimal(*c.size->max_tokens).append(" / ").append(decimal(c.size->max_sequences.value_or(0)))
                             : "-",
                         16);
            }
            out.append("\n");
        }
    }
    if (!rows.empty()) {
        out.append("    tokens  key digest                        value digest\n");
        for (const fqk::KvCacheSize& row : rows) {
            pad_left(out, decimal(row.key.tokens), 10);
            out.append("  ").append(fqk::digest(row.key).value().hex());
            out.append("  ").append(fqk::digest(row.value).value().hex()).append("\n");
        }
    }
    // Notes once each, in order: the v1 row's, the reader's, each engine's (from its first token count).
    std::vector<std::string> notes = config->notes;
    if (config->v1_refusal) notes.push_back("no v1 descriptor: " + config->v1_refusal->message);
    if (!v1_dtype) notes.push_back("no contiguous bound: " + v1_dtype.error().message);
    // An engine's notes from its first token count (those of the others differ only in the numbers).
    for (std::size_t j = 0; j < engines.size(); ++j) {
        for (std::size_t i = 0; i < tokens->size(); ++i) {
            const Cell& c = cells[i][j];
            std::vector<std::string> here;
            if (c.size && i == 0) {
                here = c.size->notes;
            } else if (!c.size) {
                here.push_back(c.refusal);
            }
            for (std::string& n : here) {
                if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(std::move(n));
            }
        }
    }
    for (const std::string& note : notes) {
        out.append("note: ");
        fqk::detail::append_text(out, note);
        out.append("\n");
    }
    return write_out(out);
}

}  // namespace

Run add_from_hf_config(CLI::App& command) {
    auto o = std::make_shared<Options>();
    command.add_option("config", o->config, "the model's config.json (or its folder), or - for standard input")
        ->required();
    command.add_option("--tokens", o->tokens, "context length in tokens, or a comma-separated list of them")
        ->required()
        ->type_name("T[,T...]");
    const auto positive = CLI::Validator(
        [](std::string& text) {
            const std::optional<std::uint32_t> v = parse_u32(text);
            return v && *v > 0 ? std::string() : "expected an integer from 1 to 4294967295, got '" + text + "'";
        },
        "N");
    command
        .add_option_function<std::string>(
            "--batch", [o](const std::string& text) { o->batch = *parse_u32(text); },
            "sequences in the batch (default 1)")
        ->type_name("B")
        ->check(positive);
    command
        .add_option_function<std::string>(
            "--dtype", [o](const std::string& text) { o->dtype = fqk::parse_kv_dtype(text); },
            "the v1 descriptors' element type (default: the config's torch_dtype)")
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
    command
        .add_option_function<std::string>(
            "--engine",
            [o](const std::string& text) {
                std::string_view rest = text;
                while (true) {
                    const std::size_t comma = rest.find(',');
                    const std::optional<sz::Engine> e = sz::parse_engine(rest.substr(0, comma));
                    if (e && std::find(o->engines.begin(), o->engines.end(), *e) == o->engines.end()) {
                        o->engines.push_back(*e);
                    }
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
            },
            "size the cache as this engine allocates it (hf, vllm, llama.cpp; a comma-separated list for several)")
        ->type_name("hf|vllm|llama.cpp")
        ->check(CLI::Validator(
            [](std::string& text) {
                std::string_view rest = text;
                while (true) {
                    const std::size_t comma = rest.find(',');
                    if (!sz::parse_engine(rest.substr(0, comma))) {
                        return "expected hf, vllm or llama.cpp, got '" + text + "'";
                    }
                    if (comma == std::string_view::npos) return std::string();
                    rest.remove_prefix(comma + 1);
                }
            },
            "ENGINE"));
    command
        .add_option_function<std::string>(
            "--kv-dtype",
            [o](const std::string& text) {
                o->engine.kv_dtype = *sz::parse_cache_dtype(text);
                o->kv_dtype_given = true;
            },
            "the engines' cache element type (default auto: each engine's own choice)")
        ->type_name("auto|f16|bf16|f32|fp8_e4m3|fp8_e5m2|q8_0|q4_0|q4_1|q5_0|q5_1|iq4_nl")
        ->check(CLI::Validator(
            [](std::string& text) {
                return sz::parse_cache_dtype(text) ? std::string() : "unknown cache dtype '" + text + "'";
            },
            "KV_DTYPE"));
    command
        .add_option_function<std::string>(
            "--block-size", [o](const std::string& text) { o->engine.block_size = *parse_u32(text); },
            "vllm: tokens per block (default 16)")
        ->type_name("N")
        ->check(positive);
    command
        .add_option_function<std::string>(
            "--max-num-batched-tokens",
            [o](const std::string& text) { o->engine.max_num_batched_tokens = *parse_u32(text); },
            "vllm: tokens scheduled per step (default 8192, vllm serve's on a large GPU)")
        ->type_name("N")
        ->check(positive);
    command
        .add_option_function<std::string>(
            "--ubatch", [o](const std::string& text) { o->engine.ubatch = *parse_u32(text); },
            "llama.cpp: the physical batch, n_ubatch (default 512)")
        ->type_name("N")
        ->check(positive);
    command
        .add_option_function<std::string>(
            "--memory", [o](const std::string& text) { o->engine.memory = sz::parse_memory_size(text).value(); },
            "memory for the cache (e.g. 24GiB): adds max_tokens and max_sequences")
        ->type_name("SIZE")
        ->check(CLI::Validator(
            [](std::string& text) {
                const fqk::Result<std::uint64_t> r = sz::parse_memory_size(text);
                return r ? std::string() : r.error().message;
            },
            "SIZE"));
    command.add_option("--format", o->format, "text (a table with human units) or json (one object per "
                                              "token count, and per engine with --engine)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    return [o] { return run_from_hf_config(*o); };
}

}  // namespace kvshape
