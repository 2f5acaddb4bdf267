#!/usr/bin/env bash
# One command from a fresh machine to the main job: install, build, then size the KV cache of every bundled
# Hugging Face config at 4 k, 32 k and 128 k tokens, and check the bundled example descriptors.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FIB_QUANT_KV_DEMO_NO_INSTALL:-}" != 1 ]; then  # (set to 1 to rerun the demo on a built tree)
  scripts/install-deps.sh
  scripts/build.sh
fi
for config in examples/configs/*.json; do
  echo "== kvshape from-hf-config $config --tokens 4096,32768,131072"
  build/kvshape from-hf-config "$config" --tokens 4096,32768,131072
  echo
done
echo "== kvshape check examples/shapes.jsonl"
status=0
build/kvshape check examples/shapes.jsonl || status=$?
echo "== exit status $status (0: all valid, 1: some invalid, 2: usage or I/O error)"
