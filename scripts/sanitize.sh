#!/usr/bin/env bash
# The sanitizer run: every test, built by Clang with AddressSanitizer and UndefinedBehaviorSanitizer (any report
# fails), plus the libFuzzer targets replaying the parity corpus and fuzzing for a bounded number of runs.
# Run scripts/install-deps.sh first (scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
# FIB_QUANT_KV_REQUIRE_ALL=1 (as .ci/run sets it): nothing may be skipped (see scripts/test.sh).
case "${FIB_QUANT_KV_REQUIRE_ALL:-}" in
  ""|0|off|OFF|false|no) require_all=OFF ;;
  *) require_all=ON ;;
esac
# The Python module is built instrumented too, and its tests run under the interpreter with Clang's shared ASan
# runtime preloaded (LD_PRELOAD), leak detection off for the interpreter only: see tests/CMakeLists.txt.
CC=clang CXX=clang++ cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFIB_QUANT_KV_WERROR=ON -DFIB_QUANT_KV_FUZZ=ON -DFIB_QUANT_KV_INSTALL=OFF -DFIB_QUANT_KV_REQUIRE_ALL="$require_all"
cmake --build build-sanitize -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export FIB_QUANT_KV_SANITIZED=1  # tests that measure memory skip themselves (allowed under REQUIRE_ALL)
ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)"
