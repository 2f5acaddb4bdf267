#!/usr/bin/env python3
"""The generated JSON Schemas (v1's descriptor and v2's cache spec) against the library, on real inputs.

Run as:  python3 tests/jsonschema/test_jsonschema.py PATH_TO_KVSHAPE [unittest options]   (what ctest runs)
   or:   KVSHAPE=build/kvshape python3 -m pytest tests/jsonschema

Needs python3-jsonschema (Debian). The v1 inputs: every line of tests/parity/data/corpus.jsonl, the "json" values
of tests/data/digest_vectors.jsonl, and the cases below; the v2 inputs: every line of
tests/data/spec_v2_inputs.jsonl, the "json" values of tests/data/spec_v2_vectors.jsonl, and the v2 cases below
(each keeps v2's schema_version: that is how `kvshape check` tells a v2 spec from a v1 descriptor). `kvshape
check` gives the library's verdict on each; for one it rejects at validation, `kvshape validate --all` names
every rule it breaks. For every input that is a JSON object (Python's reader, NaN and Infinity refused) the test
asserts, against the JSON Schema of the input's schema:

* the library accepts it  ->  the JSON Schema accepts it, unless an enum is written in serde's map form
  {"name": null} (the JSON Schema describes enums by wire name only, and says so);
* the library rejects it as a parse error (wrong JSON type, integer out of range, unknown enum name, missing
  field)  ->  the JSON Schema rejects it, unless the JSON Schema's $comment says it cannot see why: a field
  given twice, or an integer written as 1.0, 1e3 or -0;
* the library rejects it at validation  ->  the JSON Schema rejects it exactly when one of the broken rules is
  one the JSON Schema checks (an allOf entry); when only rules it lists as unchecked are broken, it accepts.

Which rules the JSON Schema checks is read from the generated file itself (every allOf entry, the nested
structs' under $defs too), so the test follows the schema. v2's reader takes no array form and no map form, so
for v2 those are parse errors the JSON Schema must reject too.
"""

import json
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # tests/
import require_all  # noqa: E402  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run

try:
    import jsonschema
except ImportError:  # Debian: python3-jsonschema
    jsonschema = None

SCHEMA_FILE = REPO / "generated" / "jsonschema" / "kv_tensor_shape_v1.schema.json"
CORPUS = REPO / "tests" / "parity" / "data" / "corpus.jsonl"
VECTORS = REPO / "tests" / "data" / "digest_vectors.jsonl"
SCHEMA_FILE_V2 = REPO / "generated" / "jsonschema" / "kv_cache_spec_v2.schema.json"
SPECS_V2 = REPO / "tests" / "data" / "spec_v2_inputs.jsonl"
VECTORS_V2 = REPO / "tests" / "data" / "spec_v2_vectors.jsonl"
KVSHAPE = os.environ.get("KVSHAPE") or str(REPO / "build" / "kvshape")  # argv[1] when run as a script

BASE = {"schema_version": "fib_quant_kv_tensor_shape_v1", "role": "key", "attention_kind": "gqa", "batch": 1,
        "layers": 8, "kv_heads": 2, "query_heads": 24, "tokens": 4096, "head_dim": 64, "dtype": "f32",
        "rope_state": "post_rope"}
U32_MAX = 2**32 - 1


def _line(**changes):
    d = dict(BASE)
    d.update(changes)
    return json.dumps({k: v for k, v in d.items() if v is not _DROP}, separators=(",", ":")).encode()


_DROP = object()

# Extra cases: (what, input line). The JSON Schema's verdict on each is asserted by the general rules above.
EXTRA = [
    ("valid", _line()),
    ("valid, unknown fields", _line(extra={"a": [1, 2.5, None]}, zz="x")),
    ("valid, u32 max", _line(tokens=U32_MAX, batch=1, layers=1, kv_heads=1, query_heads=1, head_dim=1,
                            attention_kind="mha")),
    ("valid value tensor", _line(role="value", rope_state="not_applicable")),
    ("map form enum", _line(role={"key": None})),
    ("type: batch string", _line(batch="1")),
    ("type: batch null", _line(batch=None)),
    ("type: batch bool", _line(batch=True)),
    ("type: schema_version number", _line(schema_version=1)),
    ("type: role number", _line(role=0)),
    ("range: batch negative", _line(batch=-1)),
    ("range: tokens 2^32", _line(tokens=2**32)),
    ("range: head_dim 2^64", _line(head_dim=2**64)),
    ("enum: unknown dtype", _line(dtype="f8")),
    ("enum: wrong case", _line(role="Key")),
    ("enum: map with two names", _line(role={"key": None, "value": None})),
    ("missing field", _line(rope_state=_DROP)),
    ("missing schema_version", _line(schema_version=_DROP)),
    ("rule: mqa with kv_heads 2", _line(attention_kind="mqa", kv_heads=2, query_heads=4)),
    ("rule: value with post_rope", _line(role="value", rope_state="post_rope")),
    ("rule: key not_applicable", _line(rope_state="not_applicable")),
    ("rule: zero batch", _line(batch=0)),
    ("rule: zero head_dim", _line(head_dim=0)),
    ("rule: schema_version", _line(schema_version="fib_quant_kv_tensor_shape_v2")),
    ("unchecked: mha heads differ", _line(attention_kind="mha", kv_heads=2, query_heads=4)),
    ("unchecked: gqa not divisible", _line(kv_heads=5, query_heads=24)),
    ("unchecked: size overflow", _line(batch=U32_MAX, layers=U32_MAX, kv_heads=U32_MAX, query_heads=U32_MAX,
                                       tokens=U32_MAX, head_dim=U32_MAX, attention_kind="mha")),
    ("gap: batch 1.0", _line().replace(b'"batch":1,', b'"batch":1.0,')),
    ("gap: layers 8e0", _line().replace(b'"layers":8,', b'"layers":8e0,')),
    ("gap: duplicate field", _line().replace(b'"batch":1,', b'"batch":1,"batch":2,')),
    ("array form", json.dumps(list(BASE.values())).encode()),
    ("not JSON", b'{"batch":'),
]

# v2: the first spec of spec_v2_inputs.jsonl (two groups, 5 sliding-window layers and 1 full, paged, stacked, bf16)
# and changes to it, each a (path, value) with _DROP to leave the field out.
BASE_V2 = json.loads(SPECS_V2.read_text(encoding="utf-8").splitlines()[0])
SLIDING = ["groups", 0]
FULL = ["groups", 1]
QUANT = ["quant"]
STORAGE = ["storage"]


def _spec(*changes):
    d = json.loads(json.dumps(BASE_V2))
    for path, v in changes:
        obj = d
        for k in path[:-1]:
            obj = obj[k]
        if v is _DROP:
            del obj[path[-1]]
        else:
            obj[path[-1]] = v
    return json.dumps(d, separators=(",", ":")).encode()


MLA = {"layers": [0, 1, 2, 3, 4, 5], "attention": "mla", "kv_lora_rank": 512, "qk_rope_head_dim": 64, "kv_heads": 1,
       "key_head_dim": 576, "value_head_dim": 0, "rope_state": "post_rope"}
LINEAR = {"layers": [5], "attention": "linear", "state_bytes": 1000, "kv_heads": 0, "key_head_dim": 0,
          "value_head_dim": 0, "rope_state": "not_applicable"}
INT4_GROUPS = {"scheme": "int4", "dtype": "bf16", "scale_granularity": "group", "group_size": 32, "scale_dtype": "f16"}

EXTRA_V2 = [
    ("valid", _spec()),
    ("valid, unknown fields", _spec((["zz"], {"a": [1, None]}), (SLIDING + ["note"], "x"), (QUANT + ["extra"], 1))),
    ("valid, optional null", _spec((FULL + ["window"], None), (QUANT + ["group_size"], None))),
    ("valid, linear state u64", _spec((FULL, LINEAR), (["tokens"], 1))),
    ("valid, mla", _spec((["groups"], [MLA]), (STORAGE + ["dim_order"], ["layer", "block", "token", "head", "dim"]),
                         (STORAGE + ["packing"], "separate"))),
    ("valid, int4 groups", _spec((QUANT, INT4_GROUPS))),
    ("type: layers string", _spec((["layers"], "6"))),
    ("type: groups object", _spec((["groups"], {"0": BASE_V2["groups"][0]}))),
    ("type: storage array", _spec((STORAGE, list(BASE_V2["storage"].values())))),
    ("type: kv_heads null", _spec((SLIDING + ["kv_heads"], None))),
    ("type: window string", _spec((SLIDING + ["window"], "512"))),
    ("type: dim_order string", _spec((STORAGE + ["dim_order"], "kv,block,token,head,dim"))),
    ("type: layer index bool", _spec((FULL + ["layers"], [True]))),
    ("range: window negative", _spec((SLIDING + ["window"], -1))),
    ("range: window 2^32", _spec((SLIDING + ["window"], 2**32))),
    ("range: state_bytes 2^64", _spec((FULL, dict(LINEAR, state_bytes=2**64)))),
    ("range: layer index 2^32", _spec((FULL + ["layers"], [2**32]))),
    ("length: dim_order of 8", _spec((STORAGE + ["dim_order"], ["kv", "block", "token", "head", "dim", "layer",
                                                               "batch", "kv"]))),
    ("length: 257 groups", _spec((["groups"], [dict(BASE_V2["groups"][1], layers=[i]) for i in range(257)]),
                                 (["layers"], 257))),
    ("length: 65537 layers", _spec((FULL + ["layers"], list(range(5, 65542))))),
    ("enum: unknown attention", _spec((SLIDING + ["attention"], "global"))),
    ("enum: unknown imported dtype", _spec((QUANT + ["dtype"], "f8"))),
    ("enum: unknown optional scale_dtype", _spec((QUANT, dict(INT4_GROUPS, scale_dtype="f64")))),
    ("enum: unknown dim", _spec((STORAGE + ["dim_order"], ["kv", "block", "seq", "head", "dim"]))),
    ("enum: wrong case", _spec((FULL + ["rope_state"], "Post_Rope"))),
    ("enum: map form", _spec((FULL + ["attention"], {"full": None}))),
    ("missing: storage", _spec((STORAGE, _DROP))),
    ("missing: group kv_heads", _spec((SLIDING + ["kv_heads"], _DROP))),
    ("missing: quant scheme", _spec((QUANT + ["scheme"], _DROP))),
    ("rule: sliding without window", _spec((SLIDING + ["window"], _DROP))),
    ("rule: full with window", _spec((FULL + ["window"], 4))),
    ("rule: zero window", _spec((SLIDING + ["window"], 0))),
    ("rule: zero batch", _spec((["batch"], 0))),
    ("rule: no groups", _spec((["groups"], []))),
    ("rule: layers over the bound", _spec((["layers"], 70000))),
    ("rule: dimension twice", _spec((STORAGE + ["dim_order"], ["kv", "block", "token", "head", "dim", "dim"]))),
    ("rule: paged without block dim", _spec((STORAGE + ["dim_order"], ["kv", "layer", "token", "head", "dim"]))),
    ("rule: contiguous with block dim", _spec((STORAGE + ["block_size"], 0))),
    ("rule: stacked without kv dim", _spec((STORAGE + ["dim_order"], ["block", "token", "head", "dim"]))),
    ("rule: fp8 without scales", _spec((QUANT + ["scheme"], "fp8_e4m3"))),
    ("rule: group_size without group scales", _spec((QUANT, dict(INT4_GROUPS, scale_granularity="tensor")))),
    ("rule: linear with heads", _spec((FULL, dict(LINEAR, kv_heads=2)))),
    ("rule: layer twice in a group", _spec((SLIDING + ["layers"], [0, 1, 2, 3, 3]))),
    ("unchecked: layer in two groups", _spec((FULL + ["layers"], [4]))),
    ("unchecked: mla latent width", _spec((["groups"], [dict(MLA, key_head_dim=575)]),
                                          (STORAGE + ["dim_order"], ["layer", "block", "token", "head", "dim"]),
                                          (STORAGE + ["packing"], "separate"))),
    ("unchecked: q8_0 block does not divide", _spec((QUANT + ["scheme"], "q8_0"), (SLIDING + ["key_head_dim"], 100))),
    ("unchecked: group_size does not divide", _spec((QUANT, dict(INT4_GROUPS, group_size=48)))),
    ("unchecked: size overflow", _spec((FULL, dict(LINEAR, state_bytes=2**62)), (["batch"], 8))),
    ("gap: window 512.0", _spec().replace(b'"window":512,', b'"window":512.0,')),
    ("gap: duplicate field in a group", _spec().replace(b'"window":512,', b'"window":512,"window":256,')),
    ("gap: layers -0", _spec((FULL + ["layers"], [5])).replace(b'"layers":[5]', b'"layers":[-0]')),
]


class _FloatText(float):
    """A number Python read as a float: serde's u32 does not take it, whatever its value."""


class _NegZero(int):
    """`-0`: Python reads it as 0; serde's u32 does not take it."""


def read_object(raw, v2=False):
    """(the JSON object, its gaps) for an input line that is a JSON object, else (None, None). Gaps are what the
    JSON Schema cannot see in a known field: a duplicate, or an integer written as a float or as -0 (v2: anywhere
    in the spec, whose structs nest)."""
    gaps = set()
    duplicates = set()

    def pairs(items):
        seen = {}
        for k, v in items:
            if k in seen:
                duplicates.add(k)
            seen[k] = v
        return seen

    def no_constant(name):
        raise ValueError(name)

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=no_constant,
                           parse_float=_FloatText, parse_int=lambda s: _NegZero(0) if s == "-0" else int(s))
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(value, dict):
        return None, None
    if v2:
        if duplicates:
            gaps.add("duplicate")

        def numbers(x):
            if isinstance(x, (_FloatText, _NegZero)):
                gaps.add("number form")
            for y in (x.values() if isinstance(x, dict) else x if isinstance(x, list) else ()):
                numbers(y)

        numbers(value)
        return value, gaps
    known = set(BASE)
    if duplicates & known:  # only the top level's duplicates are names of this struct's fields
        gaps.add("duplicate")
    for k in known & set(value):
        if isinstance(value[k], (_FloatText, _NegZero)):
            gaps.add("number form")
        if isinstance(value[k], dict) and k in ("role", "attention_kind", "dtype", "rope_state"):
            gaps.add("map form")
    return value, gaps


def inputs():
    """[(where, bytes)] of every v1 input line: corpus, digest vectors, extra cases."""
    out = [(f"corpus.jsonl:{i}", line) for i, line in enumerate(CORPUS.read_bytes().split(b"\n"), 1) if line]
    for i, line in enumerate(VECTORS.read_text(encoding="utf-8").splitlines(), 1):
        text = json.loads(line)["json"]
        # kvshape check reads lines: a pretty-printed vector's line breaks are whitespace between tokens (a raw
        # one inside a string would be invalid JSON), so they become spaces.
        out.append((f"digest_vectors.jsonl:{i}", text.replace("\r", " ").replace("\n", " ").encode("utf-8")))
    out += [(f"extra: {what}", raw) for what, raw in EXTRA]
    return out


def inputs_v2():
    """[(where, bytes)] of every v2 input line: the spec inputs, the spec vectors' specs, the v2 cases."""
    out = [(f"spec_v2_inputs.jsonl:{i}", line) for i, line in enumerate(SPECS_V2.read_bytes().split(b"\n"), 1)
           if line]
    for i, line in enumerate(VECTORS_V2.read_text(encoding="utf-8").splitlines(), 1):
        spec = json.loads(line)["json"]
        out.append((f"spec_v2_vectors.jsonl:{i}", json.dumps(spec, separators=(",", ":")).encode()))
    out += [(f"extra v2: {what}", raw) for what, raw in EXTRA_V2]
    return out


def checked_rules(doc):
    """The ids of the rules a JSON Schema checks: its allOf entries', and those of every struct under $defs."""
    bodies = [doc] + list(doc.get("$defs", {}).values())
    return {entry["$comment"].split(":", 1)[0] for body in bodies for entry in body.get("allOf", [])}


def check_verdicts(lines):
    proc = subprocess.run([KVSHAPE, "check", "-"], input=b"".join(l + b"\n" for l in lines),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    verdicts = [json.loads(l) for l in proc.stdout.decode("utf-8").splitlines()]
    assert [v["line"] for v in verdicts] == list(range(1, len(lines) + 1))
    return verdicts


def broken_rules(raw):
    proc = subprocess.run([KVSHAPE, "validate", "--all", "-"], input=raw, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)
    assert proc.returncode == 1, proc.stdout
    return set(re.findall(r"^invalid json: [a-z_]+ \[([a-z0-9_.]+)\]", proc.stdout.decode("utf-8"), re.M))


def compare(items, verdicts, validator, checked, v2=False):
    """(counts, problems) of the JSON Schema's verdicts on `items` against the library's (the module's rules)."""
    counts = dict.fromkeys(["inputs", "not a JSON object", "objects", "library valid", "library parse error",
                            "library validate error", "schema accepts", "schema rejects",
                            "gap: map form (library accepts, schema rejects)",
                            "gap: duplicate/number form (library rejects, schema accepts)",
                            "unchecked rules only (library rejects, schema accepts)"], 0)
    problems = []
    for (where, raw), verdict in zip(items, verdicts):
        counts["inputs"] += 1
        value, gaps = read_object(raw, v2)
        if value is None:
            counts["not a JSON object"] += 1
            continue
        counts["objects"] += 1
        accepts = validator.is_valid(value)
        counts["schema accepts" if accepts else "schema rejects"] += 1
        if verdict["ok"]:
            counts["library valid"] += 1
            if "map form" in gaps:
                counts["gap: map form (library accepts, schema rejects)"] += 1
                if accepts:
                    problems.append(f"{where}: map form accepted (the $comment says it is not)")
            elif not accepts:
                problems.append(f"{where}: valid for the library, rejected by the JSON Schema")
        elif verdict["stage"] == "parse":
            counts["library parse error"] += 1
            if accepts and gaps & {"duplicate", "number form"}:
                counts["gap: duplicate/number form (library rejects, schema accepts)"] += 1
            elif accepts:
                problems.append(f"{where}: parse error for the library ({verdict['error']}), "
                                "accepted by the JSON Schema")
        else:
            counts["library validate error"] += 1
            broken = broken_rules(raw)
            if not broken:
                problems.append(f"{where}: rejected at validation, but validate --all names no rule")
            if accepts != (not broken & checked):
                problems.append(f"{where}: breaks {sorted(broken)}, JSON Schema {'accepts' if accepts else 'rejects'}")
            if accepts:
                counts["unchecked rules only (library rejects, schema accepts)"] += 1
    width = max(map(len, counts))
    print()
    for name, n in counts.items():
        print(f"  {name:<{width}}  {n}")
    return counts, problems


@unittest.skipUnless(jsonschema, "python3-jsonschema is not installed (Debian: python3-jsonschema)")
class JsonSchemaAgainstLibrary(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not os.access(KVSHAPE, os.X_OK):
            raise unittest.SkipTest(f"no kvshape at {KVSHAPE} (pass it as argv[1] or in $KVSHAPE)")
        cls.doc = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(cls.doc)
        cls.validator = jsonschema.Draft202012Validator(cls.doc)
        cls.checked = checked_rules(cls.doc)
        cls.items = inputs()
        cls.verdicts = check_verdicts([raw for _, raw in cls.items])

    def test_the_json_schema_agrees_with_the_library(self):
        counts, problems = compare(self.items, self.verdicts, self.validator, self.checked)
        self.assertEqual(problems, [])
        # Every kind of input was seen, or the assertions above prove little.
        for name in ("library valid", "library parse error", "library validate error", "schema rejects",
                     "gap: map form (library accepts, schema rejects)",
                     "gap: duplicate/number form (library rejects, schema accepts)",
                     "unchecked rules only (library rejects, schema accepts)"):
            self.assertGreater(counts[name], 0, name)

    def test_the_extra_cases_come_out_as_named(self):
        # The cases' names say what the library does; keep them honest, so that the general test above runs
        # on what it is meant to.
        want = {"valid": True, "map form": True, "type": "parse", "range": "parse", "enum": "parse",
                "missing": "parse", "gap": "parse", "rule": "validate", "unchecked": "validate"}
        for (where, raw), verdict in zip(self.items, self.verdicts):
            if not where.startswith("extra: "):
                continue
            what = where[len("extra: "):]
            key = next((k for k in want if what.startswith(k)), None)
            if key is None:
                continue
            with self.subTest(what):
                self.assertEqual(verdict["ok"] if want[key] is True else verdict.get("stage"), want[key], verdict)
                if key in ("rule", "type", "range", "enum", "missing"):
                    self.assertFalse(self.validator.is_valid(read_object(raw)[0]))
                if key in ("gap", "unchecked", "valid"):
                    self.assertTrue(self.validator.is_valid(read_object(raw)[0]))

    def test_unknown_fields_are_allowed_as_the_library_allows_them(self):
        self.assertIs(self.doc["additionalProperties"], True)
        self.assertTrue(self.validator.is_valid(dict(BASE, anything={"nested": [1, None]})))


@unittest.skipUnless(jsonschema, "python3-jsonschema is not installed (Debian: python3-jsonschema)")
class JsonSchemaV2AgainstLibrary(unittest.TestCase):
    """v2's JSON Schema (nested structs, bounded arrays, optional fields) against the library's v2 reader and
    validate(), by the same rules; v2's reader has no array or map form, so there is no "library accepts" gap."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not os.access(KVSHAPE, os.X_OK):
            raise unittest.SkipTest(f"no kvshape at {KVSHAPE} (pass it as argv[1] or in $KVSHAPE)")
        cls.doc = json.loads(SCHEMA_FILE_V2.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(cls.doc)
        cls.validator = jsonschema.Draft202012Validator(cls.doc)
        cls.checked = checked_rules(cls.doc)
        cls.items = inputs_v2()
        cls.verdicts = check_verdicts([raw for _, raw in cls.items])

    def test_the_json_schema_agrees_with_the_library(self):
        counts, problems = compare(self.items, self.verdicts, self.validator, self.checked, v2=True)
        self.assertEqual(problems, [])
        for name in ("library valid", "library parse error", "library validate error", "schema rejects",
                     "gap: duplicate/number form (library rejects, schema accepts)",
                     "unchecked rules only (library rejects, schema accepts)"):
            self.assertGreater(counts[name], 0, name)
        self.assertEqual(counts["gap: map form (library accepts, schema rejects)"], 0)
        self.assertEqual(counts["not a JSON object"], 0)

    def test_every_v2_input_is_read_as_a_v2_spec(self):
        # kvshape tells v2 from v1 by schema_version: a case read as v1 would test nothing here.
        for (where, _), verdict in zip(self.items, self.verdicts):
            with self.subTest(where):
                if verdict["ok"]:
                    self.assertEqual(verdict.get("schema"), "fib_quant_kv_cache_spec_v2")
                else:
                    self.assertNotIn("missing field `role`", verdict.get("error", ""))

    def test_the_spec_inputs_and_vectors_are_valid_for_both(self):
        for (where, raw), verdict in zip(self.items, self.verdicts):
            if where.startswith("spec_v2_"):
                with self.subTest(where):
                    self.assertTrue(verdict["ok"], verdict)
                    self.assertTrue(self.validator.is_valid(json.loads(raw)))

    def test_the_extra_cases_come_out_as_named(self):
        want = {"valid": True, "type": "parse", "range": "parse", "length": "parse", "enum": "parse",
                "missing": "parse", "gap": "parse", "rule": "validate", "unchecked": "validate"}
        for (where, raw), verdict in zip(self.items, self.verdicts):
            if not where.startswith("extra v2: "):
                continue
            what = where[len("extra v2: "):]
            key = next(k for k in want if what.startswith(k))
            with self.subTest(what):
                self.assertEqual(verdict["ok"] if want[key] is True else verdict.get("stage"), want[key], verdict)
                value = read_object(raw, v2=True)[0]
                if key in ("rule", "type", "range", "length", "enum", "missing"):
                    self.assertFalse(self.validator.is_valid(value))
                if key in ("gap", "unchecked", "valid"):
                    self.assertTrue(self.validator.is_valid(value))
                if key == "unchecked":  # only rules the JSON Schema lists as unchecked are broken
                    broken = broken_rules(raw)
                    self.assertTrue(broken)
                    self.assertFalse(broken & self.checked, broken)
                    for rid in broken:
                        self.assertIn(f" {rid} (", self.doc["$comment"])

    def test_too_long_arrays_are_refused_by_both_for_their_length(self):
        for (where, raw), verdict in zip(self.items, self.verdicts):
            if where.startswith("extra v2: length: "):
                with self.subTest(where):
                    self.assertIn("invalid length", verdict["error"])
                    errors = list(self.validator.iter_errors(json.loads(raw)))
                    self.assertIn("maxItems", {e.validator for e in errors})


if __name__ == "__main__":
    if len(sys.argv) >= 2 and not sys.argv[1].startswith("-"):
        KVSHAPE = os.path.abspath(sys.argv.pop(1))
    if jsonschema is None:
        require_all.missing("python3-jsonschema is not installed (Debian: python3-jsonschema)")
    require_all.unittest_main(argv=sys.argv, verbosity=2)
