// fib_quant_kv internal: the FlatBuffers form of every composite (nested) descriptor, written once against the
// generated CompositeTraits<S>, as the JSON reader and writer are (internal/composite.hpp).
//
// The form is the one the generator's composite .fbs declares (codegen/templates/fbs/composite.fbs.j2): a struct
// is a table whose field i has id i (vtable slot 4 + 2 i; each generated source static_asserts this against
// flatc's VT_ constants); unsigned and enum fields are scalars of their own width (an enum: its underlying
// type), written when present and read as absent when left out; strings, arrays (vectors of scalars, of enum
// codes or of tables) and nested structs are offsets.
//
// Reading has two paths that must answer alike (tests and fuzz/fuzz_flatbuffers_v2.cpp hold them to it):
//   * general: flatc's generated Verifier over the whole buffer, then a trusted decode (no Verifier);
//   * one pass: the decode makes, table by table and field by field, the Verifier calls flatc's Verify() makes,
//     reading each value as soon as it has verified.
// Decoding problems (a required field left out, an enum code the schema does not know, a vector past its bound,
// a string that is not UTF-8) are parse Errors naming the field and its path ("groups[2].window"); the one-pass
// reader keeps the first and reports it only once the whole buffer has verified, so a Verifier failure anywhere
// wins, as it does when the Verifier runs first.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fib_quant_kv/composite.hpp"
#include "fib_quant_kv/composite_view.hpp"
#include "fib_quant_kv/enum_traits.hpp"
#include "fib_quant_kv/error.hpp"
#include "fib_quant_kv/flatbuffer_limits.hpp"
#include "internal/composite.hpp"
#include "internal/flatbuffers_support.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::detail::composite_fb {

/// The vtable slot of field `index` (FlatBuffers: 4 bytes of vtable header, then one voffset_t per field id).
[[nodiscard]] constexpr flatbuffers::voffset_t slot(std::size_t index) noexcept {
    return static_cast<flatbuffers::voffset_t>(4 + 2 * index);
}

// ------------------------------------------------------------------------------------------------ errors

/// The parse Errors of the decoder (src/composite_flatbuffers.cpp): kind parse, a wire_rules::flatbuffers_*
/// rule, the field in Error::fields, its place in Error::path and in the message.
[[nodiscard]] Error missing_field(const FieldInfo& field, const PathLink& at);
[[nodiscard]] Error unknown_enum_code(const FieldInfo& field, const PathLink& at, std::string_view enum_name,
                                      std::uint32_t code);
[[nodiscard]] Error invalid_length(const FieldInfo& field, const PathLink& at, std::size_t count);
[[nodiscard]] Error invalid_utf8(const FieldInfo& field, const PathLink& at);

// ------------------------------------------------------------------------------------------------ writing

template <class T>
struct Writer;

template <std::unsigned_integral T>
struct Writer<T> {
    static constexpr bool scalar = true;
    static void add(flatbuffers::FlatBufferBuilder& b, flatbuffers::voffset_t vt, T v) { b.AddElement<T>(vt, v); }
};

template <class E>
    requires std::is_enum_v<E>
struct Writer<E> {
    static constexpr bool scalar = true;
    static void add(flatbuffers::FlatBufferBuilder& b, flatbuffers::voffset_t vt, E v) {
        using U = std::underlying_type_t<E>;
        b.AddElement<U>(vt, static_cast<U>(v));
    }
};

template <class T>
struct Writer<std::optional<T>> {
    static constexpr bool scalar = Writer<T>::scalar;
    static void add(flatbuffers::FlatBufferBuilder& b, flatbuffers::voffset_t vt, const std::optional<T>& v) {
        if (v) Writer<T>::add(b, vt, *v);
    }
    static flatbuffers::uoffset_t create(flatbuffers::FlatBufferBuilder& b, const std::optional<T>& v) {
        return v ? Writer<T>::create(b, *v) : 0;
    }
};

template <>
struct Writer<std::string> {
    static constexpr bool scalar = false;
    static flatbuffers::uoffset_t create(flatbuffers::FlatBufferBuilder& b, const std::string& v) {
        return b.CreateString(v).o;
    }
};

template <Composite S>
flatbuffers::uoffset_t build_table(flatbuffers::FlatBufferBuilder& b, const S& s);

template <class T>
struct Writer<std::vector<T>> {
    static constexpr bool scalar = false;
    static flatbuffers::uoffset_t create(flatbuffers::FlatBufferBuilder& b, const std::vector<T>& v) {
        if constexpr (Composite<T>) {
            std::vector<flatbuffers::Offset<flatbuffers::Table>> items;
            items.reserve(v.size());
            for (const T& item : v) items.emplace_back(build_table(b, item));
            return b.CreateVector(items).o;
        } else if constexpr (std::is_enum_v<T>) {
            using U = std::underlying_type_t<T>;
            std::vector<U> codes;
            codes.reserve(v.size());
            for (const T item : v) codes.push_back(static_cast<U>(item));
            return b.CreateVector(codes).o;
        } else {
            return b.CreateVector(v).o;
        }
    }
};

template <Composite S>
struct Writer<S> {
    static constexpr bool scalar = false;
    static flatbuffers::uoffset_t create(flatbuffers::FlatBufferBuilder& b, const S& s) { return build_table(b, s); }
};

/// Writes `s` as a table (its strings, vectors and nested tables first, as FlatBuffers requires); every present
/// field is written, in schema order.
template <Composite S>
flatbuffers::uoffset_t build_table(flatbuffers::FlatBufferBuilder& b, const S& s) {
    using Traits = CompositeTraits<S>;
    std::array<flatbuffers::uoffset_t, Traits::fields.size()> children{};
    Traits::each_field(s, [&](std::size_t i, const auto& value) {
        using V = std::remove_cvref_t<decltype(value)>;
        if constexpr (!Writer<V>::scalar) children[i] = Writer<V>::create(b, value);
        return true;
    });
    const flatbuffers::uoffset_t start = b.StartTable();
    Traits::each_field(s, [&](std::size_t i, const auto& value) {
        using V = std::remove_cvref_t<decltype(value)>;
        if constexpr (Writer<V>::scalar) {
            Writer<V>::add(b, slot(i), value);
        } else if (children[i] != 0) {
            b.AddOffset(slot(i), flatbuffers::Offset<void>(children[i]));
        }
        return true;
    });
    return b.EndTable(start);
}

// ------------------------------------------------------------------------------------------------ reading

/// One decode: the Verifier when reading in one pass (null when the buffer has been verified already), and the
/// first decoding problem.
struct ReadState {
    flatbuffers::Verifier* verifier = nullptr;
    std::optional<Error> problem;

    [[nodiscard]] bool checked() const noexcept { return verifier != nullptr; }
    /// Notes a problem; true when decoding should go on (only to verify the rest, in one pass).
    bool note(Error e) {
        if (!problem) problem = std::move(e);
        return checked();
    }
};

/// Where a table's fields are: its start, as a flatbuffers::Table.
struct TableAt {
    const std::uint8_t* data;
    [[nodiscard]] const flatbuffers::Table* table() const noexcept {
        // flatc's tables derive privately from flatbuffers::Table and are only ever reached through casts.
        return reinterpret_cast<const flatbuffers::Table*>(data);
    }
};

template <Composite S>
[[nodiscard]] bool read_table(ReadState& st, const std::uint8_t* data, S& out, const PathLink& at);

/// The object an offset field points at (verified in one pass); nullptr when the Verifier said no.
[[nodiscard]] inline const std::uint8_t* follow(ReadState& st, const std::uint8_t* data, flatbuffers::voffset_t at) {
    if (st.checked()) {
        const flatbuffers::uoffset_t to = st.verifier->VerifyOffset(data, at);
        if (to == 0) return nullptr;
        return data + at + to;
    }
    return data + at + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(data + at);
}

template <class T>
struct Reader;

/// What a scalar field is stored as: an unsigned integer as itself, an enum as its underlying type.
template <class T>
struct code_of {
    using type = T;
};
template <class T>
    requires std::is_enum_v<T>
struct code_of<T> {
    using type = std::underlying_type_t<T>;
};

/// Unsigned integers and enums: a scalar of their own width (an enum's underlying type).
template <class T>
    requires std::unsigned_integral<T> || std::is_enum_v<T>
struct Reader<T> {
    using Code = typename code_of<T>::type;
    static bool read(ReadState& st, TableAt t, flatbuffers::voffset_t at, T& out, const FieldInfo& f,
                     const PathLink& here) {
        if (st.checked() && !st.verifier->VerifyField<Code>(t.data, at, sizeof(Code))) return false;
        const Code code = flatbuffers::ReadScalar<Code>(t.data + at);
        return store(st, code, out, f, here);
    }
    static bool store(ReadState& st, Code code, T& out, const FieldInfo& f, const PathLink& here) {
        if constexpr (std::is_enum_v<T>) {
            if (const std::optional<T> v = enum_from_code<T>(code)) {
                out = *v;
                return true;
            }
            return st.note(unknown_enum_code(f, here, EnumTraits<T>::name, code));
        } else {
            out = code;
            return true;
        }
    }
};

/// A string, owned (the decode) or viewed in place (a view).
template <class Str>
    requires std::is_same_v<Str, std::string> || std::is_same_v<Str, std::string_view>
struct Reader<Str> {
    static bool read(ReadState& st, TableAt t, flatbuffers::voffset_t at, Str& out, const FieldInfo& f,
                     const PathLink& here) {
        const std::uint8_t* const p = follow(st, t.data, at);
        if (p == nullptr) return false;
        const auto* const text = reinterpret_cast<const flatbuffers::String*>(p);
        if (st.checked() && !st.verifier->VerifyString(text)) return false;
        const std::string_view v = text->string_view();
        if (!is_valid_utf8(v)) return st.note(invalid_utf8(f, here));
        out = Str(v);
        return true;
    }
};

template <Composite S>
struct Reader<S> {
    static bool read(ReadState& st, TableAt t, flatbuffers::voffset_t at, S& out, const FieldInfo&,
                     const PathLink& here) {
        const std::uint8_t* const p = follow(st, t.data, at);
        if (p == nullptr) return false;
        return read_table(st, p, out, here);
    }
};

/// What an array member holds: its items' type, and whether the array is a view (kept in the buffer) rather
/// than decoded into a std::vector.
template <class A>
struct ArrayOf;
template <class T>
struct ArrayOf<std::vector<T>> {
    using item = T;
    static constexpr bool view = false;
};
template <class T>
struct ArrayOf<VectorView<T>> {
    using item = T;
    static constexpr bool view = true;
};
template <class V>
struct ArrayOf<TableVectorView<V>> {
    using item = V;
    static constexpr bool view = true;
};

/// The readers' key to a view's insides: where its items are, and how an item of an array of structs is made.
struct ViewAccess {
    template <class T>
    static void set(VectorView<T>& v, const std::uint8_t* data, std::size_t n) noexcept {
        v.data_ = data;
        v.size_ = n;
    }
    template <class V>
    static void set(TableVectorView<V>& v, const std::uint8_t* data, std::size_t n) noexcept {
        v.data_ = data;
        v.size_ = n;
        v.make_ = &make_item<V>;
    }
    /// Where the reader reads item `i` of `v` (it reads each item once, to check it): the kept copy, for the first
    /// TableVectorView::kCached items; `scratch` for the rest.
    template <class V>
    static V& slot(TableVectorView<V>& v, std::size_t i, V& scratch) noexcept {
        if constexpr (TableVectorView<V>::kCached != 0) {
            if (i < TableVectorView<V>::kCached) return v.cached_[i];
        }
        return scratch;
    }
    /// Item views are made from tables the view's reader has verified and checked: a trusted read.
    template <class V>
    static void make_item(const std::uint8_t* table, V& out) {
        ReadState st{};
        const PathLink top{};
        (void)read_table(st, table, out, top);
    }
};

/// An array: a vector of tables, of enum codes or of integers, decoded or viewed.
template <class A>
    requires requires { typename ArrayOf<A>::item; }
struct Reader<A> {
    using T = typename ArrayOf<A>::item;
    static constexpr bool kView = ArrayOf<A>::view;

    static bool read(ReadState& st, TableAt t, flatbuffers::voffset_t at, A& out, const FieldInfo& f,
                     const PathLink& here) {
        const std::uint8_t* const p = follow(st, t.data, at);
        if (p == nullptr) return false;
        if constexpr (Composite<T>) {
            using Vec = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>;
            const auto* const vec = reinterpret_cast<const Vec*>(p);
            if (st.checked() && !st.verifier->VerifyVector(vec)) return false;
            const flatbuffers::uoffset_t n = vec->size();
            // Past its bound: refused before anything is stored; in one pass the items are still verified.
            bool keep = true;
            if (n > f.max_items) {
                if (!st.note(invalid_length(f, here, n))) return false;
                keep = false;
            }
            if constexpr (!kView) {
                if (keep) out.resize(n);
            }
            T scratch{};
            for (flatbuffers::uoffset_t i = 0; i < n; ++i) {
                const std::uint8_t* const item_at = vec->Data() + i * sizeof(flatbuffers::uoffset_t);
                const std::uint8_t* const item = item_at + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(item_at);
                const PathLink link{here.parent, here.field, i};
                T* into = &scratch;
                if (keep) {
                    if constexpr (kView) {
                        into = &ViewAccess::slot(out, i, scratch);
                    } else {
                        into = &out[i];
                    }
                }
                if (!read_table(st, item, *into, link)) return false;
                if (st.problem && !st.checked()) return false;
            }
            if constexpr (kView) {
                if (keep) ViewAccess::set(out, vec->Data(), n);
            }
            return true;
        } else {
            using Code = typename Reader<T>::Code;
            const auto* const vec = reinterpret_cast<const flatbuffers::Vector<Code>*>(p);
            if (st.checked() && !st.verifier->VerifyVector(vec)) return false;
            const flatbuffers::uoffset_t n = vec->size();
            if (n > f.max_items) return st.note(invalid_length(f, here, n));
            if constexpr (kView) {
                ViewAccess::set(out, vec->Data(), n);
                if constexpr (!std::is_enum_v<T>) return true;  // integers: nothing to check item by item
            } else {
                out.resize(n);
            }
            FieldInfo element = f;
            element.max_items = 0;
            T scratch{};
            for (flatbuffers::uoffset_t i = 0; i < n; ++i) {
                const PathLink link{here.parent, here.field, i};
                const Code code = flatbuffers::ReadScalar<Code>(vec->Data() + i * sizeof(Code));
                T* into = &scratch;
                if constexpr (!kView) into = &out[i];
                if (!Reader<T>::store(st, code, *into, element, link)) return false;
                if (st.problem) return true;  // nothing left to verify in a vector of scalars
            }
            return true;
        }
    }
};

template <class T>
struct Reader<std::optional<T>> {
    static bool read(ReadState& st, TableAt t, flatbuffers::voffset_t at, std::optional<T>& out, const FieldInfo& f,
                     const PathLink& here) {
        T v{};
        if (!Reader<T>::read(st, t, at, v, f, here)) return false;
        out = std::move(v);
        return true;
    }
};

/// Reads the table at `data` into `out`; false when the Verifier said no, or (trusted) at the first problem.
template <Composite S>
bool read_table(ReadState& st, const std::uint8_t* data, S& out, const PathLink& at) {
    using Traits = CompositeTraits<S>;
    if (st.checked() && !st.verifier->VerifyTableStart(data)) return false;
    const TableAt t{data};
    const bool ok = Traits::each_field(out, [&](std::size_t i, auto& value) {
        using V = std::remove_cvref_t<decltype(value)>;
        const FieldInfo& f = Traits::fields[i];
        const PathLink here{&at, f.name};
        const flatbuffers::voffset_t field_at = t.table()->GetOptionalFieldOffset(slot(i));
        if (field_at == 0) {
            if constexpr (is_optional<V>::value) {
                value.reset();
                return true;
            } else {
                return st.note(missing_field(f, here));
            }
        }
        return Reader<V>::read(st, t, field_at, value, f, here);
    });
    if (!ok) return false;  // the Verifier said no (one pass), or the first problem (trusted)
    if (st.checked()) st.verifier->EndTable();
    return true;
}

/// How a whole buffer went: ok, a Verifier failure, or a decoding problem.
enum class Outcome : std::uint8_t { ok, verify_failed, problem };

/// The one-pass read of a whole buffer whose frame (size, alignment, identifier) has been checked.
template <Composite S>
[[nodiscard]] Outcome read_buffer_one_pass(std::span<const std::uint8_t> buffer, const FlatBufferLimits& limits,
                                           S& out, std::optional<Error>& problem) {
    flatbuffers::Verifier verifier(buffer.data(), buffer.size(), limits.max_depth, limits.max_tables);
    ReadState st{&verifier, std::nullopt};
    const flatbuffers::uoffset_t root = verifier.VerifyOffset(0);
    if (root == 0) return Outcome::verify_failed;
    const PathLink top{};
    if (!read_table(st, buffer.data() + root, out, top)) return Outcome::verify_failed;
    if (st.problem) {
        problem = std::move(st.problem);
        return Outcome::problem;
    }
    return Outcome::ok;
}

/// The trusted read of a whole buffer that flatc's Verifier has accepted.
template <Composite S>
[[nodiscard]] Outcome read_verified_buffer(std::span<const std::uint8_t> buffer, S& out,
                                           std::optional<Error>& problem) {
    ReadState st{};
    const PathLink top{};
    const std::uint8_t* const root = buffer.data() + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buffer.data());
    (void)read_table(st, root, out, top);
    if (st.problem) {
        problem = std::move(st.problem);
        return Outcome::problem;
    }
    return Outcome::ok;
}

}  // namespace fib_quant_kv::detail::composite_fb

namespace fib_quant_kv::detail::composite_fb {

// ------------------------------------------------------------------------------------------------ views to natives

/// The native type a view member stands for: std::string for std::string_view, std::vector for the array views,
/// the native struct for a generated view (CompositeTraits<V>::native_type); anything else is itself.
template <class V>
struct native_of {
    using type = V;
};
template <>
struct native_of<std::string_view> {
    using type = std::string;
};
template <class T>
struct native_of<std::optional<T>> {
    using type = std::optional<typename native_of<T>::type>;
};
template <class T>
struct native_of<VectorView<T>> {
    using type = std::vector<T>;
};
template <class V>
struct native_of<TableVectorView<V>> {
    using type = std::vector<typename native_of<V>::type>;
};
template <class V>
    requires requires { typename CompositeTraits<V>::native_type; }
struct native_of<V> {
    using type = typename CompositeTraits<V>::native_type;
};

/// The native value of a view (or of a view's member): everything it holds, copied out of the buffer.
template <class V>
[[nodiscard]] typename native_of<V>::type to_native(const V& v) {
    using N = typename native_of<V>::type;
    if constexpr (std::is_same_v<N, V>) {
        return v;
    } else if constexpr (is_optional<V>::value) {
        return v ? N(to_native(*v)) : N();
    } else if constexpr (std::is_same_v<V, std::string_view>) {
        return N(v);
    } else if constexpr (is_vector_view<V>::value) {
        return N(v.begin(), v.end());
    } else if constexpr (is_table_vector_view<V>::value) {
        N out;
        out.reserve(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) out.push_back(to_native(v[i]));
        return out;
    } else {
        // A generated view: its field i (a V member) becomes the native struct's field i (its native_of type).
        N out{};
        const auto into = composite::field_addresses(out);
        CompositeTraits<V>::each_field(v, [&](std::size_t i, const auto& field) {
            using F = std::remove_cvref_t<decltype(field)>;
            *static_cast<typename native_of<F>::type*>(into[i]) = to_native(field);
            return true;
        });
        return out;
    }
}

}  // namespace fib_quant_kv::detail::composite_fb
