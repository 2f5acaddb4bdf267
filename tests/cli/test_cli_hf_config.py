#!/usr/bin/env python3
"""End-to-end tests of `kvshape from-hf-config` (Python 3 standard library only).

Run as:  python3 tests/cli/test_cli_hf_config.py PATH_TO_KVSHAPE [unittest options]

Every bundled config in examples/configs/ is sized, and its bytes per token are pinned here from the model's
hyper-parameters (2 x layers x kv_heads x head_dim x dtype bytes: keys and values); the JSON row is checked key
by key against descriptors built here; refusals exit 1 with the reason, usage and I/O errors exit 2.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

KVSHAPE = None  # set from argv[1] in __main__
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONFIGS = os.path.join(REPO, "examples", "configs")
HOSTILE = os.path.join(REPO, "tests", "data", "hf_configs")
sys.path.insert(0, os.path.dirname(HERE))  # tests/
import require_all  # noqa: E402,F401  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run

SCHEMA_ID = "fib_quant_kv_tensor_shape_v1"
DTYPE_BYTES = {"f16": 2, "bf16": 2, "f32": 4}

# config: (model_type, layers, query_heads, kv_heads, head_dim, dtype, attention_kind, notes?)
EXPECTED = {
    "llama-3-8b.json": ("llama", 32, 32, 8, 128, "bf16", "gqa", False),
    "llama-2-7b.json": ("llama", 32, 32, 32, 128, "f16", "mha", False),
    "falcon-7b.json": ("falcon", 32, 71, 1, 64, "bf16", "mqa", False),
    "gpt2.json": ("gpt2", 12, 12, 12, 64, "f32", "mha", False),
    "gemma-7b.json": ("gemma", 28, 16, 16, 256, "bf16", "mha", False),
    "qwen2-7b.json": ("qwen2", 28, 28, 4, 128, "bf16", "gqa", False),
    "gemma-2-9b.json": ("gemma2", 42, 16, 8, 256, "f32", "gqa", True),
    "llava-1.5-7b.json": ("llava", 32, 32, 32, 128, "f16", "mha", False),
    # no torch_dtype: sized with --dtype bf16 (EXTRA_ARGS)
    "gpt-oss-20b.json": ("gpt_oss", 24, 64, 8, 64, "bf16", "gqa", True),
    "llama-3.1-8b.json": ("llama", 32, 32, 8, 128, "bf16", "gqa", False),
    "llama-3.2-3b.json": ("llama", 28, 24, 8, 128, "bf16", "gqa", False),
    "qwen2.5-3b.json": ("qwen2", 36, 16, 2, 128, "bf16", "gqa", False),
    "qwen2.5-7b.json": ("qwen2", 28, 28, 4, 128, "bf16", "gqa", False),
    "qwen2.5-14b.json": ("qwen2", 48, 40, 8, 128, "bf16", "gqa", False),
    "qwen2.5-32b.json": ("qwen2", 64, 40, 8, 128, "bf16", "gqa", False),
    "qwen3-4b.json": ("qwen3", 36, 32, 8, 128, "bf16", "gqa", False),
    "qwen3-8b.json": ("qwen3", 36, 32, 8, 128, "bf16", "gqa", False),
    "qwen3-14b.json": ("qwen3", 40, 40, 8, 128, "bf16", "gqa", False),
    "qwen3-32b.json": ("qwen3", 64, 64, 8, 128, "bf16", "gqa", False),
    "qwen3-30b-a3b.json": ("qwen3_moe", 48, 32, 4, 128, "bf16", "gqa", False),
    # issue-15 families (every engine's figure in test_cli_real_configs.py)
    "gpt-oss-120b.json": ("gpt_oss", 36, 64, 8, 64, "bf16", "gqa", True),  # no torch_dtype: --dtype bf16
    # text_config; no_rope_layer_interval left to the class default (4): 36 chunked + 12 full layers
    "llama-4-scout.json": ("llama4", 48, 40, 8, 128, "bf16", "gqa", False),
    # legacy RefinedWeb keys: n_layer 60, n_head 128, n_head_kv 8, hidden_size 8192 / 128 = 64
    "falcon-40b.json": ("RefinedWeb", 60, 128, 8, 64, "bf16", "gqa", False),
    # gemma3_text with sliding_window_pattern 6: 22 sliding (window 512) + 4 full layers, one KV head
    "gemma-3-1b-it.json": ("gemma3_text", 26, 4, 1, 256, "bf16", "mqa", True),
    # sliding_window 4096 with no layer_types: the window goes on every layer in transformers (noted)
    "mistral-7b-v0.1.json": ("mistral", 32, 32, 8, 128, "bf16", "gqa", True),
    # gemma3 with a text_config that leaves sliding_window_pattern to Gemma3TextConfig's default (6): 52 sliding
    # (window 1024) + 10 full layers, 16 KV heads of 128
    "gemma-3-27b-it.json": ("gemma3", 62, 32, 16, 128, "bf16", "gqa", True),
    # exaone4 with layer_types naming every one of its 30 layers full_attention (sliding_window null)
    "exaone-4.0-1.2b.json": ("exaone4", 30, 32, 8, 64, "bf16", "gqa", False),
}
EXTRA_ARGS = {"gpt-oss-20b.json": ["--dtype", "bf16"], "gpt-oss-120b.json": ["--dtype", "bf16"]}
# Bundled configs with no v1 descriptor (key and value null, a note says why): bytes_per_token is the contiguous
# bound in transformers' layout, pinned from the config's keys.
NO_V1 = {
    # MLA, DeepseekV3Attention's cache: 61 layers x heads x (qk_nope 128 + qk_rope 64 keys + v_head 128) x 2 bytes
    "deepseek-v3.json": ("deepseek_v3", 61 * 128 * (128 + 64 + 128) * 2, "multi-head latent attention"),
    "kimi-k2.json": ("kimi_k2", 61 * 64 * (128 + 64 + 128) * 2, "multi-head latent attention"),
    # the same MLA geometry, plus a sparse-attention indexer whose cache is not counted (a note says so)
    "deepseek-v3.2.json": ("deepseek_v32", 61 * 128 * (128 + 64 + 128) * 2, "multi-head latent attention"),
    # linear attention: only the full-attention layers hold K and V (12 of 48, 2 KV heads of 256)
    "qwen3-next-80b-a3b.json": ("qwen3_next", 12 * 2 * 2 * 256 * 2, "only 12 of the 48 layers"),
    # text_config layer_types: 16 of 64 full, 4 KV heads of 256
    "qwen3.5-27b.json": ("qwen3_5", 16 * 4 * 2 * 256 * 2, "only 16 of the 64 layers"),
    # hybrid_override_pattern: 6 "*" layers of 52 hold K and V (2 KV heads of 128); 23 Mamba-2, 23 MoE
    "nemotron-3-nano-30b-a3b.json": ("nemotron_h", 6 * 2 * 2 * 128 * 2, "only 6 of the 52 layers"),
    # the same family at 56B: 10 "*" layers of 118 (8 KV heads of 8192 / 64 = 128); its time_step_limit holds
    # Infinity, as Python's json.dumps writes it
    "nemotron-h-56b-base-8k.json": ("nemotron_h", 10 * 8 * 2 * 128 * 2, "only 10 of the 118 layers"),
    # Nemotron-NAS block_configs: 49 of 80 layers attend (n_heads_in_group 8: 64 / 8 = 8 KV heads of 8192 / 64),
    # 31 are no_op; num_key_value_heads is null
    "llama-3.3-nemotron-super-49b-v1.json": ("nemotron-nas", 49 * 8 * 2 * 128 * 2, "only 49 of the 80 layers"),
    # Gemma-4: 25 sliding layers of 8 KV heads x 256, 5 full ones of global_head_dim 512 with
    # num_global_key_value_heads 2 (attention_k_eq_v: V is still cached, at full size)
    "gemma-4-26b-a4b.json": ("gemma4", (25 * 8 * 256 + 5 * 2 * 512) * 2 * 2,
                             "the full-attention layers hold 2 KV heads of 512"),
    # MiMo-V2: hybrid_layer_pattern of 39 sliding layers (swa_num_key_value_heads 8) and 9 full ones (4), keys of
    # 192 and values of 128 in both
    "mimo-v2-flash.json": ("mimo_v2_flash", (39 * 8 + 9 * 4) * (192 + 128) * 2, "key `v_head_dim` 128 differs"),
    # the same family named by layers_block_type, with no num_hidden_layers: 12 attention layers of 108, 2 KV heads
    "nemotron-3-ultra-550b-a55b.json": ("nemotron_h", 12 * 2 * 2 * 128 * 2, "only 12 of the 108 layers"),
    # a pure Mamba (MambaConfig): no layer holds K and V
    "mamba-2.8b.json": ("mamba", 0, "only 0 of the 64 layers"),
}
MLA = {"deepseek-v3.json", "kimi-k2.json", "deepseek-v3.2.json"}
NO_KV = {name for name, (_, per_token, _) in NO_V1.items() if per_token == 0}
# Bundled configs kvshape sizes wrongly (kept to show it; the right figures in test_cli_real_configs.py, marked
# expectedFailure): none today.
WRONG: set[str] = set()
# Bundled real configs whose layers differ in a way the reader does not lay out: refused with the key named, with
# or without --engine (what each file holds is in examples/configs/SOURCES).
REFUSED = {
    # Kimi-Linear text model: linear_attn_config (an object) names its MLA layers among KDA linear-attention ones
    "kimi-k3.json": "(text_config.linear_attn_config): key `text_config.linear_attn_config` lays out",
    # compress_ratios per layer and a sliding_window of 128: not a window on every layer
    "deepseek-v4-flash.json": "(compress_ratios): key `compress_ratios` gives layers compressed key-value caches",
}
BYTES_PER_TOKEN = {  # pinned: 2 x layers x kv_heads x head_dim x bytes
    "llama-3-8b.json": 131072, "llama-2-7b.json": 524288, "falcon-7b.json": 8192, "gpt2.json": 73728,
    "gemma-7b.json": 458752, "qwen2-7b.json": 57344, "gemma-2-9b.json": 688128, "llava-1.5-7b.json": 524288,
    "gpt-oss-20b.json": 49152, "llama-3.1-8b.json": 131072, "llama-3.2-3b.json": 114688, "qwen2.5-3b.json": 36864,
    "qwen2.5-7b.json": 57344, "qwen2.5-14b.json": 196608, "qwen2.5-32b.json": 262144, "qwen3-4b.json": 147456,
    "qwen3-8b.json": 147456, "qwen3-14b.json": 163840, "qwen3-32b.json": 262144, "qwen3-30b-a3b.json": 98304,
    "gpt-oss-120b.json": 73728, "llama-4-scout.json": 196608, "falcon-40b.json": 122880,
    "gemma-3-1b-it.json": 26624, "mistral-7b-v0.1.json": 131072, "gemma-3-27b-it.json": 507904,
    "exaone-4.0-1.2b.json": 61440,
}


def run(args, stdin_bytes=b""):
    return subprocess.run([KVSHAPE, "from-hf-config", *args], input=stdin_bytes, capture_output=True, timeout=60)


def descriptor(role, kind, batch, layers, kv, q, tokens, head_dim, dtype, rope):
    return {"schema_version": SCHEMA_ID, "role": role, "attention_kind": kind, "batch": batch, "layers": layers,
            "kv_heads": kv, "query_heads": q, "tokens": tokens, "head_dim": head_dim, "dtype": dtype,
            "rope_state": rope}


class BundledConfigs(unittest.TestCase):
    def test_every_bundled_config_is_pinned(self):
        self.assertEqual(sorted(f for f in os.listdir(CONFIGS) if f.endswith(".json")),
                         sorted(list(EXPECTED) + list(NO_V1) + list(WRONG) + list(REFUSED)))
        self.assertFalse(set(EXPECTED) & set(NO_V1) or (set(EXPECTED) | set(NO_V1)) & WRONG)

    def test_the_sparse_attention_indexer_is_noted(self):
        proc = run([os.path.join(CONFIGS, "deepseek-v3.2.json"), "--tokens", "4096", "--engine", "vllm", "--format",
                    "json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("DeepSeek sparse attention: the indexer's own key cache (index_head_dim 128 per token and "
                      "layer) is not counted", json.loads(proc.stdout)["notes"])

    def test_layers_not_read_are_refused(self):
        for name, expected in REFUSED.items():
            for extra in ([], ["--format", "json"], ["--engine", "vllm", "--format", "json"]):
                with self.subTest(name=name, extra=extra):
                    proc = run([os.path.join(CONFIGS, name), "--tokens", "4096", *extra])
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertEqual(proc.stdout, b"")
                    self.assertIn("unsupported [hf_config.unknown_layer_pattern] " + expected, proc.stderr.decode())

    def test_rows_without_a_v1_descriptor(self):
        for name, (model, per_token, why) in NO_V1.items():
            with self.subTest(name):
                proc = run([os.path.join(CONFIGS, name), "--tokens", "4096", "--format", "json"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                row = json.loads(proc.stdout)
                self.assertEqual(list(row), ["model_type", "key", "value", "bytes_per_token", "total_bytes", "notes"])
                self.assertEqual(row["model_type"], model)
                self.assertIsNone(row["key"])
                self.assertIsNone(row["value"])
                self.assertEqual(row["bytes_per_token"], per_token)
                self.assertEqual(row["total_bytes"], per_token * 4096)
                self.assertIn(why, row["notes"][0])

    def test_json_rows(self):
        for name, (model, layers, q, kv, hd, dtype, kind, noted) in EXPECTED.items():
            with self.subTest(name):
                self.assertEqual(BYTES_PER_TOKEN[name], 2 * layers * kv * hd * DTYPE_BYTES[dtype])
                proc = run([os.path.join(CONFIGS, name), "--tokens", "4096", "--format", "json",
                            *EXTRA_ARGS.get(name, [])])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertTrue(proc.stdout.endswith(b"}\n") and proc.stdout.count(b"\n") == 1, proc.stdout)
                row = json.loads(proc.stdout, object_pairs_hook=lambda p: p)
                self.assertEqual([k for k, _ in row],
                                 ["model_type", "key", "value", "bytes_per_token", "total_bytes", "notes"])
                row = dict(row)
                self.assertEqual(row["model_type"], model)
                self.assertEqual(dict(row["key"]),
                                 descriptor("key", kind, 1, layers, kv, q, 4096, hd, dtype, "post_rope"))
                self.assertEqual(dict(row["value"]),
                                 descriptor("value", kind, 1, layers, kv, q, 4096, hd, dtype, "not_applicable"))
                self.assertEqual(row["bytes_per_token"], BYTES_PER_TOKEN[name])
                self.assertEqual(row["total_bytes"], BYTES_PER_TOKEN[name] * 4096)
                self.assertEqual(bool(row["notes"]), noted, row["notes"])

    def test_sliding_window_note_in_both_formats(self):
        path = os.path.join(CONFIGS, "gemma-2-9b.json")
        note = "sliding_window 4096 is not in the descriptor: every layer is sized at the full length"
        proc = run([path, "--tokens", "8", "--format", "json"])
        self.assertEqual(json.loads(proc.stdout)["notes"], [note])
        text = run([path, "--tokens", "8"]).stdout.decode()
        self.assertIn("note: " + note, text)

    def test_a_token_list_gives_json_lines(self):
        proc = run([os.path.join(CONFIGS, "llama-3-8b.json"), "--tokens", "4096,32768,131072", "--format", "json",
                    "--batch", "2", "--dtype", "f32", "--rope", "pre_rope"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        self.assertEqual([r["key"]["tokens"] for r in rows], [4096, 32768, 131072])
        for r in rows:
            self.assertEqual(r["bytes_per_token"], 2 * 32 * 8 * 128 * 4)
            self.assertEqual(r["total_bytes"], r["bytes_per_token"] * 2 * r["key"]["tokens"])
            self.assertEqual((r["key"]["batch"], r["key"]["dtype"], r["key"]["rope_state"]), (2, "f32", "pre_rope"))

    def test_text_table(self):
        proc = run([os.path.join(CONFIGS, "llama-3-8b.json"), "--tokens", "131072"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = proc.stdout.decode()
        self.assertIn("llama: 32 layers (32 full 8x128), 32 query heads, 8 KV heads (gqa), head_dim 128, bf16", text)
        self.assertIn("K+V per token: 128.0 KiB (131072 bytes), contiguous", text)
        # 2 x 32 x 8 x 128 x 2 bytes x 131072 tokens = 16 GiB, the same for every engine (full attention, block
        # and padding multiples of 131072)
        self.assertRegex(text, r"\n    131072        16\.0 GiB        16\.0 GiB        16\.0 GiB        16\.0 GiB\n")
        self.assertRegex(text, r"\n    131072  [0-9a-f]{32}  [0-9a-f]{32}\n")

    def test_digests_are_the_descriptors_digests(self):
        proc = run([os.path.join(CONFIGS, "qwen2-7b.json"), "--tokens", "4096"])
        row = json.loads(run([os.path.join(CONFIGS, "qwen2-7b.json"), "--tokens", "4096", "--format", "json"]).stdout)
        for role in ("key", "value"):
            digest = subprocess.run([KVSHAPE, "digest", "-"], input=json.dumps(row[role]).encode(),
                                    capture_output=True, timeout=30)
            self.assertEqual(digest.returncode, 0, digest.stderr)
            self.assertIn(digest.stdout.decode().strip(), proc.stdout.decode())


def cdiv(a, b):
    return -(-a // b)


def pad256(a):  # ggml's GGML_PAD(a, 256)
    return cdiv(a, 256) * 256


class Engines(unittest.TestCase):
    """--engine: each engine's figure, worked out here from the engines' formulas (not from kvshape)."""

    GEMMA2 = os.path.join(CONFIGS, "gemma-2-9b.json")  # 42 layers: 21 sliding (4096) + 21 full, 8 KV heads of 256

    @staticmethod
    def gemma2_expected(engine, t):
        per = 8 * 512  # K and V elements of one token in one layer
        if engine == "hf":  # DynamicCache: full layers hold t, sliding min(t, 4095); float32 as published
            return 21 * (min(t, 4095) + t) * per * 4
        if engine == "vllm":  # pages of 16 x 8 x 512 x 2 bytes; sliding cdiv(min(4095 + 8192, t), 16) + 1 pages
            return 21 * 16 * per * 2 * (cdiv(min(4095 + 8192, t), 16) + 1 + cdiv(t, 16))
        # llama.cpp, f16: full layers pad256(t) cells, SWA layers pad256(min(pad256(t), 4096 + min(512, n_ctx)))
        n_ctx = pad256(t)
        return 21 * (pad256(min(n_ctx, 4096 + min(512, n_ctx))) + n_ctx) * per * 2

    def test_json_rows(self):
        for engine in ("hf", "vllm", "llama.cpp"):
            proc = run([self.GEMMA2, "--tokens", "100,4096,131072", "--engine", engine, "--format", "json"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            lines = proc.stdout.decode().splitlines()
            self.assertEqual(len(lines), 3)
            for line, t in zip(lines, (100, 4096, 131072)):
                with self.subTest(engine=engine, tokens=t):
                    row = json.loads(line, object_pairs_hook=lambda p: p)
                    self.assertEqual([k for k, _ in row],
                                     ["engine", "model_type", "tokens", "batch", "kv_dtype", "contiguous_bytes",
                                      "total_bytes", "state_bytes", "groups", "spec", "notes"])
                    row = dict(row)
                    self.assertEqual((row["engine"], row["model_type"], row["tokens"], row["batch"]),
                                     (engine, "gemma2", t, 1))
                    self.assertEqual(row["total_bytes"], self.gemma2_expected(engine, t))
                    self.assertEqual(row["contiguous_bytes"], 688128 * t)
                    self.assertEqual(row["state_bytes"], 0)
                    kinds = [(dict(g)["kind"], dict(g)["layers"], dict(g)["window"]) for g in row["groups"]]
                    self.assertEqual(kinds, [("sliding", 21, 4096), ("full", 21, 0)])
                    self.assertEqual(sum(dict(g)["bytes"] for g in row["groups"]), row["total_bytes"])

    def test_spec_is_the_v2_spec_of_each_engines_cache(self):
        kvshape = KVSHAPE
        for name in sorted(os.listdir(CONFIGS)):
            if not name.endswith(".json") or name in REFUSED:
                continue
            for engine in ("hf", "vllm", "llama.cpp"):
                with self.subTest(config=name, engine=engine):
                    proc = run([os.path.join(CONFIGS, name), "--tokens", "4096", "--engine", engine, "--format",
                                "json", "--kv-dtype", "f16", "--batch", "3"])
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    row = json.loads(proc.stdout)
                    spec = row["spec"]
                    self.assertIsNotNone(spec, row["notes"])
                    self.assertEqual((spec["schema_version"], spec["batch"], spec["tokens"]),
                                     ("fib_quant_kv_cache_spec_v2", 3, 4096))
                    # The groups hold each layer once, and keep the engine's shapes.
                    layers = sorted(i for g in spec["groups"] for i in g["layers"])
                    self.assertEqual(layers, list(range(spec["layers"])))
                    # The engine's groups, plus one of the layers that cache nothing (Nemotron-H's MLP and MoE
                    # layers: a linear group of no state in the spec, no group in the engine's row).
                    sized = [g["layers"] for g in row["groups"]]
                    uncached = spec["layers"] - sum(sized)
                    self.assertEqual(sorted(len(g["layers"]) for g in spec["groups"]),
                                     sorted(sized + ([uncached] if uncached else [])))
                    self.assertEqual(spec["quant"], {"scheme": "none", "dtype": "f16", "scale_granularity": "none"})
                    storage = spec["storage"]
                    if engine == "vllm" and (name in MLA or name in NO_KV):
                        # MLA: one latent tensor of pages, no K/V stack (MLAAttentionSpec, no separate values);
                        # a model with no attention layer has no K and V to stack
                        self.assertEqual((storage["packing"], storage["block_size"], storage["dim_order"][:3]),
                                         ("separate", 16, ["layer", "block", "token"]))
                    elif engine == "vllm":
                        self.assertEqual((storage["packing"], storage["block_size"], storage["dim_order"][:3]),
                                         ("stacked", 16, ["layer", "kv", "block"]))
                    else:
                        self.assertEqual((storage["packing"], storage["block_size"]), ("separate", 0))
                    # What kvshape validate says of it: valid, with this many bytes a token.
                    v = subprocess.run([kvshape, "validate", "-"], input=json.dumps(spec).encode(),
                                       capture_output=True, timeout=60)
                    self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
                    if name == "llama-3-8b.json":  # 32 layers x 8 heads x 128 x 2 bytes x (K + V)
                        self.assertIn(b"bytes_per_token 131072,", v.stdout)

    def test_spec_of_quantized_and_unrepresentable_caches(self):
        llama = os.path.join(CONFIGS, "llama-3-8b.json")
        row = json.loads(run([llama, "--tokens", "64", "--engine", "vllm", "--kv-dtype", "fp8", "--format",
                              "json"]).stdout)
        self.assertEqual(row["spec"]["quant"], {"scheme": "fp8_e4m3", "dtype": "bf16", "scale_granularity": "tensor",
                                                "scale_dtype": "f32"})
        row = json.loads(run([llama, "--tokens", "64", "--engine", "llama.cpp", "--kv-dtype", "q8_0", "--format",
                              "json"]).stdout)
        self.assertEqual(row["spec"]["quant"], {"scheme": "q8_0", "dtype": "f16", "scale_granularity": "none"})
        row = json.loads(run([llama, "--tokens", "64", "--engine", "llama.cpp", "--kv-dtype", "iq4_nl", "--format",
                              "json"]).stdout)
        # iq4_nl: ggml's IQ4_NL, 18 bytes per block of 32 (ggml.c type_traits); the spec says so and sizes it.
        self.assertEqual(row["spec"]["quant"], {"scheme": "iq4_nl", "dtype": "f16", "scale_granularity": "none"})
        v = subprocess.run([KVSHAPE, "validate", "-"], input=json.dumps(row["spec"]).encode(),
                           capture_output=True, timeout=60)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # 32 layers x 8 heads x (128 / 32 blocks x 18 bytes) x (K + V)
        self.assertIn(b"bytes_per_token %d," % (32 * 8 * (128 // 32 * 18) * 2), v.stdout)
        # gemma-2: sliding layers keep their window in every engine's spec.
        row = json.loads(run([self.GEMMA2, "--tokens", "64", "--engine", "vllm", "--format", "json"]).stdout)
        self.assertEqual([(g["attention"], g.get("window"), len(g["layers"])) for g in row["spec"]["groups"]],
                         [("sliding_window", 4096, 21), ("full", None, 21)])

    def test_several_engines_and_memory(self):
        # llama-3-8b: 131072 bytes a token in bf16/f16; 24 GiB hold 196608 tokens, 48 sequences of 4096.
        proc = run([os.path.join(CONFIGS, "llama-3-8b.json"), "--tokens", "4096", "--engine", "hf,vllm,llama.cpp",
                    "--memory", "24GiB", "--format", "json", "--batch", "2"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        self.assertEqual([r["engine"] for r in rows], ["hf", "vllm", "llama.cpp"])
        for r in rows:
            self.assertEqual(r["total_bytes"], 131072 * 4096 * 2)
            self.assertEqual(r["max_tokens"], 196608)
            self.assertEqual(r["max_sequences"], 48)
        # Without --memory there is no max_tokens.
        row = json.loads(run([os.path.join(CONFIGS, "llama-3-8b.json"), "--tokens", "8", "--engine", "hf",
                              "--format", "json"]).stdout)
        self.assertNotIn("max_tokens", row)

    def test_options(self):
        llama = os.path.join(CONFIGS, "llama-3-8b.json")

        def total(*args):
            proc = run([llama, "--tokens", "4096", "--format", "json", *args])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return json.loads(proc.stdout)["total_bytes"]

        # q8_0: a row of 1024 elements is 32 blocks of 34 bytes
        self.assertEqual(total("--engine", "llama.cpp", "--kv-dtype", "q8_0"), 32 * 4096 * 2 * 32 * 34)
        self.assertEqual(total("--engine", "vllm", "--kv-dtype", "fp8"), 32 * 4096 * 2048)
        # block size 4096: one block holds the sequence; 5000 tokens would take two
        self.assertEqual(total("--engine", "vllm", "--block-size", "4096"), 131072 * 4096)
        # a 1000-token sequence in llama.cpp is padded to 1024 cells
        proc = run([llama, "--tokens", "1000", "--engine", "llama.cpp", "--format", "json"])
        self.assertEqual(json.loads(proc.stdout)["total_bytes"], 131072 * 1024)

    def test_text_table(self):
        proc = run([self.GEMMA2, "--tokens", "4096,131072", "--memory", "24GiB"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertEqual(lines[0], "gemma2: 42 layers (21 sliding 4096 8x256, 21 full 8x256), 16 query heads, "
                                   "8 KV heads (gqa), head_dim 256, f32, key post_rope, batch 1")
        self.assertEqual(lines[1], "K+V per token: 672.0 KiB (688128 bytes), contiguous")
        self.assertEqual(lines[2], "    tokens      contiguous              hf            vllm       llama.cpp")

        def human(n):  # 1024 units, one decimal
            units = ["B", "KiB", "MiB", "GiB", "TiB"]
            u = 0
            while n >= 1024 ** (u + 1) and u + 1 < len(units):
                u += 1
            return "%d B" % n if u == 0 else "%.1f %s" % (n / 1024 ** u, units[u])

        for line, t in zip(lines[3:5], (4096, 131072)):
            cells = [human(688128 * t)] + [human(self.gemma2_expected(e, t)) for e in ("hf", "vllm", "llama.cpp")]
            self.assertEqual(line, "%10d" % t + "".join("%16s" % c for c in cells))
        self.assertTrue(lines[5].startswith("in 24.0 GiB: "), lines[5])
        self.assertIn("note: sliding_window 4096 is not in the descriptor: every layer is sized at the full length",
                      lines)


class Refusals(unittest.TestCase):
    def refused(self, path, *extra, tokens="4096"):
        proc = run([path, "--tokens", tokens, *extra])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stdout, b"")
        return proc.stderr.decode()

    def test_mla_has_no_v1_descriptor(self):
        # Without --engine the JSON row keeps its fields; key and value are null and the notes say why. The
        # contiguous size is transformers' layout: 27 layers x 16 heads x (128 + 64 key + 128 value) x 2 bytes.
        proc = run([os.path.join(HOSTILE, "deepseek-v2-lite.json"), "--tokens", "4096", "--format", "json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        row = json.loads(proc.stdout)
        self.assertEqual(list(row), ["model_type", "key", "value", "bytes_per_token", "total_bytes", "notes"])
        self.assertIsNone(row["key"])
        self.assertIsNone(row["value"])
        self.assertEqual(row["bytes_per_token"], 27 * 16 * (128 + 64 + 128) * 2)
        self.assertEqual(row["total_bytes"], 27 * 16 * (128 + 64 + 128) * 2 * 4096)
        self.assertIn("multi-head latent attention", row["notes"][0])

    def test_missing_key(self):
        err = self.refused(os.path.join(HOSTILE, "missing-layers.json"))
        self.assertIn("parse [hf_config.missing_key] (num_hidden_layers): missing key `num_hidden_layers` "
                      "(or `n_layer` or `num_layers`)", err)

    def test_no_dtype_unless_given(self):
        err = self.refused(os.path.join(HOSTILE, "no-dtype.json"), "--format", "json")
        self.assertIn("missing key `torch_dtype`", err)
        # The text table still shows the engines (each with its own default dtype), the contiguous bound as "-".
        proc = run([os.path.join(HOSTILE, "no-dtype.json"), "--tokens", "4096"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = proc.stdout.decode()
        self.assertRegex(text, r"\n      4096               -   ")
        self.assertIn("note: no contiguous bound: missing key `torch_dtype`", text)
        self.assertEqual(run([os.path.join(HOSTILE, "no-dtype.json"), "--tokens", "8", "--dtype", "f16"]).returncode, 0)

    def test_heads_that_do_not_divide_get_the_librarys_error(self):
        err = self.refused(os.path.join(HOSTILE, "heads-not-dividing.json"))
        self.assertIn("corrupt_payload [grouped.heads_divisible] (query_heads, kv_heads): "
                      "query_heads must be divisible by kv_heads", err)

    def test_every_engine_refuses_what_the_rows_refuse(self):
        # The geometry is the reader's to check: with or without --engine, in either format, the same error.
        cases = [
            ('{"num_hidden_layers": 2, "num_attention_heads": 32, "num_key_value_heads": 64, "hidden_size": 4096, '
             '"torch_dtype": "bfloat16"}',
             "corrupt_payload [grouped.heads_divisible] (query_heads, kv_heads): query_heads must be divisible by "
             "kv_heads"),
            ('{"num_hidden_layers": 2, "num_attention_heads": 32, "num_key_value_heads": 5, "hidden_size": 4096, '
             '"torch_dtype": "bfloat16"}',
             "corrupt_payload [grouped.heads_divisible] (query_heads, kv_heads): query_heads must be divisible by "
             "kv_heads"),
            ('{"num_hidden_layers": 0, "num_attention_heads": 32, "hidden_size": 4096, "torch_dtype": "bfloat16"}',
             "corrupt_payload [layers.nonzero] (layers): kv shape layers must be > 0"),
            ('{"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 768, '
             '"num_attention_heads": 12, "num_hidden_layers": 12, "torch_dtype": "float32"}',
             'unsupported [hf_config.not_decoder_only] (model_type): model_type "bert" is an encoder-only model: it '
             'keeps no KV cache'),
        ]
        for text, expected in cases:
            for extra in ([], ["--format", "json"], ["--engine", "hf"], ["--engine", "vllm", "--format", "json"],
                          ["--engine", "llama.cpp"]):
                with self.subTest(text=text, extra=extra):
                    proc = run(["-", "--tokens", "4096", *extra], stdin_bytes=text.encode())
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertEqual(proc.stdout, b"")
                    self.assertEqual(proc.stderr.decode(), "kvshape from-hf-config: -: %s\n" % expected)

    def test_hostile_inputs_from_stdin(self):
        for text in (b"[]", b"not json", b'{"num_hidden_layers": "32"}', b'{"num_hidden_layers": 4294967296}',
                     b"[" * 100000, b'{"a": "\xff"}'):
            with self.subTest(text[:20]):
                proc = run(["-", "--tokens", "8"], stdin_bytes=text)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertTrue(proc.stderr.startswith(b"kvshape from-hf-config: -: parse ["), proc.stderr)

    def test_bad_configs_name_the_key(self):
        base = '"num_hidden_layers": 4, "num_attention_heads": 8, "hidden_size": 64'
        cases = [
            ('{%s, "layer_types": ["full_attention"]}' % base, "[hf_config.layer_types_length] (layer_types)"),
            ('{%s, "layer_types": ["full_attention", "x", "full_attention", "full_attention"]}' % base,
             "[hf_config.unknown_layer_type] (layer_types)"),
            ('{%s, "sliding_window": 0}' % base, "[hf_config.invalid_value] (sliding_window)"),
            ('{%s, "sliding_window": 1.5}' % base, "[hf_config.invalid_type] (sliding_window)"),
            ('{%s, "attention_chunk_size": -1}' % base, "[hf_config.invalid_value] (attention_chunk_size)"),
            ('{"num_hidden_layers": "4", "num_attention_heads": 8, "hidden_size": 64}',
             "[hf_config.invalid_type] (num_hidden_layers)"),
            ('{"num_hidden_layers": 65536, "num_attention_heads": 4294967295, "head_dim": 4294967295}',
             "resource_limit_exceeded [sizing.overflow]"),
        ]
        for text, expected in cases:
            with self.subTest(text):
                proc = run(["-", "--tokens", "4294967295", "--engine", "hf", "--kv-dtype", "f16"],
                           stdin_bytes=text.encode())
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(proc.stdout, b"")
                self.assertIn(expected, proc.stderr.decode())

    def test_an_engine_that_refuses_the_dtype(self):
        gpt2 = os.path.join(CONFIGS, "gpt2.json")
        err = self.refused(gpt2, "--engine", "hf", "--kv-dtype", "q8_0")
        self.assertIn("unsupported [sizing.dtype_unsupported] (kv_dtype): hf does not keep a cache of q8_0", err)
        # In the text table of every engine, the one that refuses shows "-" and says why.
        proc = run([gpt2, "--tokens", "4096", "--kv-dtype", "q8_0"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("note: hf does not keep a cache of q8_0", proc.stdout.decode())

    def test_zero_tokens_or_batch_is_one_usage_error_on_every_path(self):
        # The v1 rows, the engines, and a model whose cache v1 cannot describe (every engine then) all meet the
        # same refusal of the option, before the config is sized: exit 2, one message, nothing on stdout.
        paths = [[os.path.join(CONFIGS, "gpt2.json")], [os.path.join(CONFIGS, "gpt2.json"), "--engine", "vllm"],
                 [os.path.join(CONFIGS, "gpt2.json"), "--format", "json"],
                 [os.path.join(CONFIGS, "gemma-3-27b-it.json")]]
        for tokens, batch, message in (
                ("0", "1", "kvshape from-hf-config: --tokens: invalid token count `0` in `0`: expected decimal "
                           "integers from 1 to 4294967295, separated by commas\n"),
                ("4096,0", "1", "kvshape from-hf-config: --tokens: invalid token count `0` in `4096,0`: expected "
                                "decimal integers from 1 to 4294967295, separated by commas\n"),
                ("4096", "0", "--batch: expected an integer from 1 to 4294967295, got '0'")):
            for path in paths:
                with self.subTest(tokens=tokens, batch=batch, path=path):
                    proc = run([*path, "--tokens", tokens, "--batch", batch])
                    self.assertEqual(proc.returncode, 2, proc.stderr)
                    self.assertEqual(proc.stdout, b"")
                    if batch == "0":
                        self.assertIn(message, proc.stderr.decode())
                    else:
                        self.assertEqual(proc.stderr.decode(), message)


class UsageErrors(unittest.TestCase):
    def test_usage_and_io_errors_exit_2(self):
        gpt2 = os.path.join(CONFIGS, "gpt2.json")
        for args in ([gpt2], ["--tokens", "8"], [gpt2, "--tokens", "8,x"], [gpt2, "--tokens", "8", "--dtype", "f8"],
                     [gpt2, "--tokens", "8", "--rope", "not_applicable"], [gpt2, "--tokens", "8", "--batch", "-1"],
                     [gpt2, "--tokens", "8", "--format", "yaml"], [os.path.join(HOSTILE, "absent.json"), "--tokens", "8"],
                     [gpt2, "--tokens", "8", "--engine", "sglang"], [gpt2, "--tokens", "8", "--engine", "hf,"],
                     [gpt2, "--tokens", "8", "--kv-dtype", "q9_0"], [gpt2, "--tokens", "8", "--block-size", "0"],
                     [gpt2, "--tokens", "8", "--ubatch", "-1"], [gpt2, "--tokens", "8", "--memory", "24 GiB"]):
            with self.subTest(args):
                proc = run(args)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stdout, b"")
                self.assertNotEqual(proc.stderr.strip(), b"")

    def test_a_model_folder_stands_for_its_config_json(self):
        with tempfile.TemporaryDirectory() as folder:
            # A folder with no config.json: the file it looked for is named.
            proc = run([folder, "--tokens", "8"])
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertEqual(proc.stderr.decode(), "kvshape from-hf-config: cannot open `%s`: No such file or "
                                                   "directory\n" % os.path.join(folder, "config.json"))
            # With one, the same answer as the file itself.
            shutil.copyfile(os.path.join(CONFIGS, "llama-3-8b.json"), os.path.join(folder, "config.json"))
            for extra in ([], ["--engine", "vllm", "--format", "json"]):
                by_folder = run([folder, "--tokens", "4096", *extra])
                by_file = run([os.path.join(CONFIGS, "llama-3-8b.json"), "--tokens", "4096", *extra])
                self.assertEqual(by_folder.returncode, 0, by_folder.stderr)
                self.assertEqual(by_folder.stdout, by_file.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write("usage: %s PATH_TO_KVSHAPE [unittest options]\n" % sys.argv[0])
        sys.exit(2)
    KVSHAPE = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:])
