#!/usr/bin/env python3
"""`kvshape from-hf-config --engine` on the real configs of the issue-15 families (Python 3 standard library only).

Run as:  python3 tests/cli/test_cli_real_configs.py PATH_TO_KVSHAPE [unittest options]

Each config in REAL (examples/configs/, provenance in examples/configs/SOURCES) is read here with json, its
layers are laid out here from its own keys (the defaults the model's config class applies are written out and
cited), and every engine's total_bytes is worked out here with that engine's formula, then compared with
kvshape's JSON row. The expected values never come from kvshape.

Engine formulas (the versions src/sizing/engines.cpp cites; re-read there for each line below):
  * hf -- transformers src/transformers/cache_utils.py, DynamicCache.__init__ (a DynamicSlidingWindowLayer for
    "sliding_attention" and "chunked_attention" layers, window `sliding_window or attention_chunk_size`) and
    DynamicSlidingWindowLayer.update (keeps `[:, :, -sliding_window + 1:, :]`): after one forward pass of T
    tokens a full layer holds T tokens, a sliding or chunked one min(T, window - 1). MLA layers
    (models/deepseek_v3/modeling_deepseek_v3.py, DeepseekV3Attention.forward) pass update() the up-projected
    keys (qk_nope_head_dim + qk_rope_head_dim) and values (v_head_dim) of every head. Linear-attention and
    Mamba layers hold no keys or values. Bytes: the config's torch_dtype (or dtype); none: float32 (what
    from_pretrained loads without a torch_dtype), as tests/cli/test_cli_hf_config.py has it for gpt-oss-20b.
  * vllm -- vllm/v1/kv_cache_interface.py at 001cabc1be16, block_size 16, max_num_batched_tokens 8192,
    max_model_len T: AttentionSpec.real_page_size_bytes = 16 x kv_heads x (head_size + head_size_v) x dtype;
    MLAAttentionSpec: 16 x (kv_lora_rank + qk_rope_head_dim) x dtype (one latent, no values);
    FullAttentionSpec/MLAAttentionSpec.max_memory_usage_bytes: cdiv(T, 16) pages; SlidingWindowSpec:
    cdiv(min(W - 1 + 8192, T), 16) + 1 pages; ChunkedLocalAttentionSpec: cdiv(min(C + 8192, T), 16) pages.
    Two specs of one page size (vllm/v1/core/kv_cache_utils.py, _get_kv_cache_groups_uniform_page_size):
    group_size = the most layers of a spec if that is under 1.5 x the fewest, else the fewest; each spec's
    layers make cdiv(n, group_size) groups of group_size; a request holds its pages in every group.
    dtype "auto": the model dtype, float32 served as bfloat16 (vllm/config/model.py, _get_and_verify_dtype):
    2 bytes for every config here.
    Hybrids of attention and linear-attention/Mamba layers (vllm_hybrid below; prefix caching off, tp 1, no
    speculative tokens): the state page per layer is MambaSpec.page_size_bytes (vllm/v1/kv_cache_interface.py)
    of the shapes of vllm/model_executor/layers/mamba/mamba_utils.py MambaStateShapeCalculator --
    gated_delta_net_state_shape: conv (K - 1) x (2 x linear_num_key_heads x linear_key_head_dim +
    linear_num_value_heads x linear_value_head_dim), temporal linear_num_value_heads x linear_value_head_dim x
    linear_key_head_dim; mamba2_state_shape: conv (conv_kernel - 1) x (mamba_num_heads x mamba_head_dim +
    2 x n_groups x ssm_state_size), temporal mamba_num_heads x mamba_head_dim x ssm_state_size -- in the dtypes
    of MambaStateDtypeCalculator._mamba_state_dtype: conv in the model dtype, temporal in mamba_ssm_cache_dtype
    ("auto": the model dtype; Nemotron-H: the config's mamba_ssm_cache_dtype, vllm/model_executor/models/
    config.py NemotronHForCausalLMConfig; Qwen3.5: the text config's mamba_ssm_dtype, same file,
    Qwen3_5ForConditionalGenerationConfig, which vllm/config/vllm.py try_verify_and_update_config runs before
    the hybrid update). HybridAttentionMambaModelConfig.verify_and_update_config (same
    file): block = 16 x cdiv(state page, 16 x attention bytes a token) (16: kernel_block_alignment_size), the
    state page padded to block x attention bytes a token. The layers then group as above (group_size of the
    attention and state layer counts); a request holds cdiv(T, block) pages in each attention group and one
    page in each state group (MambaSpec.max_memory_usage_bytes, mamba_cache_mode "none");
    vllm/v1/core/kv_cache_utils.py _max_memory_usage_bytes_from_groups: group_size x page x pages. With
    --memory M: get_num_blocks M // page // group_size; get_max_concurrency_for_kv_cache_config num_blocks /
    pages a request; _report_kv_cache_config num_blocks // groups x min(block sizes), a Mamba group's block
    size being max_model_len (MambaModelConfig: mamba_block_size = max_model_len).
  * llama.cpp -- f16 rows (2 bytes an element), one sequence, n_ubatch 512, n_batch 2048:
    src/llama-context.cpp: n_ctx = GGML_PAD(T, 256); src/llama-kv-cache.cpp: K rows of kv_heads x key dim and
    V rows of kv_heads x value dim per cell, MLA: K of kv_lora_rank + qk_rope_head_dim and no V (has_v =
    !is_mla); src/llama-kv-cache-iswa.cpp: SWA (and chunked) layers GGML_PAD(min(n_ctx, n_swa + n_ubatch),
    256) cells with n_ubatch = min(512, n_batch = min(2048, n_ctx)); src/llama-memory-hybrid.cpp: recurrent
    (linear-attention, Mamba) layers are not in the KV cache.
"""

import json
import os
import subprocess
import sys
import unittest

KVSHAPE = None  # set from argv[1] in __main__
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONFIGS = os.path.join(REPO, "examples", "configs")
sys.path.insert(0, os.path.dirname(HERE))  # tests/
import require_all  # noqa: E402,F401  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run

TOKENS = (1000, 4096, 131072)
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
ENGINE_FIELDS = ["engine", "model_type", "tokens", "batch", "kv_dtype", "contiguous_bytes", "total_bytes",
                 "state_bytes", "groups", "spec", "notes"]


def cdiv(a, b):
    return -(-a // b)


def pad256(a):  # ggml's GGML_PAD(a, 256)
    return cdiv(a, 256) * 256


def load(name):
    with open(os.path.join(CONFIGS, name), "rb") as f:
        return json.loads(f.read())


# ------------------------------------------------------------------------------------------------- layouts
# A layout is a list of groups: dict(kind, layers, window, kv_heads, key_dim, value_dim[, latent]) for the
# layers that hold keys and values, plus ("linear", n) entries for those that do not. Each is read off the
# config's own keys, with the config class's defaults written out where the file leaves a key out.

def group(kind, layers, kv_heads, key_dim, value_dim, window=0, latent=0):
    return {"kind": kind, "layers": layers, "window": window, "kv_heads": kv_heads, "key_dim": key_dim,
            "value_dim": value_dim, "latent": latent}


def layout_layer_types(cfg):
    """Explicit layer_types (gpt-oss, Qwen3.5): one group per kind, windows from sliding_window."""
    kinds = cfg["layer_types"]
    assert len(kinds) == cfg["num_hidden_layers"]
    hd = cfg["head_dim"]
    kv = cfg["num_key_value_heads"]
    out = []
    if kinds.count("sliding_attention"):
        out.append(group("sliding", kinds.count("sliding_attention"), kv, hd, hd, window=cfg["sliding_window"]))
    if kinds.count("full_attention"):
        out.append(group("full", kinds.count("full_attention"), kv, hd, hd))
    linear = kinds.count("linear_attention")
    assert len(kinds) == linear + sum(g["layers"] for g in out), kinds
    return out, linear


def layout_mla(cfg):
    """DeepseekV3Config (DeepSeek-V3, Kimi-K2): every layer MLA; the hf cache keeps every head's up-projected
    keys (qk_nope_head_dim + qk_rope_head_dim) and values (v_head_dim); vLLM and llama.cpp one latent of
    kv_lora_rank + qk_rope_head_dim."""
    return [group("mla", cfg["num_hidden_layers"], cfg["num_attention_heads"],
                  cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"], cfg["v_head_dim"],
                  latent=cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"])], 0


def layout_llama4(cfg):
    """Llama4TextConfig (transformers models/llama4/configuration_llama4.py): no_rope_layers defaults to
    [int((i + 1) % no_rope_layer_interval != 0)] with no_rope_layer_interval 4, and layer_types to
    "chunked_attention" where no_rope_layers[i] else "full_attention"; the chunk is attention_chunk_size."""
    t = cfg["text_config"]
    n = t["num_hidden_layers"]
    interval = t.get("no_rope_layer_interval", 4)
    rope = t.get("no_rope_layers") or [int((i + 1) % interval != 0) for i in range(n)]
    chunked = sum(rope)
    hd, kv = t["head_dim"], t["num_key_value_heads"]
    return [group("chunked", chunked, kv, hd, hd, window=t["attention_chunk_size"]),
            group("full", n - chunked, kv, hd, hd)], 0


def layout_qwen3_next(cfg):
    """Qwen3NextConfig (transformers models/qwen3_next/configuration_qwen3_next.py): layer_types defaults to
    "linear_attention" where (i + 1) % full_attention_interval != 0, else "full_attention"."""
    n, every = cfg["num_hidden_layers"], cfg["full_attention_interval"]
    full = sum(1 for i in range(n) if (i + 1) % every == 0)
    hd, kv = cfg["head_dim"], cfg["num_key_value_heads"]
    return [group("full", full, kv, hd, hd)], n - full


def layout_refinedweb(cfg):
    """tiiuae/falcon-40b as first published (RWConfig, model_type RefinedWeb): n_layer layers, n_head query
    heads of hidden_size / n_head, n_head_kv KV heads (RefinedWeb is the "new decoder architecture" with grouped
    KV heads; vLLM's get_total_num_kv_heads reads n_head_kv)."""
    hd = cfg["hidden_size"] // cfg["n_head"]
    return [group("full", cfg["n_layer"], cfg["n_head_kv"], hd, hd)], 0


def layout_gemma3_text(cfg):
    """Gemma3TextConfig (transformers models/gemma3/configuration_gemma3.py, Gemma3TextConfig.__init__):
    sliding_window_pattern defaults to 6 (kept as _sliding_window_pattern), and layer_types defaults to
    "sliding_attention" where (i + 1) % sliding_window_pattern != 0, else "full_attention"; the window is
    sliding_window (default 4096; the 1B file sets 512). Every layer has num_key_value_heads of head_dim."""
    n = cfg["num_hidden_layers"]
    every = cfg.get("sliding_window_pattern", 6)
    kinds = cfg.get("layer_types") or ["sliding_attention" if (i + 1) % every else "full_attention"
                                       for i in range(n)]
    assert len(kinds) == n
    hd, kv = cfg["head_dim"], cfg["num_key_value_heads"]
    sliding = kinds.count("sliding_attention")
    return [group("sliding", sliding, kv, hd, hd, window=cfg.get("sliding_window", 4096)),
            group("full", n - sliding, kv, hd, hd)], 0


def layout_nemotron_nas(cfg):
    """DeciLM (model_type nemotron-nas; vLLM model_executor/models/nemotron_nas.py, DeciLMDecoderLayer): layer i
    attends unless block_configs[i].attention.no_op, with num_attention_heads // n_heads_in_group KV heads of
    hidden_size // num_attention_heads; a no_op layer holds nothing."""
    heads = cfg["num_attention_heads"]
    hd = cfg["hidden_size"] // heads
    by_kv = {}
    for block in cfg["block_configs"]:
        a = block["attention"]
        if not a["no_op"]:
            assert not a["replace_with_linear"] and a["window_length"] is None
            kv = heads // a["n_heads_in_group"]
            by_kv[kv] = by_kv.get(kv, 0) + 1
    return [group("full", n, kv, hd, hd) for kv, n in sorted(by_kv.items())], 0


def layout_gemma4(cfg):
    """Gemma-4 (vLLM model_executor/models/gemma4.py at 001cabc1be16, Gemma4DecoderLayer.__init__): layer_types
    from the text config; sliding layers num_key_value_heads of head_dim with the window sliding_window; full
    layers global_head_dim, and num_global_key_value_heads when attention_k_eq_v (K and V both cached)."""
    t = cfg["text_config"]
    kinds = t["layer_types"]
    full_kv = t["num_global_key_value_heads"] if t.get("attention_k_eq_v") else t["num_key_value_heads"]
    full_hd = t.get("global_head_dim", t["head_dim"])
    assert t.get("num_kv_shared_layers", 0) == 0
    return [group("sliding", kinds.count("sliding_attention"), t["num_key_value_heads"], t["head_dim"],
                  t["head_dim"], window=t["sliding_window"]),
            group("full", kinds.count("full_attention"), full_kv, full_hd, full_hd)], 0


def layout_mimo_v2(cfg):
    """MiMo-V2 (vLLM model_executor/models/mimo_v2_flash.py at 01ed47b4166b, is_compressed_softmax_layer):
    hybrid_layer_pattern[i] == 1 is a sliding-window layer of swa_num_key_value_heads, swa_head_dim keys and
    swa_v_head_dim values, window sliding_window_size; 0 a full layer of num_key_value_heads, head_dim, v_head_dim."""
    pattern = cfg["hybrid_layer_pattern"]
    assert len(pattern) == cfg["num_hidden_layers"]
    return [group("full", pattern.count(0), cfg["num_key_value_heads"], cfg["head_dim"], cfg["v_head_dim"]),
            group("sliding", pattern.count(1), cfg["swa_num_key_value_heads"], cfg["swa_head_dim"],
                  cfg["swa_v_head_dim"], window=cfg["sliding_window_size"])], 0


def dtype_of(cfg):
    for c in (cfg, cfg.get("text_config", {})):
        for key in ("torch_dtype", "dtype"):
            if key in c:
                return DTYPE_BYTES[c[key]]
    return 4  # no torch_dtype: float32


# config: (model_type, layout function)
REAL = {
    "gpt-oss-120b.json": ("gpt_oss", lambda c: layout_layer_types(c)),
    "deepseek-v3.json": ("deepseek_v3", layout_mla),
    "kimi-k2.json": ("kimi_k2", layout_mla),
    "deepseek-v3.2.json": ("deepseek_v32", layout_mla),
    "llama-4-scout.json": ("llama4", layout_llama4),
    "qwen3-next-80b-a3b.json": ("qwen3_next", layout_qwen3_next),
    "qwen3.5-27b.json": ("qwen3_5", lambda c: layout_layer_types(c["text_config"])),
    "falcon-40b.json": ("RefinedWeb", layout_refinedweb),
    "gemma-3-1b-it.json": ("gemma3_text", layout_gemma3_text),
    "gemma-3-27b-it.json": ("gemma3", lambda c: layout_gemma3_text(c["text_config"])),
    # Exaone4Config (transformers models/exaone4/configuration_exaone4.py, Exaone4Config.__init__) keeps layer_types
    # when the file gives them (it derives them from sliding_window_pattern only when layer_types is None); the
    # 1.2B file lists 30 "full_attention" layers, so its null sliding_window is never read.
    "exaone-4.0-1.2b.json": ("exaone4", lambda c: layout_layer_types(c)),
    "llama-3.3-nemotron-super-49b-v1.json": ("nemotron-nas", layout_nemotron_nas),
    "gemma-4-26b-a4b.json": ("gemma4", layout_gemma4),
    "mimo-v2-flash.json": ("mimo_v2_flash", layout_mimo_v2),
}
# Llama-4's chunked layers are capped in vLLM only with the hybrid KV cache manager on. vLLM PR 21761 (July
# 2025, vllm/config: VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE, default off) turned it off for models
# with attention_chunk_size, and every layer then takes cdiv(T, 16) pages (48 x cdiv(T, 16) x 65536 bytes: 24 GiB
# at 131072 tokens); PR 29627 turned the default on again (PR 46553, a proposal to turn it off once more, was
# closed). The figure asserted here is the one with it on (the chunk cap: 8.25 GiB at 131072 tokens), which is
# kvshape's reading; whether vLLM 001cabc1be16 has PR 29627 was not checked here.


# ------------------------------------------------------------------------------------------------- engines

def hf_bytes(groups, t, dtype):
    total = 0
    for g in groups:
        held = min(t, g["window"] - 1) if g["kind"] in ("sliding", "chunked") else t
        total += g["layers"] * held * g["kv_heads"] * (g["key_dim"] + g["value_dim"]) * dtype
    return total


def vllm_page(g):
    per_token = g["latent"] if g["kind"] == "mla" else g["kv_heads"] * (g["key_dim"] + g["value_dim"])
    return 16 * per_token * 2


def vllm_pages(g, t):
    if g["kind"] == "sliding":
        return cdiv(min(g["window"] - 1 + 8192, t), 16) + 1
    if g["kind"] == "chunked":
        return cdiv(min(g["window"] + 8192, t), 16)
    return cdiv(t, 16)


def vllm_bytes(groups, t):
    if len(groups) == 1:
        g = groups[0]
        return g["layers"] * vllm_pages(g, t) * vllm_page(g)
    assert len(groups) == 2
    # Pages of different sizes (Gemma-4): vllm/v1/core/kv_cache_utils.py unify_kv_cache_spec_page_size raises the
    # smaller spec's block size until its page is the largest page (it must divide it).
    page = max(vllm_page(g) for g in groups)
    blocks = []
    for g in groups:
        assert page % vllm_page(g) == 0
        block = 16 * page // vllm_page(g)
        if g["kind"] == "sliding":
            blocks.append(cdiv(min(g["window"] - 1 + 8192, t), block) + 1)
        elif g["kind"] == "chunked":
            blocks.append(cdiv(min(g["window"] + 8192, t), block))
        else:
            blocks.append(cdiv(t, block))
    counts = [g["layers"] for g in groups]
    group_size = max(counts) if 2 * max(counts) < 3 * min(counts) else min(counts)
    return sum(cdiv(g["layers"], group_size) * group_size * n * page for g, n in zip(groups, blocks))


def llama_bytes(groups, t):
    n_ctx = pad256(t)
    n_ubatch = min(512, min(2048, n_ctx))
    total = 0
    for g in groups:
        cells = pad256(min(n_ctx, g["window"] + n_ubatch)) if g["kind"] in ("sliding", "chunked") else n_ctx
        row = g["latent"] if g["kind"] == "mla" else g["kv_heads"] * (g["key_dim"] + g["value_dim"])
        total += g["layers"] * cells * row * 2
    return total


def vllm_state_page(cfg):
    """MambaSpec.page_size_bytes before padding, one layer and one sequence (module docstring); None for a
    model with no linear-attention or Mamba layers."""
    c = cfg.get("text_config", cfg)
    model = 2  # bfloat16 for every config here (dtype_of)
    if "linear_num_value_heads" in c:  # gated_delta_net_state_shape, gated_delta_net_state_dtype
        conv = (2 * c["linear_num_key_heads"] * c["linear_key_head_dim"]
                + c["linear_num_value_heads"] * c["linear_value_head_dim"]) * (c["linear_conv_kernel_dim"] - 1)
        temporal = c["linear_num_value_heads"] * c["linear_value_head_dim"] * c["linear_key_head_dim"]
        ssm = model
        if cfg.get("model_type") in ("qwen3_5", "qwen3_5_moe") and "mamba_ssm_dtype" in c:
            ssm = DTYPE_BYTES[c["mamba_ssm_dtype"]]
        return conv * model + temporal * ssm
    if "mamba_num_heads" in c:  # mamba2_state_shape, mamba2_state_dtype, NemotronHForCausalLMConfig
        inner = c["mamba_num_heads"] * c["mamba_head_dim"]
        conv = (inner + 2 * c["n_groups"] * c["ssm_state_size"]) * (c["conv_kernel"] - 1)
        temporal = inner * c["ssm_state_size"]
        return conv * model + temporal * DTYPE_BYTES[c.get("mamba_ssm_cache_dtype", "float16")]
    return None


def vllm_hybrid(attention, state_layers, state_page, t, memory=None, block_size=16, kv_bytes=2):
    """vLLM's reservation for one request of T tokens of a model with one attention group (full layers) and
    state_layers linear-attention or Mamba layers (module docstring), and with memory its figures."""
    (g,) = attention
    one = g["kv_heads"] * (g["key_dim"] + g["value_dim"]) * kv_bytes  # FullAttentionSpec of block_size 1
    # raised only where --block-size is under 16 x cdiv(state page, 16 x one)
    block = max(block_size, 16 * cdiv(state_page, 16 * one))
    page = block * one
    assert page >= state_page
    counts = [g["layers"], state_layers]
    group_size = max(counts) if 2 * max(counts) < 3 * min(counts) else min(counts)
    attn_groups, state_groups = cdiv(g["layers"], group_size), cdiv(state_layers, group_size)
    pages = attn_groups * cdiv(t, block) + state_groups * 1
    out = {"block": block, "page": page, "group_size": group_size,
           "padding": attn_groups * group_size - g["layers"] + state_groups * group_size - state_layers,
           "total": group_size * page * pages, "state": group_size * page * state_groups}
    if memory is not None:
        num_blocks = memory // page // group_size
        out["max_sequences"] = num_blocks // pages
        out["max_tokens"] = num_blocks // (attn_groups + state_groups) * min(block, t)
    return out


def expected(name, engine, t):
    cfg = load(name)
    groups, linear = REAL[name][1](cfg)
    if engine == "hf":
        return hf_bytes(groups, t, dtype_of(cfg))
    if engine == "vllm":
        if linear:
            return vllm_hybrid(groups, linear, vllm_state_page(cfg), t)["total"]
        return vllm_bytes(groups, t)
    return llama_bytes(groups, t)


def run(args):
    return subprocess.run([KVSHAPE, "from-hf-config", *args], capture_output=True, timeout=60)


class RealConfigs(unittest.TestCase):
    def rows(self, name, engine):
        proc = run([os.path.join(CONFIGS, name), "--tokens", ",".join(map(str, TOKENS)), "--engine", engine,
                    "--format", "json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertEqual(len(lines), len(TOKENS))
        return [json.loads(line, object_pairs_hook=lambda p: p) for line in lines]

    def test_layouts_read_here(self):
        # The layouts above, against what the files say in words (SOURCES) and the published model cards.
        def summary(name):
            groups, linear = REAL[name][1](load(name))
            return [(g["kind"], g["layers"], g["window"], g["kv_heads"]) for g in groups], linear
        self.assertEqual(summary("gpt-oss-120b.json"), ([("sliding", 18, 128, 8), ("full", 18, 0, 8)], 0))
        self.assertEqual(summary("deepseek-v3.json"), ([("mla", 61, 0, 128)], 0))
        self.assertEqual(summary("kimi-k2.json"), ([("mla", 61, 0, 64)], 0))
        self.assertEqual(summary("llama-4-scout.json"), ([("chunked", 36, 8192, 8), ("full", 12, 0, 8)], 0))
        self.assertEqual(summary("qwen3-next-80b-a3b.json"), ([("full", 12, 0, 2)], 36))
        self.assertEqual(summary("qwen3.5-27b.json"), ([("full", 16, 0, 4)], 48))
        self.assertEqual(summary("falcon-40b.json"), ([("full", 60, 0, 8)], 0))
        # Gemma-3 1B: 26 layers, every sixth full (layers 5, 11, 17, 23), one KV head of 256.
        self.assertEqual(summary("gemma-3-1b-it.json"), ([("sliding", 22, 512, 1), ("full", 4, 0, 1)], 0))
        # Gemma-3 27B: 62 layers, every sixth full (5, 11, ..., 59: 10 of them), 16 KV heads of 128.
        self.assertEqual(summary("gemma-3-27b-it.json"), ([("sliding", 52, 1024, 16), ("full", 10, 0, 16)], 0))
        # EXAONE-4.0-1.2B: 30 layers, every one full (the hybrid 3:1 layout is the 32B model's), 8 KV heads of 64.
        self.assertEqual(summary("exaone-4.0-1.2b.json"), ([("full", 30, 0, 8)], 0))

    def test_published_figures(self):
        # DeepSeek-V3's MLA cache in vLLM: 61 layers x (512 + 64) x 2 bytes = 70272 bytes a token, the figure
        # usually quoted; at 131072 tokens (a multiple of 16) 70272 x 131072.
        self.assertEqual(expected("deepseek-v3.json", "vllm", 131072), 70272 * 131072)
        # Falcon-40B: 60 layers x 8 KV heads x 64 x (K + V) x 2 bytes = 122880 bytes a token in every engine.
        for engine in ("hf", "vllm", "llama.cpp"):
            self.assertEqual(expected("falcon-40b.json", engine, 4096), 122880 * 4096)
        # Gemma-3 1B: 1 KV head x 256 x (K + V) x 2 bytes = 1024 bytes a token a layer. hf at 4096 tokens:
        # 4 full layers x 4096 + 22 sliding layers x 511. vLLM groups the 22 + 4 layers in groups of 4 (22 is
        # not under 1.5 x 4): 6 sliding groups (2 padding layers) of cdiv(4096, 16) + 1 = 257 pages and one full
        # group of 256 pages, 16 KiB a page. llama.cpp: 22 x 1024 SWA cells (GGML_PAD(512 + 512, 256)) + 4 x 4096.
        self.assertEqual(expected("gemma-3-1b-it.json", "hf", 4096), (4 * 4096 + 22 * 511) * 1024)
        self.assertEqual(expected("gemma-3-1b-it.json", "vllm", 4096), (24 * 257 + 4 * 256) * 16384)
        self.assertEqual(expected("gemma-3-1b-it.json", "llama.cpp", 4096), (22 * 1024 + 4 * 4096) * 1024)
        # Gemma-3 27B at 131072 tokens, 16 KV heads x 128 x (K + V) x 2 bytes = 8192 bytes a token a layer.
        # Contiguous: 62 x 131072 x 8192 = 62 GiB, issue 15's figure. vLLM: full layers cdiv(131072, 16) = 8192
        # pages, sliding ones cdiv(1023 + 8192, 16) + 1 = 577 (max_num_batched_tokens 8192), 131072 bytes a
        # page: summed layer by layer (10 x 8192 + 52 x 577) pages = 13.66 GiB, the "13.7 GiB" issue 15 quotes
        # (what vLLM's check_enough_kv_cache_memory asks for); allocated in groups of 10 layers (52 is not under
        # 1.5 x 10): one full group and 6 sliding groups (8 padding layers), 10 x (8192 + 6 x 577) pages.
        tc = load("gemma-3-27b-it.json")["text_config"]
        per_token = tc["num_hidden_layers"] * tc["num_key_value_heads"] * tc["head_dim"] * 2 * 2
        self.assertEqual(per_token * 131072, 62 * 2 ** 30)
        self.assertEqual((10 * 8192 + 52 * 577) * 131072, 14670102528)  # 13.66 GiB
        self.assertEqual(expected("gemma-3-27b-it.json", "vllm", 131072), 10 * (8192 + 6 * 577) * 131072)
        self.assertEqual(expected("gemma-3-27b-it.json", "hf", 131072), (10 * 131072 + 52 * 1023) * 8192)
        # llama.cpp's iSWA cache: GGML_PAD(min(131072, 1024 + 512), 256) = 1536 cells a sliding layer.
        self.assertEqual(expected("gemma-3-27b-it.json", "llama.cpp", 131072), (10 * 131072 + 52 * 1536) * 8192)
        # EXAONE-4.0-1.2B: 30 layers x 8 KV heads x 64 x (K + V) x 2 bytes = 61440 bytes a token in every engine
        # (4096 is a multiple of 16 and of 256).
        for engine in ("hf", "vllm", "llama.cpp"):
            self.assertEqual(expected("exaone-4.0-1.2b.json", engine, 4096), 61440 * 4096)

    def test_every_engine(self):
        for name, (model_type, layout) in sorted(REAL.items()):
            groups, linear = layout(load(name))
            for engine in ("hf", "vllm", "llama.cpp"):
                rows = self.rows(name, engine)
                for row, t in zip(rows, TOKENS):
                    with self.subTest(config=name, engine=engine, tokens=t):
                        self.assertEqual([k for k, _ in row], ENGINE_FIELDS)
                        row = dict(row)
                        self.assertEqual((row["engine"], row["model_type"], row["tokens"], row["batch"]),
                                         (engine, model_type, t, 1))
                        kinds = sorted((dict(g)["kind"], dict(g)["layers"]) for g in row["groups"]
                                       if dict(g)["kind"] not in ("linear_attention", "mamba"))
                        self.assertEqual(kinds, sorted((g["kind"], g["layers"]) for g in groups))
                        self.assertEqual(bool(row["state_bytes"]), linear > 0)
                        self.assertEqual(row["total_bytes"], expected(name, engine, t))

    def test_batch_scales_every_engine(self):
        # Three sequences: hf and vLLM hold three times one sequence; llama.cpp three streams of
        # GGML_PAD(GGML_PAD(3T, 256) / 3, 256) cells, which for T a multiple of 256 is 3 x one sequence.
        for name in sorted(REAL):
            for engine in ("hf", "llama.cpp", "vllm"):
                with self.subTest(config=name, engine=engine):
                    proc = run([os.path.join(CONFIGS, name), "--tokens", "4096", "--batch", "3", "--engine",
                                engine, "--format", "json"])
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(json.loads(proc.stdout)["total_bytes"], 3 * expected(name, engine, 4096))

    def test_text_table(self):
        # The text table of every engine at once: exit 0, one row per token count, the hf column as worked out.
        def human(n):  # 1024 units, one decimal
            units = ["B", "KiB", "MiB", "GiB", "TiB"]
            u = 0
            while n >= 1024 ** (u + 1) and u + 1 < len(units):
                u += 1
            return "%d B" % n if u == 0 else "%.1f %s" % (n / 1024 ** u, units[u])

        for name in sorted(REAL):
            with self.subTest(config=name):
                proc = run([os.path.join(CONFIGS, name), "--tokens", "4096,131072"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                lines = proc.stdout.decode().splitlines()
                header = [i for i, line in enumerate(lines) if line.split()[:2] == ["tokens", "contiguous"]]
                self.assertEqual(len(header), 1, lines)
                self.assertEqual(lines[header[0]].split(), ["tokens", "contiguous", "hf", "vllm", "llama.cpp"])
                for line, t in zip(lines[header[0] + 1:header[0] + 3], (4096, 131072)):
                    self.assertTrue(line.startswith("%10d" % t), line)
                    self.assertIn(human(expected(name, "hf", t)), line)
                    self.assertIn(human(expected(name, "llama.cpp", t)), line)


def layout_nemotron_h(cfg):
    """NemotronHConfig (transformers models/nemotron_h/configuration_nemotron_h.py, layers_block_type): one
    character of hybrid_override_pattern a layer, "M" Mamba-2, "*" attention, "-" MLP, "E" MoE; only "*" layers
    hold keys and values (num_key_value_heads of head_dim). vLLM (vllm/model_executor/models/nemotron_h.py) and
    llama.cpp (LLM_ARCH_NEMOTRON_H, llama_memory_hybrid) build their KV caches for those layers alone."""
    if "layers_block_type" in cfg:  # newer configs: a name a layer, and no num_hidden_layers
        letters = {"mamba": "M", "attention": "*", "mlp": "-", "moe": "E"}
        pattern = "".join(letters[b] for b in cfg["layers_block_type"])
    else:
        pattern = cfg["hybrid_override_pattern"]
    assert len(pattern) == cfg.get("num_hidden_layers", len(pattern))
    # The 56B file has no head_dim: hidden_size / num_attention_heads (8192 / 64), which its attention_head_dim
    # (128) agrees with.
    hd = cfg["head_dim"] if "head_dim" in cfg else cfg["hidden_size"] // cfg["num_attention_heads"]
    assert hd == cfg.get("attention_head_dim", hd)
    kv = cfg["num_key_value_heads"]
    return [group("full", pattern.count("*"), kv, hd, hd)], pattern.count("M")


class NemotronH(unittest.TestCase):
    """Nemotron-H's hybrid_override_pattern: only its "*" layers hold keys and values, only its "M" layers a
    Mamba-2 state; "-" and "E" layers (MLP, MoE) hold nothing."""

    NEMOTRON = "nemotron-3-nano-30b-a3b.json"
    # Nemotron-H-56B: no head_dim key (8192 / 64 heads = 128), and "time_step_limit": [0.0, Infinity], which
    # Python's json module writes and reads but strict JSON has no word for.
    NEMOTRON_56B = "nemotron-h-56b-base-8k.json"
    # Nemotron-3-Ultra: layers_block_type and no num_hidden_layers (108 layers: 12 attention, 48 Mamba-2, 48 MoE),
    # mamba_ssm_cache_dtype float32.
    NEMOTRON_ULTRA = "nemotron-3-ultra-550b-a55b.json"

    def test_nemotron_layout_read_here(self):
        groups, mamba = layout_nemotron_h(load(self.NEMOTRON))
        self.assertEqual([(g["kind"], g["layers"], g["kv_heads"], g["key_dim"]) for g in groups],
                         [("full", 6, 2, 128)])
        self.assertEqual(mamba, 23)
        # 6 layers x 2 heads x 128 x (K + V) x 2 bytes = 6144 bytes a token.
        self.assertEqual(hf_bytes(groups, 1, 2), 6144)
        groups, mamba = layout_nemotron_h(load(self.NEMOTRON_56B))
        self.assertEqual([(g["kind"], g["layers"], g["kv_heads"], g["key_dim"]) for g in groups],
                         [("full", 10, 8, 128)])
        self.assertEqual(mamba, 54)
        self.assertEqual(load(self.NEMOTRON_56B)["time_step_limit"], [0.0, float("inf")])
        groups, mamba = layout_nemotron_h(load(self.NEMOTRON_ULTRA))
        self.assertEqual([(g["kind"], g["layers"], g["kv_heads"], g["key_dim"]) for g in groups],
                         [("full", 12, 2, 128)])
        self.assertEqual(mamba, 48)

    def test_nemotron_h_only_attention_layers_hold_kv(self):
        for name in (self.NEMOTRON, self.NEMOTRON_56B, self.NEMOTRON_ULTRA):
            groups, mamba = layout_nemotron_h(load(name))
            for engine in ("hf", "vllm", "llama.cpp"):
                proc = run([os.path.join(CONFIGS, name), "--tokens", "131072", "--engine", engine,
                            "--format", "json"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                want = {"hf": hf_bytes(groups, 131072, dtype_of(load(name))),
                        "vllm": vllm_hybrid(groups, mamba, vllm_state_page(load(name)), 131072)["total"],
                        "llama.cpp": llama_bytes(groups, 131072)}[engine]
                self.assertEqual(json.loads(proc.stdout)["total_bytes"], want, (name, engine))

    def test_nemotron_h_mamba2_state(self):
        # Mamba-2's state per layer and sequence (vLLM MambaStateShapeCalculator.mamba2_state_shape): conv
        # (heads x head_dim + 2 x n_groups x ssm_state_size) x conv_kernel, plus SSM heads x head_dim x state.
        cfg = load(self.NEMOTRON)
        inner = cfg["mamba_num_heads"] * cfg["mamba_head_dim"]
        per_layer = ((inner + 2 * cfg["n_groups"] * cfg["ssm_state_size"]) * cfg["conv_kernel"]
                     + inner * cfg["ssm_state_size"])
        self.assertEqual(per_layer, (4096 + 2048) * 4 + 4096 * 128)
        mamba_layers = cfg["hybrid_override_pattern"].count("M")
        proc = run([os.path.join(CONFIGS, self.NEMOTRON), "--tokens", "4096", "--batch", "2", "--engine",
                    "hf", "--format", "json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["state_bytes"], 2 * mamba_layers * per_layer * dtype_of(cfg))
        # llama.cpp keeps recurrent state in f32 (llama_memory_recurrent), one cell per sequence, and drops the
        # conv tap that is shifted out (src/llama-hparams.cpp: n_embd_r = (ssm_d_conv - 1) x (ssm_d_inner + 2 x
        # ssm_n_group x ssm_d_state), n_embd_s = ssm_d_state x ssm_d_inner).
        llama_per_layer = ((inner + 2 * cfg["n_groups"] * cfg["ssm_state_size"]) * (cfg["conv_kernel"] - 1)
                           + inner * cfg["ssm_state_size"])
        proc = run([os.path.join(CONFIGS, self.NEMOTRON), "--tokens", "4096", "--batch", "2", "--engine",
                    "llama.cpp", "--format", "json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["state_bytes"], 2 * mamba_layers * llama_per_layer * 4)

    def test_pattern_of_the_wrong_length_or_letters(self):
        for pattern, needle in (("M*", "hybrid_override_pattern"), ("X" * 52, "hybrid_override_pattern")):
            cfg = load(self.NEMOTRON)
            cfg["hybrid_override_pattern"] = pattern
            proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "64"], input=json.dumps(cfg).encode(),
                                  capture_output=True, timeout=60)
            self.assertEqual(proc.returncode, 1, proc.stdout)
            self.assertIn(needle.encode(), proc.stderr)


class VllmHybrids(unittest.TestCase):
    """vLLM's figures for the hybrids of attention and linear-attention or Mamba layers, every one worked out
    here from the config's own keys (vllm_state_page, vllm_hybrid), at the TOKENS above and with --memory."""

    HYBRIDS = {"qwen3-next-80b-a3b.json": layout_qwen3_next,
               "qwen3.5-27b.json": lambda c: layout_layer_types(c["text_config"]),
               "nemotron-3-nano-30b-a3b.json": layout_nemotron_h}
    MEMORY = 24 * 2 ** 30

    def rows(self, name, *extra):
        proc = run([os.path.join(CONFIGS, name), "--tokens", ",".join(map(str, TOKENS)), "--engine", "vllm",
                    "--format", "json", *extra])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [json.loads(line) for line in proc.stdout.decode().splitlines()]

    def test_worked_by_hand(self):
        # The figures of vllm_hybrid, checked by hand once. Qwen3-Next: state page (2 x 16 x 128 + 32 x 128) x 3
        # x 2 + 32 x 128 x 128 x 2 = 1097728 bytes; attention 2 x 512 x 2 = 2048 bytes a token; block 16 x
        # cdiv(1097728, 32768) = 544; page 1114112; 12 full + 36 linear layers in 4 groups of 12; at 4096 tokens
        # 8 + 3 pages of 12 layers: 147062784 bytes (140.25 MiB), vLLM's ~140 MiB of issue 15.
        self.assertEqual(vllm_state_page(load("qwen3-next-80b-a3b.json")), 1097728)
        q = vllm_hybrid(*layout_qwen3_next(load("qwen3-next-80b-a3b.json")), 1097728, 4096)
        self.assertEqual((q["block"], q["page"], q["group_size"], q["total"]), (544, 1114112, 12, 147062784))
        # Nemotron-3-Nano: state (4096 + 2 x 8 x 128) x 3 x 2 + 64 x 64 x 128 x 4 (float32) = 2134016 bytes;
        # attention 2 x 256 x 2 = 1024 bytes a token: block 2096; 6 attention + 23 Mamba layers in groups of 6
        # (one padding layer): at 4096 tokens 2 + 4 pages of 6 layers.
        self.assertEqual(vllm_state_page(load("nemotron-3-nano-30b-a3b.json")), 2134016)
        n = vllm_hybrid(*layout_nemotron_h(load("nemotron-3-nano-30b-a3b.json")), 2134016, 4096)
        self.assertEqual((n["block"], n["padding"], n["total"]), (2096, 1, 6 * 2096 * 1024 * 6))
        # Qwen3.5-27B asks for its SSM state in float32 (mamba_ssm_dtype): state (2 x 16 x 128 + 48 x 128) x 3 x 2
        # + 48 x 128 x 128 x 4 = 3207168 bytes; attention 4 x 512 x 2 = 4096 bytes a token: block 16 x
        # cdiv(3207168, 65536) = 784 (400 were the state in bfloat16); 16 full + 48 linear layers in groups of
        # 16: at 4096 tokens 6 + 3 pages of 16 layers of 784 x 4096 bytes.
        self.assertEqual(vllm_state_page(load("qwen3.5-27b.json")), 3207168)
        q5 = vllm_hybrid(*layout_layer_types(load("qwen3.5-27b.json")["text_config"]), 3207168, 4096)
        self.assertEqual((q5["block"], q5["group_size"], q5["total"]), (784, 16, 16 * 784 * 4096 * 9))

    def test_totals_groups_and_notes(self):
        for name, layout in sorted(self.HYBRIDS.items()):
            cfg = load(name)
            groups, linear = layout(cfg)
            page = vllm_state_page(cfg)
            for row, t in zip(self.rows(name, "--memory", "24GiB"), TOKENS):
                with self.subTest(config=name, tokens=t):
                    want = vllm_hybrid(groups, linear, page, t, self.MEMORY)
                    self.assertEqual(row["total_bytes"], want["total"])
                    self.assertEqual(row["state_bytes"], want["state"])
                    self.assertEqual(row["max_sequences"], want["max_sequences"])
                    self.assertEqual(row["max_tokens"], want["max_tokens"])
                    self.assertEqual(sum(g["padding_layers"] for g in row["groups"]), want["padding"])
                    self.assertEqual(sum(g["bytes"] for g in row["groups"]), want["total"])
                    self.assertTrue(any(n.startswith("vllm: block size %d (" % want["block"]) for n in row["notes"]),
                                    row["notes"])
                    self.assertFalse(any("not modelled here" in n for n in row["notes"]), row["notes"])
                    # the v2 spec: each state layer's padded page per sequence
                    states = [g for g in row["spec"]["groups"] if g["attention"] == "linear" and g.get("state_bytes")]
                    self.assertEqual({g["state_bytes"] for g in states}, {want["page"]})

    def test_block_size_and_fp8(self):
        # A --block-size over vLLM's minimum is kept (the state padded to its page); an fp8 cache halves the
        # attention pages but not the state, which stays in the model dtype (mamba_cache_dtype "auto").
        for name, layout in sorted(self.HYBRIDS.items()):
            cfg = load(name)
            groups, linear = layout(cfg)
            page = vllm_state_page(cfg)
            for extra, kw in ((["--block-size", "4096"], {"block_size": 4096}), (["--kv-dtype", "fp8"], {"kv_bytes": 1})):
                for row, t in zip(self.rows(name, *extra), TOKENS):
                    with self.subTest(config=name, tokens=t, options=extra):
                        self.assertEqual(row["total_bytes"], vllm_hybrid(groups, linear, page, t, **kw)["total"])


    def test_hf_gated_deltanet_state(self):
        # transformers keeps a Gated DeltaNet's conv state of linear_conv_kernel_dim taps in the model dtype and
        # its recurrent state as the chunked rule returns it, in float32 (modeling_qwen3_next.py,
        # torch_chunk_gated_delta_rule; cache_utils.py LinearAttentionLayer: zeros_like(recurrent_states)).
        for name in ("qwen3-next-80b-a3b.json", "qwen3.5-27b.json"):
            cfg = load(name)
            c = cfg.get("text_config", cfg)
            conv = (2 * c["linear_num_key_heads"] * c["linear_key_head_dim"]
                    + c["linear_num_value_heads"] * c["linear_value_head_dim"]) * c["linear_conv_kernel_dim"]
            recurrent = c["linear_num_value_heads"] * c["linear_key_head_dim"] * c["linear_value_head_dim"]
            linear = self.HYBRIDS[name](cfg)[1]
            proc = run([os.path.join(CONFIGS, name), "--tokens", "4096", "--batch", "3", "--engine", "hf",
                        "--format", "json"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["state_bytes"], 3 * linear * (conv * 2 + recurrent * 4), name)
        # Qwen3-Next by hand: 36 layers x (8192 x 4 x 2 + 32 x 128 x 128 x 4) bytes a sequence
        self.assertEqual(36 * (8192 * 4 * 2 + 32 * 128 * 128 * 4), 77856768)

    def test_qwen3_5_ssm_dtype(self):
        # Without mamba_ssm_dtype, Qwen3.5's SSM state is in the model dtype ("auto"); a dtype vLLM does not know
        # is refused with the key named.
        cfg = load("qwen3.5-27b.json")
        del cfg["text_config"]["mamba_ssm_dtype"]
        page = vllm_state_page(cfg)
        self.assertEqual(page, (2 * 16 * 128 + 48 * 128) * 3 * 2 + 48 * 128 * 128 * 2)
        groups, linear = layout_layer_types(cfg["text_config"])
        proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "4096", "--engine", "vllm", "--format",
                               "json"], input=json.dumps(cfg).encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["total_bytes"], vllm_hybrid(groups, linear, page, 4096)["total"])
        cfg["text_config"]["mamba_ssm_dtype"] = "float8"
        proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "4096", "--engine", "vllm"],
                              input=json.dumps(cfg).encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("text_config.mamba_ssm_dtype", proc.stderr.decode())

    def test_nemotron_ssm_dtype_default(self):
        # Without mamba_ssm_cache_dtype, vLLM's NemotronHForCausalLMConfig takes float16 for the SSM state.
        cfg = load("nemotron-3-nano-30b-a3b.json")
        del cfg["mamba_ssm_cache_dtype"]
        page = vllm_state_page(cfg)
        self.assertEqual(page, (4096 + 2 * 8 * 128) * 3 * 2 + 64 * 64 * 128 * 2)
        groups, mamba = layout_nemotron_h(cfg)
        proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "4096", "--engine", "vllm", "--format",
                               "json"], input=json.dumps(cfg).encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["total_bytes"], vllm_hybrid(groups, mamba, page, 4096)["total"])


class BadConfigs(unittest.TestCase):
    """Real configs with a key taken out or cut short: the class default where transformers has one, else the
    refusal naming the key, as for the synthetic configs."""

    def test_mla_without_its_rope_dim(self):
        # deepseek_v3 has a class default (DeepseekV3Config: qk_rope_head_dim=64): the same figure, with a note.
        cfg = load("deepseek-v3.json")
        del cfg["qk_rope_head_dim"]
        proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "4096", "--engine", "vllm", "--format",
                               "json"], input=json.dumps(cfg).encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        row = json.loads(proc.stdout)
        self.assertEqual(row["total_bytes"], expected("deepseek-v3.json", "vllm", 4096))
        self.assertTrue(any("qk_rope_head_dim 64" in n for n in row["notes"]), row["notes"])
        # Under a model_type with no class defaults the key is required, as for the synthetic configs.
        cfg["model_type"] = "not_a_model_type"
        proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "4096", "--engine", "vllm"],
                              input=json.dumps(cfg).encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stdout, b"")
        self.assertIn(b"missing key `qk_rope_head_dim`", proc.stderr)

    def test_layer_types_of_the_wrong_length(self):
        cfg = load("gpt-oss-120b.json")
        cfg["layer_types"] = cfg["layer_types"][:-1]
        proc = subprocess.run([KVSHAPE, "from-hf-config", "-", "--tokens", "4096", "--engine", "hf"],
                              input=json.dumps(cfg).encode(), capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"[hf_config.layer_types_length] (layer_types)", proc.stderr)


class WindowOnEveryLayerAndPureMamba(unittest.TestCase):
    """Mistral-7B-v0.1 (a sliding_window and no layer_types) and a pure Mamba (no attention layer at all), each
    worked out here per engine, since the engines read them differently."""

    MISTRAL = "mistral-7b-v0.1.json"
    MAMBA = "mamba-2.8b.json"

    def row(self, name, engine, t, *extra):
        proc = run([os.path.join(CONFIGS, name), "--tokens", str(t), "--engine", engine, "--format", "json",
                    *extra])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_mistral_window_on_every_layer(self):
        cfg = load(self.MISTRAL)
        n, kv = cfg["num_hidden_layers"], cfg["num_key_value_heads"]
        hd = cfg["hidden_size"] // cfg["num_attention_heads"]  # MistralConfig: head_dim None -> hidden / heads
        w = cfg["sliding_window"]
        self.assertEqual((n, kv, hd, w, dtype_of(cfg)), (32, 8, 128, 4096, 2))
        # hf: MistralConfig has no layer_types, and DynamicCache.__init__ gives every layer the config's
        # sliding_window (DynamicSlidingWindowLayer): min(T, W - 1) tokens a layer.
        hf = [group("sliding", n, kv, hd, hd, window=w)]
        # vLLM (vllm/model_executor/models/llama.py, LlamaAttention: a window only where layer_types says
        # sliding_attention) and llama.cpp (convert_hf_to_gguf writes no sliding window for the llama arch, so no
        # n_swa): every layer full.
        full = [group("full", n, kv, hd, hd)]
        for t in TOKENS:
            with self.subTest(tokens=t):
                self.assertEqual(self.row(self.MISTRAL, "hf", t)["total_bytes"], hf_bytes(hf, t, 2))
                self.assertEqual(self.row(self.MISTRAL, "vllm", t)["total_bytes"], vllm_bytes(full, t))
                self.assertEqual(self.row(self.MISTRAL, "llama.cpp", t)["total_bytes"], llama_bytes(full, t))
        # Written out at 131072 tokens: hf 32 x 4095 x 8 x 256 x 2; vLLM 32 x 8192 pages x 16 x 8 x 256 x 2.
        self.assertEqual(self.row(self.MISTRAL, "hf", 131072)["total_bytes"], 32 * 4095 * 8 * 256 * 2)
        self.assertEqual(self.row(self.MISTRAL, "vllm", 131072)["total_bytes"], 32 * 8192 * 16 * 8 * 256 * 2)
        notes = " ".join(self.row(self.MISTRAL, "vllm", 4096)["notes"])
        self.assertIn("every layer is full", notes)

    def test_pure_mamba_holds_no_kv(self):
        cfg = load(self.MAMBA)
        n, inner, conv, state = (cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["conv_kernel"],
                                 cfg["state_size"])
        self.assertEqual((n, inner, conv, state, dtype_of(cfg)), (64, 5120, 4, 16, 4))
        # vLLM keeps a Mamba layer's state in its KV cache pool, one page per layer and request whatever T
        # (MambaSpec with prefix caching off); vllm/model_executor/layers/mamba/mamba_utils.py,
        # mamba1_state_shape: a conv state of intermediate_size x (conv_kernel - 1) and an SSM state of
        # intermediate_size x state_size; _mamba_state_dtype: both in the model dtype when the cache dtypes are
        # "auto", and float32 weights are served in bfloat16: 2 bytes.
        vllm_page_bytes = inner * (conv - 1) * 2 + inner * state * 2
        self.assertEqual(n * vllm_page_bytes, 12451840)
        for t in TOKENS:
            for engine in ("hf", "vllm", "llama.cpp"):
                with self.subTest(tokens=t, engine=engine):
                    row = self.row(self.MAMBA, engine, t)
                    self.assertEqual(row["total_bytes"], n * vllm_page_bytes if engine == "vllm" else 0)
        # hf: transformers models/mamba/modeling_mamba.py, MambaCache.__init__: per layer a conv state of
        # intermediate_size x conv_kernel and an ssm state of intermediate_size x state_size, in the model's
        # dtype (float32 here): 64 x 5120 x (4 + 16) x 4 bytes a sequence, whatever T.
        for batch in (1, 3):
            row = self.row(self.MAMBA, "hf", 4096, "--batch", str(batch))
            self.assertEqual(row["state_bytes"], batch * n * inner * (conv + state) * 4)
            self.assertEqual(row["state_bytes"], batch * 26214400)
            # llama.cpp: f32, and the conv state without its shifted-out tap (src/llama-hparams.cpp, n_embd_r =
            # (ssm_d_conv - 1) x ssm_d_inner for Mamba-1, n_embd_s = ssm_d_state x ssm_d_inner).
            row = self.row(self.MAMBA, "llama.cpp", 4096, "--batch", str(batch))
            self.assertEqual(row["state_bytes"], batch * n * (inner * (conv - 1) + inner * state) * 4)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write("usage: %s PATH_TO_KVSHAPE [unittest options]\n" % sys.argv[0])
        sys.exit(2)
    KVSHAPE = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:])
