#!/usr/bin/env python3
"""Our safetensors output, read back by a second reader written here from the format's description (standard
library only): an 8-byte little-endian length N, N bytes of a UTF-8 JSON object (tensor name -> dtype, shape,
data_offsets [begin, end) relative to the data; "__metadata__" string -> string), the data, covered exactly.
The input is built byte by byte here too, so neither side is the library's writer.

    test_safetensors_reader.py CHECKPOINT_TOOL
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
         "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
    return dict(pairs)


def read(path):
    """Returns (metadata, {name: (dtype, shape, bytes)}, data start), checking the format's rules."""
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob)
    text = blob[8:8 + n].decode("utf-8")
    assert text.startswith("{")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", {}) or {}
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    data = blob[8 + n:]
    tensors, covered = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        assert end - begin == count * SIZES[info["dtype"]], name
        covered.append((begin, end))
        tensors[name] = (info["dtype"], info["shape"], data[begin:end])
    pos = 0
    for begin, end in sorted(covered):
        assert begin == pos, f"gap or overlap at {begin}"
        pos = end
    assert pos == len(data), "data not covered exactly"
    return metadata, tensors, 8 + n


def build(path):
    tensors = {"k.0": ("F16", [1, 2, 3, 4], bytes(range(48))), "k.1": ("F16", [1, 2, 3, 4], bytes(range(100, 148))),
               "emb": ("F32", [3], b"\x01\x02\x03\x04" * 3)}
    header, data = {"__metadata__": {"format": "pt", "z": "\u00e9"}}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode() + b"   "
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    return tensors


def main():
    tool = sys.argv[1]
    shape = {"schema_version": "fib_quant_kv_tensor_shape_v1", "role": "value", "attention_kind": "mqa", "batch": 1,
             "layers": 2, "kv_heads": 2, "query_heads": 2, "tokens": 3, "head_dim": 4, "dtype": "f16",
             "rope_state": "not_applicable"}
    shape.update(kv_heads=1, query_heads=4, attention_kind="mqa")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
        tensors = build(src)
        # kv_heads 1 does not match the tensors' 2: refused, nothing written.
        r = subprocess.run([tool, "attach", src, out, "k.{layer}", json.dumps(shape)], capture_output=True, text=True)
        assert r.returncode == 1 and "checkpoint.shape" in r.stderr, r.stderr
        assert not os.path.exists(out) and sorted(os.listdir(tmp)) == ["in.safetensors"]
        shape.update(kv_heads=2, query_heads=4, attention_kind="gqa")
        subprocess.run([tool, "attach", src, out, "k.{layer}", json.dumps(shape)], check=True)
        metadata, got, data_start = read(out)
        assert data_start % 8 == 0, data_start
        key = "fib_quant_kv.kv_shape.k.{layer}"
        assert list(metadata) == ["format", "z", key], metadata
        assert metadata["z"] == "\u00e9"
        assert json.loads(metadata[key]) == shape
        assert got == {n: (d, s, b) for n, (d, s, b) in tensors.items()}
        subprocess.run([tool, "verify", out], check=True)
        subprocess.run([tool, "detach", out, out, "k.{layer}"], check=True)
        metadata, got, _ = read(out)
        assert metadata == {"format": "pt", "z": "\u00e9"} and got == tensors
        assert sorted(os.listdir(tmp)) == ["in.safetensors", "out.safetensors"]
    print("ok: our safetensors output reads back with an independent reader")
    return 0


if __name__ == "__main__":
    sys.exit(main())
