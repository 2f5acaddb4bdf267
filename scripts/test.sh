#!/usr/bin/env bash
# One command from a fresh machine to a passing test suite: install, build, run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# FIB_QUANT_KV_REQUIRE_ALL=1 (as .ci/run sets it): every test must be registered and run; a missing tool, package
# or data set fails configure or the test instead of skipping it.
case "${FIB_QUANT_KV_REQUIRE_ALL:-}" in
  ""|0|off|OFF|false|no) require_all=OFF ;;
  *) require_all=ON ;;
esac
scripts/build.sh -DFIB_QUANT_KV_REQUIRE_ALL="$require_all"
ctest --test-dir build --output-on-failure -j"$(nproc)"
