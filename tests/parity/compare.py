#!/usr/bin/env python3
"""Runs `kvshape check` over the Rust original's parity corpus and compares its answers field by field.

    compare.py KVSHAPE CORPUS EXPECTED [--block-dim B]

What must match (shared/parity/README.md): line, ok, stage; for valid lines vector_count, element_count and
canonical (byte for byte); for invalid lines error and message (dimension_not_divisible: ambient_dim and
block_dim). Parse-error texts are serde's own wording, so for parse errors only the stage is compared, and the
message must be present and non-empty. Also checks the exit status (1 when any line is invalid, else 0) and
that every valid line carries a 32-hex-digit digest, equal to the digest computed independently of the library
from its `canonical` JSON (tests/independent_digest.py: docs/digest.md's encoding with struct, hashed by
`xxhsum -H2`; without xxhsum that check is skipped with a note, or fails under FIB_QUANT_KV_REQUIRE_ALL).
Standard library and xxhsum only.
"""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import independent_digest  # noqa: E402


def main() -> int:
    args = sys.argv[1:]
    extra: list[str] = []
    if "--block-dim" in args:
        i = args.index("--block-dim")
        extra = args[i:i + 2]
        del args[i:i + 2]
    kvshape, corpus, expected_path = args
    run = subprocess.run([kvshape, "check", *extra, corpus], capture_output=True)
    got_lines = run.stdout.decode("utf-8").splitlines()
    with open(expected_path, encoding="utf-8") as f:
        expected = [json.loads(line) for line in f]
    problems: list[str] = []
    if len(got_lines) != len(expected):
        problems.append(f"{len(got_lines)} output lines for {len(expected)} expected")
    for want, raw in zip(expected, got_lines):
        got = json.loads(raw)
        n = want["line"]
        keys = ["line", "ok"]
        if want["ok"]:
            keys += ["vector_count", "element_count", "canonical"]
            if not re.fullmatch(r"[0-9a-f]{32}", str(got.get("digest", ""))):
                problems.append(f"line {n}: digest {got.get('digest')!r} is not 32 lower-case hex digits")
        else:
            keys.append("stage")
            if want["stage"] == "validate":
                keys.append("error")
                keys += ["ambient_dim", "block_dim"] if want["error"] == "dimension_not_divisible" else ["message"]
            elif not isinstance(got.get("error"), str) or not got["error"]:
                problems.append(f"line {n}: parse error without a message: {raw}")
        for k in keys:
            if got.get(k) != want.get(k):
                problems.append(f"line {n}: {k}: got {got.get(k)!r}, want {want.get(k)!r}")
    digest_problems, n_digests = independent_digest.check_lines([json.loads(raw) for raw in got_lines])
    problems += digest_problems
    any_invalid = any(not e["ok"] for e in expected)
    if run.returncode != (1 if any_invalid else 0):
        problems.append(f"exit status {run.returncode}, want {1 if any_invalid else 0}: {run.stderr.decode()!r}")
    for p in problems[:50]:
        print(p)
    if problems:
        print(f"FAILED: {len(problems)} mismatches over {len(expected)} lines")
        return 1
    print(f"parity: {len(expected)} lines match; {n_digests} digests equal xxhsum's of the canonical encoding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
