#!/bin/sh
# Writes bench/specs_v2.jsonl, the v2 cache specs bench_descriptors times (one canonical JSON spec a line): real
# models' caches (examples/configs/) as each engine stores them, from `kvshape from-hf-config --engine`. Sliding and
# full groups (Gemma 2, gpt-oss), plain full attention (Llama, Qwen), vLLM's paged layout, llama.cpp's and
# Hugging Face's contiguous ones, unquantized and quantized caches.
#   bench/make_specs_v2.sh BUILD/kvshape
set -eu
kvshape=$1
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/specs_v2.jsonl"
: > "$out.tmp"
spec() {  # config, engine, kv dtype
    "$kvshape" from-hf-config "$root/examples/configs/$1.json" --tokens 4096 --engine "$2" --kv-dtype "$3" \
        --format json |
        /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["spec"], separators=(",", ":")))' \
        >> "$out.tmp"
}
for config in gemma-2-9b gpt-oss-20b llama-3.1-8b qwen3-30b-a3b; do
    for engine in vllm llama.cpp hf; do
        spec "$config" "$engine" auto
    done
done
spec gemma-2-9b vllm fp8_e4m3
spec llama-3.1-8b llama.cpp q8_0
spec qwen2.5-7b llama.cpp q4_0
spec gpt-oss-20b vllm fp8_e5m2
mv "$out.tmp" "$out"
wc -lc "$out"
