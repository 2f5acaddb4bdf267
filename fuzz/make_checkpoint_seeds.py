#!/usr/bin/env python3
"""Seeds for fuzz_safetensors and fuzz_gguf, built byte by byte from the formats' descriptions: a few valid small
files (descriptors attached or not, per-layer groups, arrays of arrays, another alignment) and a few hostile
ones (the reader must answer each with a typed error).

    make_checkpoint_seeds.py OUT_DIR
"""

import json
import shutil
import struct
import sys
from pathlib import Path

SHAPE = {"schema_version": "fib_quant_kv_tensor_shape_v1", "role": "key", "attention_kind": "gqa", "batch": 1,
         "layers": 2, "kv_heads": 2, "query_heads": 4, "tokens": 2, "head_dim": 4, "dtype": "f16",
         "rope_state": "post_rope"}


def safetensors(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gstr(key) + struct.pack("<I", vtype) + payload


def info(name, dims, ggml, offset):
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<IQ", ggml, offset)


def gguf(kvs, infos, data, alignment=32, version=3):
    head = b"GGUF" + struct.pack("<IQQ", version, len(infos), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * ((alignment - len(head) % alignment) % alignment)
    return head + data


# A one-layer v2 cache spec whose K and V are the [1, 2, 2, 4] f16 tensors k.0 and v.0 of the seeds.
SPEC_V2 = ('{"schema_version":"fib_quant_kv_cache_spec_v2","layers":1,"batch":1,"tokens":2,"groups":[{"layers":[0],'
           '"attention":"full","kv_heads":2,"key_head_dim":4,"value_head_dim":4,"rope_state":"post_rope"}],'
           '"storage":{"dim_order":["layer","batch","head","token","dim"],"packing":"separate","block_size":0,'
           '"value_layout":"rows"},"quant":{"scheme":"none","dtype":"f16","scale_granularity":"none"}}')


def main() -> int:
    out = Path(sys.argv[1])
    shutil.rmtree(out, ignore_errors=True)
    st, gg = out / "safetensors", out / "gguf"
    st.mkdir(parents=True)
    gg.mkdir(parents=True)
    layer = {"dtype": "F16", "shape": [1, 2, 2, 4]}
    seeds_st = {
        "empty": safetensors({}, b""),
        "one": safetensors({"t": {"dtype": "BF16", "shape": [1, 2, 2, 2, 4], "data_offsets": [0, 64]}}, bytes(64)),
        "group": safetensors({"__metadata__": {"fib_quant_kv.kv_shape.k.{layer}": json.dumps(SHAPE), "a": "b"},
                              "k.0": dict(layer, data_offsets=[0, 32]), "k.1": dict(layer, data_offsets=[32, 64])},
                             bytes(range(64))),
        "mismatch": safetensors({"__metadata__": {"fib_quant_kv.kv_shape.t": json.dumps(SHAPE)},
                                 "t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
        "overlap": safetensors({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, bytes(6)),
        "not_object": struct.pack("<Q", 5) + b"[1,2]",
        "spec_v2": safetensors({"__metadata__": {"fib_quant_kv.kv_cache_spec.kv_cache.spec": SPEC_V2,
                                                 "fib_quant_kv.kv_cache_spec.kv_cache.key_tensors": "k.{layer}",
                                                 "fib_quant_kv.kv_cache_spec.kv_cache.value_tensors": "v.{layer}"},
                                "k.0": dict(layer, data_offsets=[0, 32]), "v.0": dict(layer, data_offsets=[32, 64])},
                               bytes(range(64))),
    }
    for name, blob in seeds_st.items():
        (st / f"{name}.safetensors").write_bytes(blob)
    desc = json.dumps(dict(SHAPE, layers=2))
    seeds_gg = {
        "empty": gguf([], [], b""),
        "group": gguf([kv("general.architecture", 8, gstr("llama")), kv(f"fib_quant_kv.kv_shape.blk.{{layer}}.k", 8, gstr(desc))],
                      [info("blk.0.k", [4, 2, 2, 1], 1, 0), info("blk.1.k", [4, 2, 2, 1], 1, 32)], bytes(range(64))),
        "arrays": gguf([kv("tok", 9, struct.pack("<IQ", 8, 2) + gstr("a") + gstr("bc")),
                        kv("nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 2, 2) + struct.pack("<HH", 1, 2)),
                        kv("general.alignment", 4, struct.pack("<I", 64)), kv("pi", 12, struct.pack("<d", 3.14))],
                       [info("q", [32], 2, 0), info("w", [2, 2], 30, 64)], bytes(72), alignment=64),
        "v2": gguf([kv("u", 0, b"\x07")], [info("f", [3], 0, 0)], bytes(12), version=2),
        "huge_count": b"GGUF" + struct.pack("<IQQ", 3, 1 << 60, 1 << 60),
        "five_dims": gguf([], [info("t", [1, 1, 1, 1, 1], 0, 0)], bytes(4)),
        "spec_v2": gguf([kv("fib_quant_kv.kv_cache_spec.kv_cache.spec", 8, gstr(SPEC_V2)),
                         kv("fib_quant_kv.kv_cache_spec.kv_cache.key_tensors", 8, gstr("k.{layer}")),
                         kv("fib_quant_kv.kv_cache_spec.kv_cache.value_tensors", 8, gstr("v.{layer}"))],
                        [info("k.0", [4, 2, 2, 1], 1, 0), info("v.0", [4, 2, 2, 1], 1, 32)], bytes(range(64))),
    }
    for name, blob in seeds_gg.items():
        (gg / f"{name}.gguf").write_bytes(blob)
    (out / "stamp").write_text(f"{len(seeds_st)} {len(seeds_gg)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
