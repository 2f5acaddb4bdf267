#!/usr/bin/env python3
"""Seeds for fuzz_flatbuffers_v2: each valid v2 spec of a JSON Lines file (tests/data/spec_v2_inputs.jsonl) as an
FQK2 FlatBuffer written by `kvshape convert --to fb` (invalid lines are skipped: kvshape writes only valid specs).

Usage: make_spec_v2_fb_seeds.py INPUT.jsonl OUTPUT_DIR KVSHAPE
"""

import os
import subprocess
import sys
import tempfile


def main() -> int:
    source, folder, kvshape = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(folder, exist_ok=True)
    written = 0
    with open(source, encoding="utf-8") as f, tempfile.TemporaryDirectory() as tmp:
        for i, line in enumerate(line for line in f if line.strip()):
            src = os.path.join(tmp, f"spec_{i}.json")
            with open(src, "w", encoding="utf-8") as out:
                out.write(line)
            r = subprocess.run([kvshape, "convert", "--to", "fb", src, os.path.join(folder, f"spec_{i}.fqk2")],
                               capture_output=True)
            written += r.returncode == 0
    if written == 0:
        print("make_spec_v2_fb_seeds.py: no valid spec to write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
