#!/usr/bin/env python3
"""End-to-end tests of `kvshape validate`, `kvshape digest` and `kvshape convert` (Python 3 standard library only).

Run as:  python3 tests/cli/test_cli_wire.py PATH_TO_KVSHAPE [unittest options]

The subcommands take one descriptor, JSON or FlatBuffer (told apart by content: a FlatBuffer carries the file
identifier FQKV at bytes 4..8), from a file or from standard input (-):
  validate [--all] [--block-dim B] IN
      valid json: vector_count V, element_count E, byte_size B, digest D          (or "valid flatbuffer: ...")
      invalid json: <kind> [<rule id>] (<fields>): <message>[ (at byte N)]        one line; --all: one per rule
  digest IN             32 lower-case hex digits and a newline; nothing on stdout when invalid
  convert --to fb|json IN OUT    validate, then write the other form atomically (OUT "-" is standard output)
Exit status: 0 valid, 1 invalid, 2 usage or I/O error.

The expected digests were computed independently of the library (docs/digest.md: the canonical encoding built
with Python's struct module, hashed by `xxhsum -H2`); DigestIndependentTest recomputes them when xxhsum is on
PATH. FlatBuffers are built here too, by a small writer that follows generated/fbs/kv_tensor_shape_v1.fbs, so
that the tests do not only read what kvshape itself wrote. The flatc interop tests run when flatc is on PATH.
Without xxhsum or flatc those tests skip themselves; under FIB_QUANT_KV_REQUIRE_ALL any skip fails the run
(tests/require_all.py).
"""

import glob
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

KVSHAPE = None  # set from argv[1] in __main__

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FBS = os.path.join(REPO_ROOT, "generated", "fbs", "kv_tensor_shape_v1.fbs")
FLATC = shutil.which("flatc")
XXHSUM = shutil.which("xxhsum")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import require_all  # noqa: E402  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run
from cli_support import (FIELD_ORDER, GQA, GQA_CANONICAL, GQA_DIGEST, GQA_ELEMENTS, GQA_VECTORS, MHA,  # noqa: E402
                         MHA_CANONICAL, MHA_DIGEST, MHA_ELEMENTS, MHA_VECTORS, SCHEMA_ID, TempDirTestCase, jline,
                         kvshape_from_argv, shape)
ENUM_CODES = {
    "role": {"key": 0, "value": 1},
    "attention_kind": {"mha": 0, "mqa": 1, "gqa": 2},
    "dtype": {"f16": 0, "bf16": 1, "f32": 2},
    "rope_state": {"pre_rope": 0, "post_rope": 1, "not_applicable": 2},
}
DTYPE_BYTES = {"f16": 2, "bf16": 2, "f32": 4}
DIGEST_LINE_RE = re.compile(rb"\A[0-9a-f]{32}\n\Z")
VALID_RE = re.compile(r"\Avalid (json|flatbuffer): vector_count (\d+), element_count (\d+), byte_size (\d+|over 2\^64), "
                      r"digest ([0-9a-f]{32})\Z")
INVALID_RE = re.compile(r"\Ainvalid (json|flatbuffer): (parse|corrupt_payload|dimension_not_divisible|"
                        r"resource_limit_exceeded) \[([a-z0-9_.]+)\]( \([a-z_]+(, [a-z_]+)*\))?: (.+)\Z")
JSON_PARSE_RE = re.compile(r"\Ainvalid json: parse \[json\.[a-z_]+\]( \([a-z_]+\))?: .+ \(at byte \d+\)\Z")
FB_PARSE_RE = re.compile(r"\Ainvalid flatbuffer: parse \[flatbuffers\.[a-z0-9_]+\]( \([a-z_]+\))?: .+\Z")

GQA_VALID = ("vector_count 2154016, element_count 137857024, byte_size 551428096, digest " + GQA_DIGEST)

MHA_VALID = ("vector_count 2097152, element_count 268435456, byte_size 536870912, digest " + MHA_DIGEST)

# Every enum at code 0 (a FlatBuffers default would hide a missing field here).
ZERO = {"schema_version": SCHEMA_ID, "role": "key", "attention_kind": "mha", "batch": 3, "layers": 1,
        "kv_heads": 4, "query_heads": 4, "tokens": 7, "head_dim": 16, "dtype": "f16", "rope_state": "pre_rope"}
ZERO_DIGEST = "246f9013ec503ac48554be8d250ccda8"

DESCRIPTORS = [(GQA, GQA_DIGEST), (MHA, MHA_DIGEST), (ZERO, ZERO_DIGEST)]

MHA_MESSAGE = "corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires query_heads == kv_heads"


def canonical(d):
    """serde_json::to_string of a descriptor: fields in declaration order, compact."""
    return jline({k: d[k] for k in FIELD_ORDER})


def run(args, stdin_bytes=None, timeout=60, **kwargs):
    """Runs kvshape; stdin is the given bytes, or empty (never the terminal)."""
    return subprocess.run([KVSHAPE] + list(args), input=stdin_bytes if stdin_bytes is not None else b"",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kwargs)


def out_lines(proc):
    """stdout as a list of str lines, each of which must end in exactly one '\\n'."""
    data = proc.stdout
    if not data:
        return []
    assert data.endswith(b"\n"), "output does not end in a newline: %r" % data[-80:]
    lines = data[:-1].decode("utf-8").split("\n")
    for ln in lines:
        assert not ln.endswith("\r"), "output line ends in CR: %r" % ln[-80:]
    return lines


# ---------------------------------------------------------------------------------------------- FlatBuffers
def build_fb(d, identifier=b"FQKV", omit=(), codes=None, schema_version_bytes=None):
    """A KvTensorShapeV1 FlatBuffer written by hand after generated/fbs/kv_tensor_shape_v1.fbs.

    d: the descriptor (enum fields by name); omit: fields to leave out; codes: raw enum codes overriding d;
    schema_version_bytes: raw bytes for the string. Layout: root offset, identifier, vtable (11 entries), table
    (soffset, string offset, six u32, four u8), then the string."""
    codes = dict(codes or {})
    for f in ENUM_CODES:
        codes.setdefault(f, ENUM_CODES[f][d[f]])
    sv = d["schema_version"].encode("utf-8") if schema_version_bytes is None else schema_version_bytes
    vtable_pos, table_pos, table_size = 8, 36, 36
    slot = {"schema_version": 4, "batch": 8, "layers": 12, "kv_heads": 16, "query_heads": 20, "tokens": 24,
            "head_dim": 28, "role": 32, "attention_kind": 33, "dtype": 34, "rope_state": 35}
    vtable = struct.pack("<HH", 4 + 2 * len(FIELD_ORDER), table_size)
    vtable += b"".join(struct.pack("<H", 0 if f in omit else slot[f]) for f in FIELD_ORDER)
    string_pos = table_pos + table_size
    table = struct.pack("<iI", table_pos - vtable_pos, string_pos - (table_pos + 4))
    table += struct.pack("<6I", *(d[f] for f in ("batch", "layers", "kv_heads", "query_heads", "tokens",
                                                  "head_dim")))
    table += struct.pack("<4B", *(codes[f] for f in ("role", "attention_kind", "dtype", "rope_state")))
    string = struct.pack("<I", len(sv)) + sv + b"\x00"
    string += b"\x00" * (-len(string) % 4)
    buf = struct.pack("<I", table_pos) + identifier + vtable
    buf += b"\x00" * (table_pos - len(buf))
    assert len(buf) == table_pos and len(table) == table_size
    return buf + table + string


def fb_field_pos(buf, field):
    """Where a field's value sits in a (well-formed) FlatBuffer, found through the root table's vtable."""
    table = struct.unpack_from("<I", buf, 0)[0]
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vsize = struct.unpack_from("<H", buf, vtable)[0]
    entry = vtable + 4 + 2 * FIELD_ORDER.index(field)
    assert entry < vtable + vsize, "field %s beyond the vtable" % field
    off = struct.unpack_from("<H", buf, entry)[0]
    assert off != 0, "field %s absent" % field
    return table + off, entry


def fb_string_pos(buf):
    """Position of schema_version's length prefix."""
    pos, _ = fb_field_pos(buf, "schema_version")
    return pos + struct.unpack_from("<I", buf, pos)[0]


def patch(buf, pos, new):
    b = bytearray(buf)
    b[pos:pos + len(new)] = new
    return bytes(b)


# ---------------------------------------------------------------------------------------------- digest by hand
def canonical_encoding(d):
    """docs/digest.md, v1 layout: domain tag, then every field in declaration order."""
    out = SCHEMA_ID.encode() + b"\x00KvTensorShapeV1\x00"
    for f in FIELD_ORDER:
        if f == "schema_version":
            sv = d[f].encode("utf-8")
            out += struct.pack("<Q", len(sv)) + sv
        elif f in ENUM_CODES:
            out += struct.pack("<I", ENUM_CODES[f][d[f]])
        else:
            out += struct.pack("<I", d[f])
    return out


class CliTestCase(TempDirTestCase):
    tmp_prefix = "kvshape_wire_test_"
    default_name = "shape.json"

    def read_file(self, path):
        with open(path, "rb") as f:
            return f.read()

    def to_fb(self, d, name="shape.fqkv"):
        """The FlatBuffer kvshape writes for descriptor d (asserted to succeed)."""
        src = self.write_file(jline(d), name + ".src.json")
        out = os.path.join(self.tmp, name)
        proc = run(["convert", "--to", "fb", src, out])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return self.read_file(out)

    def validate(self, data, *extra_args, name="shape.json"):
        return run(["validate"] + list(extra_args) + [self.write_file(data, name)])

    def assertValid(self, proc, form, counts_and_digest):
        self.assertEqual(proc.returncode, 0, "stdout=%r stderr=%r" % (proc.stdout, proc.stderr))
        self.assertEqual(proc.stderr, b"")
        self.assertEqual(out_lines(proc), ["valid %s: %s" % (form, counts_and_digest)])

    def assertInvalidLines(self, proc, lines):
        self.assertEqual(proc.returncode, 1, "stdout=%r stderr=%r" % (proc.stdout, proc.stderr))
        self.assertEqual(proc.stderr, b"")
        self.assertEqual(out_lines(proc), lines)

    def assertOneLineMatching(self, proc, regex, exit_code=1):
        self.assertEqual(proc.returncode, exit_code, "stdout=%r stderr=%r" % (proc.stdout, proc.stderr))
        self.assertEqual(proc.stderr, b"")
        lines = out_lines(proc)
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], regex)
        return lines[0]

    def assertDigest(self, proc, digest):
        self.assertEqual(proc.returncode, 0, "stdout=%r stderr=%r" % (proc.stdout, proc.stderr))
        self.assertEqual(proc.stderr, b"")
        self.assertRegex(proc.stdout, DIGEST_LINE_RE)
        self.assertEqual(proc.stdout, digest.encode() + b"\n")

    def assertDigestRejected(self, proc, *stderr_parts):
        self.assertEqual(proc.returncode, 1, "stdout=%r stderr=%r" % (proc.stdout, proc.stderr))
        self.assertEqual(proc.stdout, b"")
        self.assertNotEqual(proc.stderr.strip(), b"", "an invalid descriptor must be explained on stderr")
        for part in stderr_parts:
            self.assertIn(part.encode(), proc.stderr)

    def assertUsageError(self, proc, stdout_empty=True):
        self.assertEqual(proc.returncode, 2, "stdout=%r stderr=%r" % (proc.stdout[:300], proc.stderr[:300]))
        if stdout_empty:
            self.assertEqual(proc.stdout, b"")
        self.assertNotEqual(proc.stderr.strip(), b"", "a usage or I/O error must say something on stderr")

    def tmp_leftovers(self, folder=None):
        found = []
        for root, _dirs, files in os.walk(folder or self.tmp):
            found += [os.path.join(root, f) for f in files if ".tmp." in f]
        return found


# ---------------------------------------------------------------------------------------------- validate: valid
class ValidateValidTest(CliTestCase):
    def test_json_file(self):
        self.assertValid(self.validate(jline(GQA) + "\n"), "json", GQA_VALID)
        self.assertValid(self.validate(jline(MHA)), "json", MHA_VALID)

    def test_json_stdin(self):
        self.assertValid(run(["validate", "-"], (jline(GQA) + "\n").encode()), "json", GQA_VALID)
        self.assertValid(run(["validate", "-"], json.dumps(MHA, indent=2).encode()), "json", MHA_VALID)

    def test_flatbuffer_from_convert(self):
        fb = self.to_fb(GQA)
        self.assertEqual(fb[4:8], b"FQKV")
        self.assertValid(run(["validate", os.path.join(self.tmp, "shape.fqkv")]), "flatbuffer", GQA_VALID)
        self.assertValid(run(["validate", "-"], fb), "flatbuffer", GQA_VALID)
        self.assertValid(run(["validate", "-"], self.to_fb(MHA, "mha.fqkv")), "flatbuffer", MHA_VALID)

    def test_flatbuffer_built_by_hand(self):
        self.assertValid(run(["validate", "-"], build_fb(GQA)), "flatbuffer", GQA_VALID)
        self.assertValid(run(["validate", "-"], build_fb(MHA)), "flatbuffer", MHA_VALID)

    def test_line_format_counts(self):
        d = shape(MHA, batch=3, layers=5, kv_heads=7, query_heads=7, tokens=11, head_dim=13, dtype="f16")
        vectors = 3 * 5 * 7 * 11
        expected = "vector_count %d, element_count %d, byte_size %d, digest " % (vectors, vectors * 13,
                                                                                vectors * 13 * 2)
        line = self.assertOneLineMatching(self.validate(jline(d)), VALID_RE, 0)
        self.assertTrue(line.startswith("valid json: " + expected), line)
        fb_line = self.assertOneLineMatching(run(["validate", "-"], self.to_fb(d)), VALID_RE, 0)
        self.assertEqual(fb_line, line.replace("valid json:", "valid flatbuffer:"))

    def test_largest_valid_counts(self):
        # element_count fits in u64 exactly at 2^64 - 1 is impossible with u32 factors; 2^63 is the largest
        # power of two: f32 bytes would be 2^65.
        d = shape(GQA, attention_kind="mqa", kv_heads=1, query_heads=1, batch=65536, layers=65536, tokens=65536,
                  head_dim=32768, dtype="f16")
        line = self.assertOneLineMatching(self.validate(jline(d)), VALID_RE, 0)
        m = VALID_RE.match(line)
        self.assertEqual(int(m.group(2)), 2 ** 48)
        self.assertEqual(int(m.group(3)), 2 ** 63)
        self.assertEqual(m.group(4), "over 2^64")  # 2^63 f16 elements are 2^64 bytes

    def test_byte_size_overflow_not_printed_as_zero(self):
        # element_count 2^63 fits in u64 (validate() passes, as in the Rust original) but byte_size 2^64 does
        # not. The verdict must not claim a byte size of 0: either refuse the descriptor or print no false number.
        d = shape(GQA, attention_kind="mqa", kv_heads=1, query_heads=1, batch=65536, layers=65536, tokens=65536,
                  head_dim=32768, dtype="f16")
        proc = self.validate(jline(d))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn(b"byte_size 0,", proc.stdout, "byte_size of 2^64 bytes reported as 0")
        self.assertIn(b", byte_size over 2^64, ", proc.stdout)

    def test_all_and_block_dim_on_valid(self):
        self.assertValid(self.validate(jline(GQA), "--all"), "json", GQA_VALID)
        self.assertValid(self.validate(jline(GQA), "--block-dim", "32"), "json", GQA_VALID)
        self.assertValid(self.validate(jline(GQA), "--block-dim", "64", "--all"), "json", GQA_VALID)
        self.assertValid(self.validate(jline(GQA), "--block-dim=1"), "json", GQA_VALID)
        self.assertValid(self.validate(jline(GQA), "--block-dim", "032"), "json", GQA_VALID)
        self.assertValid(run(["validate", "--block-dim", "16", "-"], self.to_fb(GQA)), "flatbuffer", GQA_VALID)
        path = self.write_file(jline(GQA))
        self.assertValid(run(["validate", path, "--block-dim", "8", "--all"]), "json", GQA_VALID)


# ---------------------------------------------------------------------------------------------- validate: invalid
class ValidateInvalidTest(CliTestCase):
    def test_first_violation_rust_message(self):
        cases = [
            (shape(MHA, query_heads=16), MHA_MESSAGE),
            (shape(batch=0), "corrupt_payload [batch.nonzero] (batch): kv shape batch must be > 0"),
            (shape(head_dim=0), "corrupt_payload [head_dim.nonzero] (head_dim): kv shape head_dim must be > 0"),
            (shape(schema_version="v0"), "corrupt_payload [schema_version.matches] (schema_version): "
                                         "kv shape schema_version v0, expected " + SCHEMA_ID),
            (shape(attention_kind="mqa", kv_heads=2, query_heads=4),
             "corrupt_payload [mqa.single_kv_head] (kv_heads): MQA requires kv_heads == 1"),
            (shape(query_heads=25), "corrupt_payload [grouped.heads_divisible] (query_heads, kv_heads): "
                                    "query_heads must be divisible by kv_heads"),
            (shape(rope_state="not_applicable"),
             "corrupt_payload [key.rope_declared] (rope_state): key tensors must declare pre_rope or post_rope"),
            (shape(MHA, rope_state="pre_rope"), "corrupt_payload [value.rope_not_applicable] (rope_state): "
                                                "value tensors must use not_applicable rope state"),
            (shape(batch=4294967295, layers=4294967295, tokens=4294967295),
             "resource_limit_exceeded [size_overflow] (batch, layers, kv_heads, tokens, head_dim): "
             "kv shape size overflow"),
        ]
        for d, message in cases:
            with self.subTest(message=message):
                self.assertInvalidLines(self.validate(jline(d)), ["invalid json: " + message])
                self.assertInvalidLines(run(["validate", "-"], build_fb(d)), ["invalid flatbuffer: " + message])

    def test_readme_example(self):
        proc = self.validate(jline(shape(MHA, kv_heads=8, query_heads=32)), "--all")
        self.assertInvalidLines(proc, ["invalid json: " + MHA_MESSAGE])

    MANY = shape(MHA, batch=0, layers=0, kv_heads=2, query_heads=24, rope_state="post_rope")
    MANY_LINES = [
        "corrupt_payload [batch.nonzero] (batch): kv shape batch must be > 0",
        "corrupt_payload [layers.nonzero] (layers): kv shape layers must be > 0",
        MHA_MESSAGE,
        "corrupt_payload [value.rope_not_applicable] (rope_state): value tensors must use not_applicable rope state",
    ]
    # Another set, ending in size_overflow (which needs every factor nonzero).
    MANY2 = shape(GQA, schema_version="v9", attention_kind="mqa", batch=4294967295, layers=4294967295,
                  kv_heads=2, query_heads=3, tokens=4294967295, head_dim=4294967295, rope_state="not_applicable")
    MANY2_LINES = [
        "corrupt_payload [schema_version.matches] (schema_version): kv shape schema_version v9, expected "
        + SCHEMA_ID,
        "corrupt_payload [mqa.single_kv_head] (kv_heads): MQA requires kv_heads == 1",
        "corrupt_payload [grouped.heads_divisible] (query_heads, kv_heads): query_heads must be divisible by kv_heads",
        "corrupt_payload [key.rope_declared] (rope_state): key tensors must declare pre_rope or post_rope",
        "resource_limit_exceeded [size_overflow] (batch, layers, kv_heads, tokens, head_dim): kv shape size overflow",
    ]

    def test_all_in_schema_order(self):
        for d, lines in ((self.MANY, self.MANY_LINES), (self.MANY2, self.MANY2_LINES)):
            with self.subTest(first=lines[0]):
                reordered = {k: d[k] for k in reversed(FIELD_ORDER)}  # input order must not matter
                for text in (jline(d), jline(reordered)):
                    self.assertInvalidLines(self.validate(text, "--all"), ["invalid json: " + ln for ln in lines])
                self.assertInvalidLines(run(["validate", "--all", "-"], build_fb(d)),
                                        ["invalid flatbuffer: " + ln for ln in lines])
                # Without --all: only the first.
                self.assertInvalidLines(self.validate(jline(d)), ["invalid json: " + lines[0]])
                self.assertInvalidLines(run(["validate", "-"], build_fb(d)), ["invalid flatbuffer: " + lines[0]])

    def test_all_with_block_dim(self):
        # --block-dim adds its rule after the schema rules; on an otherwise invalid descriptor, the schema rules.
        self.assertInvalidLines(self.validate(jline(self.MANY), "--all", "--block-dim", "48"),
                                ["invalid json: " + ln for ln in self.MANY_LINES])
        self.assertInvalidLines(self.validate(jline(shape(head_dim=80)), "--all", "--block-dim", "32"),
                                ["invalid json: dimension_not_divisible [head_dim.block_divisible] (head_dim): "
                                 "kv shape head_dim 80 is not divisible by block_dim 32"])

    def test_block_dim(self):
        line = ("dimension_not_divisible [head_dim.block_divisible] (head_dim): "
                "kv shape head_dim 80 is not divisible by block_dim 32")
        d = shape(head_dim=80)
        self.assertInvalidLines(self.validate(jline(d), "--block-dim", "32"), ["invalid json: " + line])
        self.assertInvalidLines(self.validate(jline(d), "--block-dim=32"), ["invalid json: " + line])
        self.assertInvalidLines(run(["validate", "--block-dim", "32", "-"], build_fb(d)),
                                ["invalid flatbuffer: " + line])
        self.assertInvalidLines(run(["validate", "-", "--block-dim", "32"], self.to_fb(d)),
                                ["invalid flatbuffer: " + line])
        self.assertInvalidLines(self.validate(jline(GQA), "--block-dim", "0"),
                                ["invalid json: dimension_not_divisible [head_dim.block_divisible] (head_dim): "
                                 "kv shape head_dim 64 is not divisible by block_dim 0"])
        self.assertInvalidLines(self.validate(jline(GQA), "--block-dim", "4294967295"),
                                ["invalid json: dimension_not_divisible [head_dim.block_divisible] (head_dim): "
                                 "kv shape head_dim 64 is not divisible by block_dim 4294967295"])
        # A schema violation comes first: --block-dim is checked on a valid descriptor only.
        self.assertInvalidLines(self.validate(jline(shape(d, batch=0)), "--block-dim", "32"),
                                ["invalid json: corrupt_payload [batch.nonzero] (batch): kv shape batch must be > 0"])

    def test_bad_block_dim_is_usage_error(self):
        path = self.write_file(jline(shape(head_dim=80)))
        for value in ("-1", "4294967296", "18446744073709551616", "abc", "32.0", "32abc", "", " 32", "0x20", "+32"):
            with self.subTest(value=value):
                self.assertUsageError(run(["validate", "--block-dim", value, path]))
                self.assertUsageError(run(["validate", "--block-dim=" + value, path]))
        self.assertUsageError(run(["validate", path, "--block-dim"]))
        self.assertUsageError(run(["validate", "--block-dim", "8", "--block-dim", "32", path]))

    def test_json_parse_errors(self):
        exact = {
            '{"batch":1.0}': "invalid json: parse [json.invalid_type] (batch): field `batch`: invalid type: "
                             "floating point `1.0`, expected u32 (at byte 9)",
        }
        for text, line in exact.items():
            with self.subTest(text=text):
                self.assertInvalidLines(self.validate(text), [line])
        rules = {
            "": "json.syntax",
            "   \n": "json.syntax",
            "{": "json.syntax",
            jline(GQA) + " x": "json.syntax",
            jline(GQA)[:-1]: "json.syntax",
            "{}": "json.missing_field",
            jline({k: v for k, v in GQA.items() if k != "tokens"}): "json.missing_field",
            jline(GQA)[:-1] + ',"role":"key"}': "json.duplicate_field",
            jline(shape(role="kex")): "json.unknown_variant",
            jline(shape(batch=-1)): "json.invalid_value",
            jline(shape(batch="1")): "json.invalid_type",
            json.dumps([GQA[k] for k in FIELD_ORDER[:10]]): "json.invalid_length",
        }
        for text, rule in rules.items():
            with self.subTest(text=text[-40:], rule=rule):
                line = self.assertOneLineMatching(self.validate(text), JSON_PARSE_RE)
                self.assertTrue(line.startswith("invalid json: parse [%s]" % rule), line)
                with_all = self.validate(text, "--all", "--block-dim", "32")
                self.assertInvalidLines(with_all, [line])

    def test_parse_error_offset_counts_bytes(self):
        # The offset is a byte offset into the input (UTF-8 bytes, not characters).
        prefix = '{"unknown_\u00e9\u00e9\u00e9":0,'
        line_ascii = self.assertOneLineMatching(self.validate('{"unknown_eee":0,"batch":1.5}'), JSON_PARSE_RE)
        line_utf8 = self.assertOneLineMatching(self.validate(prefix + '"batch":1.5}'), JSON_PARSE_RE)
        off_ascii = int(re.search(r"\(at byte (\d+)\)\Z", line_ascii).group(1))
        off_utf8 = int(re.search(r"\(at byte (\d+)\)\Z", line_utf8).group(1))
        self.assertEqual(off_utf8 - off_ascii, 3)

    def test_flatbuffer_missing_field_and_unknown_code(self):
        for field in FIELD_ORDER:
            with self.subTest(missing=field):
                proc = run(["validate", "-"], build_fb(ZERO, omit=(field,)))
                self.assertInvalidLines(proc, ["invalid flatbuffer: parse [flatbuffers.missing_field] (%s): "
                                               "missing field `%s`" % (field, field)])
        enum_names = {"role": "KvRole", "attention_kind": "KvAttentionKind", "dtype": "KvDType",
                      "rope_state": "KvRopeState"}
        for field, enum in enum_names.items():
            for code in (len(ENUM_CODES[field]), 255):
                with self.subTest(field=field, code=code):
                    proc = run(["validate", "-"], build_fb(GQA, codes={field: code}))
                    self.assertInvalidLines(proc, [
                        "invalid flatbuffer: parse [flatbuffers.unknown_enum_code] (%s): field `%s`: code %d is not "
                        "a value of enum %s (written by a newer schema?)" % (field, field, code, enum)])

    def test_flatbuffer_corrupted_bytes(self):
        fb = self.to_fb(GQA)
        table = struct.unpack_from("<I", fb, 0)[0]
        string = fb_string_pos(fb)
        dtype_pos, _ = fb_field_pos(fb, "dtype")
        _, head_dim_entry = fb_field_pos(fb, "head_dim")
        cases = {
            "root offset out of bounds": (patch(fb, 0, struct.pack("<I", 0x7ffffff0)), "flatbuffers.verify"),
            "vtable offset out of bounds": (patch(fb, table, struct.pack("<i", -0x7ffffff0)), "flatbuffers.verify"),
            "string length past the end": (patch(fb, string, struct.pack("<I", 0x10000)), "flatbuffers.verify"),
            "string terminator": (patch(fb, string + 4 + len(SCHEMA_ID), b"x"), "flatbuffers.verify"),
            "dtype code": (patch(fb, dtype_pos, b"\x09"), "flatbuffers.unknown_enum_code"),
            "head_dim vtable entry": (patch(fb, head_dim_entry, b"\x00\x00"), "flatbuffers.missing_field"),
            "string not UTF-8": (patch(fb, string + 5, b"\xff"), "flatbuffers.invalid_utf8"),
        }
        for name, (data, rule) in cases.items():
            with self.subTest(name):
                line = self.assertOneLineMatching(self.validate(data, name="corrupt.fqkv"), FB_PARSE_RE)
                self.assertTrue(line.startswith("invalid flatbuffer: parse [%s]" % rule), line)
        # A well-formed buffer whose string is wrong is a schema violation, not a parse error.
        data = patch(fb, string + 4 + len(SCHEMA_ID) - 1, b"2")
        self.assertInvalidLines(self.validate(data, name="v2.fqkv"), [
            "invalid flatbuffer: corrupt_payload [schema_version.matches] (schema_version): kv shape schema_version "
            "fib_quant_kv_tensor_shape_v2, expected " + SCHEMA_ID])

    def test_flatbuffer_every_byte_flipped(self):
        # Whatever byte is damaged (outside the identifier), the answer is one well-formed verdict line.
        fb = self.to_fb(GQA)
        for i in range(len(fb)):
            if 4 <= i < 8:
                continue
            with self.subTest(byte=i):
                proc = run(["validate", "--all", "-"], patch(fb, i, bytes([fb[i] ^ 0xFF])))
                self.assertIn(proc.returncode, (0, 1), proc.stderr)
                self.assertEqual(proc.stderr, b"")
                lines = out_lines(proc)
                self.assertGreaterEqual(len(lines), 1)
                for ln in lines:
                    self.assertRegex(ln, VALID_RE if proc.returncode == 0 else INVALID_RE)
                    self.assertTrue(ln.startswith(("valid flatbuffer:", "invalid flatbuffer:")), ln)

    def test_flatbuffer_truncated(self):
        fb = self.to_fb(GQA)
        end_of_data = fb_string_pos(fb) + 4 + len(SCHEMA_ID) + 1  # through the string's NUL terminator
        for n in range(8, end_of_data):
            with self.subTest(length=n):
                line = self.assertOneLineMatching(run(["validate", "-"], fb[:n]), FB_PARSE_RE)
                self.assertTrue(line.startswith("invalid flatbuffer: parse [flatbuffers."), line)
        digest = run(["digest", "-"], fb[:end_of_data - 1])
        self.assertDigestRejected(digest, "flatbuffers.")

    def test_flatbuffer_wrong_identifier(self):
        # A FlatBuffer of another type (or a damaged identifier) is rejected as a FlatBuffer, with a
        # flatbuffers.* rule, not reported as broken JSON.
        fb = self.to_fb(GQA)
        for ident in (b"FQKW", b"XXXX", b"\x00\x00\x00\x00", b"fqkv"):
            with self.subTest(identifier=ident):
                proc = self.validate(patch(fb, 4, ident), name="other.fqkv")
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(proc.stderr, b"")
                lines = out_lines(proc)
                self.assertEqual(len(lines), 1, lines)
                self.assertRegex(lines[0], r"\Ainvalid flatbuffer: parse \[flatbuffers\.[a-z_]+\]")

    def test_all_with_parse_error_is_one_line(self):
        proc = run(["validate", "--all", "-"], build_fb(self.MANY, omit=("tokens",)))
        self.assertInvalidLines(proc, ["invalid flatbuffer: parse [flatbuffers.missing_field] (tokens): "
                                       "missing field `tokens`"])


# ---------------------------------------------------------------------------------------------- content detection
class DetectionTest(CliTestCase):
    def test_flatbuffer_whatever_its_name(self):
        fb = self.to_fb(GQA)
        for name in ("shape.json", "shape", "shape.txt", "shape.fqkv", "-"):
            with self.subTest(name=name):
                if name == "-":
                    proc = run(["validate", "-"], fb)
                else:
                    proc = run(["validate", self.write_file(fb, name)])
                self.assertValid(proc, "flatbuffer", GQA_VALID)
                self.assertDigest(run(["digest", self.write_file(fb, "d_" + name.strip("-") + "x")]), GQA_DIGEST)

    def test_json_whatever_its_name(self):
        for name in ("shape.fqkv", "shape.bin", "shape"):
            with self.subTest(name=name):
                self.assertValid(run(["validate", self.write_file(jline(GQA), name)]), "json", GQA_VALID)

    def test_json_never_mistaken_for_flatbuffer(self):
        # Valid JSON descriptors whose bytes 4..8 happen to spell the file identifier FQKV.
        texts = [
            '{"abFQKV":1,' + jline(GQA)[1:],
            '{  "FQKV": 0, ' + jline(GQA)[1:],
            '{ \t"FQKV" : "x" ,' + jline(GQA)[1:],
        ]
        for text in texts:
            with self.subTest(text=text[:12]):
                self.assertEqual(text.encode()[4:8], b"FQKV")
                self.assertValid(self.validate(text, name="shape.fqkv"), "json", GQA_VALID)
                self.assertValid(run(["validate", "-"], text.encode()), "json", GQA_VALID)
                self.assertDigest(run(["digest", "-"], text.encode()), GQA_DIGEST)
        # And an invalid one is reported as invalid JSON.
        text = '["abFQKV",' + json.dumps([GQA[k] for k in FIELD_ORDER[1:]])[1:]
        self.assertEqual(text.encode()[4:8], b"FQKV")
        self.assertInvalidLines(self.validate(text), [
            "invalid json: corrupt_payload [schema_version.matches] (schema_version): kv shape schema_version "
            "abFQKV, expected " + SCHEMA_ID])

    def test_short_inputs(self):
        # Shorter than a FlatBuffer frame (8 bytes): a parse error, as JSON or as a too short FlatBuffer.
        for data in (b"FQKV", b"\x00\x00\x00\x00FQK", b"1234", b"{}"):
            with self.subTest(data=data):
                line = self.assertOneLineMatching(run(["validate", "-"], data), INVALID_RE)
                self.assertTrue(JSON_PARSE_RE.match(line) or FB_PARSE_RE.match(line), line)


# ---------------------------------------------------------------------------------------------- digest
class DigestTest(CliTestCase):
    def test_json_file_and_stdin(self):
        for d, digest in DESCRIPTORS:
            with self.subTest(digest=digest):
                self.assertDigest(run(["digest", self.write_file(jline(d))]), digest)
                self.assertDigest(run(["digest", "-"], (jline(d) + "\n").encode()), digest)

    def test_same_digest_for_every_form(self):
        for d, digest in DESCRIPTORS:
            escaped = jline(d).replace('"schema_version"', '"schema_\\u0076ersion"').replace(
                SCHEMA_ID, "fib_quant_kv_tensor_shape_\\u0076\\u0031")
            forms = {
                "canonical": canonical(d),
                "reversed": jline({k: d[k] for k in reversed(FIELD_ORDER)}),
                "spaced": " \r\n\t" + json.dumps(d, indent=4, separators=(" , ", " : ")) + "\n\n  ",
                "array": json.dumps([d[k] for k in FIELD_ORDER]),
                "array spaced": json.dumps([d[k] for k in FIELD_ORDER], indent=1),
                "enum maps": jline({k: ({v: None} if k in ENUM_CODES else v) for k, v in d.items()}),
                "enum maps in array": json.dumps([{d[k]: None} if k in ENUM_CODES else d[k] for k in FIELD_ORDER]),
                "escaped": escaped,
                "unknown fields": jline(dict(d, zzz=[1, {"a": None}], extra="FQKV")),
            }
            for name, text in forms.items():
                with self.subTest(digest=digest, form=name):
                    self.assertDigest(run(["digest", self.write_file(text)]), digest)
                    self.assertDigest(run(["digest", "-"], text.encode()), digest)
            with self.subTest(digest=digest, form="flatbuffer"):
                fb = self.to_fb(d)
                self.assertDigest(run(["digest", os.path.join(self.tmp, "shape.fqkv")]), digest)
                self.assertDigest(run(["digest", "-"], fb), digest)
                self.assertDigest(run(["digest", "-"], build_fb(d)), digest)

    def test_validate_and_digest_agree(self):
        for d, digest in DESCRIPTORS:
            line = self.assertOneLineMatching(self.validate(jline(d)), VALID_RE, 0)
            self.assertEqual(VALID_RE.match(line).group(5), digest)

    def test_digest_distinguishes_descriptors(self):
        variants = [GQA, shape(tokens=134627), shape(rope_state="pre_rope"), shape(dtype="bf16"),
                    shape(kv_heads=3), shape(batch=8, layers=1)]
        digests = set()
        for d in variants:
            proc = run(["digest", "-"], jline(d).encode())
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertRegex(proc.stdout, DIGEST_LINE_RE)
            digests.add(proc.stdout)
        self.assertEqual(len(digests), len(variants))

    def test_invalid_nothing_on_stdout(self):
        cases = [
            (jline(shape(batch=0)), ["kv shape batch must be > 0", "batch.nonzero"]),
            (jline(shape(MHA, query_heads=16)), ["MHA requires query_heads == kv_heads", "mha.heads_equal"]),
            (jline(shape(batch=4294967295, layers=4294967295, tokens=4294967295)), ["size_overflow"]),
            ('{"batch":1.0}', ["json.invalid_type"]),
            ("", ["json.syntax"]),
            ("{}", ["json.missing_field"]),
        ]
        for text, parts in cases:
            with self.subTest(text=text[:40]):
                self.assertDigestRejected(run(["digest", self.write_file(text)]), *parts)
                self.assertDigestRejected(run(["digest", "-"], text.encode()), *parts)
        self.assertDigestRejected(run(["digest", "-"], build_fb(shape(batch=0))), "batch.nonzero")
        self.assertDigestRejected(run(["digest", "-"], build_fb(GQA, omit=("dtype",))),
                                  "flatbuffers.missing_field")
        self.assertDigestRejected(run(["digest", "-"], build_fb(GQA, codes={"role": 7})),
                                  "flatbuffers.unknown_enum_code")

    def test_block_dim_is_not_a_digest_option(self):
        path = self.write_file(jline(GQA))
        for args in (["--block-dim", "32", path], ["--all", path], [path, path], [], ["--bogus", path]):
            with self.subTest(args=args[:1]):
                self.assertUsageError(run(["digest"] + args))


class DigestIndependentTest(CliTestCase):
    """The digest recomputed from docs/digest.md with struct and xxhsum, for descriptors not listed above."""

    @unittest.skipUnless(XXHSUM, "xxhsum is not on PATH (Debian: xxhash); independent digest check skipped")
    def test_against_xxhsum(self):
        variants = [GQA, MHA, ZERO, shape(tokens=4294967295 // 64, head_dim=1),
                    shape(MHA, kv_heads=4294967295, query_heads=4294967295, batch=1, layers=1, tokens=1,
                          head_dim=1, dtype="f32"),
                    shape(attention_kind="mqa", kv_heads=1, query_heads=7, dtype="f16", rope_state="pre_rope")]
        for d in variants:
            enc = canonical_encoding(d)
            self.assertEqual(len(enc), 121)
            hashed = subprocess.run([XXHSUM, "-H2", "-"], input=enc, stdout=subprocess.PIPE, check=True).stdout
            expected = hashed.split()[0].decode()
            self.assertRegex(expected, r"\A[0-9a-f]{32}\Z")
            with self.subTest(d=jline(d)):
                self.assertDigest(run(["digest", "-"], jline(d).encode()), expected)
                self.assertDigest(run(["digest", "-"], build_fb(d)), expected)

    @unittest.skipUnless(XXHSUM, "xxhsum is not on PATH (Debian: xxhash); independent digest check skipped")
    def test_listed_digests(self):
        for d, digest in DESCRIPTORS:
            hashed = subprocess.run([XXHSUM, "-H2", "-"], input=canonical_encoding(d), stdout=subprocess.PIPE,
                                    check=True).stdout
            self.assertEqual(hashed.split()[0].decode(), digest)


# ---------------------------------------------------------------------------------------------- convert
class ConvertTest(CliTestCase):
    def convert(self, to, src, dst, **kwargs):
        return run(["convert", "--to", to, src, dst], **kwargs)

    def test_round_trip_to_canonical_json(self):
        for d, digest in DESCRIPTORS:
            messy = " " + json.dumps({k: d[k] for k in reversed(FIELD_ORDER)}, indent=3) + "\n"
            for name, text in (("messy", messy), ("array", json.dumps([d[k] for k in FIELD_ORDER])),
                               ("canonical", canonical(d))):
                with self.subTest(digest=digest, input=name):
                    src = self.write_file(text, "in.json")
                    fb_path = os.path.join(self.tmp, "mid.fqkv")
                    json_path = os.path.join(self.tmp, "out.json")
                    proc = self.convert("fb", src, fb_path)
                    self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, b"", b""))
                    fb = self.read_file(fb_path)
                    self.assertEqual(fb[4:8], b"FQKV")
                    self.assertValid(run(["validate", fb_path]), "flatbuffer",
                                     VALID_RE.match(out_lines(run(["validate", src]))[0]).group(0)
                                     .split(": ", 1)[1])
                    proc = self.convert("json", fb_path, json_path)
                    self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, b"", b""))
                    self.assertEqual(self.read_file(json_path), (canonical(d) + "\n").encode())
                    self.assertDigest(run(["digest", json_path]), digest)

    def test_exact_canonical_bytes(self):
        src = self.write_file(json.dumps(GQA, indent=2))
        proc = self.convert("json", src, "-")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, (GQA_CANONICAL + "\n").encode())
        proc = self.convert("json", "-", "-", stdin_bytes=build_fb(MHA))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, (MHA_CANONICAL + "\n").encode())

    def test_to_stdout(self):
        src = self.write_file(jline(GQA))
        out = os.path.join(self.tmp, "shape.fqkv")
        self.assertEqual(self.convert("fb", src, out).returncode, 0)
        proc = self.convert("fb", src, "-")
        self.assertEqual((proc.returncode, proc.stderr), (0, b""))
        self.assertEqual(proc.stdout, self.read_file(out))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "-")))
        proc = self.convert("json", out, "-")
        self.assertEqual((proc.returncode, proc.stderr), (0, b""))
        self.assertEqual(proc.stdout, (GQA_CANONICAL + "\n").encode())
        # From stdin to stdout.
        proc = self.convert("fb", "-", "-", stdin_bytes=jline(GQA).encode())
        self.assertEqual((proc.returncode, proc.stdout), (0, self.read_file(out)))
        self.assertEqual(self.tmp_leftovers(), [])

    def test_same_form_and_deterministic(self):
        src = self.write_file(jline(MHA))
        a, b, c = (os.path.join(self.tmp, n) for n in ("a.fqkv", "b.fqkv", "c.fqkv"))
        self.assertEqual(self.convert("fb", src, a).returncode, 0)
        self.assertEqual(self.convert("fb", src, b).returncode, 0)
        self.assertEqual(self.convert("fb", a, c).returncode, 0)  # fb to fb
        self.assertEqual(self.read_file(a), self.read_file(b))
        self.assertEqual(self.read_file(a), self.read_file(c))
        # A hand-built buffer (another layout) converts to the same bytes.
        proc = self.convert("fb", "-", "-", stdin_bytes=build_fb(MHA))
        self.assertEqual((proc.returncode, proc.stdout), (0, self.read_file(a)))

    def test_in_place(self):
        path = self.write_file(json.dumps(GQA, indent=2), "inplace.json")
        proc = self.convert("json", path, path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.read_file(path), (GQA_CANONICAL + "\n").encode())
        proc = self.convert("fb", path, path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertValid(run(["validate", path]), "flatbuffer", GQA_VALID)
        self.assertEqual(self.tmp_leftovers(), [])

    def test_invalid_creates_nothing(self):
        cases = [(jline(shape(batch=0)), "batch.nonzero"), (jline(shape(MHA, query_heads=16)), "mha.heads_equal"),
                 ('{"batch":1.0}', "json.invalid_type"), ("", "json.syntax"),
                 (build_fb(GQA, omit=("role",)), "flatbuffers.missing_field"),
                 (build_fb(shape(MHA, rope_state="post_rope")), "value.rope_not_applicable")]
        for i, (data, rule) in enumerate(cases):
            for to in ("fb", "json"):
                with self.subTest(rule=rule, to=to):
                    src = self.write_file(data, "bad%d.in" % i)
                    out = os.path.join(self.tmp, "new_%d_%s.out" % (i, to))
                    proc = self.convert(to, src, out)
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertEqual(proc.stdout, b"")
                    self.assertIn(rule.encode(), proc.stderr)
                    self.assertFalse(os.path.exists(out))
                    # An existing output file is left as it was.
                    existing = self.write_file(b"previous contents\n", "existing_%d_%s.out" % (i, to))
                    os.chmod(existing, 0o640)
                    before = os.stat(existing)
                    proc = self.convert(to, src, existing)
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertEqual(self.read_file(existing), b"previous contents\n")
                    after = os.stat(existing)
                    self.assertEqual((after.st_ino, stat.S_IMODE(after.st_mode), after.st_mtime_ns),
                                     (before.st_ino, stat.S_IMODE(before.st_mode), before.st_mtime_ns))
                    # Nothing on standard output either.
                    proc = self.convert(to, src, "-")
                    self.assertEqual((proc.returncode, proc.stdout), (1, b""))
                    self.assertNotEqual(proc.stderr, b"")
        self.assertEqual(self.tmp_leftovers(), [])

    def test_replaces_existing_file(self):
        src = self.write_file(jline(GQA))
        out = self.write_file(b"x" * 10000, "out.json")  # longer than the result: no stale tail may remain
        proc = self.convert("json", src, out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.read_file(out), (GQA_CANONICAL + "\n").encode())
        proc = self.convert("fb", src, out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertValid(run(["validate", out]), "flatbuffer", GQA_VALID)
        self.assertEqual(self.tmp_leftovers(), [])

    def test_replaces_by_rename_not_in_place(self):
        # Atomic means a new file renamed over the old one: a reader holding the old file (here a hard link made
        # beforehand, as a concurrent reader's open file or a backup would) keeps the old bytes, and the name
        # points at a new inode. Writing in place (open with O_TRUNC, then write) passes a contents-only check
        # but truncates the old file under its readers; this test fails it.
        src = self.write_file(jline(GQA))
        for to, expected in (("json", (GQA_CANONICAL + "\n").encode()), ("fb", None)):
            with self.subTest(to=to):
                out = os.path.join(self.tmp, "replace_me." + to)
                old_bytes = b"old contents, longer than any result: " + b"x" * 4000
                self.write_file(old_bytes, os.path.basename(out))
                link = out + ".hardlink"
                os.link(out, link)
                before = os.stat(out)
                self.assertEqual(before.st_nlink, 2)
                proc = self.convert(to, src, out)
                self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, b"", b""))
                after = os.stat(out)
                self.assertNotEqual(after.st_ino, before.st_ino, "convert wrote into the old file instead of "
                                    "renaming a new one over it")
                self.assertEqual(after.st_nlink, 1)
                self.assertEqual(self.read_file(link), old_bytes, "the old file's contents changed under a reader")
                self.assertEqual(os.stat(link).st_ino, before.st_ino)
                if expected is not None:
                    self.assertEqual(self.read_file(out), expected)
                else:
                    self.assertValid(run(["validate", out]), "flatbuffer", GQA_VALID)
                self.assertEqual(self.tmp_leftovers(), [])
                # A failed convert over the new file leaves it, and its inode, alone, and nothing beside it.
                bad = self.write_file(jline(shape(batch=0)), "bad.json")
                kept = os.stat(out)
                kept_bytes = self.read_file(out)
                proc = self.convert(to, bad, out)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual((os.stat(out).st_ino, self.read_file(out)), (kept.st_ino, kept_bytes))
                self.assertEqual(self.tmp_leftovers(), [])
                self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.startswith("replace_me." + to)),
                                 ["replace_me." + to, "replace_me.%s.hardlink" % to])

    def test_file_mode_follows_umask(self):
        src = self.write_file(jline(GQA))
        for mask in (0o022, 0o077, 0o002, 0o000, 0o027, 0o277):
            for to in ("fb", "json"):
                with self.subTest(umask=oct(mask), to=to):
                    out = os.path.join(self.tmp, "mode_%o_%s" % (mask, to))
                    proc = self.convert(to, src, out, preexec_fn=lambda m=mask: os.umask(m))
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o666 & ~mask)
                    # Replacing an existing file: the new file gets the same mode.
                    proc = self.convert(to, src, out, preexec_fn=lambda m=mask: os.umask(m))
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o666 & ~mask)

    def test_missing_folder(self):
        src = self.write_file(jline(GQA))
        for out in (os.path.join(self.tmp, "no", "such", "dir", "out.fqkv"),
                    os.path.join(src, "out.fqkv")):  # a file used as a folder
            for to in ("fb", "json"):
                with self.subTest(out=out[len(self.tmp):], to=to):
                    proc = self.convert(to, src, out)
                    self.assertUsageError(proc)
                    self.assertFalse(os.path.exists(out))
        self.assertEqual(self.tmp_leftovers(), [])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["shape.json"])

    def test_output_is_a_directory(self):
        # The temporary file can be made, but the rename fails: it must be removed again.
        src = self.write_file(jline(GQA))
        folder = os.path.join(self.tmp, "out_dir")
        os.mkdir(folder)
        with open(os.path.join(folder, "inside"), "wb") as f:
            f.write(b"keep")
        for target in (folder, folder + "/"):
            for to in ("fb", "json"):
                with self.subTest(target=target[len(self.tmp):], to=to):
                    self.assertUsageError(self.convert(to, src, target))
                    self.assertTrue(os.path.isdir(folder))
                    self.assertEqual(os.listdir(folder), ["inside"])
                    self.assertEqual(self.tmp_leftovers(), [])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["out_dir", "shape.json"])

    def test_folder_not_writable(self):
        src = self.write_file(jline(GQA))
        folder = os.path.join(self.tmp, "read_only")
        os.mkdir(folder)
        existing = os.path.join(folder, "existing.fqkv")
        with open(existing, "wb") as f:
            f.write(b"old")
        os.chmod(folder, 0o555)
        kwargs = self.as_nobody(KVSHAPE, src)
        for out in (os.path.join(folder, "new.fqkv"), existing):
            for to in ("fb", "json"):
                with self.subTest(out=os.path.basename(out), to=to):
                    proc = self.convert(to, src, out, **kwargs)
                    self.assertEqual((proc.returncode, proc.stdout, proc.stderr.decode()),
                                     (2, b"", "kvshape convert: cannot create a temporary file in `%s`: "
                                              "Permission denied\n" % folder))
                    self.assertEqual(sorted(os.listdir(folder)), ["existing.fqkv"])
                    self.assertEqual(self.read_file(existing), b"old")
        self.assertEqual(self.tmp_leftovers(), [])

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_stdout_write_error(self):
        src = self.write_file(jline(GQA))
        for to in ("fb", "json"):
            with self.subTest(to=to):
                with open("/dev/full", "wb") as full:
                    proc = subprocess.run([KVSHAPE, "convert", "--to", to, src, "-"], stdin=subprocess.DEVNULL,
                                          stdout=full, stderr=subprocess.PIPE, timeout=60)
                self.assertEqual(proc.returncode, 2)
                self.assertNotEqual(proc.stderr, b"")

    def test_usage_errors(self):
        src = self.write_file(jline(GQA))
        out = os.path.join(self.tmp, "out.any")
        cases = {
            "to xml": ["--to", "xml", src, out],
            "to FB": ["--to", "FB", src, out],
            "to JSON": ["--to", "JSON", src, out],
            "to flatbuffer": ["--to", "flatbuffer", src, out],
            "to empty": ["--to", "", src, out],
            "to twice": ["--to", "fb", "--to", "json", src, out],
            "no --to": [src, out],
            "--to without value": [src, out, "--to"],
            "no output": ["--to", "fb", src],
            "no input or output": ["--to", "fb"],
            "nothing": [],
            "three paths": ["--to", "fb", src, out, out + "2"],
            "unknown option": ["--to", "fb", "--bogus", src, out],
            "block-dim": ["--to", "fb", "--block-dim", "32", src, out],
            "all": ["--to", "fb", "--all", src, out],
        }
        for name, args in cases.items():
            with self.subTest(name):
                self.assertUsageError(run(["convert"] + args, jline(GQA).encode()))
                self.assertFalse(os.path.exists(out))
                self.assertFalse(os.path.exists(out + "2"))
        # --to after the paths and --to=VALUE are fine.
        proc = run(["convert", src, "-", "--to", "json"])
        self.assertEqual((proc.returncode, proc.stdout), (0, (GQA_CANONICAL + "\n").encode()))
        proc = run(["convert", "--to=json", src, "-"])
        self.assertEqual((proc.returncode, proc.stdout), (0, (GQA_CANONICAL + "\n").encode()))

    def test_input_io_errors(self):
        missing = os.path.join(self.tmp, "does-not-exist.json")
        out = os.path.join(self.tmp, "out.fqkv")
        for args in (["convert", "--to", "fb", missing, out], ["validate", missing], ["digest", missing],
                     ["validate", "--all", "--block-dim", "8", missing]):
            with self.subTest(args=args[0]):
                proc = run(args)
                self.assertUsageError(proc)
                self.assertIn(b"does-not-exist.json", proc.stderr)
        for args in (["convert", "--to", "json", self.tmp, out], ["validate", self.tmp], ["digest", self.tmp]):
            with self.subTest(args=args[0], input="directory"):
                self.assertUsageError(run(args))
        self.assertFalse(os.path.exists(out))
        self.assertEqual(self.tmp_leftovers(), [])


class UsageTest(CliTestCase):
    def test_validate_usage_errors(self):
        path = self.write_file(jline(GQA))
        for name, args in {"no input": [], "two inputs": [path, path], "dash and file": ["-", path],
                           "unknown option": ["--bogus", path], "unknown short option": ["-x", path],
                           "--to": ["--to", "fb", path]}.items():
            with self.subTest(name):
                self.assertUsageError(run(["validate"] + args, jline(GQA).encode()))

    def test_help(self):
        proc = run(["--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for word in (b"validate", b"digest", b"convert"):
            self.assertIn(word, proc.stdout)
        for sub, options in (("validate", [b"--all", b"--block-dim"]), ("digest", []), ("convert", [b"--to"])):
            with self.subTest(sub):
                proc = run([sub, "--help"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                for opt in options:
                    self.assertIn(opt, proc.stdout)


# ---------------------------------------------------------------------------------------------- flatc interop
@unittest.skipUnless(FLATC, "flatc is not on PATH (Debian: flatbuffers-compiler); flatc interop tests skipped")
class FlatcInteropTest(CliTestCase):
    def flatc(self, args):
        proc = subprocess.run([FLATC] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                              cwd=self.tmp)
        self.assertEqual(proc.returncode, 0, "flatc %s: %s %s" % (args, proc.stdout, proc.stderr))
        return proc

    def only_file(self, folder):
        files = os.listdir(folder)
        self.assertEqual(len(files), 1, files)
        return os.path.join(folder, files[0])

    def test_schema_exists(self):
        self.assertTrue(os.path.isfile(FBS), FBS)

    def test_flatc_renders_our_buffer(self):
        for i, (d, digest) in enumerate(DESCRIPTORS):
            with self.subTest(digest=digest):
                fb_path = os.path.join(self.tmp, "OUT%d.fqkv" % i)
                src = self.write_file(jline(d), "in%d.json" % i)
                self.assertEqual(run(["convert", "--to", "fb", src, fb_path]).returncode, 0)
                out_dir = os.path.join(self.tmp, "flatc_json_%d" % i)
                self.flatc(["--json", "--strict-json", "--raw-binary", "--defaults-json", "-o", out_dir, FBS,
                            "--", fb_path])
                rendered = self.only_file(out_dir)
                with open(rendered, "rb") as f:
                    self.assertEqual(json.loads(f.read()), d)
                line = self.assertOneLineMatching(run(["validate", rendered]), VALID_RE, 0)
                self.assertTrue(line.startswith("valid json: "), line)
                self.assertEqual(VALID_RE.match(line).group(5), digest)
                self.assertEqual(line.replace("valid json:", "valid flatbuffer:"),
                                 out_lines(run(["validate", fb_path]))[0])
                self.assertDigest(run(["digest", rendered]), digest)
                proc = run(["convert", "--to", "json", rendered, "-"])
                self.assertEqual((proc.returncode, proc.stdout), (0, (canonical(d) + "\n").encode()))

    def test_flatc_builds_buffer_we_accept(self):
        for i, (d, digest) in enumerate(DESCRIPTORS):
            for form, text in (("canonical", canonical(d)),
                               ("reversed", json.dumps({k: d[k] for k in reversed(FIELD_ORDER)}, indent=2))):
                with self.subTest(digest=digest, form=form):
                    shape_json = self.write_file(text, "shape.json")
                    out_dir = os.path.join(self.tmp, "flatc_bin_%d_%s" % (i, form))
                    self.flatc(["-b", "-o", out_dir, FBS, shape_json])
                    buf_path = self.only_file(out_dir)
                    with open(buf_path, "rb") as f:
                        buf = f.read()
                    self.assertEqual(buf[4:8], b"FQKV")
                    self.assertDigest(run(["digest", buf_path]), digest)
                    self.assertDigest(run(["digest", shape_json]), digest)
                    self.assertDigest(run(["digest", "-"], buf), digest)
                    line = self.assertOneLineMatching(run(["validate", buf_path]), VALID_RE, 0)
                    self.assertTrue(line.startswith("valid flatbuffer: "), line)
                    proc = run(["convert", "--to", "json", buf_path, "-"])
                    self.assertEqual((proc.returncode, proc.stdout), (0, (canonical(d) + "\n").encode()))

    def test_flatc_buffer_with_rule_violation(self):
        # flatc writes what the schema's types allow; kvshape still applies the rules.
        shape_json = self.write_file(jline(shape(MHA, query_heads=16)), "mha_bad.json")
        out_dir = os.path.join(self.tmp, "flatc_bad")
        self.flatc(["-b", "-o", out_dir, FBS, shape_json])
        buf_path = self.only_file(out_dir)
        self.assertInvalidLines(run(["validate", buf_path]), ["invalid flatbuffer: " + MHA_MESSAGE])
        self.assertDigestRejected(run(["digest", buf_path]), "mha.heads_equal")

    def test_flatc_buffer_missing_field(self):
        # flatc accepts JSON without a field (the table field is then absent); kvshape names it.
        shape_json = self.write_file(jline({k: v for k, v in ZERO.items() if k != "role"}), "no_role.json")
        out_dir = os.path.join(self.tmp, "flatc_missing")
        self.flatc(["-b", "-o", out_dir, FBS, shape_json])
        buf_path = self.only_file(out_dir)
        self.assertInvalidLines(run(["validate", buf_path]),
                                ["invalid flatbuffer: parse [flatbuffers.missing_field] (role): missing field `role`"])


if __name__ == "__main__":
    KVSHAPE = kvshape_from_argv()
    if not FLATC:
        sys.stderr.write("note: flatc is not on PATH; the flatc interop tests are skipped "
                         "(a failure under FIB_QUANT_KV_REQUIRE_ALL)\n")
    require_all.unittest_main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
