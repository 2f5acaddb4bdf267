#!/usr/bin/env bash
# Installs what fib_quant_kv needs to build, test and regenerate, from Debian's packages.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  g++ cmake ninja-build pkg-config \
  rapidjson-dev libxxhash-dev libcli11-dev libboost-test-dev \
  libflatbuffers-dev flatbuffers-compiler \
  python3 python3-dev python3-jinja2 python3-yaml python3-flatbuffers python3-jsonschema python3-pytest xxhash \
  pybind11-dev python3-numpy python3-torch \
  clang libclang-rt-14-dev \
  libbenchmark-dev nlohmann-json3-dev time \
  librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-sha2-dev >/dev/null
# The Rust original as a test oracle (reference/) builds offline from the crates above; any cargo will do.
if ! command -v cargo >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends cargo >/dev/null
fi
