"""safetensors and GGUF files built and read byte by byte from the formats' descriptions (issue 8,
docs/checkpoints.md), standard library only, for the tests that drive `kvshape checkpoint` and the independent
readers (tests/cli/test_cli_checkpoint.py, tests/checkpoint/test_gguf_independent_reader.py). Nothing here
calls the library: the files are the tests' own, and so is the reading back.

safetensors: u64 LE header length N, N bytes of a JSON object (name -> dtype, shape, data_offsets relative to
the data; "__metadata__" string -> string), the data. GGUF v3: "GGUF", u32 version, u64 tensor_count, u64
kv_count, the pairs (u64-length key, u32 type, value), the tensor infos (name, u32 n_dims, u64 dims innermost
first, u32 type, u64 offset relative to the data), zero padding to general.alignment (default 32), the data.
"""

import json
import struct

SCHEMA_ID = "fib_quant_kv_tensor_shape_v1"
FIELD_ORDER = ["schema_version", "role", "attention_kind", "batch", "layers", "kv_heads", "query_heads",
               "tokens", "head_dim", "dtype", "rope_state"]
KEY_PREFIX = "fib_quant_kv.kv_shape."

# GGUF metadata value types and ggml tensor types used here.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q",
          I64: "<q", F64: "<d"}
GGML_F32, GGML_F16, GGML_BF16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 30, 2, 8
GGML_SIZE = {GGML_F32: 4, GGML_F16: 2, GGML_BF16: 2}
GGML_NAME = {GGML_F32: "F32", GGML_F16: "F16", GGML_BF16: "BF16", GGML_Q4_0: "Q4_0", GGML_Q8_0: "Q8_0"}
# Block types: (elements per block, bytes per block), from ggml's type_traits (ggml/src/ggml.c): block_q8_0 is an
# f16 scale and 32 int8, block_q4_0 an f16 scale and 16 bytes of 4-bit pairs.
GGML_BLOCK = {GGML_Q8_0: (32, 34), GGML_Q4_0: (32, 18)}


def ggml_nbytes(dims, ggml_type):
    """Bytes of a tensor of `dims` (innermost first): whole blocks along the innermost dim for a block type."""
    if ggml_type in GGML_BLOCK:
        elems, size = GGML_BLOCK[ggml_type]
        assert dims[0] % elems == 0, dims
        return product(dims) // elems * size
    return product(dims) * GGML_SIZE[ggml_type]
ST_SIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I8": 1, "U8": 1, "I32": 4, "I64": 8, "F8_E4M3": 1}


def descriptor(role="key", kind="gqa", batch=1, layers=2, kv_heads=2, query_heads=8, tokens=4, head_dim=8,
               dtype="bf16", rope=None):
    """A descriptor as a dict in the schema's field order."""
    if rope is None:
        rope = "post_rope" if role == "key" else "not_applicable"
    values = [SCHEMA_ID, role, kind, batch, layers, kv_heads, query_heads, tokens, head_dim, dtype, rope]
    return dict(zip(FIELD_ORDER, values))


def canonical(d):
    """The canonical (serde compact) JSON of a descriptor dict: fields in schema order."""
    return json.dumps({k: d[k] for k in FIELD_ORDER}, separators=(",", ":"), ensure_ascii=False)


def pattern_bytes(index, length):
    """Deterministic, non-repeating-looking tensor bytes."""
    return bytes((index * 131 + i * 7 + (i >> 8)) % 256 for i in range(length))


def product(values):
    n = 1
    for v in values:
        n *= v
    return n


# ---------------------------------------------------------------------------------------------- safetensors

def safetensors(tensors, metadata=None, pad_to=8):
    """tensors: [(name, dtype, shape outermost first, bytes)] in data order. Returns the file's bytes."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in tensors:
        assert len(raw) == product(shape) * ST_SIZE[dtype], name
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-(8 + len(text)) % pad_to)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def read_safetensors(blob):
    """(metadata dict, {name: (dtype, shape, absolute begin, absolute end)}, data start), keys in file order."""
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    start = 8 + n
    table = {name: (info["dtype"], info["shape"], start + info["data_offsets"][0], start + info["data_offsets"][1])
             for name, info in header.items()}
    return metadata, table, start


# ---------------------------------------------------------------------------------------------- GGUF

def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value, sub_type=None):
    """The bytes of one value of the given type (arrays: a list of sub_type values)."""
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        return struct.pack("<IQ", sub_type, len(value)) + b"".join(gguf_value(sub_type, v) for v in value)
    return struct.pack(SCALAR[vtype], value)


def gguf(tensors, metadata, version=3):
    """metadata: [(key, type, value) or (key, ARRAY, values, sub_type)]; tensors: [(name, dims innermost
    first, ggml type, bytes)], laid out in order, each at a multiple of the alignment. Returns the file's
    bytes."""
    alignment = next((m[2] for m in metadata if m[0] == "general.alignment"), 32)
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, vtype, value, *sub in metadata:
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value, *sub)
    offset, data = 0, b""
    for name, dims, ggml_type, raw in tensors:
        assert len(raw) == ggml_nbytes(dims, ggml_type), name
        out += gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        out += struct.pack("<IQ", ggml_type, offset)
        data += raw + b"\0" * (-len(raw) % alignment)
        offset = len(data)
    out += b"\0" * (-len(out) % alignment)
    return out + data


class _Cursor:
    def __init__(self, blob, pos):
        self.blob, self.pos = blob, pos

    def take(self, fmt):
        (value,) = struct.unpack_from(fmt, self.blob, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.take("<Q")
        s = self.blob[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            sub, count = self.take("<I"), self.take("<Q")
            return [self.value(sub) for _ in range(count)]
        return self.take(SCALAR[vtype])


def read_gguf(blob):
    """{"version", "metadata": [(key, type, value, raw value bytes)], "tensors": [(name, dims innermost first,
    type, relative offset)], "alignment", "data_offset", "infos_end"} of a little-endian GGUF file."""
    assert blob[:4] == b"GGUF", blob[:4]
    c = _Cursor(blob, 4)
    version, n_tensors, n_kv = c.take("<I"), c.take("<Q"), c.take("<Q")
    metadata = []
    for _ in range(n_kv):
        key, vtype = c.string(), c.take("<I")
        begin = c.pos
        value = c.value(vtype)
        metadata.append((key, vtype, value, blob[begin:c.pos]))
    tensors = []
    for _ in range(n_tensors):
        name, n_dims = c.string(), c.take("<I")
        dims = [c.take("<Q") for _ in range(n_dims)]
        tensors.append((name, dims, c.take("<I"), c.take("<Q")))
    alignment = next((m[2] for m in metadata if m[0] == "general.alignment"), 32)
    infos_end = c.pos
    data_offset = infos_end + (-infos_end % alignment)
    return {"version": version, "metadata": metadata, "tensors": tensors, "alignment": alignment,
            "data_offset": data_offset, "infos_end": infos_end}


def gguf_tensor_slices(blob):
    """{name: tensor bytes} of a GGUF file, from its tensor infos (element count x element size)."""
    info = read_gguf(blob)
    out = {}
    for name, dims, ggml_type, offset in info["tensors"]:
        begin = info["data_offset"] + offset
        out[name] = blob[begin:begin + ggml_nbytes(dims, ggml_type)]
    return out
