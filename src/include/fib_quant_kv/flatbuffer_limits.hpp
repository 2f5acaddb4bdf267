// Bounds for the FlatBuffers verifier, shared by the buffer readers of every schema.
#pragma once

#include <cstdint>

namespace fib_quant_kv {

/// Bounds for the FlatBuffers verifier (FlatBuffers' Verifier::Options).
struct FlatBufferLimits {
    std::uint32_t max_depth = 64;        ///< nesting of tables and vectors
    std::uint32_t max_tables = 1000000;  ///< tables visited in one buffer
};

}  // namespace fib_quant_kv
