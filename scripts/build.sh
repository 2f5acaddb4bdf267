#!/usr/bin/env bash
# Configures and builds fib_quant_kv into build/ (warnings are errors), tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIB_QUANT_KV_WERROR=ON "$@"
cmake --build build -j"$(nproc)"
