#!/usr/bin/env bash
# One command from a fresh machine to the main job: install, build, check the bundled example descriptors.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo "== kvshape check examples/shapes.jsonl"
status=0
build/kvshape check examples/shapes.jsonl || status=$?
echo "== exit status $status (0: all valid, 1: some invalid, 2: usage or I/O error)"
