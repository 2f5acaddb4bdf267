// fib_quant_kv: checkpoints, a descriptor's target: one tensor's name or a per-layer pattern (see
// src/formats/checkpoint_targets.hpp).
#include "formats/checkpoint_targets.hpp"

#include <algorithm>

#include "internal/rule_errors.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::checkpoint {
namespace detail {
namespace {

using fib_quant_kv::detail::make_error;
using fib_quant_kv::detail::quote;

/// The layer number `name` has under `p`: the canonical decimal (no sign, no leading zero) between prefix and
/// suffix; nothing if it does not match.
std::optional<std::uint32_t> match_layer(const Pattern& p, std::string_view name) {
    if (name.size() <= p.prefix.size() + p.suffix.size() || !name.starts_with(p.prefix) || !name.ends_with(p.suffix))
        return std::nullopt;
    const std::string_view digits = name.substr(p.prefix.size(), name.size() - p.prefix.size() - p.suffix.size());
    if (digits.size() > 10 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > 0xffffffffULL) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

}  // namespace

std::optional<Pattern> split_pattern(std::string_view target) {
    const std::size_t at = target.find(kLayerPlaceholder);
    if (at == std::string_view::npos) return std::nullopt;
    const std::string_view suffix = target.substr(at + kLayerPlaceholder.size());
    if (suffix.find(kLayerPlaceholder) != std::string_view::npos) return std::nullopt;
    return Pattern{target.substr(0, at), suffix};
}

Status check_target(std::string_view target) {
    if (target.empty()) return make_error(ErrorKind::parse, rules::target, "the tensor name or pattern is empty");
    if (is_pattern(target) && !split_pattern(target))
        return make_error(ErrorKind::parse, rules::target,
                          "pattern " + quote(target) + " must hold `{layer}` exactly once");
    return {};
}

Status check_spec_tensors(const KvCacheSpecV2& spec, const SpecTensors& tensors) {
    const bool stacked = spec.storage.packing == KvPacking::stacked;
    const bool has_value = std::any_of(spec.groups.begin(), spec.groups.end(), [](const KvLayerGroup& g) {
        return g.attention != KvLayerAttention::mla && g.attention != KvLayerAttention::linear;
    });
    const bool wants_values = !stacked && has_value;
    auto fail = [](std::string message) { return make_error(ErrorKind::parse, rules::spec_tensors, std::move(message)); };
    if (tensors.keys.empty()) return fail("the spec needs a pattern for its K tensors");
    if (wants_values && tensors.values.empty())
        return fail("K and V are separate tensors: the spec needs a pattern for its V tensors too");
    if (!wants_values && !tensors.values.empty())
        return fail(stacked ? "K and V are stacked in one tensor per layer: the spec takes no pattern for V tensors"
                            : "no layer of the spec has a V tensor: it takes no pattern for V tensors");
    for (const std::string* p : {&tensors.keys, &tensors.values}) {
        if (!p->empty() && !split_pattern(*p))
            return fail("pattern " + quote(*p) + " must hold `{layer}` exactly once");
    }
    if (tensors.keys == tensors.values) return fail("K and V tensors need two patterns, not one");
    return {};
}

std::optional<std::string> gguf_descriptor_name_of(const std::vector<MetadataEntry>& metadata,
                                                   std::string_view target) {
    for (const MetadataEntry& e : metadata) {
        const std::string* text = e.value.as_string();
        if (text == nullptr || *text != target || !e.key.starts_with(kDescriptorKeyPrefix) ||
            !e.key.ends_with(kDescriptorTensorsSuffix))
            continue;
        return e.key.substr(kDescriptorKeyPrefix.size(),
                            e.key.size() - kDescriptorKeyPrefix.size() - kDescriptorTensorsSuffix.size());
    }
    return std::nullopt;
}

std::string free_gguf_descriptor_name(const std::vector<MetadataEntry>& metadata, std::string_view target) {
    const std::string base = gguf_descriptor_name(target);
    auto taken = [&](const std::string& name) {
        const std::string json = gguf_descriptor_key(name, kDescriptorKeySuffix);
        const std::string tensors = gguf_descriptor_key(name, kDescriptorTensorsSuffix);
        return std::any_of(metadata.begin(), metadata.end(),
                           [&](const MetadataEntry& e) { return e.key == json || e.key == tensors; });
    };
    std::string name = base;
    for (std::uint64_t n = 2; taken(name); ++n) name = base + "_" + std::to_string(n);
    return name;
}

std::vector<std::pair<std::uint32_t, std::size_t>> layer_tensors(const Header& h, const Pattern& p,
                                                                 std::uint64_t layers) {
    std::vector<std::pair<std::uint32_t, std::size_t>> found;
    for (std::size_t i = 0; i < h.tensors.size(); ++i)
        if (const auto layer = match_layer(p, h.tensors[i].name); layer && *layer < layers) found.emplace_back(*layer, i);
    std::sort(found.begin(), found.end());
    return found;
}

}  // namespace detail

std::string gguf_descriptor_name(std::string_view target) {
    std::string out;
    bool gap = false;  // characters other than a-z and 0-9 since the last one kept
    auto keep = [&](char c) {
        if (gap && !out.empty()) out.push_back('_');
        gap = false;
        out.push_back(c);
    };
    for (std::size_t i = 0; i < target.size();) {
        if (target.substr(i).starts_with(kLayerPlaceholder)) {
            gap = true;
            for (char c : std::string_view("layer")) keep(c);
            gap = true;
            i += kLayerPlaceholder.size();
            continue;
        }
        const char c = target[i++];
        const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9')) keep(lower);
        else gap = true;
    }
    return out.empty() ? std::string("tensor") : out;
}

Status check_spec_name(std::string_view name) {
    const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (ok) return {};
    return fib_quant_kv::detail::make_error(
        ErrorKind::parse, rules::spec_name,
        "spec name " + fib_quant_kv::detail::quote(name) +
            " must be one lower_snake_case key segment: letters a-z, digits and _ (GGUF's key convention)");
}

bool is_pattern(std::string_view target) noexcept { return target.find(kLayerPlaceholder) != std::string_view::npos; }

std::string layer_tensor_name(std::string_view pattern, std::uint32_t layer) {
    std::string out;
    std::size_t from = 0;
    for (std::size_t at; (at = pattern.find(kLayerPlaceholder, from)) != std::string_view::npos;
         from = at + kLayerPlaceholder.size()) {
        out.append(pattern.substr(from, at - from));
        fib_quant_kv::detail::append_decimal(out, layer);
    }
    out.append(pattern.substr(from));
    return out;
}

}  // namespace fib_quant_kv::checkpoint
