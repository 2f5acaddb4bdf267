"""Typed use of fib_quant_kv that the generated stub must accept under `mypy --strict` (tests/python/test_typing.py),
and that also runs: each assert_type names the type the stub promises, and the run checks the value has it."""

from __future__ import annotations

import pickle
from typing import assert_type

import fib_quant_kv as fqk
from fib_quant_kv import DescriptorError, ErrorKind, KvAttentionKind, KvDType, KvRole, KvRopeState, KvTensorShapeV1
from fib_quant_kv import (KvCacheSpecV2, KvDim, KvLayerAttention, KvLayerGroup, KvPacking, KvQuantization,
                          KvQuantScheme, KvScaleGranularity, KvStorage, KvValueLayout)


def build(dtype: KvDType | str = KvDType.bf16) -> KvTensorShapeV1:
    return KvTensorShapeV1(role=KvRole.key, attention_kind="gqa", batch=1, layers=32, kv_heads=8, query_heads=32,
                           tokens=8192, head_dim=128, dtype=dtype, rope_state=KvRopeState.post_rope)


def main() -> None:
    s = build()
    assert_type(s.dtype, KvDType)
    assert_type(s.role, KvRole)
    assert_type(s.batch, int)
    assert_type(s.schema_version, str)
    assert_type(s.tensor_shape, tuple[int, ...])
    assert_type(s.byte_size, int)
    assert_type(s.digest(), str)
    assert_type(s.to_flatbuffer(), bytes)
    assert_type(KvTensorShapeV1.from_json(s.to_json()), KvTensorShapeV1)
    assert_type(s.replace(batch=2), KvTensorShapeV1)

    # enums: lookup by code, by wire name and by name, iteration, attributes
    assert_type(KvDType("bf16"), KvDType)
    assert_type(KvDType(1), KvDType)
    assert_type(KvDType["bf16"], KvDType)
    assert_type(KvDType.from_wire_name("f32"), KvDType)
    assert_type(KvDType.from_code(2), KvDType)
    assert_type(KvDType.bf16.byte_size, int)
    assert_type(KvDType.bf16.torch_dtype, str)
    assert_type(KvDType.bf16.numpy_dtype, str | None)
    assert_type(KvDType.bf16.code, int)
    assert_type(KvDType.bf16.wire_name, str)
    assert_type(KvDType.bf16.name, str)
    dtypes: list[KvDType] = list(KvDType)
    sizes = {d: d.byte_size for d in KvDType}
    kinds = [k.wire_name for k in KvAttentionKind]
    code: int = KvDType.f32  # an IntEnum is an int

    # errors
    errors: list[DescriptorError] = s.replace(batch=0).validate_all()
    kind: ErrorKind = errors[0].kind
    details: dict[str, int] = errors[0].details
    try:
        s.replace(kv_heads=5).validate()
    except DescriptorError as e:
        assert_type(e.kind, ErrorKind)
        assert_type(e.offset, int | None)

    # the checks the run makes of what the types say
    assert KvDType("bf16") is KvDType.bf16 is KvDType["bf16"] is s.dtype
    assert build("f32").dtype is KvDType.f32
    assert dtypes == [KvDType.f16, KvDType.bf16, KvDType.f32] and sizes[KvDType.f32] == 4 and code == 2
    assert kinds == ["mha", "mqa", "gqa"]
    assert kind is ErrorKind.corrupt_payload and isinstance(details, dict)
    assert pickle.loads(pickle.dumps(KvRole.value)) is KvRole.value
    assert fqk.KV_TENSOR_SHAPE_V1_SCHEMA_ID == s.schema_version



def v2() -> None:
    """The v2 cache spec: nested structs, optional fields, arrays, its enums and the handwritten methods."""
    group = KvLayerGroup(layers=[0, 1], attention=KvLayerAttention.sliding_window, window=16, kv_heads=2,
                         key_head_dim=64, value_head_dim=64, rope_state="post_rope")
    spec = KvCacheSpecV2(layers=2, batch=1, tokens=32, groups=[group],
                         storage=KvStorage(dim_order=(KvDim.kv, "block", "token", "head", "dim"), packing="stacked",
                                           block_size=16, value_layout=KvValueLayout.rows),
                         quant=KvQuantization(scheme=KvQuantScheme.q8_0, dtype=KvDType.f16,
                                              scale_granularity=KvScaleGranularity.none))
    assert_type(spec.groups, list[KvLayerGroup])
    assert_type(spec.groups[0].window, int | None)
    assert_type(spec.groups[0].state_bytes, int | None)
    assert_type(spec.groups[0].layers, list[int])
    assert_type(spec.storage.dim_order, list[KvDim])
    assert_type(spec.storage.packing, KvPacking)
    assert_type(spec.quant.scale_dtype, KvDType | None)
    assert_type(spec.bytes_per_token, int)
    assert_type(spec.bytes_held, int)
    assert_type(spec.digest(), str)
    assert_type(KvCacheSpecV2.from_json(spec.to_json()), KvCacheSpecV2)
    assert_type(KvLayerGroup.from_json(group.to_json()), KvLayerGroup)
    assert_type(spec.replace(tokens=64), KvCacheSpecV2)
    assert_type(spec.compat(spec), list[tuple[str, str, str]])
    assert_type(KvCacheSpecV2.upgrade(build(), value_key_rope="pre_rope"), KvCacheSpecV2)
    assert_type(spec.stored_tensors(0), list[tuple[KvRole | None, tuple[KvDim, ...], tuple[int, ...]]])
    assert_type(KvQuantScheme("q4_0").ggml_type, str | None)
    assert_type(KvQuantScheme.q4_0.block_bytes, int)
    try:
        spec.replace(groups=[group.replace(window=0)]).validate()
    except DescriptorError as e:
        assert_type(e.path, str | None)
        assert e.path == "groups[0].window"
    assert spec.compat(spec) == [] and spec.quant.scheme is KvQuantScheme.q8_0
    assert [d.wire_name for d in spec.storage.dim_order] == ["kv", "block", "token", "head", "dim"]
    assert KvCacheSpecV2.upgrade(build()).quant.dtype is KvDType.bf16


if __name__ == "__main__":
    main()
    v2()
