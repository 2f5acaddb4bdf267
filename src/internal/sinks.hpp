// fib_quant_kv internal: where a generated rule chain sends its violations. A sink returns false to stop the
// chain: validate() keeps the first violation, validate_all() keeps every one; both run the same chain.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "fib_quant_kv/error.hpp"

namespace fib_quant_kv::detail {

/// Keeps the first violation and stops the chain.
struct FirstViolation {
    std::optional<Error> error;
    bool operator()(Error&& e) {
        error = std::move(e);
        return false;
    }
    [[nodiscard]] Status status() && { return error ? Status(std::move(*error)) : Status(); }
};

/// Keeps every violation.
struct AllViolations {
    std::vector<Error> errors;
    bool operator()(Error&& e) {
        errors.push_back(std::move(e));
        return true;
    }
};

}  // namespace fib_quant_kv::detail
