#!/usr/bin/env bash
# One command from a fresh machine to the main job: install, build, then
#   1. size the KV cache of every bundled Hugging Face config (examples/configs/) at 4 k, 32 k and 128 k tokens,
#      contiguous and as transformers, vLLM and llama.cpp allocate it, and what fits in 24 GiB;
#   2. attach a key and a value descriptor to a bundled checkpoint, inspect it and verify it;
#   3. check the bundled example descriptors (examples/shapes.jsonl).
# FIB_QUANT_KV_DEMO_NO_INSTALL=1 reruns the demo on a tree that is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FIB_QUANT_KV_DEMO_NO_INSTALL:-}" != 1 ]; then
  scripts/install-deps.sh
  scripts/build.sh
fi
kvshape=build/kvshape

for config in examples/configs/*.json; do
  echo "== kvshape from-hf-config $config --tokens 4096,32768,131072 --memory 24GiB"
  refused=0
  "$kvshape" from-hf-config "$config" --tokens 4096,32768,131072 --memory 24GiB || refused=$?
  if [ "$refused" != 0 ]; then
    echo "== exit status $refused (1: a config whose layers kvshape does not lay out, refused with the key named)"
  fi
  echo
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp examples/checkpoints/kv_cache.safetensors "$work/"
file="$work/kv_cache.safetensors"
echo "== kvshape checkpoint attach (key and value groups) to a copy of examples/checkpoints/kv_cache.safetensors"
"$kvshape" checkpoint attach "$file" --shape examples/checkpoints/key.json --tensors 'past.{layer}.key' -o "$file"
"$kvshape" checkpoint attach "$file" --shape examples/checkpoints/value.json --tensors 'past.{layer}.value' -o "$file"
echo "== kvshape checkpoint inspect"
"$kvshape" checkpoint inspect "$file" | sed "s|$work/||"
echo "== kvshape checkpoint verify"
"$kvshape" checkpoint verify "$file" | sed "s|$work/||"
echo

echo "== kvshape check examples/shapes.jsonl"
status=0
"$kvshape" check examples/shapes.jsonl || status=$?
echo "== exit status $status (0: all valid, 1: some invalid, 2: usage or I/O error)"

echo
echo "== kvshape validate examples/specs/gemma-3-27b.vllm.json (a v2 cache spec: Gemma-3-27B as vLLM pages it)"
"$kvshape" validate examples/specs/gemma-3-27b.vllm.json
echo "== kvshape compat examples/specs/gemma-3-27b.vllm.json examples/specs/gemma-3-27b.vllm-fp8.json"
compat=0
"$kvshape" compat examples/specs/gemma-3-27b.vllm.json examples/specs/gemma-3-27b.vllm-fp8.json || compat=$?
echo "== exit status $compat (0: readable as is, 1: the differences above)"
