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

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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

    /// `original` is the caller's text; RapidJSON parses `work`, a same-length working copy of it or the text itself
    /// (see decode() and decode_in_place()). Number tokens are read from `original`: a softened one (see below)
    /// is quoted as the caller wrote it.
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

    [[gnu::always_inline]] bool key(std::string_view k) {
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

    [[gnu::always_inline]] bool scalar(Token t, std::string_view text) {
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

/// RapidJSON's stream concept over a span of bytes parsed in place (kParseInsituFlag), with no NUL terminator
/// needed: Peek() gives '\0' past the end, exactly where InsituStringStream would meet the terminator of a
/// NUL-terminated copy, so both streams drive the reader identically. Strings are decoded where they stand
/// (Put() writes at or behind the read position, never past the end); numbers are never written to.
class SpanInsituStream {
  public:
    using Ch = char;

    explicit SpanInsituStream(std::span<char> text) noexcept : head_(text.data()), size_(text.size()) {}

    [[nodiscard]] Ch Peek() const noexcept { return pos_ < size_ ? head_[pos_] : '\0'; }
    Ch Take() noexcept {
        const Ch c = Peek();
        ++pos_;
        return c;
    }
    [[nodiscard]] std::size_t Tell() const noexcept { return pos_; }

    Ch* PutBegin() noexcept {
        dst_ = pos_;
        return head_ + dst_;
    }
    void Put(Ch c) noexcept { head_[dst_++] = c; }
    std::size_t PutEnd(Ch* begin) noexcept { return static_cast<std::size_t>(head_ + dst_ - begin); }
    void Flush() noexcept {}

  private:
    Ch* head_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::size_t dst_ = 0;
};

}  // namespace fib_quant_kv::detail::json

// As for InsituStringStream: RapidJSON reads a number through a local copy of the stream, so that PutBegin() on
// the stream itself still points at the number's first byte when RawNumber() is called.
template <>
struct rapidjson::StreamTraits<fib_quant_kv::detail::json::SpanInsituStream> {
    enum { copyOptimization = 1 };
};

namespace fib_quant_kv::detail::json {

// ---- where RapidJSON is stricter than serde
//
// serde skips the values of unknown fields without decoding them, so it accepts two things there that RapidJSON
// refuses anywhere: a lone high surrogate escape ("\ud800" not followed by a low one) and a number too large
// for a double (1e400, or an integer of 310 digits). Both are rewritten before parsing, at the same length so
// that error offsets still point into the original, into forms RapidJSON accepts and that still fail wherever
// serde decodes the value:
//   * a lone high surrogate becomes the lone low surrogate "\udc00": RapidJSON decodes it, and the decoder
//     rejects an encoded surrogate in every string it keeps (values, top-level keys, enum names);
//   * a number too large becomes "0.000..." (sign kept): a float, which no integer field accepts.
// The surrogate rewrite needs nothing but the text, so it can be made in the bytes that are parsed. A number
// too large is found only by RapidJSON, mid-parse, after in-place parsing has overwritten the strings before
// it; so it is softened in a fresh copy of the caller's text and the parse starts again.

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
inline bool soften_lone_high_surrogates(std::span<char> text) {
    const std::string_view view(text.data(), text.size());
    bool changed = false;
    for (std::size_t i = view.find('\\'); i != std::string_view::npos; i = view.find('\\', i)) {
        const long unit = escape_at(view, i);
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            const long next = escape_at(view, i + 6);
            if (next >= 0xDC00 && next <= 0xDFFF) {
                i += 12;  // a proper pair
                continue;
            }
            text[i + 2] = 'd';
            text[i + 3] = 'c';
            text[i + 4] = '0';
            text[i + 5] = '0';
            changed = true;
            i += 6;
            continue;
        }
        i += 2;  // any other escape: skip the escaped character (so "\\\\ud800" is a backslash and text)
    }
    return changed;
}

/// The end of the number token starting at text[at] (JSON's grammar: -? int frac? exp?) when soften_number()
/// can rewrite it; npos if there is no number there or it is too short to rewrite.
inline std::size_t softenable_number_end(std::string_view text, std::size_t at) noexcept {
    auto digits = [&](std::size_t i) {
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        return i;
    };
    const std::size_t begin = at < text.size() && text[at] == '-' ? at + 1 : at;
    std::size_t end = digits(begin);
    if (end == begin) return std::string_view::npos;
    if (end < text.size() && text[end] == '.') end = digits(end + 1);
    if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
        std::size_t exp = end + 1;
        if (exp < text.size() && (text[exp] == '+' || text[exp] == '-')) ++exp;
        end = digits(exp);
    }
    return end - begin < 3 ? std::string_view::npos : end;
}

/// Rewrites the number token starting at text[at] to "0.000..." of the same length, sign kept; false if
/// softenable_number_end() finds nothing to rewrite there.
inline bool soften_number(std::span<char> text, std::size_t at) noexcept {
    const std::size_t end = softenable_number_end(std::string_view(text.data(), text.size()), at);
    if (end == std::string_view::npos) return false;
    const std::size_t begin = text[at] == '-' ? at + 1 : at;
    text[begin] = '0';
    text[begin + 1] = '.';
    for (std::size_t i = begin + 2; i < end; ++i) text[i] = '0';
    return true;
}

// ---- the one pass before parsing

/// What prescan() learns about an input in one pass.
struct Prescan {
    std::size_t nul = std::string_view::npos;       ///< the first NUL byte
    std::size_t bad_utf8 = std::string_view::npos;  ///< the first byte that is not well-formed UTF-8
    bool backslash = false;          ///< some '\\': there may be lone surrogate escapes to soften
    bool maybe_huge_number = false;  ///< some text RapidJSON might read as a number too large (see prescan())
};

/// A run of this many digits is long enough for a number too large: RapidJSON stops an integer part at 309
/// digits (its value past DBL_MAX / 10 before another digit).
inline constexpr std::size_t kHugeDigitRun = 300;

/// One pass over the input for everything that is known before parsing: the first NUL byte, the first byte that
/// is not UTF-8 (the first NUL wins wherever it stands, so after a bad byte only NUL is searched for), whether
/// there is a backslash, and whether RapidJSON might find a number too large for a double. That last one is
/// conservative: it only ever comes from a run of kHugeDigitRun digits (an integer part RapidJSON refuses has 309)
/// or from 'e' or 'E', perhaps '+', then three digits (RapidJSON refuses a positive exponent above 308). Where
/// the bytes stand (in a string or not) is not considered: a false alarm costs a copy, never a wrong answer.
///
/// Eight ASCII bytes are looked at as one word; only a word with a byte of interest (non-ASCII, NUL, backslash,
/// digit) is looked at byte by byte, from that byte on.
[[nodiscard]] inline Prescan prescan(std::string_view text) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    Prescan r;
    const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
    const auto* const end = begin + text.size();
    const auto* p = begin;
    auto is_e = [](unsigned char c) { return c == 'e' || c == 'E'; };
    auto is_digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
    while (p < end) {
        if (end - p >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, sizeof w);
            const std::uint64_t low = w & ~highs;
            const std::uint64_t nul = (w - ones) & ~w & highs;  // exact for the lowest flagged byte
            const std::uint64_t bs = w ^ (ones * '\\');
            const std::uint64_t backslash = (bs - ones) & ~bs & highs;
            const std::uint64_t digit = (low + ones * (0x80 - '0')) & ~(low + ones * (0x80 - ':')) & highs;
            const std::uint64_t interesting = (w & highs) | nul | backslash | digit;
            if (interesting == 0) {
                p += 8;
                continue;
            }
            const int skip = (std::endian::native == std::endian::little ? std::countr_zero(interesting)
                                                                          : std::countl_zero(interesting)) /
                             8;
            p += skip;
        }
        const unsigned char c = *p;
        if (is_digit(c)) {  // a whole run of digits at once (the byte before p is never a digit)
            const auto* q = p + 1;
            while (q < end && is_digit(*q)) ++q;
            const auto run = static_cast<std::size_t>(q - p);
            if (run >= kHugeDigitRun ||
                (run >= 3 && ((p - begin >= 1 && is_e(p[-1])) || (p - begin >= 2 && p[-1] == '+' && is_e(p[-2]))))) {
                r.maybe_huge_number = true;  // "e123", "E+123"
            }
            p = q;
            continue;
        }
        if (c < 0x80) {
            if (c == '\0') {
                r.nul = static_cast<std::size_t>(p - begin);
                return r;
            }
            if (c == '\\') r.backslash = true;
            ++p;
            continue;
        }
        const std::size_t n = utf8_sequence_length(p, end);
        if (n == 0) {
            r.bad_utf8 = static_cast<std::size_t>(p - begin);
            if (const void* z = std::memchr(p, 0, static_cast<std::size_t>(end - p))) {
                r.nul = static_cast<std::size_t>(static_cast<const unsigned char*>(z) - begin);
            }
            return r;
        }
        p += n;
    }
    return r;
}

// ---- decoding

inline constexpr unsigned kParseFlags =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag;

/// The error for an input that is no JSON text at all, if it is one: a NUL byte, or bytes that are not UTF-8.
/// serde reads a `&str`, which is UTF-8 by construction, so bytes that are not are a parse error wherever they
/// stand.
[[nodiscard]] inline std::optional<Error> input_error(const Prescan& scan) {
    if (scan.nul != std::string_view::npos) {
        return Error{ErrorKind::parse, wire_rules::json_syntax, {}, "invalid JSON: NUL byte in the input", {}, scan.nul};
    }
    if (scan.bad_utf8 != std::string_view::npos) {
        return Error{ErrorKind::parse, wire_rules::json_syntax, {}, "invalid JSON: the input is not UTF-8", {},
                     scan.bad_utf8};
    }
    return std::nullopt;
}

/// True when RapidJSON cannot take the input at all: it counts lengths in 32 bits.
[[nodiscard]] inline bool too_large(std::size_t size) noexcept {
    return size >= std::numeric_limits<rapidjson::SizeType>::max();
}
inline Error too_large_error() {
    return Error{ErrorKind::parse, wire_rules::json_syntax, {}, "invalid JSON: the input is 4 GiB or larger", {},
                 Error::no_offset};
}

/// The stream that parses `work` in place: RapidJSON's own InsituStringStream where `work` is a copy of ours
/// with a NUL byte after it (no bounds check per byte), SpanInsituStream over a caller's bytes.
template <class Stream>
Stream make_stream(std::span<char> work) noexcept {
    if constexpr (std::is_same_v<Stream, rapidjson::InsituStringStream>) {
        return Stream(work.data());
    } else {
        return Stream(work);
    }
}

/// One RapidJSON pass over `work` (the caller's text `original`, or a same-length copy of it, surrogates
/// softened), in place: afterwards `work` holds unspecified bytes. Sets `*too_big` to the offset of a number
/// too large for RapidJSON when that is what stopped it.
template <class Binding, class Stream>
Result<typename Binding::type> parse_in_place(rapidjson::Reader& reader, std::string_view original,
                                              std::span<char> work, std::size_t* too_big) {
    typename Binding::type out{};
    Stream stream = make_stream<Stream>(work);
    Decoder<Binding> handler(out, original, work.data());
    const rapidjson::ParseResult r = reader.Parse<kParseFlags>(stream, handler);
    if (handler.has_error()) {
        Error e = handler.take_error();
        e.offset = r.Offset();
        return e;
    }
    if (r.IsError()) {
        if (r.Code() == rapidjson::kParseErrorNumberTooBig) *too_big = r.Offset();
        std::string m = "invalid JSON: ";
        m.append(rapidjson::GetParseError_En(r.Code()));
        return Error{ErrorKind::parse, wire_rules::json_syntax, {}, std::move(m), {}, r.Offset()};
    }
    return out;
}

/// decode() after the pre-pass: parses a working copy, and starts again from a fresh copy with one more number
/// softened each time RapidJSON stops at one too large.
template <class Binding>
Result<typename Binding::type> decode_copy(std::string_view text, bool backslash) {
    ThreadState state(text.size());
    std::string& work = state.buffer();
    std::vector<std::size_t> huge_numbers;  // offsets of numbers too large for RapidJSON, softened on each pass
    for (;;) {
        work.assign(text);
        work.push_back('\0');  // InsituStringStream stops there (the input has no NUL of its own)
        const std::span<char> bytes(work.data(), text.size());
        if (backslash) soften_lone_high_surrogates(bytes);
        for (const std::size_t at : huge_numbers) soften_number(bytes, at);
        std::size_t too_big = std::string_view::npos;
        Result<typename Binding::type> result =
            parse_in_place<Binding, rapidjson::InsituStringStream>(state.reader(), text, bytes, &too_big);
        if (too_big != std::string_view::npos && softenable_number_end(text, too_big) != std::string_view::npos) {
            huge_numbers.push_back(too_big);
            continue;
        }
        return result;
    }
}

/// Decodes one struct from `text` (the whole text is the document).
///
/// One pass over the text (prescan()) finds what makes it no JSON at all (a NUL byte, bytes that are not UTF-8)
/// and what needs rewriting; then RapidJSON parses a working copy in place (kParseInsituFlag: strings are
/// decoded where they stand, nothing is pushed on its stack).
template <class Binding>
Result<typename Binding::type> decode(std::string_view text) {
    if (too_large(text.size())) return too_large_error();
    // The library's own passes rather than prescan(): on a descriptor-sized text, glibc's vectorised memchr and
    // the word-at-a-time UTF-8 check cost less than one byte-level pass, and decode() copies anyway, so it needs
    // no warning of numbers too large (it softens them when RapidJSON stops at one).
    Prescan scan;
    if (const void* z = text.empty() ? nullptr : std::memchr(text.data(), 0, text.size())) {  // never memchr(nullptr)
        scan.nul = static_cast<std::size_t>(static_cast<const char*>(z) - text.data());
    } else {
        scan.bad_utf8 = first_invalid_utf8(text);
    }
    if (std::optional<Error> e = input_error(scan)) return std::move(*e);
    return decode_copy<Binding>(text, text.find('\\') != std::string_view::npos);
}

/// decode(text) for every input, but parsing the caller's bytes in place: they are scratch, and hold unspecified
/// values afterwards. Nothing is copied, unless prescan() finds text that might be a number too large for
/// RapidJSON: that input is decoded as decode() does, from one working copy (see "where RapidJSON is stricter").
template <class Binding>
Result<typename Binding::type> decode_in_place(std::span<char> text) {
    const std::string_view view(text.data(), text.size());
    if (too_large(text.size())) return too_large_error();
    const Prescan scan = prescan(view);
    if (std::optional<Error> e = input_error(scan)) return std::move(*e);
    if (scan.maybe_huge_number) return decode_copy<Binding>(view, scan.backslash);
    ThreadState state(text.size());
    if (scan.backslash) soften_lone_high_surrogates(text);
    std::size_t too_big = std::string_view::npos;  // cannot happen: prescan() would have said so
    return parse_in_place<Binding, SpanInsituStream>(state.reader(), view, text, &too_big);
}

}  // namespace fib_quant_kv::detail::json
