#!/usr/bin/env python3
"""Our GGUF output, read back by an independent reader: the npm package @huggingface/gguf (pinned in
gguf_js/package.json and package-lock.json), through gguf_js/read_gguf.js.

    test_gguf_independent_reader.py KVSHAPE WORK_DIR [unittest options]

WORK_DIR (in the build folder) receives a copy of gguf_js/ and one `npm ci` (the registry's tarballs, checked
against the lock's integrity hashes); a later run with the same lock reuses it. The input is a GGUF file built
byte by byte here (tests/checkpoint/checkpoint_files.py; metadata of several types: strings, u32, u64, i64, f32,
f64, bool, an array of strings; tensors F32, F16, BF16, a non-default general.alignment); kvshape attaches the
key and value descriptors; the package must find every original metadata pair exactly as written, plus ours with
the canonical JSON, the tensor infos (names, dims innermost first, types, offsets) as written, and every
tensor's bytes (sha256) as in the input. Then kvshape detaches both and the package must see the input again.

Without node or npm, or when the install fails, the tests skip with the reason; under
FIB_QUANT_KV_REQUIRE_ALL that is a failure (tests/require_all.py).
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "cli"))  # tests/cli/
sys.path.insert(0, HERE)
import require_all  # noqa: E402  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run
import checkpoint_files as cf  # noqa: E402
from cli_support import TempDirTestCase  # noqa: E402

KVSHAPE = None  # argv[1]
READER = None  # [node, WORK_DIR/read_gguf.js] once installed
WHY_NOT = "the reader was not prepared"
PACKAGE = "@huggingface/gguf"
SOURCE = os.path.join(HERE, "gguf_js")
FILES = ("package.json", "package-lock.json", "read_gguf.js")
STAMP = ".fib_quant_kv-package-lock.json"  # in node_modules: the lock it was installed from


def prepare(work):
    """Copies gguf_js/ to `work` and runs `npm ci` there unless an install from the same lock is present.
    Returns ([node, script], None) or (None, why not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None, "node and npm are needed on PATH for the independent GGUF reader (Debian: apt-get install " \
                     "nodejs npm)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    os.makedirs(work, exist_ok=True)
    for name in FILES:
        shutil.copyfile(os.path.join(SOURCE, name), os.path.join(work, name))
    with open(os.path.join(SOURCE, "package-lock.json"), "rb") as f:
        lock = f.read()
    stamp = os.path.join(work, "node_modules", STAMP)
    installed = os.path.join(work, "node_modules", *PACKAGE.split("/"), "package.json")
    fresh = os.path.exists(stamp) and os.path.exists(installed) and open(stamp, "rb").read() == lock
    if not fresh:
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=work,
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not os.path.exists(installed):
            return None, f"`npm ci` of {PACKAGE} in {work} failed (exit {proc.returncode}): " \
                         f"{(proc.stderr or proc.stdout).strip()[-2000:]}"
        with open(stamp, "wb") as f:
            f.write(lock)
    with open(os.path.join(SOURCE, "package.json"), encoding="utf-8") as f:
        pinned = json.load(f)["dependencies"][PACKAGE]
    with open(installed, encoding="utf-8") as f:
        got = json.load(f)["version"]
    if got != pinned:
        return None, f"{PACKAGE} {got} is installed in {work}, package.json pins {pinned}"
    print(f"note: {PACKAGE} {got} under node {version}", flush=True)
    return [node, os.path.join(work, "read_gguf.js")], None


def read_with_package(path):
    proc = subprocess.run(READER + [path], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def f32(x):
    """x rounded to float32, as the reader (a float32 widened to a JS number) gives it back."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


ALIGNMENT = 64
METADATA = [
    ("general.architecture", cf.STRING, "llama"),
    ("general.name", cf.STRING, "tïny KV \"test\" model"),
    ("general.alignment", cf.U32, ALIGNMENT),
    ("llama.block_count", cf.U32, 2),
    ("llama.context_length", cf.U32, 4096),
    ("llama.attention.layer_norm_rms_epsilon", cf.F32, 1e-5),
    ("llama.rope.freq_base", cf.F32, 10000.0),
    ("general.size_bytes", cf.U64, 2 ** 62 + 3),
    ("general.offset_test", cf.I64, -(2 ** 53) - 1),
    ("general.ratio", cf.F64, 0.1),
    ("tokenizer.ggml.add_bos_token", cf.BOOL, True),
    ("tokenizer.ggml.add_eos_token", cf.BOOL, False),
    ("tokenizer.ggml.tokens", cf.ARRAY, ["<s>", "</s>", "héllo", ""], cf.STRING),
]
LAYERS, BATCH, KV_HEADS, TOKENS, HEAD_DIM = 2, 1, 2, 5, 16
KV_DIMS = [HEAD_DIM, TOKENS, KV_HEADS, BATCH]  # innermost first


def tensors():
    """[(name, dims innermost first, ggml type, bytes)], in data order."""
    out = [("token_embd.weight", [HEAD_DIM, 7], cf.GGML_F32, cf.pattern_bytes(50, HEAD_DIM * 7 * 4))]
    for layer in range(LAYERS):
        for i, part in enumerate(("attn_k", "attn_v")):
            out.append((f"blk.{layer}.{part}", KV_DIMS, cf.GGML_F16, cf.pattern_bytes(2 * layer + i, 2 * 160)))
    out.append(("output_norm.weight", [3], cf.GGML_BF16, b"\x01\x02\x03\x04\x05\x06"))  # not a multiple of 64
    return out


def expected_metadata():
    """The metadata pairs as the package returns them (read_gguf.js's JSON)."""
    out = []
    for key, vtype, value, *sub in METADATA:
        if vtype == cf.F32:
            value = f32(value)
        elif vtype in (cf.U64, cf.I64):
            value = str(value)
        item = {"key": key, "type": vtype, "value": value}
        if sub:
            item["sub_type"] = sub[0]
        out.append(item)
    return out


def expected_tensors():
    """The tensor infos as written: offsets relative to the data, each tensor padded to the alignment."""
    out, offset = [], 0
    for name, dims, ggml_type, raw in tensors():
        out.append({"name": name, "dims": [str(d) for d in dims], "type": ggml_type, "offset": str(offset),
                    "length": len(raw), "sha256": hashlib.sha256(raw).hexdigest()})
        offset += len(raw) + (-len(raw) % ALIGNMENT)
    return out


class IndependentGgufReader(TempDirTestCase):
    tmp_prefix = "kvshape_gguf_js_"

    def setUp(self):
        if READER is None:
            self.skipTest(WHY_NOT)
        super().setUp()
        self.src = self.write_file(cf.gguf(tensors(), METADATA), "in.gguf")
        self.out = os.path.join(self.tmp, "out.gguf")
        self.key = cf.descriptor("key", layers=LAYERS, batch=BATCH, kv_heads=KV_HEADS, query_heads=8, tokens=TOKENS,
                                 head_dim=HEAD_DIM, dtype="f16")
        self.value = dict(self.key, role="value", rope_state="not_applicable")

    def kvshape(self, *args, shape=None):
        proc = subprocess.run([KVSHAPE, "checkpoint", *args], input=json.dumps(shape).encode() if shape else b"",
                              capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def test_the_input_reads_as_written(self):
        # Our builder and the package agree on the input before kvshape touches it.
        got = read_with_package(self.src)
        self.assertEqual((got["version"], got["tensor_count"], got["kv_count"]),
                         (3, str(len(tensors())), str(len(METADATA))))
        self.assertEqual(got["metadata"], expected_metadata())
        self.assertEqual(got["tensors"], expected_tensors())

    def test_our_output_reads_back(self):
        self.kvshape("attach", self.src, "--shape", "-", "--tensors", "blk.{layer}.attn_k", "-o", self.out,
                     shape=self.key)
        self.kvshape("attach", self.out, "--shape", "-", "--tensors", "blk.{layer}.attn_v", "-o", self.out,
                     shape=self.value)
        got = read_with_package(self.out)
        # GGUF's key convention (lower_snake_case segments): each descriptor as two pairs, its pattern a value.
        ours = [{"key": "fib_quant_kv.kv_shape.blk_layer_attn_k.descriptor", "type": cf.STRING,
                 "value": cf.canonical(self.key)},
                {"key": "fib_quant_kv.kv_shape.blk_layer_attn_k.tensors", "type": cf.STRING,
                 "value": "blk.{layer}.attn_k"},
                {"key": "fib_quant_kv.kv_shape.blk_layer_attn_v.descriptor", "type": cf.STRING,
                 "value": cf.canonical(self.value)},
                {"key": "fib_quant_kv.kv_shape.blk_layer_attn_v.tensors", "type": cf.STRING,
                 "value": "blk.{layer}.attn_v"}]
        self.assertEqual(got["version"], 3)
        self.assertEqual(got["kv_count"], str(len(METADATA) + 4))
        self.assertEqual(got["tensor_count"], str(len(tensors())))
        self.assertEqual(got["metadata"], expected_metadata() + ours)
        self.assertEqual(json.loads(got["metadata"][-4]["value"]), self.key)
        self.assertEqual(got["tensors"], expected_tensors())
        # The data section where the package computes it (after the infos, padded to general.alignment) is where
        # kvshape put it; the data section (the last tensor's padding included) is as long as the input's.
        shown = json.loads(self.kvshape("inspect", self.out, "--format", "json"))
        before = read_with_package(self.src)
        self.assertEqual(int(got["data_offset"]), shown["data_offset"])
        self.assertEqual(int(got["data_offset"]) % ALIGNMENT, 0)
        self.assertEqual(got["file_size"] - int(got["data_offset"]), before["file_size"] - int(before["data_offset"]))
        self.assertIn(b"2 descriptors, every one agrees", self.kvshape("verify", self.out))

        # Detached again: the package sees the input's metadata and tensors.
        for part in ("attn_k", "attn_v"):
            self.kvshape("detach", self.out, "--tensors", f"blk.{{layer}}.{part}", "-o", self.out)
        got = read_with_package(self.out)
        self.assertEqual(got["metadata"], expected_metadata())
        self.assertEqual(got["tensors"], expected_tensors())
        self.assertEqual(sorted(os.listdir(self.tmp)), ["in.gguf", "out.gguf"])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.stderr.write("usage: %s KVSHAPE WORK_DIR [unittest options]\n" % sys.argv[0])
        sys.exit(2)
    KVSHAPE = os.path.abspath(sys.argv[1])
    try:
        READER, WHY_NOT = prepare(os.path.abspath(sys.argv[2]))
    except (OSError, subprocess.SubprocessError) as e:  # npm hung past the timeout, a folder not writable...
        READER, WHY_NOT = None, f"the independent GGUF reader could not be installed: {e}"
    if READER is None:
        require_all.missing(WHY_NOT)  # under the switch: exit 1 here
    require_all.unittest_main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
