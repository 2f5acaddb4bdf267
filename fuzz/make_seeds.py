#!/usr/bin/env python3
"""Seeds for the fuzz targets: every line of the parity corpus as one JSON input (fuzz_json), and the first
200 of them converted to FlatBuffers by kvshape where they are valid (fuzz_flatbuffers).

    make_seeds.py CORPUS OUT_DIR KVSHAPE
"""

import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    corpus, out, kvshape = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    shutil.rmtree(out, ignore_errors=True)
    (out / "json").mkdir(parents=True)
    (out / "fb").mkdir(parents=True)
    lines = corpus.read_bytes().split(b"\n")
    for n, line in enumerate(lines, start=1):
        seed = out / "json" / f"{n}.json"
        seed.write_bytes(line)
        if n <= 200:
            subprocess.run([kvshape, "convert", "--to", "fb", str(seed), str(out / "fb" / f"{n}.fqkv")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    (out / "stamp").write_text(f"{len(lines)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
