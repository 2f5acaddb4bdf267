"""The shared descriptor test vectors, tests/data/shape_vectors.jsonl, for the Python module's tests.

    from vectors import load_vectors
    for v in load_vectors(): ...

Each vector is a dict: name, input (the exact JSON text to parse), optional block_dim, verdict and (with
block_dim) block_dim_verdict ("ok" or an error dict with kind, rule, message, details; a parse error has rule
and message None, since its wording is each implementation's own), and, for inputs that parse, canonical,
vector_count, element_count, byte_size (an int, or the size_overflow error dict), and digest for valid ones.
tests/data/make_shape_vectors.py writes the file and documents every field; the C++ suite tests/test_vectors.cpp
reads the same file.
"""

import json
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data", "shape_vectors.jsonl")


def load_vectors(path=PATH):
    """Every vector of the file, in file order, as a list of dicts."""
    with open(path, encoding="utf-8") as f:
        # split on "\n" only: str.splitlines() would also split on U+2028 and friends
        return [json.loads(line) for line in f.read().split("\n") if line.strip()]
