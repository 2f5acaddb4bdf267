// fib_quant_kv internal: a descriptor's target in a checkpoint, one tensor's name or a pattern with one
// `{layer}` (see fib_quant_kv/formats/checkpoint.hpp): checking it, matching tensor names against it, and the
// metadata key it is stored under. Depends on the Header model only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fib_quant_kv/formats/checkpoint.hpp"

namespace fib_quant_kv::checkpoint::detail {

/// A pattern split at its one placeholder.
struct Pattern {
    std::string_view prefix;
    std::string_view suffix;
};

/// The pattern `target` is, split; nothing when it holds `{layer}` not exactly once.
[[nodiscard]] std::optional<Pattern> split_pattern(std::string_view target);

/// rules::target (kind parse) for an empty target, or a pattern without exactly one `{layer}`.
[[nodiscard]] Status check_target(std::string_view target);

/// The tensors a pattern covers that exist, as (layer, index into header.tensors), in layer order; layers at or
/// past `layers` are left out.
[[nodiscard]] std::vector<std::pair<std::uint32_t, std::size_t>> layer_tensors(const Header& h, const Pattern& p,
                                                                               std::uint64_t layers);

/// rules::spec_tensors (kind parse) unless `tensors` fits `spec`: a keys pattern, and a values pattern exactly when
/// K and V are separate and some layer has a V; each with `{layer}` exactly once.
[[nodiscard]] Status check_spec_tensors(const KvCacheSpecV2& spec, const SpecTensors& tensors);

/// The metadata key of the pair `suffix` (kSpecKeySpec...) of the spec `name`.
[[nodiscard]] inline std::string spec_key(std::string_view name, std::string_view suffix) {
    return std::string(kSpecKeyPrefix).append(name).append(suffix);
}

/// The metadata key of the descriptor of `target`, as safetensors (and GGUF files of old) hold it.
[[nodiscard]] inline std::string descriptor_key(std::string_view target) {
    return std::string(kDescriptorKeyPrefix).append(target);
}

/// A GGUF descriptor's pair `suffix` (kDescriptorKeySuffix, kDescriptorTensorsSuffix) under `name`.
[[nodiscard]] inline std::string gguf_descriptor_key(std::string_view name, std::string_view suffix) {
    return std::string(kDescriptorKeyPrefix).append(name).append(suffix);
}

/// In GGUF metadata, the name whose tensors pair holds `target`, if any.
[[nodiscard]] std::optional<std::string> gguf_descriptor_name_of(const std::vector<MetadataEntry>& metadata,
                                                                 std::string_view target);

/// The name a new GGUF descriptor of `target` takes: gguf_descriptor_name(), or with `_2`, `_3`... after it when
/// another target's pairs hold that name.
[[nodiscard]] std::string free_gguf_descriptor_name(const std::vector<MetadataEntry>& metadata,
                                                    std::string_view target);

}  // namespace fib_quant_kv::checkpoint::detail
