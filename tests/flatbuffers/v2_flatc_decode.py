#!/usr/bin/env python3
"""An independent reader of the v2 cache spec's FlatBuffers form: flatc itself.

    v2_flatc_decode.py KVSHAPE FLATC SCHEMA_DIR

For each spec below, `kvshape convert --to fb` writes a buffer; `flatc --json --strict-json --raw-binary` decodes
it with generated/fbs/kv_cache_spec_v2.fbs (which includes kv_tensor_shape_v1.fbs), and the result must be the
expected document written literally here (absent optional fields absent, enums by name). The other way round,
flatc -b turns the expected document into a buffer that `kvshape convert --to json` must read back as the same
document.
"""

import json
import os
import subprocess
import sys
import tempfile

KVSHAPE, FLATC, SCHEMA_DIR = sys.argv[1:4]
SCHEMA = os.path.join(SCHEMA_DIR, "kv_cache_spec_v2.fbs")
V = "fib_quant_kv_cache_spec_v2"

CASES = {
    "sliding_paged": {
        "schema_version": V, "layers": 6, "batch": 1, "tokens": 1000,
        "groups": [
            {"layers": [0, 1, 2, 3, 4], "attention": "sliding_window", "window": 512, "kv_heads": 2,
             "key_head_dim": 128, "value_head_dim": 128, "rope_state": "post_rope"},
            {"layers": [5], "attention": "full", "kv_heads": 2, "key_head_dim": 128, "value_head_dim": 128,
             "rope_state": "post_rope"},
        ],
        "storage": {"dim_order": ["kv", "block", "token", "head", "dim"], "packing": "stacked", "block_size": 16,
                    "value_layout": "rows"},
        "quant": {"scheme": "none", "dtype": "bf16", "scale_granularity": "none"},
    },
    "mla_fp8": {
        "schema_version": V, "layers": 3, "batch": 2, "tokens": 100,
        "groups": [
            {"layers": [0, 1, 2], "attention": "mla", "kv_lora_rank": 512, "qk_rope_head_dim": 64, "kv_heads": 1,
             "key_head_dim": 576, "value_head_dim": 0, "rope_state": "post_rope"},
        ],
        "storage": {"dim_order": ["layer", "batch", "token", "head", "dim"], "packing": "separate",
                    "block_size": 0, "value_layout": "rows"},
        "quant": {"scheme": "fp8_e4m3", "dtype": "bf16", "scale_granularity": "tensor", "scale_dtype": "f32"},
    },
    "linear_and_int4_groups": {
        "schema_version": V, "layers": 3, "batch": 3, "tokens": 5,
        "groups": [
            {"layers": [0], "attention": "chunked_local", "chunk": 8192, "kv_heads": 1, "key_head_dim": 64,
             "value_head_dim": 64, "rope_state": "pre_rope"},
            {"layers": [1, 2], "attention": "linear", "state_bytes": 4294967296, "kv_heads": 0, "key_head_dim": 0,
             "value_head_dim": 0, "rope_state": "not_applicable"},
        ],
        "storage": {"dim_order": ["layer", "batch", "token", "head", "dim"], "packing": "separate",
                    "block_size": 0, "value_layout": "transposed"},
        "quant": {"scheme": "int4", "dtype": "f16", "scale_granularity": "group", "group_size": 32,
                  "scale_dtype": "f16"},
    },
}


def run(*args):
    r = subprocess.run(list(args), capture_output=True)
    if r.returncode != 0:
        sys.exit(f"FAILED ({r.returncode}): {' '.join(args)}\n{r.stdout.decode()}\n{r.stderr.decode()}")
    return r


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, expected in CASES.items():
            src = os.path.join(tmp, name + ".json")
            with open(src, "w", encoding="utf-8") as f:
                json.dump(expected, f)
            buf = os.path.join(tmp, name + ".fqk2")
            run(KVSHAPE, "convert", "--to", "fb", src, buf)
            outdir = os.path.join(tmp, "flatc_" + name)
            run(FLATC, "--json", "--strict-json", "--raw-binary", "-I", SCHEMA_DIR, "-o", outdir, SCHEMA, "--", buf)
            with open(os.path.join(outdir, name + ".json"), encoding="utf-8") as f:
                decoded = json.load(f)
            if decoded != expected:
                failures += 1
                print(f"{name}: flatc decoded our buffer as\n{json.dumps(decoded)}\nexpected\n{json.dumps(expected)}")
            # flatc writes, we read
            bindir = os.path.join(tmp, "flatc_b_" + name)
            run(FLATC, "-b", "-I", SCHEMA_DIR, "-o", bindir, SCHEMA, src)
            back = os.path.join(tmp, name + ".back.json")
            run(KVSHAPE, "convert", "--to", "json", os.path.join(bindir, name + ".fqk2"), back)
            with open(back, encoding="utf-8") as f:
                text = f.read()
            if text != json.dumps(expected, separators=(",", ":")) + "\n":
                failures += 1
                print(f"{name}: kvshape read flatc's buffer as\n{text}")
            print(f"{name}: ok" if not failures else f"{name}: FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
