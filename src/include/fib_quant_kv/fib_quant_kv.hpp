// fib_quant_kv: everything a user includes. KV-cache tensor descriptors: types, validation, JSON wire form,
// overflow-checked counts and digests, all generated from schema/ except the error model, the counting and
// the digest primitives.
#pragma once

#include "fib_quant_kv/count.hpp"
#include "fib_quant_kv/digest.hpp"
#include "fib_quant_kv/error.hpp"
#include "fib_quant_kv/schemas.hpp"  // generated: every schema listed in schema/library.yaml
