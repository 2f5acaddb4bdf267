#!/usr/bin/env python3
"""The oracle is only as good as its fidelity: the Rust original built here (reference/) must reproduce the
parity answers shipped with the project exactly, parse-error texts included, with and without --block-dim 32.

    self_check.py REFERENCE PARITY_DIR
"""

import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    reference, parity = sys.argv[1], Path(sys.argv[2])
    failures = 0
    for expected, extra in (("expected.jsonl", []), ("expected_block_dim_32.jsonl", ["--block-dim", "32"])):
        out = subprocess.run([reference, "check", *extra, str(parity / "corpus.jsonl")], capture_output=True,
                             check=True).stdout.decode("utf-8").splitlines()
        want = (parity / expected).read_text(encoding="utf-8").splitlines()
        bad = [i for i, (a, b) in enumerate(zip(out, want)) if json.loads(a) != json.loads(b)]
        if len(out) != len(want) or bad:
            failures += 1
            print(f"{expected}: {len(out)} lines for {len(want)}, {len(bad)} differ; first: "
                  f"{out[bad[0]] if bad else ''} vs {want[bad[0]] if bad else ''}")
        else:
            print(f"{expected}: the reference reproduces all {len(want)} answers")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
