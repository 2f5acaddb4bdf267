// The schema-agnostic half of the Python module (fib_quant_kv._native): the error model in Python, argument
// conversion with TypeError / OverflowError, enum helpers, buffers, and the tensor check. The generated
// bindings (generated/python/*_binding.cpp) call only these and the C++ library; nothing here names a schema
// type.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <concepts>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "fib_quant_kv/composite.hpp"
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

/// A C++ exception thrown out of a plain CPython method, as the Python error pybind11 would have set.
inline void set_python_error() noexcept {
    try {
        throw;
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (py::builtin_exception& e) {
        e.set_error();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
    }
}

/// Adds `name` to `cls` as a plain CPython method without arguments (METH_NOARGS, called through vectorcall)
/// that raises DescriptorError for Check(self)'s error and returns None: what cls.def(name, [](const T& s) {
/// ok_or_raise(Check(s)); }) does, without pybind11's dispatcher (its argument loader, overload loop and
/// call record cost several times the check itself). `doc` is the docstring after the signature line.
template <class T, Status (*Check)(const T&)>
void def_status_method(py::class_<T>& cls, const char* name, const char* doc) {
    static PyTypeObject* const type = reinterpret_cast<PyTypeObject*>(cls.ptr());
    static const std::string full_doc = std::string(name) + "($self, /)\n--\n\n" + doc;
    static PyMethodDef def{name,
                           [](PyObject* self, PyObject*) -> PyObject* {
                               try {
                                   const T* value = nullptr;
                                   if (Py_TYPE(self) == type) [[likely]] {  // the bound class itself: one holder
                                       auto vh = reinterpret_cast<py::detail::instance*>(self)->get_value_and_holder();
                                       if (vh.holder_constructed()) value = vh.template value_ptr<T>();
                                   }
                                   if (value == nullptr) value = &py::cast<const T&>(py::handle(self));
                                   ok_or_raise(Check(*value));
                                   Py_RETURN_NONE;
                               } catch (...) {
                                   set_python_error();
                                   return nullptr;
                               }
                           },
                           METH_NOARGS, full_doc.c_str()};
    PyObject* descr = PyDescr_NewMethod(type, &def);
    if (descr == nullptr) throw py::error_already_set();
    cls.attr(name) = py::reinterpret_steal<py::object>(descr);
}

/// Adds `name` to `cls` as a plain CPython static method of one argument, `arg` (positional or by keyword;
/// METH_FASTCALL | METH_KEYWORDS), that returns Make(argument) as a Python object: what cls.def_static(name,
/// Make, py::arg(arg)) does, without pybind11's dispatcher, whose cost is several times a JSON parse. A call with
/// any other arguments is a TypeError naming the one it takes. `doc` is the docstring after the signature line.
template <class T, T (*Make)(py::handle)>
void def_static_unary(py::class_<T>& cls, const char* name, const char* arg, const char* doc) {
    static const char* const arg_name = arg;
    static const char* const method = name;
    static const std::string full_doc = std::string(name) + "(" + arg + ")\n--\n\n" + doc;
    static PyMethodDef def{
        name,
        reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(
            +[](PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) -> PyObject* {
                try {
                    const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
                    PyObject* value = nullptr;
                    if (nargs == 1 && nkw == 0) {
                        value = args[0];
                    } else if (nargs == 0 && nkw == 1 &&
                               PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), arg_name) == 0) {
                        value = args[0];
                    } else {
                        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument, %s", method, arg_name);
                        return nullptr;
                    }
                    return py::cast(Make(py::handle(value)), py::return_value_policy::move).release().ptr();
                } catch (...) {
                    set_python_error();
                    return nullptr;
                }
            })),
        METH_FASTCALL | METH_KEYWORDS, full_doc.c_str()};
    py::object fn = py::reinterpret_steal<py::object>(PyCFunction_NewEx(&def, nullptr, nullptr));
    if (!fn) throw py::error_already_set();
    py::object static_method = py::reinterpret_steal<py::object>(PyStaticMethod_New(fn.ptr()));
    if (!static_method) throw py::error_already_set();
    cls.attr(name) = static_method;
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

/// One member of a generated Python enum: its Python name, its stable code, its wire name (empty when the enum has
/// none, as ErrorKind) and its doc.
struct EnumMember {
    std::string_view name;
    std::uint64_t code;
    std::string_view wire_name;
    std::string_view doc;
};

/// Creates the enum.IntEnum subclass `name` of module `m` (its __module__, so that members pickle by reference)
/// with these members, in this order, and what every generated enum has on top of IntEnum: .code (the stable code
/// as a plain int), from_code(); and when the members have wire names, .wire_name, from_wire_name() and lookup by
/// wire name, `KvDType("bf16") is KvDType.bf16`. Adds it to `m` and returns it.
[[nodiscard]] py::object make_enum_class(py::module_& m, std::string_view name, std::string_view doc,
                                         std::span<const EnumMember> members);

/// The Python class of the C++ enum E, once bind_enum<E>() has made it: a strong reference held for the life of
/// the process (never released, so it cannot be released after the interpreter has gone).
template <class E>
struct BoundEnum {
    static inline PyObject* cls = nullptr;
    static inline PyObject* by_code = nullptr;  ///< its _value2member_map_: code -> member
};

/// The enums the extension converts to and from Python enum members: the schemas' (they have EnumTraits) and the
/// library's ErrorKind.
template <class E>
concept PythonEnum = std::is_enum_v<E> && (std::same_as<E, ErrorKind> || requires { EnumTraits<E>::values; });

/// Makes E's Python class (make_enum_class) and registers it for conversions, so that py::cast(E) gives the member
/// and an argument of type E takes one.
template <PythonEnum E>
py::object bind_enum(py::module_& m, std::string_view name, std::string_view doc,
                     std::span<const EnumMember> members) {
    py::object cls = make_enum_class(m, name, doc, members);
    BoundEnum<E>::cls = cls.inc_ref().ptr();
    BoundEnum<E>::by_code = py::object(cls.attr("_value2member_map_")).release().ptr();
    return cls;
}

/// The member of enum class `cls` (its code -> member map `by_code`) with this code; ValueError for a code the
/// class does not have, TypeError when the class has not been made.
[[nodiscard]] py::object enum_member(PyObject* cls, PyObject* by_code, std::uint64_t code);

/// The Python member for v.
template <PythonEnum E>
[[nodiscard]] py::object enum_to_python(E v) {
    return enum_member(BoundEnum<E>::cls, BoundEnum<E>::by_code,
                       static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(v)));
}

/// E's value for a member of E's Python class; nullopt for anything else (another enum's member included).
template <PythonEnum E>
[[nodiscard]] std::optional<E> enum_from_python(py::handle value) {
    if (BoundEnum<E>::cls == nullptr) return std::nullopt;
    const int is = PyObject_IsInstance(value.ptr(), BoundEnum<E>::cls);
    if (is < 0) throw py::error_already_set();
    if (is == 0) return std::nullopt;
    const unsigned long long code = PyLong_AsUnsignedLongLong(value.ptr());  // an IntEnum member is an int
    if (code == static_cast<unsigned long long>(-1) && PyErr_Occurred()) throw py::error_already_set();
    return static_cast<E>(static_cast<std::underlying_type_t<E>>(code));
}

/// An enum value from the enum's Python member, or from its wire name as a str.
template <class E>
[[nodiscard]] E to_enum(py::handle value, std::string_view what) {
    if (const std::optional<E> v = enum_from_python<E>(value)) return *v;
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

/// The members of a schema enum's Python class: names and docs from the generated bindings, codes and wire names
/// from the enum's own tables (EnumTraits).
template <class E>
[[nodiscard]] std::vector<EnumMember> schema_enum_members(std::span<const std::string_view> names,
                                                          std::span<const std::string_view> docs) {
    using T = EnumTraits<E>;
    std::vector<EnumMember> out;
    for (std::size_t i = 0; i < T::values.size(); ++i) {
        out.push_back({names[i], static_cast<std::uint64_t>(static_cast<std::underlying_type_t<E>>(T::values[i])),
                       T::wire_names[i], docs[i]});
    }
    return out;
}

/// Adds a read-only property to a class made in Python (an enum class): `fget` is any callable pybind11 can wrap.
template <class Fget>
void add_property(py::handle cls, const char* name, Fget&& fget, const char* doc) {
    py::object property = py::module_::import("builtins").attr("property");
    cls.attr(name) = property(py::cpp_function(std::forward<Fget>(fget)), py::none(), py::none(), doc);
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
    // An empty buffer has nothing to align (and its data pointer may be anything; memcpy of it from or to the
    // null data() of an empty vector is undefined, which UBSan in scripts/sanitize.sh caught).
    if (bytes.empty() || reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 == 0) return read(bytes);
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

/// pybind11 gives an instance made by `cls.__new__(cls)`, never initialised, uninitialised storage the first time
/// a method reads it (type_caster_generic::load_value, "lazy allocation"): garbage, and for a struct holding
/// vectors a crash. After this, that storage is a default-constructed S instead. Only on that misuse, pybind11
/// frees it without running the destructor: what a default S holds on the heap is leaked, never freed twice.
template <class S>
void default_construct_uninitialised() {
    py::detail::type_info* info = py::detail::get_type_info(typeid(S));
    if (info == nullptr) throw py::type_error("fib_quant_kv: a class guarded before it was bound");
    info->operator_new = [](std::size_t) -> void* { return new S(); };
}

/// A field of a composite (nested) struct from Python, whatever its type: an unsigned integer (to_uint), a str,
/// an enum member or wire name (to_enum), None or a value for an optional field, a list or tuple of at most
/// `max_items` values for an array (ValueError past it; items named "what[i]"), an instance of a bound struct's
/// class for a nested struct (TypeError otherwise). `what` names the field in messages ("KvLayerGroup.window").
template <class T>
[[nodiscard]] T field_from_python(py::handle value, std::string_view what, std::uint32_t max_items = 0) {
    if constexpr (is_optional<T>::value) {
        if (value.is_none()) return std::nullopt;
        return field_from_python<typename T::value_type>(value, what);
    } else if constexpr (is_vector<T>::value) {
        if (!PyList_Check(value.ptr()) && !PyTuple_Check(value.ptr())) type_error(what, "a list", value);
        const py::sequence items = py::reinterpret_borrow<py::sequence>(value);
        const std::size_t n = items.size();
        if (n > max_items) {
            throw py::value_error(std::string(what) + ": " + std::to_string(n) + " items, at most " +
                                  std::to_string(max_items));
        }
        T out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::string item = std::string(what) + "[" + std::to_string(i) + "]";
            out.push_back(field_from_python<typename T::value_type>(items[i], item));
        }
        return out;
    } else if constexpr (std::same_as<T, std::string>) {
        return to_string_field(value, what);
    } else if constexpr (std::is_enum_v<T>) {
        return to_enum<T>(value, what);
    } else if constexpr (std::unsigned_integral<T>) {
        return to_uint<T>(value, what);
    } else {
        static_assert(Composite<T>, "a composite struct's field is a scalar, an enum, optional, an array or a struct");
        if (!py::isinstance<T>(value)) type_error(what, std::string(CompositeTraits<T>::name), value);
        return value.cast<T>();
    }
}

/// A field of a composite struct as Python sees it: int, str, the enum member, None for an absent optional
/// field, a list for an array, a copy as its bound class for a nested struct.
template <class T>
[[nodiscard]] py::object field_to_python(const T& v) {
    if constexpr (is_optional<T>::value) {
        return v ? field_to_python(*v) : py::none();
    } else if constexpr (is_vector<T>::value) {
        py::list out(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) out[i] = field_to_python(v[i]);
        return out;
    } else if constexpr (std::same_as<T, std::string>) {
        return py::str(v);
    } else if constexpr (std::is_enum_v<T>) {
        return enum_to_python(v);
    } else if constexpr (std::unsigned_integral<T>) {
        return to_int(v);
    } else {
        return py::cast(v);
    }
}

}  // namespace fib_quant_kv::python

namespace pybind11::detail {

/// E as its Python enum member both ways (fib_quant_kv::python::bind_enum): a field, a return value or an argument
/// of a schema enum type, or ErrorKind, is the member of the generated enum.IntEnum class.
template <::fib_quant_kv::python::PythonEnum E>
class type_caster<E> {
  public:
    PYBIND11_TYPE_CASTER(E, const_name("enum.IntEnum"));

    bool load(handle src, bool /*convert*/) {
        const std::optional<E> v = ::fib_quant_kv::python::enum_from_python<E>(src);
        if (!v) return false;
        value = *v;
        return true;
    }

    static handle cast(E v, return_value_policy /*policy*/, handle /*parent*/) {
        return ::fib_quant_kv::python::enum_to_python(v).release();
    }
};

}  // namespace pybind11::detail
