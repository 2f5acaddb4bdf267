// The benchmark shape set: 64 valid descriptors from a tiny LCG, identical to reference/src/bench.rs's shapes()
// (bench/run checks that both print the same canonical JSON, byte for byte). Change both or neither.
//
// Generator: Knuth's MMIX LCG, state = state * 6364136223846793005 + 1442695040888963407 (mod 2^64), from
// kSeed; pick(n) steps it once and returns (state >> 33) % n. Per shape i, in this order: attention kind
// cycles mha, mqa, gqa (i % 3); then role (pick 2), rope state (keys: pick 2 of pre/post; values:
// not_applicable, no pick), dtype (pick 3), heads (MHA: kv = query from kHeads; MQA: kv 1, query from kHeads;
// GQA: kv from kGqaKv, then query = kv * a group from kGroups), batch 1 + pick(64), layers from kLayers, tokens
// 1 + pick(131072), head_dim from kHeadDims.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"

namespace fib_quant_kv::bench {

inline constexpr std::size_t kShapeCount = 64;

class Lcg {
  public:
    explicit constexpr Lcg(std::uint64_t seed) noexcept : state_(seed) {}
    constexpr std::uint64_t pick(std::uint64_t n) noexcept {
        state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
        return (state_ >> 33) % n;
    }
    template <std::size_t N>
    constexpr std::uint32_t choose(const std::array<std::uint32_t, N>& values) noexcept {
        return values[static_cast<std::size_t>(pick(N))];
    }

  private:
    std::uint64_t state_;
};

inline std::vector<KvTensorShapeV1> shapes() {
    constexpr std::uint64_t kSeed = 0x5EEDF1B04B5F0001ULL;
    constexpr std::array<std::uint32_t, 8> kHeads{1, 2, 4, 8, 16, 32, 40, 64};
    constexpr std::array<std::uint32_t, 5> kGqaKv{1, 2, 4, 8, 16};
    constexpr std::array<std::uint32_t, 4> kGroups{2, 4, 7, 8};
    constexpr std::array<std::uint32_t, 8> kLayers{1, 12, 24, 28, 32, 40, 80, 126};
    constexpr std::array<std::uint32_t, 6> kHeadDims{64, 80, 96, 128, 192, 256};
    constexpr std::array<KvAttentionKind, 3> kKinds{KvAttentionKind::mha, KvAttentionKind::mqa, KvAttentionKind::gqa};
    constexpr std::array<KvDType, 3> kDTypes{KvDType::f16, KvDType::bf16, KvDType::f32};

    Lcg g(kSeed);
    std::vector<KvTensorShapeV1> out;
    out.reserve(kShapeCount);
    for (std::size_t i = 0; i < kShapeCount; ++i) {
        KvTensorShapeV1 s;
        s.attention_kind = kKinds[i % 3];
        s.role = g.pick(2) == 0 ? KvRole::key : KvRole::value;
        if (s.role == KvRole::key) {
            s.rope_state = g.pick(2) == 0 ? KvRopeState::pre_rope : KvRopeState::post_rope;
        } else {
            s.rope_state = KvRopeState::not_applicable;
        }
        s.dtype = kDTypes[static_cast<std::size_t>(g.pick(3))];
        switch (s.attention_kind) {
            case KvAttentionKind::mha: s.kv_heads = s.query_heads = g.choose(kHeads); break;
            case KvAttentionKind::mqa: s.kv_heads = 1; s.query_heads = g.choose(kHeads); break;
            case KvAttentionKind::gqa:
                s.kv_heads = g.choose(kGqaKv);
                s.query_heads = s.kv_heads * g.choose(kGroups);
                break;
        }
        s.batch = 1 + static_cast<std::uint32_t>(g.pick(64));
        s.layers = g.choose(kLayers);
        s.tokens = 1 + static_cast<std::uint32_t>(g.pick(131072));
        s.head_dim = g.choose(kHeadDims);
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace fib_quant_kv::bench
