#!/usr/bin/env python3
"""End-to-end tests of v2 cache specs in checkpoints: `kvshape checkpoint attach --key-tensors ... / verify /
inspect / detach --name` over safetensors and GGUF files built byte by byte by these tests
(tests/checkpoint/checkpoint_files.py, from the formats' descriptions, never with kvshape).

Run as:  python3 tests/cli/test_cli_checkpoint_v2.py PATH_TO_KVSHAPE [unittest options]

Expected values are worked out here, not asked of kvshape: each layer's tensor shape from the spec by the rule
docs/checkpoints.md states (the spec's dim_order without `layer` and, K and V separate, without `kv`; token the
tokens held, min(tokens, window) for a sliding group; paged: block_size tokens and batch * ceil(held /
block_size) blocks at least; V transposed: token innermost), byte lengths from ggml's block sizes, and the stored
metadata values as the canonical JSON this file writes (fields in schema order, optional ones left out when
absent). GGUF keys must follow GGUF's convention: lower_snake_case segments separated by dots.
"""

import json
import os
import re
import subprocess
import sys

KVSHAPE = None  # set from argv[1] in __main__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "checkpoint"))  # tests/checkpoint/
import require_all  # noqa: E402,F401  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run
import checkpoint_files as cf  # noqa: E402
from cli_support import TempDirTestCase, kvshape_from_argv  # noqa: E402

SPEC_ID = "fib_quant_kv_cache_spec_v2"
GROUP_FIELDS = ["layers", "attention", "window", "chunk", "kv_lora_rank", "qk_rope_head_dim", "state_bytes",
                "kv_heads", "key_head_dim", "value_head_dim", "rope_state"]
GGUF_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")  # GGUF's key convention (GGUF spec, "Standardized key-value pairs")
PREFIX = "fib_quant_kv.kv_cache_spec."


def group(layers, attention="full", kv_heads=2, key_head_dim=32, value_head_dim=None, rope_state="post_rope", **extra):
    g = {"layers": layers, "attention": attention, "kv_heads": kv_heads, "key_head_dim": key_head_dim,
         "value_head_dim": key_head_dim if value_head_dim is None else value_head_dim, "rope_state": rope_state}
    g.update(extra)
    return {k: g[k] for k in GROUP_FIELDS if k in g}


def spec(groups, layers, batch=1, tokens=8, dim_order=("layer", "batch", "head", "token", "dim"), packing="separate",
         block_size=0, value_layout="rows", scheme="none", dtype="bf16"):
    return {"schema_version": SPEC_ID, "layers": layers, "batch": batch, "tokens": tokens, "groups": groups,
            "storage": {"dim_order": list(dim_order), "packing": packing, "block_size": block_size,
                        "value_layout": value_layout},
            "quant": {"scheme": scheme, "dtype": dtype, "scale_granularity": "none"}}


def canonical(d):
    return json.dumps(d, separators=(",", ":"))


def run(*args):
    return subprocess.run([KVSHAPE, "checkpoint", *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=120)


# Gemma-like: layers 0, 1, 3 slide over a window of 4 tokens, layer 2 is full; 8 tokens, 2 heads of 32, bf16.
GEMMA = spec([group([0, 1, 3], "sliding_window", window=4), group([2])], layers=4)
# transformers' layout: per layer [batch, heads, held tokens, head_dim]; held = min(8, 4) for sliding layers.
GEMMA_SHAPES = {0: [1, 2, 4, 32], 1: [1, 2, 4, 32], 2: [1, 2, 8, 32], 3: [1, 2, 4, 32]}


class SpecCheckpoints(TempDirTestCase):
    tmp_prefix = "kvshape_checkpoint_v2_"

    def ok(self, *args):
        proc = run(*args)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        return proc

    def inspect(self, path):
        return json.loads(self.ok("inspect", path, "--format", "json").stdout)

    def safetensors(self, shapes, dtype="BF16", names=("past.{}.key", "past.{}.value"), name="in.safetensors"):
        tensors = []
        for layer, shape in shapes.items():
            for i, n in enumerate(names):
                raw = cf.pattern_bytes(layer * 2 + i, cf.product(shape) * cf.ST_SIZE[dtype])
                tensors.append((n.format(layer), dtype, shape, raw))
        return self.write_file(cf.safetensors(tensors, {"format": "pt"}), name)

    def spec_file(self, s, name="spec.json"):
        return self.write_file(json.dumps(s, indent=1), name)

    def attach(self, src, s, *patterns, out="out", name=None):
        args = ["attach", src, "--shape", self.spec_file(s), "-o", os.path.join(self.tmp, out)]
        args += ["--key-tensors", patterns[0]]
        if len(patterns) > 1:
            args += ["--value-tensors", patterns[1]]
        if name:
            args += ["--name", name]
        return run(*args)

    # ------------------------------------------------------------------------------------------ safetensors

    def test_attach_verify_inspect_detach_round_trip(self):
        src = self.safetensors(GEMMA_SHAPES)
        proc = self.attach(src, GEMMA, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = os.path.join(self.tmp, "out")
        meta, table, _ = cf.read_safetensors(cf_read(out))
        self.assertEqual(meta[PREFIX + "kv_cache.spec"], canonical(GEMMA))
        self.assertEqual(meta[PREFIX + "kv_cache.key_tensors"], "past.{layer}.key")
        self.assertEqual(meta[PREFIX + "kv_cache.value_tensors"], "past.{layer}.value")
        self.assertEqual(meta["format"], "pt")
        verify = self.ok("verify", out)
        self.assertEqual(verify.stdout.decode(), f"{out}: 0 descriptors and 1 cache spec, every one agrees with its tensors\n")
        info = self.inspect(out)
        self.assertEqual(len(info["specs"]), 1)
        s = info["specs"][0]
        self.assertEqual((s["name"], s["key_tensors"], s["value_tensors"], s["error"]),
                         ("kv_cache", "past.{layer}.key", "past.{layer}.value", None))
        self.assertEqual(s["spec"], GEMMA)
        self.assertEqual(s["tensors"], [f"past.{l}.{r}" for l in range(4) for r in ("key", "value")])
        self.assertRegex(s["digest"], "^[0-9a-f]{32}$")
        self.ok("detach", out, "--name", "kv_cache", "-o", os.path.join(self.tmp, "back"))
        meta_back, table_back, _ = cf.read_safetensors(cf_read(os.path.join(self.tmp, "back")))
        self.assertEqual(meta_back, {"format": "pt"})
        self.assertEqual(table_back.keys(), table.keys())
        again = run("detach", os.path.join(self.tmp, "back"), "--name", "kv_cache", "-o", os.path.join(self.tmp, "x"))
        self.assertEqual(again.returncode, 1)
        self.assertIn("[checkpoint.not_attached]", again.stderr.decode())

    def test_sliding_layer_holding_every_token_is_refused(self):
        shapes = dict(GEMMA_SHAPES)
        shapes[1] = [1, 2, 8, 32]  # a sliding layer stored with all 8 tokens, not the window's 4
        proc = self.attach(self.safetensors(shapes), GEMMA, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 1)
        err = proc.stderr.decode()
        self.assertIn("tensor_mismatch [checkpoint.shape]", err)
        self.assertIn("tensor `past.1.key` (layer 1, K): shape [1, 2, 8, 32], the spec's layout is "
                      "[batch 1, head 2, token 4, dim 32]", err)
        self.assertIn("`past.1.value` (layer 1, V)", err)
        self.assertNotIn("past.0.", err)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["in.safetensors", "spec.json"])  # nothing written

    def test_missing_layer_wrong_dtype(self):
        shapes = {k: v for k, v in GEMMA_SHAPES.items() if k != 3}
        proc = self.attach(self.safetensors(shapes, dtype="F16"), GEMMA, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 1)
        err = proc.stderr.decode()
        self.assertIn("[checkpoint.missing_tensor] (layers): tensor `past.3.key` (layer 3 of 4) is not in the file", err)
        self.assertIn("[checkpoint.dtype] (quant): tensor `past.0.key` (layer 0, K): dtype F16, the spec says bf16", err)

    def test_linear_layers_have_no_tensors(self):
        # A Qwen3-Next-like hybrid: layers 0-2 linear attention (state only), layer 3 full.
        s = spec([group([0, 1, 2], "linear", kv_heads=0, key_head_dim=0, value_head_dim=0,
                        rope_state="not_applicable", state_bytes=4096), group([3])], layers=4)
        src = self.safetensors({3: [1, 2, 8, 32]})
        proc = self.attach(src, s, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.ok("verify", os.path.join(self.tmp, "out"))

    def test_mla_is_keys_only_and_takes_no_value_pattern(self):
        # DeepSeek-like MLA: one latent head of kv_lora_rank 64 + rope 32 = 96 per token, no V.
        s = spec([group([0, 1], "mla", kv_heads=1, key_head_dim=96, value_head_dim=0, kv_lora_rank=64,
                        qk_rope_head_dim=32)], layers=2)
        src = self.safetensors({0: [1, 1, 8, 96], 1: [1, 1, 8, 96]}, names=("latent.{}",))
        both = self.attach(src, s, "latent.{layer}", "past.{layer}.value")
        self.assertEqual(both.returncode, 2)
        self.assertIn("[checkpoint.spec_tensors]", both.stderr.decode())
        self.assertIn("no layer of the spec has a V tensor", both.stderr.decode())
        proc = self.attach(src, s, "latent.{layer}")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.ok("verify", os.path.join(self.tmp, "out"))

    def test_paged_stacked_pool_may_hold_more_blocks(self):
        # vLLM's layout: per layer [2, blocks, block_size, heads, dim], K and V stacked; 2 sequences of 8 tokens in
        # pages of 4 need 2 * ceil(8 / 4) = 4 blocks at least.
        s = spec([group([0, 1])], layers=2, batch=2, dim_order=("layer", "kv", "block", "token", "head", "dim"),
                 packing="stacked", block_size=4)
        for blocks, status in ((4, 0), (6, 0), (3, 1)):
            with self.subTest(blocks=blocks):
                shape = [2, blocks, 4, 2, 32]
                src = self.safetensors({0: shape, 1: shape}, names=("kv.{}",), name=f"paged{blocks}")
                proc = self.attach(src, s, "kv.{layer}", out=f"out{blocks}")
                self.assertEqual(proc.returncode, status, proc.stderr)
                if status:
                    self.assertIn("the spec's layout is [kv 2, block 4 or more, token 4, head 2, dim 32]",
                                  proc.stderr.decode())
        separate = self.attach(src, s, "kv.{layer}", "v.{layer}")
        self.assertEqual(separate.returncode, 2)
        self.assertIn("K and V are stacked in one tensor per layer", separate.stderr.decode())

    def test_fp8_is_stored_as_f8_e4m3(self):
        s = spec([group([0])], layers=1)
        s["quant"] = {"scheme": "fp8_e4m3", "dtype": "bf16", "scale_granularity": "tensor", "scale_dtype": "f32"}
        src = self.safetensors({0: [1, 2, 8, 32]}, dtype="F8_E4M3")
        proc = self.attach(src, s, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        wrong = self.safetensors({0: [1, 2, 8, 32]}, dtype="BF16", name="bf16")
        proc = self.attach(wrong, s, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("dtype BF16, the spec's fp8_e4m3 is stored as F8_E4M3", proc.stderr.decode())

    def test_bad_name_and_missing_patterns_are_usage_errors(self):
        src = self.safetensors(GEMMA_SHAPES)
        for name in ("Kv-Cache", "a.b", "kv cache"):
            with self.subTest(name=name):
                proc = self.attach(src, GEMMA, "past.{layer}.key", "past.{layer}.value", name=name)
                self.assertEqual(proc.returncode, 2)
                self.assertIn("[checkpoint.spec_name]", proc.stderr.decode())
        proc = self.attach(src, GEMMA, "past.{layer}.key")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("needs a pattern for its V tensors too", proc.stderr.decode())
        proc = run("attach", src, "--shape", self.spec_file(GEMMA), "--tensors", "past.{layer}.key", "-o",
                   os.path.join(self.tmp, "out"))
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--key-tensors", proc.stderr.decode())
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")))

    def test_invalid_spec_is_refused(self):
        bad = spec([group([0, 1, 3], "sliding_window", window=0), group([2])], layers=4)
        proc = self.attach(self.safetensors(GEMMA_SHAPES), bad, "past.{layer}.key", "past.{layer}.value")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("[group.window.nonzero] (groups[0].window)", proc.stderr.decode())

    def test_a_second_name_keeps_the_first(self):
        src = self.safetensors(GEMMA_SHAPES)
        self.assertEqual(self.attach(src, GEMMA, "past.{layer}.key", "past.{layer}.value", out="one").returncode, 0)
        one = os.path.join(self.tmp, "one")
        proc = self.attach(one, GEMMA, "past.{layer}.key", "past.{layer}.value", out="two", name="draft_0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = [s["name"] for s in self.inspect(os.path.join(self.tmp, "two"))["specs"]]
        self.assertEqual(names, ["kv_cache", "draft_0"])

    def test_hostile_spec_metadata(self):
        # Pairs written by hand: a spec without its key pattern, a stranger key, a spec that does not decode.
        meta = {PREFIX + "a.spec": canonical(GEMMA), PREFIX + "b.spec": "{", PREFIX + "b.key_tensors": "k.{layer}",
                PREFIX + "c.spec": canonical(GEMMA), PREFIX + "c.key_tensors": "k.{layer}",
                PREFIX + "c.other": "x"}
        src = self.write_file(cf.safetensors([], meta), "h.safetensors")
        proc = run("verify", src)
        self.assertEqual(proc.returncode, 1)
        err = proc.stderr.decode()
        self.assertIn("parse [checkpoint.spec_keys]: spec `a`: needs both `a.spec` and `a.key_tensors`", err)
        self.assertIn("parse [json.syntax]: spec `b`: invalid JSON", err)
        self.assertIn("key `fib_quant_kv.kv_cache_spec.c.other` is not one of a spec's keys", err)

    # ------------------------------------------------------------------------------------------ GGUF

    def gguf(self, layers, ggml_type, dims_of, names=("blk.{}.cache_k", "blk.{}.cache_v"), name="in.gguf"):
        tensors = []
        for layer in range(layers):
            for i, n in enumerate(names):
                dims = dims_of(layer, i)
                raw = cf.pattern_bytes(layer * 2 + i, cf.ggml_nbytes(dims, ggml_type))
                tensors.append((n.format(layer), dims, ggml_type, raw))
        return self.write_file(cf.gguf(tensors, [("general.architecture", cf.STRING, "llama")]), name)

    def test_gguf_q8_0_rows_and_transposed_v(self):
        # llama.cpp's layout: per layer [batch, token, head, dim] (GGUF dims innermost first: [dim, head, token,
        # batch]), K in Q8_0 (34 bytes per 32 elements); V transposed: [batch, head, dim, token].
        s = spec([group([0, 1], kv_heads=2, key_head_dim=64)], layers=2, tokens=32,
                 dim_order=("layer", "batch", "token", "head", "dim"), value_layout="transposed", scheme="q8_0",
                 dtype="f16")
        src = self.gguf(2, cf.GGML_Q8_0, lambda layer, i: [64, 2, 32, 1] if i == 0 else [32, 64, 2, 1])
        proc = self.attach(src, s, "blk.{layer}.cache_k", "blk.{layer}.cache_v")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = os.path.join(self.tmp, "out")
        info = cf.read_gguf(cf_read(out))
        keys = [m[0] for m in info["metadata"]]
        self.assertEqual(keys, ["general.architecture", PREFIX + "kv_cache.spec", PREFIX + "kv_cache.key_tensors",
                                PREFIX + "kv_cache.value_tensors"])
        for key in keys:
            self.assertRegex(key, GGUF_KEY)
        self.assertEqual(info["metadata"][1][2], canonical(s))
        self.ok("verify", out)
        # The same file read under q4_0 disagrees on every tensor's dtype.
        q4 = dict(s, quant=dict(s["quant"], scheme="q4_0"))
        proc = self.attach(src, q4, "blk.{layer}.cache_k", "blk.{layer}.cache_v", out="q4")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("dtype Q8_0, the spec's q4_0 is stored as Q4_0", proc.stderr.decode())
        # V in rows order is not the file's transposed V.
        rows = dict(s, storage=dict(s["storage"], value_layout="rows"))
        proc = self.attach(src, rows, "blk.{layer}.cache_k", "blk.{layer}.cache_v", out="rows")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("tensor `blk.0.cache_v` (layer 0, V): shape [1, 2, 64, 32]", proc.stderr.decode())

    def test_gguf_has_no_fp8(self):
        s = spec([group([0])], layers=1, tokens=4)
        s["quant"] = {"scheme": "fp8_e4m3", "dtype": "bf16", "scale_granularity": "tensor", "scale_dtype": "f32"}
        src = self.gguf(1, cf.GGML_F16, lambda layer, i: [32, 4, 2, 1])
        proc = self.attach(src, s, "blk.{layer}.cache_k", "blk.{layer}.cache_v")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("gguf has no dtype for fp8_e4m3 elements", proc.stderr.decode())


def cf_read(path):
    with open(path, "rb") as f:
        return f.read()


if __name__ == "__main__":
    KVSHAPE = kvshape_from_argv()
    import unittest

    unittest.main(argv=[sys.argv[0]] + sys.argv[2:])
