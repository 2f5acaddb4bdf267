#!/usr/bin/env python3
"""FIB_QUANT_KV_REQUIRE_ALL: the switch that turns every skipped check into a failure (standard library only).

A test that needs a tool or a package (xxhsum, flatc, python3-flatbuffers, a C++ compiler...) may skip itself
on a developer's machine that lacks it, with a note. CI must not: `.ci/run` exports FIB_QUANT_KV_REQUIRE_ALL=1,
the scripts configure with -DFIB_QUANT_KV_REQUIRE_ALL=ON, and CMake then sets the variable for every test it
registers. Under the switch:

* `missing(what)` ends the program with exit status 1 instead of returning;
* `unittest_main()` runs unittest as usual and then fails the run if any test was skipped, whatever the skip's
  reason, so a new `@unittest.skip...` cannot quietly switch a check off either. The one exception is a skip
  whose reason starts with `SANITIZED` while FIB_QUANT_KV_SANITIZED is set (scripts/sanitize.sh): a check that
  cannot be meaningful under a sanitizer runtime (memory measurements), and only there.

As a script it is unittest's command line with that rule, e.g. for the codegen tests:

    python3 tests/require_all.py discover -s codegen/tests -t codegen/tests -v
"""

import os
import sys
import unittest

ENV = "FIB_QUANT_KV_REQUIRE_ALL"
SANITIZED = "sanitized build: "  # the reason prefix of the one kind of skip allowed under the switch


def _on(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "off", "false", "no")


REQUIRED = _on(ENV)


def missing(what):
    """A check cannot run because `what` is missing. Under the switch: exit 1. Otherwise: a note, and return."""
    if REQUIRED:
        print(f"FAILED: {what} ({ENV} is set: nothing may be skipped)", flush=True)
        sys.exit(1)
    print(f"note: {what}; that check is skipped (set {ENV}=1 to make this a failure)", flush=True)


def allowed_skip(reason):
    return reason.startswith(SANITIZED) and _on("FIB_QUANT_KV_SANITIZED")


def unittest_main(argv=None, module="__main__", **kwargs):
    """unittest.main(), then, under the switch, exit 1 if any test was skipped (see above)."""
    program = unittest.main(module=module, argv=argv, exit=False, **kwargs)
    result = program.result
    skipped = [(test, reason) for test, reason in result.skipped if not allowed_skip(reason)]
    if skipped and REQUIRED:
        for test, reason in skipped:
            print(f"FAILED (skipped under {ENV}): {test.id()}: {reason}", flush=True)
        sys.exit(1)
    for test, reason in skipped:
        print(f"note: skipped {test.id()}: {reason}", flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    unittest_main(argv=[sys.argv[0]] + sys.argv[1:], module=None)
