// fib_quant_kv: what every nested ("composite") descriptor shares: the traits the generator writes for each of
// its structs, and the path that names a place inside one ("groups[2].window").
//
// A composite schema's structs hold optional fields (std::optional: absent is not zero), bounded arrays
// (std::vector, at most FieldInfo::max_items items) and nested structs. The generator writes, per struct, a
// CompositeTraits specialisation: its name, a FieldInfo row per field, and each_field(), which hands every field
// to a visitor in schema order. The JSON reader and writer and the canonical encoder (src/internal/composite_*.hpp)
// are written once against these traits; only the rules are generated as code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace fib_quant_kv {

/// One field of a composite struct, as data.
struct FieldInfo {
    std::string_view name;
    std::string_view type_name;                ///< for messages: "u32", "string", "enum KvRole", "struct KvStorage"
    std::uint32_t max_items;                   ///< arrays: the most items a reader accepts; 0 for other fields
    bool optional;                             ///< may be absent
    std::span<const std::string_view> fields;  ///< the field's name as Error::fields (static storage)
};

/// Specialised by the generator for every struct of a composite schema:
///   static constexpr std::string_view name;
///   static constexpr std::array<FieldInfo, N> fields;
///   template <class S, class Visit> static constexpr bool each_field(S& s, Visit&& visit);
///     calls visit(index, s.field) for each field in schema order while visit returns true.
template <class S>
struct CompositeTraits;

template <class T>
concept Composite = requires { CompositeTraits<T>::fields; };

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

/// Where a rule or a reader is, inside a composite descriptor: a chain of links on the caller's stack, turned
/// into text ("groups[2].window") only when an error is built.
struct PathLink {
    static constexpr std::size_t no_index = static_cast<std::size_t>(-1);
    const PathLink* parent = nullptr;
    std::string_view field;            ///< empty for the root
    std::size_t index = no_index;      ///< the element of `field`, for arrays

    /// This place as text, then `tail` (a field path relative to it, whose first "[]" takes `tail_index`).
    [[nodiscard]] std::string text(std::string_view tail = {}, std::size_t tail_index = no_index) const;
};

/// One place where two descriptors of one schema differ: its path ("groups[2].window") and each side's value
/// as JSON ("absent" for an absent optional field; "N items" for arrays of structs of different lengths).
struct Difference {
    std::string path;
    std::string a, b;

    friend bool operator==(const Difference&, const Difference&) = default;
};

/// The top-level "schema_version" of a JSON object, when the text is a JSON object that has one as a string:
/// how readers that take several schemas tell them apart. Nothing for anything else (not JSON, not an object,
/// no such key, not a string, a key given twice).
[[nodiscard]] std::optional<std::string> json_schema_version(std::string_view json);

}  // namespace fib_quant_kv
