// Test support shared by every suite: a few valid descriptors of different geometries.
#pragma once

#include "fib_quant_kv/fib_quant_kv.hpp"

namespace fib_quant_kv::test_shapes {

/// A valid key tensor: MHA, 8 heads, f16, pre-RoPE.
inline KvTensorShapeV1 mha_key() {
    return make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mha, 2, 32, 8, 8, 4096, 128, KvDType::f16,
                                   KvRopeState::pre_rope);
}

/// A valid value tensor: GQA 8 KV heads for 32 query heads, bf16.
inline KvTensorShapeV1 gqa_value() {
    return make_kv_tensor_shape_v1(KvRole::value, KvAttentionKind::gqa, 1, 24, 8, 32, 1024, 64, KvDType::bf16,
                                   KvRopeState::not_applicable);
}

/// A valid key tensor: MQA, one KV head for 16 query heads, f32, post-RoPE.
inline KvTensorShapeV1 mqa_key() {
    return make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::mqa, 4, 12, 1, 16, 512, 80, KvDType::f32,
                                   KvRopeState::post_rope);
}

}  // namespace fib_quant_kv::test_shapes
