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
  pybind11-dev python3-numpy python3-torch python3-mypy python3-matplotlib \
  python3-setuptools python3-wheel python3-venv python3-pip \
  clang libclang-rt-14-dev \
  libbenchmark-dev nlohmann-json3-dev time \
  librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-sha2-dev >/dev/null
# The Rust original as a test oracle (reference/) builds offline from the crates above; any cargo will do.
if ! command -v cargo >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends cargo >/dev/null
fi
# Tests only: node and npm for the independent GGUF reader (@huggingface/gguf, tests/checkpoint/gguf_js; the test
# installs the package with `npm ci`). A node already on PATH is used as it is: NodeSource's nodejs bundles its own
# npm and conflicts with Debian's npm package. Debian 12's nodejs is 18; the package declares node >= 20, but
# reads local files under 18.20 as well (checked), and npm only warns about the declared engine.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
