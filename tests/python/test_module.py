"""The API of the Python module fib_quant_kv (issue 7, item 1), as a user meets it.

Construction by keyword (schema_version defaults, enums as members or wire names, no positional arguments);
TypeError for a wrong type and OverflowError for an integer out of range; DescriptorError (a ValueError) and its
attributes; the enums; ==, hash, repr, copy, pickle and replace(); immutability; from_json() over str, bytes and
bytearray, the array form and the enum map form; from_flatbuffer() over every kind of buffer, and over truncated
and garbage ones; the digest against `kvshape digest`; counts as Python ints at their limits; the .pyi stub
against the runtime module; and a batch of hostile calls in a subprocess that must exit normally.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_module.py
"""

import ast
import copy
import enum
import inspect
import mmap
import os
import pickle
import subprocess

import pytest

import fib_quant_kv as fqk

SCHEMA_ID = "fib_quant_kv_tensor_shape_v1"
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

# The README's example, by keyword, enums as members.
FIELDS = dict(role=fqk.KvRole.key, attention_kind=fqk.KvAttentionKind.gqa, batch=1, layers=32, kv_heads=8,
              query_heads=32, tokens=8192, head_dim=128, dtype=fqk.KvDType.bf16,
              rope_state=fqk.KvRopeState.post_rope)
CANONICAL = ('{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,'
             '"layers":32,"kv_heads":8,"query_heads":32,"tokens":8192,"head_dim":128,"dtype":"bf16",'
             '"rope_state":"post_rope"}')
INT_FIELDS = ["batch", "layers", "kv_heads", "query_heads", "tokens", "head_dim"]
ENUM_FIELDS = {"role": fqk.KvRole, "attention_kind": fqk.KvAttentionKind, "dtype": fqk.KvDType,
               "rope_state": fqk.KvRopeState}


def make(**changes):
    return fqk.KvTensorShapeV1(**{**FIELDS, **changes})


def raised(call):
    """The DescriptorError `call()` raises."""
    with pytest.raises(fqk.DescriptorError) as info:
        call()
    return info.value


# ---------------------------------------------------------------------------------------------- construction
def test_keyword_construction():
    s = make()
    assert s.schema_version == SCHEMA_ID == fqk.KV_TENSOR_SHAPE_V1_SCHEMA_ID
    assert s.role == fqk.KvRole.key
    assert s.attention_kind == fqk.KvAttentionKind.gqa
    assert (s.batch, s.layers, s.kv_heads, s.query_heads, s.tokens, s.head_dim) == (1, 32, 8, 32, 8192, 128)
    assert s.dtype == fqk.KvDType.bf16
    assert s.rope_state == fqk.KvRopeState.post_rope
    assert s.to_json() == CANONICAL
    assert s.validate() is None
    assert s.tensor_shape == (1, 32, 8, 8192, 128)
    assert s.__match_args__ == ("schema_version", "role", "attention_kind", "batch", "layers", "kv_heads",
                                "query_heads", "tokens", "head_dim", "dtype", "rope_state")


def test_enums_by_wire_name():
    s = make(role="key", attention_kind="gqa", dtype="bf16", rope_state="post_rope")
    assert s == make()
    assert s.role == fqk.KvRole.key
    assert make(schema_version=SCHEMA_ID) == make()


def test_schema_version_is_kept_not_validated_at_construction():
    s = make(schema_version="other")
    assert s.schema_version == "other"
    e = raised(s.validate)
    assert e.rule == "schema_version.matches"


def test_unknown_wire_name_is_a_value_error():
    with pytest.raises(ValueError) as info:
        make(role="Key")
    assert not isinstance(info.value, fqk.DescriptorError)
    assert str(info.value) == "KvTensorShapeV1.role: 'Key' is not a KvRole (one of key, value)"


def test_positional_arguments_refused():
    with pytest.raises(TypeError):
        fqk.KvTensorShapeV1(SCHEMA_ID, "key", "gqa", 1, 32, 8, 32, 8192, 128, "bf16", "post_rope")
    with pytest.raises(TypeError):
        fqk.KvTensorShapeV1("key", **{k: v for k, v in FIELDS.items() if k != "role"})


def test_missing_or_unknown_keyword_refused():
    with pytest.raises(TypeError):
        fqk.KvTensorShapeV1(**{k: v for k, v in FIELDS.items() if k != "batch"})
    with pytest.raises(TypeError):
        make(bogus=1)
    with pytest.raises(TypeError):
        fqk.KvTensorShapeV1()


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", ["1", 1.0, True, False, None, b"1", [1], fqk.KvRole.value,
                                   enum.IntEnum("Heads", "one two").two],
                         ids=["str", "float", "True", "False", "None", "bytes", "list", "schema enum", "IntEnum"])
def test_int_field_wrong_type(field, value):
    with pytest.raises(TypeError) as info:
        make(**{field: value})
    assert f"KvTensorShapeV1.{field}: expected int" in str(info.value)


def test_int_field_takes_what_says_it_is_an_integer():
    numpy = pytest.importorskip("numpy")
    assert make(batch=numpy.uint32(3)).batch == 3
    assert make(batch=type("Count", (int,), {})(7)).batch == 7


@pytest.mark.parametrize("field", list(ENUM_FIELDS))
def test_enum_field_wrong_type(field):
    other = fqk.KvRole.key if field != "role" else fqk.KvDType.bf16  # a member of another enum
    for value in (other, 0, 1.0, None, b"key", True):
        with pytest.raises(TypeError) as info:
            make(**{field: value})
        assert f"KvTensorShapeV1.{field}: expected {ENUM_FIELDS[field].__name__} or its wire name" in str(info.value)


def test_schema_version_wrong_type():
    for value in (1, None, b"fib_quant_kv_tensor_shape_v1", fqk.KvRole.key):
        with pytest.raises(TypeError):
            make(schema_version=value)


@pytest.mark.parametrize("field", INT_FIELDS)
def test_int_field_range(field):
    for bad in (-1, 2**32, 2**64, -(2**64), 2**100):
        with pytest.raises(OverflowError) as info:
            make(**{field: bad})
        assert str(info.value) == f"KvTensorShapeV1.{field}: {bad} is outside 0..{U32_MAX}"
    assert getattr(make(**{field: U32_MAX}), field) == U32_MAX
    assert getattr(make(**{field: 0}), field) == 0


def test_integer_like_objects_accepted():
    class Index:
        def __index__(self):
            return 7

    assert make(batch=Index()).batch == 7
    with pytest.raises(OverflowError):
        make(batch=type("Big", (), {"__index__": lambda self: 2**40})())


def test_validate_block_dim_argument():
    s = make()
    assert s.validate_block_dim(32) is None
    assert s.validate_block_dim(block_dim=128) is None
    with pytest.raises(OverflowError):
        s.validate_block_dim(-1)
    with pytest.raises(OverflowError):
        s.validate_block_dim(2**32)
    for bad in ("32", 32.0, None, True):
        with pytest.raises(TypeError):
            s.validate_block_dim(bad)
    e = raised(lambda: s.validate_block_dim(48))
    assert e.kind == fqk.ErrorKind.dimension_not_divisible
    assert e.details == {"ambient_dim": 128, "block_dim": 48}


# ---------------------------------------------------------------------------------------------- errors
def test_descriptor_error_is_a_value_error():
    assert issubclass(fqk.DescriptorError, ValueError)
    assert fqk.DescriptorError.__module__ == "fib_quant_kv"
    assert fqk.DescriptorError.__name__ == "DescriptorError"


def test_rule_error_attributes():
    e = raised(make(attention_kind="mha").validate)
    assert isinstance(e, ValueError)
    assert e.kind == fqk.ErrorKind.corrupt_payload
    assert e.rule == "mha.heads_equal"
    assert e.fields == ("query_heads", "kv_heads")
    assert e.message == "MHA requires query_heads == kv_heads"
    assert e.details == {}
    assert e.offset is None
    assert str(e) == "corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires query_heads == kv_heads"
    assert e.args == (str(e),)


def test_block_dim_error_attributes():
    e = raised(lambda: make(head_dim=80).validate_block_dim(32))
    assert e.kind == fqk.ErrorKind.dimension_not_divisible
    assert e.details == {"ambient_dim": 80, "block_dim": 32}
    assert type(e.details["ambient_dim"]) is int
    assert e.offset is None
    assert isinstance(e.fields, tuple)
    assert str(e).startswith("dimension_not_divisible [")


def test_parse_error_attributes():
    e = raised(lambda: fqk.KvTensorShapeV1.from_json('{"schema_version":1}'))
    assert e.kind == fqk.ErrorKind.parse
    assert e.rule.startswith("json.")
    assert isinstance(e.fields, tuple)
    assert type(e.offset) is int and 0 <= e.offset <= len('{"schema_version":1}')
    assert str(e).endswith(f" (at byte {e.offset})")
    assert str(e).startswith(f"parse [{e.rule}]")
    assert e.message in str(e)
    missing = raised(lambda: fqk.KvTensorShapeV1.from_json(CANONICAL.replace('"batch":1,', "")))
    assert missing.rule == "json.missing_field"
    assert missing.fields == ("batch",)


def test_validate_all():
    assert make().validate_all() == []
    bad = make(batch=0, attention_kind="mha", role="value")  # batch, MHA heads, value's rope state
    errors = bad.validate_all()
    assert [e.rule for e in errors] == ["batch.nonzero", "mha.heads_equal", "value.rope_not_applicable"]
    assert all(isinstance(e, fqk.DescriptorError) for e in errors)
    assert all(e.kind == fqk.ErrorKind.corrupt_payload for e in errors)
    assert raised(bad.validate).rule == "batch.nonzero"


def test_error_kind_enum():
    assert [(k.name, k.code) for k in fqk.ErrorKind.__members__.values()] == [
        ("parse", 1), ("corrupt_payload", 2), ("dimension_not_divisible", 3), ("resource_limit_exceeded", 4),
        ("tensor_mismatch", 5), ("unsupported", 6), ("io", 7)]


# ---------------------------------------------------------------------------------------------- enums
ENUM_MEMBERS = {
    fqk.KvRole: [("key", 0), ("value", 1)],
    fqk.KvRopeState: [("pre_rope", 0), ("post_rope", 1), ("not_applicable", 2)],
    fqk.KvAttentionKind: [("mha", 0), ("mqa", 1), ("gqa", 2)],
    fqk.KvDType: [("f16", 0), ("bf16", 1), ("f32", 2)],
}


@pytest.mark.parametrize("cls", list(ENUM_MEMBERS), ids=lambda e: e.__name__)
def test_enum_members(cls):
    members = list(cls.__members__.values())
    assert [(m.name, m.code) for m in members] == ENUM_MEMBERS[cls]
    for m in members:
        assert m.wire_name == m.name
        assert type(m.code) is int and int(m) == m.code == m.value
        assert cls.from_code(m.code) is m
        assert cls.from_wire_name(m.wire_name) is m
        assert getattr(cls, m.name) is m
        assert pickle.loads(pickle.dumps(m)) is m
    with pytest.raises(ValueError):
        cls.from_code(len(members))
    with pytest.raises(ValueError):
        cls.from_code(U32_MAX)
    with pytest.raises(OverflowError):
        cls.from_code(-1)
    with pytest.raises(OverflowError):
        cls.from_code(2**32)
    for bad in ("0", 0.0, None, True):
        with pytest.raises(TypeError):
            cls.from_code(bad)
    with pytest.raises(ValueError):
        cls.from_wire_name("nope")
    with pytest.raises(ValueError):
        cls.from_wire_name(members[0].name.upper())
    for bad in (0, None, b"key"):
        with pytest.raises(TypeError):
            cls.from_wire_name(bad)


@pytest.mark.parametrize("cls", [*ENUM_MEMBERS, fqk.ErrorKind], ids=lambda e: e.__name__)
def test_enums_are_python_enums(cls):
    assert issubclass(cls, enum.IntEnum) and issubclass(cls, enum.Enum)
    assert cls.__module__ == "fib_quant_kv._native" and cls.__qualname__ == cls.__name__
    members = list(cls)
    assert [m.name for m in members] == list(cls.__members__)  # iteration in schema order
    assert len(cls) == len(members)
    for m in members:
        assert isinstance(m, cls) and type(m) is cls
        assert cls[m.name] is m                 # lookup by name
        assert cls(m.code) is m                 # lookup by stable code
        assert cls(int(m)) is m and m == m.code
        assert repr(m) == f"<{cls.__name__}.{m.name}: {m.code}>"
        assert copy.copy(m) is m and copy.deepcopy(m) is m
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(m, protocol=protocol)) is m
        assert m.__doc__ and m.__doc__ != cls.__doc__
    with pytest.raises(KeyError):
        cls["nope"]
    with pytest.raises(ValueError):
        cls(max(m.code for m in members) + 1)
    with pytest.raises(AttributeError):
        setattr(cls, members[0].name, members[-1])  # members cannot be reassigned
    with pytest.raises(TypeError):
        class Sub(cls):  # an enum with members cannot be subclassed
            pass


@pytest.mark.parametrize("cls", list(ENUM_MEMBERS), ids=lambda e: e.__name__)
def test_enum_lookup_by_wire_name(cls):
    for m in cls:
        assert cls(m.wire_name) is m            # KvDType("bf16") is KvDType.bf16
    with pytest.raises(ValueError) as info:
        cls("nope")
    assert f"'nope' is not a valid {cls.__name__}" in str(info.value)
    for bad in (None, b"key", 1.5j, "\ud800"):
        with pytest.raises(ValueError):
            cls(bad)


def test_enum_members_in_schema_order():
    assert list(fqk.KvDType) == [fqk.KvDType.f16, fqk.KvDType.bf16, fqk.KvDType.f32]
    assert [m.wire_name for m in fqk.KvRopeState] == ["pre_rope", "post_rope", "not_applicable"]


def test_fields_take_and_return_members():
    s = make(dtype=fqk.KvDType("f32"), role="value", rope_state=fqk.KvRopeState["not_applicable"])
    for field, cls in ENUM_FIELDS.items():
        assert type(getattr(s, field)) is cls
    assert s.dtype is fqk.KvDType.f32 and s.role is fqk.KvRole.value
    assert s.rope_state is fqk.KvRopeState.not_applicable
    assert s.dtype.byte_size * s.element_count == s.byte_size
    back = fqk.KvTensorShapeV1.from_json(s.to_json())
    assert back.dtype is fqk.KvDType.f32
    assert pickle.loads(pickle.dumps(s)).attention_kind is fqk.KvAttentionKind.gqa
    match s:
        case fqk.KvTensorShapeV1(role=fqk.KvRole.value, dtype=fqk.KvDType.f32):
            pass
        case _:
            pytest.fail("match on members")


def test_error_kind_members_from_errors():
    e = raised(make(batch=0).validate)
    assert e.kind is fqk.ErrorKind.corrupt_payload and type(e.kind) is fqk.ErrorKind
    assert fqk.ErrorKind.from_code(7) is fqk.ErrorKind.io
    assert not hasattr(fqk.ErrorKind, "from_wire_name")  # error kinds have no wire form


def test_dtype_attributes():
    d = fqk.KvDType
    assert [(m.byte_size, m.torch_dtype, m.numpy_dtype) for m in (d.f16, d.bf16, d.f32)] == [
        (2, "float16", "float16"), (2, "bfloat16", None), (4, "float32", "float32")]


# ---------------------------------------------------------------------------------------------- value semantics
def test_equality_and_hash():
    a, b = make(), fqk.KvTensorShapeV1.from_json(CANONICAL)
    assert a == b and not (a != b)
    assert hash(a) == hash(b)
    assert a is not b
    c = make(batch=2)
    assert a != c and not (a == c)
    assert a != CANONICAL
    assert a != None  # noqa: E711
    assert len({a, b, c}) == 2
    assert {a: 1}[b] == 1
    # invalid shapes are values too
    assert make(batch=0) == make(batch=0)
    assert hash(make(batch=0)) == hash(make(batch=0))
    assert hash(make(schema_version="x")) == hash(make(schema_version="x"))


def test_repr_is_canonical_json():
    assert repr(make()) == CANONICAL
    assert repr(make(batch=0)) == make(batch=0).to_json()


def test_copy_and_deepcopy():
    s = make()
    for c in (copy.copy(s), copy.deepcopy(s), copy.deepcopy([s, s])[0]):
        assert c == s and type(c) == fqk.KvTensorShapeV1
        assert c.to_json() == CANONICAL


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle(protocol):
    for s in (make(), make(batch=0, schema_version="other \u00e9 \"quoted\""), make(tokens=U32_MAX)):
        back = pickle.loads(pickle.dumps(s, protocol=protocol))
        assert back == s
        assert type(back) == fqk.KvTensorShapeV1
        assert back.to_json() == s.to_json()


def test_pickle_bad_state():
    K = fqk.KvTensorShapeV1
    for state in ((), (b"x", b"y"), (12,), None):
        with pytest.raises(TypeError):
            K.__new__(K).__setstate__(state)
    for state in ((b"{}",), ('{"schema_version":1}',), (b"\xff",)):
        assert raised(lambda: K.__new__(K).__setstate__(state)).kind == fqk.ErrorKind.parse
    # a live descriptor is not changed by __setstate__: still immutable
    s = make()
    s.__setstate__((make(batch=9).to_json().encode(),))
    assert s == make()


def test_new_without_init_reads_as_a_default_value():
    # cls.__new__(cls) skips __init__: what such an object reads is the C++ default value (the schema's id,
    # every enum at code 0, every count 0), not uninitialised memory, so validate() names the first count.
    K = fqk.KvTensorShapeV1
    for _ in range(3):
        s = K.__new__(K)
        assert s.schema_version == "fib_quant_kv_tensor_shape_v1"
        assert (s.role, s.attention_kind, s.dtype, s.rope_state) == (
            fqk.KvRole.key, fqk.KvAttentionKind.mha, fqk.KvDType.f16, fqk.KvRopeState.pre_rope)
        assert (s.batch, s.layers, s.kv_heads, s.query_heads, s.tokens, s.head_dim) == (0, 0, 0, 0, 0, 0)
        assert '"batch":0,' in s.to_json()
        e = raised(s.validate)
        assert (e.kind, e.rule) == (fqk.ErrorKind.corrupt_payload, "batch.nonzero")


def test_replace():
    s = make()
    r = s.replace(batch=4, dtype="f32")
    assert r.batch == 4 and r.dtype == fqk.KvDType.f32
    assert s.batch == 1 and s.dtype == fqk.KvDType.bf16  # unchanged
    assert r == make(batch=4, dtype=fqk.KvDType.f32)
    assert s.replace() == s
    assert s.replace(schema_version="x").schema_version == "x"
    with pytest.raises(TypeError) as info:
        s.replace(bogus=1)
    assert str(info.value) == "replace(): KvTensorShapeV1 has no field 'bogus'"
    with pytest.raises(TypeError):
        s.replace(batch="4")
    with pytest.raises(TypeError):
        s.replace(role=fqk.KvDType.f16)
    with pytest.raises(OverflowError):
        s.replace(batch=-1)
    with pytest.raises(ValueError):
        s.replace(role="nope")
    with pytest.raises(TypeError):
        s.replace(4)


def test_immutable():
    s = make()
    for name in ["schema_version", *INT_FIELDS, *ENUM_FIELDS, "tensor_shape", "vector_count"]:
        with pytest.raises(AttributeError):
            setattr(s, name, getattr(make(), name) if name != "vector_count" else 1)
    with pytest.raises(AttributeError):
        s.batch = 2
    with pytest.raises(AttributeError):
        s.new_attribute = 1
    with pytest.raises(AttributeError):
        del s.batch
    assert s == make()


# ---------------------------------------------------------------------------------------------- from_json
def test_from_json_text_kinds():
    for text in (CANONICAL, CANONICAL.encode(), bytearray(CANONICAL.encode())):
        assert fqk.KvTensorShapeV1.from_json(text) == make()
    assert fqk.KvTensorShapeV1.from_json(text=CANONICAL) == make()


def test_from_json_takes_one_argument_text():
    # from_json of every class, v2's too: one argument, by position or as text=; anything else is a TypeError that
    # names it, and the signature says so.
    classes = [fqk.KvTensorShapeV1, fqk.KvCacheSpecV2, fqk.KvLayerGroup, fqk.KvStorage, fqk.KvQuantization]
    for cls in classes:
        assert str(inspect.signature(cls.from_json)) == "(text)"
        assert isinstance(inspect.getattr_static(cls, "from_json"), staticmethod)
        for call in (lambda: cls.from_json(), lambda: cls.from_json("{}", "{}"), lambda: cls.from_json(txt="{}"),
                     lambda: cls.from_json("{}", text="{}"), lambda: cls.from_json(text="{}", other=1)):
            with pytest.raises(TypeError, match=r"^from_json\(\) takes exactly one argument, text$"):
                call()
    assert fqk.KvTensorShapeV1.from_json(text=CANONICAL.encode()) == make()
    spec = fqk.KvTensorShapeV1.from_json(CANONICAL).to_json()
    assert spec == CANONICAL


def test_from_json_wrong_type():
    for bad in (123, None, 1.5, [CANONICAL], memoryview(CANONICAL.encode()), {"batch": 1}):
        with pytest.raises(TypeError):
            fqk.KvTensorShapeV1.from_json(bad)


def test_from_json_non_ascii_str():
    text = CANONICAL.replace(SCHEMA_ID, "sch\u00e9ma \U0001f600")
    s = fqk.KvTensorShapeV1.from_json(text)
    assert s.schema_version == "sch\u00e9ma \U0001f600"
    assert fqk.KvTensorShapeV1.from_json(text.encode("utf-8")) == s


def test_from_json_lone_surrogate():
    # a str holding a lone surrogate (not an escape) cannot be UTF-8: a parse error, not a crash
    for text in (CANONICAL.replace(SCHEMA_ID, "\ud800"), CANONICAL.replace(SCHEMA_ID, "x\udfff"),
                 "\ud800", CANONICAL[:-1] + ',"extra":"\udc00"}'):
        e = raised(lambda: fqk.KvTensorShapeV1.from_json(text))
        assert e.kind == fqk.ErrorKind.parse
        assert e.message
    # the same bytes (surrogatepass) give the same verdict
    raw = CANONICAL.replace(SCHEMA_ID, "\ud800").encode("utf-8", "surrogatepass")
    assert raised(lambda: fqk.KvTensorShapeV1.from_json(raw)).kind == fqk.ErrorKind.parse
    # an escaped surrogate pair is fine
    pair = fqk.KvTensorShapeV1.from_json(CANONICAL.replace(SCHEMA_ID, "\\ud83d\\ude00"))
    assert pair.schema_version == "\U0001f600"


def test_from_json_invalid_utf8_bytes():
    for raw in (CANONICAL.replace(SCHEMA_ID, "\xff").encode("latin-1"), b"\xff", b"\xc0\x80"):
        assert raised(lambda: fqk.KvTensorShapeV1.from_json(raw)).kind == fqk.ErrorKind.parse


def test_from_json_array_form():
    text = f'["{SCHEMA_ID}","key","gqa",1,32,8,32,8192,128,"bf16","post_rope"]'
    assert fqk.KvTensorShapeV1.from_json(text) == make()
    assert raised(lambda: fqk.KvTensorShapeV1.from_json(text[:text.rindex(",")] + "]")).kind == fqk.ErrorKind.parse


def test_from_json_enum_map_form():
    text = CANONICAL.replace('"role":"key"', '"role":{"key":null}').replace('"dtype":"bf16"', '"dtype":{"bf16":null}')
    assert fqk.KvTensorShapeV1.from_json(text) == make()
    for bad in ('{"key":1}', '{"key":null,"value":null}', "{}", '{"Key":null}'):
        e = raised(lambda: fqk.KvTensorShapeV1.from_json(CANONICAL.replace('"key"', bad)))
        assert e.kind == fqk.ErrorKind.parse


def test_from_json_does_not_validate():
    s = fqk.KvTensorShapeV1.from_json(CANONICAL.replace('"batch":1', '"batch":0'))
    assert s.batch == 0
    assert raised(s.validate).rule == "batch.nonzero"


# ---------------------------------------------------------------------------------------------- from_flatbuffer
def test_to_flatbuffer():
    buf = make().to_flatbuffer()
    assert type(buf) is bytes
    assert buf[4:8] == b"FQKV"
    assert make().to_flatbuffer() == buf


def test_from_flatbuffer_buffer_kinds(tmp_path):
    s = make()
    buf = s.to_flatbuffer()
    kinds = [buf, bytearray(buf), memoryview(buf), memoryview(bytearray(buf)), memoryview(b"x" + buf)[1:],
             memoryview(b"xyz" + buf + b"")[3:], buffer_with_offset(buf, 2)]
    for b in kinds:
        assert fqk.KvTensorShapeV1.from_flatbuffer(b) == s
    assert fqk.KvTensorShapeV1.from_flatbuffer(buffer=buf) == s
    # mmap of a file
    path = tmp_path / "shape.fqkv"
    path.write_bytes(buf)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert fqk.KvTensorShapeV1.from_flatbuffer(m) == s


def buffer_with_offset(buf, offset):
    """A bytearray-backed memoryview of `buf` starting `offset` bytes into its storage (misaligned)."""
    return memoryview(bytearray(b"\0" * offset + buf))[offset:]


def test_from_flatbuffer_numpy():
    np = pytest.importorskip("numpy")
    s = make()
    buf = s.to_flatbuffer()
    arr = np.frombuffer(buf, dtype=np.uint8)
    assert fqk.KvTensorShapeV1.from_flatbuffer(arr) == s
    assert fqk.KvTensorShapeV1.from_flatbuffer(arr.copy()) == s
    shifted = np.zeros(len(buf) + 1, dtype=np.uint8)
    shifted[1:] = arr
    assert fqk.KvTensorShapeV1.from_flatbuffer(shifted[1:]) == s
    # a non-contiguous array is refused with TypeError, not read wrongly
    spread = np.zeros(2 * len(buf), dtype=np.uint8)
    spread[::2] = arr
    with pytest.raises(TypeError):
        fqk.KvTensorShapeV1.from_flatbuffer(spread[::2])


def test_from_flatbuffer_wrong_type():
    for bad in ("str", make().to_flatbuffer().decode("latin-1"), None, 1, [1, 2], make()):
        with pytest.raises(TypeError):
            fqk.KvTensorShapeV1.from_flatbuffer(bad)


def test_from_flatbuffer_truncated():
    s = make()
    buf = s.to_flatbuffer()
    # the buffer ends with the schema_version string, its NUL and up to 3 bytes of alignment padding: cutting
    # only padding leaves a complete FlatBuffer; cutting anything else is a parse error
    data_end = buf.rindex(SCHEMA_ID.encode()) + len(SCHEMA_ID) + 1
    assert buf[data_end:] == b"\0" * (len(buf) - data_end) and len(buf) - data_end < 4
    for n in range(len(buf)):
        for b in (buf[:n], memoryview(b"x" + buf[:n])[1:]):
            if n >= data_end:
                assert fqk.KvTensorShapeV1.from_flatbuffer(b) == s
                continue
            with pytest.raises(fqk.DescriptorError) as info:
                fqk.KvTensorShapeV1.from_flatbuffer(b)
            assert info.value.kind == fqk.ErrorKind.parse, (n, str(info.value))
            assert info.value.rule.startswith("flatbuffers."), (n, str(info.value))


def test_from_flatbuffer_garbage():
    import random

    rng = random.Random(7)
    buf = make().to_flatbuffer()
    assert raised(lambda: fqk.KvTensorShapeV1.from_flatbuffer(b"")).kind == fqk.ErrorKind.parse
    assert raised(lambda: fqk.KvTensorShapeV1.from_flatbuffer(b"\xff" * 64)).kind == fqk.ErrorKind.parse
    wrong_id = buf[:4] + b"XXXX" + buf[8:]
    assert raised(lambda: fqk.KvTensorShapeV1.from_flatbuffer(wrong_id)).kind == fqk.ErrorKind.parse
    outcomes = set()
    for _ in range(3000):
        b = bytearray(buf)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            s = fqk.KvTensorShapeV1.from_flatbuffer(b)
        except fqk.DescriptorError as e:
            outcomes.add(e.kind.name)
        else:
            outcomes.add("ok")
            assert s.validate() is None  # from_flatbuffer checks every rule
    for _ in range(300):
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(0, 128)))
        try:
            fqk.KvTensorShapeV1.from_flatbuffer(junk)
        except fqk.DescriptorError:
            pass
    assert "parse" in outcomes


def test_from_flatbuffer_validates():
    # an invalid descriptor encodes, but does not come back: from_flatbuffer raises validate()'s error
    bad = make(attention_kind="mqa")
    e = raised(lambda: fqk.KvTensorShapeV1.from_flatbuffer(bad.to_flatbuffer()))
    assert e.rule == "mqa.single_kv_head"
    assert str(e) == str(raised(bad.validate))


# ---------------------------------------------------------------------------------------------- digest
def test_digest_equals_kvshape_digest(kvshape, tmp_path):
    shapes = [make(), make(role="value", rope_state="not_applicable", dtype="f16"),
              make(attention_kind="mha", kv_heads=32, tokens=U32_MAX), make(attention_kind="mqa", kv_heads=1)]
    for i, s in enumerate(shapes):
        path = tmp_path / f"shape{i}.json"
        path.write_text(s.to_json())
        run = subprocess.run([kvshape, "digest", str(path)], capture_output=True, check=True)
        d = s.digest()
        assert len(d) == 32 and int(d, 16) >= 0 and d == d.lower()
        assert run.stdout.decode().strip() == d
        fb = tmp_path / f"shape{i}.fb"
        fb.write_bytes(s.to_flatbuffer())
        run = subprocess.run([kvshape, "digest", str(fb)], capture_output=True, check=True)
        assert run.stdout.decode().strip() == d


def test_digest_of_invalid_raises_validate_error():
    s = make(kv_heads=0)
    assert str(raised(s.digest)) == str(raised(s.validate))


# ---------------------------------------------------------------------------------------------- counts
def test_counts_are_ints():
    s = make()
    assert (s.vector_count, s.element_count, s.byte_size) == (2097152, 268435456, 536870912)
    assert all(type(x) is int for x in (s.vector_count, s.element_count, s.byte_size))


def test_counts_u32_max_everywhere():
    s = make(attention_kind="mha", batch=U32_MAX, layers=U32_MAX, kv_heads=U32_MAX, query_heads=U32_MAX,
             tokens=U32_MAX, head_dim=U32_MAX, role="value", rope_state="not_applicable")
    for name in ("vector_count", "element_count", "byte_size"):
        e = raised(lambda: getattr(s, name))
        assert e.kind == fqk.ErrorKind.resource_limit_exceeded
        assert e.rule == "size_overflow"
    assert raised(s.validate).rule == "size_overflow"
    assert s.tensor_shape == (U32_MAX,) * 5


def test_counts_past_2_63():
    # (2^32-1)^2 fits in 64 bits but not in a signed 64-bit integer
    s = make(batch=U32_MAX, layers=U32_MAX, kv_heads=1, query_heads=1, attention_kind="mqa", tokens=1,
             head_dim=1)
    assert s.validate() is None
    assert s.vector_count == s.element_count == U32_MAX**2 > 2**63
    e = raised(lambda: s.byte_size)  # two bytes each: past 2^64
    assert (e.kind, e.rule) == (fqk.ErrorKind.resource_limit_exceeded, "size_overflow")
    big = make(batch=U32_MAX, layers=2**31, kv_heads=1, query_heads=1, attention_kind="mqa", tokens=1, head_dim=1,
               dtype="f16")
    assert big.byte_size == U32_MAX * 2**32 == 2**64 - 2**32
    assert type(big.byte_size) is int


def test_element_count_exactly_u64_max():
    # 2^64 - 1 = 255 * 257 * 641 * 65537 * 6700417, five u32 factors
    s = make(attention_kind="mha", batch=255, layers=257, kv_heads=641, query_heads=641, tokens=65537,
             head_dim=6700417, role="value", rope_state="not_applicable", dtype="f16")
    assert s.validate() is None  # the element count fits
    assert s.element_count == U64_MAX
    assert type(s.element_count) is int
    assert s.vector_count == 255 * 257 * 641 * 65537
    e = raised(lambda: s.byte_size)  # two bytes each: past 2^64
    assert (e.kind, e.rule) == (fqk.ErrorKind.resource_limit_exceeded, "size_overflow")


# ---------------------------------------------------------------------------------------------- the stub
def _stub():
    path = os.path.join(os.path.dirname(fqk.__file__), "__init__.pyi")
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), filename=path)


def _stub_names(tree):
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def test_stub_names_every_public_name():
    names = _stub_names(_stub())
    assert fqk.__all__
    for name in fqk.__all__:
        assert name in names, f"{name} has no stub"
        assert hasattr(fqk, name)
        if inspect.isclass(getattr(fqk, name)):
            assert isinstance(names[name], ast.ClassDef), name
    # submodules (checkpoint, hf) become attributes once imported, by another test file in the same run say
    assert set(fqk.__all__) == {n for n in dir(fqk) if not n.startswith("_") and n not in ("annotations",)
                                and not inspect.ismodule(getattr(fqk, n))}


def _doc(text):
    return inspect.cleandoc(text) if text else text


def _runtime_class_doc(cls):
    return cls.__doc__ or ""


def test_stub_class_docs_match_runtime():
    names = _stub_names(_stub())
    checked = 0
    for name in fqk.__all__:
        node = names[name]
        if not isinstance(node, ast.ClassDef):
            continue
        stub_doc = ast.get_docstring(node)
        runtime = _runtime_class_doc(getattr(fqk, name))
        if stub_doc and runtime:
            assert _doc(stub_doc) == _doc(runtime), name
            checked += 1
    assert checked >= 6


def test_stub_members_exist_at_runtime():
    names = _stub_names(_stub())
    for name in fqk.__all__:
        node = names[name]
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(fqk, name)
        for item in node.body:
            member = None
            if isinstance(item, ast.FunctionDef):
                member = item.name
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                member = item.target.id
            elif isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):  # an enum member
                member = item.targets[0].id
                assert getattr(cls, member).code == ast.literal_eval(item.value), f"{name}.{member}"
            if member is None or name == "DescriptorError":  # its attributes are per instance
                continue
            assert hasattr(cls, member), f"{name}.{member} is in the stub but not in the module"


def test_stub_property_docs_match_runtime():
    names = _stub_names(_stub())
    checked = 0
    differ = []
    for name in fqk.__all__:
        node = names[name]
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(fqk, name)
        for item in node.body:
            if not (isinstance(item, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list)):
                continue
            stub_doc = ast.get_docstring(item)
            prop = inspect.getattr_static(cls, item.name)
            runtime = getattr(prop, "__doc__", None)
            if stub_doc and runtime and isinstance(prop, property):
                if _doc(stub_doc) != _doc(runtime):
                    differ.append(f"{name}.{item.name}: stub {stub_doc!r}, runtime {runtime!r}")
                checked += 1
    assert differ == []
    assert checked >= 20


# ---------------------------------------------------------------------------------------------- no crash
HOSTILE = r'''
import gc, pickle
import fib_quant_kv as fqk

K = fqk.KvTensorShapeV1
ok = dict(role="key", attention_kind="gqa", batch=1, layers=32, kv_heads=8, query_heads=32, tokens=8192,
          head_dim=128, dtype="bf16", rope_state="post_rope")
s = K(**ok)
buf = s.to_flatbuffer()


class Evil:
    def __index__(self):
        raise RuntimeError("boom")

    def __str__(self):
        raise RuntimeError("boom")

    def __eq__(self, other):
        raise RuntimeError("boom")

    __hash__ = object.__hash__


class EvilShape:
    shape = property(lambda self: (_ for _ in ()).throw(RuntimeError("boom")))
    dtype = "float16"


class LyingShape:
    __module__ = "numpy"
    shape = (1, 2, "x")
    dtype = None


class BigShape:
    __module__ = "torch"
    shape = (2**70, -1, None)
    dtype = "x"


calls = [
    lambda: K(),
    lambda: K(*range(11)),
    lambda: K(**{**ok, "batch": Evil()}),
    lambda: K(**{**ok, "role": Evil()}),
    lambda: K(**{**ok, "schema_version": Evil()}),
    lambda: K(**{**ok, "schema_version": "\ud800"}),
    lambda: K(**{**ok, "role": "\ud800"}),
    lambda: K(**{**ok, "batch": 10**1000}),
    lambda: K(**{**ok, "batch": -10**1000}),
    lambda: K.from_json(None),
    lambda: K.from_json("\ud800" * 1000),
    lambda: K.from_json("[" * 100000),
    lambda: K.from_json('{"a":' + "[" * 100000),
    lambda: K.from_json("\0" * 10),
    lambda: K.from_json(b"\xff" * 10),
    lambda: K.from_json(s.to_json().encode() * 3),
    lambda: K.from_flatbuffer(None),
    lambda: K.from_flatbuffer(b""),
    lambda: K.from_flatbuffer(b"\0"),
    lambda: K.from_flatbuffer(buf[:7]),
    lambda: K.from_flatbuffer(b"\xff\xff\xff\x7f" + buf[4:]),
    lambda: K.from_flatbuffer(memoryview(buf)[::2]),
    lambda: K.from_flatbuffer(memoryview(buf).cast("B", (len(buf) // 4, 4)) if len(buf) % 4 == 0 else buf[:1]),
    lambda: K.from_flatbuffer(Evil()),
    lambda: s.validate_block_dim(Evil()),
    lambda: s.validate_block_dim(0),
    lambda: s.replace(**{"batch": Evil()}),
    lambda: s.replace(**{"\ud800": 1}),
    lambda: s.check_tensor(None),
    lambda: s.check_tensor(EvilShape()),
    lambda: s.check_tensor(LyingShape()),
    lambda: s.check_tensor(BigShape()),
    lambda: s.__setstate__(None),
    lambda: s.__setstate__((None,)),
    lambda: s.__setstate__(("\ud800",)),
    lambda: K.__new__(K).__setstate__((s.to_json().encode(),)),
    lambda: pickle.loads(pickle.dumps(s)[:-3]),
    lambda: fqk.KvRole.from_code(Evil()),
    lambda: fqk.KvRole.from_code(10**30),
    lambda: fqk.KvRole.from_wire_name("\ud800"),
    lambda: fqk.KvRole.from_wire_name(Evil()),
    lambda: fqk.KvRole(99).wire_name,
    lambda: fqk.KvDType(99).byte_size,
    lambda: fqk.KvDType(99).torch_dtype,
    lambda: K(**{**ok, "dtype": fqk.KvDType(99)}).to_json(),
    lambda: K(**{**ok, "role": fqk.KvRole(7)}).validate(),
    lambda: K(**{**ok, "role": fqk.KvRole(7)}).validate_all(),
    lambda: K(**{**ok, "role": fqk.KvRole(7)}).digest(),
    lambda: K(**{**ok, "role": fqk.KvRole(7)}).to_flatbuffer(),
    lambda: K(**{**ok, "role": fqk.KvRole(7)}).element_count,
    lambda: hash(K(**{**ok, "role": fqk.KvRole(7)})),
    lambda: s == Evil(),
    lambda: fqk.DescriptorError("x").rule,
    lambda: str(fqk.DescriptorError()),
    lambda: fqk._native._check_line(b"\xff", 1, None),
    lambda: fqk._native._check_line(b"{}", -1, None),
    lambda: fqk._native._check_line("str", 1, None),
    lambda: fqk._native._check_line(b"{}", 1, Evil()),
]
outcomes = []
for i, call in enumerate(calls):
    try:
        call()
    except (TypeError, ValueError, OverflowError, AttributeError, RuntimeError, pickle.UnpicklingError,
            EOFError, RecursionError) as e:
        outcomes.append(type(e).__name__)
    else:
        outcomes.append("ok")
    gc.collect()
print(len(calls), " ".join(outcomes))
'''


def test_hostile_calls_do_not_crash(fqk_python):
    run = subprocess.run([fqk_python, "-X", "faulthandler", "-c", HOSTILE], capture_output=True, timeout=120,
                         env=dict(os.environ))
    assert run.returncode == 0, f"exit {run.returncode}\nstdout: {run.stdout.decode()[-2000:]}\n" \
                                f"stderr: {run.stderr.decode()[-4000:]}"
    count, _, outcomes = run.stdout.decode().strip().partition(" ")
    assert int(count) == len(outcomes.split()) > 50
