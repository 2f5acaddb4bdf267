#!/usr/bin/env python3
"""Writes tests/data/digest_vectors.jsonl: the known-answer vectors of the descriptor digest.

The vectors are computed from docs/digest.md alone, independently of the library: each input is read with
Python's json module, its canonical encoding is built with struct, and its digest is what `xxhsum -H2` prints
for a file holding that encoding (Debian: apt-get install xxhash). Nothing here imports or runs fib_quant_kv.

Usage: python3 tests/data/make_digest_vectors.py [OUTPUT]   (default: digest_vectors.jsonl next to this file)

Each output line is {"json": <input JSON text>, "canonical_hex": <encoding in hex>, "digest": <32 hex digits>}.
Every input must describe a descriptor that passes validate(): a digest is only defined for those.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

SCHEMA_ID = "fib_quant_kv_tensor_shape_v1"
STRUCT_NAME = "KvTensorShapeV1"

# Field order and enum codes, as written in schema/kv_tensor_shape_v1.yaml and docs/digest.md.
FIELDS = [
    ("schema_version", "string"),
    ("role", {"key": 0, "value": 1}),
    ("attention_kind", {"mha": 0, "mqa": 1, "gqa": 2}),
    ("batch", "u32"),
    ("layers", "u32"),
    ("kv_heads", "u32"),
    ("query_heads", "u32"),
    ("tokens", "u32"),
    ("head_dim", "u32"),
    ("dtype", {"f16": 0, "bf16": 1, "f32": 2}),
    ("rope_state", {"pre_rope": 0, "post_rope": 1, "not_applicable": 2}),
]

U32_MAX = 4294967295

# The inputs: every role, geometry, dtype and rope state, every wire form the parser accepts (object in any
# order and spacing, unknown fields, escapes, the array form, enums as {"name": null}) and boundary dims.
INPUTS = [
    # key, MHA, f16, pre_rope: serde_json's compact form
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"mha","batch":1,'
    '"layers":32,"kv_heads":32,"query_heads":32,"tokens":4096,"head_dim":128,"dtype":"f16",'
    '"rope_state":"pre_rope"}',
    # value, MHA, bf16, not_applicable: fields in another order, whitespace between every token
    ' {\n\t"rope_state" : "not_applicable" ,\r\n "dtype":"bf16", "head_dim" : 128, "tokens":8192,'
    ' "query_heads":64, "kv_heads":64, "layers":80, "batch":4, "attention_kind":"mha", "role":"value",'
    ' "schema_version":"fib_quant_kv_tensor_shape_v1"\n}\n',
    # key, GQA, f32, post_rope: the array form
    '["fib_quant_kv_tensor_shape_v1","key","gqa",1,8,2,24,134626,64,"f32","post_rope"]',
    # key, MQA, bf16, pre_rope: enums in the map form
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":{"key":null},"attention_kind":{ "mqa" : null },'
    '"batch":2,"layers":24,"kv_heads":1,"query_heads":32,"tokens":128231,"head_dim":276,"dtype":{"bf16":null},'
    '"rope_state":{"pre_rope":null}}',
    # value, GQA, f16, not_applicable: unknown fields of every JSON type
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","comment":{"batch":0,"list":[1,2.5,"x",null]},'
    '"role":"value","attention_kind":"gqa","batch":16,"layers":40,"kv_heads":8,"query_heads":64,"x":1.5e300,'
    '"tokens":32768,"head_dim":96,"big":18446744073709551616,"dtype":"f16","rope_state":"not_applicable",'
    '"flag":true}',
    # key, MHA, f32, post_rope: every dim 1
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"mha","batch":1,'
    '"layers":1,"kv_heads":1,"query_heads":1,"tokens":1,"head_dim":1,"dtype":"f32","rope_state":"post_rope"}',
    # value, MQA, f32, not_applicable: query_heads and head_dim at u32 max
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"value","attention_kind":"mqa","batch":1,'
    '"layers":1,"kv_heads":1,"query_heads":4294967295,"tokens":1,"head_dim":4294967295,"dtype":"f32",'
    '"rope_state":"not_applicable"}',
    # key, GQA, bf16, pre_rope: batch and layers at u32 max (element count (2^32-1)^2)
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa",'
    '"batch":4294967295,"layers":4294967295,"kv_heads":1,"query_heads":1,"tokens":1,"head_dim":1,'
    '"dtype":"bf16","rope_state":"pre_rope"}',
    # key, MHA, f16, post_rope: element count exactly 2^64 - 1 = (2^32 + 1)(2^32 - 1)
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"mha","batch":641,'
    '"layers":6700417,"kv_heads":65537,"query_heads":65537,"tokens":255,"head_dim":257,"dtype":"f16",'
    '"rope_state":"post_rope"}',
    # value, MHA, f32, not_applicable: escaped keys, escaped string and enum names
    '{"\\u0073chema_version":"fib\\u005fquant_kv_tensor_shape_v1","r\\u006fle":"v\\u0061lue",'
    '"attention_kind":"\\u006d\\u0068\\u0061","b\\u0061tch":3,"layers":12,"kv_heads":12,"query_heads":12,'
    '"tokens":77,"head_dim":80,"dtype":"f\\u0033\\u0032","rope_state":"not\\u005fapplicable"}',
    # key, GQA, f16, post_rope: kv_heads and query_heads at u32 max
    '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,'
    '"layers":1,"kv_heads":4294967295,"query_heads":4294967295,"tokens":1,"head_dim":1,"dtype":"f16",'
    '"rope_state":"post_rope"}',
    # value, MQA, bf16, not_applicable: the array form with enums in the map form
    '[ "fib_quant_kv_tensor_shape_v1", {"value":null}, "mqa", 1, 1, 1, 1, 1, 2, {"bf16":null},'
    ' "not_applicable" ]',
]


def decode(text):
    """The field values of one input, from any accepted wire form."""
    raw = json.loads(text)
    if isinstance(raw, list):
        if len(raw) != len(FIELDS):
            raise ValueError(f"array form needs {len(FIELDS)} elements: {text}")
        raw = dict(zip((name for name, _ in FIELDS), raw))
    values = {}
    for name, kind in FIELDS:
        value = raw[name]
        if isinstance(kind, dict):
            if isinstance(value, dict):  # {"name": null}
                (value, unit), = value.items()
                if unit is not None:
                    raise ValueError(f"{name}: map form needs null: {text}")
            value = kind[value]
        elif kind == "u32":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= U32_MAX:
                raise ValueError(f"{name}: not a u32: {text}")
        elif not isinstance(value, str):
            raise ValueError(f"{name}: not a string: {text}")
        values[name] = value
    return values


def check_valid(v):
    """The validate() rules of docs and schema; a vector must describe a valid descriptor."""
    assert v["schema_version"] == SCHEMA_ID
    for name in ("batch", "layers", "kv_heads", "query_heads", "tokens", "head_dim"):
        assert v[name] > 0, name
    kind = v["attention_kind"]
    if kind == 0:
        assert v["query_heads"] == v["kv_heads"]
    if kind == 1:
        assert v["kv_heads"] == 1
    if kind in (1, 2):
        assert v["query_heads"] % v["kv_heads"] == 0
    if v["role"] == 0:
        assert v["rope_state"] in (0, 1)
    else:
        assert v["rope_state"] == 2
    count = 1
    for name in ("batch", "layers", "kv_heads", "tokens", "head_dim"):
        count *= v[name]
        assert count < 2**64, "size overflow"


def canonical_encoding(v):
    """docs/digest.md: domain tag, then every field in declaration order, little-endian."""
    out = SCHEMA_ID.encode() + b"\0" + STRUCT_NAME.encode() + b"\0"
    for name, kind in FIELDS:
        if kind == "string":
            data = v[name].encode("utf-8")
            out += struct.pack("<Q", len(data)) + data
        else:  # u32 and enum codes alike: u32 little-endian
            out += struct.pack("<I", v[name])
    return out


def xxh128_hex(data):
    """What `xxhsum -H2` prints for a file holding `data`."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    try:
        line = subprocess.run(["xxhsum", "-H2", path], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    digest = line.split()[0]
    if len(digest) != 32:
        raise RuntimeError(f"unexpected xxhsum output: {line!r}")
    return digest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "digest_vectors.jsonl")
    lines = []
    for text in INPUTS:
        values = decode(text)
        check_valid(values)
        encoding = canonical_encoding(values)
        assert len(encoding) == 121, len(encoding)
        lines.append(json.dumps({"json": text, "canonical_hex": encoding.hex(), "digest": xxh128_hex(encoding)}))
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} vectors to {output}")


if __name__ == "__main__":
    main()
