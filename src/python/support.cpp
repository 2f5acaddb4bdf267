// The schema-agnostic half of the Python module: see support.hpp.
#include "python/support.hpp"

#include <pybind11/stl.h>

#include <string>

#include "internal/check.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv::python {

namespace {

PyObject* g_descriptor_error = nullptr;  // the class; owned by the module (a module attribute)
DetailsOf g_details_of = nullptr;

std::string type_name(py::handle h) { return std::string(Py_TYPE(h.ptr())->tp_name); }

std::string repr_of(py::handle h) {
    std::string r = py::repr(h).cast<std::string>();
    if (r.size() > 80) r = r.substr(0, 77) + "...";
    return r;
}

/// A member of an enumeration (the generated enums are enum.IntEnum subclasses; any enum.Enum class has a
/// `__members__` mapping). An IntEnum member is an int, but never a count.
bool is_enum_member(py::handle value) { return py::hasattr(py::type::handle_of(value), "__members__"); }

}  // namespace

py::object enum_member(PyObject* cls, PyObject* by_code, std::uint64_t code) {
    if (cls == nullptr) throw py::type_error("fib_quant_kv: an enum converted before its Python class was made");
    const py::int_ key = to_int(code);
    PyObject* member = PyDict_GetItemWithError(by_code, key.ptr());  // borrowed
    if (member == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        throw py::value_error(std::to_string(code) + " is not a code of " +
                              py::str(py::handle(cls).attr("__qualname__")).cast<std::string>());
    }
    return py::reinterpret_borrow<py::object>(member);
}

py::object make_enum_class(py::module_& m, std::string_view name, std::string_view doc,
                           std::span<const EnumMember> members) {
    const py::str py_name(name.data(), name.size());
    py::list pairs;
    py::dict wire_of_code;  // code -> wire name
    py::dict code_of_wire;  // wire name -> code
    for (const EnumMember& e : members) {
        pairs.append(py::make_tuple(py::str(e.name.data(), e.name.size()), to_int(e.code)));
        if (!e.wire_name.empty()) {
            const py::str wire(e.wire_name.data(), e.wire_name.size());
            wire_of_code[to_int(e.code)] = wire;
            code_of_wire[wire] = to_int(e.code);
        }
    }
    // The functional API; __module__ is the extension's, so that pickle finds the class where it was made.
    py::object cls = py::module_::import("enum").attr("IntEnum")(py_name, pairs, py::arg("module") = m.attr("__name__"),
                                                                 py::arg("qualname") = py_name);
    cls.attr("__doc__") = py::str(doc.data(), doc.size());
    for (const EnumMember& e : members) {
        cls.attr(py::str(e.name.data(), e.name.size())).attr("__doc__") = py::str(e.doc.data(), e.doc.size());
    }

    const py::object builtins = py::module_::import("builtins");
    const py::object classmethod = builtins.attr("classmethod");
    add_property(cls, "code", [](py::handle self) { return self.attr("_value_"); }, "The stable numeric code.");
    cls.attr("from_code") = classmethod(py::cpp_function(
        [](py::handle c, py::handle code) {
            const std::uint64_t v = to_unsigned(code, "code", 0xFFFFFFFFu);
            const py::object by_code = c.attr("_value2member_map_");
            return enum_member(c.ptr(), by_code.ptr(), v);
        },
        py::arg("cls"), py::arg("code"), "The member with this stable code; ValueError when there is none."));

    if (len(code_of_wire) == members.size()) {
        add_property(
            cls, "wire_name", [wire_of_code](py::handle self) { return wire_of_code[self.attr("_value_")]; },
            "The JSON wire name.");
        // KvDType("bf16") is KvDType.bf16: Enum's lookup by value calls _missing_ when no member has the value.
        cls.attr("_missing_") = classmethod(py::cpp_function(
            [code_of_wire](py::handle c, py::handle value) -> py::object {
                if (!PyUnicode_Check(value.ptr())) return py::none();
                PyObject* code = PyDict_GetItemWithError(code_of_wire.ptr(), value.ptr());  // borrowed
                if (code == nullptr) {
                    if (PyErr_Occurred()) throw py::error_already_set();
                    return py::none();
                }
                return c.attr("_value2member_map_")[code];
            },
            py::arg("cls"), py::arg("value")));
        std::string names;
        for (const EnumMember& e : members) names.append(names.empty() ? "" : ", ").append(e.wire_name);
        cls.attr("from_wire_name") = classmethod(py::cpp_function(
            [code_of_wire, names, enum_name = std::string(name)](py::handle c, py::handle wire) -> py::object {
                if (!PyUnicode_Check(wire.ptr())) type_error("wire_name", "str", wire);
                PyObject* code = PyDict_GetItemWithError(code_of_wire.ptr(), wire.ptr());  // borrowed
                if (code == nullptr) {
                    if (PyErr_Occurred()) throw py::error_already_set();
                    throw py::value_error("wire_name: " + repr_of(wire) + " is not a " + enum_name + " (one of " +
                                          names + ")");
                }
                return c.attr("_value2member_map_")[code];
            },
            py::arg("cls"), py::arg("name"), "The member with this wire name; ValueError when there is none."));
    }
    m.add_object(std::string(name).c_str(), cls);
    return cls;
}

py::object make_error(const Error& e) {
    py::object inst = py::reinterpret_borrow<py::object>(g_descriptor_error)(e.describe());
    inst.attr("kind") = py::cast(e.kind);
    inst.attr("rule") = py::str(e.rule.data(), e.rule.size());
    py::tuple fields(e.fields.size());
    for (std::size_t i = 0; i < e.fields.size(); ++i) fields[i] = py::str(e.fields[i].data(), e.fields[i].size());
    inst.attr("fields") = std::move(fields);
    inst.attr("message") = py::str(e.message);
    inst.attr("details") = g_details_of(e);
    inst.attr("offset") = e.offset == Error::no_offset ? py::object(py::none()) : py::object(py::int_(e.offset));
    inst.attr("path") = e.path.empty() ? py::object(py::none()) : py::object(py::str(e.path));
    return inst;
}

void raise(const Error& e) {
    py::object inst = make_error(e);
    PyErr_SetObject(g_descriptor_error, inst.ptr());
    throw py::error_already_set();
}

void type_error(std::string_view what, std::string_view expected, py::handle got) {
    throw py::type_error(std::string(what) + ": expected " + std::string(expected) + ", got " + type_name(got));
}

void overflow_error(std::string_view what, py::handle got, std::uint64_t max) {
    PyErr_SetString(PyExc_OverflowError, (std::string(what) + ": " + repr_of(got) + " is outside 0.." +
                                          std::to_string(max)).c_str());
    throw py::error_already_set();
}

std::uint64_t to_unsigned(py::handle value, std::string_view what, std::uint64_t max) {
    // bool is an int to Python, but True as a head count is a mistake, not a 1; so is an enum member
    // (KvRole.value, an IntEnum) whose code happens to be a number.
    if (!PyLong_CheckExact(value.ptr())) {
        if (PyBool_Check(value.ptr()) || !PyIndex_Check(value.ptr()) || is_enum_member(value)) {
            type_error(what, "int", value);
        }
        // Other objects that say they are integers (numpy.uint32, an int subclass) through __index__ are accepted.
        py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
        if (!index) throw py::error_already_set();
        return to_unsigned(index, what, max);
    }
    int overflow = 0;
    const long long small = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow == 0) {
        if (small == -1 && PyErr_Occurred()) throw py::error_already_set();
        if (small < 0 || static_cast<unsigned long long>(small) > max) overflow_error(what, value, max);
        return static_cast<std::uint64_t>(small);
    }
    if (overflow < 0) overflow_error(what, value, max);
    const unsigned long long big = PyLong_AsUnsignedLongLong(value.ptr());
    if (PyErr_Occurred()) {
        PyErr_Clear();
        overflow_error(what, value, max);
    }
    if (big > max) overflow_error(what, value, max);
    return big;
}

std::string to_string_field(py::handle value, std::string_view what) {
    if (!PyUnicode_Check(value.ptr())) type_error(what, "str", value);
    return std::string(text_bytes(value, what));
}

std::string_view text_bytes(py::handle value, std::string_view what) {
    if (PyUnicode_Check(value.ptr())) {
        Py_ssize_t size = 0;
        const char* data = PyUnicode_AsUTF8AndSize(value.ptr(), &size);
        if (data == nullptr) {
            // A lone surrogate cannot be UTF-8: the same verdict as invalid UTF-8 in bytes, but said in Python.
            PyErr_Clear();
            throw py::value_error(std::string(what) + ": the str holds a lone surrogate, which is not UTF-8");
        }
        return {data, static_cast<std::size_t>(size)};
    }
    if (PyBytes_Check(value.ptr())) {
        return {PyBytes_AS_STRING(value.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(value.ptr()))};
    }
    if (PyByteArray_Check(value.ptr())) {
        return {PyByteArray_AS_STRING(value.ptr()), static_cast<std::size_t>(PyByteArray_GET_SIZE(value.ptr()))};
    }
    type_error(what, "str, bytes or bytearray", value);
}

std::string_view json_bytes(py::handle value, std::string_view what, py::object& keep) {
    if (PyUnicode_Check(value.ptr())) {
        Py_ssize_t size = 0;
        if (const char* data = PyUnicode_AsUTF8AndSize(value.ptr(), &size)) return {data, static_cast<std::size_t>(size)};
        PyErr_Clear();
        keep = py::reinterpret_steal<py::object>(PyUnicode_AsEncodedString(value.ptr(), "utf-8", "surrogatepass"));
        if (!keep) throw py::error_already_set();
        return {PyBytes_AS_STRING(keep.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(keep.ptr()))};
    }
    return text_bytes(value, what);
}

BufferView::BufferView(py::handle obj, std::string_view what) {
    if (PyUnicode_Check(obj.ptr()) || !PyObject_CheckBuffer(obj.ptr())) {
        type_error(what, "a bytes-like object (bytes, bytearray, memoryview, mmap, numpy uint8 array)", obj);
    }
    if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_C_CONTIGUOUS) != 0) {
        PyErr_Clear();
        throw py::type_error(std::string(what) + ": the buffer is not C-contiguous");
    }
}

BufferView::~BufferView() { PyBuffer_Release(&view_); }

namespace {

std::string shape_text(std::span<const std::uint64_t> dims) {
    std::string s = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) s.append(i ? ", " : "").append(std::to_string(dims[i]));
    return s.append(dims.size() == 1 ? ",)" : ")");
}

// Error's fields and rule are views of static storage; these are the check's own.
constexpr std::string_view kDtypeRule = "tensor.dtype";
constexpr std::string_view kShapeRule = "tensor.shape";
constexpr std::string_view kStridesRule = "tensor.strides";

/// "(1, 16)"
std::string tuple_text(const std::vector<long long>& v) {
    std::string out = "(";
    for (std::size_t i = 0; i < v.size(); ++i) out.append(i ? ", " : "").append(std::to_string(v[i]));
    return out.append(v.size() == 1 ? ",)" : ")");
}

[[noreturn]] void mismatch(std::string_view rule, std::span<const std::string_view> fields, std::string message) {
    raise(fib_quant_kv::detail::make_error(ErrorKind::tensor_mismatch, rule, std::move(message), Error::no_offset,
                                           fields));
}

}  // namespace

void check_tensor(py::handle tensor, const TensorSpec& spec) {
    // Which framework: the top-level module of the object's type (numpy.ndarray -> numpy, torch.Tensor -> torch).
    const std::string module = py::str(py::type::handle_of(tensor).attr("__module__"));
    const std::string top = module.substr(0, module.find('.'));
    const std::pair<std::string_view, std::string_view>* framework = nullptr;
    for (const auto& f : spec.dtype_names) {
        if (f.first == top) framework = &f;
    }
    if (framework == nullptr || !py::hasattr(tensor, "shape") || !py::hasattr(tensor, "dtype")) {
        std::string names;
        for (const auto& f : spec.dtype_names) names.append(names.empty() ? "" : " or ").append(f.first);
        type_error("check_tensor", "a tensor of " + names, tensor);
    }

    // Shape: the tensor's dimensions, as ints, against the canonical layout.
    // A plain tuple, so that the message shows (1, 2) whatever the framework's type (torch.Size([1, 2])).
    const py::tuple shape = py::reinterpret_steal<py::tuple>(PySequence_Tuple(tensor.attr("shape").ptr()));
    if (!shape) throw py::error_already_set();
    std::vector<std::uint64_t> got;
    bool fits = true;
    for (const py::handle d : shape) {
        const py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(d.ptr()));
        if (!i) throw py::error_already_set();
        const unsigned long long v = PyLong_AsUnsignedLongLong(i.ptr());
        if (PyErr_Occurred()) {
            PyErr_Clear();
            fits = false;
        }
        got.push_back(v);
    }
    if (!fits || !std::equal(got.begin(), got.end(), spec.dims.begin(), spec.dims.end())) {
        const std::string shown = py::repr(shape);
        mismatch(kShapeRule, spec.dim_fields,
                 "tensor shape " + shown + " does not match the descriptor's " + shape_text(spec.dims));
    }

    // Strides: the elements must lie in the canonical row-major order, not only have its shape. A transposed or
    // strided view of the right shape holds its elements elsewhere. A dimension of size 1 may have any stride;
    // a tensor with no elements has no order to check.
    if (std::find(got.begin(), got.end(), 0) == got.end()) {
        std::vector<long long> strides;
        if (top == "torch") {
            for (const py::handle st : tensor.attr("stride")()) strides.push_back(st.cast<long long>());
        } else if (py::hasattr(tensor, "strides") && py::hasattr(tensor, "itemsize")) {
            const long long item = tensor.attr("itemsize").cast<long long>();
            for (const py::handle st : tensor.attr("strides")) {
                const long long bytes = st.cast<long long>();
                strides.push_back(item != 0 && bytes % item == 0 ? bytes / item : -1);
            }
        }
        std::vector<long long> want(got.size(), 1);
        for (std::size_t k = got.size(); k-- > 1;) want[k - 1] = want[k] * static_cast<long long>(got[k]);
        bool ok = strides.size() == got.size();
        for (std::size_t k = 0; ok && k < got.size(); ++k) ok = got[k] == 1 || strides[k] == want[k];
        if (!ok) {
            mismatch(kStridesRule, spec.dim_fields,
                     "tensor strides " + tuple_text(strides) + " (in elements) are not the row-major strides " +
                         tuple_text(want) + " of the descriptor's layout " + shape_text(spec.dims) +
                         ": a transposed or strided view holds its elements in another order (make it contiguous "
                         "first)");
        }
    }

    // Dtype: by the framework's own name for it.
    const py::object dtype = tensor.attr("dtype");
    const std::span<const std::string_view> dtype_fields(&spec.dtype_field, 1);
    const std::string want(framework->second);
    std::string have;
    if (top == "torch") {
        have = py::str(dtype);  // "torch.bfloat16"
        if (have.rfind("torch.", 0) == 0) have.erase(0, 6);
    } else {
        have = py::str(dtype.attr("name"));  // numpy: "float16"
    }
    if (!want.empty() && have == want) return;
    if (want.empty()) {
        // The framework has no such dtype (numpy and bfloat16): accept what people store such tensors as, the
        // raw bit patterns in an unsigned integer type of the same width, or an extension type of the same name.
        std::string other_name;
        for (const auto& f : spec.dtype_names) {
            if (f.first != framework->first && !f.second.empty()) other_name = std::string(f.second);
        }
        const bool raw_bits = have == "uint" + std::to_string(8 * spec.element_bytes);
        if (raw_bits || (!other_name.empty() && have == other_name)) return;
        mismatch(kDtypeRule, dtype_fields,
                 "tensor dtype " + top + "." + have + " does not match the descriptor's " +
                     std::string(spec.dtype_wire) + ": " + top + " has no " + std::string(spec.dtype_wire) +
                     " dtype, so it must be " + (other_name.empty() ? "" : top + "." + other_name + " or ") +
                     "its raw bits as " + top + ".uint" + std::to_string(8 * spec.element_bytes));
    }
    mismatch(kDtypeRule, dtype_fields,
             "tensor dtype " + top + "." + have + " does not match the descriptor's " +
                 std::string(spec.dtype_wire) + " (" + top + "." + want + ")");
}

void bind_support(py::module_& m, DetailsOf details_of) {
    g_details_of = details_of;
    g_descriptor_error = PyErr_NewExceptionWithDoc(
        "fib_quant_kv.DescriptorError",
        "A descriptor failed to parse, broke a rule, or disagrees with a tensor (a ValueError).\n\n"
        "Attributes: kind (ErrorKind), rule (the rule id, e.g. 'mha.heads_equal' or 'json.missing_field'), "
        "fields (tuple of field names), message (the exact message), details (dict of the kind's numbers), "
        "offset (byte offset of a parse error in its input, or None), path (where in a nested descriptor, e.g. "
        "'groups[2].window', or None).",
        PyExc_ValueError, nullptr);
    if (g_descriptor_error == nullptr) throw py::error_already_set();
    m.add_object("DescriptorError", py::reinterpret_steal<py::object>(g_descriptor_error));
    Py_INCREF(g_descriptor_error);  // kept for raise(): the module holds one reference, this global another

    m.def(
        "_check_line",
        [](py::bytes line, py::handle number, py::handle block_dim) {
            std::string text = line;  // parsed in place: a copy of its own
            const std::uint64_t n = to_unsigned(number, "number", ~std::uint64_t{0});
            std::optional<std::uint32_t> bd;
            if (!block_dim.is_none()) bd = to_uint<std::uint32_t>(block_dim, "block_dim");
            std::string out;
            std::string scratch;
            const bool ok = detail::check_line(out, scratch, n, std::span<char>(text.data(), text.size()), bd);
            return py::make_tuple(py::bytes(out), ok);
        },
        py::arg("line"), py::arg("number"), py::arg("block_dim") = py::none(),
        "Internal: the verdict line `check` writes for one input line (without its newline), and whether the "
        "line is valid. The same code as kvshape check.");
    bind_formats(m);
}

}  // namespace fib_quant_kv::python
