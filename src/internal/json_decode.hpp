// fib_quant_kv internal: the schema-agnostic JSON decoder behind every generated parse_*_json().
//
// A generated Binding describes one struct (its fields, their types, the enum wire names) and how to store a
// decoded value; this engine drives RapidJSON's SAX reader over the text and applies serde's derived
// Deserialize rules, which are the wire contract:
//   * the struct is a JSON object (unknown keys ignored, their values still fully checked as JSON; a known key
//     twice is an error at the second one; a missing field is an error naming the first missing field in
//     declaration order) or a JSON array of exactly N values in declaration order;
//   * unsigned fields take JSON integers only (no fraction, no exponent, no sign: "-0" is a float to serde)
//     within the field's range;
//   * strings are decoded (escapes, surrogate pairs); a lone surrogate in a decoded string is an error;
//   * enums are a wire name as a string, or a one-key object {"name": null};
//   * nothing but JSON whitespace may follow the value.
// RapidJSON reports every number as its raw text (kParseNumbersAsStringsFlag), which is what lets the engine
// apply those integer rules exactly; kParseIterativeFlag keeps arbitrarily deep ignored values off the stack.
// Where RapidJSON is stricter than serde (inside unknown fields only), decode() bridges the gap: see below.
#pragma once

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/error.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::detail::json {

enum class FieldType : std::uint8_t { string, uint, enumeration };

/// One field as the decoder sees it. Generated, static storage.
struct FieldSpec {
    std::string_view name;
    FieldType type;
    std::uint64_t max;                          ///< uint: largest accepted value
    std::string_view type_name;                 ///< for messages: "u32", "string", "enum KvRole"
    std::span<const std::string_view> variants;  ///< enumeration: wire names, in schema order
    std::span<const std::string_view> path;      ///< the field's name as Error::fields
};

/// True for a number token serde reads as a float: a fraction, an exponent, or "-0".
[[nodiscard]] constexpr bool is_float_token(std::string_view raw) noexcept {
    return raw.find_first_of(".eE") != std::string_view::npos || raw == "-0";
}

/// A number token as messages show it: "integer `5`", "floating point `1.0`".
inline std::string describe_number(std::string_view raw) {
    return std::string(is_float_token(raw) ? "floating point `" : "integer `").append(raw).append("`");
}

template <class Binding>
class Decoder {
  public:
    using Struct = typename Binding::type;
    static constexpr std::span<const FieldSpec> fields = Binding::fields;
    static_assert(Binding::fields.size() <= 64, "the decoder tracks fields in a 64-bit mask");

    /// `original` is the caller's text; RapidJSON parses `work`, a same-length working copy of it (see decode()).
    Decoder(Struct& out, std::string_view original, const char* work) : out_(out), original_(original), work_(work) {}

    // ---- RapidJSON SAX interface
    bool Null() { return scalar(Token::null, {}); }
    bool Bool(bool b) { return scalar(Token::boolean, b ? "true" : "false"); }
    bool Int(int) { return unexpected_number(); }
    bool Uint(unsigned) { return unexpected_number(); }
    bool Int64(std::int64_t) { return unexpected_number(); }
    bool Uint64(std::uint64_t) { return unexpected_number(); }
    bool Double(double) { return unexpected_number(); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        // In place, `s` points at the token in the working copy: show it as the caller wrote it.
        return scalar(Token::number, original_.substr(static_cast<std::size_t>(s - work_), n));
    }
    bool String(const char* s, rapidjson::SizeType n, bool) { return scalar(Token::string, {s, n}); }
    bool StartObject() { return open(Token::object); }
    bool StartArray() { return open(Token::array); }
    bool Key(const char* s, rapidjson::SizeType n, bool) { return key({s, n}); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    [[nodiscard]] bool has_error() const noexcept { return has_error_; }
    [[nodiscard]] Error take_error() { return std::move(error_); }

  private:
    enum class Token : std::uint8_t { null, boolean, number, string, object, array };
    enum class State : std::uint8_t {
        root,           // before the struct
        object_key,     // struct as object: expecting a key or '}'
        object_value,   // struct as object: expecting the value of field_
        array_value,    // struct as array: expecting element index_ or ']'
        skip,           // inside an ignored value, depth_ levels deep
        variant_key,    // enum as {"name": null}: expecting the name
        variant_value,  // ... expecting null
        variant_end,    // ... expecting '}'
        done,
    };

    // ---- errors
    /// Records the error and stops the reader. A field's message is prefixed "field `name`: " unless it names
    /// the field itself ("missing field `dtype`", serde's wording).
    bool fail(std::string_view rule, std::string message, const FieldSpec* field = nullptr, bool prefix = true) {
        has_error_ = true;
        error_.kind = ErrorKind::parse;
        error_.rule = rule;
        error_.fields = field ? field->path : std::span<const std::string_view>{};
        error_.message = field && prefix ? std::string("field `").append(field->name).append("`: ").append(message)
                                         : std::move(message);
        return false;
    }
    static std::string token_text(Token t, std::string_view text) {
        switch (t) {
            case Token::null: return "null";
            case Token::boolean: return std::string("boolean `").append(text).append("`");
            case Token::number: return describe_number(text);
            case Token::string: {
                std::string s = "string ";
                append_json_string(s, text);
                return s;
            }
            case Token::object: return "map";
            case Token::array: return "sequence";
        }
        return "value";
    }
    bool invalid_type(Token t, std::string_view text, std::string_view expected, const FieldSpec* field) {
        return fail(wire_rules::json_invalid_type,
                    std::string("invalid type: ").append(token_text(t, text)).append(", expected ").append(expected),
                    field);
    }
    bool struct_expected(Token t, std::string_view text) {
        return invalid_type(t, text, std::string("struct ").append(Binding::name).append(" (a JSON object or array)"),
                            nullptr);
    }
    bool unexpected_number() { return fail(wire_rules::json_syntax, "internal: number not delivered as text"); }

    // ---- structure
    const FieldSpec* current_field() const noexcept {
        return state_ == State::array_value ? (index_ < fields.size() ? &fields[index_] : nullptr) : &fields[field_];
    }

    bool value_done() {
        if (mode_ == State::object_key) {
            state_ = State::object_key;
        } else {
            ++index_;
            state_ = State::array_value;
        }
        return true;
    }

    bool open(Token t) {
        switch (state_) {
            case State::root:
                if (t == Token::object) {
                    state_ = mode_ = State::object_key;
                } else {
                    state_ = mode_ = State::array_value;
                    index_ = 0;
                }
                return true;
            case State::skip: ++depth_; return true;
            case State::object_value:
            case State::array_value: {
                const FieldSpec* f = current_field();
                if (f == nullptr) return too_long();
                if (t == Token::object && f->type == FieldType::enumeration) {
                    variant_field_ = static_cast<std::size_t>(f - fields.data());
                    state_ = State::variant_key;
                    return true;
                }
                return invalid_type(t, {}, f->type_name, f);
            }
            case State::variant_value:
                return invalid_type(t, {}, "unit (null)", &fields[variant_field_]);
            default: return fail(wire_rules::json_syntax, "unexpected structure");
        }
    }

    bool close() {
        switch (state_) {
            case State::skip:
                if (--depth_ == 0) return value_done();
                return true;
            case State::object_key: {
                for (std::size_t i = 0; i < fields.size(); ++i) {
                    if ((seen_ & (std::uint64_t{1} << i)) == 0) {
                        return fail(wire_rules::json_missing_field,
                                    std::string("missing field `").append(fields[i].name).append("`"), &fields[i],
                                    false);
                    }
                }
                state_ = State::done;
                return true;
            }
            case State::array_value:
                if (index_ < fields.size()) {
                    std::string m = "invalid length ";
                    append_decimal(m, index_);
                    m.append(", expected struct ").append(Binding::name).append(" with ");
                    append_decimal(m, fields.size());
                    m.append(" elements");
                    return fail(wire_rules::json_invalid_length, std::move(m));
                }
                state_ = State::done;
                return true;
            case State::variant_end: return value_done();
            case State::variant_key:
                return fail(wire_rules::json_invalid_type,
                            std::string("invalid type: empty map, expected enum as a string or {\"variant\": null}"),
                            &fields[variant_field_]);
            default: return fail(wire_rules::json_syntax, "unexpected end of structure");
        }
    }

    bool too_long() {
        std::string m = "invalid length: more than ";
        append_decimal(m, fields.size());
        m.append(" elements, expected struct ").append(Binding::name).append(" with ");
        append_decimal(m, fields.size());
        m.append(" elements");
        return fail(wire_rules::json_invalid_length, std::move(m));
    }

    bool key(std::string_view k) {
        switch (state_) {
            case State::skip: return true;
            case State::object_key: {
                if (has_encoded_surrogate(k)) {
                    return fail(wire_rules::json_syntax, "lone surrogate in a \\u escape of an object key");
                }
                for (std::size_t i = 0; i < fields.size(); ++i) {
                    if (fields[i].name == k) {
                        const std::uint64_t bit = std::uint64_t{1} << i;
                        if (seen_ & bit) {
                            return fail(wire_rules::json_duplicate_field,
                                        std::string("duplicate field `").append(fields[i].name).append("`"),
                                        &fields[i], false);
                        }
                        seen_ |= bit;
                        field_ = i;
                        state_ = State::object_value;
                        return true;
                    }
                }
                state_ = State::skip;  // an unknown field: its value is read and dropped
                depth_ = 0;
                return true;
            }
            case State::variant_key: {
                const FieldSpec& f = fields[variant_field_];
                if (!set_variant(f, k)) return false;
                state_ = State::variant_value;
                return true;
            }
            case State::variant_end:
                return fail(wire_rules::json_invalid_type,
                            "invalid type: map with more than one key, expected enum {\"variant\": null}",
                            &fields[variant_field_]);
            default: return fail(wire_rules::json_syntax, "unexpected key");
        }
    }

    bool set_variant(const FieldSpec& f, std::string_view name) {
        for (std::size_t v = 0; v < f.variants.size(); ++v) {
            if (f.variants[v] == name) {
                Binding::set_enum(out_, static_cast<std::size_t>(&f - fields.data()), v);
                return true;
            }
        }
        if (has_encoded_surrogate(name)) {
            return fail(wire_rules::json_syntax, "lone surrogate in a \\u escape", &f);
        }
        std::string m = "unknown variant ";
        append_json_string(m, name);
        m.append(", expected ");
        for (std::size_t v = 0; v < f.variants.size(); ++v) {
            m.append(v == 0 ? (f.variants.size() > 2 ? "one of `" : "`") : (f.variants.size() > 2 ? ", `" : " or `"));
            m.append(f.variants[v]).append("`");
        }
        return fail(wire_rules::json_unknown_variant, std::move(m), &f);
    }

    bool scalar(Token t, std::string_view text) {
        // serde decodes every string it does not skip before looking at its type, so a lone surrogate is the
        // error wherever the string stands (and it must not reach a message as bytes that are not UTF-8).
        if (t == Token::string && state_ != State::skip && has_encoded_surrogate(text)) {
            const FieldSpec* f = state_ == State::root ? nullptr
                                 : state_ == State::variant_value ? &fields[variant_field_]
                                                                  : current_field();
            return fail(wire_rules::json_syntax, "lone surrogate in a \\u escape", f);
        }
        switch (state_) {
            case State::root: return struct_expected(t, text);
            case State::skip: return depth_ == 0 ? value_done() : true;
            case State::object_value:
            case State::array_value: {
                const FieldSpec* f = current_field();
                if (f == nullptr) return too_long();
                const auto index = static_cast<std::size_t>(f - fields.data());
                switch (f->type) {
                    case FieldType::string:
                        if (t != Token::string) return invalid_type(t, text, f->type_name, f);
                        Binding::set_string(out_, index, text);
                        return value_done();
                    case FieldType::uint: {
                        if (t != Token::number || is_float_token(text)) return invalid_type(t, text, f->type_name, f);
                        std::uint64_t v = 0;
                        const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
                        if (text.front() == '-' || r.ec != std::errc{} || v > f->max) {
                            return fail(wire_rules::json_invalid_value,
                                        std::string("invalid value: integer `")
                                            .append(text)
                                            .append("`, expected ")
                                            .append(f->type_name),
                                        f);
                        }
                        Binding::set_uint(out_, index, v);
                        return value_done();
                    }
                    case FieldType::enumeration:
                        if (t != Token::string) {
                            return invalid_type(t, text, std::string(f->type_name).append(" (a string)"), f);
                        }
                        if (!set_variant(*f, text)) return false;
                        return value_done();
                }
                return false;
            }
            case State::variant_value:
                if (t != Token::null) return invalid_type(t, text, "unit (null)", &fields[variant_field_]);
                state_ = State::variant_end;
                return true;
            default: return fail(wire_rules::json_syntax, "unexpected value");
        }
    }

    Struct& out_;
    std::string_view original_;
    const char* work_;
    State state_ = State::root;
    State mode_ = State::root;  // object_key or array_value once the struct is open
    std::uint64_t seen_ = 0;
    std::size_t field_ = 0;          // object form: the field whose value comes next
    std::size_t index_ = 0;          // array form: the element that comes next
    std::size_t depth_ = 0;          // skip: nesting depth inside the ignored value
    std::size_t variant_field_ = 0;  // enum map form: the field being decoded
    bool has_error_ = false;
    Error error_;
};

/// The calling thread's reader and working buffer. RapidJSON keeps its stack between parses and the buffer keeps
/// its capacity, so decoding a descriptor allocates nothing of its own after the first; after a large input both
/// are replaced, so that a big allocation is not kept for good.
class ThreadState {
  public:
    static constexpr std::size_t kKeepBelow = 64 * 1024;  // inputs this large or larger release their memory

    explicit ThreadState(std::size_t input_size) : input_size_(input_size) {}
    ThreadState(const ThreadState&) = delete;
    ThreadState& operator=(const ThreadState&) = delete;
    ~ThreadState() {
        if (input_size_ >= kKeepBelow) {
            slot().reader.emplace();
            slot().buffer = std::string();
        }
    }
    rapidjson::Reader& reader() { return *slot().reader; }
    std::string& buffer() { return slot().buffer; }

  private:
    struct Slot {
        std::optional<rapidjson::Reader> reader{std::in_place};
        std::string buffer;
    };
    static Slot& slot() {
        thread_local Slot s;
        return s;
    }
    std::size_t input_size_;
};

// ---- where RapidJSON is stricter than serde
//
// serde skips the values of unknown fields without decoding them, so it accepts two things there that RapidJSON
// refuses anywhere: a lone high surrogate escape ("\ud800" not followed by a low one) and a number too large
// for a double (1e400, or an integer of 310 digits). Both are rewritten in a copy of the input, at the same
// length so that error offsets still point into the original, into forms RapidJSON accepts and that still fail
// wherever serde decodes the value:
//   * a lone high surrogate becomes the lone low surrogate "\udc00": RapidJSON decodes it, and the decoder
//     rejects an encoded surrogate in every string it keeps (values, top-level keys, enum names);
//   * a number too large becomes "0.000..." (sign kept): a float, which no integer field accepts.

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// The code unit of the \uXXXX escape at text[i] (which is '\\'), or -1.
inline long escape_at(std::string_view text, std::size_t i) noexcept {
    if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
    long v = 0;
    for (std::size_t k = 2; k < 6; ++k) {
        const int h = hex_value(text[i + k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/// Rewrites every lone high surrogate escape in `text` to "\udc00"; true if any was.
inline bool soften_lone_high_surrogates(std::string& text) {
    bool changed = false;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] != '\\') continue;
        const long unit = escape_at(text, i);
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            const long next = escape_at(text, i + 6);
            if (next >= 0xDC00 && next <= 0xDFFF) {
                i += 11;  // a proper pair
                continue;
            }
            text.replace(i + 2, 4, "dc00");
            changed = true;
            i += 5;
            continue;
        }
        ++i;  // any other escape: skip the escaped character (so "\\\\ud800" is a backslash and text)
    }
    return changed;
}

/// Rewrites the number token starting at text[at] (JSON's grammar: -? int frac? exp?) to "0.000..." of the
/// same length, sign kept; false if there is no number there or it is too short to rewrite.
inline bool soften_number(std::string& text, std::size_t at) {
    auto digits = [&](std::size_t i) {
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        return i;
    };
    std::size_t begin = at < text.size() && text[at] == '-' ? at + 1 : at;
    std::size_t end = digits(begin);
    if (end == begin) return false;
    if (end < text.size() && text[end] == '.') end = digits(end + 1);
    if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
        std::size_t exp = end + 1;
        if (exp < text.size() && (text[exp] == '+' || text[exp] == '-')) ++exp;
        end = digits(exp);
    }
    if (end - begin < 3) return false;
    text[begin] = '0';
    text[begin + 1] = '.';
    for (std::size_t i = begin + 2; i < end; ++i) text[i] = '0';
    return true;
}

/// Decodes one struct from `text` (the whole text is the document).
///
/// RapidJSON parses a working copy in place (kParseInsituFlag: strings are decoded where they stand, nothing is
/// pushed on its stack). The input's UTF-8 is checked once, up front, by first_invalid_utf8(): serde reads a
/// `&str`, which is UTF-8 by construction, so bytes that are not are a parse error wherever they stand.
template <class Binding>
Result<typename Binding::type> decode(std::string_view text) {
    if (text.size() >= std::numeric_limits<rapidjson::SizeType>::max()) {  // RapidJSON counts lengths in 32 bits
        return Error{ErrorKind::parse, wire_rules::json_syntax, {}, "invalid JSON: the input is 4 GiB or larger", {},
                     Error::no_offset};
    }
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
        return Error{ErrorKind::parse, wire_rules::json_syntax, {}, "invalid JSON: NUL byte in the input", {}, nul};
    }
    if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
        return Error{ErrorKind::parse, wire_rules::json_syntax, {}, "invalid JSON: the input is not UTF-8", {}, bad};
    }
    ThreadState state(text.size());
    std::string& work = state.buffer();
    const bool escapes = text.find("\\u") != std::string_view::npos;
    std::vector<std::size_t> huge_numbers;  // offsets of numbers too large for RapidJSON, softened on each pass
    constexpr unsigned flags = rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag |
                               rapidjson::kParseInsituFlag;
    for (;;) {
        work.assign(text);
        work.push_back('\0');  // InsituStringStream stops at a NUL (the input has none of its own)
        if (escapes) soften_lone_high_surrogates(work);
        for (const std::size_t at : huge_numbers) soften_number(work, at);

        typename Binding::type out{};
        rapidjson::InsituStringStream stream(work.data());
        Decoder<Binding> handler(out, text, work.data());
        const rapidjson::ParseResult r = state.reader().Parse<flags>(stream, handler);
        if (handler.has_error()) {
            Error e = handler.take_error();
            e.offset = r.Offset();
            return e;
        }
        if (r.Code() == rapidjson::kParseErrorNumberTooBig) {
            std::string probe(text);  // is there a number to soften at that offset?
            if (soften_number(probe, r.Offset())) {
                huge_numbers.push_back(r.Offset());
                continue;
            }
        }
        if (r.IsError()) {
            std::string m = "invalid JSON: ";
            m.append(rapidjson::GetParseError_En(r.Code()));
            return Error{ErrorKind::parse, wire_rules::json_syntax, {}, std::move(m), {}, r.Offset()};
        }
        return out;
    }
}

}  // namespace fib_quant_kv::detail::json
