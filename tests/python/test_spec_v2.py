"""The v2 cache spec in Python (issues 14 and 17): KvCacheSpecV2 and the structs it holds, its enums, JSON
against kvshape, the errors of hostile specs with their paths, compat() against `kvshape compat`, upgrade()
against `kvshape upgrade`, the byte counts, and check_tensor() over numpy arrays and torch tensors, per layer
(transformers) and as paged blocks (vLLM).

Every expected value is worked out here, by formula or written out, not read back from the module.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_spec_v2.py
"""

import copy
import enum
import json
import os
import pickle
import subprocess

import pytest

import fib_quant_kv as fqk

SCHEMA_ID = "fib_quant_kv_cache_spec_v2"
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "specs")


# ---------------------------------------------------------------------------------------------- specs
def hf_spec(**changes):
    """transformers' DynamicCache of a 4-layer GQA model: K and V per layer, [batch, heads, tokens, dim], f16."""
    fields = dict(
        layers=4, batch=2, tokens=10,
        groups=[fqk.KvLayerGroup(layers=[0, 1, 2, 3], attention=fqk.KvLayerAttention.full, kv_heads=2,
                                 key_head_dim=8, value_head_dim=8, rope_state=fqk.KvRopeState.post_rope)],
        storage=fqk.KvStorage(dim_order=[fqk.KvDim.batch, fqk.KvDim.layer, fqk.KvDim.head, fqk.KvDim.token,
                                         fqk.KvDim.dim],
                              packing=fqk.KvPacking.separate, block_size=0, value_layout=fqk.KvValueLayout.rows),
        quant=fqk.KvQuantization(scheme=fqk.KvQuantScheme.none, dtype=fqk.KvDType.f16,
                                 scale_granularity=fqk.KvScaleGranularity.none))
    fields.update(changes)
    return fqk.KvCacheSpecV2(**fields)


HF_JSON = ('{"schema_version":"fib_quant_kv_cache_spec_v2","layers":4,"batch":2,"tokens":10,"groups":[{"layers":'
           '[0,1,2,3],"attention":"full","kv_heads":2,"key_head_dim":8,"value_head_dim":8,"rope_state":"post_rope"}],'
           '"storage":{"dim_order":["batch","layer","head","token","dim"],"packing":"separate","block_size":0,'
           '"value_layout":"rows"},"quant":{"scheme":"none","dtype":"f16","scale_granularity":"none"}}')


def vllm_spec(**changes):
    """vLLM's paged cache of a 2-layer model, layer 0 a sliding window of 16, layer 1 full: per layer one tensor
    [2, blocks, block_size 16, heads 4, dim 16], K and V stacked, written as strings (wire names) this time."""
    fields = dict(
        layers=2, batch=3, tokens=40,
        groups=[fqk.KvLayerGroup(layers=[0], attention="sliding_window", window=16, kv_heads=4, key_head_dim=16,
                                 value_head_dim=16, rope_state="post_rope"),
                fqk.KvLayerGroup(layers=[1], attention="full", kv_heads=4, key_head_dim=16, value_head_dim=16,
                                 rope_state="post_rope")],
        storage=fqk.KvStorage(dim_order=["kv", "block", "token", "head", "dim"], packing="stacked", block_size=16,
                              value_layout="rows"),
        quant=fqk.KvQuantization(scheme="none", dtype="bf16", scale_granularity="none"))
    fields.update(changes)
    return fqk.KvCacheSpecV2(**fields)


def raised(call):
    with pytest.raises(fqk.DescriptorError) as info:
        call()
    return info.value


def group_json(**fields):
    base = dict(layers=[0], attention="full", kv_heads=2, key_head_dim=8, value_head_dim=8, rope_state="post_rope")
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}, separators=(",", ":"))


def spec_json(groups, layers=1, storage=None, quant=None, batch=1, tokens=4):
    storage = storage or ('{"dim_order":["batch","layer","head","token","dim"],"packing":"separate",'
                          '"block_size":0,"value_layout":"rows"}')
    quant = quant or '{"scheme":"none","dtype":"f16","scale_granularity":"none"}'
    return (f'{{"schema_version":"{SCHEMA_ID}","layers":{layers},"batch":{batch},"tokens":{tokens},'
            f'"groups":[{",".join(groups)}],"storage":{storage},"quant":{quant}}}')


# ---------------------------------------------------------------------------------------------- fields and JSON
def test_fields_are_python_values():
    s = vllm_spec()
    assert s.schema_version == SCHEMA_ID == fqk.KV_CACHE_SPEC_V2_SCHEMA_ID
    assert (s.layers, s.batch, s.tokens) == (2, 3, 40)
    assert isinstance(s.groups, list) and len(s.groups) == 2
    g = s.groups[0]
    assert isinstance(g, fqk.KvLayerGroup)
    assert g.layers == [0] and g.attention is fqk.KvLayerAttention.sliding_window and g.window == 16
    assert g.chunk is None and g.kv_lora_rank is None and g.qk_rope_head_dim is None and g.state_bytes is None
    assert s.groups[1].window is None
    assert s.storage.dim_order == [fqk.KvDim.kv, fqk.KvDim.block, fqk.KvDim.token, fqk.KvDim.head, fqk.KvDim.dim]
    assert all(type(d) is fqk.KvDim for d in s.storage.dim_order)
    assert s.storage.packing is fqk.KvPacking.stacked and s.storage.block_size == 16
    assert s.quant.dtype is fqk.KvDType.bf16 and s.quant.scale_dtype is None and s.quant.group_size is None
    assert fqk.KV_CACHE_SPEC_V2_MAX_GROUPS == 256 and fqk.KV_CACHE_SPEC_V2_MAX_LAYERS == 65536


def test_json_written_out():
    s = hf_spec()
    assert s.to_json() == HF_JSON
    assert repr(s) == HF_JSON
    assert fqk.KvCacheSpecV2.from_json(HF_JSON) == s
    assert fqk.KvCacheSpecV2.from_json(HF_JSON.encode()) == s
    assert fqk.KvCacheSpecV2.from_json(bytearray(HF_JSON.encode())) == s
    assert s.groups[0].to_json() == ('{"layers":[0,1,2,3],"attention":"full","kv_heads":2,"key_head_dim":8,'
                                     '"value_head_dim":8,"rope_state":"post_rope"}')
    assert fqk.KvStorage.from_json('{"dim_order":["token","head","dim"],"packing":"separate","block_size":0,'
                                   '"value_layout":"transposed"}').value_layout is fqk.KvValueLayout.transposed
    # an optional field may be null: absent, and left out when written
    q = fqk.KvQuantization.from_json('{"scheme":"none","dtype":"f16","scale_granularity":"none","group_size":null}')
    assert q.group_size is None and "group_size" not in q.to_json()


@pytest.mark.parametrize("name", ["gemma-3-27b.vllm.json", "gemma-3-27b.vllm-fp8.json"])
def test_json_round_trip_is_byte_exact_against_kvshape(kvshape, tmp_path, name):
    path = os.path.join(EXAMPLES, name)
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    s = fqk.KvCacheSpecV2.from_json(text)
    s.validate()
    assert s.to_json() == text
    # The same spec with every object's keys reversed and indented: both read it back to the canonical text.
    def reverse(v):
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in reversed(list(v))}
        return [reverse(x) for x in v] if isinstance(v, list) else v
    reordered = tmp_path / "spec.json"
    reordered.write_text(json.dumps(reverse(json.loads(text)), indent=2))
    assert fqk.KvCacheSpecV2.from_json(reordered.read_text()).to_json() == text
    run = subprocess.run([kvshape, "convert", "--to", "json", str(reordered), "-"], capture_output=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().strip() == s.to_json()
    run = subprocess.run([kvshape, "digest", str(reordered)], capture_output=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().split()[0] == s.digest()


def test_digest_is_hex_and_validates():
    assert len(hf_spec().digest()) == 32
    assert hf_spec().digest() != vllm_spec().digest()
    e = raised(lambda: hf_spec(batch=0).digest())
    assert e.rule == "batch.nonzero"


# ---------------------------------------------------------------------------------------------- counts
def test_bytes_transformers_style():
    s = hf_spec()
    per_token = 4 * 2 * 2 * 8 * 2  # layers * (K, V) * heads * dim * f16 bytes
    assert s.bytes_per_token == per_token == 256
    assert s.bytes_held == 2 * 10 * per_token  # batch * tokens


def test_bytes_paged_with_a_window():
    s = vllm_spec()
    per_layer_token = 2 * 4 * 16 * 2  # (K, V) * heads * dim * bf16 bytes
    assert s.bytes_per_token == 2 * per_layer_token
    blocks_full = -(-40 // 16)  # 3 blocks of 16 for 40 tokens
    blocks_window = -(-16 // 16)  # the window keeps 16
    assert s.bytes_held == 3 * (blocks_full + blocks_window) * 16 * per_layer_token


def test_bytes_fp8_with_tensor_scales():
    s = vllm_spec(quant=fqk.KvQuantization(scheme="fp8_e4m3", dtype="bf16", scale_granularity="tensor",
                                           scale_dtype="f32"))
    per_layer_token = 2 * 4 * 16 * 1
    assert s.bytes_per_token == 2 * per_layer_token
    assert s.bytes_held == 3 * (3 + 1) * 16 * per_layer_token + 2 * 2 * 4  # + a K and a V f32 scale per layer


def test_counts_past_2_64():
    big = 2**32 - 1
    s = hf_spec(layers=1, batch=big, tokens=big,
                groups=[fqk.KvLayerGroup(layers=[0], attention="full", kv_heads=big, key_head_dim=big,
                                         value_head_dim=big, rope_state="post_rope")],
                quant=fqk.KvQuantization(scheme="none", dtype="f32", scale_granularity="none"))
    for count in ("bytes_per_token", "bytes_held"):
        e = raised(lambda: getattr(s, count))
        assert (e.kind, e.rule) == (fqk.ErrorKind.resource_limit_exceeded, "size_overflow")
    assert raised(s.validate).rule == "size_overflow"
    with pytest.raises(OverflowError):
        hf_spec(tokens=2**32)
    with pytest.raises(OverflowError):
        fqk.KvLayerGroup(layers=[0], attention="linear", state_bytes=2**64, kv_heads=0, key_head_dim=0,
                         value_head_dim=0, rope_state="not_applicable")
    g = fqk.KvLayerGroup(layers=[0], attention="linear", state_bytes=2**64 - 1, kv_heads=0, key_head_dim=0,
                         value_head_dim=0, rope_state="not_applicable")
    assert g.state_bytes == 2**64 - 1
    e = raised(lambda: fqk.KvCacheSpecV2.from_json(spec_json([group_json()]).replace('"tokens":4',
                                                                                       '"tokens":18446744073709551616')))
    assert (e.kind, e.rule, e.path) == (fqk.ErrorKind.parse, "json.invalid_value", "tokens")


# ---------------------------------------------------------------------------------------------- FlatBuffers
def test_flatbuffer_round_trip_and_bytes_like_inputs():
    s = vllm_spec()
    b = s.to_flatbuffer()
    assert isinstance(b, bytes) and b[4:8] == b"FQK2"  # the file identifier at bytes 4..8, as FlatBuffers puts it
    assert fqk.KvCacheSpecV2.from_flatbuffer(b) == s
    assert fqk.KvCacheSpecV2.from_flatbuffer(bytearray(b)) == s
    assert fqk.KvCacheSpecV2.from_flatbuffer(memoryview(b)) == s
    odd = bytearray(b"x") + bytearray(b)  # a view at an odd address: read from an aligned copy
    assert fqk.KvCacheSpecV2.from_flatbuffer(memoryview(odd)[1:]) == s
    # absent stays absent: the full group has no window, in the buffer too
    assert fqk.KvCacheSpecV2.from_flatbuffer(b).groups[1].window is None


def test_flatbuffer_equals_kvshape_convert(kvshape, tmp_path):
    s = vllm_spec()
    src = tmp_path / "spec.json"
    src.write_text(s.to_json())
    out = tmp_path / "spec.fqk2"
    run = subprocess.run([kvshape, "convert", "--to", "fb", str(src), str(out)], capture_output=True)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == s.to_flatbuffer()


def test_flatbuffer_errors():
    b = vllm_spec().to_flatbuffer()
    e = raised(lambda: fqk.KvCacheSpecV2.from_flatbuffer(b[:-8]))  # cut short
    assert e.kind == fqk.ErrorKind.parse
    e = raised(lambda: fqk.KvCacheSpecV2.from_flatbuffer(b[:4] + b"FQKV" + b[8:]))  # v1's identifier
    assert (e.kind, e.rule) == (fqk.ErrorKind.parse, "flatbuffers.identifier")
    # Well-formed but invalid: the rule's own error, with its path, as validate() gives it.
    bad = vllm_spec(groups=[vllm_spec().groups[1].replace(layers=[1]),
                            vllm_spec().groups[0].replace(layers=[0], window=0)])
    e = raised(lambda: fqk.KvCacheSpecV2.from_flatbuffer(bad.to_flatbuffer()))
    assert (e.kind, e.rule, e.path) == (fqk.ErrorKind.corrupt_payload, "group.window.nonzero", "groups[1].window")
    with pytest.raises(TypeError):
        fqk.KvCacheSpecV2.from_flatbuffer("not bytes")


# ---------------------------------------------------------------------------------------------- hostile specs
def test_window_zero_names_its_path():
    s = vllm_spec(groups=[vllm_spec().groups[1].replace(layers=[1]),
                          vllm_spec().groups[0].replace(layers=[0], window=0)])
    e = raised(s.validate)
    assert (e.kind, e.rule, e.path) == (fqk.ErrorKind.corrupt_payload, "group.window.nonzero", "groups[1].window")
    assert e.fields == ("window",) and e.message == "a window must be > 0"
    assert str(e) == "corrupt_payload [group.window.nonzero] (groups[1].window): a window must be > 0"
    assert [x.rule for x in s.validate_all()] == ["group.window.nonzero"]


def test_lone_surrogate_escape_is_a_descriptor_error():
    # RapidJSON decodes "\udddd" to bytes that are not UTF-8; the reader refuses it rather than let them reach a
    # message (which Python could not decode: UnicodeDecodeError instead of DescriptorError).
    for text in ['{"schema_version":"fib_quant_kv_cache_spec_v2","layers":"\\udddd"}',
                 b'{"schema_version":"fib_quant_kv_cache_spec_v2","\\udc00":1}']:
        e = raised(lambda: fqk.KvCacheSpecV2.from_json(text))
        assert (e.kind, e.rule, e.message) == (fqk.ErrorKind.parse, "json.syntax",
                                              "invalid JSON: lone surrogate in a \\u escape")


def test_window_zero_from_json():
    text = spec_json([group_json(attention="sliding_window", window=0)])
    e = raised(fqk.KvCacheSpecV2.from_json(text).validate)
    assert (e.rule, e.path) == ("group.window.nonzero", "groups[0].window")


def test_mla_group_with_two_heads():
    mla = fqk.KvLayerGroup(layers=[0], attention="mla", kv_lora_rank=512, qk_rope_head_dim=64, kv_heads=2,
                           key_head_dim=576, value_head_dim=0, rope_state="post_rope")
    e = raised(mla.validate)
    assert (e.rule, e.path, e.message) == ("group.mla.single_head", "kv_heads",
                                           "an mla group holds one latent head, not 2")
    e = raised(hf_spec(layers=1, groups=[mla]).validate)
    assert (e.kind, e.rule, e.path) == (fqk.ErrorKind.corrupt_payload, "group.mla.single_head", "groups[0].kv_heads")


def test_permutation_with_a_repeat():
    storage = fqk.KvStorage(dim_order=["batch", "layer", "head", "token", "dim", "dim"], packing="separate",
                            block_size=0, value_layout="rows")
    e = raised(hf_spec(storage=storage).validate)
    assert (e.rule, e.path, e.message) == ("storage.dim_order.permutation", "storage.dim_order",
                                           "storage dim_order names a dimension twice")


def test_groups_past_256():
    groups = [group_json(layers=[i]) for i in range(257)]
    e = raised(lambda: fqk.KvCacheSpecV2.from_json(spec_json(groups, layers=257)))
    assert (e.kind, e.rule, e.path) == (fqk.ErrorKind.parse, "json.invalid_length", "groups")
    assert e.message.endswith("invalid length 257, expected at most 256 items")
    g = hf_spec().groups[0]
    with pytest.raises(ValueError, match="at most 256"):
        hf_spec(groups=[g] * 257)
    # 256 is the bound: read, and then only the partition rule has something to say
    s = fqk.KvCacheSpecV2.from_json(spec_json([group_json(layers=[i]) for i in range(256)], layers=256))
    assert len(s.groups) == 256
    s.validate()


def test_json_errors_name_the_path():
    e = raised(lambda: fqk.KvCacheSpecV2.from_json(spec_json([group_json(), group_json(attention="diagonal")])))
    assert (e.kind, e.rule, e.path) == (fqk.ErrorKind.parse, "json.unknown_variant", "groups[1].attention")
    e = raised(lambda: fqk.KvCacheSpecV2.from_json(spec_json([group_json(kv_heads=None)])))
    assert (e.rule, e.path) == ("json.missing_field", "groups[0]")
    e = raised(lambda: fqk.KvCacheSpecV2.from_json("{"))
    assert e.rule == "json.syntax" and e.offset is not None


def test_constructor_types():
    with pytest.raises(TypeError):
        hf_spec(groups=[hf_spec().storage])  # not a KvLayerGroup
    with pytest.raises(TypeError):
        hf_spec(groups=hf_spec().groups[0])  # not a list
    with pytest.raises(TypeError):
        fqk.KvStorage(dim_order=["token", "head", 5], packing="separate", block_size=0, value_layout="rows")
    with pytest.raises(ValueError, match="at most 7"):
        fqk.KvStorage(dim_order=["token"] * 8, packing="separate", block_size=0, value_layout="rows")
    with pytest.raises(ValueError):
        fqk.KvQuantization(scheme="q9_9", dtype="f16", scale_granularity="none")
    with pytest.raises(TypeError):
        fqk.KvQuantization(fqk.KvQuantScheme.none, "f16", "none")  # keywords only
    with pytest.raises(TypeError):
        hf_spec(layers=True)


def test_immutable_replace_eq_hash_copy_pickle():
    s = vllm_spec()
    with pytest.raises(AttributeError):
        s.layers = 3
    t = s.replace(tokens=41)
    assert t.tokens == 41 and s.tokens == 40 and t != s
    assert s.replace() == s and hash(s.replace()) == hash(s)
    assert copy.copy(s) == s and copy.deepcopy(s) == s
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for obj in (s, s.groups[0], s.storage, s.quant):
            back = pickle.loads(pickle.dumps(obj, protocol))
            assert back == obj and type(back) is type(obj)
    with pytest.raises(TypeError):
        s.replace(nothing=1)
    match s.groups[0]:
        case fqk.KvLayerGroup(layers, attention, window):
            assert (layers, attention, window) == ([0], fqk.KvLayerAttention.sliding_window, 16)


# ---------------------------------------------------------------------------------------------- enums
V2_ENUMS = {
    fqk.KvLayerAttention: ["full", "sliding_window", "chunked_local", "mla", "linear"],
    fqk.KvDim: ["kv", "layer", "block", "token", "head", "dim", "batch"],
    fqk.KvPacking: ["separate", "stacked"],
    fqk.KvValueLayout: ["rows", "transposed"],
    fqk.KvScaleGranularity: ["none", "tensor", "head", "token", "group"],
}


@pytest.mark.parametrize("cls", list(V2_ENUMS))
def test_v2_enums_are_int_enums_in_schema_order(cls):
    assert issubclass(cls, enum.IntEnum) and cls.__module__ == fqk.KvDType.__module__
    assert [m.name for m in cls] == V2_ENUMS[cls]
    assert [int(m) for m in cls] == list(range(len(V2_ENUMS[cls])))
    for m in cls:
        assert cls(m.name) is m and cls[m.name] is m and cls(m.code) is m and cls.from_wire_name(m.wire_name) is m
        assert pickle.loads(pickle.dumps(m)) is m


def test_quant_scheme_enum_and_attributes():
    S = fqk.KvQuantScheme
    assert S("q8_0") is S.q8_0 and S["q8_0"] is S.q8_0 and S(5) is S.q8_0 and S.q8_0 == 5
    assert (S.q8_0.block_elems, S.q8_0.block_bytes, S.q8_0.ggml_type) == (32, 34, "Q8_0")
    assert (S.q4_k.block_elems, S.q4_k.block_bytes, S.q4_k.ggml_type) == (256, 144, "Q4_K")
    assert (S.none.block_elems, S.none.block_bytes, S.none.ggml_type) == (1, 0, None)
    assert (S.iq4_nl.code, S.iq4_nl.block_bytes) == (16, 18)
    assert list(S)[:3] == [S.none, S.fp8_e4m3, S.fp8_e5m2]
    with pytest.raises(ValueError):
        S("q9_9")
    assert pickle.loads(pickle.dumps(S.q4_0, 0)) is S.q4_0


def test_shared_enums_are_v1s_objects():
    s = hf_spec()
    assert s.quant.dtype is fqk.KvDType.f16
    assert s.groups[0].rope_state is fqk.KvRopeState.post_rope
    assert type(s.groups[0].rope_state) is type(fqk.KvTensorShapeV1.from_json(
        '{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,'
        '"layers":1,"kv_heads":1,"query_heads":1,"tokens":1,"head_dim":1,"dtype":"f16","rope_state":"pre_rope"}'
    ).rope_state)
    names = [n for n in dir(fqk) if n in ("KvDType", "KvRole", "KvRopeState")]
    assert sorted(names) == ["KvDType", "KvRole", "KvRopeState"]
    with pytest.raises(TypeError):  # another enum's member is not a KvDType
        fqk.KvQuantization(scheme="none", dtype=fqk.KvRole.key, scale_granularity="none")


# ---------------------------------------------------------------------------------------------- compat, upgrade
def v1(**changes):
    fields = dict(role=fqk.KvRole.key, attention_kind=fqk.KvAttentionKind.gqa, batch=2, layers=4, kv_heads=2,
                  query_heads=8, tokens=10, head_dim=8, dtype=fqk.KvDType.f16, rope_state=fqk.KvRopeState.post_rope)
    fields.update(changes)
    return fqk.KvTensorShapeV1(**fields)


def test_upgrade_from_v1():
    assert fqk.KvCacheSpecV2.upgrade(v1()) == hf_spec()
    value = fqk.KvCacheSpecV2.upgrade(v1(role="value", rope_state="not_applicable"), value_key_rope="pre_rope")
    assert value.groups[0].rope_state is fqk.KvRopeState.pre_rope
    e = raised(lambda: fqk.KvCacheSpecV2.upgrade(v1(batch=0)))
    assert e.rule == "batch.nonzero"
    with pytest.raises(TypeError):
        fqk.KvCacheSpecV2.upgrade(hf_spec())


def test_upgrade_equals_kvshape_upgrade(kvshape, tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(v1().to_json())
    run = subprocess.run([kvshape, "upgrade", str(path)], capture_output=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().strip() == fqk.KvCacheSpecV2.upgrade(v1()).to_json() == HF_JSON


def test_compat():
    a = vllm_spec()
    assert a.compat(a) == []
    assert a.compat(a.replace(tokens=80, batch=4)) == []  # a reader holding more is fine
    b = a.replace(tokens=20, storage=a.storage.replace(block_size=32),
                  groups=[a.groups[0].replace(window=None, attention="full"), a.groups[1]])
    assert a.compat(b) == [("tokens", "40", "20"), ("groups[0].attention", '"sliding_window"', '"full"'),
                           ("groups[0].window", "16", "absent"), ("storage.block_size", "16", "32")]
    swapped = a.replace(groups=[a.groups[0].replace(layers=[1]), a.groups[1].replace(layers=[0])])
    assert a.compat(swapped) == [("groups[0].layers", "[0]", "[1]"), ("groups[1].layers", "[1]", "[0]")]
    e = raised(lambda: a.compat(a.replace(batch=0)))
    assert e.rule == "batch.nonzero"


def test_compat_equals_kvshape_compat(kvshape, tmp_path):
    a = vllm_spec()
    b = a.replace(tokens=20, quant=fqk.KvQuantization(scheme="fp8_e5m2", dtype="bf16", scale_granularity="head",
                                                      scale_dtype="f32"),
                  groups=[a.groups[0].replace(window=8), a.groups[1].replace(kv_heads=8)])
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(a.to_json())
    pb.write_text(b.to_json())
    run = subprocess.run([kvshape, "compat", str(pa), str(pb)], capture_output=True)
    assert run.returncode == 1, run.stderr
    lines = [f"{p}: {x} -> {y}" for p, x, y in a.compat(b)]
    assert run.stdout.decode().splitlines() == lines
    assert len(lines) == 6  # tokens, window, kv_heads, scheme, scale_granularity, scale_dtype
    run = subprocess.run([kvshape, "compat", str(pa), str(pa)], capture_output=True)
    assert run.returncode == 0 and run.stdout == b"" and a.compat(a) == []


# ---------------------------------------------------------------------------------------------- stored tensors
def test_stored_tensors():
    K, V, D = fqk.KvRole.key, fqk.KvRole.value, fqk.KvDim
    assert hf_spec().stored_tensors(0) == [(K, (D.batch, D.head, D.token, D.dim), (2, 2, 10, 8)),
                                           (V, (D.batch, D.head, D.token, D.dim), (2, 2, 10, 8))]
    s = vllm_spec()
    dims = (D.kv, D.block, D.token, D.head, D.dim)
    assert s.stored_tensors(1) == [(None, dims, (2, 3 * 3, 16, 4, 16))]  # 3 sequences of 3 blocks
    assert s.stored_tensors(0) == [(None, dims, (2, 3 * 1, 16, 4, 16))]  # the window: 1 block each
    assert s.stored_tensors(7) == []


# ---------------------------------------------------------------------------------------------- check_tensor
np = pytest.importorskip("numpy")


def mismatch(call):
    e = raised(call)
    assert e.kind == fqk.ErrorKind.tensor_mismatch
    return e


def test_numpy_per_layer():
    s = hf_spec()
    t = np.zeros((2, 2, 10, 8), np.float16)
    for layer in range(4):
        s.check_tensor(t, layer=layer, role=fqk.KvRole.key)
        s.check_tensor(t, layer=layer, role="value")
    assert mismatch(lambda: s.check_tensor(np.zeros((2, 2, 11, 8), np.float16), layer=0, role="key")).rule == \
        "tensor.shape"
    e = mismatch(lambda: s.check_tensor(np.zeros((2, 2, 10, 8), np.float32), layer=0, role="key"))
    assert e.rule == "tensor.dtype" and e.fields == ("quant.dtype",)


def test_numpy_transposed_view_refused():
    s = hf_spec(groups=[hf_spec().groups[0].replace(key_head_dim=10, value_head_dim=10)])
    t = np.zeros((2, 2, 10, 10), np.float16)
    s.check_tensor(t, layer=0, role="key")
    view = t.transpose(0, 1, 3, 2)  # the right shape, channels and tokens swapped
    assert view.shape == t.shape
    e = mismatch(lambda: s.check_tensor(view, layer=0, role="key"))
    assert e.rule == "tensor.strides"
    s.check_tensor(np.ascontiguousarray(view), layer=0, role="key")


def test_transposed_value_layout():
    s = hf_spec(storage=hf_spec().storage.replace(value_layout="transposed"),
                groups=[hf_spec().groups[0].replace(value_head_dim=6)])
    s.check_tensor(np.zeros((2, 2, 10, 8), np.float16), layer=1, role="key")
    s.check_tensor(np.zeros((2, 2, 6, 10), np.float16), layer=1, role="value")  # a row of tokens per channel
    mismatch(lambda: s.check_tensor(np.zeros((2, 2, 10, 6), np.float16), layer=1, role="value"))


def test_paged_blocks_numpy():
    s = vllm_spec()
    bf16_bits = np.uint16  # numpy has no bfloat16: its raw bits
    s.check_tensor(np.zeros((2, 9, 16, 4, 16), bf16_bits), layer=1)
    s.check_tensor(np.zeros((2, 3, 16, 4, 16), bf16_bits), layer=0)
    s.check_tensor(np.zeros((2, 100, 16, 4, 16), bf16_bits), layer=1)  # an engine's pool holds more pages
    e = mismatch(lambda: s.check_tensor(np.zeros((2, 8, 16, 4, 16), bf16_bits), layer=1))  # too few
    assert e.rule == "tensor.shape" and "block" in e.fields
    mismatch(lambda: s.check_tensor(np.zeros((2, 9, 8, 4, 16), bf16_bits), layer=1))  # not block_size tokens
    with pytest.raises(ValueError, match="stacked"):
        s.check_tensor(np.zeros((2, 9, 16, 4, 16), bf16_bits), layer=1, role="key")


def test_quantized_tensors_numpy():
    s = vllm_spec(quant=fqk.KvQuantization(scheme="q8_0", dtype="f16", scale_granularity="none"),
                  groups=[g.replace(key_head_dim=64, value_head_dim=64) for g in vllm_spec().groups])
    s.check_tensor(np.zeros((2, 9, 16, 4, 64 // 32 * 34), np.uint8), layer=1)  # rows of whole Q8_0 blocks
    mismatch(lambda: s.check_tensor(np.zeros((2, 9, 16, 4, 64), np.uint8), layer=1))
    fp8 = vllm_spec(quant=fqk.KvQuantization(scheme="fp8_e4m3", dtype="bf16", scale_granularity="tensor",
                                             scale_dtype="f32"))
    fp8.check_tensor(np.zeros((2, 9, 16, 4, 16), np.uint8), layer=1)  # numpy has no fp8: raw bits
    e = mismatch(lambda: fp8.check_tensor(np.zeros((2, 9, 16, 4, 16), np.int8), layer=1))
    assert e.fields == ("quant.scheme",)
    int8 = fp8.replace(quant=fp8.quant.replace(scheme="int8"))
    int8.check_tensor(np.zeros((2, 9, 16, 4, 16), np.int8), layer=1)


def test_check_tensor_arguments():
    s = hf_spec()
    t = np.zeros((2, 2, 10, 8), np.float16)
    with pytest.raises(ValueError, match="role"):
        s.check_tensor(t, layer=0)
    with pytest.raises(IndexError):
        s.check_tensor(t, layer=4, role="key")
    with pytest.raises(TypeError):
        s.check_tensor(t, role="key")  # layer is required
    with pytest.raises(TypeError):
        s.check_tensor([[1.0]], layer=0, role="key")
    assert raised(lambda: s.replace(batch=0).check_tensor(t, layer=0, role="key")).rule == "batch.nonzero"
    linear = fqk.KvLayerGroup(layers=[1], attention="linear", state_bytes=4096, kv_heads=0, key_head_dim=0,
                              value_head_dim=0, rope_state="not_applicable")
    s2 = hf_spec(layers=2, groups=[hf_spec().groups[0].replace(layers=[0]), linear])
    s2.validate()
    with pytest.raises(ValueError, match="linear"):
        s2.check_tensor(t, layer=1, role="key")
    mla = fqk.KvLayerGroup(layers=[0], attention="mla", kv_lora_rank=12, qk_rope_head_dim=4, kv_heads=1,
                           key_head_dim=16, value_head_dim=0, rope_state="post_rope")
    s3 = hf_spec(layers=1, groups=[mla])
    s3.check_tensor(np.zeros((2, 1, 10, 16), np.float16), layer=0, role="key")
    s3.check_tensor(np.zeros((2, 1, 10, 16), np.float16), layer=0)
    with pytest.raises(ValueError, match="MLA"):
        s3.check_tensor(np.zeros((2, 1, 10, 16), np.float16), layer=0, role="value")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_torch_per_layer_and_transposed(torch):
    s = hf_spec(groups=[hf_spec().groups[0].replace(key_head_dim=10, value_head_dim=10)])
    t = torch.zeros((2, 2, 10, 10), dtype=torch.float16)
    s.check_tensor(t, layer=3, role="value")
    assert mismatch(lambda: s.check_tensor(t.transpose(2, 3), layer=3, role="value")).rule == "tensor.strides"
    assert mismatch(lambda: s.check_tensor(t.float(), layer=3, role="value")).rule == "tensor.dtype"


def test_torch_paged_blocks(torch):
    s = vllm_spec()
    cache = torch.zeros((2, 12, 16, 4, 16), dtype=torch.bfloat16)  # vLLM's per-layer [2, blocks, 16, heads, dim]
    s.check_tensor(cache, layer=0)
    s.check_tensor(cache, layer=1)
    mismatch(lambda: s.check_tensor(cache[:, :8], layer=1))
    assert mismatch(lambda: s.check_tensor(cache.to(torch.float16), layer=1)).rule == "tensor.dtype"


def test_torch_fp8(torch):
    s = vllm_spec(quant=fqk.KvQuantization(scheme="fp8_e4m3", dtype="bf16", scale_granularity="tensor",
                                           scale_dtype="f32"))
    shape = (2, 9, 16, 4, 16)
    if hasattr(torch, "float8_e4m3fn"):
        s.check_tensor(torch.zeros(shape, dtype=torch.float8_e4m3fn), layer=1)
        assert mismatch(lambda: s.check_tensor(torch.zeros(shape, dtype=torch.uint8), layer=1)).rule == \
            "tensor.dtype"
    else:
        # This torch (Debian's) has no float8 dtypes: an fp8 cache can only be its raw bits, as vLLM keeps it.
        s.check_tensor(torch.zeros(shape, dtype=torch.uint8), layer=1)
    assert mismatch(lambda: s.check_tensor(torch.zeros(shape, dtype=torch.int8), layer=1)).rule == "tensor.dtype"


# ---------------------------------------------------------------------------------------------- hostile calls
HOSTILE = r'''
import pickle
import fib_quant_kv as fqk
S = fqk.KvCacheSpecV2
good = S.from_json(open(__import__("sys").argv[1]).read())
calls = [
    lambda: S.from_json("[" * 100000),
    lambda: S.from_json('{"groups":' + "[" * 80 + "]" * 80 + "}"),
    lambda: S.from_json(b"\xff\xfe{"),
    lambda: S.from_json("\ud800"),
    lambda: S.from_json(None),
    lambda: fqk.KvLayerGroup.from_json('{"layers":' + str(list(range(70000))) + "}"),
    lambda: fqk.KvStorage.from_json('{"dim_order":["kv","kv","kv","kv","kv","kv","kv","kv"]}'),
    lambda: S.__new__(S).to_json(),
    lambda: S.__new__(S).check_tensor(None, layer=0),
    lambda: good.replace(groups=[None]),
    lambda: good.replace(groups=[good]),
    lambda: good.replace(storage=good.quant),
    lambda: good.replace(layers=-1),
    lambda: good.replace(tokens=2**70),
    lambda: good.check_tensor(None, layer=0),
    lambda: good.check_tensor(object(), layer=2**40),
    lambda: good.check_tensor(type("T", (), {"shape": 5, "dtype": "x"})(), layer=0),
    lambda: good.check_tensor(type("T", (), {"shape": (1, 2), "dtype": "x"})(), layer=5),
    lambda: good.stored_tensors(-1),
    lambda: good.compat(None),
    lambda: good.compat(good.groups[0]),
    lambda: S.upgrade(None),
    lambda: pickle.loads(pickle.dumps(good).replace(b"fib_quant_kv_cache_spec_v2", b"fib_quant_kv_cache_spec_v9")).validate(),
    lambda: S.__setstate__(good, ("{}",)),
    lambda: good.replace(groups=[good.groups[0]] * 300),
]
kinds = set()
for call in calls:
    try:
        call()
        kinds.add("none")
    except (ValueError, TypeError, OverflowError, IndexError, RuntimeError) as e:
        kinds.add(type(e).__name__)
print("survived", len(calls))
'''


def test_hostile_calls_raise_and_never_crash(fqk_python):
    run = subprocess.run([fqk_python, "-c", HOSTILE, os.path.join(EXAMPLES, "gemma-3-27b.vllm.json")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "survived 25"
