// fib_quant_kv sizing: the cache model's groups (see fib_quant_kv/sizing/cache_model.hpp).
#include "fib_quant_kv/sizing/cache_model.hpp"

#include <cstddef>

namespace fib_quant_kv::sizing {

std::string_view to_string(LayerKind kind) noexcept {
    switch (kind) {
        case LayerKind::full: return "full";
        case LayerKind::sliding: return "sliding";
        case LayerKind::chunked: return "chunked";
        case LayerKind::mla: return "mla";
        case LayerKind::linear_attention: return "linear_attention";
        case LayerKind::mamba: return "mamba";
        case LayerKind::none: return "none";
    }
    return {};
}

std::vector<LayerGroup> group_layers(const CacheModel& model) {
    std::vector<LayerGroup> groups;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const LayerSpec& spec = model.layers[i];
        LayerGroup* group = nullptr;
        for (LayerGroup& g : groups) {
            if (g.spec == spec) group = &g;
        }
        if (group == nullptr) group = &groups.emplace_back(LayerGroup{spec, {}});
        group->layers.push_back(static_cast<std::uint32_t>(i));
    }
    return groups;
}

std::vector<LayerGroup> cache_groups(const CacheModel& model) {
    std::vector<LayerGroup> groups = group_layers(model);
    std::erase_if(groups, [](const LayerGroup& g) { return g.spec.kind == LayerKind::none; });
    return groups;
}

}  // namespace fib_quant_kv::sizing
