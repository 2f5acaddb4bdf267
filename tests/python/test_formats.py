"""fib_quant_kv.checkpoint and fib_quant_kv.hf: the library's checkpoint and config-sizing modules from Python,
on files built here byte by byte and on the bundled examples; each answer is compared with kvshape's where the
CLI gives one."""

import json
import os
import shutil
import struct
import subprocess

import pytest

import fib_quant_kv as fqk
from fib_quant_kv import checkpoint, hf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
KEY = os.path.join(EXAMPLES, "checkpoints", "key.json")
VALUE = os.path.join(EXAMPLES, "checkpoints", "value.json")


def shape(path):
    with open(path, encoding="utf-8") as f:
        return fqk.KvTensorShapeV1.from_json(f.read())


@pytest.fixture(params=["kv_cache.safetensors", "kv_cache.gguf"])
def copy(request, tmp_path):
    dst = tmp_path / request.param
    shutil.copyfile(os.path.join(EXAMPLES, "checkpoints", request.param), dst)
    return dst


def data_slices(path):
    info = checkpoint.inspect(path)
    raw = path.read_bytes()
    return {t["name"]: raw[t["begin"]:t["end"]] for t in info["tensors"]}


def test_inspect_the_bundled_files(copy):
    info = checkpoint.inspect(copy)
    assert info["format"] == copy.suffix[1:]
    assert [t["name"] for t in info["tensors"]] == ["past.0.key", "past.0.value", "past.1.key", "past.1.value"]
    for t in info["tensors"]:
        assert t["shape"] == (1, 2, 4, 8)  # outermost first, also for GGUF (stored innermost first)
        assert t["dtype"] == "BF16" and t["kv_dtype"] is fqk.KvDType.bf16
        assert t["end"] - t["begin"] == 128
    assert info["descriptors"] == []
    if info["format"] == "gguf":
        assert info["metadata"] == {"general.architecture": "llama", "general.alignment": 32}
        assert info["data_offset"] % 32 == 0


def test_attach_inspect_verify_detach(copy, tmp_path):
    before = data_slices(copy)
    key, value = shape(KEY), shape(VALUE)
    seen = []
    checkpoint.attach(copy, copy, key, "past.{layer}.key", progress=lambda done, total: seen.append((done, total)))
    checkpoint.attach(copy, copy, value, "past.{layer}.value")
    assert seen and seen[-1][0] == seen[-1][1]
    assert data_slices(copy) == before  # every tensor byte unchanged
    info = checkpoint.inspect(copy)
    by_target = {d["target"]: d for d in info["descriptors"]}
    assert by_target["past.{layer}.key"]["shape"] == key
    assert by_target["past.{layer}.key"]["json"] == key.to_json()
    assert by_target["past.{layer}.key"]["tensors"] == ["past.0.key", "past.1.key"]
    assert by_target["past.{layer}.value"]["shape"] == value and by_target["past.{layer}.value"]["per_layer"]
    assert checkpoint.verify(copy) == []
    out = tmp_path / ("detached" + copy.suffix)
    checkpoint.detach(copy, out, "past.{layer}.key")
    assert [d["target"] for d in checkpoint.inspect(out)["descriptors"]] == ["past.{layer}.value"]


def test_a_disagreeing_descriptor_is_refused_and_nothing_written(copy, tmp_path):
    bad = shape(KEY).replace(tokens=5)
    problems = checkpoint.check(copy, bad, "past.{layer}.key")
    assert [(e.kind, e.rule) for e in problems] == [(fqk.ErrorKind.tensor_mismatch, "checkpoint.shape"),
                                                    (fqk.ErrorKind.tensor_mismatch, "checkpoint.byte_length")] * 2
    assert "tensor `past.0.key`: shape [1, 2, 4, 8], the descriptor's layout is [1, 2, 5, 8]" in problems[0].message
    out = tmp_path / "out.bin"
    with pytest.raises(fqk.DescriptorError) as raised:
        checkpoint.attach(copy, out, bad, "past.{layer}.key")
    assert raised.value.rule == "checkpoint.shape"
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == [copy.name]


def test_an_invalid_descriptor_is_its_validation_error(copy):
    with pytest.raises(fqk.DescriptorError) as raised:
        checkpoint.attach(copy, copy, shape(KEY).replace(query_heads=7), "past.{layer}.key")
    assert raised.value.rule == "grouped.heads_divisible"


def test_unreadable_and_hostile_files(tmp_path):
    with pytest.raises(fqk.DescriptorError) as raised:
        checkpoint.inspect(tmp_path / "absent.gguf")
    assert raised.value.kind == fqk.ErrorKind.io and raised.value.rule == "io.open"
    hostile = tmp_path / "hostile.gguf"
    hostile.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**62, 0))  # more tensors than the file can hold
    with pytest.raises(fqk.DescriptorError) as raised:
        checkpoint.verify(hostile)
    assert raised.value.kind == fqk.ErrorKind.parse and raised.value.rule.startswith("gguf.")
    with pytest.raises(TypeError):
        checkpoint.inspect(42)
    with pytest.raises(TypeError):
        checkpoint.attach(hostile, hostile, "not a shape", "t")


def test_detach_without_a_descriptor(copy):
    with pytest.raises(fqk.DescriptorError) as raised:
        checkpoint.detach(copy, copy, "past.{layer}.key")
    assert raised.value.rule == "checkpoint.not_attached"


# ---------------------------------------------------------------------------------------------- hf
def config(name):
    with open(os.path.join(EXAMPLES, "configs", name), encoding="utf-8") as f:
        return f.read()


def test_size_kv_cache_matches_kvshape(kvshape):
    rows = hf.size_kv_cache(config("llama-3-8b.json"), [4096, 131072], batch=2, dtype="f32", rope="pre_rope")
    assert [r["total_bytes"] for r in rows] == [2 * 32 * 8 * 128 * 4 * 2 * t for t in (4096, 131072)]
    assert rows[0]["key"] == fqk.KvTensorShapeV1(
        role="key", attention_kind="gqa", batch=2, layers=32, kv_heads=8, query_heads=32, tokens=4096,
        head_dim=128, dtype="f32", rope_state="pre_rope")
    assert rows[0]["value"].rope_state == fqk.KvRopeState.not_applicable
    cli = subprocess.run([kvshape, "from-hf-config", os.path.join(EXAMPLES, "configs", "llama-3-8b.json"),
                          "--tokens", "4096,131072", "--batch", "2", "--dtype", "f32", "--rope", "pre_rope",
                          "--format", "json"], capture_output=True, check=True)
    assert cli.stdout.decode() == "".join(r["json"] + "\n" for r in rows)
    assert json.loads(rows[1]["json"])["bytes_per_token"] == rows[1]["bytes_per_token"]


MLA = ('{"num_hidden_layers": 2, "num_attention_heads": 4, "hidden_size": 64, "kv_lora_rank": 512,'
       ' "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "torch_dtype": "bfloat16"}')


def test_size_kv_cache_refusals():
    with pytest.raises(fqk.DescriptorError) as raised:
        hf.size_kv_cache(MLA, 8)
    assert raised.value.kind == fqk.ErrorKind.unsupported and raised.value.rule == "hf_config.mla"
    with pytest.raises(fqk.DescriptorError) as raised:
        hf.size_kv_cache(b"[]", 8)
    assert raised.value.kind == fqk.ErrorKind.parse
    with pytest.raises(TypeError):
        hf.size_kv_cache(config("gpt2.json"), ["many"])
    with pytest.raises(ValueError):
        hf.size_kv_cache(config("gpt2.json"), 8, dtype="f8")


def test_layers_are_the_cache_model():
    model = hf.layers(config("gpt-oss-20b.json"))
    assert model["model_type"] == "gpt_oss" and model["torch_dtype"] is None
    # layer_types: sliding, full, ... over 24 layers; 8 KV heads of 64; window 128
    assert [layer["kind"] for layer in model["layers"]] == ["sliding", "full"] * 12
    assert model["layers"][0] == {"kind": "sliding", "window": 128, "kv_heads": 8, "key_dim": 64, "value_dim": 64,
                                  "kv_lora_rank": 0, "rope_dim": 0, "state_elements": 0}
    mla = hf.layers(MLA)["layers"][0]
    assert (mla["kind"], mla["kv_heads"], mla["key_dim"], mla["kv_lora_rank"], mla["rope_dim"]) == \
        ("mla", 4, 192, 512, 64)


def test_size_for_engine_matches_kvshape(kvshape):
    path = os.path.join(EXAMPLES, "configs", "gemma-2-9b.json")
    for engine in hf.ENGINES:
        rows = hf.size_for_engine(config("gemma-2-9b.json"), [4096, 131072], engine=engine, batch=2,
                                  memory="24GiB")
        cli = subprocess.run([kvshape, "from-hf-config", path, "--tokens", "4096,131072", "--batch", "2",
                              "--engine", engine, "--memory", "24GiB", "--format", "json"],
                             capture_output=True, check=True)
        for row, line in zip(rows, cli.stdout.decode().splitlines(), strict=True):
            expected = json.loads(line)
            for key in ("engine", "model_type", "tokens", "batch", "kv_dtype", "total_bytes", "state_bytes",
                        "groups", "max_tokens", "max_sequences", "notes"):
                assert row[key] == expected[key], key
    # vLLM, 4096 tokens, 2 sequences: 21 sliding layers of cdiv(min(4095 + 8192, 4096), 16) + 1 = 257 pages and
    # 21 full layers of 256 pages, pages of 16 x 8 x 512 x 2 = 131072 bytes (float32 served in bfloat16)
    row = hf.size_for_engine(config("gemma-2-9b.json"), 4096, engine="vllm", batch=2)[0]
    assert row["total_bytes"] == 2 * 21 * 131072 * (257 + 256)
    assert "max_tokens" not in row


def test_size_for_engine_refusals():
    with pytest.raises(fqk.DescriptorError) as raised:
        hf.size_for_engine(config("gpt2.json"), 8, engine="hf", kv_dtype="q8_0")
    assert raised.value.kind == fqk.ErrorKind.unsupported and raised.value.rule == "sizing.dtype_unsupported"
    with pytest.raises(fqk.DescriptorError) as raised:
        hf.size_for_engine(config("gpt2.json"), 8, engine="vllm", memory="lots")
    assert raised.value.rule == "sizing.memory_size"
    with pytest.raises(ValueError):
        hf.size_for_engine(config("gpt2.json"), 8, engine="sglang")
    with pytest.raises(ValueError):
        hf.size_for_engine(config("gpt2.json"), 8, engine="hf", kv_dtype="q9")
    with pytest.raises(fqk.DescriptorError) as raised:
        hf.size_for_engine('{"num_hidden_layers": 2, "num_attention_heads": 1, "hidden_size": 8, '
                           '"layer_types": ["full_attention"]}', 8, engine="hf")
    assert raised.value.rule == "hf_config.layer_types_length"
