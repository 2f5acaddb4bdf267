#!/usr/bin/env python3
"""End-to-end tests of kvshape on v2 cache specs (Python 3 standard library only): validate, digest, convert,
check, upgrade and compat.

Run as:  python3 tests/cli/test_cli_spec_v2.py PATH_TO_KVSHAPE [unittest options]

Expected digests come from tests/data/spec_v2_vectors.jsonl (Python struct + xxhsum, independent of the
library); byte counts are worked out here from the spec's fields.
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # tests/
import require_all  # noqa: E402,F401  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run
from cli_support import GQA, MHA, TempDirTestCase, jline, kvshape_from_argv  # noqa: E402

KVSHAPE = None  # set from argv[1] in __main__
V2 = "fib_quant_kv_cache_spec_v2"


def vectors():
    with open(os.path.join(REPO, "tests", "data", "spec_v2_vectors.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run(*args, stdin=None):
    return subprocess.run([KVSHAPE, *args], input=stdin, capture_output=True, text=True)


class SpecCommands(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.vectors = vectors()
        self.gemma = self.vectors[0]["json"]  # sliding windows, paged, stacked

    def spec_file(self, doc, name="spec.json"):
        return self.write_file(jline(doc), name)

    def test_validate_prints_counts_and_the_independent_digest(self):
        for v in self.vectors:
            r = run("validate", self.spec_file(v["json"]))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("digest " + v["digest"], r.stdout)
            self.assertEqual(run("digest", self.spec_file(v["json"])).stdout, v["digest"] + "\n")
        # Gemma-like: 6 layers x 2 heads x 128 x 2 bytes x (K + V) = 6144 a token; 5 x 512 + 1008 tokens held
        # (whole blocks of 16) x 1024 bytes = 3653632.
        r = run("validate", self.spec_file(self.gemma))
        self.assertEqual(r.stdout, "valid json: kv cache spec v2, 2 layer groups, bytes_per_token 6144, "
                                   "bytes_held 3653632, digest %s\n" % self.vectors[0]["digest"])

    def test_invalid_specs_exit_1_naming_rule_and_path(self):
        doc = json.loads(json.dumps(self.gemma))
        doc["groups"][0]["window"] = 0
        doc["storage"]["dim_order"] = ["kv", "block", "token", "token", "dim"]
        r = run("validate", "--all", self.spec_file(doc))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines(), [
            "invalid json: corrupt_payload [group.window.nonzero] (groups[0].window): a window must be > 0",
            "invalid json: corrupt_payload [storage.dim_order.permutation] (storage.dim_order): "
            "storage dim_order names a dimension twice",
            "invalid json: corrupt_payload [storage.dim_order.required] (storage.dim_order): "
            "storage dim_order must hold token, head and dim",
        ])
        r = run("digest", self.spec_file(doc))
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("group.window.nonzero", r.stderr)
        doc = json.loads(json.dumps(self.gemma))
        doc["groups"][1]["kv_heads"] = "2"
        r = run("validate", self.spec_file(doc))
        self.assertEqual(r.returncode, 1)
        # The offset is where the reader stood when it refused the value: just past it (as for v1).
        text = jline(doc)
        second = text.index('"kv_heads":"2"', text.index('"layers":[5]'))
        self.assertEqual(r.stdout, "invalid json: parse [json.invalid_type] (groups[1].kv_heads): field "
                                   "`groups[1].kv_heads`: invalid type: string \"2\", expected u32 (at byte %d)\n"
                                   % (second + len('"kv_heads":"2"')))
        doc = json.loads(json.dumps(self.gemma))
        doc["storage"]["block_size"] = 4294967296
        text = jline(doc)
        r = run("validate", self.spec_file(doc))
        self.assertTrue(r.stdout.endswith("expected u32 (at byte %d)\n" % (text.index("4294967296") + 10)), r.stdout)

    def test_convert_writes_canonical_json_and_flatbuffers(self):
        doc = json.loads(json.dumps(self.gemma))
        src = self.write_file(json.dumps(doc, indent=2), "pretty.json")
        out = os.path.join(self.tmp, "out.json")
        r = run("convert", "--to", "json", src, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.read(), jline(self.gemma) + "\n")
        fb = os.path.join(self.tmp, "out.fqk2")
        r = run("convert", "--to", "fb", src, fb)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(fb, "rb") as f:
            self.assertEqual(f.read()[4:8], b"FQK2")
        back = os.path.join(self.tmp, "back.json")  # and back: the same canonical JSON
        r = run("convert", "--to", "json", fb, back)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(back, encoding="utf-8") as f:
            self.assertEqual(f.read(), jline(self.gemma) + "\n")
        r = run("digest", fb)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, run("digest", src).stdout)

    def test_check_mixes_v1_and_v2_lines(self):
        bad = json.loads(json.dumps(self.gemma))
        bad["batch"] = 0
        lines = [jline(GQA), jline(self.gemma), jline(bad)]
        r = run("check", stdin="\n".join(lines) + "\n")
        self.assertEqual(r.returncode, 1)
        out = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertTrue(out[0]["ok"])
        self.assertEqual(out[1], {"line": 2, "ok": True, "schema": V2, "bytes_per_token": 6144,
                                  "bytes_held": 3653632, "canonical": jline(self.gemma),
                                  "digest": self.vectors[0]["digest"]})
        self.assertEqual(out[2], {"line": 3, "ok": False, "stage": "validate", "error": "corrupt_payload",
                                  "rule": "batch.nonzero", "path": "batch",
                                  "message": "kv cache spec batch must be > 0"})

    def test_upgrade_is_one_full_contiguous_unquantized_group(self):
        r = run("upgrade", self.spec_file(GQA, "v1.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        spec = json.loads(r.stdout)
        self.assertEqual(spec, {
            "schema_version": V2, "layers": 8, "batch": 1, "tokens": 134626,
            "groups": [{"layers": list(range(8)), "attention": "full", "kv_heads": 2, "key_head_dim": 64,
                        "value_head_dim": 64, "rope_state": "post_rope"}],
            "storage": {"dim_order": ["batch", "layer", "head", "token", "dim"], "packing": "separate",
                        "block_size": 0, "value_layout": "rows"},
            "quant": {"scheme": "none", "dtype": "f32", "scale_granularity": "none"}})
        # One token of K and V: 8 layers x 2 heads x 64 x 4 bytes x 2 = 8192: v1's byte_size of one tensor x 2.
        v = run("validate", self.write_file(r.stdout, "up.json"))
        self.assertIn("bytes_per_token 8192, bytes_held %d," % (8192 * 134626), v.stdout)
        # A value descriptor says nothing of its keys: --key-rope.
        r = run("upgrade", "--key-rope", "pre_rope", self.spec_file(MHA, "mha.json"))
        self.assertEqual(json.loads(r.stdout)["groups"][0]["rope_state"], "pre_rope")
        r = run("upgrade", self.spec_file(dict(GQA, kv_heads=5), "bad.json"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("grouped.heads_divisible", r.stderr)
        self.assertEqual(run("upgrade", self.spec_file(self.gemma)).returncode, 2)

    def test_compat_names_each_difference(self):
        a = self.spec_file(self.gemma, "a.json")
        self.assertEqual((run("compat", a, a).returncode, run("compat", a, a).stdout), (0, ""))
        other = json.loads(json.dumps(self.gemma))
        other["groups"][1]["window"] = 4096
        other["groups"][1]["attention"] = "sliding_window"
        other["storage"]["block_size"] = 32
        other["quant"]["dtype"] = "f16"
        other["tokens"] = 2000  # more room: readable
        r = run("compat", a, self.spec_file(other, "b.json"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines(), [
            'groups[1].attention: "full" -> "sliding_window"',
            "groups[1].window: absent -> 4096",
            "storage.block_size: 16 -> 32",
            'quant.dtype: "bf16" -> "f16"',
        ])
        smaller = dict(self.gemma, tokens=999, batch=1)
        r = run("compat", a, self.spec_file(smaller, "c.json"))
        self.assertEqual((r.returncode, r.stdout), (1, "tokens: 1000 -> 999\n"))
        # v1 descriptors are upgraded first: a v1 key cache and its upgrade agree.
        v1 = self.spec_file(GQA, "v1.json")
        up = self.write_file(run("upgrade", v1).stdout, "up.json")
        self.assertEqual(run("compat", v1, up).returncode, 0)
        r = run("compat", v1, a)
        self.assertEqual(r.returncode, 1)
        self.assertIn("groups: 1 items -> 2 items", r.stdout)
        r = run("compat", a, os.path.join(self.tmp, "missing.json"))
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    KVSHAPE = kvshape_from_argv()
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=1)
