"""Digests computed without the library, for the parity and differential runs (standard library and xxhsum).

For a valid line of `kvshape check`, its `canonical` JSON is read with Python's json module and encoded by the
independent encoder of tests/data/make_digest_vectors.py (docs/digest.md with struct; imported, not copied),
and the encoding is hashed by `xxhsum -H2` (Debian: xxhash), as docs/digest.md defines the digest.

Fast enough for the differential run's 90,000 lines: identical canonical texts are hashed once, each distinct
encoding is written to a small file in one temporary folder, and one xxhsum process hashes thousands of them.
"""

import os
import shutil
import subprocess
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "data"))
import make_digest_vectors  # noqa: E402  the independent encoder (tests/data/make_digest_vectors.py)

import require_all  # noqa: E402

BATCH = 4000  # files per xxhsum invocation: well under the argument-length limit with short names


def xxhsum_path():
    """xxhsum's path, or None after require_all.missing() (which exits under FIB_QUANT_KV_REQUIRE_ALL)."""
    path = shutil.which("xxhsum")
    if path is None:
        require_all.missing("xxhsum is not on PATH (Debian: apt-get install xxhash): digests not checked "
                            "against an independent computation")
    return path


def encode_canonical(canonical_text):
    """The docs/digest.md encoding of the descriptor whose serde JSON is `canonical_text`."""
    return make_digest_vectors.canonical_encoding(make_digest_vectors.decode(canonical_text))


def digests(xxhsum, canonical_texts):
    """{canonical text: 32 hex digits} for each distinct text, hashed by `xxhsum -H2`."""
    distinct = sorted(set(canonical_texts))
    out = {}
    with tempfile.TemporaryDirectory(prefix="fqkv_digest_") as work:
        names = []
        for i, text in enumerate(distinct):
            name = str(i)
            with open(os.path.join(work, name), "wb") as f:
                f.write(encode_canonical(text))
            names.append(name)
        for start in range(0, len(names), BATCH):
            chunk = names[start:start + BATCH]
            proc = subprocess.run([xxhsum, "-H2", *chunk], cwd=work, capture_output=True, check=True)
            lines = proc.stdout.decode("ascii").splitlines()
            if len(lines) != len(chunk):
                raise RuntimeError(f"xxhsum printed {len(lines)} lines for {len(chunk)} files: {proc.stderr!r}")
            for line in lines:
                digest, name = line.split()
                if len(digest) != 32:
                    raise RuntimeError(f"unexpected xxhsum output: {line!r}")
                out[distinct[int(name)]] = digest
    if len(out) != len(distinct):
        raise RuntimeError(f"xxhsum hashed {len(out)} of {len(distinct)} encodings")
    return out


def check_lines(verdicts):
    """Problems (strings) for every valid verdict whose `digest` is not the independent one. Each verdict is a
    parsed `kvshape check` line. Returns (problems, number checked); ([], 0) when xxhsum is missing and the
    switch is off."""
    xxhsum = xxhsum_path()
    if xxhsum is None:
        return [], 0
    valid = [v for v in verdicts if v.get("ok")]
    want = digests(xxhsum, [v["canonical"] for v in valid])
    problems = [f"line {v['line']}: digest {v.get('digest')!r}, but xxhsum -H2 of its canonical encoding is "
                f"{want[v['canonical']]!r}" for v in valid if v.get("digest") != want[v["canonical"]]]
    return problems, len(valid)
