// Shared helpers of the fib_quant_kv unit tests (header-only). Include after <boost/test/unit_test.hpp>, which
// each test file includes first, below its BOOST_TEST_MODULE.
#pragma once

#include <boost/test/unit_test.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "test_shapes.hpp"

// ---------------------------------------------------------------------------------------------- printing
// Boost.Test finds boost_test_print_type by argument-dependent lookup when it logs a failing BOOST_TEST.
namespace fib_quant_kv {

template <class E>
std::ostream& print_enum(std::ostream& os, E value) {
    const std::string_view name = to_string(value);
    os << (name.empty() ? std::string_view("<unknown>") : name) << " (code "
       << static_cast<unsigned>(static_cast<std::underlying_type_t<E>>(value)) << ")";
    return os;
}

// Plain overloads, so they win over Boost.Test's own catch-all template.
inline std::ostream& boost_test_print_type(std::ostream& os, KvRole v) { return print_enum(os, v); }
inline std::ostream& boost_test_print_type(std::ostream& os, KvRopeState v) { return print_enum(os, v); }
inline std::ostream& boost_test_print_type(std::ostream& os, KvAttentionKind v) { return print_enum(os, v); }
inline std::ostream& boost_test_print_type(std::ostream& os, KvDType v) { return print_enum(os, v); }
inline std::ostream& boost_test_print_type(std::ostream& os, ErrorKind v) { return print_enum(os, v); }

inline std::ostream& boost_test_print_type(std::ostream& os, const KvTensorShapeV1& shape) {
    return os << to_json(shape);
}

inline std::ostream& boost_test_print_type(std::ostream& os, const Error& error) { return os << error.describe(); }

inline std::ostream& boost_test_print_type(std::ostream& os, const Digest& digest) { return os << digest.hex(); }

}  // namespace fib_quant_kv

namespace fib_quant_kv::test {

inline constexpr std::uint32_t kU32Max = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

// ---------------------------------------------------------------------------------------------- text
/// Items joined with ",", so a whole list compares (and prints) as one string.
template <class Range, class Project>
std::string join(const Range& items, Project project) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out.push_back(',');
        out.append(project(item));
    }
    return out;
}

/// An error's fields as "query_heads,kv_heads".
inline std::string fields_of(const Error& e) {
    return join(e.fields, [](std::string_view f) { return std::string(f); });
}

/// The rule ids of a list of errors as "batch.nonzero,layers.nonzero".
inline std::string rules_of(const std::vector<Error>& errors) {
    return join(errors, [](const Error& e) { return std::string(e.rule); });
}

/// Bytes as lower-case hex.
inline std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xF]);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- errors
/// Checks every part of an error that a caller relies on: kind, rule id, fields and message.
inline void check_error_at(const Error& e, ErrorKind kind, std::string_view rule, std::string_view fields,
                           std::string_view message, const char* file, int line) {
    BOOST_TEST_CONTEXT("error checked at " << file << ":" << line << ": " << e.describe()) {
        BOOST_TEST(e.kind == kind);
        BOOST_TEST(std::string(e.rule) == std::string(rule));
        BOOST_TEST(fields_of(e) == std::string(fields));
        BOOST_TEST(e.message == std::string(message));
    }
}

/// CHECK_ERROR(error, ErrorKind::corrupt_payload, "batch.nonzero", "batch", "kv shape batch must be > 0")
#define CHECK_ERROR(error, kind, rule, fields, message) \
    ::fib_quant_kv::test::check_error_at((error), (kind), (rule), (fields), (message), __FILE__, __LINE__)

/// Every member of two errors alike (Error::operator==, named for the macro below).
inline bool same_error(const Error& a, const Error& b) { return a == b; }

#define CHECK_SAME_ERROR(a, b)                                                                               \
    BOOST_TEST(::fib_quant_kv::test::same_error((a), (b)),                                                   \
               "errors differ: " << (a).describe() << " (offset " << (a).offset << ") vs " << (b).describe() \
                                 << " (offset " << (b).offset << ")")

// ---------------------------------------------------------------------------------------------- files
/// A fresh folder per test, removed afterwards (its sub-folders made writable again first).
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("fqk_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            if (it->is_directory(ec)) std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                                                   std::filesystem::perm_options::add, ec);
        }
        std::filesystem::remove_all(path, ec);
    }
    std::filesystem::path write(const std::string& name, const std::string& bytes) const {
        std::ofstream(path / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return path / name;
    }
    /// The names in the folder, sorted, hidden ones (a temporary file left behind) included.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
    std::size_t entries() const { return names().size(); }
};

/// The bytes of a file ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// While it lives, the process acts as uid and gid 65534 (nobody) when it runs as root, so that a folder's or a
/// file's mode denies it what it denies everyone else; otherwise it changes nothing.
class AsNobody {
  public:
    AsNobody() : switched_(::geteuid() == 0) {
        if (switched_) BOOST_REQUIRE(::setegid(65534) == 0 && ::seteuid(65534) == 0);
    }
    AsNobody(const AsNobody&) = delete;
    AsNobody& operator=(const AsNobody&) = delete;
    ~AsNobody() {
        if (switched_ && (::seteuid(0) != 0 || ::setegid(0) != 0)) std::abort();  // the rest of the run needs root
    }

  private:
    bool switched_;
};

// ---------------------------------------------------------------------------------------------- shapes
using test_shapes::gqa_value;
using test_shapes::mha_key;
using test_shapes::mqa_key;

}  // namespace fib_quant_kv::test

// ---------------------------------------------------------------------------------------------- vector files
namespace fib_quant_kv::test {

/// The vectors of a JSON Lines file, or why they could not be read.
template <class V>
struct LoadedVectors {
    std::vector<V> vectors;
    std::string problem;  ///< "PATH line N: why", when loading failed; then `vectors` is empty
};

/// Reads the JSON Lines file at `path`, skipping blank lines: `parse(text, problem)` returns one line's vector,
/// or sets `problem` (which stops the loading). Each vector's `line` member is set to its line number.
template <class V, class Parse>
LoadedVectors<V> load_vector_file(const std::string& path, Parse parse) {
    LoadedVectors<V> out;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        out.problem = "cannot open " + path;
        return out;
    }
    std::string text;
    std::size_t line_no = 0;
    while (std::getline(in, text)) {
        ++line_no;
        if (text.empty()) continue;
        std::string problem;
        V v = parse(text, problem);
        if (!problem.empty()) {
            out.problem = path + " line " + std::to_string(line_no) + ": " + problem;
            out.vectors.clear();
            return out;
        }
        v.line = line_no;
        out.vectors.push_back(std::move(v));
    }
    return out;
}

}  // namespace fib_quant_kv::test

