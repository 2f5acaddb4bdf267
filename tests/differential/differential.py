#!/usr/bin/env python3
"""Differential test: `kvshape check` against the Rust original (reference/, serde 1.0.152, serde_json 1.0.87) on
inputs nobody wrote by hand: the parity corpus mutated at random, deterministically for a given seed.

    differential.py KVSHAPE REFERENCE CORPUS [--count N] [--seed S] [--block-dim B] [--keep FILE]

For every line both must agree on line, ok and stage; for valid lines on vector_count, element_count and canonical
(byte for byte); for invalid ones on error and message (dimension_not_divisible: ambient_dim and block_dim).
Parse-error texts are serde's wording, so for parse errors only the stage is compared. The reference has no digest,
so kvshape's digest of every valid line is checked against one computed independently of the library from the
line's `canonical` JSON (tests/independent_digest.py: docs/digest.md's encoding with struct, hashed by
`xxhsum -H2`; without xxhsum that check is skipped with a note, or fails under FIB_QUANT_KV_REQUIRE_ALL).
Standard library and xxhsum only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import independent_digest  # noqa: E402

FIELDS = ["schema_version", "role", "attention_kind", "batch", "layers", "kv_heads", "query_heads", "tokens",
          "head_dim", "dtype", "rope_state"]
NUMBERS = ["0", "1", "-0", "-1", "1.0", "1e3", "1E3", "0.5", "4294967295", "4294967296", "18446744073709551615",
           "18446744073709551616", "99999999999999999999999", "1e400", "-1e400", "1.5e300", "01", "00", "1.", ".5",
           "+1", "0x10", "1e", "-", "NaN", "Infinity", "\"8\"", "true", "null", "[]", "{}", "[1]", "2", "3", "8",
           "16", "32", "64", "128", "65536", "2147483648"]
STRINGS = ['"fib_quant_kv_tensor_shape_v1"', '"key"', '"value"', '"mha"', '"mqa"', '"gqa"', '"f16"', '"bf16"',
           '"f32"', '"pre_rope"', '"post_rope"', '"not_applicable"', '"Key"', '"KEY"', '"key "', '""',
           r'"\u006bey"', r'"k\u0065y"', r'"\ud800"', r'"\udc00"', r'"\ud83d\ude00"', r'"\ud800\u0041"',
           r'"a\"b"', r'"\\"', r'"\/"', r'"\x"', r'"\u12"', '"\t"', '"é"', '{"key":null}', '{"value":null}',
           '{"mha":null}', '{"key":1}', '{"key":null,"x":1}', '{}', '{"nope":null}', '{ "gqa" : null }',
           '["key"]', '{"key":[]}', '{"\\u006bey":null}']
VALUES = NUMBERS + STRINGS + ['[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]', '{"a":{"b":{"c":[1,2,{"d":null}]}}}',
                              '[1,2,]', '[1 2]', '{"a":1,}', '{"a"}', '{1:2}', '"unterminated', "'single'",
                              "[" * 300 + "]" * 300, "tru", "nul", "falsey"]
KEYS = FIELDS + ["x", "", "Batch", "batch ", " batch", r"b\u0061tch", r"\u0072ole", r"\ud800", r"\ud83d\ude00",
                 "schema", "_meta", "日本", "kv_head"]
# Values a field could plausibly hold, so that mutations also reach validation and its overflow edges.
PLAUSIBLE = {
    "schema_version": ['"fib_quant_kv_tensor_shape_v1"', '"fib_quant_kv_tensor_shape_v2"', '""'],
    "role": ['"key"', '"value"'],
    "attention_kind": ['"mha"', '"mqa"', '"gqa"'],
    "dtype": ['"f16"', '"bf16"', '"f32"'],
    "rope_state": ['"pre_rope"', '"post_rope"', '"not_applicable"'],
}
DIMS = ["0", "1", "2", "3", "4", "7", "8", "12", "16", "32", "48", "64", "80", "96", "128", "256", "65536",
        "4294967295", "2147483648", "1048576"]
NOISE = list(',:{}[]"\\ \t\r\n0123456789-+.eEtrufalsn') + ["\x00", "\x7f", "\u00e9", "\ufeff"]


def mutate(rng: random.Random, line: str) -> str:
    """One to three random edits, structural or textual."""
    for _ in range(rng.randint(1, 3)):
        try:
            doc = json.loads(line, object_pairs_hook=lambda pairs: pairs)
        except ValueError:
            doc = None
        kind = rng.random()
        if isinstance(doc, list) and doc and isinstance(doc[0], tuple) and kind < 0.75:
            pairs = [list(p) for p in doc]
            members = [f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=rng.random() < 0.5)}" for k, v in pairs]
            op = rng.choice([0, 0, 0, 1, 2, 3, 4, 5, 6, 7])
            i = rng.randrange(len(members) + 1)
            if op == 0 and members:  # a field's value: plausible (reaches validation) or hostile
                j = rng.randrange(len(members))
                plausible = PLAUSIBLE.get(pairs[j][0], DIMS)
                members[j] = f"{json.dumps(pairs[j][0])}:{rng.choice(plausible if rng.random() < 0.7 else VALUES)}"
            elif op == 1:  # an extra member, known or unknown
                k = rng.choice(KEYS)
                members.insert(i, f'"{k}":{rng.choice(VALUES)}')
            elif op == 2 and members:  # drop one
                members.pop(rng.randrange(len(members)))
            elif op == 3 and members:  # repeat one
                members.insert(i, rng.choice(members))
            elif op == 4 and members:  # shuffle
                rng.shuffle(members)
            elif op == 5:  # the array form
                vals = [v for _, v in pairs]
                if rng.random() < 0.5 and vals:
                    vals.pop() if rng.random() < 0.5 else vals.append(rng.choice([1, "x", None]))
                line = json.dumps(vals)
                continue
            elif op == 6 and members:  # an enum or number in its other forms
                j = rng.randrange(len(members))
                k, v = pairs[j]
                members[j] = f"{json.dumps(k)}:" + (f'{{"{v}":null}}' if isinstance(v, str) else
                                                    rng.choice([f"{v}.0", f"{v}e0", f"-{v}", f'"{v}"', str(v)]))
            else:  # whitespace everywhere
                ws = rng.choice([" ", "\t", "\n", "\r", "  \t"])
                members = [m.replace(":", ws + ":" + ws) for m in members]
            line = "{" + ",".join(members) + "}"
        elif kind < 0.75 and line:  # truncate
            line = line[:rng.randrange(len(line))]
        elif kind < 0.9 and line:  # one character replaced, inserted or deleted
            i = rng.randrange(len(line))
            c = rng.choice(NOISE)
            line = rng.choice([line[:i] + c + line[i + 1:], line[:i] + c + line[i:], line[:i] + line[i + 1:]])
        else:  # trailing or leading material
            line = rng.choice(["", " ", "\ufeff", "\t"]) + line + rng.choice(["", " ", "x", "{}", ",", "\r", "0"])
    return line.replace("\n", " ")


def run(tool: str, path: str, block_dim: str | None) -> list[dict]:
    args = [tool, "check"] + (["--block-dim", block_dim] if block_dim else []) + [path]
    proc = subprocess.run(args, capture_output=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"{tool} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kvshape")
    ap.add_argument("reference")
    ap.add_argument("corpus")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--block-dim")
    ap.add_argument("--keep", help="write the generated input here")
    args = ap.parse_args()

    seeds = [x for x in open(args.corpus, encoding="utf-8").read().split("\n") if x]
    rng = random.Random(args.seed)
    lines = [mutate(rng, rng.choice(seeds)) for _ in range(args.count)]
    # surrogatepass: a lone surrogate written raw becomes bytes that are not UTF-8, one more kind of bad input
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", errors="surrogatepass", suffix=".jsonl",
                                     delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    if args.keep:
        with open(args.keep, "w", encoding="utf-8", errors="surrogatepass") as k:
            k.write("\n".join(lines) + "\n")
    ours = run(args.kvshape, path, args.block_dim)
    theirs = run(args.reference, path, args.block_dim)
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"{len(ours)} lines from kvshape, {len(theirs)} from the reference")
    stats = {"valid": 0, "parse": 0, "validate": 0}
    for a, b in zip(ours, theirs):
        keys = ["line", "ok"]
        if b["ok"]:
            keys += ["vector_count", "element_count", "canonical"]
            stats["valid"] += 1
        else:
            keys.append("stage")
            stats[b["stage"]] += 1
            if b["stage"] == "validate":
                keys += ["error"] + (["ambient_dim", "block_dim"] if b["error"] == "dimension_not_divisible"
                                     else ["message"])
        diff = [k for k in keys if a.get(k) != b.get(k)]
        if diff:
            problems.append(f"line {b['line']}: {diff}: input {lines[b['line'] - 1]!r}\n  kvshape:   {a}\n"
                            f"  reference: {b}")
    digest_problems, n_digests = independent_digest.check_lines(ours)
    problems += digest_problems
    for p in problems[:20]:
        print(p)
    summary = f"{args.count} inputs (seed {args.seed}): {stats['valid']} valid ({n_digests} digests checked " \
              f"against xxhsum), {stats['parse']} parse errors, {stats['validate']} validate errors"
    if problems:
        print(f"FAILED: {len(problems)} disagreements over {summary}")
        return 1
    print(f"differential: kvshape agrees with the Rust original on {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
