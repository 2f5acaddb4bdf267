"""Fixtures shared by the kvshape CLI tests (tests/cli/test_cli.py, tests/cli/test_cli_wire.py).

Two valid descriptors with their counts, canonical serde JSON and digests. The digests were computed
independently of the library, from docs/digest.md: the 121-byte encoding built with Python's struct module and
hashed by `xxhsum -H2`.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

SCHEMA_ID = "fib_quant_kv_tensor_shape_v1"
FIELD_ORDER = ["schema_version", "role", "attention_kind", "batch", "layers", "kv_heads", "query_heads",
               "tokens", "head_dim", "dtype", "rope_state"]

GQA = {"schema_version": SCHEMA_ID, "role": "key", "attention_kind": "gqa", "batch": 1, "layers": 8,
       "kv_heads": 2, "query_heads": 24, "tokens": 134626, "head_dim": 64, "dtype": "f32",
       "rope_state": "post_rope"}
GQA_VECTORS = 2154016
GQA_ELEMENTS = 137857024
GQA_CANONICAL = ('{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,'
                 '"layers":8,"kv_heads":2,"query_heads":24,"tokens":134626,"head_dim":64,"dtype":"f32",'
                 '"rope_state":"post_rope"}')
GQA_DIGEST = "308f89732ab038cd596b5e93fc512db7"

MHA = {"schema_version": SCHEMA_ID, "role": "value", "attention_kind": "mha", "batch": 2, "layers": 32,
       "kv_heads": 8, "query_heads": 8, "tokens": 4096, "head_dim": 128, "dtype": "bf16",
       "rope_state": "not_applicable"}
MHA_VECTORS = 2097152
MHA_ELEMENTS = 268435456
MHA_CANONICAL = ('{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"value","attention_kind":"mha",'
                 '"batch":2,"layers":32,"kv_heads":8,"query_heads":8,"tokens":4096,"head_dim":128,'
                 '"dtype":"bf16","rope_state":"not_applicable"}')
MHA_DIGEST = "3b436cb743a8a40023302b7d0cfa4025"


def shape(base=GQA, **changes):
    """`base` with some fields changed (or added)."""
    d = dict(base)
    d.update(changes)
    return d


def jline(d):
    """Compact JSON text of a dict, fields in the dict's order, non-ASCII verbatim."""
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


class TempDirTestCase(unittest.TestCase):
    """A test with its own temporary folder (self.tmp), removed afterwards even if a test made parts of it
    read-only, and write_file() to put input there."""

    maxDiff = 4000
    tmp_prefix = "kvshape_test_"
    default_name = "input"

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix=self.tmp_prefix)
        self.tmp = self._tmp.name

    def tearDown(self):
        for root, dirs, _files in os.walk(self.tmp):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        self._tmp.cleanup()

    def as_nobody(self, kvshape, *readable):
        """subprocess keyword arguments under which a folder's or file's mode denies kvshape what it denies anyone:
        none for a user other than root; for root (who writes anywhere), uid and gid 65534, with self.tmp and the
        `readable` files opened up to it. Skips the test when kvshape cannot run so."""
        if os.geteuid() != 0:
            return {}
        os.chmod(self.tmp, 0o755)
        for path in readable:
            os.chmod(path, 0o644)
        kwargs = {"user": 65534, "group": 65534, "extra_groups": []}
        try:
            probe = subprocess.run([kvshape, "--version"], capture_output=True, timeout=60, **kwargs)
        except (OSError, TypeError, subprocess.SubprocessError) as e:  # TypeError: Python < 3.9
            self.skipTest("running as root and cannot switch to uid 65534 (%s)" % e)
        if probe.returncode != 0:
            self.skipTest("running as root and kvshape cannot run as uid 65534 (not readable?)")
        return kwargs

    def write_file(self, data, name=None):
        path = os.path.join(self.tmp, name or self.default_name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path


def kvshape_from_argv():
    """The kvshape executable named by argv[1] (absolute), or exit 2 with the usage."""
    if len(sys.argv) < 2:
        sys.stderr.write("usage: %s PATH_TO_KVSHAPE [unittest options]\n" % sys.argv[0])
        sys.exit(2)
    path = os.path.abspath(sys.argv[1])
    if not os.access(path, os.X_OK):
        sys.stderr.write("not an executable: %s\n" % path)
        sys.exit(2)
    return path
