#!/usr/bin/env python3
"""The generated JSON Schema against the library, on real inputs.

Run as:  python3 tests/jsonschema/test_jsonschema.py PATH_TO_KVSHAPE [unittest options]   (what ctest runs)
   or:   KVSHAPE=build/kvshape python3 -m pytest tests/jsonschema

Needs python3-jsonschema (Debian). The inputs: every line of tests/parity/data/corpus.jsonl, the "json" values
of tests/data/digest_vectors.jsonl, and the cases below. `kvshape check` gives the library's verdict on each;
for a descriptor it rejects at validation, `kvshape validate --all` names every rule it breaks. For every input
that is a JSON object (Python's reader, NaN and Infinity refused) the test asserts:

* the library accepts it  ->  the JSON Schema accepts it, unless an enum is written in serde's map form
  {"name": null} (the JSON Schema describes enums by wire name only, and says so);
* the library rejects it as a parse error (wrong JSON type, integer out of range, unknown enum name, missing
  field)  ->  the JSON Schema rejects it, unless the JSON Schema's $comment says it cannot see why: a field
  given twice, or an integer written as 1.0, 1e3 or -0;
* the library rejects it at validation  ->  the JSON Schema rejects it exactly when one of the broken rules is
  one the JSON Schema checks (an allOf entry); when only rules it lists as unchecked are broken, it accepts.

Which rules the JSON Schema checks is read from the generated file itself, so the test follows the schema.
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


class _FloatText(float):
    """A number Python read as a float: serde's u32 does not take it, whatever its value."""


class _NegZero(int):
    """`-0`: Python reads it as 0; serde's u32 does not take it."""


def read_object(raw):
    """(the JSON object, its gaps) for an input line that is a JSON object, else (None, None). Gaps are what the
    JSON Schema cannot see in a known field: a duplicate, or an integer written as a float or as -0."""
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
    """[(where, bytes)] of every input line: corpus, digest vectors, extra cases."""
    out = [(f"corpus.jsonl:{i}", line) for i, line in enumerate(CORPUS.read_bytes().split(b"\n"), 1) if line]
    for i, line in enumerate(VECTORS.read_text(encoding="utf-8").splitlines(), 1):
        text = json.loads(line)["json"]
        # kvshape check reads lines: a pretty-printed vector's line breaks are whitespace between tokens (a raw
        # one inside a string would be invalid JSON), so they become spaces.
        out.append((f"digest_vectors.jsonl:{i}", text.replace("\r", " ").replace("\n", " ").encode("utf-8")))
    out += [(f"extra: {what}", raw) for what, raw in EXTRA]
    return out


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
        cls.checked = {entry["$comment"].split(":", 1)[0] for entry in cls.doc["allOf"]}
        cls.items = inputs()
        cls.verdicts = check_verdicts([raw for _, raw in cls.items])

    def test_the_json_schema_agrees_with_the_library(self):
        counts = dict.fromkeys(["inputs", "not a JSON object", "objects", "library valid", "library parse error",
                                "library validate error", "schema accepts", "schema rejects",
                                "gap: map form (library accepts, schema rejects)",
                                "gap: duplicate/number form (library rejects, schema accepts)",
                                "unchecked rules only (library rejects, schema accepts)"], 0)
        problems = []
        for (where, raw), verdict in zip(self.items, self.verdicts):
            counts["inputs"] += 1
            value, gaps = read_object(raw)
            if value is None:
                counts["not a JSON object"] += 1
                continue
            counts["objects"] += 1
            accepts = self.validator.is_valid(value)
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
                self.assertTrue(broken, where)
                if accepts != (not broken & self.checked):
                    problems.append(f"{where}: breaks {sorted(broken)}, JSON Schema "
                                    f"{'accepts' if accepts else 'rejects'}")
                if accepts:
                    counts["unchecked rules only (library rejects, schema accepts)"] += 1
        width = max(map(len, counts))
        print()
        for name, n in counts.items():
            print(f"  {name:<{width}}  {n}")
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


if __name__ == "__main__":
    if len(sys.argv) >= 2 and not sys.argv[1].startswith("-"):
        KVSHAPE = os.path.abspath(sys.argv.pop(1))
    if jsonschema is None:
        require_all.missing("python3-jsonschema is not installed (Debian: python3-jsonschema)")
    require_all.unittest_main(argv=sys.argv, verbosity=2)
