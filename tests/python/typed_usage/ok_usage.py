"""Typed use of fib_quant_kv that the generated stub must accept under `mypy --strict` (tests/python/test_typing.py),
and that also runs: each assert_type names the type the stub promises, and the run checks the value has it."""

from __future__ import annotations

import pickle
from typing import assert_type

import fib_quant_kv as fqk
from fib_quant_kv import DescriptorError, ErrorKind, KvAttentionKind, KvDType, KvRole, KvRopeState, KvTensorShapeV1


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


if __name__ == "__main__":
    main()
