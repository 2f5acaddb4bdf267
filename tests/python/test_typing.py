"""The generated stub (__init__.pyi) under a type checker: Debian's mypy (python3-mypy), --strict.

* the stub itself checks clean;
* typed_usage/ok_usage.py, typed use of every kind of name the stub declares (descriptors, enums looked up by
  code, wire name and name, attributes, errors), checks clean, and runs: its assert_type()s are checked against
  the values too;
* typed_usage/bad_usage.py gets exactly the errors marked on its lines (`# error: [code]`), no more, no fewer.

mypy checks the fib_quant_kv that the interpreter running these tests imports: the build tree's (build/python,
given to mypy as MYPYPATH) or an installed one (found by mypy as an installed typed package, PEP 561: py.typed).

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_typing.py
"""

import os
import re
import site
import subprocess
import sys
import sysconfig

import pytest

import fib_quant_kv as fqk

HERE = os.path.dirname(os.path.abspath(__file__))
USAGE = os.path.join(HERE, "typed_usage")
PACKAGE = os.path.dirname(os.path.abspath(fqk.__file__))
ERROR_MARK = re.compile(r"#\s*error:\s*\[([a-z-]+)\]\s*$")
REPORTED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*?)(?:\s+\[(?P<code>[a-z-]+)\])?$")


def _installed(path):
    """True when `path` is inside one of the interpreter's site folders (mypy refuses those in MYPYPATH)."""
    sites = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    return any(os.path.commonpath([os.path.abspath(p), path]) == os.path.abspath(p) for p in sites if p)


def mypy(*args):
    pytest.importorskip("mypy", reason="no mypy (Debian: apt-get install python3-mypy)")
    env = dict(os.environ)
    env.pop("MYPYPATH", None)
    if not _installed(PACKAGE):
        env["MYPYPATH"] = os.path.dirname(PACKAGE)
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull,
         "--python-executable", sys.executable, "--show-error-codes", "--no-color-output", "--no-error-summary",
         "--hide-error-context", *args],
        capture_output=True, text=True, timeout=600, env=env, cwd=HERE)
    assert "error: " not in run.stderr, run.stderr
    return run


def errors(run):
    """(file name, line, code) of every error mypy reported."""
    found = []
    for line in run.stdout.splitlines():
        m = REPORTED.match(line)
        if m:
            found.append((os.path.basename(m["file"]), int(m["line"]), m["code"] or "?"))
    return found


def test_mypy_is_checking_this_package():
    run = mypy("-c", "import fib_quant_kv\nreveal_type(fib_quant_kv.__file__)\nreveal_type(fib_quant_kv.KvDType.bf16)")
    assert 'Revealed type is "Literal[fib_quant_kv.KvDType.bf16]?"' in run.stdout or \
           'Revealed type is "fib_quant_kv.KvDType"' in run.stdout, run.stdout


def test_stub_checks_clean():
    run = mypy("-m", "fib_quant_kv")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ok_usage_checks_clean():
    run = mypy(os.path.join(USAGE, "ok_usage.py"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_ok_usage_runs():
    run = subprocess.run([sys.executable, os.path.join(USAGE, "ok_usage.py")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_bad_usage_fails_exactly_where_marked():
    path = os.path.join(USAGE, "bad_usage.py")
    with open(path, encoding="utf-8") as f:
        expected = sorted(("bad_usage.py", number, m[1]) for number, text in enumerate(f, 1)
                          if (m := ERROR_MARK.search(text)))
    assert len(expected) >= 10
    run = mypy(path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert sorted(errors(run)) == expected, run.stdout
