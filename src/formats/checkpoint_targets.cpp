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

std::vector<std::pair<std::uint32_t, std::size_t>> layer_tensors(const Header& h, const Pattern& p,
                                                                 std::uint64_t layers) {
    std::vector<std::pair<std::uint32_t, std::size_t>> found;
    for (std::size_t i = 0; i < h.tensors.size(); ++i)
        if (const auto layer = match_layer(p, h.tensors[i].name); layer && *layer < layers) found.emplace_back(*layer, i);
    std::sort(found.begin(), found.end());
    return found;
}

}  // namespace detail

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
