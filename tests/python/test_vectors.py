"""The shared descriptor vectors (tests/data/shape_vectors.jsonl) through the Python module.

What tests/test_vectors.cpp asserts of the C++ library, asserted here of fib_quant_kv, vector by vector (the
vector's name is the test id): the parse verdict's kind (a parse error's wording and wire rule are the library's
own and not pinned, but its rule starts with "json." and it has a message); validate() and validate_block_dim()
with kind, rule, message and details exactly; validate_all()'s first error equals validate()'s; to_json() is
the canonical text and parses back to an equal descriptor; the three counts as Python ints, or the overflow
DescriptorError (resource_limit_exceeded, size_overflow); the digest, or validate()'s error; and the FlatBuffers
form: from_flatbuffer(to_flatbuffer()) gives the descriptor back when it is valid, and raises validate()'s
error when it is not.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_vectors.py
"""

import pytest

import fib_quant_kv as fqk
from vectors import load_vectors

VECTORS = load_vectors()
PARSED = [v for v in VECTORS if "canonical" in v]


def by_name(vectors):
    return pytest.mark.parametrize("v", vectors, ids=[v["name"] for v in vectors])


def error_fields(e):
    """The parts of a DescriptorError that the vectors pin, in the vectors' spelling."""
    return {"kind": e.kind.name, "rule": e.rule, "message": e.message, "details": e.details}


def assert_error(e, want, what):
    """A DescriptorError against an expected error dict (rule and message only where the vector pins them)."""
    assert isinstance(e, fqk.DescriptorError), what
    assert isinstance(e, ValueError), what
    got = error_fields(e)
    expected = {"kind": want["kind"], "rule": want["rule"], "message": want["message"],
                "details": want["details"]}
    if want["rule"] is None:
        del got["rule"], expected["rule"]
    if want["message"] is None:
        del got["message"], expected["message"]
    assert got == expected, f"{what}: got {e}"


def assert_verdict(call, want, what):
    """`call()` against a verdict: "ok" (returns None) or the error it must raise."""
    if want == "ok":
        assert call() is None, what
        return
    with pytest.raises(fqk.DescriptorError) as info:
        call()
    assert_error(info.value, want, what)


def test_vector_file():
    assert len(VECTORS) >= 60
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names)), "duplicate vector names"
    for v in VECTORS:
        parse_error = v["verdict"] != "ok" and v["verdict"]["kind"] == "parse"
        assert ("canonical" in v) == (not parse_error), v["name"]
        assert ("digest" in v) == (v["verdict"] == "ok"), v["name"]


@by_name(VECTORS)
def test_parse(v):
    if v["verdict"] != "ok" and v["verdict"]["kind"] == "parse":
        with pytest.raises(fqk.DescriptorError) as info:
            fqk.KvTensorShapeV1.from_json(v["input"])
        e = info.value
        assert_error(e, v["verdict"], "parse")
        assert e.kind == fqk.ErrorKind.parse
        assert e.rule.startswith("json."), e.rule
        assert e.message
        # bytes give the same verdict as str
        with pytest.raises(fqk.DescriptorError) as again:
            fqk.KvTensorShapeV1.from_json(v["input"].encode("utf-8", "surrogatepass"))
        assert error_fields(again.value) == error_fields(e)
        return
    s = fqk.KvTensorShapeV1.from_json(v["input"])
    assert isinstance(s, fqk.KvTensorShapeV1)
    assert fqk.KvTensorShapeV1.from_json(v["input"].encode("utf-8")) == s


@by_name(PARSED)
def test_validate(v):
    s = fqk.KvTensorShapeV1.from_json(v["input"])
    assert_verdict(s.validate, v["verdict"], "validate")
    everything = s.validate_all()
    assert isinstance(everything, list)
    if v["verdict"] == "ok":
        assert everything == []
    else:
        assert everything, "validate_all() is empty for an invalid descriptor"
        assert all(isinstance(e, fqk.DescriptorError) for e in everything)
        with pytest.raises(fqk.DescriptorError) as info:
            s.validate()
        first = everything[0]
        assert error_fields(first) == error_fields(info.value), "validate_all()[0] is validate()'s error"
        assert first.fields == info.value.fields
        assert str(first) == str(info.value)
    if "block_dim" in v:
        assert_verdict(lambda: s.validate_block_dim(v["block_dim"]), v["block_dim_verdict"], "validate_block_dim")


@by_name(PARSED)
def test_canonical_json(v):
    s = fqk.KvTensorShapeV1.from_json(v["input"])
    text = s.to_json()
    assert isinstance(text, str)
    assert text == v["canonical"]
    assert repr(s) == v["canonical"]
    assert fqk.KvTensorShapeV1.from_json(text) == s


@by_name(PARSED)
def test_counts(v):
    s = fqk.KvTensorShapeV1.from_json(v["input"])
    for name in ("vector_count", "element_count", "byte_size"):
        want = v[name]
        if isinstance(want, dict):
            with pytest.raises(fqk.DescriptorError) as info:
                getattr(s, name)
            assert_error(info.value, want, name)
            assert info.value.kind == fqk.ErrorKind.resource_limit_exceeded
            assert info.value.rule == "size_overflow"
        else:
            got = getattr(s, name)
            assert type(got) is int, name
            assert got == want, name


@by_name(PARSED)
def test_digest(v):
    s = fqk.KvTensorShapeV1.from_json(v["input"])
    if "digest" in v:
        d = s.digest()
        assert isinstance(d, str)
        assert d == v["digest"]
        return
    with pytest.raises(fqk.DescriptorError) as info:
        s.digest()
    with pytest.raises(fqk.DescriptorError) as first:
        s.validate()
    assert error_fields(info.value) == error_fields(first.value), "digest's error is validate()'s"


@by_name(PARSED)
def test_flatbuffers_round_trip(v):
    s = fqk.KvTensorShapeV1.from_json(v["input"])
    buf = s.to_flatbuffer()
    assert isinstance(buf, bytes)
    assert buf[4:8] == b"FQKV"
    if v["verdict"] == "ok":
        back = fqk.KvTensorShapeV1.from_flatbuffer(buf)
        assert back == s
        assert back.to_json() == v["canonical"]
        assert back.digest() == v["digest"]
        assert back.to_flatbuffer() == buf
        return
    with pytest.raises(fqk.DescriptorError) as info:
        fqk.KvTensorShapeV1.from_flatbuffer(buf)
    assert_error(info.value, v["verdict"], "from_flatbuffer")
