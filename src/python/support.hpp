// The schema-agnostic half of the Python module (fib_quant_kv._native): the error model in Python, argument
// conversion with TypeError / OverflowError, enum helpers, buffers, and the tensor check. The generated
// bindings (generated/python/*_binding.cpp) call only these and the C++ library; nothing here names a schema
// type.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fib_quant_kv/enum_traits.hpp"
#include "fib_quant_kv/error.hpp"

namespace fib_quant_kv::python {

namespace py = pybind11;

/// The detail slots an error of this kind carries, by name (rendered from schema/library.yaml).
using DetailsOf = py::dict (*)(const Error& e);

/// Registers what every schema's bindings share: DescriptorError and the module's own helpers. Called by the
/// generated module initialiser, after it has bound ErrorKind.
void bind_support(py::module_& m, DetailsOf details_of);

/// The format modules' functions (checkpoints, Hugging Face configs), for fib_quant_kv/checkpoint.py and hf.py:
/// src/python/formats.cpp. Called by bind_support().
void bind_formats(py::module_& m);

/// The DescriptorError instance for `e`: a ValueError whose str() is e.describe(), with .kind (ErrorKind),
/// .rule, .fields (tuple of str), .message, .details (dict of the kind's detail slots) and .offset (int or None).
[[nodiscard]] py::object make_error(const Error& e);

/// Raises `e` as DescriptorError (throws py::error_already_set).
[[noreturn]] void raise(const Error& e);

/// The value of a Result, or DescriptorError.
template <class T>
[[nodiscard]] T value_or_raise(Result<T>&& r) {
    if (!r) raise(std::move(r).error());
    return std::move(r).value();
}
inline void ok_or_raise(const Status& s) {
    if (!s) raise(s.error());
}

/// [[noreturn]] TypeError / OverflowError with a message naming `what` (e.g. "KvTensorShapeV1.batch").
[[noreturn]] void type_error(std::string_view what, std::string_view expected, py::handle got);
[[noreturn]] void overflow_error(std::string_view what, py::handle got, std::uint64_t max);

/// A Python int (not a bool) in [0, max], for an unsigned field or parameter.
[[nodiscard]] std::uint64_t to_unsigned(py::handle value, std::string_view what, std::uint64_t max);

template <class U>
[[nodiscard]] U to_uint(py::handle value, std::string_view what) {
    return static_cast<U>(to_unsigned(value, what, std::numeric_limits<U>::max()));
}

/// A str (kept as its UTF-8 bytes), for a string field.
[[nodiscard]] std::string to_string_field(py::handle value, std::string_view what);

/// A str or bytes-like object's bytes, borrowed for as long as `value` lives (str: its cached UTF-8 form).
[[nodiscard]] std::string_view text_bytes(py::handle value, std::string_view what);

/// JSON text's bytes: a str's UTF-8 (a str with lone surrogates is encoded with them, "surrogatepass", into
/// `keep`, so that the JSON reader rejects it as not UTF-8 like any other such input), or bytes / bytearray.
[[nodiscard]] std::string_view json_bytes(py::handle value, std::string_view what, py::object& keep);

/// An enum value from the enum's Python member, or from its wire name as a str.
template <class E>
[[nodiscard]] E to_enum(py::handle value, std::string_view what) {
    if (py::isinstance<E>(value)) return value.cast<E>();
    if (PyUnicode_Check(value.ptr())) {
        const std::string_view wire = text_bytes(value, what);
        if (const std::optional<E> v = detail::enum_from_wire_name<E>(wire)) return *v;
        std::string names;
        for (const std::string_view n : EnumTraits<E>::wire_names) names.append(names.empty() ? "" : ", ").append(n);
        throw py::value_error(std::string(what) + ": '" + std::string(wire) + "' is not a " +
                              std::string(EnumTraits<E>::name) + " (one of " + names + ")");
    }
    type_error(what, std::string(EnumTraits<E>::name) + " or its wire name as str", value);
}

/// The members and helpers every generated enum class has: .code, .wire_name, from_code(), from_wire_name().
template <class E, class Class>
void enum_extras(Class& cls) {
    using U = std::underlying_type_t<E>;
    cls.def_property_readonly(
        "code", [](E v) { return static_cast<std::uint32_t>(static_cast<U>(v)); }, "The stable numeric code.");
    cls.def_property_readonly(
        "wire_name", [](E v) { return std::string(detail::enum_wire_name(v)); }, "The JSON wire name.");
    cls.def_static(
        "from_code",
        [](py::handle code) {
            const auto c = static_cast<std::uint32_t>(to_unsigned(code, "code", 0xFFFFFFFFu));
            if (const std::optional<E> v = detail::enum_from_code<E>(c)) return *v;
            throw py::value_error(std::to_string(c) + " is not a code of " + std::string(EnumTraits<E>::name));
        },
        py::arg("code"), "The member with this stable code; ValueError when there is none.");
    cls.def_static(
        "from_wire_name", [](py::handle name) { return to_enum<E>(name, "wire_name"); }, py::arg("name"),
        "The member with this wire name; ValueError when there is none.");
}

/// __reduce__ for a class pickled with py::pickle: (copyreg.__newobj__, (cls,), state), what pickle itself does
/// for protocol 2 and later, for every protocol. Without it, protocols 0 and 1 go through copyreg._reduce_ex,
/// which calls pybind11's base type with the instance: a C++ exception out of its tp_new, and the interpreter
/// aborts.
template <class Class>
void reduce_with_newobj(Class& cls) {
    cls.def("__reduce__", [](py::handle self) {
        return py::make_tuple(py::module_::import("copyreg").attr("__newobj__"),
                              py::make_tuple(py::type::handle_of(self)), self.attr("__getstate__")());
    });
}

/// A read-only, C-contiguous view of any buffer (bytes, bytearray, memoryview, mmap, a numpy uint8 array...),
/// released when this goes away.
class BufferView {
  public:
    BufferView(py::handle obj, std::string_view what);
    BufferView(const BufferView&) = delete;
    BufferView& operator=(const BufferView&) = delete;
    ~BufferView();
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
        return {static_cast<const std::uint8_t*>(view_.buf), static_cast<std::size_t>(view_.len)};
    }

  private:
    Py_buffer view_{};
};

/// Calls `read(span)` on the buffer's bytes; a buffer whose start is not 4-byte aligned (a memoryview slice,
/// say) is first copied to aligned storage, since FlatBuffers reads scalars in place.
template <class Read>
auto with_aligned_bytes(py::handle buffer, std::string_view what, Read&& read) {
    const BufferView view(buffer, what);
    const std::span<const std::uint8_t> bytes = view.bytes();
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 == 0) return read(bytes);
    std::vector<std::uint64_t> aligned((bytes.size() + 7) / 8);
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    return read(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(aligned.data()), bytes.size()));
}

/// What a descriptor says about the tensor it describes, for check_tensor().
struct TensorSpec {
    std::span<const std::uint64_t> dims;               ///< the canonical shape
    std::span<const std::string_view> dim_fields;      ///< the field behind each dimension
    std::string_view dtype_field;                      ///< the dtype field's name
    std::string_view dtype_wire;                       ///< its value's wire name ("bf16")
    std::span<const std::pair<std::string_view, std::string_view>> dtype_names;  ///< framework -> dtype name
    std::uint32_t element_bytes;                       ///< bytes per element
};

/// Checks a numpy array or torch tensor (anything with .shape and .dtype from one of the spec's frameworks)
/// against the spec: DescriptorError(tensor_mismatch) naming the mismatch, TypeError for other objects.
void check_tensor(py::handle tensor, const TensorSpec& spec);

/// A Python int from a u64 count.
[[nodiscard]] inline py::int_ to_int(std::uint64_t v) {
    return py::reinterpret_steal<py::int_>(PyLong_FromUnsignedLongLong(v));
}

/// `bytes` holding these bytes.
[[nodiscard]] inline py::bytes to_bytes(std::span<const std::uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace fib_quant_kv::python
