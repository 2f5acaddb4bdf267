#!/usr/bin/env python3
"""Writes tests/data/shape_vectors.jsonl: the descriptor test vectors that the C++ tests and the Python module's
tests both read, so the two cannot drift apart.

Regenerate (after building, so that the Rust original exists as build/reference/release/kvshape-reference):

    /usr/bin/python3 tests/data/make_shape_vectors.py [--reference PATH] [OUTPUT]
    /usr/bin/python3 tests/data/make_shape_vectors.py --check   # what ctest runs: fails if the file is stale

Nothing here imports or runs fib_quant_kv. Every expected value comes from a source independent of it:

* parse verdicts, validate() / validate_block_dim() verdicts, their messages and the canonical JSON come from the
  Rust original (reference/: shape.rs unchanged, serde 1.0.152, serde_json 1.0.87): `kvshape-reference check`
  and `kvshape-reference canonical`;
* rule ids come from schema/kv_tensor_shape_v1.yaml: the one rule whose message, rendered with the shape's
  values, is the Rust original's message (the original has no rule ids); the message of
  `dimension_not_divisible` is the schema's too, as the original's error carries numbers but no text;
* vector_count, element_count and byte_size are computed here with Python integers;
* digests come from tests/data/make_digest_vectors.py (docs/digest.md's encoding with struct, `xxhsum -H2`).

Left out, because the Rust original cannot answer them: enum codes outside an enum (the `*.known` rules; JSON
cannot express them either, only FlatBuffers and C++ can), input that is not UTF-8 (a JSON Lines file of
vectors cannot carry it), and the digest of an invalid descriptor (not defined).

Each output line is one JSON object:

    name            short unique id
    input           the exact JSON text given to the parser
    block_dim       (optional) u32: then block_dim_verdict is validate_block_dim(shape, block_dim)'s result
    verdict         "ok", or an error: {"kind", "rule", "message", "details"}, the fields of the library's Error.
                    A parse error reads {"kind": "parse", "rule": null, "message": null, "serde_message": ...}:
                    which inputs are rejected is serde's, but the wording (and the wire rule id) is each
                    implementation's own, so neither is pinned; serde_message is the original's text, for readers.
                    For a rule: kind, rule id, exact message, details ({} unless the kind carries details).
    block_dim_verdict  (with block_dim) as verdict, for validate_block_dim()
    canonical       (inputs that parse) the canonical compact JSON text
    vector_count, element_count, byte_size
                    (inputs that parse) integers, or, past 2^64 - 1, the error the library's count functions
                    return: {"kind": "resource_limit_exceeded", "rule": "size_overflow", "message": ..., "details": {}}
    digest          (inputs whose verdict is "ok") 32 hex digits, XXH3-128 of the canonical encoding
"""

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import make_digest_vectors as digest_spec  # noqa: E402  docs/digest.md's encoding and `xxhsum -H2`

U32_MAX = 4294967295
U64_MAX = 2**64 - 1
SCHEMA_ID = digest_spec.SCHEMA_ID
DTYPE_BYTES = {"f16": 2, "bf16": 2, "f32": 4}  # bytes per element of each dtype
DEFAULT_REFERENCE = os.path.join(ROOT, "build", "reference", "release", "kvshape-reference")
DEFAULT_OUTPUT = os.path.join(HERE, "shape_vectors.jsonl")
SCHEMA = os.path.join(ROOT, "schema", "kv_tensor_shape_v1.yaml")

# ------------------------------------------------------------------------------------------------ the inputs
FIELD_NAMES = [name for name, _ in digest_spec.FIELDS]
BASE = {"schema_version": SCHEMA_ID, "role": "key", "attention_kind": "gqa", "batch": 1, "layers": 32,
        "kv_heads": 8, "query_heads": 32, "tokens": 8192, "head_dim": 128, "dtype": "bf16",
        "rope_state": "post_rope"}


def shape(**changes):
    """BASE with changes, as serde_json's compact form (field order kept); a change to None drops the field."""
    d = dict(BASE)
    for k, v in changes.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def raw(body):
    """BASE's fields as text, with `body` spliced in before the closing brace (for duplicates and raw values)."""
    return shape()[:-1] + "," + body + "}"


def edit(old, new):
    """BASE's compact text with its first `old` replaced by `new` (for raw values json.dumps cannot write)."""
    text = shape()
    assert old in text, old
    return text.replace(old, new, 1)


def mha(**c):
    return shape(**{"attention_kind": "mha", "kv_heads": 32, "query_heads": 32, **c})


def value(**c):
    return shape(**{"role": "value", "rope_state": "not_applicable", **c})


def array(*values):
    return json.dumps(list(values), separators=(",", ":"))


# (name, input[, block_dim]). Inputs hold no line break: the Rust original reads them as JSON Lines.
INPUTS = [
    # --- valid: every geometry, role, dtype and rope state
    ("ok_mha_key_f16_pre_rope", mha(dtype="f16", rope_state="pre_rope")),
    ("ok_mha_key_f32_post_rope", mha(dtype="f32")),
    ("ok_mha_value_bf16", mha(role="value", rope_state="not_applicable")),
    ("ok_mqa_key_bf16_pre_rope", shape(attention_kind="mqa", kv_heads=1, query_heads=32, rope_state="pre_rope")),
    ("ok_mqa_value_f16", value(attention_kind="mqa", kv_heads=1, query_heads=7, dtype="f16")),
    ("ok_gqa_key_bf16_post_rope", shape()),
    ("ok_gqa_key_f16_pre_rope", shape(dtype="f16", rope_state="pre_rope")),
    ("ok_gqa_value_f32", value(dtype="f32", kv_heads=4, query_heads=4)),
    ("ok_gqa_kv_heads_equal_query_heads", shape(kv_heads=40, query_heads=40)),
    # --- valid: boundary values
    ("ok_all_dims_1", mha(batch=1, layers=1, kv_heads=1, query_heads=1, tokens=1, head_dim=1, dtype="f32")),
    ("ok_u32_max_query_heads_head_dim", value(attention_kind="mqa", kv_heads=1, query_heads=U32_MAX,
                                              tokens=1, layers=1, head_dim=U32_MAX)),
    ("ok_u32_max_batch_layers", shape(batch=U32_MAX, layers=U32_MAX, kv_heads=1, query_heads=1, tokens=1,
                                      head_dim=1)),
    ("ok_u32_max_heads", shape(kv_heads=U32_MAX, query_heads=U32_MAX, layers=1, tokens=1, head_dim=1)),
    ("ok_u32_max_tokens", shape(tokens=U32_MAX, layers=1, kv_heads=1, query_heads=1, head_dim=1, dtype="f32")),
    # element_count = 641 * 6700417 * 65537 * 255 * 257 = 2^64 - 1 exactly: valid, but byte_size overflows
    ("ok_element_count_u64_max", mha(batch=641, layers=6700417, kv_heads=65537, query_heads=65537, tokens=255,
                                     head_dim=257, dtype="f16")),
    # element_count = 2^63 - 1: byte_size 2^64 - 2 in f16 fits, 2^64 + ... in f32 does not
    ("ok_byte_size_just_fits", shape(batch=3577, layers=42799, attention_kind="mqa", kv_heads=1, query_heads=8,
                                     tokens=92737, head_dim=649657, dtype="f16")),
    ("ok_byte_size_overflows_f32", shape(batch=3577, layers=42799, attention_kind="mqa", kv_heads=1,
                                         query_heads=8, tokens=92737, head_dim=649657, dtype="f32")),
    # vector_count = 2^64 - 1 (head_dim 1)
    ("ok_vector_count_u64_max", mha(batch=641, layers=6700417, kv_heads=65537, query_heads=65537, tokens=255 * 257,
                                    head_dim=1)),
    # --- valid: wire forms the parser accepts
    ("ok_fields_reordered_spaced", ' { "rope_state" : "not_applicable" ,\t"dtype":"f16", "head_dim" : 64,'
     ' "tokens":2048, "query_heads":16, "kv_heads":16, "layers":24, "batch":2, "attention_kind":"mha",'
     ' "role":"value", "schema_version":"fib_quant_kv_tensor_shape_v1" } \t'),
    ("ok_array_form", array(SCHEMA_ID, "key", "gqa", 1, 8, 2, 24, 134626, 64, "f32", "post_rope")),
    ("ok_enum_map_form", shape(role={"key": None}, attention_kind={"mqa": None}, kv_heads=1, dtype={"f32": None},
                               rope_state={"pre_rope": None})),
    ("ok_array_form_enum_map_form", '[ "fib_quant_kv_tensor_shape_v1", {"value":null}, "mqa", 1, 1, 1, 1, 1, 2,'
     ' {"bf16" : null}, "not_applicable" ]'),
    ("ok_unknown_fields", raw('"comment":{"batch":0,"list":[1,2.5,"x",null,true]},"big":18446744073709551616,'
                              '"neg":-0,"x":1.5e300')),
    ("ok_unknown_field_huge_number", raw('"x":1e400')),
    ("ok_unknown_field_lone_surrogate", raw('"x":"\\ud800"')),
    ("ok_escaped_names_and_values", '{"\\u0073chema_version":"fib\\u005fquant_kv_tensor_shape_v1",'
     '"r\\u006fle":"v\\u0061lue","attention_kind":"\\u006d\\u0068\\u0061","b\\u0061tch":3,"layers":12,'
     '"kv_heads":12,"query_heads":12,"tokens":77,"head_dim":80,"dtype":"f\\u0033\\u0032",'
     '"rope_state":"not\\u005fapplicable"}'),
    # --- every rule of validate() failing (the *.known rules cannot be written in JSON)
    ("schema_version_wrong", shape(schema_version="fib_quant_kv_tensor_shape_v2")),
    ("schema_version_empty", shape(schema_version="")),
    ("schema_version_unicode_and_escapes", shape(schema_version='v1 "ü" \\ \t\u2028')),
    ("schema_version_control_chars", edit(SCHEMA_ID, "a\\u0001b\\u001fc\\u007f")),
    ("batch_zero", shape(batch=0)),
    ("layers_zero", shape(layers=0)),
    ("kv_heads_zero", shape(kv_heads=0)),
    ("query_heads_zero", shape(query_heads=0)),
    ("tokens_zero", shape(tokens=0)),
    ("head_dim_zero", shape(head_dim=0)),
    ("mha_heads_differ", mha(query_heads=64)),
    ("mha_heads_differ_by_one", mha(kv_heads=U32_MAX, query_heads=U32_MAX - 1)),
    ("mqa_two_kv_heads", shape(attention_kind="mqa", kv_heads=2, query_heads=32)),
    ("gqa_not_divisible", shape(kv_heads=3, query_heads=8)),
    ("gqa_more_kv_heads", shape(kv_heads=32, query_heads=8)),
    ("key_not_applicable", shape(rope_state="not_applicable")),
    ("value_pre_rope", value(rope_state="pre_rope")),
    ("value_post_rope", value(rope_state="post_rope")),
    # size_overflow: element_count just past 2^64 - 1, and far past; vector_count itself past it
    ("overflow_element_count_2_64", shape(batch=65536, layers=65536, kv_heads=1, query_heads=1, tokens=65536,
                                          head_dim=65536)),
    ("overflow_element_count_u64_max_plus_257", mha(batch=641, layers=6700417, kv_heads=65537, query_heads=65537,
                                                    tokens=256, head_dim=257)),
    ("overflow_vector_count", mha(batch=U32_MAX, layers=U32_MAX, kv_heads=U32_MAX, query_heads=U32_MAX,
                                  tokens=U32_MAX, head_dim=U32_MAX)),
    # the first failing rule is the answer, in the original's order
    ("first_schema_version_before_zero", shape(schema_version="v0", batch=0)),
    ("first_zero_before_mha", mha(layers=0, query_heads=1)),
    ("first_kv_heads_zero_before_mqa", shape(attention_kind="mqa", kv_heads=0)),
    ("first_mha_before_rope", mha(query_heads=1, rope_state="not_applicable")),
    ("first_mqa_before_divisible", shape(attention_kind="mqa", kv_heads=3, query_heads=8)),
    ("first_rope_before_overflow", value(rope_state="pre_rope", batch=U32_MAX, layers=U32_MAX, tokens=U32_MAX)),
    ("first_zero_before_overflow", shape(batch=U32_MAX, layers=U32_MAX, tokens=U32_MAX, head_dim=0)),
    # a partial product past 2^64 - 1 is an overflow even when a later factor is 0 (the original's fold)
    ("first_zero_after_partial_overflow", shape(batch=U32_MAX, layers=U32_MAX, kv_heads=U32_MAX,
                                                query_heads=U32_MAX, tokens=0)),
    # --- validate_block_dim()
    ("block_dim_divides", shape(head_dim=128), 32),
    ("block_dim_1", shape(head_dim=97), 1),
    ("block_dim_equals_head_dim", shape(head_dim=276), 276),
    ("block_dim_u32_max", shape(head_dim=U32_MAX, layers=1, tokens=1), U32_MAX),
    ("block_dim_not_dividing", shape(head_dim=80), 32),
    ("block_dim_larger_than_head_dim", shape(head_dim=128), 256),
    ("block_dim_zero", shape(head_dim=128), 0),
    ("block_dim_u32_max_head_dim_smaller", shape(head_dim=U32_MAX - 1, layers=1, tokens=1), U32_MAX),
    ("block_dim_after_validate", mha(query_heads=8, head_dim=80), 32),
    ("block_dim_after_overflow", shape(batch=65536, layers=65536, kv_heads=1, query_heads=1, tokens=65536,
                                       head_dim=65536), 3),
    # --- parse errors: syntax
    ("parse_empty", ""),
    ("parse_whitespace_only", " \t "),
    ("parse_not_json", "kv shape"),
    ("parse_truncated", shape()[:-1]),
    ("parse_trailing_characters", shape() + " x"),
    ("parse_two_values", shape() + shape()),
    ("parse_trailing_comma", shape()[:-1] + ",}"),
    ("parse_single_quotes", shape().replace('"', "'")),
    ("parse_lone_surrogate_in_field", shape(schema_version="\\ud800").replace("\\\\", "\\")),
    ("parse_control_char_in_string", shape(schema_version="a\tb").replace("\\t", "\t")),
    # wrong types
    ("parse_top_level_number", "5"),
    ("parse_top_level_null", "null"),
    ("parse_top_level_string", '"fib_quant_kv_tensor_shape_v1"'),
    ("parse_batch_string", shape(batch="1")),
    ("parse_batch_bool", shape(batch=True)),
    ("parse_batch_null", edit('"batch":1,', '"batch":null,')),
    ("parse_batch_float", edit('"batch":1,', '"batch":1.0,')),
    ("parse_batch_exponent", edit('"batch":1,', '"batch":1e3,')),
    ("parse_batch_fraction", edit('"batch":1,', '"batch":1.5,')),
    ("parse_batch_negative_zero", edit('"batch":1,', '"batch":-0,')),
    ("parse_schema_version_number", shape(schema_version=1)),
    ("parse_role_number", shape(role=0)),
    ("parse_role_null", shape(role=None)[:-1] + ',"role":null}'),
    # integers out of u32 range
    ("parse_u32_max_plus_1", shape(tokens=U32_MAX + 1)),
    ("parse_negative", shape(layers=-1)),
    ("parse_u64_max_plus_1", shape(head_dim=2**64)),
    # missing and duplicate fields
    ("parse_missing_batch", shape(batch=None)),
    ("parse_missing_schema_version", shape(schema_version=None)),
    ("parse_empty_object", "{}"),
    ("parse_duplicate_role", raw('"role":"key"')),
    ("parse_duplicate_batch", raw('"batch":1')),
    # enums: unknown names, wrong case, the map form done wrong
    ("parse_unknown_dtype", shape(dtype="fp16")),
    ("parse_role_wrong_case", shape(role="Key")),
    ("parse_attention_kind_unknown", shape(attention_kind="mla")),
    ("parse_enum_map_not_null", shape(role={"key": 1})),
    ("parse_enum_map_two_keys", shape(role=None)[:-1] + ',"role":{"key":null,"value":null}}'),
    ("parse_enum_map_empty", shape(role={})),
    ("parse_enum_map_unknown_name", shape(dtype={"f64": None})),
    # the array form done wrong
    ("parse_array_too_short", array(SCHEMA_ID, "key", "gqa", 1, 8, 2, 24, 134626, 64, "f32")),
    ("parse_array_too_long", array(SCHEMA_ID, "key", "gqa", 1, 8, 2, 24, 134626, 64, "f32", "post_rope", 0)),
    ("parse_array_empty", "[]"),
    ("parse_array_wrong_type", array(SCHEMA_ID, "key", "gqa", "1", 8, 2, 24, 134626, 64, "f32", "post_rope")),
    # an unknown field's value must still be JSON
    ("parse_unknown_field_bad_json", raw('"x":[1,}')),
]

# ------------------------------------------------------------------------------------------------ the schema
with open(SCHEMA, encoding="utf-8") as _f:
    import yaml  # PyYAML; the codegen needs it too (Debian: python3-yaml)

    _SCHEMA_DOC = yaml.safe_load(_f)
_STRUCT = _SCHEMA_DOC["structs"][0]
_CONSTANTS = {name: c["value"] for name, c in _SCHEMA_DOC["constants"].items()}


def _expand(rules):
    """The schema's rules with every for_each expanded: (id, error kind, message template)."""
    out = []
    for rule in rules:
        for field in rule.get("for_each", [None]):
            sub = (lambda t: t.replace("{field}", field)) if field else (lambda t: t)
            out.append((sub(rule["id"]), rule["error"], sub(rule["message"])))
    return out


VALIDATE_RULES = _expand(_STRUCT["rules"])
BLOCK_DIM_RULES = _expand(_STRUCT["checks"][0]["rules"])
(SIZE_OVERFLOW,) = [r for r in VALIDATE_RULES if r[0] == "size_overflow"]


def render(template, values):
    for name, v in {**_CONSTANTS, **values}.items():
        template = template.replace("{" + name + "}", str(v))
    return template


def rule_error(kind, message, values, rules=VALIDATE_RULES):
    """The vector's error object for the Rust original's (kind, message): the one schema rule it matches."""
    hits = [(rid, k) for rid, k, tmpl in rules if k == kind and render(tmpl, values) == message]
    if len(hits) != 1:
        raise SystemExit(f"the original's error {kind}: {message!r} matches {len(hits)} schema rules")
    return {"kind": kind, "rule": hits[0][0], "message": message, "details": {}}


def overflow_error():
    rid, kind, message = SIZE_OVERFLOW
    return {"kind": kind, "rule": rid, "message": message, "details": {}}


# ------------------------------------------------------------------------------------------------ the oracle
def run_reference(reference, args, texts):
    """kvshape-reference ARGS FILE over `texts` as JSON Lines: one answer object per text."""
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as f:
        f.write(b"".join(t.encode("utf-8") + b"\n" for t in texts))
        path = f.name
    try:
        out = subprocess.run([reference, *args, path], check=True, capture_output=True).stdout.decode("utf-8")
    finally:
        os.unlink(path)
    answers = [json.loads(line) for line in out.split("\n") if line]  # not splitlines(): U+2028
    assert [a["line"] for a in answers] == list(range(1, len(texts) + 1)), "the oracle skipped a line"
    return answers


def verdict_of(answer, values):
    """The vector's verdict for one `kvshape-reference check` answer."""
    if answer["ok"]:
        return "ok"
    if answer["stage"] == "parse":
        return {"kind": "parse", "rule": None, "message": None, "details": {}, "serde_message": answer["error"]}
    kind = answer["error"]
    if kind == "dimension_not_divisible":
        details = {"ambient_dim": answer["ambient_dim"], "block_dim": answer["block_dim"]}
        (rid, _, tmpl), = [r for r in BLOCK_DIM_RULES if r[1] == kind]
        return {"kind": kind, "rule": rid,
                "message": render(tmpl, {"head_dim": details["ambient_dim"], "block_dim": details["block_dim"]}),
                "details": details}
    return rule_error(kind, answer["message"], values)


# ------------------------------------------------------------------------------------------------ counts
def checked_product(factors):
    """The original's checked_product: a left fold from 1 that fails as soon as a partial product passes
    2^64 - 1, even if a later factor is 0; None on failure."""
    acc = 1
    for f in factors:
        if f is None:
            return None
        acc *= f
        if acc > U64_MAX:
            return None
    return acc


def counts(values):
    """vector_count, element_count, byte_size with Python integers, as the original derives them (each from the
    one before, an overflow carrying on); the overflow error where one does not fit."""
    vectors = checked_product([values["batch"], values["layers"], values["kv_heads"], values["tokens"]])
    elements = checked_product([vectors, values["head_dim"]])
    size = checked_product([elements, DTYPE_BYTES[values["dtype"]]])
    return {name: (n if n is not None else overflow_error())
            for name, n in (("vector_count", vectors), ("element_count", elements), ("byte_size", size))}


def field_values(canonical):
    """Field values of the canonical JSON text, enums as wire names."""
    return dict(zip(FIELD_NAMES, json.loads(canonical).values()))


# ------------------------------------------------------------------------------------------------ vectors
def build(reference):
    names = [v[0] for v in INPUTS]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate vector names: {sorted(dup)}"
    texts = [v[1] for v in INPUTS]
    for name, text in zip(names, texts):
        assert "\n" not in text and not text.endswith("\r"), f"{name}: a vector input cannot end a JSON line"
    checks = run_reference(reference, ["check"], texts)
    canon = run_reference(reference, ["canonical"], texts)
    block_dims = {v[2] for v in INPUTS if len(v) > 2}
    by_block_dim = {b: run_reference(reference, ["check", "--block-dim", str(b)], texts) for b in block_dims}

    out = []
    for i, entry in enumerate(INPUTS):
        name, text = entry[0], entry[1]
        canonical = canon[i]["canonical"]
        values = field_values(canonical) if canonical is not None else {}
        vec = {"name": name, "input": text}
        if len(entry) > 2:
            vec["block_dim"] = entry[2]
        vec["verdict"] = verdict_of(checks[i], values)
        if len(entry) > 2:
            vec["block_dim_verdict"] = verdict_of(by_block_dim[entry[2]][i], values)
        assert (canonical is None) == (checks[i].get("stage") == "parse"), name
        if canonical is not None:
            vec["canonical"] = canonical
            vec.update(counts(values))
            if checks[i]["ok"]:
                # the original's own counts for valid shapes must be ours
                assert checks[i]["vector_count"] == vec["vector_count"], name
                assert checks[i]["element_count"] == vec["element_count"], name
                assert checks[i]["canonical"] == canonical, name
        if vec["verdict"] == "ok":
            v = digest_spec.decode(canonical)
            digest_spec.check_valid(v)
            vec["digest"] = digest_spec.xxh128_hex(digest_spec.canonical_encoding(v))
        out.append(json.dumps(vec, separators=(", ", ": ")))  # ASCII only: no U+2028 in a line
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", default=DEFAULT_REFERENCE, help="kvshape-reference (the Rust original)")
    ap.add_argument("--check", action="store_true", help="compare with OUTPUT instead of writing it")
    ap.add_argument("output", nargs="?", default=DEFAULT_OUTPUT)
    args = ap.parse_args()
    import shutil

    if shutil.which("xxhsum") is None:
        import require_all

        require_all.missing("xxhsum (Debian: apt-get install xxhash) for the vectors' digests")
        return 0
    text = build(args.reference)
    if args.check:
        with open(args.output, encoding="utf-8") as f:
            old = f.read()
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                       args.output, "what the producer writes now"))
            print(f"\n{args.output} is stale: run /usr/bin/python3 tests/data/make_shape_vectors.py")
            return 1
        print(f"{args.output}: up to date ({text.count(chr(10))} vectors)")
        return 0
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {text.count(chr(10))} vectors to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
