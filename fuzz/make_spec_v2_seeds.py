#!/usr/bin/env python3
"""Seeds for fuzz_spec_v2: each line of a JSON Lines file (tests/data/spec_v2_inputs.jsonl) as one file.

Usage: make_spec_v2_seeds.py INPUT.jsonl OUTPUT_DIR
"""

import os
import sys


def main() -> int:
    source, folder = sys.argv[1], sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    with open(source, encoding="utf-8") as f:
        for i, line in enumerate(line for line in f if line.strip()):
            with open(os.path.join(folder, f"spec_{i}.json"), "w", encoding="utf-8") as out:
                out.write(line.rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
