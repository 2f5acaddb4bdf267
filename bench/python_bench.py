"""Times the Python module against the standard library on the bench's shapes (run by bench/run).

    PYTHONPATH=BUILD/python python3 bench/python_bench.py SHAPES.jsonl ROUNDS

For each round, both sides back to back over every canonical line: `KvTensorShapeV1.from_json(line).validate()`
and a bare `json.loads(line)`, each timed as the best of 5 timeit repeats. Prints one JSON object: per-round
ns per op for both.
"""
from __future__ import annotations

import json
import sys
import timeit

import fib_quant_kv as fqk


def per_op_ns(stmt, lines: list[str]) -> float:
    def loop():
        for line in lines:
            stmt(line)
    number = max(1, 200_000 // len(lines))
    best = min(timeit.repeat(loop, number=number, repeat=5))
    return best / (number * len(lines)) * 1e9


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    rounds = int(sys.argv[2])
    parse = fqk.KvTensorShapeV1.from_json
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(per_op_ns(lambda line: parse(line).validate(), lines))
        theirs.append(per_op_ns(json.loads, lines))
    print(json.dumps({"from_json_validate_ns": ours, "json_loads_ns": theirs, "python": sys.version.split()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
