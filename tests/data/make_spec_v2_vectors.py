#!/usr/bin/env python3
"""Writes tests/data/spec_v2_vectors.jsonl: known-answer digests of the v2 cache spec.

Computed from docs/digest.md alone, independently of the library: each spec is read with Python's json module,
its canonical encoding built with struct, and its digest is what `xxhsum -H2` prints for a file holding that
encoding (Debian: xxhash). Nothing here imports or runs fib_quant_kv.

Usage: python3 tests/data/make_spec_v2_vectors.py [OUTPUT]   (default: spec_v2_vectors.jsonl next to this file)
Each line: {"json": <the spec>, "canonical_hex": <encoding in hex>, "digest": <32 hex digits>}.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

SCHEMA_ID = "fib_quant_kv_cache_spec_v2"
ROOT = "KvCacheSpecV2"

# Codes and field order as written in schema/kv_cache_spec_v2.yaml (and v1's enums it uses).
ROPE = {"pre_rope": 0, "post_rope": 1, "not_applicable": 2}
DTYPE = {"f16": 0, "bf16": 1, "f32": 2}
ATTENTION = {"full": 0, "sliding_window": 1, "chunked_local": 2, "mla": 3, "linear": 4}
DIM = {"kv": 0, "layer": 1, "block": 2, "token": 3, "head": 4, "dim": 5, "batch": 6}
PACKING = {"separate": 0, "stacked": 1}
VALUE_LAYOUT = {"rows": 0, "transposed": 1}
SCHEME = {n: i for i, n in enumerate(["none", "fp8_e4m3", "fp8_e5m2", "int8", "int4", "q8_0", "q4_0", "q4_1",
                                      "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q8_k"])}
SCALES = {"none": 0, "tensor": 1, "head": 2, "token": 3, "group": 4}

# (name, type, optional, array)
GROUP = [("layers", "u32", False, True), ("attention", ATTENTION, False, False), ("window", "u32", True, False),
         ("chunk", "u32", True, False), ("kv_lora_rank", "u32", True, False),
         ("qk_rope_head_dim", "u32", True, False), ("state_bytes", "u64", True, False),
         ("kv_heads", "u32", False, False), ("key_head_dim", "u32", False, False),
         ("value_head_dim", "u32", False, False), ("rope_state", ROPE, False, False)]
STORAGE = [("dim_order", DIM, False, True), ("packing", PACKING, False, False), ("block_size", "u32", False, False),
           ("value_layout", VALUE_LAYOUT, False, False)]
QUANT = [("scheme", SCHEME, False, False), ("dtype", DTYPE, False, False), ("scale_granularity", SCALES, False, False),
         ("group_size", "u32", True, False), ("scale_dtype", DTYPE, True, False)]
SPEC = [("schema_version", "string", False, False), ("layers", "u32", False, False), ("batch", "u32", False, False),
        ("tokens", "u32", False, False), ("groups", GROUP, False, True), ("storage", STORAGE, False, False),
        ("quant", QUANT, False, False)]


def value(t, v) -> bytes:
    if t == "string":
        b = v.encode()
        return struct.pack("<Q", len(b)) + b
    if t == "u32":
        return struct.pack("<I", v)
    if t == "u64":
        return struct.pack("<Q", v)
    if isinstance(t, dict):
        return struct.pack("<I", t[v])
    return fields(t, v)  # a nested struct: its fields inline


def fields(spec, obj) -> bytes:
    out = b""
    for name, t, optional, array in spec:
        v = obj.get(name)
        if optional:
            out += b"\x00" if v is None else b"\x01" + value(t, v)
        elif array:
            out += struct.pack("<I", len(v)) + b"".join(value(t, item) for item in v)
        else:
            out += value(t, v)
    return out


def encode(doc) -> bytes:
    return SCHEMA_ID.encode() + b"\x00" + ROOT.encode() + b"\x00" + fields(SPEC, doc)


def xxh128(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    try:
        out = subprocess.run(["xxhsum", "-H2", f.name], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    return out.split()[0].split("_")[-1]


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "spec_v2_vectors.jsonl")
    with open(os.path.join(here, "spec_v2_inputs.jsonl"), encoding="utf-8") as f:
        inputs = [line.rstrip("\n") for line in f if line.strip()]
    with open(out, "w", encoding="utf-8") as f:
        for text in inputs:
            enc = encode(json.loads(text))
            f.write(json.dumps({"json": json.loads(text), "canonical_hex": enc.hex(), "digest": xxh128(enc)},
                               separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
