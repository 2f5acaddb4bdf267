// fib_quant_kv sizing: the v2 cache spec (schema/kv_cache_spec_v2.yaml) of the cache one engine holds, as
// size_cache() sized it: the report's `spec`.
//
// Per engine (the engines' layouts as src/sizing/engines.cpp reads them):
//   * hf: per layer [batch, heads, tokens, dim], K and V separate, contiguous; MLA layers as transformers caches
//     them: the up-projected keys and values of every head (a full group);
//   * vllm: pages of block_size tokens, K and V stacked [kv, block, token, head, dim] (MLA alone: one latent
//     tensor [block, token, head, dim]); a window that only the config-wide default places is full there;
//   * llama.cpp: per layer rows [token, head, dim] of the cache's ggml type, K and V separate, V as rows (flash
//     attention); MLA as its latent, K only.
// Linear-attention and Mamba layers become linear groups with their per-sequence state bytes. fp8 caches carry
// one f32 scale per K and V tensor (vLLM's k_scale and v_scale).
#pragma once

#include "fib_quant_kv/kv_cache_spec_v2.hpp"
#include "fib_quant_kv/sizing/engines.hpp"

namespace fib_quant_kv::sizing {

/// The spec of `size`'s cache for `model`, validated: its validate() error, or unsupported for a cache dtype the
/// schema has no scheme for (none today: every cache type the engines offer has one).
[[nodiscard]] Result<KvCacheSpecV2> cache_spec(const CacheModel& model, const EngineSize& size,
                                               const EngineOptions& options);

}  // namespace fib_quant_kv::sizing
