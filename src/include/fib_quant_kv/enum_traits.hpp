// fib_quant_kv: the traits the generated code is written against, and the functions that read them.
//
// EnumTraits<E>: specialised by the generated headers for every schema enum with its name, its values, their
// wire names and whether the codes are dense (0, 1, ... in schema order) (Zserio's EnumTraits, FlatBuffers'
// EnumValues/EnumNames). The enum functions below are written once against these tables; the generated
// to_string(), is_known(), parse_*() and *_from_code() are one-line wrappers over them.
// StructTraits<S>: the same for every schema struct: its name, its field names in order and its rule table.
// detail::Fields<S>: specialised for every schema struct and for every view of one (the FlatBuffers view), with
// one static accessor per field; the generated rules, counts and encoders read fields only through it, so the
// same code serves a native struct and a zero-copy view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace fib_quant_kv {

template <class E>
struct EnumTraits;

template <class S>
struct StructTraits;

namespace detail {
template <class S>
struct Fields;

/// The position of `v` in EnumTraits<E>::values, if it holds one of the schema's codes.
template <class E>
[[nodiscard]] constexpr std::optional<std::size_t> enum_index(E v) noexcept {
    using T = EnumTraits<E>;
    if constexpr (T::dense) {  // codes 0..N-1 in schema order: the code is the index
        const auto code = static_cast<std::size_t>(static_cast<std::underlying_type_t<E>>(v));
        if (code < T::values.size()) return code;
    } else {
        for (std::size_t i = 0; i < T::values.size(); ++i) {
            if (T::values[i] == v) return i;
        }
    }
    return std::nullopt;
}

/// The value with this numeric code, if the schema has one.
template <class E>
[[nodiscard]] constexpr std::optional<E> enum_from_code(std::uint64_t code) noexcept {
    using T = EnumTraits<E>;
    if constexpr (T::dense) {
        if (code < T::values.size()) return T::values[static_cast<std::size_t>(code)];
    } else {
        for (const E v : T::values) {
            if (static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(v)) == code) return v;
        }
    }
    return std::nullopt;
}

/// The value with this exact wire name, if any.
template <class E>
[[nodiscard]] constexpr std::optional<E> enum_from_wire_name(std::string_view wire) noexcept {
    using T = EnumTraits<E>;
    for (std::size_t i = 0; i < T::values.size(); ++i) {
        if (T::wire_names[i] == wire) return T::values[i];
    }
    return std::nullopt;
}

/// The wire name of `v`; empty for a code the schema does not know.
template <class E>
[[nodiscard]] constexpr std::string_view enum_wire_name(E v) noexcept {
    const std::optional<std::size_t> i = enum_index(v);
    return i ? EnumTraits<E>::wire_names[*i] : std::string_view{};
}

/// Attribute `table` (one entry per value, in schema order) of `v`; `fallback` for an unknown code.
template <class E, class Table>
[[nodiscard]] constexpr auto enum_attribute(E v, const Table& table, typename Table::value_type fallback) noexcept {
    const std::optional<std::size_t> i = enum_index(v);
    return i ? table[*i] : fallback;
}

}  // namespace detail

}  // namespace fib_quant_kv
