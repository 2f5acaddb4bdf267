#!/usr/bin/env python3
"""Seeds for the fuzz targets: every line of the parity corpus as one JSON input (fuzz_json), the first
200 of them converted to FlatBuffers by kvshape where they are valid (fuzz_flatbuffers), and the canonical
JSON of every valid line (fuzz_json_paths: inputs at the edge of the reader's fast path).

    make_seeds.py CORPUS OUT_DIR KVSHAPE
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    corpus, out, kvshape = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    # Only this script's own folders: OUT_DIR also holds the other seed sets (spec_v2, spec_v2_fb, hf_config),
    # which other build steps write and which this step, rerun when kvshape changes, must not take away.
    for sub in ("json", "fb", "canonical"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    lines = corpus.read_bytes().split(b"\n")
    for n, line in enumerate(lines, start=1):
        seed = out / "json" / f"{n}.json"
        seed.write_bytes(line)
        if n <= 200:
            subprocess.run([kvshape, "convert", "--to", "fb", str(seed), str(out / "fb" / f"{n}.fqkv")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    check = subprocess.run([kvshape, "check", str(corpus)], capture_output=True, check=False)
    for n, verdict in enumerate(check.stdout.splitlines(), start=1):
        v = json.loads(verdict)
        if v.get("ok"):
            (out / "canonical" / f"{n}.json").write_text(v["canonical"], encoding="utf-8")
    (out / "stamp").write_text(f"{len(lines)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
