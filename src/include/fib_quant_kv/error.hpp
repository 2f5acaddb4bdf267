// fib_quant_kv: the one error model every format and every check shares.
//
// An Error says what kind of failure it is (ErrorKind, numbered and stable, declared in the schema), which
// rule failed (the schema's rule id, or a wire-format rule such as "json.missing_field"), which fields it
// concerns, and a message. validate() keeps the seed's exact message texts; parse errors carry the byte offset
// in the input where they were found.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "fib_quant_kv/errors.hpp"

namespace fib_quant_kv {

/// Rule ids of the wire formats' own rules (the schema's rules carry the ids written in the schema).
namespace wire_rules {
inline constexpr std::string_view json_syntax = "json.syntax";              ///< not JSON, or not UTF-8
inline constexpr std::string_view json_invalid_type = "json.invalid_type";  ///< a value of the wrong JSON type
inline constexpr std::string_view json_invalid_value = "json.invalid_value";  ///< right type, out of range
inline constexpr std::string_view json_unknown_variant = "json.unknown_variant";  ///< not an enum wire name
inline constexpr std::string_view json_missing_field = "json.missing_field";
inline constexpr std::string_view json_duplicate_field = "json.duplicate_field";
inline constexpr std::string_view json_invalid_length = "json.invalid_length";  ///< array form, wrong length
inline constexpr std::string_view flatbuffers_size = "flatbuffers.size";  ///< under 8 bytes or over 2 GiB
inline constexpr std::string_view flatbuffers_alignment = "flatbuffers.alignment";  ///< start not 4-byte aligned
inline constexpr std::string_view flatbuffers_identifier = "flatbuffers.identifier";  ///< wrong file identifier
inline constexpr std::string_view flatbuffers_verify = "flatbuffers.verify";  ///< the FlatBuffers Verifier said no
inline constexpr std::string_view flatbuffers_missing_field = "flatbuffers.missing_field";
inline constexpr std::string_view flatbuffers_unknown_enum_code = "flatbuffers.unknown_enum_code";
inline constexpr std::string_view flatbuffers_invalid_utf8 = "flatbuffers.invalid_utf8";
inline constexpr std::string_view flatbuffers_invalid_length = "flatbuffers.invalid_length";  ///< vector past its bound
}  // namespace wire_rules

/// Rule ids of I/O failures (kind io), the same for every reader and writer of files in the library and kvshape.
/// The message names the file and ends with the operating system's text for the error.
namespace io_rules {
inline constexpr std::string_view open = "io.open";    ///< a file cannot be opened, or a new one created
inline constexpr std::string_view read = "io.read";    ///< reading failed, or the file shrank while being read
inline constexpr std::string_view write = "io.write";  ///< writing, syncing, closing or renaming failed
}  // namespace io_rules

/// One schema rule as data: a row of the rule table each generated struct carries (StructTraits<S>::rules), in
/// validate() order. The Error of a violated rule is built from its row, on the cold path only.
struct RuleInfo {
    std::string_view id;                       ///< the schema's rule id, e.g. "mha.heads_equal"
    ErrorKind kind;                            ///< the error kind a violation reports
    std::span<const std::string_view> fields;  ///< the fields the rule concerns
    std::string_view message;                  ///< the message; with `{name}` placeholders when `formatted`
    bool formatted;                            ///< the message shows values of the descriptor or parameters
};

/// One failure: a parse error or one violated rule (protovalidate's Violation).
struct Error {
    static constexpr std::size_t no_offset = static_cast<std::size_t>(-1);

    ErrorKind kind = ErrorKind::parse;
    std::string_view rule;                     ///< stable rule id; static storage
    std::span<const std::string_view> fields;  ///< the fields the rule concerns; static storage
    std::string message;                       ///< human-readable; for validation rules, the seed's text
    ErrorDetails details;                      ///< kind-specific numbers (dimension_not_divisible)
    std::size_t offset = no_offset;            ///< parse errors: byte offset in the input, where known
    std::string path{};  ///< nested descriptors: where, e.g. "groups[2].window"; empty for flat ones (v1)

    [[nodiscard]] bool is_parse_error() const noexcept { return kind == ErrorKind::parse; }

    /// One line for people: kind, [rule], (fields), message, and the byte offset where known, e.g.
    /// "corrupt_payload [mha.heads_equal] (query_heads, kv_heads): MHA requires query_heads == kv_heads"
    [[nodiscard]] std::string describe() const;

    /// Same kind, rule, fields (by name), message, details and offset.
    friend bool operator==(const Error& a, const Error& b) noexcept {
        return a.kind == b.kind && a.rule == b.rule &&
               std::equal(a.fields.begin(), a.fields.end(), b.fields.begin(), b.fields.end()) &&
               a.message == b.message && a.details == b.details && a.offset == b.offset && a.path == b.path;
    }
};

/// Thrown only by Result::value()/error() used against their precondition (a programming error).
class BadResultAccess : public std::logic_error {
  public:
    using std::logic_error::logic_error;
};

/// A value or an Error, never both (std::expected-style, without exceptions on the normal paths).
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design
    /// A value made in place from `args` (T{} with none): for a large T that is then filled in where it lies.
    template <class... Args>
    explicit Result(std::in_place_t, Args&&... args) : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    [[nodiscard]] T& value() & { return ok() ? *std::get_if<0>(&v_) : fail<T&>("value() on an error Result"); }
    [[nodiscard]] const T& value() const& {
        return ok() ? *std::get_if<0>(&v_) : fail<const T&>("value() on an error Result");
    }
    [[nodiscard]] T&& value() && {
        return ok() ? std::move(*std::get_if<0>(&v_)) : fail<T&&>("value() on an error Result");
    }
    [[nodiscard]] const Error& error() const& {
        return !ok() ? *std::get_if<1>(&v_) : fail<const Error&>("error() on an ok Result");
    }
    [[nodiscard]] Error&& error() && {
        return !ok() ? std::move(*std::get_if<1>(&v_)) : fail<Error&&>("error() on an ok Result");
    }
    [[nodiscard]] T value_or(T fallback) const& { return ok() ? *std::get_if<0>(&v_) : std::move(fallback); }

    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

  private:
    template <class R>
    [[noreturn]] static R fail(const char* what) {
        throw BadResultAccess(what);
    }
    std::variant<T, Error> v_;
};

/// Success or an Error. Success is a null pointer, so returning it costs one register; the Error lives on the
/// heap and is built only on failure (the cold path).
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() noexcept = default;
    Result(Error error) : error_(std::make_unique<Error>(std::move(error))) {}  // NOLINT: implicit by design
    Result(const Result& other) : error_(other.error_ ? std::make_unique<Error>(*other.error_) : nullptr) {}
    Result(Result&&) noexcept = default;
    Result& operator=(const Result& other) {
        if (this != &other) error_ = other.error_ ? std::make_unique<Error>(*other.error_) : nullptr;
        return *this;
    }
    Result& operator=(Result&&) noexcept = default;
    ~Result() = default;

    [[nodiscard]] bool ok() const noexcept { return error_ == nullptr; }
    explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] const Error& error() const& {
        if (!error_) throw BadResultAccess("error() on an ok Status");
        return *error_;
    }
    [[nodiscard]] Error&& error() && {
        if (!error_) throw BadResultAccess("error() on an ok Status");
        return std::move(*error_);
    }

  private:
    std::unique_ptr<Error> error_;
};

using Status = Result<void>;

}  // namespace fib_quant_kv
