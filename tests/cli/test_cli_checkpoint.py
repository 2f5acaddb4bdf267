#!/usr/bin/env python3
"""End-to-end tests of `kvshape checkpoint inspect|attach|verify|detach` (Python 3 standard library only).

Run as:  python3 tests/cli/test_cli_checkpoint.py PATH_TO_KVSHAPE [unittest options]

Over the two bundled files (examples/checkpoints/, pinned here) and over files built byte by byte by these tests
(tests/checkpoint/checkpoint_files.py, from the formats' descriptions, never with kvshape): the tensor table
in text and JSON, attach / verify / detach round trips with every tensor byte and every other metadata pair
checked against the input, refusals that name each disagreement and write nothing, unreadable files (exit 2),
usage errors (exit 2), the canonical one-tensor layout, and the progress line on a terminal.
Exit status: 0 ok, 1 a descriptor that is invalid or disagrees with its tensors, 2 usage or an unreadable file.
"""

import json
import os
import pty
import shutil
import stat
import subprocess
import sys

KVSHAPE = None  # set from argv[1] in __main__
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples", "checkpoints")
sys.path.insert(0, os.path.dirname(HERE))  # tests/
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "checkpoint"))  # tests/checkpoint/
import require_all  # noqa: E402  FIB_QUANT_KV_REQUIRE_ALL: under it any skipped test fails the run
import checkpoint_files as cf  # noqa: E402
from cli_support import TempDirTestCase, kvshape_from_argv  # noqa: E402

# The bundled files: 2 layers of past.{layer}.key / .value, each [1, 2, 4, 8] bf16 (128 bytes), in that order.
BUNDLED_NAMES = ["past.0.key", "past.0.value", "past.1.key", "past.1.value"]
BUNDLED_SHAPE = [1, 2, 4, 8]
BUNDLED_DATA = {"safetensors": 392, "gguf": 384}  # the data section's start: 8 + 384 header bytes; 32-aligned
BUNDLED_FILES = {"safetensors": "kv_cache.safetensors", "gguf": "kv_cache.gguf"}


def run(*args, timeout=120, **kwargs):
    """kvshape checkpoint ARGS, stdin empty, stdout and stderr captured (so stderr is a pipe)."""
    return subprocess.run([KVSHAPE, "checkpoint", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, **kwargs)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def bundled_table(fmt):
    start = BUNDLED_DATA[fmt]
    return [{"name": n, "dtype": "BF16", "shape": BUNDLED_SHAPE, "begin": start + 128 * i, "end": start + 128 * (i + 1)}
            for i, n in enumerate(BUNDLED_NAMES)]


class CheckpointTestCase(TempDirTestCase):
    tmp_prefix = "kvshape_checkpoint_"

    def ok(self, *args):
        proc = run(*args)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        return proc

    def inspect(self, path):
        proc = self.ok("inspect", path, "--format", "json")
        self.assertTrue(proc.stdout.endswith(b"}\n") and proc.stdout.count(b"\n") == 1, proc.stdout[-200:])
        return json.loads(proc.stdout)

    def copy_bundled(self, fmt, name=None):
        return shutil.copyfile(os.path.join(EXAMPLES, BUNDLED_FILES[fmt]), os.path.join(self.tmp, name or "in"))

    def shape_file(self, d, name="shape.json"):
        return self.write_file(json.dumps(d), name)

    def assert_folder(self, names):
        """The folder holds exactly these files: nothing written, no temporary file left behind."""
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(names))

    def assert_same_tensor_bytes(self, before, after):
        """Every tensor's bytes in `after` are those in `before`, slicing each file by its own tensor table
        (kvshape's, from inspect --format json)."""
        b, a = read(before), read(after)
        tb, ta = self.inspect(before)["tensors"], self.inspect(after)["tensors"]
        described = [(t["name"], t["dtype"], t["shape"]) for t in tb]
        self.assertEqual(described, [(t["name"], t["dtype"], t["shape"]) for t in ta])
        for x, y in zip(tb, ta):
            self.assertEqual(b[x["begin"]:x["end"]], a[y["begin"]:y["end"]], x["name"])
            self.assertEqual(y["end"] - y["begin"], x["end"] - x["begin"])


# ---------------------------------------------------------------------------------------------- bundled files

class BundledFiles(CheckpointTestCase):
    def test_bundled_files_are_what_make_examples_writes(self):
        sys.path.insert(0, EXAMPLES)
        try:
            import make_examples
        finally:
            sys.path.remove(EXAMPLES)
        self.assertEqual(read(os.path.join(EXAMPLES, "kv_cache.safetensors")), make_examples.safetensors())
        self.assertEqual(read(os.path.join(EXAMPLES, "kv_cache.gguf")), make_examples.gguf())
        for role in ("key", "value"):
            with open(os.path.join(EXAMPLES, f"{role}.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f), cf.descriptor(role))

    def test_inspect_json_tensor_table(self):
        for fmt in BUNDLED_FILES:
            with self.subTest(fmt):
                path = os.path.join(EXAMPLES, BUNDLED_FILES[fmt])
                got = self.inspect(path)
                self.assertEqual(got["file"], path)
                self.assertEqual(got["format"], fmt)
                self.assertEqual(got["data_offset"], BUNDLED_DATA[fmt])
                self.assertEqual(got["alignment"], 32 if fmt == "gguf" else 8)
                self.assertEqual(got["version"], 3 if fmt == "gguf" else 0)
                self.assertEqual(got["tensors"], bundled_table(fmt))
                # safetensors keys are free text: the pattern itself; GGUF's are lower_snake_case segments (docs/checkpoints.md).
        desc_key = {role: (f"fib_quant_kv.kv_shape.past.{{layer}}.{role}" if fmt == "safetensors"
                           else f"fib_quant_kv.kv_shape.past_layer_{role}.descriptor") for role in ("key", "value")}
        self.assertEqual(got["descriptors"], [])
        st = self.inspect(os.path.join(EXAMPLES, "kv_cache.safetensors"))["metadata"]
        self.assertEqual(st, [{"key": "format", "type": "string", "value": "pt"},
                              {"key": "producer", "type": "string", "value": "examples/checkpoints/make_examples.py"}])
        gg = self.inspect(os.path.join(EXAMPLES, "kv_cache.gguf"))["metadata"]
        self.assertEqual(gg, [{"key": "general.architecture", "type": "string", "value": "llama"},
                              {"key": "general.alignment", "type": "uint32", "value": "32"}])

    def test_inspect_text(self):
        for fmt, size in (("safetensors", 904), ("gguf", 896)):
            with self.subTest(fmt):
                path = os.path.join(EXAMPLES, BUNDLED_FILES[fmt])
                proc = self.ok("inspect", path)
                start = BUNDLED_DATA[fmt]
                head = f"{path}: {fmt}{' v3' if fmt == 'gguf' else ''}, 4 tensors, data from byte {start} " \
                       f"(aligned to {32 if fmt == 'gguf' else 8}), {size} B"
                lines = proc.stdout.decode().split("\n")
                self.assertEqual(lines[0], head)
                self.assertEqual(lines[1:], ["tensors:"] + [
                    f"  {n}  BF16  [1, 2, 4, 8]  bytes [{start + 128 * i}, {start + 128 * (i + 1)})"
                    for i, n in enumerate(BUNDLED_NAMES)] + ["metadata: 2 pairs", "descriptors: 0", ""])

    def test_attach_key_and_value_then_verify_then_detach(self):
        for fmt in BUNDLED_FILES:
            with self.subTest(fmt):
                self.round_trip(fmt)

    def round_trip(self, fmt):
        for f in os.listdir(self.tmp):
            os.remove(os.path.join(self.tmp, f))
        src = self.copy_bundled(fmt)
        out = os.path.join(self.tmp, "out")
        key, value = os.path.join(EXAMPLES, "key.json"), os.path.join(EXAMPLES, "value.json")
        proc = self.ok("attach", src, "--shape", key, "--tensors", "past.{layer}.key", "-o", out)
        self.assertEqual((proc.stdout, proc.stderr), (b"", b""))
        # The value group in place: -o is the file itself.
        self.ok("attach", out, "--shape", value, "--tensors", "past.{layer}.value", "-o", out)
        self.assert_folder(["in", "out"])
        self.assertEqual(read(src), read(os.path.join(EXAMPLES, BUNDLED_FILES[fmt])))  # the source untouched
        proc = self.ok("verify", out)
        self.assertEqual(proc.stdout.decode(), f"{out}: 2 descriptors, every one agrees with its tensors\n")
        self.assertEqual(proc.stderr, b"")
        self.assert_same_tensor_bytes(src, out)

        got = self.inspect(out)
        self.assertEqual(got["data_offset"] % got["alignment"], 0)
        digests = {role: subprocess.run([KVSHAPE, "digest", os.path.join(EXAMPLES, f"{role}.json")],
                                        capture_output=True, check=True).stdout.decode().strip()
                   for role in ("key", "value")}
        # safetensors keys are free text: the pattern itself; GGUF's are lower_snake_case segments (docs/checkpoints.md).
        desc_key = {role: (f"fib_quant_kv.kv_shape.past.{{layer}}.{role}" if fmt == "safetensors"
                           else f"fib_quant_kv.kv_shape.past_layer_{role}.descriptor") for role in ("key", "value")}
        self.assertEqual(got["descriptors"], [
            {"key": desc_key[role], "target": f"past.{{layer}}.{role}",
             "layout": "per_layer", "descriptor": cf.descriptor(role), "digest": digests[role], "error": None,
             "tensors": [f"past.0.{role}", f"past.1.{role}"]} for role in ("key", "value")])
        canon = {role: cf.canonical(cf.descriptor(role)) for role in ("key", "value")}
        text = self.ok("inspect", out).stdout.decode()
        for role in ("key", "value"):
            self.assertIn(f"  past.{{layer}}.{role} (one tensor per layer, 2 present) under "
                          f"{desc_key[role]}\n"
                          f"    {canon[role]}\n    digest {digests[role]}\n", text)
        # The other metadata unchanged, read by this test's own reader; ours appended, as canonical JSON.
        if fmt == "safetensors":
            metadata, _, start = cf.read_safetensors(read(out))
            self.assertEqual(list(metadata.items()), [
                ("format", "pt"), ("producer", "examples/checkpoints/make_examples.py"),
                ("fib_quant_kv.kv_shape.past.{layer}.key", canon["key"]),
                ("fib_quant_kv.kv_shape.past.{layer}.value", canon["value"])])
            self.assertEqual(start % 8, 0)
        else:
            before, after = cf.read_gguf(read(src)), cf.read_gguf(read(out))
            self.assertEqual(after["metadata"][:2], before["metadata"])
            self.assertEqual([(k, t, v) for k, t, v, _ in after["metadata"][2:]], [
                ("fib_quant_kv.kv_shape.past_layer_key.descriptor", cf.STRING, canon["key"]),
                ("fib_quant_kv.kv_shape.past_layer_key.tensors", cf.STRING, "past.{layer}.key"),
                ("fib_quant_kv.kv_shape.past_layer_value.descriptor", cf.STRING, canon["value"]),
                ("fib_quant_kv.kv_shape.past_layer_value.tensors", cf.STRING, "past.{layer}.value")])
            for k, _, _, _ in after["metadata"]:  # GGUF's key convention, ours included
                self.assertRegex(k, r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
            self.assertEqual(after["tensors"], before["tensors"])
            self.assertEqual(after["data_offset"], got["data_offset"])
            self.assertEqual(cf.gguf_tensor_slices(read(out)), cf.gguf_tensor_slices(read(src)))

        # Detach in place, one at a time; verify agrees each time.
        proc = self.ok("detach", out, "--tensors", "past.{layer}.key", "-o", out)
        self.assertEqual((proc.stdout, proc.stderr), (b"", b""))
        self.assertEqual(self.ok("verify", out).stdout.decode(),
                         f"{out}: 1 descriptor, every one agrees with its tensors\n")
        self.ok("detach", out, "--tensors", "past.{layer}.value", "-o", out)
        self.assertEqual(self.ok("verify", out).stdout.decode(),
                         f"{out}: 0 descriptors, every one agrees with its tensors\n")
        self.assert_folder(["in", "out"])
        self.assert_same_tensor_bytes(src, out)
        self.assertEqual(self.inspect(out)["metadata"], self.inspect(src)["metadata"])
        if fmt == "gguf":  # pairs copied byte for byte, the data section where it was: the very same file
            self.assertEqual(read(out), read(src))

        # Detaching what is not there: exit 1, named, nothing written.
        again = os.path.join(self.tmp, "again")
        proc = run("detach", out, "--tensors", "past.{layer}.key", "-o", again)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"checkpoint.not_attached", proc.stderr)
        self.assertIn(b"past.{layer}.key", proc.stderr)
        self.assertEqual(proc.stdout, b"")
        self.assert_folder(["in", "out"])

    def test_attaching_again_replaces_in_place(self):
        src = self.copy_bundled("gguf")
        key = os.path.join(EXAMPLES, "key.json")
        self.ok("attach", src, "--shape", key, "--tensors", "past.{layer}.key", "-o", src)
        first = read(src)
        self.ok("attach", src, "--shape", key, "--tensors", "past.{layer}.key", "-o", src)
        self.assertEqual(read(src), first)
        changed = cf.descriptor("key", query_heads=4)
        self.ok("attach", src, "--shape", self.shape_file(changed), "--tensors", "past.{layer}.key", "-o", src)
        meta = cf.read_gguf(read(src))["metadata"]
        self.assertEqual([(k, v) for k, _, v, _ in meta][2:],
                         [("fib_quant_kv.kv_shape.past_layer_key.descriptor", cf.canonical(changed)),
                          ("fib_quant_kv.kv_shape.past_layer_key.tensors", "past.{layer}.key")])

    def test_gguf_keys_of_old_are_read_and_rewritten(self):
        # A GGUF file written before keys followed GGUF's convention: the target in the key.
        d = cf.descriptor("value", layers=2, kv_heads=2, tokens=4, head_dim=8, dtype="f16")
        old = per_layer_gguf(extra_metadata=[("fib_quant_kv.kv_shape.blk.{layer}.attn_v", cf.STRING, cf.canonical(d))])
        src = self.write_file(old, "old.gguf")
        self.assertEqual(self.ok("verify", src).stdout.decode(), f"{src}: 1 descriptor, every one agrees with its tensors\n")
        self.assertEqual([x["target"] for x in self.inspect(src)["descriptors"]], ["blk.{layer}.attn_v"])
        self.ok("attach", src, "--shape", self.shape_file(d), "--tensors", "blk.{layer}.attn_v", "-o", src)
        keys = [k for k, _, _, _ in cf.read_gguf(read(src))["metadata"]]
        self.assertNotIn("fib_quant_kv.kv_shape.blk.{layer}.attn_v", keys)
        self.assertEqual(keys[-2:], ["fib_quant_kv.kv_shape.blk_layer_attn_v.descriptor",
                                     "fib_quant_kv.kv_shape.blk_layer_attn_v.tensors"])
        self.ok("detach", src, "--tensors", "blk.{layer}.attn_v", "-o", src)
        self.assertEqual(self.inspect(src)["descriptors"], [])
        # Detach also takes the old form away.
        src = self.write_file(old, "old2.gguf")
        self.ok("detach", src, "--tensors", "blk.{layer}.attn_v", "-o", src)
        self.assertEqual(self.inspect(src)["descriptors"], [])

    def test_gguf_names_of_two_targets_do_not_collide(self):
        # blk.{layer}.attn_v and blk_{layer}_attn_v make the same segment: the second takes _2 after it.
        d = cf.descriptor("value", layers=2, kv_heads=2, tokens=4, head_dim=8, dtype="f16")
        tensors = [(f"blk{sep}{layer}{sep}attn_v", [8, 4, 2, 1], cf.GGML_F16, cf.pattern_bytes(layer, 128))
                   for sep in (".", "_") for layer in range(2)]
        src = self.write_file(cf.gguf(tensors, [("general.architecture", cf.STRING, "llama")]), "two.gguf")
        for pattern in ("blk.{layer}.attn_v", "blk_{layer}_attn_v"):
            self.ok("attach", src, "--shape", self.shape_file(d), "--tensors", pattern, "-o", src)
        meta = [(k, v) for k, _, v, _ in cf.read_gguf(read(src))["metadata"]][1:]
        self.assertEqual([k for k, _ in meta], [
            "fib_quant_kv.kv_shape.blk_layer_attn_v.descriptor", "fib_quant_kv.kv_shape.blk_layer_attn_v.tensors",
            "fib_quant_kv.kv_shape.blk_layer_attn_v_2.descriptor", "fib_quant_kv.kv_shape.blk_layer_attn_v_2.tensors"])
        self.assertEqual(meta[3][1], "blk_{layer}_attn_v")
        self.assertEqual(self.ok("verify", src).stdout.decode(), f"{src}: 2 descriptors, every one agrees with its tensors\n")

    def test_replaces_an_existing_output_by_rename_not_in_place(self):
        # As convert's test: a reader holding the old output (a hard link made beforehand) keeps its bytes, and the
        # name points at a new inode that keeps the old one's permission bits. A writer truncating -o in place
        # would pass every other test whenever -o is not the input.
        for fmt in BUNDLED_FILES:
            with self.subTest(fmt):
                src = self.copy_bundled(fmt, "in_" + fmt)
                out = os.path.join(self.tmp, "out_" + fmt)
                old_bytes = b"old output, longer than any result: " + b"x" * 4000
                self.write_file(old_bytes, os.path.basename(out))
                os.chmod(out, 0o600)
                link = out + ".hardlink"
                os.link(out, link)
                for args in (["attach", src, "--shape", os.path.join(EXAMPLES, "key.json"), "--tensors",
                              "past.{layer}.key", "-o", out],
                             ["detach", out, "--tensors", "past.{layer}.key", "-o", out]):
                    before = os.stat(out)
                    held = read(out)
                    proc = self.ok(*args)
                    self.assertEqual((proc.stdout, proc.stderr), (b"", b""))
                    after = os.stat(out)
                    self.assertNotEqual(after.st_ino, before.st_ino, f"{args[0]} wrote into the old file")
                    self.assertEqual((after.st_nlink, stat.S_IMODE(after.st_mode)), (1, 0o600))
                    self.assertEqual(read(link), held, "the old file's contents changed under a reader")
                    os.remove(link)
                    os.link(out, link)
                self.assert_same_tensor_bytes(src, out)
                self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.startswith("out_" + fmt)),
                                 ["out_" + fmt, f"out_{fmt}.hardlink"])
                self.assertEqual(read(src), read(os.path.join(EXAMPLES, BUNDLED_FILES[fmt])))

    def test_shape_from_standard_input(self):
        src = self.copy_bundled("safetensors")
        out = os.path.join(self.tmp, "out")
        proc = subprocess.run([KVSHAPE, "checkpoint", "attach", src, "--shape", "-", "--tensors", "past.{layer}.value",
                               "-o", out], input=json.dumps(cf.descriptor("value")).encode(), capture_output=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.inspect(out)["descriptors"][0]["descriptor"], cf.descriptor("value"))


# ---------------------------------------------------------------------------------------------- refusals

class Refusals(CheckpointTestCase):
    def refused(self, src, d, *target, status=1):
        out = os.path.join(self.tmp, "out")
        shape = self.shape_file(d)
        before = sorted(os.listdir(self.tmp))
        proc = run("attach", src, "--shape", shape, *target, "-o", out)
        self.assertEqual(proc.returncode, status, proc.stderr)
        self.assertEqual(proc.stdout, b"")
        self.assert_folder(before)
        return proc.stderr.decode()

    def test_each_disagreement_is_named(self):
        for fmt in BUNDLED_FILES:
            with self.subTest(fmt):
                src = self.copy_bundled(fmt, "in." + fmt)
                # 3 layers (past.2.key absent), f32 against BF16 (so 4 bytes an element: byte length), tokens 5.
                err = self.refused(src, cf.descriptor("key", layers=3, dtype="f32", tokens=5),
                                   "--tensors", "past.{layer}.key")
                lines = err.splitlines()
                for line in lines:
                    self.assertTrue(line.startswith(f"kvshape checkpoint attach: {src}: tensor_mismatch ["), line)
                for rule in ("checkpoint.dtype", "checkpoint.shape", "checkpoint.byte_length"):
                    for layer in (0, 1):
                        self.assertTrue(any(f"[{rule}]" in ln and f"past.{layer}.key" in ln for ln in lines),
                                        (rule, layer, err))
                self.assertTrue(any("[checkpoint.missing_tensor]" in ln and "past.2.key" in ln for ln in lines), err)
                self.assertFalse(any("past.0.value" in ln or "past.1.value" in ln for ln in lines), err)
                # Only the shape ([1, 2, 8, 4]: as many elements): one line per layer.
                err = self.refused(src, cf.descriptor("key", tokens=8, head_dim=4), "--tensors", "past.{layer}.key")
                self.assertEqual(len(err.splitlines()), 2, err)
                self.assertEqual(err.count("[checkpoint.shape]"), 2, err)

    def test_a_missing_single_tensor(self):
        src = self.copy_bundled("safetensors")
        err = self.refused(src, cf.descriptor("key"), "--tensor", "nowhere")
        self.assertIn("[checkpoint.missing_tensor]", err)
        self.assertIn("nowhere", err)

    def test_an_invalid_descriptor_is_refused_by_validate(self):
        src = self.copy_bundled("gguf")
        err = self.refused(src, cf.descriptor("key", kind="mha", kv_heads=2, query_heads=8), "--tensors",
                           "past.{layer}.key")
        self.assertIn("[mha.heads_equal]", err)
        self.assertIn("MHA requires query_heads == kv_heads", err)
        err = self.refused(src, cf.descriptor("value", rope="post_rope"), "--tensors", "past.{layer}.value")
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_a_descriptor_that_does_not_parse(self):
        src = self.copy_bundled("gguf")
        out = os.path.join(self.tmp, "out")
        shape = self.write_file(b'{"schema_version": 1}', "shape.json")
        proc = run("attach", src, "--shape", shape, "--tensors", "past.{layer}.key", "-o", out)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"parse [", proc.stderr)
        self.assert_folder(["in", "shape.json"])
        proc = run("attach", src, "--shape", os.path.join(self.tmp, "absent.json"), "--tensors", "past.{layer}.key",
                   "-o", out)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assert_folder(["in", "shape.json"])


# ---------------------------------------------------------------------------------------------- verify refuses

class VerifyDisagreements(CheckpointTestCase):
    """Descriptors written into the files by this test (not by kvshape), disagreeing with their tensors."""

    def verify_fails(self, path):
        proc = run("verify", path)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stdout, b"")
        lines = proc.stderr.decode().splitlines()
        for line in lines:
            self.assertTrue(line.startswith(f"kvshape checkpoint verify: {path}: "), line)
        return lines

    def test_gguf(self):
        good = cf.descriptor("key", layers=2, kv_heads=2, tokens=4, head_dim=8, dtype="f16")
        bad = cf.descriptor("value", layers=3, kv_heads=2, tokens=4, head_dim=8, dtype="bf16")
        path = self.write_file(per_layer_gguf(extra_metadata=[
            (cf.KEY_PREFIX + "blk.{layer}.attn_k", cf.STRING, cf.canonical(good)),
            (cf.KEY_PREFIX + "blk.{layer}.attn_v", cf.STRING, cf.canonical(bad))]), "m.gguf")
        lines = self.verify_fails(path)
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(any("[checkpoint.dtype]" in ln and "blk.0.attn_v" in ln for ln in lines), lines)
        self.assertTrue(any("[checkpoint.dtype]" in ln and "blk.1.attn_v" in ln for ln in lines), lines)
        self.assertTrue(any("[checkpoint.missing_tensor]" in ln and "blk.2.attn_v" in ln for ln in lines), lines)
        self.assertFalse(any("attn_k" in ln for ln in lines), lines)

    def test_safetensors(self):
        tensors = [(f"k.{layer}", "F32", [1, 2, 3, 4], cf.pattern_bytes(layer, 96)) for layer in range(2)]
        d = cf.descriptor("key", layers=2, kv_heads=2, tokens=3, head_dim=4, dtype="f32")
        mha = dict(d, attention_kind="mha")  # query_heads 8 != kv_heads 2: invalid
        for metadata, rule in (({cf.KEY_PREFIX + "k.{layer}": cf.canonical(mha)}, "[mha.heads_equal]"),
                               ({cf.KEY_PREFIX + "k.{layer}": "{not json"}, "parse ["),
                               ({cf.KEY_PREFIX + "k.0": cf.canonical(d)}, "[checkpoint.shape]")):
            with self.subTest(rule):
                path = self.write_file(cf.safetensors(tensors, metadata), "m.safetensors")
                lines = self.verify_fails(path)
                self.assertTrue(any(rule in ln for ln in lines), lines)
        path = self.write_file(cf.safetensors(tensors, {cf.KEY_PREFIX + "k.{layer}": cf.canonical(d)}), "ok.st")
        self.assertEqual(self.ok("verify", path).stdout.decode(),
                         f"{path}: 1 descriptor, every one agrees with its tensors\n")


# ---------------------------------------------------------------------------------------------- unreadable files

class UnreadableFiles(CheckpointTestCase):
    def bad_files(self):
        gguf = read(os.path.join(EXAMPLES, "kv_cache.gguf"))
        st = read(os.path.join(EXAMPLES, "kv_cache.safetensors"))
        files = {
            "empty": b"",
            "garbage": bytes((i * 73 + 11) % 256 for i in range(4096)),
            "text": b"hello, not a checkpoint\n",
            "gguf_magic_only": b"GGUF",
            "gguf_truncated_header": gguf[:100],
            "gguf_truncated_data": gguf[:-64],
            "gguf_bad_version": gguf[:4] + b"\x63\0\0\0" + gguf[8:],
            "safetensors_truncated_header": st[:200],
            "safetensors_truncated_data": st[:-1],
            "safetensors_huge_length": b"\xff" * 8 + st[8:],
        }
        paths = {name: self.write_file(data, name) for name, data in files.items()}
        paths["absent"] = os.path.join(self.tmp, "absent")
        os.mkdir(os.path.join(self.tmp, "a_folder"))
        paths["a_folder"] = os.path.join(self.tmp, "a_folder")
        return paths

    def test_exit_2_and_nothing_written(self):
        paths = self.bad_files()
        shape = os.path.join(EXAMPLES, "key.json")
        before = sorted(os.listdir(self.tmp))
        out = os.path.join(self.tmp, "out")
        for name, path in paths.items():
            for args in (["inspect", path], ["inspect", path, "--format", "json"], ["verify", path],
                         ["attach", path, "--shape", shape, "--tensors", "past.{layer}.key", "-o", out],
                         ["detach", path, "--tensors", "past.{layer}.key", "-o", out],
                         ["attach", path, "--shape", shape, "--tensors", "past.{layer}.key", "-o", path]):
                with self.subTest(name=name, command=args[0]):
                    original = read(path) if os.path.isfile(path) else None
                    proc = run(*args)
                    self.assertEqual(proc.returncode, 2, (proc.stdout, proc.stderr))
                    self.assertEqual(proc.stdout, b"")
                    self.assertTrue(proc.stderr.startswith(f"kvshape checkpoint {args[0]}: ".encode()), proc.stderr)
                    self.assertTrue(proc.stderr.endswith(b"\n") and proc.stderr.count(b"\n") == 1, proc.stderr)
                    self.assert_folder(before)
                    if original is not None:
                        self.assertEqual(read(path), original)


    def test_io_failures_name_the_file_and_the_os_error(self):
        src = self.copy_bundled("safetensors")
        shape = os.path.join(EXAMPLES, "key.json")
        absent = os.path.join(self.tmp, "absent")
        for command in ("inspect", "verify"):
            with self.subTest(command):
                proc = run(command, absent)
                self.assertEqual((proc.returncode, proc.stdout, proc.stderr.decode()),
                                 (2, b"", f"kvshape checkpoint {command}: {absent}: io [io.open]: cannot open "
                                          f"`{absent}`: No such file or directory\n"))
        read_only = os.path.join(self.tmp, "read_only")
        os.mkdir(read_only)
        os.chmod(read_only, 0o555)
        out = os.path.join(read_only, "out")
        proc = run("attach", src, "--shape", shape, "--tensors", "past.{layer}.key", "-o", out,
                   **self.as_nobody(KVSHAPE, src))
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr.decode()),
                         (2, b"", f"kvshape checkpoint attach: {out}: io [io.open]: cannot create a temporary file "
                                  f"in `{read_only}`: Permission denied\n"))
        self.assertEqual(os.listdir(read_only), [])
        self.assert_folder(["in", "read_only"])


# ---------------------------------------------------------------------------------------------- usage

class Usage(CheckpointTestCase):
    def test_usage_errors_exit_2_and_write_nothing(self):
        src = self.copy_bundled("safetensors")
        shape = os.path.join(EXAMPLES, "key.json")
        out = os.path.join(self.tmp, "out")
        cases = {
            "a pattern with --tensor": (["attach", src, "--shape", shape, "--tensor", "past.{layer}.key", "-o", out],
                                        "use --tensors for a group"),
            "a name with --tensors": (["attach", src, "--shape", shape, "--tensors", "past.0.key", "-o", out],
                                      "use --tensor for one tensor"),
            "both": (["attach", src, "--shape", shape, "--tensor", "past.0.key", "--tensors", "past.{layer}.key",
                      "-o", out], "excludes"),
            "neither": (["attach", src, "--shape", shape, "-o", out], "--tensor NAME or --tensors PATTERN"),
            "no -o": (["attach", src, "--shape", shape, "--tensors", "past.{layer}.key"], "--output"),
            "no --shape": (["attach", src, "--tensors", "past.{layer}.key", "-o", out], "--shape"),
            "detach, a pattern with --tensor": (["detach", src, "--tensor", "past.{layer}.key", "-o", out],
                                                "use --tensors for a group"),
            "detach, a name with --tensors": (["detach", src, "--tensors", "past.0.key", "-o", out],
                                              "use --tensor for one tensor"),
            "detach, both": (["detach", src, "--tensor", "a", "--tensors", "b.{layer}", "-o", out], "excludes"),
            "detach, neither": (["detach", src, "-o", out], "--tensor NAME or --tensors PATTERN"),
            "detach, no -o": (["detach", src, "--tensors", "past.{layer}.key"], "--output"),
            "a pattern holding {layer} twice": (["attach", src, "--shape", shape, "--tensors", "p.{layer}.{layer}",
                                                 "-o", out], "[checkpoint.target]"),
            "detach, a pattern holding {layer} twice": (["detach", src, "--tensors", "p.{layer}{layer}", "-o", out],
                                                        "[checkpoint.target]"),
            "no subcommand": ([], ""),
            "unknown subcommand": (["frobnicate", src], ""),
            "inspect, an unknown format": (["inspect", src, "--format", "yaml"], "--format"),
            "inspect, no file": (["inspect"], "file"),
        }
        for name, (args, fragment) in cases.items():
            with self.subTest(name):
                proc = run(*args)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment.encode(), proc.stderr)
                self.assert_folder(["in"])


# ---------------------------------------------------------------------------------------------- built files

def per_layer_gguf(alignment=None, extra_metadata=(), layers=2, batch=1, kv_heads=2, tokens=4, head_dim=8,
                   ggml_type=cf.GGML_F16):
    """A GGUF file of blk.{layer}.attn_k / attn_v, dims [head_dim, tokens, kv_heads, batch], plus a token
    embedding, with an odd-length architecture string so the padding before the data is not zero."""
    metadata = [("general.architecture", cf.STRING, "llama"), ("general.name", cf.STRING, "tiny test model ü")]
    if alignment is not None:
        metadata.append(("general.alignment", cf.U32, alignment))
    metadata += list(extra_metadata)
    n = batch * kv_heads * tokens * head_dim * cf.GGML_SIZE[ggml_type]
    tensors = [("token_embd.weight", [head_dim, 5], cf.GGML_F32, cf.pattern_bytes(99, head_dim * 5 * 4))]
    for layer in range(layers):
        for i, part in enumerate(("attn_k", "attn_v")):
            tensors.append((f"blk.{layer}.{part}", [head_dim, tokens, kv_heads, batch], ggml_type,
                            cf.pattern_bytes(2 * layer + i, n)))
    return cf.gguf(tensors, metadata)


class BuiltFiles(CheckpointTestCase):
    def test_gguf_tensor_table_is_outermost_first(self):
        path = self.write_file(per_layer_gguf(head_dim=16, tokens=3, kv_heads=2, batch=1), "m.gguf")
        got = self.inspect(path)
        info = cf.read_gguf(read(path))
        table = [{"name": name, "dtype": cf.GGML_NAME[t], "shape": list(reversed(dims)),
                  "begin": info["data_offset"] + off,
                  "end": info["data_offset"] + off + cf.product(dims) * cf.GGML_SIZE[t]}
                 for name, dims, t, off in info["tensors"]]
        self.assertEqual(got["tensors"], table)
        self.assertEqual(got["tensors"][1]["shape"], [1, 2, 3, 16])
        self.assertEqual(got["data_offset"], info["data_offset"])

    def test_gguf_data_stays_aligned_to_general_alignment(self):
        for alignment in (32, 64, 256):
            with self.subTest(alignment=alignment):
                src = self.write_file(per_layer_gguf(alignment=alignment), f"in{alignment}.gguf")
                out = os.path.join(self.tmp, f"out{alignment}.gguf")
                d = cf.descriptor("key", layers=2, kv_heads=2, tokens=4, head_dim=8, dtype="f16")
                self.ok("attach", src, "--shape", self.shape_file(d), "--tensors", "blk.{layer}.attn_k", "-o", out)
                before, after = cf.read_gguf(read(src)), cf.read_gguf(read(out))
                self.assertEqual(after["alignment"], alignment)
                self.assertEqual(after["data_offset"] % alignment, 0)
                self.assertEqual(self.inspect(out)["data_offset"], after["data_offset"])
                self.assertEqual(self.inspect(out)["alignment"], alignment)
                # Padding between infos and data is zeros; the infos (offsets relative) are unchanged.
                self.assertEqual(read(out)[after["infos_end"]:after["data_offset"]],
                                 b"\0" * (after["data_offset"] - after["infos_end"]))
                self.assertEqual(after["tensors"], before["tensors"])
                self.assertEqual(after["metadata"][:-2], before["metadata"])
                self.assertEqual(read(out)[after["data_offset"]:], read(src)[before["data_offset"]:])
                self.assert_same_tensor_bytes(src, out)
                self.assertEqual(self.ok("verify", out).returncode, 0)

    def test_safetensors_built_here_unaligned_header(self):
        tensors = [("model.embed", "F32", [3, 5], cf.pattern_bytes(7, 60))]
        for layer in range(3):
            tensors.append((f"past_key_values.{layer}.key", "F16", [2, 1, 6, 4], cf.pattern_bytes(layer, 96)))
        src = self.write_file(cf.safetensors(tensors, {"format": "pt", "note": "é\"\\"}, pad_to=1), "in.st")
        self.assertNotEqual(cf.read_safetensors(read(src))[2] % 8, 0)
        out = os.path.join(self.tmp, "out.st")
        d = cf.descriptor("key", batch=2, layers=3, kv_heads=1, query_heads=4, kind="mqa", tokens=6, head_dim=4,
                          dtype="f16")
        self.ok("attach", src, "--shape", self.shape_file(d), "--tensors", "past_key_values.{layer}.key", "-o", out)
        metadata, table, start = cf.read_safetensors(read(out))
        self.assertEqual(start % 8, 0)
        self.assertEqual(metadata, {"format": "pt", "note": "é\"\\",
                                    "fib_quant_kv.kv_shape.past_key_values.{layer}.key": cf.canonical(d)})
        _, table_in, _ = cf.read_safetensors(read(src))
        self.assertEqual(list(table), list(table_in))
        for name in table:
            self.assertEqual(read(out)[table[name][2]:table[name][3]], read(src)[table_in[name][2]:table_in[name][3]])
        self.assert_same_tensor_bytes(src, out)
        self.assertEqual(self.ok("verify", out).returncode, 0)

    def test_canonical_layout_on_safetensors(self):
        d = cf.descriptor("value", batch=1, layers=3, kv_heads=2, query_heads=4, tokens=5, head_dim=4, dtype="bf16")
        shape = [1, 3, 2, 5, 4]
        tensors = [("kv.value", "BF16", shape, cf.pattern_bytes(1, cf.product(shape) * 2)),
                   ("lm_head", "F32", [4, 2], cf.pattern_bytes(2, 32))]
        src = self.write_file(cf.safetensors(tensors, None), "one.safetensors")
        out = os.path.join(self.tmp, "out.safetensors")
        self.ok("attach", src, "--shape", self.shape_file(d), "--tensor", "kv.value", "-o", out)
        self.assertEqual(self.ok("verify", out).stdout.decode(),
                         f"{out}: 1 descriptor, every one agrees with its tensors\n")
        got = self.inspect(out)
        self.assertEqual(got["tensors"][0]["shape"], shape)
        self.assertEqual([(x["target"], x["layout"], x["tensors"], x["descriptor"]) for x in got["descriptors"]],
                         [("kv.value", "canonical", ["kv.value"], d)])
        self.assertIn("  kv.value (one tensor, 1 present) under fib_quant_kv.kv_shape.kv.value\n",
                      self.ok("inspect", out).stdout.decode())
        self.assert_same_tensor_bytes(src, out)
        # The per-layer shape under --tensor is not the canonical layout.
        bad = cf.descriptor("value", batch=1, layers=3, kv_heads=2, query_heads=4, tokens=5, head_dim=8, dtype="bf16")
        proc = run("attach", src, "--shape", self.shape_file(bad, "bad.json"), "--tensor", "kv.value", "-o",
                   os.path.join(self.tmp, "x"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"[checkpoint.shape]", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))
        # Detach by name.
        self.ok("detach", out, "--tensor", "kv.value", "-o", out)
        self.assertEqual(self.inspect(out)["descriptors"], [])

    def test_canonical_layout_is_refused_on_gguf(self):
        # GGUF holds at most 4 dims: a 5-dim canonical tensor cannot exist, any tensor disagrees in shape.
        d = cf.descriptor("key", batch=1, layers=2, kv_heads=2, tokens=4, head_dim=8, dtype="f16")
        for dims in ([8, 4, 2, 2], [8, 4, 2 * 2 * 1]):
            with self.subTest(dims=dims):
                raw = cf.pattern_bytes(3, cf.product(dims) * 2)
                src = self.write_file(cf.gguf([("kv.key", dims, cf.GGML_F16, raw)],
                                              [("general.architecture", cf.STRING, "llama")]), "one.gguf")
                out = os.path.join(self.tmp, "out.gguf")
                proc = run("attach", src, "--shape", self.shape_file(d), "--tensor", "kv.key", "-o", out)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn(b"[checkpoint.shape]", proc.stderr)
                self.assertIn(b"kv.key", proc.stderr)
                self.assertNotIn(b"[checkpoint.byte_length]", proc.stderr)  # same element count, same size
                self.assert_folder(["one.gguf", "shape.json"])

    def test_gguf_metadata_of_every_kind_is_kept(self):
        extra = [("a.u8", cf.U8, 200), ("a.i8", cf.I8, -5), ("a.u16", cf.U16, 65535), ("a.i16", cf.I16, -300),
                 ("a.i32", cf.I32, -70000), ("a.f32", cf.F32, 0.5), ("a.eps", cf.F32, 1e-7),
                 ("a.bool", cf.BOOL, True),
                 ("a.u64", cf.U64, 2 ** 63 + 5), ("a.i64", cf.I64, -2 ** 40), ("a.f64", cf.F64, 1e-300),
                 ("a.strings", cf.ARRAY, ["x", "yé", ""], cf.STRING), ("a.u32s", cf.ARRAY, [1, 2, 3], cf.U32)]
        src = self.write_file(per_layer_gguf(alignment=32, extra_metadata=extra), "in.gguf")
        out = os.path.join(self.tmp, "out.gguf")
        d = cf.descriptor("value", layers=2, kv_heads=2, tokens=4, head_dim=8, dtype="f16")
        self.ok("attach", src, "--shape", self.shape_file(d), "--tensors", "blk.{layer}.attn_v", "-o", out)
        before, after = cf.read_gguf(read(src)), cf.read_gguf(read(out))
        self.assertEqual(after["metadata"][:-2], before["metadata"])  # raw bytes of each value included
        self.assertEqual([m[:3] for m in after["metadata"][-2:]],
                         [("fib_quant_kv.kv_shape.blk_layer_attn_v.descriptor", cf.STRING, cf.canonical(d)),
                          ("fib_quant_kv.kv_shape.blk_layer_attn_v.tensors", cf.STRING, "blk.{layer}.attn_v")])
        shown = {m["key"]: (m["type"], m["value"]) for m in self.inspect(out)["metadata"]}
        self.assertEqual(shown["a.strings"], ("array", "string[3]"))
        self.assertEqual(shown["a.bool"], ("bool", "true"))
        self.assertEqual(shown["a.i64"], ("int64", str(-2 ** 40)))
        self.assertEqual(shown["a.u64"], ("uint64", str(2 ** 63 + 5)))
        # Floats in their shortest round-trip form: an epsilon of 1e-7 is not "0.000000".
        self.assertEqual(shown["a.f32"], ("float32", "0.5"))
        self.assertEqual(shown["a.eps"], ("float32", "1e-07"))
        self.assertEqual(shown["a.f64"], ("float64", "1e-300"))


# ---------------------------------------------------------------------------------------------- progress

class Progress(CheckpointTestCase):
    def big_file(self):
        # 2 layers x [1, 2, 4096, 128] bf16: 2 MiB a tensor, 4 MiB of data.
        n = 2 * 4096 * 128 * 2
        block = cf.pattern_bytes(5, 4096)
        tensors = [(f"past.{layer}.key", "BF16", [1, 2, 4096, 128], block * (n // len(block))) for layer in range(2)]
        src = self.write_file(cf.safetensors(tensors, {"format": "pt"}), "big.safetensors")
        shape = self.shape_file(cf.descriptor("key", layers=2, kv_heads=2, tokens=4096, head_dim=128))
        return src, shape

    def attach_on_a_terminal(self, *extra):
        """Runs attach with stderr a pseudo-terminal (stdout a pipe); returns (status, stdout, terminal bytes)."""
        src, shape = self.big_file()
        out = os.path.join(self.tmp, "out")
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([KVSHAPE, "checkpoint", "attach", src, "--shape", shape, "--tensors",
                                     "past.{layer}.key", "-o", out, *extra], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=slave)
        finally:
            os.close(slave)
        seen = b""
        try:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other side is closed, the child is done with it
                    break
                if not chunk:
                    break
                seen += chunk
            stdout = proc.stdout.read()
            status = proc.wait(timeout=120)
        finally:
            os.close(master)
            proc.stdout.close()
        self.assertTrue(os.path.exists(out))
        return status, stdout, seen

    def test_progress_on_a_terminal(self):
        status, stdout, seen = self.attach_on_a_terminal()
        self.assertEqual(status, 0, seen)
        self.assertEqual(stdout, b"")
        self.assertIn(b"copying tensor data:", seen)
        self.assertIn(b"of 4.0 MiB", seen)
        self.assertTrue(seen.endswith(b"\n"), seen[-80:])

    def test_quiet_on_a_terminal(self):
        status, stdout, seen = self.attach_on_a_terminal("--quiet")
        self.assertEqual((status, stdout, seen), (0, b"", b""))

    def test_silent_when_stderr_is_a_pipe(self):
        src, shape = self.big_file()
        proc = self.ok("attach", src, "--shape", shape, "--tensors", "past.{layer}.key", "-o",
                       os.path.join(self.tmp, "out"))
        self.assertEqual((proc.stdout, proc.stderr), (b"", b""))


if __name__ == "__main__":
    KVSHAPE = kvshape_from_argv()
    require_all.unittest_main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
