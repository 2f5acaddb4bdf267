"""Typed use of fib_quant_kv that the generated stub must refuse: `mypy --strict` reports exactly the errors marked
`# error: [code]` on their lines, and nothing else (tests/python/test_typing.py). Not run."""

from __future__ import annotations

from fib_quant_kv import ErrorKind, KvCacheSpecV2, KvDType, KvLayerGroup, KvRole, KvRopeState, KvTensorShapeV1

s = KvTensorShapeV1(role=KvRole.key, attention_kind="gqa", batch="1", layers=32, kv_heads=8,  # error: [arg-type]
                    query_heads=32, tokens=8192, head_dim=128, dtype=KvDType.bf16, rope_state=KvRopeState.post_rope)
t = s.replace(1)  # error: [call-arg]
s.dtype = KvDType.f32  # error: [misc]
name: str = KvDType.bf16.byte_size  # error: [assignment]
numpy_name: str = KvDType.bf16.numpy_dtype  # error: [assignment]
d = KvDType.bf17  # error: [attr-defined]
KvTensorShapeV1.from_json(42)  # error: [arg-type]
s.validate_block_dim("32")  # error: [arg-type]
KvRole.from_code("0")  # error: [arg-type]
KvDType(1.5)  # error: [arg-type]
role: KvRole = s.dtype  # error: [assignment]
kind = ErrorKind.nope  # error: [attr-defined]
ErrorKind.from_wire_name("io")  # error: [attr-defined]
g = KvLayerGroup(layers=[0], attention="full", kv_heads=2, key_head_dim=8, value_head_dim=8, rope_state="post_rope")
window: int = g.window  # error: [assignment]
KvLayerGroup(layers=0, attention="full", kv_heads=2, key_head_dim=8, value_head_dim=8,  # error: [arg-type]
             rope_state="post_rope")
g.digest()  # error: [attr-defined]
KvCacheSpecV2.upgrade(g)  # error: [arg-type]
