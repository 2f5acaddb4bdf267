"""pytest configuration of the Python module's tests (tests/python/).

* tests/python/ (vectors.py) and tests/ (require_all.py) are importable from every test file;
* FIB_QUANT_KV_REQUIRE_ALL (CI, set by ctest): the rule of tests/require_all.py for pytest. A test or a whole
  file that skips (pytest.importorskip("torch") without torch, a missing tool) fails the run instead, unless the
  reason starts with require_all.SANITIZED under FIB_QUANT_KV_SANITIZED. Without the switch skips are reported
  with their reasons, as pytest does.
* FIB_QUANT_KV_EXPECT_INSTALLED (tests/python/wheel_install.py): the run fails at once unless fib_quant_kv is
  imported from under that folder (an installed copy), so the tests cannot quietly test a build tree instead;
* fixtures: `kvshape`, the path of the kvshape binary (FIB_QUANT_KV_KVSHAPE, set by ctest), and `fqk_python`,
  the interpreter running the tests (for subprocesses).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
for _p in (HERE, TESTS):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import require_all  # noqa: E402

_expect = os.environ.get("FIB_QUANT_KV_EXPECT_INSTALLED")
if _expect:
    import fib_quant_kv  # noqa: E402

    _where = os.path.realpath(fib_quant_kv.__file__)
    if os.path.commonpath([_where, os.path.realpath(_expect)]) != os.path.realpath(_expect):
        raise pytest.UsageError(f"fib_quant_kv comes from {_where}, not from the installed copy under {_expect}")
    print(f"fib_quant_kv from {_where}", flush=True)

_skips = []


def _skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _note_skip(report):
    if report.skipped:
        reason = _skip_reason(report)
        if not require_all.allowed_skip(reason):
            _skips.append((report.nodeid, reason))


def pytest_collectreport(report):
    _note_skip(report)


def pytest_runtest_logreport(report):
    _note_skip(report)


def pytest_sessionfinish(session, exitstatus):
    if require_all.REQUIRED and _skips:
        for nodeid, reason in _skips:
            print(f"\nFAILED (skipped under {require_all.ENV}): {nodeid}: {reason}", flush=True)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def kvshape(tmp_path_factory):
    """The kvshape binary (FIB_QUANT_KV_KVSHAPE); skips (a failure under the switch) without it.

    Under scripts/sanitize.sh the interpreter runs with the ASan runtime in LD_PRELOAD (tests/CMakeLists.txt:
    FIB_QUANT_KV_SANITIZER_PRELOAD), which a subprocess inherits; kvshape carries its own, statically linked, and
    ASan refuses to start with two. There the fixture is a wrapper that runs kvshape without the preload."""
    path = os.environ.get("FIB_QUANT_KV_KVSHAPE", "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"no kvshape binary (set FIB_QUANT_KV_KVSHAPE; got {path!r})")
    if os.environ.get("FIB_QUANT_KV_SANITIZER_PRELOAD") and os.environ.get("LD_PRELOAD"):
        wrapper = tmp_path_factory.mktemp("kvshape") / "kvshape"
        wrapper.write_text(f'#!/bin/sh\nunset LD_PRELOAD\nexec "{path}" "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)
    return path


@pytest.fixture(scope="session")
def fqk_python():
    """The interpreter running these tests, for subprocesses that import fib_quant_kv."""
    return sys.executable
