#!/usr/bin/env python3
"""End-to-end tests of `kvshape check` (Python 3 standard library only).

Run as:  python3 tests/cli/test_cli.py PATH_TO_KVSHAPE [unittest options]

The output format is the one of ../shared/parity/README.md: one JSON object per input line,
  valid:    {"line":N,"ok":true,"vector_count":V,"element_count":E,"canonical":"<serde JSON>","digest":"<32 hex>"}
  parse:    {"line":N,"ok":false,"stage":"parse","error":"<text>"}
  validate: {"line":N,"ok":false,"stage":"validate","error":"<kind>","message":"<seed's text>"}
            {"line":N,"ok":false,"stage":"validate","error":"dimension_not_divisible","ambient_dim":A,"block_dim":B}
with strings escaped as serde_json escapes them. Exit status: 0 all valid, 1 some invalid, 2 usage or I/O error.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

KVSHAPE = None  # set from argv[1] in __main__

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import require_all  # noqa: E402  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run
from cli_support import (FIELD_ORDER, GQA, GQA_CANONICAL, GQA_DIGEST, GQA_ELEMENTS, GQA_VECTORS, MHA,  # noqa: E402
                         MHA_CANONICAL, MHA_DIGEST, MHA_ELEMENTS, MHA_VECTORS, SCHEMA_ID, TempDirTestCase, jline,
                         kvshape_from_argv, shape)
DIGEST_RE = re.compile(r"\A[0-9a-f]{32}\Z")


def run(args, stdin_bytes=None, timeout=60, **kwargs):
    """Runs kvshape; stdin is the given bytes, or empty (never the terminal)."""
    return subprocess.run([KVSHAPE] + list(args), input=stdin_bytes if stdin_bytes is not None else b"",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kwargs)


def out_lines(proc):
    """stdout as a list of raw lines (bytes), each of which must end in exactly one '\\n'."""
    data = proc.stdout
    if not data:
        return []
    assert data.endswith(b"\n"), "output does not end in a newline: %r" % data[-80:]
    lines = data[:-1].split(b"\n")
    for ln in lines:
        assert not ln.endswith(b"\r"), "output line ends in CR: %r" % ln[-80:]
    return lines


def verdicts(proc):
    return [json.loads(ln.decode("utf-8")) for ln in out_lines(proc)]


def keys_in_order(raw_line):
    pairs = json.loads(raw_line.decode("utf-8"), object_pairs_hook=lambda p: p)
    return [k for k, _ in pairs]


def ok_verdict(line, vectors, elements, canonical, digest):
    return {"line": line, "ok": True, "vector_count": vectors, "element_count": elements,
            "canonical": canonical, "digest": digest}


def validate_verdict(line, kind, message):
    return {"line": line, "ok": False, "stage": "validate", "error": kind, "message": message}


def dim_verdict(line, ambient, block):
    return {"line": line, "ok": False, "stage": "validate", "error": "dimension_not_divisible",
            "ambient_dim": ambient, "block_dim": block}


class CliTestCase(TempDirTestCase):
    default_name = "input.jsonl"

    def check(self, data, *extra_args):
        """`kvshape check [extra_args] FILE` with FILE holding data."""
        return run(["check"] + list(extra_args) + [self.write_file(data)])

    def assertParseError(self, verdict, line):
        self.assertEqual(set(verdict), {"line", "ok", "stage", "error"}, verdict)
        self.assertEqual(verdict["line"], line)
        self.assertIs(verdict["ok"], False)
        self.assertEqual(verdict["stage"], "parse")
        self.assertIsInstance(verdict["error"], str)
        self.assertNotEqual(verdict["error"], "")

    def assertUsageError(self, proc, stdout_empty=True):
        self.assertEqual(proc.returncode, 2, "stdout=%r stderr=%r" % (proc.stdout[:300], proc.stderr[:300]))
        if stdout_empty:
            self.assertEqual(proc.stdout, b"")
        self.assertNotEqual(proc.stderr.strip(), b"", "a usage error must say something on stderr")


# ---------------------------------------------------------------------------------------------- valid lines
class ValidLineTest(CliTestCase):
    def test_valid_line_fields(self):
        proc = self.check(jline(GQA) + "\n")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"")
        [v] = verdicts(proc)
        self.assertEqual(v, ok_verdict(1, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST))
        self.assertIsInstance(v["vector_count"], int)
        self.assertIsInstance(v["element_count"], int)
        self.assertRegex(v["digest"], DIGEST_RE)

    def test_valid_line_raw_bytes(self):
        proc = self.check(jline(GQA) + "\n" + jline(MHA) + "\n")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        expected = (
            b'{"line":1,"ok":true,"vector_count":2154016,"element_count":137857024,"canonical":"{\\"schema_version'
            b'\\":\\"fib_quant_kv_tensor_shape_v1\\",\\"role\\":\\"key\\",\\"attention_kind\\":\\"gqa\\",\\"batch'
            b'\\":1,\\"layers\\":8,\\"kv_heads\\":2,\\"query_heads\\":24,\\"tokens\\":134626,\\"head_dim\\":64,'
            b'\\"dtype\\":\\"f32\\",\\"rope_state\\":\\"post_rope\\"}","digest":"308f89732ab038cd596b5e93fc512db7"}\n'
            b'{"line":2,"ok":true,"vector_count":2097152,"element_count":268435456,"canonical":"{\\"schema_version'
            b'\\":\\"fib_quant_kv_tensor_shape_v1\\",\\"role\\":\\"value\\",\\"attention_kind\\":\\"mha\\",\\"batch'
            b'\\":2,\\"layers\\":32,\\"kv_heads\\":8,\\"query_heads\\":8,\\"tokens\\":4096,\\"head_dim\\":128,'
            b'\\"dtype\\":\\"bf16\\",\\"rope_state\\":\\"not_applicable\\"}","digest":"3b436cb743a8a40023302b7d0cfa4025"}\n')
        self.assertEqual(proc.stdout, expected)

    def test_key_order(self):
        proc = self.check(jline(GQA) + "\n")
        [raw] = out_lines(proc)
        self.assertEqual(keys_in_order(raw), ["line", "ok", "vector_count", "element_count", "canonical", "digest"])
        canonical = json.loads(raw)["canonical"]
        self.assertEqual(keys_in_order(canonical.encode()), FIELD_ORDER)

    def test_canonical_and_digest_independent_of_input_form(self):
        reordered = {k: GQA[k] for k in reversed(FIELD_ORDER)}
        spaced = json.dumps(GQA, indent=None, separators=(" , ", " : "))
        escaped = jline(GQA).replace('"f32"', '"\\u0066\\u0033\\u0032"').replace('"gqa"', '"g\\u0071a"')
        array_form = json.dumps([GQA[k] for k in FIELD_ORDER])
        unknown = jline(dict(GQA, extra={"nested": [1, 2.5, None, "x"]}, zzz=True))
        inputs = [jline(GQA), jline(reordered), " \t" + spaced + " \t", escaped, array_form, unknown]
        proc = self.check("\n".join(inputs) + "\n")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertEqual(verdicts(proc),
                         [ok_verdict(i, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST)
                          for i in range(1, len(inputs) + 1)])

    def test_digest_distinguishes_descriptors(self):
        lines = [jline(GQA), jline(shape(tokens=134627)), jline(shape(rope_state="pre_rope")),
                 jline(shape(dtype="bf16"))]
        proc = self.check("\n".join(lines) + "\n")
        vs = verdicts(proc)
        self.assertTrue(all(v["ok"] for v in vs), vs)
        digests = [v["digest"] for v in vs]
        for d in digests:
            self.assertRegex(d, DIGEST_RE)
        self.assertEqual(len(set(digests)), len(digests), digests)

    def test_large_counts(self):
        # The largest u32 fields whose element count still fits in 64 bits.
        d = shape(MHA, batch=4294967295, layers=4294967295, kv_heads=1, query_heads=1, tokens=1, head_dim=1)
        proc = self.check(jline(d) + "\n")
        [v] = verdicts(proc)
        self.assertIs(v["ok"], True, v)
        self.assertEqual(v["vector_count"], 4294967295 ** 2)
        self.assertEqual(v["element_count"], 4294967295 ** 2)
        self.assertIn(b'"element_count":18446744065119617025,', proc.stdout)


# ---------------------------------------------------------------------------------------------- invalid lines
class InvalidLineTest(CliTestCase):
    def test_parse_error_line(self):
        lines = ["not json", "{}", jline(shape(batch=-1)), jline(shape(batch=4294967296)), jline(shape(batch=1.5)),
                 jline(shape(role="query")), jline(GQA)[:-1], jline(GQA) + " x", "[]",
                 '{"schema_version":"%s","batch":1,"batch":1}' % SCHEMA_ID, "null", '"str"']
        proc = self.check("\n".join(lines) + "\n")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, b"")
        vs = verdicts(proc)
        self.assertEqual(len(vs), len(lines))
        for i, v in enumerate(vs, start=1):
            self.assertParseError(v, i)
        raw = out_lines(proc)
        self.assertTrue(raw[0].startswith(b'{"line":1,"ok":false,"stage":"parse","error":"'), raw[0])
        self.assertEqual(keys_in_order(raw[0]), ["line", "ok", "stage", "error"])

    def test_missing_field_is_parse_error(self):
        for field in FIELD_ORDER:
            d = dict(GQA)
            del d[field]
            with self.subTest(field=field):
                [v] = verdicts(self.check(jline(d) + "\n"))
                self.assertParseError(v, 1)

    def test_validate_messages(self):
        cases = [
            (shape(schema_version="fib_quant_kv_tensor_shape_v2"), "corrupt_payload",
             "kv shape schema_version fib_quant_kv_tensor_shape_v2, expected fib_quant_kv_tensor_shape_v1"),
            (shape(schema_version=""), "corrupt_payload",
             "kv shape schema_version , expected fib_quant_kv_tensor_shape_v1"),
            (shape(batch=0), "corrupt_payload", "kv shape batch must be > 0"),
            (shape(layers=0), "corrupt_payload", "kv shape layers must be > 0"),
            (shape(kv_heads=0), "corrupt_payload", "kv shape kv_heads must be > 0"),
            (shape(query_heads=0), "corrupt_payload", "kv shape query_heads must be > 0"),
            (shape(tokens=0), "corrupt_payload", "kv shape tokens must be > 0"),
            (shape(head_dim=0), "corrupt_payload", "kv shape head_dim must be > 0"),
            (shape(batch=0, head_dim=0), "corrupt_payload", "kv shape batch must be > 0"),
            (shape(attention_kind="mha", kv_heads=8, query_heads=32), "corrupt_payload",
             "MHA requires query_heads == kv_heads"),
            (shape(attention_kind="mqa", kv_heads=2, query_heads=32), "corrupt_payload",
             "MQA requires kv_heads == 1"),
            (shape(attention_kind="gqa", kv_heads=3, query_heads=32), "corrupt_payload",
             "query_heads must be divisible by kv_heads"),
            (shape(role="key", rope_state="not_applicable"), "corrupt_payload",
             "key tensors must declare pre_rope or post_rope"),
            (shape(MHA, role="value", rope_state="pre_rope"), "corrupt_payload",
             "value tensors must use not_applicable rope state"),
            (shape(MHA, role="value", rope_state="post_rope"), "corrupt_payload",
             "value tensors must use not_applicable rope state"),
            (shape(MHA, batch=4294967295, layers=4294967295, kv_heads=4294967295, query_heads=4294967295,
                   tokens=4294967295), "resource_limit_exceeded", "kv shape size overflow"),
            (shape(MHA, batch=4294967295, layers=4294967295, kv_heads=1, query_heads=1, tokens=1, head_dim=2),
             "resource_limit_exceeded", "kv shape size overflow"),
        ]
        text = "".join(jline(d) + "\n" for d, _, _ in cases)
        proc = self.check(text)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, b"")
        self.assertEqual(verdicts(proc),
                         [validate_verdict(i, kind, msg) for i, (_, kind, msg) in enumerate(cases, start=1)])

    def test_validate_line_raw_bytes(self):
        proc = self.check(jline(shape(attention_kind="mha", kv_heads=8, query_heads=32)) + "\n")
        self.assertEqual(proc.stdout, b'{"line":1,"ok":false,"stage":"validate","error":"corrupt_payload",'
                                      b'"message":"MHA requires query_heads == kv_heads"}\n')

    def test_block_dim_32(self):
        lines = [jline(GQA),                                           # head_dim 64: ok
                 jline(shape(head_dim=80)),                            # not a multiple of 32
                 jline(shape(head_dim=16)),                            # smaller than the block
                 jline(shape(attention_kind="mha", head_dim=80)),      # validate() first: its error wins
                 "{",                                                  # parse error stays a parse error
                 jline(shape(head_dim=4294967295))]
        proc = self.check("\n".join(lines) + "\n", "--block-dim", "32")
        self.assertEqual(proc.returncode, 1)
        vs = verdicts(proc)
        self.assertEqual(vs[0], ok_verdict(1, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST))
        self.assertEqual(vs[1], dim_verdict(2, 80, 32))
        self.assertEqual(vs[2], dim_verdict(3, 16, 32))
        self.assertEqual(vs[3], validate_verdict(4, "corrupt_payload", "MHA requires query_heads == kv_heads"))
        self.assertParseError(vs[4], 5)
        self.assertEqual(vs[5], dim_verdict(6, 4294967295, 32))
        raw = out_lines(proc)
        self.assertEqual(raw[1], b'{"line":2,"ok":false,"stage":"validate","error":"dimension_not_divisible",'
                                 b'"ambient_dim":80,"block_dim":32}')

    def test_block_dim_32_all_valid_exit_0(self):
        proc = self.check(jline(GQA) + "\n" + jline(MHA) + "\n", "--block-dim", "32")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertEqual([v["ok"] for v in verdicts(proc)], [True, True])

    def test_block_dim_0(self):
        proc = self.check(jline(GQA) + "\n" + jline(shape(head_dim=1)) + "\n", "--block-dim", "0")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(verdicts(proc), [dim_verdict(1, 64, 0), dim_verdict(2, 1, 0)])
        self.assertEqual(out_lines(proc)[0], b'{"line":1,"ok":false,"stage":"validate",'
                                             b'"error":"dimension_not_divisible","ambient_dim":64,"block_dim":0}')

    def test_block_dim_1_and_max(self):
        proc = self.check(jline(GQA) + "\n", "--block-dim", "1")
        self.assertEqual(proc.returncode, 0)
        proc = self.check(jline(GQA) + "\n", "--block-dim", "4294967295")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(verdicts(proc), [dim_verdict(1, 64, 4294967295)])

    def test_block_dim_spellings(self):
        for args in (["--block-dim", "32"], ["--block-dim=32"]):
            with self.subTest(args=args):
                proc = self.check(jline(shape(head_dim=80)) + "\n", *args)
                self.assertEqual(proc.returncode, 1)
                self.assertEqual(verdicts(proc), [dim_verdict(1, 80, 32)])
        # Option after the positional input.
        path = self.write_file(jline(shape(head_dim=80)) + "\n")
        proc = run(["check", path, "--block-dim", "32"])
        self.assertEqual(verdicts(proc), [dim_verdict(1, 80, 32)])
        proc = run(["check", "-", "--block-dim", "32"], (jline(shape(head_dim=80)) + "\n").encode())
        self.assertEqual(verdicts(proc), [dim_verdict(1, 80, 32)])


# ---------------------------------------------------------------------------------------------- escaping
class EscapingTest(CliTestCase):
    """Strings in the output are escaped exactly as serde_json escapes them: '"' and '\\', \\b \\t \\n \\f \\r,
    other control characters as \\u00xx (lower-case hex), everything else (DEL, '/', non-ASCII) verbatim."""

    def message_line(self, schema_version_json_text):
        """Output of a line whose schema_version is given as JSON string contents (already escaped)."""
        tail = jline(GQA).split(",", 1)[1]
        line = ('{"schema_version":"%s",' % schema_version_json_text) + tail + "\n"
        proc = self.check(line.encode("utf-8"))
        self.assertEqual(proc.returncode, 1, proc.stdout)
        [raw] = out_lines(proc)
        return raw

    def expect_message(self, raw, message_escaped_bytes):
        self.assertEqual(raw, b'{"line":1,"ok":false,"stage":"validate","error":"corrupt_payload","message":"kv shape '
                              b'schema_version ' + message_escaped_bytes +
                              b', expected fib_quant_kv_tensor_shape_v1"}')

    def test_tab_quote_control_non_ascii(self):
        raw = self.message_line('a\\tb\\"c\\u0001d caf\u00e9 \u65e5\u672c')
        self.expect_message(raw, 'a\\tb\\"c\\u0001d caf\u00e9 \u65e5\u672c'.encode("utf-8"))
        v = json.loads(raw)
        self.assertEqual(v["message"], 'kv shape schema_version a\tb"c\x01d caf\u00e9 \u65e5\u672c, '
                                       'expected fib_quant_kv_tensor_shape_v1')

    def test_all_short_escapes_and_backslash(self):
        raw = self.message_line('\\b\\t\\n\\f\\r\\\\\\"')
        self.expect_message(raw, b'\\b\\t\\n\\f\\r\\\\\\"')

    def test_other_control_characters_lower_case_hex(self):
        raw = self.message_line('\\u0000\\u0007\\u000b\\u000e\\u001b\\u001F')
        self.expect_message(raw, b'\\u0000\\u0007\\u000b\\u000e\\u001b\\u001f')

    def test_not_escaped(self):
        # DEL, '/', an escaped solidus, escaped and raw non-ASCII (2, 3, 4 byte UTF-8, a surrogate pair).
        raw = self.message_line('\x7f/\\/\\u00e9\u00e9\\u20ac\u20ac\\ud83d\\ude00\U0001F600')
        self.expect_message(raw, '\x7f//\u00e9\u00e9\u20ac\u20ac\U0001F600\U0001F600'.encode("utf-8"))


# ---------------------------------------------------------------------------------------------- input handling
class InputTest(CliTestCase):
    TEXT = (jline(GQA) + "\n" + "{\n" + jline(shape(batch=0)) + "\n" + jline(MHA) + "\n").encode()

    def expected(self):
        return [ok_verdict(1, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST),
                None,
                validate_verdict(3, "corrupt_payload", "kv shape batch must be > 0"),
                ok_verdict(4, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST)]

    def assertTextVerdicts(self, proc):
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stderr, b"")
        vs = verdicts(proc)
        exp = self.expected()
        self.assertEqual(len(vs), 4)
        self.assertParseError(vs[1], 2)
        self.assertEqual([vs[0], vs[2], vs[3]], [exp[0], exp[2], exp[3]])

    def test_from_file(self):
        self.assertTextVerdicts(run(["check", self.write_file(self.TEXT)]))

    def test_from_stdin_dash(self):
        self.assertTextVerdicts(run(["check", "-"], self.TEXT))

    def test_from_stdin_no_argument(self):
        self.assertTextVerdicts(run(["check"], self.TEXT))

    def test_file_and_stdin_outputs_identical(self):
        a = run(["check", self.write_file(self.TEXT)])
        b = run(["check", "-"], self.TEXT)
        c = run(["check"], self.TEXT)
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(a.stdout, c.stdout)

    def test_stdin_through_pipe(self):
        proc = subprocess.Popen([KVSHAPE, "check"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(self.TEXT, timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertEqual(out, run(["check"], self.TEXT).stdout)

    def test_line_numbers_from_1(self):
        text = "".join(jline(shape(tokens=i)) + "\n" for i in range(1, 51))
        vs = verdicts(self.check(text))
        self.assertEqual([v["line"] for v in vs], list(range(1, 51)))
        self.assertEqual([v["vector_count"] for v in vs], [16 * i for i in range(1, 51)])

    def test_blank_lines_are_parse_errors_and_counted(self):
        text = "\n" + jline(GQA) + "\n\n   \n\t\n" + jline(MHA) + "\n\n"
        proc = self.check(text)
        self.assertEqual(proc.returncode, 1)
        vs = verdicts(proc)
        self.assertEqual(len(vs), 7)
        for i in (1, 3, 4, 5, 7):
            self.assertParseError(vs[i - 1], i)
        self.assertEqual(vs[1], ok_verdict(2, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST))
        self.assertEqual(vs[5], ok_verdict(6, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST))

    def test_only_a_newline(self):
        proc = self.check("\n")
        self.assertEqual(proc.returncode, 1)
        [v] = verdicts(proc)
        self.assertParseError(v, 1)

    def test_crlf(self):
        text = (jline(GQA) + "\r\n" + jline(shape(batch=0)) + "\r\n\r\n" + jline(MHA) + "\r\n").encode()
        for args, stdin in ((["check", self.write_file(text)], None), (["check"], text)):
            with self.subTest(args=args[:1] + (["FILE"] if stdin is None else [])):
                proc = run(args, stdin)
                self.assertEqual(proc.returncode, 1)
                self.assertNotIn(b"\r", proc.stdout)
                vs = verdicts(proc)
                self.assertEqual(len(vs), 4)
                self.assertEqual(vs[0], ok_verdict(1, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST))
                self.assertEqual(vs[1], validate_verdict(2, "corrupt_payload", "kv shape batch must be > 0"))
                self.assertParseError(vs[2], 3)
                self.assertEqual(vs[3], ok_verdict(4, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST))

    def test_crlf_all_valid_exit_0(self):
        proc = self.check((jline(GQA) + "\r\n" + jline(MHA) + "\r\n").encode())
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertEqual(len(verdicts(proc)), 2)

    def test_last_line_without_newline(self):
        for tail in (jline(MHA), jline(MHA) + "\r"):
            with self.subTest(tail=tail[-3:]):
                proc = self.check(jline(GQA) + "\n" + tail)
                self.assertEqual(proc.returncode, 0)
                self.assertTrue(proc.stdout.endswith(b"}\n"))
                self.assertEqual(verdicts(proc),
                                 [ok_verdict(1, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST),
                                  ok_verdict(2, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST)])
        proc = run(["check"], jline(GQA).encode())
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(len(verdicts(proc)), 1)
        proc = run(["check"], b"{")  # an invalid last line without newline still gets its verdict
        self.assertEqual(proc.returncode, 1)
        [v] = verdicts(proc)
        self.assertParseError(v, 1)

    def test_empty_input(self):
        for args, stdin in ((["check", self.write_file(b"")], None), (["check", "-"], b""), (["check"], b"")):
            with self.subTest(args=args[1:2]):
                proc = run(args, stdin)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stdout, b"")
                self.assertEqual(proc.stderr, b"")

    def test_nul_byte_does_not_truncate_line(self):
        # A NUL after a valid object is not the end of the line: the line is invalid, the next is numbered 2.
        proc = self.check(jline(GQA).encode() + b"\x00\n" + jline(MHA).encode() + b"\n")
        self.assertEqual(proc.returncode, 1)
        vs = verdicts(proc)
        self.assertEqual(len(vs), 2)
        self.assertParseError(vs[0], 1)
        self.assertEqual(vs[1], ok_verdict(2, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST))

    def test_invalid_utf8_is_parse_error(self):
        line = jline(shape(schema_version="ab")).encode().replace(b'"ab"', b'"a\xffb"')
        proc = self.check(line + b"\n")
        self.assertEqual(proc.returncode, 1)
        [v] = verdicts(proc)  # the output itself stays valid UTF-8 JSON
        self.assertParseError(v, 1)


# ---------------------------------------------------------------------------------------------- exit status
class ExitStatusTest(CliTestCase):
    def test_all_valid_0_any_invalid_1(self):
        self.assertEqual(self.check(jline(GQA) + "\n").returncode, 0)
        self.assertEqual(self.check(jline(GQA) + "\n" + jline(shape(batch=0)) + "\n").returncode, 1)
        self.assertEqual(self.check(jline(shape(batch=0)) + "\n" + jline(GQA) + "\n").returncode, 1)
        self.assertEqual(self.check("x\n" + jline(GQA) + "\n").returncode, 1)
        self.assertEqual(self.check(jline(GQA) + "\n" + jline(shape(head_dim=80)) + "\n",
                                    "--block-dim", "32").returncode, 1)

    def test_usage_errors(self):
        path = self.write_file(jline(GQA) + "\n")
        cases = {
            "no subcommand": [],
            "unknown subcommand": ["frobnicate"],
            "unknown subcommand with file": ["frobnicate", path],
            "misspelt subcommand": ["chek", path],
            "unknown option": ["check", "--bogus", path],
            "unknown top-level option": ["--bogus", "check", path],
            "unknown short option": ["check", "-x", path],
            "block-dim -1": ["check", "--block-dim", "-1", path],
            "block-dim 2^32": ["check", "--block-dim", "4294967296", path],
            "block-dim 2^64": ["check", "--block-dim", "18446744073709551616", path],
            "block-dim abc": ["check", "--block-dim", "abc", path],
            "block-dim 32.0": ["check", "--block-dim", "32.0", path],
            "block-dim 32abc": ["check", "--block-dim", "32abc", path],
            "block-dim missing value": ["check", "--block-dim"],
            "block-dim twice": ["check", "--block-dim", "8", "--block-dim", "32", path],
            "two inputs": ["check", path, path],
            "two inputs with dash": ["check", "-", path],
        }
        for name, args in cases.items():
            with self.subTest(name):
                self.assertUsageError(run(args, (jline(GQA) + "\n").encode()))

    def test_unknown_command_is_named(self):
        for word in ["frobnicate", "chek", "Check"]:
            with self.subTest(word):
                proc = run([word, self.write_file(jline(GQA) + "\n")])
                self.assertUsageError(proc)
                self.assertEqual(proc.stdout, b"")
                self.assertEqual(proc.stderr.decode(), f"kvshape: unknown command '{word}' (the commands: check, "
                                 "validate, digest, convert, from-hf-config, checkpoint, upgrade, compat; see kvshape --help)\n")

    def test_no_command_names_the_commands(self):
        names = "check, validate, digest, convert, from-hf-config, checkpoint, upgrade, compat"
        for args, text in (([], "kvshape: a command is required (the commands: %s; see kvshape --help)\n" % names),
                           (["--bogus"], "kvshape: unknown option '--bogus', and no command (the commands: %s; see "
                                         "kvshape --help)\n" % names)):
            with self.subTest(args):
                proc = run(args)
                self.assertUsageError(proc)
                self.assertEqual(proc.stderr.decode(), text)
        # An unknown option next to a command is CLI11's to name; --help and --version still work alone.
        proc = run(["--bogus", "check"])
        self.assertUsageError(proc)
        self.assertIn("--bogus", proc.stderr.decode())
        self.assertEqual(run(["--version"]).returncode, 0)
        self.assertEqual(run(["--help"]).returncode, 0)

    def test_missing_input_file(self):
        missing = os.path.join(self.tmp, "does-not-exist.jsonl")
        expected = "kvshape check: cannot open `%s`: No such file or directory\n" % missing
        for args in (["check", missing], ["check", "--block-dim", "32", missing]):
            with self.subTest(args=args):
                proc = run(args)
                self.assertUsageError(proc)
                self.assertEqual(proc.stderr.decode(), expected)
        # The one-descriptor commands say the same of their input.
        for command in (["validate"], ["digest"], ["convert", "--to", "fb"]):
            with self.subTest(command=command[0]):
                proc = run(command + [missing] + (["-"] if command[0] == "convert" else []))
                self.assertUsageError(proc)
                self.assertEqual(proc.stderr.decode(),
                                 "kvshape %s: cannot open `%s`: No such file or directory\n" % (command[0], missing))

    def test_unreadable_input_file(self):
        path = self.write_file(jline(GQA) + "\n")
        os.chmod(path, 0)
        proc = run(["check", path], **self.as_nobody(KVSHAPE))
        self.assertUsageError(proc)
        self.assertEqual(proc.stderr.decode(), "kvshape check: cannot open `%s`: Permission denied\n" % path)

    def test_directory_as_input(self):
        proc = run(["check", self.tmp])
        self.assertUsageError(proc)
        self.assertEqual(proc.stderr.decode(), "kvshape check: cannot read `%s`: Is a directory\n" % self.tmp)

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_write_error_exit_2(self):
        path = self.write_file(jline(GQA) + "\n")
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([KVSHAPE, "check", path], stdin=subprocess.DEVNULL, stdout=full,
                                  stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertNotEqual(proc.stderr, b"")

    def test_help(self):
        proc = run(["--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"check", proc.stdout)
        proc = run(["check", "--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"--block-dim", proc.stdout)

    def test_version(self):
        proc = run(["--version"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout.decode().strip(), r"\A(kvshape )?v?\d+\.\d+\.\d+\Z")


class BlockDimSpellingTest(CliTestCase):
    """--block-dim B takes a decimal u32. These document problems found in the CLI (see the report)."""

    def test_empty_value_is_usage_error(self):
        # `--block-dim ""` must not silently mean "no block dimension check".
        proc = self.check(jline(shape(head_dim=80)) + "\n", "--block-dim", "")
        self.assertUsageError(proc)

    def test_leading_zero_is_not_octal(self):
        # "032" is thirty-two (or rejected), never octal 26.
        proc = self.check(jline(shape(head_dim=80)) + "\n", "--block-dim", "032")
        if proc.returncode != 2:
            self.assertEqual(verdicts(proc), [dim_verdict(1, 80, 32)])


# ---------------------------------------------------------------------------------------------- large inputs
STREAM_HELPER = r'''
import json, resource, subprocess, sys, threading
kvshape, n = sys.argv[1], int(sys.argv[2])
valid = sys.argv[3].encode() + b"\n"
early_error = b'{"role":1' + b" " * 500 + b"}\n"   # rejected early, but the whole line must still be read
chunk_lines = []
for i in range(100):
    chunk_lines.append(valid if i % 20 == 0 else b"\n" if i % 20 == 10 else early_error)
chunk = b"".join(chunk_lines)
proc = subprocess.Popen([kvshape, "check"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL)
sent = [0]
def feed():
    for _ in range(n // 100):
        proc.stdin.write(chunk)
        sent[0] += len(chunk)
    proc.stdin.close()
writer = threading.Thread(target=feed)
writer.start()
count = ok = 0
bad = None
out_bytes = 0
rest = b""
while True:
    data = proc.stdout.read(1 << 20)
    if not data:
        break
    out_bytes += len(data)
    lines = (rest + data).split(b"\n")
    rest = lines.pop()
    for ln in lines:
        count += 1
        if bad is None and not ln.startswith(b'{"line":%d,"ok":' % count):
            bad = ln[:200].decode("utf-8", "replace")
        if ln.startswith(b'{"line":%d,"ok":true,' % count):
            ok += 1
writer.join()
rc = proc.wait()
print(json.dumps({"rc": rc, "count": count, "ok": ok, "bad": bad, "rest": rest.decode("utf-8", "replace"),
                  "in_bytes": sent[0], "out_bytes": out_bytes,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
'''

# Runs one command, output to /dev/null, and prints its exit status and peak RSS: the helper runs nothing else, so
# RUSAGE_CHILDREN's ru_maxrss is the peak of that command (the largest process in it), whatever the test ran before.
PEAK_RSS_HELPER = r'''
import json, resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL).returncode
print(json.dumps({"rc": rc, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
'''


def peak_rss(argv):
    """(exit status, peak RSS in bytes) of one fresh run of `argv`."""
    helper = subprocess.run([sys.executable, "-c", PEAK_RSS_HELPER] + list(argv), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=300)
    assert helper.returncode == 0, helper.stderr.decode(errors="replace")
    r = json.loads(helper.stdout)
    return r["rc"], r["maxrss_kib"] * 1024


class LargeInputTest(CliTestCase):
    @unittest.skipUnless(sys.platform.startswith("linux"), "ru_maxrss in KiB is Linux's convention")
    @unittest.skipIf(os.environ.get("FIB_QUANT_KV_SANITIZED"),
                     require_all.SANITIZED + "sanitizer runtimes keep freed memory in quarantine")
    def test_streaming_memory_does_not_grow(self):
        n = 200000
        limit_kib = 64 * 1024
        start = time.monotonic()
        # The helper runs kvshape as its only child, so RUSAGE_CHILDREN's ru_maxrss is kvshape's peak RSS.
        helper = subprocess.run([sys.executable, "-c", STREAM_HELPER, KVSHAPE, str(n), jline(GQA)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        elapsed = time.monotonic() - start
        self.assertEqual(helper.returncode, 0, helper.stderr.decode(errors="replace"))
        r = json.loads(helper.stdout)
        info = "%r, %.1f s" % (r, elapsed)
        self.assertEqual(r["rc"], 1, info)
        self.assertIsNone(r["bad"], info)
        self.assertEqual(r["rest"], "", info)
        self.assertEqual(r["count"], n, info)
        self.assertEqual(r["ok"], n // 20, info)
        self.assertGreater(r["in_bytes"], limit_kib * 1024, info)  # holding the input would exceed the limit
        self.assertLess(r["maxrss_kib"], limit_kib, "peak RSS grows with the input: " + info)
        sys.stderr.write("\n  streaming: %d lines, %.0f MB in, %.0f MB out, peak RSS %.1f MiB, %.1f s\n"
                         % (r["count"], r["in_bytes"] / 1e6, r["out_bytes"] / 1e6, r["maxrss_kib"] / 1024,
                            elapsed))

    @unittest.skipUnless(sys.platform.startswith("linux"), "ru_maxrss in KiB is Linux's convention")
    @unittest.skipIf(os.environ.get("FIB_QUANT_KV_SANITIZED"),
                     require_all.SANITIZED + "sanitizer runtimes inflate memory")
    def test_huge_line_held_once(self):
        # A valid descriptor with one 64 MB unknown string: the line is read into one buffer and parsed in place
        # there, so the peak is about the line itself, never two copies of it (or three, as it once was).
        size = 64 << 20
        line = ('{"x":"' + "a" * size + '",' + jline(GQA)[1:]).encode()
        path = self.write_file(line + b"\n")
        limit = 1.25 * len(line) + (16 << 20)
        pipe = ["sh", "-c", 'cat "$1" | "$0" check -', KVSHAPE, path]  # no size known in advance
        for name, argv in (("check", [KVSHAPE, "check", path]), ("check from a pipe", pipe),
                           ("validate", [KVSHAPE, "validate", path]), ("digest", [KVSHAPE, "digest", path])):
            with self.subTest(name):
                rc, peak = peak_rss(argv)
                self.assertEqual(rc, 0)
                self.assertLessEqual(peak, limit, "peak RSS %.1f MiB for a %.1f MiB line (limit %.1f MiB)"
                                     % (peak / 2**20, len(line) / 2**20, limit / 2**20))

    @unittest.skipUnless(sys.platform.startswith("linux"), "ru_maxrss in KiB is Linux's convention")
    @unittest.skipIf(os.environ.get("FIB_QUANT_KV_SANITIZED"),
                     require_all.SANITIZED + "sanitizer runtimes inflate memory")
    def test_memory_flat_in_the_number_of_lines(self):
        # 10 k and 200 k lines (valid, invalid, unparsable) peak within 2 MiB of each other: buffers are reused.
        block = "".join(jline(GQA) + "\n" if i % 4 == 0 else jline(shape(batch=0)) + "\n" if i % 4 == 1
                        else '{"batch":1.0}\n' if i % 4 == 2 else jline(shape(tokens=i)) + "\n"
                        for i in range(1000)).encode()
        peaks = []
        for n in (10_000, 200_000):
            path = self.write_file(block * (n // 1000), "lines_%d.jsonl" % n)
            rc, peak = peak_rss([KVSHAPE, "check", path])
            self.assertEqual(rc, 1)
            peaks.append(peak)
        self.assertLessEqual(abs(peaks[1] - peaks[0]), 2 << 20,
                             "peak RSS %.1f MiB for 10 k lines, %.1f MiB for 200 k" % (peaks[0] / 2**20,
                                                                                      peaks[1] / 2**20))

    def test_whitespace_padded_8_mib_line(self):
        pad = " " * (1 << 20)
        items = ['"%s":%s' % (k, json.dumps(GQA[k])) for k in FIELD_ORDER]
        line = "{" + pad + (pad + "," + pad).join(items[:4]) + "," + ",".join(items[4:]) + "\t" * (1 << 20) + pad + "}"
        self.assertGreaterEqual(len(line), 8 << 20)
        proc = self.check(line + "\n" + jline(MHA) + "\n")
        self.assertEqual(proc.returncode, 0, proc.stdout[:300])
        self.assertEqual(verdicts(proc), [ok_verdict(1, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST),
                                          ok_verdict(2, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST)])

    def test_unknown_field_with_5_mib_string(self):
        big = dict(unknown="x" * (5 << 20))
        big.update(GQA)
        big["later_unknown"] = ["y" * (1 << 20), {"z": "\\" * 1000}]
        proc = run(["check"], (jline(MHA) + "\n" + jline(big) + "\n" + jline(MHA) + "\n").encode())
        self.assertEqual(proc.returncode, 0, proc.stdout[:300])
        self.assertEqual(verdicts(proc), [ok_verdict(1, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST),
                                          ok_verdict(2, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST),
                                          ok_verdict(3, MHA_VECTORS, MHA_ELEMENTS, MHA_CANONICAL, MHA_DIGEST)])

    def test_long_schema_version_echoed_in_message(self):
        sv = ("ab\t\u00e9\"" * (1 << 18))  # 1.25 Mi characters, with characters that need escaping
        proc = self.check(jline(shape(schema_version=sv)) + "\n" + jline(GQA) + "\n")
        self.assertEqual(proc.returncode, 1)
        vs = verdicts(proc)
        self.assertEqual(vs[0], validate_verdict(1, "corrupt_payload",
                                                 "kv shape schema_version %s, expected %s" % (sv, SCHEMA_ID)))
        self.assertEqual(vs[1]["line"], 2)
        self.assertIs(vs[1]["ok"], True)
        self.assertIn(('ab\\t\u00e9\\"' * 4).encode("utf-8"), out_lines(proc)[0])

    def test_long_invalid_line_then_valid(self):
        proc = self.check("[" + "1," * (3 << 20) + "1]\n" + jline(GQA) + "\n")
        self.assertEqual(proc.returncode, 1)
        vs = verdicts(proc)
        self.assertParseError(vs[0], 1)
        self.assertEqual(vs[1], ok_verdict(2, GQA_VECTORS, GQA_ELEMENTS, GQA_CANONICAL, GQA_DIGEST))


# ---------------------------------------------------------------------------------------------- command table
SRC_CLI = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "cli")


def command_table():
    """The rows of kCommands in src/cli/main.cpp, in order: (name, summary, add function)."""
    with open(os.path.join(SRC_CLI, "main.cpp"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"constexpr Command kCommands\[\] = \{(.*?)\n\};", text, re.S)
    assert block, "no kCommands table in src/cli/main.cpp"
    rows = re.findall(r'\{\s*"([^"]+)",\s*"((?:[^"\\]|\\.)*)",\s*(\w+)\s*\}', block.group(1))
    assert rows, "kCommands has no rows"
    return rows


class CommandTableTest(unittest.TestCase):
    """The command table in src/cli/main.cpp is what `kvshape --help` lists, and each row has its file."""

    def test_help_lists_every_command_of_the_table(self):
        proc = run(["--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertIn("Subcommands:", lines)
        listed = []
        for line in lines[lines.index("Subcommands:") + 1:]:
            if not line.strip():
                break
            name, summary = line.split(None, 1)
            listed.append((name, summary.strip()))
        self.assertEqual(listed, [(name, summary) for name, summary, _ in command_table()])

    def test_each_command_has_help_with_its_summary(self):
        for name, summary, _ in command_table():
            with self.subTest(name):
                proc = run([name, "--help"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                first, usage = proc.stdout.decode().splitlines()[:2]
                self.assertEqual(first, summary)
                self.assertTrue(usage.startswith(f"Usage: kvshape {name} "), usage)

    def test_each_row_has_its_file_and_each_file_its_row(self):
        rows = command_table()
        folder = os.path.join(SRC_CLI, "commands")
        for name, _, add in rows:
            with self.subTest(name):
                # A command's file is its name with `-` as `_`: from-hf-config is commands/from_hf_config.cpp.
                with open(os.path.join(folder, name.replace("-", "_") + ".cpp"), encoding="utf-8") as f:
                    self.assertRegex(f.read(), r"\bRun " + add + r"\(CLI::App& command\) \{")
        files = sorted(f[:-len(".cpp")] for f in os.listdir(folder) if f.endswith(".cpp"))
        self.assertEqual(files, sorted(name.replace("-", "_") for name, _, _ in rows))

    def test_unknown_command_names_the_table(self):
        names = ", ".join(name for name, _, _ in command_table())
        for args in (["frobnicate"], ["frobnicate", "--help"], ["x", "check"]):
            with self.subTest(args):
                proc = run(args)
                self.assertEqual(proc.returncode, 2)
                self.assertEqual(proc.stdout, b"")
                self.assertEqual(proc.stderr.decode(),
                                 f"kvshape: unknown command '{args[0]}' (the commands: {names}; see kvshape --help)\n")


if __name__ == "__main__":
    KVSHAPE = kvshape_from_argv()
    require_all.unittest_main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
