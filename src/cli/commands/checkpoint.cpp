// kvshape checkpoint inspect|attach|verify|detach: descriptors inside safetensors and GGUF files, over the
// library's checkpoint module (fib_quant_kv/formats/checkpoint.hpp; docs/checkpoints.md).
//
//   kvshape checkpoint inspect FILE [--format text|json]   the tensor table and the attached descriptors
//   kvshape checkpoint attach FILE --shape SHAPE.json (--tensor NAME | --tensors PATTERN) -o OUT [--quiet]
//   kvshape checkpoint attach FILE --shape SPEC_V2.json --key-tensors PATTERN [--value-tensors PATTERN]
//                             [--name NAME] -o OUT [--quiet]
//   kvshape checkpoint verify FILE                         every attached descriptor and spec against its tensors
//   kvshape checkpoint detach FILE (--tensor NAME | --tensors PATTERN | --name NAME) -o OUT [--quiet]
//
// Exit status: 0 ok (verify: every descriptor agrees), 1 a descriptor that is invalid or disagrees with its
// tensors (each named on stderr), 2 usage, or a file that cannot be read as a checkpoint.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "cli/commands.hpp"
#include "cli/descriptor_input.hpp"
#include "cli/io.hpp"
#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/formats/checkpoint.hpp"
#include "fib_quant_kv/hf_config.hpp"
#include "internal/text.hpp"

namespace kvshape {
namespace {

namespace fqk = fib_quant_kv;
namespace ck = fib_quant_kv::checkpoint;

/// The exit status of a library error about the file itself: it cannot be read, or is not a valid checkpoint.
int report_file_error(const char* command, const std::string& file, const fqk::Error& e) {
    std::fprintf(stderr, "kvshape checkpoint %s: %s: %s\n", command, file.c_str(), e.describe().c_str());
    return kExitUsage;
}

// ---------------------------------------------------------------------------------------------- progress

/// Progress of a long copy on stderr, when it is a terminal and not --quiet: bytes, rate, time left, redrawn
/// at most five times a second; silent otherwise.
class ProgressLine {
  public:
    explicit ProgressLine(bool quiet) : shown_(!quiet && ::isatty(STDERR_FILENO) == 1) {}
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;
    ~ProgressLine() {
        if (drawn_) std::fputc('\n', stderr);
    }

    [[nodiscard]] ck::Progress callback() {
        if (!shown_) return {};
        return [this](std::uint64_t done, std::uint64_t total) { draw(done, total); };
    }

  private:
    using Clock = std::chrono::steady_clock;

    void draw(std::uint64_t done, std::uint64_t total) {
        const Clock::time_point now = Clock::now();
        if (done < total && drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
        last_ = now;
        drawn_ = true;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
        std::string line = "\rcopying tensor data: " + human_bytes(done) + " of " + human_bytes(total);
        if (rate > 0) {
            line += ", " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
            if (done < total) {
                line += ", " + std::to_string(static_cast<std::uint64_t>(static_cast<double>(total - done) / rate)) +
                        " s left";
            }
        }
        line += "    ";
        std::fputs(line.c_str(), stderr);
        std::fflush(stderr);
    }

    bool shown_;
    bool drawn_ = false;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_{};
};

// ---------------------------------------------------------------------------------------------- inspect

std::string shape_text(const std::vector<std::uint64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s.append(i ? ", " : "").append(std::to_string(shape[i]));
    return s + "]";
}

void append_key(std::string& out, std::string_view key) {
    if (out.back() != '{') out.push_back(',');
    fqk::detail::append_json_string(out, key);
    out.push_back(':');
}

void append_string(std::string& out, std::string_view key, std::string_view value) {
    append_key(out, key);
    fqk::detail::append_json_string(out, value);
}

void append_number(std::string& out, std::string_view key, std::uint64_t value) {
    append_key(out, key);
    fqk::detail::append_decimal(out, value);
}

/// `"key":[...]`, `each(out, item)` appending one element per item, separated by commas.
template <class Items, class Each>
void append_list(std::string& out, std::string_view key, const Items& items, Each each) {
    append_key(out, key);
    out.push_back('[');
    bool first = true;
    for (const auto& item : items) {
        if (!first) out.push_back(',');
        first = false;
        each(out, item);
    }
    out.push_back(']');
}

void append_decimal_item(std::string& out, std::uint64_t value) { fqk::detail::append_decimal(out, value); }
void append_string_item(std::string& out, const std::string& text) { fqk::detail::append_json_string(out, text); }

/// The shortest text that reads back as the same float (std::to_string's fixed six decimals would show an
/// epsilon of 1e-7 as 0.000000).
template <class Float>
std::string shortest_text(Float f) {
    char buf[64];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, f);
    return std::string(buf, r.ptr);
}

/// The metadata value as text: strings as they are, scalars as numbers (floats in their shortest round-trip
/// form), arrays summarised.
std::string value_text(const ck::MetadataValue& v) {
    using T = ck::ValueType;
    switch (v.type) {
        case T::string: return v.text;
        case T::array: return std::string(ck::to_string(v.element_type)) + "[" + std::to_string(v.count) + "]";
        case T::boolean: return v.bits ? "true" : "false";
        case T::int8:
        case T::int16:
        case T::int32:
        case T::int64: return std::to_string(v.signed_value());
        case T::float32: return shortest_text(v.float32_value());
        case T::float64: return shortest_text(v.float64_value());
        default: return std::to_string(v.bits);
    }
}

/// `"digest":"…","error":null`, or `"digest":null,"error":"…"`.
void append_digest(std::string& o, const fqk::Result<fqk::Digest>& digest) {
    append_key(o, "digest");
    if (digest) {
        fqk::detail::append_json_string(o, digest->hex());
    } else {
        o.append("null");
    }
    append_key(o, "error");
    if (!digest) {
        fqk::detail::append_json_string(o, digest.error().describe());
    } else {
        o.append("null");
    }
}

std::string inspect_json(const std::string& file, const ck::Inspection& in) {
    const ck::Header& h = in.header;
    std::string out = "{";
    append_string(out, "file", file);
    append_string(out, "format", ck::to_string(h.format));
    append_number(out, "version", h.version);
    append_number(out, "data_offset", h.data_offset);
    append_number(out, "alignment", h.alignment);
    append_list(out, "tensors", h.tensors, [](std::string& o, const ck::TensorInfo& t) {
        o.push_back('{');
        append_string(o, "name", t.name);
        append_string(o, "dtype", t.dtype);
        append_list(o, "shape", t.shape, append_decimal_item);
        append_number(o, "begin", t.begin);
        append_number(o, "end", t.end);
        o.push_back('}');
    });
    append_list(out, "metadata", h.metadata, [](std::string& o, const ck::MetadataEntry& m) {
        o.push_back('{');
        append_string(o, "key", m.key);
        append_string(o, "type", ck::to_string(m.value.type));
        append_string(o, "value", value_text(m.value));
        o.push_back('}');
    });
    append_list(out, "descriptors", in.descriptors, [](std::string& o, const ck::AttachedDescriptor& d) {
        o.push_back('{');
        append_string(o, "key", d.key);
        append_string(o, "target", d.target);
        append_string(o, "layout", d.per_layer ? "per_layer" : "canonical");
        append_key(o, "descriptor");
        if (d.shape) {
            fqk::append_json(o, *d.shape);
        } else {
            o.append("null");
        }
        const fqk::Result<fqk::Digest> digest =
            d.shape ? fqk::digest(*d.shape) : fqk::Result<fqk::Digest>(d.error.value_or(fqk::Error{}));
        append_digest(o, digest);
        append_list(o, "tensors", d.tensors, append_string_item);
        o.push_back('}');
    });
    append_list(out, "specs", in.specs, [](std::string& o, const ck::AttachedSpec& a) {
        o.push_back('{');
        append_string(o, "name", a.name);
        append_string(o, "key_tensors", a.tensors.keys);
        append_string(o, "value_tensors", a.tensors.values);
        append_key(o, "spec");
        if (a.spec) {
            o.append(fqk::to_json(*a.spec));
        } else {
            o.append("null");
        }
        const fqk::Result<fqk::Digest> digest =
            a.spec ? fqk::digest(*a.spec) : fqk::Result<fqk::Digest>(a.error.value_or(fqk::Error{}));
        append_digest(o, digest);
        append_list(o, "tensors", a.covered, append_string_item);
        o.push_back('}');
    });
    out.append("}\n");
    return out;
}

std::string inspect_text(const std::string& file, const ck::Inspection& in) {
    const ck::Header& h = in.header;
    std::string out = file + ": " + std::string(ck::to_string(h.format));
    if (h.format == ck::Format::gguf) out += " v" + std::to_string(h.version);
    out += ", " + std::to_string(h.tensors.size()) + " tensor" + (h.tensors.size() == 1 ? "" : "s") +
           ", data from byte " + std::to_string(h.data_offset) + " (aligned to " + std::to_string(h.alignment) +
           "), " + human_bytes(h.file_size) + "\n";
    out += "tensors:\n";
    for (const ck::TensorInfo& t : h.tensors) {
        out += "  " + t.name + "  " + t.dtype + "  " + shape_text(t.shape) + "  bytes [" + std::to_string(t.begin) +
               ", " + std::to_string(t.end) + ")\n";
    }
    out += "metadata: " + std::to_string(h.metadata.size()) + " pair" + (h.metadata.size() == 1 ? "" : "s") + "\n";
    out += "descriptors: " + std::to_string(in.descriptors.size()) + "\n";
    for (const ck::AttachedDescriptor& d : in.descriptors) {
        out += "  " + d.target + (d.per_layer ? " (one tensor per layer, " : " (one tensor, ") +
               std::to_string(d.tensors.size()) + " present) under " + d.key + "\n";
        if (!d.shape) {
            out += "    does not decode: " + d.error.value_or(fqk::Error{}).describe() + "\n";
            continue;
        }
        out += "    " + fqk::to_json(*d.shape) + "\n";
        const fqk::Result<fqk::Digest> digest = fqk::digest(*d.shape);
        out += "    digest " + (digest ? digest->hex() : "none: " + digest.error().describe()) + "\n";
    }
    if (!in.specs.empty()) out += "specs: " + std::to_string(in.specs.size()) + "\n";  // v1-only output as it was
    for (const ck::AttachedSpec& a : in.specs) {
        out += "  " + a.name + " (K " + a.tensors.keys + (a.tensors.values.empty() ? "" : ", V " + a.tensors.values) +
               ", " + std::to_string(a.covered.size()) + " tensors present) under " +
               std::string(ck::kSpecKeyPrefix) + a.name + ".*\n";
        if (!a.spec) {
            out += "    does not decode: " + a.error.value_or(fqk::Error{}).describe() + "\n";
            continue;
        }
        out += "    " + fqk::to_json(*a.spec) + "\n";
        const fqk::Result<fqk::Digest> digest = fqk::digest(*a.spec);
        out += "    digest " + (digest ? digest->hex() : "none: " + digest.error().describe()) + "\n";
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- the commands

struct Target {
    std::string tensor;
    std::string pattern;
    [[nodiscard]] const std::string& name() const { return tensor.empty() ? pattern : tensor; }
};

void add_target_options(CLI::App& sub, Target& t) {
    CLI::Option* one = sub.add_option("--tensor", t.tensor, "one tensor in the canonical layout")->type_name("NAME");
    CLI::Option* group = sub.add_option("--tensors", t.pattern,
                                        "a group of per-layer tensors, named with {layer} (e.g. past.{layer}.key)")
                             ->type_name("PATTERN");
    one->excludes(group);
    group->excludes(one);
}

bool require_target(const char* command, const Target& t) {
    if (!t.name().empty()) return true;
    std::fprintf(stderr, "kvshape checkpoint %s: say which tensors: --tensor NAME or --tensors PATTERN\n", command);
    return false;
}

/// A flag for a pattern given with --tensor or a name with --tensors, which would otherwise be taken silently.
bool target_matches_option(const char* command, const Target& t) {
    if (!t.tensor.empty() && ck::is_pattern(t.tensor)) {
        std::fprintf(stderr, "kvshape checkpoint %s: --tensor %s holds {layer}: use --tensors for a group\n", command,
                     t.tensor.c_str());
        return false;
    }
    if (!t.pattern.empty() && !ck::is_pattern(t.pattern)) {
        std::fprintf(stderr, "kvshape checkpoint %s: --tensors %s has no {layer}: use --tensor for one tensor\n",
                     command, t.pattern.c_str());
        return false;
    }
    return true;
}

int run_inspect(const std::string& file, const std::string& format) {
    const fqk::Result<ck::Inspection> in = ck::inspect(file);
    if (!in) return report_file_error("inspect", file, in.error());
    const std::string out = format == "json" ? inspect_json(file, *in) : inspect_text(file, *in);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitValid : kExitUsage;
}

int run_verify(const std::string& file) {
    const fqk::Result<ck::Inspection> in = ck::inspect(file);  // the header, read once
    if (!in) return report_file_error("verify", file, in.error());
    const std::vector<fqk::Error> problems = ck::verify(*in);
    for (const fqk::Error& e : problems) {
        std::fprintf(stderr, "kvshape checkpoint verify: %s: %s\n", file.c_str(), e.describe().c_str());
    }
    if (!problems.empty()) return kExitInvalid;
    const std::size_t n = in->descriptors.size();
    std::string specs;  // said only when there are any, so v1-only output stays as it was
    if (!in->specs.empty())
        specs = " and " + std::to_string(in->specs.size()) + " cache spec" + (in->specs.size() == 1 ? "" : "s");
    std::printf("%s: %zu descriptor%s%s, every one agrees with its tensors\n", file.c_str(), n, n == 1 ? "" : "s",
                specs.c_str());
    return kExitValid;
}

/// Where a v2 spec goes: its name and tensor patterns (--name, --key-tensors, --value-tensors).
struct SpecTarget {
    std::string name;
    ck::SpecTensors tensors;
};

int report_problems(const char* command, const std::string& file, const std::vector<fqk::Error>& problems) {
    for (const fqk::Error& e : problems) {
        std::fprintf(stderr, "kvshape checkpoint %s: %s: %s\n", command, file.c_str(), e.describe().c_str());
    }
    // A malformed pattern or name is a usage error, as it is for detach; not a disagreement.
    if (problems.size() == 1 && (problems.front().rule == ck::rules::target ||
                                 problems.front().rule == ck::rules::spec_tensors ||
                                 problems.front().rule == ck::rules::spec_name))
        return kExitUsage;
    return problems.empty() ? kExitValid : kExitInvalid;
}

int run_attach_spec(const std::string& file, const fqk::KvCacheSpecV2& spec, const SpecTarget& target,
                    const std::string& out, bool quiet) {
    if (fqk::Status st = ck::check_spec_name(target.name); !st)
        return report_problems("attach", file, {std::move(st).error()});
    const fqk::Result<ck::Header> header = ck::read_header(file);
    if (!header) return report_file_error("attach", file, header.error());
    // Every disagreement first, each named; attach_spec() itself would stop at the first.
    if (const int status = report_problems("attach", file, ck::check_spec(*header, spec, target.tensors));
        status != kExitValid)
        return status;
    ProgressLine progress(quiet);
    ck::WriteOptions options;
    options.progress = progress.callback();
    const fqk::Status st = ck::attach_spec(file, out, spec, target.name, target.tensors, options);
    if (!st) return report_file_error("attach", out, st.error());
    return kExitValid;
}

int run_attach(const std::string& file, const std::string& shape_path, const Target& target,
               const SpecTarget& spec_target, const std::string& out, bool quiet) {
    const std::optional<DescriptorInput> in = read_descriptor("checkpoint attach", shape_path);
    if (!in) return kExitUsage;
    const bool v2 = in->claims<fqk::KvCacheSpecV2>();
    if (v2 != !spec_target.tensors.keys.empty() || (!v2 && !spec_target.tensors.values.empty())) {
        std::fprintf(stderr, "kvshape checkpoint attach: %s\n",
                     v2 ? "a v2 cache spec says where its tensors are with --key-tensors PATTERN [--value-tensors "
                          "PATTERN], not --tensor or --tensors"
                        : "--key-tensors and --value-tensors are for a v2 cache spec; a v1 descriptor takes --tensor "
                          "NAME or --tensors PATTERN");
        return kExitUsage;
    }
    if (v2) {
        if (!in->descriptor) {
            std::fprintf(stderr, "kvshape checkpoint attach: %s: %s\n", shape_path.c_str(),
                         in->descriptor.error().describe().c_str());
            return kExitInvalid;
        }
        return run_attach_spec(file, std::get<fqk::KvCacheSpecV2>(*in->descriptor), spec_target, out, quiet);
    }
    if (!require_target("attach", target) || !target_matches_option("attach", target)) return kExitUsage;
    if (!in->descriptor) {
        std::fprintf(stderr, "kvshape checkpoint attach: %s: %s\n", shape_path.c_str(),
                     in->descriptor.error().describe().c_str());
        return kExitInvalid;
    }
    const fqk::KvTensorShapeV1& shape = std::get<fqk::KvTensorShapeV1>(*in->descriptor);
    const fqk::Result<ck::Header> header = ck::read_header(file);
    if (!header) return report_file_error("attach", file, header.error());
    // Every disagreement first, each named; attach() itself would stop at the first.
    if (const int status = report_problems("attach", file, ck::check_descriptor(*header, shape, target.name()));
        status != kExitValid)
        return status;
    ProgressLine progress(quiet);
    ck::WriteOptions options;
    options.progress = progress.callback();
    const fqk::Status st = ck::attach(file, out, shape, target.name(), options);
    if (!st) return report_file_error("attach", out, st.error());
    return kExitValid;
}

int run_detach(const std::string& file, const Target& target, const std::string& spec_name, const std::string& out,
               bool quiet) {
    if (!spec_name.empty() && !target.name().empty()) {
        std::fprintf(stderr, "kvshape checkpoint detach: say one: --name NAME (a v2 spec) or --tensor/--tensors\n");
        return kExitUsage;
    }
    if (spec_name.empty() && (!require_target("detach", target) || !target_matches_option("detach", target)))
        return kExitUsage;
    ProgressLine progress(quiet);
    ck::WriteOptions options;
    options.progress = progress.callback();
    const fqk::Status st = spec_name.empty() ? ck::detach(file, out, target.name(), options)
                                             : ck::detach_spec(file, out, spec_name, options);
    if (!st) {
        if (st.error().rule == ck::rules::not_attached) {
            std::fprintf(stderr, "kvshape checkpoint detach: %s: %s\n", file.c_str(), st.error().describe().c_str());
            return kExitInvalid;
        }
        if (st.error().rule == ck::rules::spec_name) return report_problems("detach", file, {st.error()});
        return report_file_error("detach", file, st.error());
    }
    return kExitValid;
}

struct State {
    std::string file;
    std::string format = "text";
    std::string shape;
    std::string out;
    Target target;
    SpecTarget spec{std::string(ck::kDefaultSpecName), {}};
    std::string detach_name;
    bool quiet = false;
};

}  // namespace

Run add_checkpoint(CLI::App& command) {
    auto s = std::make_shared<State>();
    command.require_subcommand(1);
    CLI::App* inspect = command.add_subcommand("inspect", "List the tensors (name, dtype, shape, byte range) and the "
                                                          "descriptors attached to them");
    inspect->add_option("file", s->file, "a safetensors or GGUF file")->required();
    inspect->add_option("--format", s->format, "text or json")->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    CLI::App* attach = command.add_subcommand("attach", "Validate a descriptor against its tensors and store it in "
                                                        "the file's metadata, written atomically to OUT");
    attach->add_option("file", s->file, "a safetensors or GGUF file")->required();
    attach->add_option("--shape", s->shape,
                       "the v1 descriptor (JSON or FlatBuffers) or v2 cache spec (JSON); - for standard input")
        ->required();
    add_target_options(*attach, s->target);
    attach->add_option("--key-tensors", s->spec.tensors.keys,
                       "v2: each layer's K tensor (with K and V stacked, its one tensor), named with {layer}")
        ->type_name("PATTERN");
    attach->add_option("--value-tensors", s->spec.tensors.values,
                       "v2: each layer's V tensor, named with {layer} (K and V separate)")
        ->type_name("PATTERN");
    attach->add_option("--name", s->spec.name, "v2: the name the spec is stored under, a lower_snake_case segment")
        ->capture_default_str();
    attach->add_option("-o,--output", s->out, "the file to write (may be FILE itself)")->required();
    attach->add_flag("--quiet", s->quiet, "no progress on a terminal");
    CLI::App* verify = command.add_subcommand("verify", "Check every attached descriptor against its tensors");
    verify->add_option("file", s->file, "a safetensors or GGUF file")->required();
    CLI::App* detach = command.add_subcommand("detach", "Remove a descriptor from the file's metadata, written "
                                                        "atomically to OUT");
    detach->add_option("file", s->file, "a safetensors or GGUF file")->required();
    add_target_options(*detach, s->target);
    detach->add_option("--name", s->detach_name, "v2: the name of the spec to remove");
    detach->add_option("-o,--output", s->out, "the file to write (may be FILE itself)")->required();
    detach->add_flag("--quiet", s->quiet, "no progress on a terminal");
    return [s, inspect, attach, verify, detach] {
        if (inspect->parsed()) return run_inspect(s->file, s->format);
        if (attach->parsed()) return run_attach(s->file, s->shape, s->target, s->spec, s->out, s->quiet);
        if (verify->parsed()) return run_verify(s->file);
        if (detach->parsed()) return run_detach(s->file, s->target, s->detach_name, s->out, s->quiet);
        return kExitUsage;
    };
}

}  // namespace kvshape
