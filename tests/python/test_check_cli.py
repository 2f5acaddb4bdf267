"""`python3 -m fib_quant_kv check` against `kvshape check`: identical standard output, byte for byte, and the same
exit status, over the parity corpus (with and without --block-dim 32, from a file and from standard input) and
over the edge cases of line reading: an empty file, a last line without its newline, a line ending in \\r, blank
lines, bytes that are not UTF-8, and a file that does not exist (exit 2, nothing on standard output).

The kvshape binary comes from FIB_QUANT_KV_KVSHAPE (set by ctest), the parity corpus from FIB_QUANT_KV_PARITY_DIR
(default tests/parity/data).

    PYTHONPATH=build/python FIB_QUANT_KV_KVSHAPE=build/kvshape /usr/bin/python3 -m pytest -q tests/python/test_check_cli.py
"""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.environ.get("FIB_QUANT_KV_PARITY_DIR") or os.path.join(HERE, os.pardir, "parity", "data")
CORPUS = os.path.join(PARITY, "corpus.jsonl")

VALID = (b'{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":1,'
         b'"layers":32,"kv_heads":8,"query_heads":32,"tokens":8192,"head_dim":80,"dtype":"bf16",'
         b'"rope_state":"post_rope"}')
INVALID = VALID.replace(b'"batch":1', b'"batch":0')


def run_both(kvshape, args, stdin=None):
    """(python -m fib_quant_kv check ARGS, kvshape check ARGS), each as a CompletedProcess."""
    py = subprocess.run([sys.executable, "-m", "fib_quant_kv", "check", *args], input=stdin, capture_output=True,
                        timeout=120)
    cpp = subprocess.run([kvshape, "check", *args], input=stdin, capture_output=True, timeout=120)
    return py, cpp


def assert_same(py, cpp):
    assert py.returncode == cpp.returncode, (py.stderr.decode(errors="replace"), cpp.stderr.decode(errors="replace"))
    if py.stdout != cpp.stdout:
        a, b = py.stdout.split(b"\n"), cpp.stdout.split(b"\n")
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        pytest.fail(f"stdout differs first at output line {first + 1}:\n python: {a[first:first + 1]}\n"
                    f"kvshape: {b[first:first + 1]} ({len(a)} vs {len(b)} lines)")


@pytest.fixture(scope="module")
def corpus():
    if not os.path.exists(CORPUS):
        pytest.skip(f"no parity corpus at {CORPUS}")
    with open(CORPUS, "rb") as f:
        return f.read()


@pytest.mark.parametrize("extra", [[], ["--block-dim", "32"]], ids=["plain", "block_dim_32"])
def test_corpus_file(kvshape, corpus, extra):
    py, cpp = run_both(kvshape, [*extra, CORPUS])
    assert_same(py, cpp)
    assert cpp.returncode == 1  # the corpus has invalid lines
    assert py.stdout.count(b"\n") == corpus.count(b"\n") + (not corpus.endswith(b"\n"))


@pytest.mark.parametrize("args", [["-"], []], ids=["dash", "default"])
def test_corpus_stdin(kvshape, corpus, args):
    assert_same(*run_both(kvshape, ["--block-dim", "32", *args], stdin=corpus))


def edge_case(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


EDGE_CASES = {
    "empty": b"",
    "one_valid": VALID + b"\n",
    "no_final_newline": VALID + b"\n" + INVALID,
    "no_final_newline_valid": VALID + b"\n" + VALID,
    "carriage_return": VALID + b"\r\n" + VALID + b"\n",
    "carriage_return_last": VALID + b"\n" + VALID + b"\r",
    "blank_lines": b"\n\n" + VALID + b"\n\n",
    "only_newline": b"\n",
    "whitespace_line": b"   \t\n" + VALID + b"\n",
    "not_utf8": VALID[:-2] + b'\xff"}\n' + b"\xff\xfe\n",
    "nul_byte": VALID + b"\0\n" + b"\0",
    "lone_cr": b"\r",
    "two_values": VALID + b" " + VALID + b"\n",
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(kvshape, tmp_path, name):
    data = EDGE_CASES[name]
    extra = ["--block-dim", "32"] if name.startswith("no_final") else []
    path = edge_case(tmp_path, name, data)
    py, cpp = run_both(kvshape, [*extra, path])
    assert_same(py, cpp)
    py_in, cpp_in = run_both(kvshape, extra, stdin=data)
    assert_same(py_in, cpp_in)
    assert py_in.stdout == py.stdout


def test_empty_file_is_valid(kvshape, tmp_path):
    py, cpp = run_both(kvshape, [edge_case(tmp_path, "empty", b"")])
    assert (py.returncode, py.stdout) == (cpp.returncode, cpp.stdout) == (0, b"")


def test_missing_file(kvshape, tmp_path):
    py, cpp = run_both(kvshape, [str(tmp_path / "does-not-exist.jsonl")])
    assert py.returncode == cpp.returncode == 2
    assert py.stdout == cpp.stdout == b""
    assert py.stderr and cpp.stderr


@pytest.mark.parametrize("bad", ["x", "-1", "4294967296", "1.5", ""])
def test_bad_block_dim_is_usage_error(kvshape, tmp_path, bad):
    path = edge_case(tmp_path, "one", VALID + b"\n")
    py, cpp = run_both(kvshape, ["--block-dim", bad, path])
    assert py.returncode == cpp.returncode == 2
    assert py.stdout == cpp.stdout == b""


def test_block_dim_limits(kvshape, tmp_path):
    path = edge_case(tmp_path, "one", VALID + b"\n" + INVALID + b"\n")
    for bd in ("0", "1", "16", "4294967295"):
        assert_same(*run_both(kvshape, ["--block-dim", bd, path]))
