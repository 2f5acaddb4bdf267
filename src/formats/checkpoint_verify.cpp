// fib_quant_kv: checkpoints, the descriptors and v2 cache specs in a header: finding them (attached_descriptors,
// attached_specs, inspect) and checking them against their tensors (check_descriptor, check_spec, verify).
// Depends on reading and on targets.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "fib_quant_kv/cache_spec.hpp"
#include "fib_quant_kv/formats/checkpoint.hpp"
#include "formats/checkpoint_targets.hpp"
#include "formats/input.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv::checkpoint {
namespace {

using fib_quant_kv::detail::make_error;
using fib_quant_kv::detail::quote;

constexpr std::string_view kDtypeFields[] = {"dtype"};
constexpr std::string_view kShapeFields[] = {"batch", "layers", "kv_heads", "tokens", "head_dim"};
constexpr std::string_view kLayersFields[] = {"layers"};

Error mismatch(std::string_view rule, std::span<const std::string_view> fields, std::string message) {
    return make_error(ErrorKind::tensor_mismatch, rule, std::move(message), Error::no_offset, fields);
}

void check_tensor(const TensorInfo& t, const KvTensorShapeV1& s, const std::vector<std::uint64_t>& layout,
                  std::vector<Error>& out) {
    if (t.kv_dtype != s.dtype)
        out.push_back(mismatch(rules::dtype, kDtypeFields,
                               "tensor " + quote(t.name) + ": dtype " + t.dtype + ", the descriptor says " +
                                   std::string(to_string(s.dtype))));
    if (t.shape != layout)
        out.push_back(mismatch(rules::shape, kShapeFields,
                               "tensor " + quote(t.name) + ": shape " + detail::format_shape(t.shape) +
                                   ", the descriptor's layout is " + detail::format_shape(layout)));
    std::optional<std::uint64_t> bytes = std::uint64_t{byte_size(s.dtype)};
    for (std::uint64_t d : layout) bytes = bytes ? checked_mul(*bytes, d) : std::nullopt;
    if (!bytes || t.byte_length() != *bytes)
        out.push_back(mismatch(rules::byte_length, kShapeFields,
                               "tensor " + quote(t.name) + ": " + std::to_string(t.byte_length()) +
                                   " bytes, the descriptor needs " + (bytes ? std::to_string(*bytes) : std::string("over 2^64")) +
                                   " (element_count x " + std::to_string(byte_size(s.dtype)) + ")"));
}

/// Missing tensors, each named up to the 16th; the rest summed up in one error.
class MissingTensors {
  public:
    explicit MissingTensors(std::vector<Error>& out) : out_(out) {}
    template <class Message>
    void add(Message message) {
        if (total_++ < kListed) out_.push_back(mismatch(rules::missing_tensor, kLayersFields, message()));
    }
    /// "N more WHAT are not in the file (M of OF missing)", when some were not named.
    void sum_up(const std::string& what, std::uint64_t of) {
        if (total_ <= kListed) return;
        out_.push_back(mismatch(rules::missing_tensor, kLayersFields,
                                std::to_string(total_ - kListed) + " more " + what + " are not in the file (" +
                                    std::to_string(total_) + " of " + std::to_string(of) + " missing)"));
    }

  private:
    static constexpr std::uint64_t kListed = 16;
    std::vector<Error>& out_;
    std::uint64_t total_ = 0;
};

}  // namespace

std::vector<Error> check_descriptor(const Header& header, const KvTensorShapeV1& s, std::string_view target) {
    std::vector<Error> out;
    if (Status st = validate(s); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    if (Status st = detail::check_target(target); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    const std::optional<detail::Pattern> pattern = detail::split_pattern(target);
    if (!pattern) {
        const TensorInfo* t = header.find_tensor(target);
        if (t == nullptr) {
            out.push_back(mismatch(rules::missing_tensor, {}, "tensor " + quote(target) + " is not in the file"));
            return out;
        }
        check_tensor(*t, s, {s.batch, s.layers, s.kv_heads, s.tokens, s.head_dim}, out);
        return out;
    }
    const std::vector<std::uint64_t> layout{s.batch, s.kv_heads, s.tokens, s.head_dim};
    const auto found = detail::layer_tensors(header, *pattern, s.layers);
    MissingTensors missing(out);
    std::uint64_t next = 0;
    auto report_missing = [&](std::uint64_t from, std::uint64_t to) {  // layers [from, to) are absent
        for (std::uint64_t l = from; l < to; ++l)
            missing.add([&] {
                return "tensor " + quote(layer_tensor_name(target, static_cast<std::uint32_t>(l))) + " (layer " +
                       std::to_string(l) + " of " + std::to_string(s.layers) + ") is not in the file";
            });
    };
    for (const auto& [layer, index] : found) {
        if (layer > next) report_missing(next, layer);
        check_tensor(header.tensors[index], s, layout, out);
        next = std::uint64_t{layer} + 1;
    }
    if (s.layers > next) report_missing(next, s.layers);
    missing.sum_up("layers of " + quote(target), s.layers);
    return out;
}

std::vector<AttachedDescriptor> attached_descriptors(const Header& header) {
    std::vector<AttachedDescriptor> out;
    const bool gguf = header.format == Format::gguf;
    for (const MetadataEntry& e : header.metadata) {
        if (!e.key.starts_with(kDescriptorKeyPrefix)) continue;
        AttachedDescriptor d;
        d.key = e.key;
        d.target = e.key.substr(kDescriptorKeyPrefix.size());
        if (gguf) {  // NAME.descriptor with its target in NAME.tensors; NAME.tensors itself is not a descriptor
            if (e.key.ends_with(kDescriptorTensorsSuffix)) {
                // ... but one without its NAME.descriptor is half a pair, and says so rather than go unseen.
                const std::string descriptor_key = detail::gguf_descriptor_key(
                    std::string_view(d.target).substr(0, d.target.size() - kDescriptorTensorsSuffix.size()),
                    kDescriptorKeySuffix);
                if (header.find_metadata(descriptor_key) != nullptr) continue;
                d.target = e.value.as_string() != nullptr ? *e.value.as_string() : std::string{};
                d.error = make_error(ErrorKind::parse, rules::descriptor_keys,
                                     "key " + quote(d.key) + " names the tensors of a descriptor, but there is no " +
                                         quote(descriptor_key) + " beside it");
                out.push_back(std::move(d));
                continue;
            }
            if (e.key.ends_with(kDescriptorKeySuffix)) {
                const std::string_view name =
                    std::string_view(d.target).substr(0, d.target.size() - kDescriptorKeySuffix.size());
                const MetadataEntry* t = header.find_metadata(detail::gguf_descriptor_key(name, kDescriptorTensorsSuffix));
                if (t != nullptr && t->value.as_string() != nullptr) d.target = *t->value.as_string();
            }
        }
        d.per_layer = is_pattern(d.target);
        if (const std::string* text = e.value.as_string()) {
            d.json = *text;
            Result<KvTensorShapeV1> shape = parse_kv_tensor_shape_v1_json(d.json);
            if (shape) {
                d.shape = std::move(*shape);
            } else {
                Error err = std::move(shape).error();
                err.message = "descriptor " + quote(d.key) + ": " + err.message;
                d.error = std::move(err);
            }
        } else {
            d.error = make_error(ErrorKind::parse, rules::descriptor_type,
                                 "descriptor " + quote(d.key) + " is a " + std::string(to_string(e.value.type)) +
                                     ", not a string");
        }
        if (!d.per_layer) {
            if (header.find_tensor(d.target)) d.tensors.push_back(d.target);
        } else if (const std::optional<detail::Pattern> p = detail::split_pattern(d.target)) {
            const std::uint64_t layers = d.shape ? std::uint64_t{d.shape->layers} : std::uint64_t{1} << 32;
            for (const auto& [layer, index] : detail::layer_tensors(header, *p, layers))
                d.tensors.push_back(header.tensors[index].name);
        }
        out.push_back(std::move(d));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- v2 cache specs
namespace {

constexpr std::string_view kQuantFields[] = {"quant"};
constexpr std::string_view kStorageFields[] = {"groups", "storage"};

/// The format's dtype name of a tensor quantized with `scheme`; empty when the format has none.
std::string_view quantized_dtype(Format f, KvQuantScheme scheme) {
    switch (scheme) {
        case KvQuantScheme::fp8_e4m3: return f == Format::safetensors ? "F8_E4M3" : "";
        case KvQuantScheme::fp8_e5m2: return f == Format::safetensors ? "F8_E5M2" : "";
        case KvQuantScheme::int8: return "I8";
        default: return f == Format::gguf ? ggml_type(scheme) : "";
    }
}

std::string tensor_what(const TensorInfo& t, std::uint32_t layer, const StoredTensor& st) {
    std::string what = "tensor " + quote(t.name) + " (layer " + std::to_string(layer);
    if (st.role) what += std::string(", ") + (*st.role == KvRole::key ? "K" : "V");
    return what + ")";
}

void check_spec_tensor(const Header& h, const TensorInfo& t, const KvCacheSpecV2& spec, std::uint32_t layer,
                       const StoredTensor& st, std::vector<Error>& out) {
    const KvQuantization& q = spec.quant;
    const std::string what = tensor_what(t, layer, st);
    if (q.scheme == KvQuantScheme::none) {
        if (t.kv_dtype != q.dtype)
            out.push_back(mismatch(rules::dtype, kQuantFields,
                                   what + ": dtype " + t.dtype + ", the spec says " + std::string(to_string(q.dtype))));
    } else if (const std::string_view want = quantized_dtype(h.format, q.scheme); want.empty()) {
        out.push_back(mismatch(rules::dtype, kQuantFields,
                               what + ": " + std::string(to_string(h.format)) + " has no dtype for " +
                                   std::string(to_string(q.scheme)) + " elements"));
    } else if (t.dtype != want) {
        out.push_back(mismatch(rules::dtype, kQuantFields,
                               what + ": dtype " + t.dtype + ", the spec's " + std::string(to_string(q.scheme)) +
                                   " is stored as " + std::string(want)));
    }
    bool shape_ok = t.shape.size() == st.shape.size();
    for (std::size_t i = 0; shape_ok && i < st.shape.size(); ++i) {
        const bool at_least = st.block_is_minimum && st.dims[i] == KvDim::block;
        shape_ok = at_least ? t.shape[i] >= st.shape[i] : t.shape[i] == st.shape[i];
    }
    if (!shape_ok) {
        std::string layout = "[";
        for (std::size_t i = 0; i < st.shape.size(); ++i) {
            if (i) layout += ", ";
            layout += std::string(to_string(st.dims[i])) + " " + std::to_string(st.shape[i]);
            if (st.block_is_minimum && st.dims[i] == KvDim::block) layout += " or more";
        }
        out.push_back(mismatch(rules::shape, kStorageFields,
                               what + ": shape " + detail::format_shape(t.shape) + ", the spec's layout is " + layout +
                                   "]"));
        return;  // the byte length of another shape says nothing more
    }
    const std::optional<std::uint64_t> bytes = stored_bytes(q, t.shape);
    if (!bytes || t.byte_length() != *bytes)
        out.push_back(mismatch(rules::byte_length, kStorageFields,
                               what + ": " + std::to_string(t.byte_length()) + " bytes, the spec needs " +
                                   (bytes ? std::to_string(*bytes) : std::string("a whole number of blocks under 2^64"))));
}

/// Each layer's tensors, for a valid spec (its groups partition its layers): one lookup per group, each layer
/// pointing at its group's list.
struct LayerTensors {
    std::vector<std::vector<StoredTensor>> of_group;
    std::vector<const std::vector<StoredTensor>*> of_layer;

    explicit LayerTensors(const KvCacheSpecV2& spec) : of_layer(spec.layers, &none_) {
        of_group.reserve(spec.groups.size());
        for (const KvLayerGroup& g : spec.groups) {
            of_group.push_back(stored_tensors(spec, g));
            for (std::uint32_t layer : g.layers)
                if (layer < of_layer.size()) of_layer[layer] = &of_group.back();
        }
    }
    LayerTensors(const LayerTensors&) = delete;
    LayerTensors& operator=(const LayerTensors&) = delete;

  private:
    static inline const std::vector<StoredTensor> none_{};
};

}  // namespace

std::vector<Error> check_spec(const Header& header, const KvCacheSpecV2& spec, const SpecTensors& tensors) {
    std::vector<Error> out;
    if (Status st = validate(spec); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    if (Status st = detail::check_spec_tensors(spec, tensors); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    MissingTensors missing(out);
    const LayerTensors by_layer(spec);
    for (std::uint32_t layer = 0; layer < spec.layers; ++layer) {
        for (const StoredTensor& st : *by_layer.of_layer[layer]) {
            const std::string& pattern = st.role == KvRole::value ? tensors.values : tensors.keys;
            const std::string name = layer_tensor_name(pattern, layer);
            const TensorInfo* t = header.find_tensor(name);
            if (t == nullptr) {
                missing.add([&] {
                    return "tensor " + quote(name) + " (layer " + std::to_string(layer) + " of " +
                           std::to_string(spec.layers) + ") is not in the file";
                });
                continue;
            }
            check_spec_tensor(header, *t, spec, layer, st, out);
        }
    }
    missing.sum_up("tensors", spec.layers);
    return out;
}

std::vector<AttachedSpec> attached_specs(const Header& header) {
    std::vector<AttachedSpec> out;
    std::map<std::string, std::size_t, std::less<>> by_name;
    for (const MetadataEntry& e : header.metadata) {
        if (!e.key.starts_with(kSpecKeyPrefix)) continue;
        const std::string_view rest = std::string_view(e.key).substr(kSpecKeyPrefix.size());
        const std::size_t dot = rest.rfind('.');
        const std::string name(rest.substr(0, dot == std::string_view::npos ? 0 : dot));
        const std::string_view suffix = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot);
        auto [it, added] = by_name.try_emplace(name, out.size());
        if (added) {
            out.emplace_back();
            out.back().name = name;
        }
        AttachedSpec& a = out[it->second];
        const std::string* text = e.value.as_string();
        auto fail = [&](std::string message) {
            if (!a.error) a.error = make_error(ErrorKind::parse, rules::spec_keys, std::move(message));
        };
        if (text == nullptr) {
            fail("key " + quote(e.key) + " is a " + std::string(to_string(e.value.type)) + ", not a string");
        } else if (suffix == kSpecKeySpec) {
            a.json = *text;
        } else if (suffix == kSpecKeyKeyTensors) {
            a.tensors.keys = *text;
        } else if (suffix == kSpecKeyValueTensors) {
            a.tensors.values = *text;
        } else {
            fail("key " + quote(e.key) + " is not one of a spec's keys (NAME" + std::string(kSpecKeySpec) + ", NAME" +
                 std::string(kSpecKeyKeyTensors) + ", NAME" + std::string(kSpecKeyValueTensors) + ")");
        }
    }
    for (AttachedSpec& a : out) {
        if (!a.error) {
            if (Status st = check_spec_name(a.name); !st) a.error = std::move(st).error();
        }
        if (!a.error && (a.json.empty() || a.tensors.keys.empty()))
            a.error = make_error(ErrorKind::parse, rules::spec_keys,
                                 "needs both " + quote(a.name + std::string(kSpecKeySpec)) +
                                     " and " + quote(a.name + std::string(kSpecKeyKeyTensors)));
        if (a.error) {
            a.error->message = "spec " + quote(a.name) + ": " + a.error->message;
            continue;
        }
        Result<KvCacheSpecV2> spec = parse_kv_cache_spec_v2_json(a.json);
        if (!spec) {
            Error err = std::move(spec).error();
            err.message = "spec " + quote(a.name) + ": " + err.message;
            a.error = std::move(err);
            continue;
        }
        a.spec = std::move(*spec);
        if (!validate(*a.spec)) continue;  // its layers are bounded and partitioned only once it is valid
        const LayerTensors by_layer(*a.spec);
        for (std::uint32_t layer = 0; layer < a.spec->layers; ++layer)
            for (const StoredTensor& st : *by_layer.of_layer[layer]) {
                const std::string name =
                    layer_tensor_name(st.role == KvRole::value ? a.tensors.values : a.tensors.keys, layer);
                if (header.find_tensor(name)) a.covered.push_back(name);
            }
    }
    return out;
}

Result<Inspection> inspect(const std::filesystem::path& path, const Limits& limits) {
    Result<Header> h = read_header(path, limits);
    if (!h) return std::move(h).error();
    Inspection out{std::move(*h), {}, {}};
    out.descriptors = attached_descriptors(out.header);
    out.specs = attached_specs(out.header);
    return out;
}

std::vector<Error> verify(const Inspection& inspection) {
    std::vector<Error> out;
    for (const AttachedDescriptor& d : inspection.descriptors) {
        if (d.error) {
            out.push_back(*d.error);
            continue;
        }
        for (Error& e : check_descriptor(inspection.header, *d.shape, d.target)) {
            if (e.kind != ErrorKind::tensor_mismatch) e.message = "descriptor " + quote(d.key) + ": " + e.message;
            out.push_back(std::move(e));
        }
    }
    for (const AttachedSpec& a : inspection.specs) {
        if (a.error) {
            out.push_back(*a.error);
            continue;
        }
        for (Error& e : check_spec(inspection.header, *a.spec, a.tensors)) {
            e.message = "spec " + quote(a.name) + ": " + e.message;
            out.push_back(std::move(e));
        }
    }
    return out;
}

Result<std::vector<Error>> verify(const std::filesystem::path& path, const Limits& limits) {
    Result<Inspection> in = inspect(path, limits);
    if (!in) return std::move(in).error();
    return verify(*in);
}

}  // namespace fib_quant_kv::checkpoint
