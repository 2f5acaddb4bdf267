#!/usr/bin/python3
"""Writes the demo's small checkpoints, byte by byte from the two formats' descriptions (not with kvshape):

  examples/checkpoints/kv_cache.safetensors  a KV cache of 2 layers, tensors past.{layer}.key / .value,
  examples/checkpoints/kv_cache.gguf         each [batch 1, kv_heads 2, tokens 4, head_dim 8] in bf16
                                             (GGUF stores the dims innermost first: [8, 4, 2, 1])

and the key and value descriptors that describe them (key.json, value.json). Deterministic; rerun to recreate.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS, BATCH, KV_HEADS, TOKENS, HEAD_DIM = 2, 1, 2, 4, 8
SHAPE = [BATCH, KV_HEADS, TOKENS, HEAD_DIM]
NBYTES = BATCH * KV_HEADS * TOKENS * HEAD_DIM * 2  # bf16


def tensor_bytes(index: int) -> bytes:
    return bytes((index * 37 + i) % 251 for i in range(NBYTES))


NAMES = [f"past.{layer}.{part}" for layer in range(LAYERS) for part in ("key", "value")]


def safetensors() -> bytes:
    header = {"__metadata__": {"format": "pt", "producer": "examples/checkpoints/make_examples.py"}}
    offset = 0
    for name in NAMES:
        header[name] = {"dtype": "BF16", "shape": SHAPE, "data_offsets": [offset, offset + NBYTES]}
        offset += NBYTES
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-aligned
    return struct.pack("<Q", len(text)) + text + b"".join(tensor_bytes(i) for i in range(len(NAMES)))


def gguf_string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf() -> bytes:
    kv = [("general.architecture", 8, gguf_string("llama")), ("general.alignment", 4, struct.pack("<I", 32))]
    out = b"GGUF" + struct.pack("<IQQ", 3, len(NAMES), len(kv))
    for key, vtype, value in kv:
        out += gguf_string(key) + struct.pack("<I", vtype) + value
    offset = 0
    for name in NAMES:
        out += gguf_string(name) + struct.pack("<I", 4) + struct.pack("<4Q", *reversed(SHAPE))
        out += struct.pack("<IQ", 30, offset)  # type BF16 (30), offset in the data section
        offset += NBYTES + (-NBYTES % 32)
    out += b"\0" * (-len(out) % 32)
    for i in range(len(NAMES)):
        out += tensor_bytes(i) + b"\0" * (-NBYTES % 32)
    return out


def descriptor(role: str) -> dict:
    return {"schema_version": "fib_quant_kv_tensor_shape_v1", "role": role, "attention_kind": "gqa",
            "batch": BATCH, "layers": LAYERS, "kv_heads": KV_HEADS, "query_heads": 8, "tokens": TOKENS,
            "head_dim": HEAD_DIM, "dtype": "bf16", "rope_state": "post_rope" if role == "key" else "not_applicable"}


if __name__ == "__main__":
    for name, data in (("kv_cache.safetensors", safetensors()), ("kv_cache.gguf", gguf())):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    for role in ("key", "value"):
        with open(os.path.join(HERE, f"{role}.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(descriptor(role), separators=(",", ":")) + "\n")
