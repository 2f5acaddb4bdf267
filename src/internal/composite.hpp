// fib_quant_kv internal: the JSON reader and writer, the canonical encoder and the rule helpers of every
// composite (nested) descriptor, written once against the generated CompositeTraits<S>.
//
// The JSON form (docs/digest.md has the canonical encoding):
//   * a struct is a JSON object; unknown keys are ignored (their values are still checked as JSON), a known key
//     twice is an error at the second, a missing required field is an error naming it;
//   * an optional field may be left out or be null, and is then absent; the writer leaves absent fields out;
//   * an array field is a JSON array of at most FieldInfo::max_items items: one more is refused before it is
//     stored;
//   * unsigned fields take JSON integers only (no fraction, exponent or sign) within their type's range;
//   * enums are a wire name as a string;
//   * strings are UTF-8 (RapidJSON validates the encoding and the escapes).
// Errors are ErrorKind::parse with a wire_rules::json_* rule, the field's name in Error::fields, where it is in
// Error::path ("groups[2].window") and the byte offset just past the value (where the reader stood).
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fib_quant_kv/composite.hpp"
#include "fib_quant_kv/composite_view.hpp"
#include "fib_quant_kv/enum_traits.hpp"
#include "fib_quant_kv/error.hpp"
#include "internal/canonical.hpp"
#include "internal/json_fast.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::detail::composite {

// ------------------------------------------------------------------------------------------------ the JSON tree

/// One JSON value as the reader keeps it: numbers as their text, strings decoded.
struct Node {
    enum class Kind : std::uint8_t { null, boolean, number, string, array, object };
    Kind kind = Kind::null;
    std::string text;  ///< number: the token as written; string: the decoded text; boolean: "true"/"false"
    std::vector<Node> items;        ///< array: its items; object: its members' values, in document order
    std::vector<std::string> keys;  ///< object: its members' keys, one per item
    std::size_t offset = 0;                              ///< where the value ends in the input (RapidJSON's offset)
};

/// Limits on what the reader builds, checked while it builds it.
struct TreeLimits {
    std::size_t max_depth = 64;       ///< nested arrays and objects, the root counting as 1
    std::size_t max_values = 1 << 22; ///< every value, at any depth
};

/// Parses `json` (the whole text; only whitespace may follow the value) into a tree. A syntax error, bytes that
/// are not UTF-8, a NUL byte, a tree past `limits`: a parse Error with rule json.syntax and its offset.
[[nodiscard]] Result<Node> parse_tree(std::string_view json, const TreeLimits& limits = {});

/// "map", "sequence", "string \"x\"", "integer `5`", "floating point `1.5`", "boolean `true`", "null".
[[nodiscard]] std::string describe(const Node& n);

/// The Error every reader failure is: kind parse, the rule, where, the message prefixed "field `path`: ".
[[nodiscard]] Error read_error(std::string_view rule, const FieldInfo* field, const PathLink& at, std::string message,
                               std::size_t offset);

// ------------------------------------------------------------------------------------------------ reading

template <class T>
struct Reader;

/// Reads `n` into `out`, the value of field `field` at `at`.
template <class T>
[[nodiscard]] std::optional<Error> read_value(const Node& n, T& out, const FieldInfo& field, const PathLink& at) {
    return Reader<T>::read(n, out, field, at);
}

template <std::unsigned_integral T>
struct Reader<T> {
    static std::optional<Error> read(const Node& n, T& out, const FieldInfo& f, const PathLink& at) {
        if (n.kind != Node::Kind::number || n.text.find_first_of(".eE") != std::string::npos || n.text[0] == '-') {
            return read_error(wire_rules::json_invalid_type, &f, at,
                              "invalid type: " + describe(n) + ", expected " + std::string(f.type_name), n.offset);
        }
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), v);
        if (ec != std::errc{} || end != n.text.data() + n.text.size() || v > std::numeric_limits<T>::max()) {
            return read_error(wire_rules::json_invalid_value, &f, at,
                              "invalid value: integer `" + n.text + "`, expected " + std::string(f.type_name),
                              n.offset);
        }
        out = static_cast<T>(v);
        return std::nullopt;
    }
};

template <>
struct Reader<std::string> {
    static std::optional<Error> read(const Node& n, std::string& out, const FieldInfo& f, const PathLink& at) {
        if (n.kind != Node::Kind::string) {
            return read_error(wire_rules::json_invalid_type, &f, at, "invalid type: " + describe(n) + ", expected a string",
                              n.offset);
        }
        out = n.text;
        return std::nullopt;
    }
};

template <class E>
    requires std::is_enum_v<E>
struct Reader<E> {
    static std::optional<Error> read(const Node& n, E& out, const FieldInfo& f, const PathLink& at) {
        if (n.kind != Node::Kind::string) {
            return read_error(wire_rules::json_invalid_type, &f, at,
                              "invalid type: " + describe(n) + ", expected " + std::string(f.type_name), n.offset);
        }
        if (const std::optional<E> v = enum_from_wire_name<E>(n.text)) {
            out = *v;
            return std::nullopt;
        }
        std::string m = "unknown variant ";
        append_json_string(m, n.text);
        m += ", expected one of ";
        for (std::size_t i = 0; i < EnumTraits<E>::wire_names.size(); ++i) {
            m.append(i == 0 ? "`" : ", `").append(EnumTraits<E>::wire_names[i]).append("`");
        }
        return read_error(wire_rules::json_unknown_variant, &f, at, std::move(m), n.offset);
    }
};

template <class T>
struct Reader<std::optional<T>> {
    static std::optional<Error> read(const Node& n, std::optional<T>& out, const FieldInfo& f, const PathLink& at) {
        if (n.kind == Node::Kind::null) {
            out.reset();
            return std::nullopt;
        }
        T v{};
        if (std::optional<Error> e = read_value(n, v, f, at)) return e;
        out = std::move(v);
        return std::nullopt;
    }
};

template <class T>
struct Reader<std::vector<T>> {
    static std::optional<Error> read(const Node& n, std::vector<T>& out, const FieldInfo& f, const PathLink& at) {
        if (n.kind != Node::Kind::array) {
            return read_error(wire_rules::json_invalid_type, &f, at, "invalid type: " + describe(n) + ", expected an array",
                              n.offset);
        }
        if (n.items.size() > f.max_items) {
            return read_error(wire_rules::json_invalid_length, &f, at,
                              "invalid length " + std::to_string(n.items.size()) + ", expected at most " +
                                  std::to_string(f.max_items) + " items",
                              n.offset);
        }
        out.clear();
        out.resize(n.items.size());
        for (std::size_t i = 0; i < n.items.size(); ++i) {
            const PathLink item{at.parent, at.field, i};
            FieldInfo element = f;
            element.max_items = 0;
            if (std::optional<Error> e = read_value(n.items[i], out[i], element, item)) return e;
        }
        return std::nullopt;
    }
};

template <Composite S>
struct Reader<S> {
    static std::optional<Error> read(const Node& n, S& out, const FieldInfo* f, const PathLink& at) {
        using Traits = CompositeTraits<S>;
        if (n.kind != Node::Kind::object) {
            return read_error(wire_rules::json_invalid_type, f, at,
                              "invalid type: " + describe(n) + ", expected struct " + std::string(Traits::name) +
                                  " (a JSON object)",
                              n.offset);
        }
        // serde's order: members in document order (a known key twice fails at the second, a bad value where it
        // stands), then the first missing required field in declaration order.
        constexpr std::size_t count = Traits::fields.size();
        std::array<bool, count> seen{};
        std::optional<Error> error;
        for (std::size_t m = 0; m < n.keys.size(); ++m) {
            const std::string& key = n.keys[m];
            const Node& value = n.items[m];
            std::size_t i = 0;
            while (i < count && Traits::fields[i].name != key) ++i;
            if (i == count) continue;  // unknown: ignored
            const PathLink here{&at, Traits::fields[i].name};
            if (seen[i]) {
                return read_error(wire_rules::json_duplicate_field, &Traits::fields[i], here,
                                  "duplicate field `" + key + "`", value.offset);
            }
            seen[i] = true;
            Traits::each_field(out, [&](std::size_t j, auto& field_value) {
                if (j != i) return true;
                error = Reader<std::remove_cvref_t<decltype(field_value)>>::read(value, field_value, Traits::fields[i],
                                                                                 here);
                return false;
            });
            if (error) return error;
        }
        for (std::size_t i = 0; i < count; ++i) {
            if (!seen[i] && !Traits::fields[i].optional) {
                return read_error(wire_rules::json_missing_field, nullptr, at,
                                  "missing field `" + std::string(Traits::fields[i].name) + "`", n.offset);
            }
        }
        return error;
    }
    static std::optional<Error> read(const Node& n, S& out, const FieldInfo& f, const PathLink& at) {
        return read(n, out, &f, at);
    }
};

/// The general reader: text to a tree, the tree to a struct. Decoding does not validate.
template <Composite S>
[[nodiscard]] Result<S> parse_json_general(std::string_view json) {
    Result<Node> tree = parse_tree(json);
    if (!tree) return std::move(tree).error();
    S out{};
    const PathLink root{};
    if (std::optional<Error> e = Reader<S>::read(*tree, out, nullptr, root)) return std::move(*e);
    return out;
}

// ------------------------------------------------------------------------------------------------ the fast path

/// The fast path's state: the cursor (internal/json_fast.hpp) and the counts the general reader limits (TreeLimits:
/// values and nesting, counted as TreeBuilder counts them), so that it declines whatever the tree would refuse.
struct FastState {
    explicit FastState(std::string_view json) : cursor(json) {}
    json_fast::Cursor cursor;
    std::size_t values = 0;
    std::size_t depth = 0;
    TreeLimits limits{};
    [[nodiscard]] bool value() noexcept { return ++values <= limits.max_values; }
    [[nodiscard]] bool open() noexcept { return ++depth <= limits.max_depth && value(); }
};

template <class T>
struct FastReader;

template <std::unsigned_integral T>
struct FastReader<T> {
    static bool read(FastState& st, T& out, const FieldInfo&) noexcept {
        std::uint64_t v = 0;
        if (!st.cursor.uint(std::numeric_limits<T>::max(), v)) return false;
        out = static_cast<T>(v);
        return st.value();
    }
};

template <>
struct FastReader<std::string> {
    static bool read(FastState& st, std::string& out, const FieldInfo&) {
        std::string_view text;
        if (!st.cursor.take('"') || !st.cursor.plain_string(text) || !st.cursor.take('"')) return false;
        out.assign(text);
        return st.value();
    }
};

template <class E>
    requires std::is_enum_v<E>
struct FastReader<E> {
    static bool read(FastState& st, E& out, const FieldInfo&) noexcept {
        std::size_t which = 0;
        if (!st.cursor.take('"') || !st.cursor.variant(EnumTraits<E>::wire_names, which) || !st.cursor.take('"')) {
            return false;
        }
        out = EnumTraits<E>::values[which];
        return st.value();
    }
};

/// Present (its key was read): the value itself; to_json() never writes null.
template <class T>
struct FastReader<std::optional<T>> {
    static bool read(FastState& st, std::optional<T>& out, const FieldInfo& f) {
        return FastReader<T>::read(st, out.emplace(), f);
    }
};

template <class T>
struct FastReader<std::vector<T>> {
    static bool read(FastState& st, std::vector<T>& out, const FieldInfo& f) {
        if (!st.open() || !st.cursor.take('[')) return false;
        out.clear();
        if (!st.cursor.take(']')) {
            if constexpr (std::is_unsigned_v<T>) {
                // Integers: runs of up to kChunk read in one tight loop onto the stack, then to the vector in one
                // allocation of the exact size (chunk by chunk past kChunk items).
                constexpr std::size_t kChunk = 256;
                T chunk[kChunk];
                std::size_t total = 0;
                do {
                    const std::size_t room = std::min<std::size_t>(kChunk, f.max_items - total);
                    if (room == 0) return false;  // one more than the bound: the general reader's error
                    std::size_t n = 0;
                    if (!st.cursor.uint_run(std::numeric_limits<T>::max(), chunk, room, n)) return false;
                    st.values += n;
                    if (st.values > st.limits.max_values) return false;
                    if (total == 0) {
                        out.assign(chunk, chunk + n);
                    } else {
                        out.insert(out.end(), chunk, chunk + n);
                    }
                    total += n;
                } while (st.cursor.take(','));
            } else if constexpr (std::is_enum_v<T>) {
                // Enums: items gather on the stack, then go to the vector in one allocation of the exact size
                // (chunk by chunk past kChunk items).
                constexpr std::size_t kChunk = 256;
                T chunk[kChunk];
                std::size_t n = 0;
                std::size_t total = 0;
                do {
                    if (total == f.max_items) return false;  // one more than the bound: the general reader's error
                    if (!FastReader<T>::read(st, chunk[n], f)) return false;
                    ++total;
                    if (++n == kChunk) {
                        out.insert(out.end(), chunk, chunk + n);
                        n = 0;
                    }
                } while (st.cursor.take(','));
                out.insert(out.end(), chunk, chunk + n);
            } else {
                out.reserve(std::min<std::size_t>(f.max_items, 4));
                do {
                    if (out.size() == f.max_items) return false;  // one more than the bound: the general reader's error
                    if (!FastReader<T>::read(st, out.emplace_back(), f)) return false;
                } while (st.cursor.take(','));
            }
            if (!st.cursor.take(']')) return false;
        }
        --st.depth;
        return true;
    }
};

template <Composite S>
struct FastReader<S> {
    static bool read(FastState& st, S& out, const FieldInfo& = {}) {
        using Traits = CompositeTraits<S>;
        if (!st.open() || !st.cursor.take('{')) return false;
        bool first = true;
        const bool complete = Traits::each_field(out, [&](std::size_t i, auto& value) {
            const FieldInfo& f = Traits::fields[i];
            if (!st.cursor.member_key(f.name, first)) return f.optional;  // absent: left as it is (nullopt)
            first = false;
            return FastReader<std::remove_cvref_t<decltype(value)>>::read(st, value, f);
        });
        if (!complete || !st.cursor.take('}')) return false;
        --st.depth;
        return true;
    }
};

/// The fast path: the compact form to_json() writes (fields in schema order, absent optional fields left out, no
/// whitespace, strings of printable ASCII without escapes, integers without a leading zero), decoded straight into
/// the struct with no tree. Anything else, including everything the general reader refuses, is declined
/// (nullopt), never answered: the general reader decides it. When it answers, the general reader gives the same
/// value (fuzz/fuzz_spec_v2.cpp holds the two to that).
template <Composite S>
[[nodiscard]] std::optional<S> parse_json_fast(std::string_view json) {
    FastState st(json);
    std::optional<S> out(std::in_place);
    if (!FastReader<S>::read(st, *out) || !st.cursor.at_end()) return std::nullopt;
    return out;
}

/// The whole reader: the fast path, else the general one; the same answer either way. Decoding does not validate.
template <Composite S>
[[nodiscard]] Result<S> parse_json(std::string_view json) {
    if (std::optional<S> fast = parse_json_fast<S>(json)) [[likely]] return std::move(*fast);
    return parse_json_general<S>(json);
}

// ------------------------------------------------------------------------------------------------ writing

inline void write_value(std::string& out, std::string_view v) { append_json_string(out, v); }
inline void write_value(std::string& out, const std::string& v) { append_json_string(out, v); }

template <std::unsigned_integral T>
void write_value(std::string& out, T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

template <class E>
    requires std::is_enum_v<E>
void write_value(std::string& out, E v) {
    out.push_back('"');
    out.append(enum_wire_name(v));  // wire names are plain snake_case: nothing to escape
    out.push_back('"');
}

template <Composite S>
void write_value(std::string& out, const S& s);

template <class T>
void write_value(std::string& out, const std::vector<T>& v) {
    out.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i != 0) out.push_back(',');
        write_value(out, v[i]);
    }
    out.push_back(']');
}

/// The compact JSON form: fields in schema order, absent optional fields left out.
template <Composite S>
void write_value(std::string& out, const S& s) {
    using Traits = CompositeTraits<S>;
    out.push_back('{');
    bool first = true;
    Traits::each_field(s, [&](std::size_t i, const auto& value) {
        using V = std::remove_cvref_t<decltype(value)>;
        if constexpr (is_optional<V>::value) {
            if (!value) return true;
        }
        if (!first) out.push_back(',');
        first = false;
        out.push_back('"');
        out.append(Traits::fields[i].name);
        out.append("\":");
        if constexpr (is_optional<V>::value) {
            write_value(out, *value);
        } else {
            write_value(out, value);
        }
        return true;
    });
    out.push_back('}');
}

// ------------------------------------------------------------------------------------------------ canonical encoding

template <class Sink, std::unsigned_integral T>
void encode_value(Sink& sink, T v) {
    put_uint<T>(sink, v);
}
template <class Sink>
void encode_value(Sink& sink, std::string_view v) {
    put_string(sink, v);
}
template <class Sink, class E>
    requires std::is_enum_v<E>
void encode_value(Sink& sink, E v) {
    put_uint<std::uint32_t>(sink, static_cast<std::uint32_t>(v));
}
template <class Sink, class T>
void encode_value(Sink& sink, const std::optional<T>& v) {
    put_uint<std::uint8_t>(sink, v ? 1 : 0);
    if (v) encode_value(sink, *v);
}
template <class Sink, Composite S>
void encode_value(Sink& sink, const S& s);
/// An array (a std::vector, or a view's VectorView or TableVectorView): its count, then its items.
template <class Sink, class A>
    requires is_vector<A>::value || is_vector_view<A>::value || is_table_vector_view<A>::value
void encode_value(Sink& sink, const A& v) {
    using T = typename A::value_type;
    put_uint<std::uint32_t>(sink, static_cast<std::uint32_t>(v.size()));
    if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool> && is_vector_view<A>::value) {
        // Each item as put_uint<T> writes it: little-endian, as the buffer stores it.
        if (!v.empty()) sink.update(std::string_view(reinterpret_cast<const char*>(v.bytes()), v.size() * sizeof(T)));
    } else if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool> && is_vector<A>::value &&
                         std::endian::native == std::endian::little) {
        // Each item as put_uint<T> writes it: in memory, little-endian, the items already are those bytes.
        if (!v.empty()) sink.update(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
    } else {
        for (const auto& item : v) encode_value(sink, item);
    }
}
/// docs/digest.md: every field in schema order; nested structs inline, with no tag of their own.
template <class Sink, Composite S>
void encode_value(Sink& sink, const S& s) {
    CompositeTraits<S>::each_field(s, [&](std::size_t, const auto& value) {
        encode_value(sink, value);
        return true;
    });
}

// ------------------------------------------------------------------------------------------------ differences

template <class T>
struct is_vector_of_composite : std::false_type {};
template <Composite T>
struct is_vector_of_composite<std::vector<T>> : std::true_type {};

template <class T>
std::string value_text(const T& v) {
    std::string out;
    if constexpr (is_optional<T>::value) {
        if (!v) return "absent";
        write_value(out, *v);
    } else {
        write_value(out, v);
    }
    return out;
}

/// The address of each field of `s` (a composite struct, const or not), by field index: how code that walks one
/// struct's fields with each_field() reaches field i of another struct of the same fields.
template <class S>
    requires Composite<std::remove_const_t<S>>
[[nodiscard]] auto field_addresses(S& s) {
    using Traits = CompositeTraits<std::remove_const_t<S>>;
    std::array<std::conditional_t<std::is_const_v<S>, const void*, void*>, Traits::fields.size()> at{};
    Traits::each_field(s, [&](std::size_t i, auto& v) {
        at[i] = &v;
        return true;
    });
    return at;
}

/// Appends every difference between `a` and `b` at `at`: field by field; arrays of structs item by item when
/// both hold as many, else as their counts; other values as wholes.
template <Composite S>
void differences(const S& a, const S& b, const PathLink& at, std::vector<Difference>& out) {
    using Traits = CompositeTraits<S>;
    const auto b_fields = field_addresses(b);
    Traits::each_field(a, [&](std::size_t i, const auto& va) {
        using V = std::remove_cvref_t<decltype(va)>;
        const V& vb = *static_cast<const V*>(b_fields[i]);
        const PathLink here{&at, Traits::fields[i].name};
        if constexpr (Composite<V>) {
            differences(va, vb, here, out);
        } else if constexpr (is_vector_of_composite<V>::value) {
            if (va.size() != vb.size()) {
                out.push_back({here.text(), std::to_string(va.size()) + " items", std::to_string(vb.size()) + " items"});
            } else {
                for (std::size_t k = 0; k < va.size(); ++k) {
                    const PathLink item{&at, Traits::fields[i].name, k};
                    differences(va[k], vb[k], item, out);
                }
            }
        } else if (!(va == vb)) {
            out.push_back({here.text(), value_text(va), value_text(vb)});
        }
        return true;
    });
}

// ------------------------------------------------------------------------------------------------ rule helpers

/// validate()'s answer: runs `check(sink, root)` (a generated check_*() at the root), whose sink keeps the first
/// violation and stops it; ok when it ran to the end.
template <class Check>
[[nodiscard]] Status first_violation(Check&& check) {
    std::optional<Error> first;
    auto sink = [&](auto&& make) {
        first.emplace(make());
        return false;
    };
    const PathLink root{};
    if (check(sink, root)) [[likely]] return {};
    return std::move(*first);
}

/// validate_all()'s answer: runs `check(sink, root)` to the end, keeping every violation in order.
template <class Check>
[[nodiscard]] std::vector<Error> every_violation(Check&& check) {
    std::vector<Error> errors;
    auto sink = [&](auto&& make) {
        errors.push_back(make());
        return true;
    };
    const PathLink root{};
    (void)check(sink, root);
    return errors;
}

/// Up to this many distinct small values, the set helpers below mark them in a bit set on the stack (2 KiB).
inline constexpr std::size_t kStackBits = 16384;

/// No value twice, found by sorting a copy: the answer for values no bit set can hold.
template <class A>
[[nodiscard]] bool distinct_by_sorting(const A& v) {
    std::vector<typename A::value_type> sorted(v.begin(), v.end());
    std::sort(sorted.begin(), sorted.end());
    return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
}

/// The codes of a schema enum below 64 as one bit set, and whether every code the enum has is below 64.
template <class E>
    requires std::is_enum_v<E>
inline constexpr auto kKnownCodes = [] {
    struct Known {
        std::uint64_t bits = 0;
        bool small = true;
    } k;
    for (const E e : EnumTraits<E>::values) {
        const auto x = static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(e));
        if (x >= 64) k.small = false;
        else k.bits |= std::uint64_t{1} << x;
    }
    return k;
}();

/// The set of `codes` (schema values, written in the generated rules), one bit each; nothing when one is 64 or
/// more, which the callers then answer item by item.
template <class E>
    requires std::is_enum_v<E>
[[nodiscard, gnu::always_inline]] constexpr std::optional<std::uint64_t> code_mask(std::initializer_list<E> codes) noexcept {
    std::uint64_t set = 0;
    for (const E item : codes) {
        const auto x = static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(item));
        if (x >= 64) return std::nullopt;
        set |= std::uint64_t{1} << x;
    }
    return set;
}

/// The codes an array of enum values holds, gathered in one pass with no branch per item, so that every set rule
/// on the array (known, distinct, contains, excludes) is then a mask test. The generated rules make one per
/// enum array field and ask it each rule in turn; codes of 64 or more (not schema values, unless the enum has
/// such codes) are answered item by item.
template <class E, class Items = std::vector<E>>
    requires std::is_enum_v<E>
class CodeSet {
public:
    [[gnu::always_inline]] explicit CodeSet(const Items& v) noexcept : items_(&v) {
        for (const E item : v) {
            const auto x = static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(item));
            const std::uint64_t bit = std::uint64_t{x < 64} << (x & 63);
            repeat_ |= (bits_ & bit) != 0;
            bits_ |= bit;
            large_ |= x >= 64;
        }
    }
    /// Every item is a value of E.
    [[nodiscard]] bool all_known() const {
        constexpr auto known = kKnownCodes<E>;
        if (!large_) return (bits_ & ~known.bits) == 0;
        if constexpr (known.small) return false;  // a code of 64 or more, and E has none
        return std::all_of(items_->begin(), items_->end(), [](E e) { return enum_index(e).has_value(); });
    }
    /// No value twice.
    [[nodiscard]] bool all_distinct() const { return large_ ? distinct_by_sorting(*items_) : !repeat_; }
    /// Every one of `wanted` is in the array.
    [[nodiscard, gnu::always_inline]] bool contains_all(std::initializer_list<E> wanted) const {
        if (const std::optional<std::uint64_t> want = code_mask(wanted)) return (bits_ & *want) == *want;
        return std::all_of(wanted.begin(), wanted.end(), [&](E w) { return holds(w); });
    }
    /// None of `unwanted` is in the array.
    [[nodiscard, gnu::always_inline]] bool contains_none(std::initializer_list<E> unwanted) const {
        if (const std::optional<std::uint64_t> avoid = code_mask(unwanted)) return (bits_ & *avoid) == 0;
        return std::none_of(unwanted.begin(), unwanted.end(), [&](E w) { return holds(w); });
    }

private:
    [[nodiscard]] bool holds(E w) const { return std::find(items_->begin(), items_->end(), w) != items_->end(); }
    const Items* items_;
    std::uint64_t bits_ = 0;
    bool repeat_ = false;
    bool large_ = false;
};

/// The CodeSet of an array of enum values (a std::vector, or a view's VectorView).
template <class Items>
CodeSet(const Items&) -> CodeSet<typename Items::value_type, Items>;

/// No value twice.
template <class A>
[[nodiscard]] bool all_distinct(const A& v) {
    using T = typename A::value_type;
    if constexpr (std::is_enum_v<T>) {
        return CodeSet(v).all_distinct();
    } else if constexpr (std::is_unsigned_v<T>) {
        // Integers: a bit per value on the stack, when every value is small (layer indices are).
        if (v.size() > 16) {
            std::uint64_t words[kStackBits / 64];
            std::size_t used = 0;  // words zeroed so far
            bool small = true;
            for (const T item : v) {
                const auto x = static_cast<std::uint64_t>(item);
                if (x >= kStackBits) {
                    small = false;
                    break;
                }
                const std::size_t w = static_cast<std::size_t>(x >> 6);
                for (; used <= w; ++used) words[used] = 0;
                const std::uint64_t bit = std::uint64_t{1} << (x & 63);
                if (words[w] & bit) return false;
                words[w] |= bit;
            }
            if (small) return true;
        }
    }
    if (v.size() <= 16) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (v[i] == v[j]) return false;
            }
        }
        return true;
    }
    return distinct_by_sorting(v);
}

/// Every one of `wanted` is in `v`.
template <class A, class T = typename A::value_type>
[[nodiscard]] bool contains_all(const A& v, std::initializer_list<T> wanted) {
    if constexpr (std::is_enum_v<T>) {
        return CodeSet(v).contains_all(wanted);
    } else {
        return std::all_of(wanted.begin(), wanted.end(),
                           [&](const T& w) { return std::find(v.begin(), v.end(), w) != v.end(); });
    }
}

/// None of `unwanted` is in `v`.
template <class A, class T = typename A::value_type>
[[nodiscard]] bool contains_none(const A& v, std::initializer_list<T> unwanted) {
    if constexpr (std::is_enum_v<T>) {
        return CodeSet(v).contains_none(unwanted);
    } else {
        return std::none_of(unwanted.begin(), unwanted.end(),
                            [&](const T& w) { return std::find(v.begin(), v.end(), w) != v.end(); });
    }
}

/// What mark_small() gathers: the set of the values below 64 (bit v for value v) and the largest value.
struct SmallMarks {
    std::uint64_t set = 0;
    std::uint64_t max = 0;
};

/// Adds each of `values` to `marks` one at a time: its bit (a value of 64 or more sets none) and the maximum.
template <class Values>
[[gnu::always_inline]] inline void mark_each(const Values& values, SmallMarks& marks) noexcept {
    std::uint64_t set = marks.set, max = marks.max;
    for (const auto v : values) {
        const auto x = static_cast<std::uint64_t>(v);
        set |= std::uint64_t{x < 64} << (x & 63);
        max = std::max(max, x);
    }
    marks.set = set;
    marks.max = max;
}

/// Adds `p[0..n)` to `marks` as mark_each() does: eight values an instruction sequence where the CPU has AVX2
/// (checked once, at the first call), one at a time otherwise; the same answer either way
/// (tests/test_cache_spec_v2.cpp holds the two to that).
void mark_small(const std::uint32_t* p, std::size_t n, SmallMarks& marks) noexcept;
namespace testing {
/// mark_small() by its portable path, whatever the CPU: for the tests that compare the two.
void mark_small_portable(const std::uint32_t* p, std::size_t n, SmallMarks& marks) noexcept;
}  // namespace testing

/// The arrays `part(item)` of the items of `items`, together, hold each of 0..count-1 exactly once.
template <class Items, class Part>
[[nodiscard]] bool partitions(const Items& items, Part&& part, std::uint64_t count) {
    std::size_t total = 0;
    for (const auto& item : items) total += part(item).size();
    if (total != count) return false;
    if (count == 0) return true;
    // `count` values, each below `count`, that set all of the `count` bits 0..count-1: each of 0..count-1
    // exactly once. No branch per value: bits and a running maximum, checked once at the end.
    if (count <= 64) {  // the common case: a model of up to 64 layers, its bits in a register
        SmallMarks marks;
        for (const auto& item : items) {
            const auto& values = part(item);
            using V = std::remove_cvref_t<decltype(values[0])>;
            if constexpr (std::is_same_v<V, std::uint32_t> && requires { values.data(); }) {
                mark_small(values.data(), values.size(), marks);
            } else {
                mark_each(values, marks);
            }
        }
        const std::uint64_t full = count == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << count) - 1;
        return marks.max < count && marks.set == full;
    }
    if (count <= kStackBits) {  // a bit per value on the stack
        constexpr std::size_t kWords = kStackBits / 64;
        std::uint64_t words[kWords];
        std::fill_n(words, (count + 63) / 64, std::uint64_t{0});
        std::uint64_t max = 0;
        for (const auto& item : items) {
            for (const auto v : part(item)) {
                const auto x = static_cast<std::uint64_t>(v);
                max = std::max(max, x);
                // a value past `count` is refused by `max` below; until then it lands in a zeroed word
                const std::size_t w = static_cast<std::size_t>(std::min(x, count - 1) >> 6);
                words[w] |= std::uint64_t{1} << (x & 63);
            }
        }
        if (max >= count) return false;
        std::uint64_t bits = 0;
        for (std::size_t w = 0; w < (count + 63) / 64; ++w) bits += static_cast<std::uint64_t>(std::popcount(words[w]));
        return bits == count;
    }
    std::vector<bool> seen(static_cast<std::size_t>(count), false);
    for (const auto& item : items) {
        for (const auto v : part(item)) {
            if (v >= count || seen[static_cast<std::size_t>(v)]) return false;
            seen[static_cast<std::size_t>(v)] = true;
        }
    }
    return true;
}

/// Every item is a known value of its enum.
template <class A>
[[nodiscard]] bool all_known(const A& v) {
    return CodeSet(v).all_known();
}

}  // namespace fib_quant_kv::detail::composite
