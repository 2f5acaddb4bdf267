// The handwritten half of the v2 cache spec's Python classes: what src/include/fib_quant_kv/cache_spec.hpp adds
// to the generated C++ API, in Python. The generated binding (generated/python/kv_cache_spec_v2_binding.cpp) calls
// bind_kv_cache_spec_v2_handwritten() once KvCacheSpecV2 is bound.
//
//   KvCacheSpecV2.compat(reader)        fib_quant_kv::compat, as `kvshape compat`
//   KvCacheSpecV2.upgrade(v1, ...)      fib_quant_kv::upgrade, as `kvshape upgrade`
//   KvCacheSpecV2.stored_tensors(layer) fib_quant_kv::stored_tensors: the tensors a layer is stored as
//   KvCacheSpecV2.check_tensor(t, layer=, role=)  one of those tensors against a numpy array or torch tensor
//
// Shapes come from stored_tensors(); the shape, stride and dtype checks are support.hpp's check_tensor, the one
// the v1 descriptor's check_tensor uses.
#include <pybind11/pybind11.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fib_quant_kv/cache_spec.hpp"
#include "fib_quant_kv/kv_cache_spec_v2.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1.hpp"
#include "python/support.hpp"

namespace fib_quant_kv::python {

namespace {

/// How the frameworks name the one-byte element types of the scaled schemes: the elements of such a cache are
/// these, one per channel. A scheme not listed (int4, the ggml block types, one added later) is stored as bytes.
struct ByteElement {
    std::string_view scheme;  ///< KvQuantScheme wire name
    std::string_view torch;
    std::string_view numpy;   ///< empty: numpy has none (raw bits as uint8, or ml_dtypes' type of torch's name)
};
constexpr std::array<ByteElement, 3> kByteElements{ {
    {"fp8_e4m3", "float8_e4m3fn", ""},
    {"fp8_e5m2", "float8_e5m2", ""},
    {"int8", "int8", "int8"},
} };

constexpr std::string_view kQuantDtype = "quant.dtype";
constexpr std::string_view kQuantScheme = "quant.scheme";

/// The stored tensor `check_tensor` checks: layer `layer`'s, of `role` (None: the layer's only tensor).
StoredTensor pick_tensor(const KvCacheSpecV2& spec, py::handle layer_arg, py::handle role_arg) {
    const std::uint32_t layer = to_uint<std::uint32_t>(layer_arg, "layer");
    if (layer >= spec.layers) {
        throw py::index_error("layer " + std::to_string(layer) + ": the spec has " + std::to_string(spec.layers) +
                              " layers");
    }
    std::vector<StoredTensor> tensors = stored_tensors(spec, layer);
    const std::string where = "layer " + std::to_string(layer);
    if (tensors.empty()) {
        throw py::value_error(where + " is a linear (recurrent) layer: it holds a fixed state, not a KV tensor");
    }
    if (role_arg.is_none()) {
        if (tensors.size() == 1) return std::move(tensors.front());
        throw py::value_error(where + " stores K and V as separate tensors: say which with role=KvRole.key or "
                                      "role=KvRole.value");
    }
    const KvRole role = to_enum<KvRole>(role_arg, "role");
    for (StoredTensor& t : tensors) {
        if (t.role == role) return std::move(t);
    }
    if (!tensors.front().role) {
        throw py::value_error(where + " stores K and V stacked in one tensor (packing stacked): leave role out");
    }
    throw py::value_error(where + " is an MLA layer: it stores one latent (role key) and no separate V");
}

void check_spec_tensor(const KvCacheSpecV2& spec, py::handle tensor, py::handle layer, py::handle role) {
    ok_or_raise(validate(spec));
    StoredTensor t = pick_tensor(spec, layer, role);

    // The element type: the dtype unquantized, a scaled scheme's one-byte type, else the bytes of whole blocks
    // (the innermost extent becomes the bytes of one row, stored_bytes()).
    std::array<std::pair<std::string_view, std::string_view>, 2> names{};
    std::string_view field = kQuantDtype;
    std::string_view wire = to_string(spec.quant.dtype);
    std::uint32_t element_bytes = byte_size(spec.quant.dtype);
    if (spec.quant.scheme == KvQuantScheme::none) {
        names = {{{"torch", torch_dtype(spec.quant.dtype)}, {"numpy", numpy_dtype(spec.quant.dtype)}}};
    } else {
        field = kQuantScheme;
        wire = to_string(spec.quant.scheme);
        element_bytes = 1;
        const auto* byte = std::find_if(kByteElements.begin(), kByteElements.end(),
                                        [&](const ByteElement& b) { return b.scheme == wire; });
        if (byte != kByteElements.end() && block_elems(spec.quant.scheme) == 1 && block_bytes(spec.quant.scheme) == 1) {
            names = {{{"torch", byte->torch}, {"numpy", byte->numpy}}};
        } else {
            names = {{{"torch", "uint8"}, {"numpy", "uint8"}}};
            const std::array<std::uint64_t, 1> row{t.shape.back()};
            const std::optional<std::uint64_t> bytes = stored_bytes(spec.quant, row);
            if (!bytes) {
                throw py::value_error("a row of " + std::to_string(row[0]) + " elements is not a whole number of " +
                                      std::string(wire) + " blocks");
            }
            t.shape.back() = *bytes;
        }
    }

    // A torch without the type (Debian's 1.13 has no float8): the tensor can only be the raw bits, as vLLM stores
    // an fp8 cache in torch.uint8; support.hpp's check accepts those when the framework's name is empty.
    const std::string module = py::str(py::type::handle_of(tensor).attr("__module__"));
    if (module.substr(0, module.find('.')) == "torch" && !names[0].second.empty() &&
        !py::hasattr(py::module_::import("torch"), std::string(names[0].second).c_str())) {
        names[0].second = {};
    }

    // Paged: the block extent is a minimum (an engine's pool may hold more pages); a tensor with more is read at
    // its own extent, one with fewer is compared with the minimum and so refused.
    if (t.block_is_minimum && py::hasattr(tensor, "shape")) {
        const auto at = static_cast<std::size_t>(std::find(t.dims.begin(), t.dims.end(), KvDim::block) - t.dims.begin());
        const py::tuple shape = py::reinterpret_steal<py::tuple>(PySequence_Tuple(py::object(tensor.attr("shape")).ptr()));
        if (!shape) throw py::error_already_set();
        if (at < t.dims.size() && shape.size() == t.shape.size()) {
            const py::object extent = py::reinterpret_steal<py::object>(PyNumber_Index(shape[at].ptr()));
            if (!extent) throw py::error_already_set();
            const unsigned long long have = PyLong_AsUnsignedLongLong(extent.ptr());
            if (PyErr_Occurred()) {
                PyErr_Clear();
            } else if (have > t.shape[at]) {
                t.shape[at] = have;
            }
        }
    }

    std::vector<std::string_view> dim_fields;
    for (const KvDim d : t.dims) dim_fields.push_back(to_string(d));
    const TensorSpec expected{t.shape, dim_fields, field, wire, names, element_bytes};
    check_tensor(tensor, expected);
}

py::tuple stored_tensor_to_python(const StoredTensor& t) {
    py::tuple dims(t.dims.size());
    py::tuple shape(t.shape.size());
    for (std::size_t i = 0; i < t.dims.size(); ++i) {
        dims[i] = enum_to_python(t.dims[i]);
        shape[i] = to_int(t.shape[i]);
    }
    return py::make_tuple(t.role ? enum_to_python(*t.role) : py::object(py::none()), dims, shape);
}

}  // namespace

void bind_kv_cache_spec_v2_handwritten(py::module_& m) {
    auto cls = py::reinterpret_borrow<py::class_<KvCacheSpecV2>>(m.attr("KvCacheSpecV2"));
    cls.def(
        "compat",
        [](const KvCacheSpecV2& writer, const KvCacheSpecV2& reader) {
            ok_or_raise(validate(writer));
            ok_or_raise(validate(reader));
            py::list out;
            for (const Difference& d : compat(writer, reader)) out.append(py::make_tuple(d.path, d.a, d.b));
            return out;
        },
        py::arg("reader"),
        "Why a cache written under this spec cannot be read under `reader`: a list of (path, this spec's value, "
        "reader's value), values as JSON text ('absent' for an absent optional field), the lines of `kvshape "
        "compat` (every difference of layout, element type or layer groups, and a reader holding fewer sequences "
        "or tokens). [] when it can be read. Validates both first (DescriptorError).");
    cls.def_static(
        "upgrade",
        [](const KvTensorShapeV1& v1, py::handle value_key_rope) {
            return value_or_raise(upgrade(v1, to_enum<KvRopeState>(value_key_rope, "value_key_rope")));
        },
        py::arg("v1"), py::kw_only(), py::arg("value_key_rope") = py::str("post_rope"),
        "The v2 spec of the cache a valid v1 descriptor describes, as `kvshape upgrade`: one full-attention group "
        "of every layer, K and V separate and contiguous in v1's order [batch, layer, head, token, dim], "
        "unquantized. A value descriptor says nothing of its keys' RoPE: value_key_rope stands in (default "
        "post_rope). DescriptorError when the v1 descriptor is invalid.");
    cls.def(
        "stored_tensors",
        [](const KvCacheSpecV2& spec, py::handle layer) {
            py::list out;
            for (const StoredTensor& t : stored_tensors(spec, to_uint<std::uint32_t>(layer, "layer"))) {
                out.append(stored_tensor_to_python(t));
            }
            return out;
        },
        py::arg("layer"),
        "The tensors layer `layer` is stored as, each (role, dims, shape): role KvRole.key, KvRole.value or None "
        "(K and V stacked); dims the KvDim of each dimension, outermost first; shape the extent of each, in "
        "elements (a paged cache's block extent is the least it needs). K then V, K alone (MLA), one tensor "
        "(stacked), [] for a linear layer or a layer no group holds. Does not validate.");
    cls.def(
        "check_tensor", &check_spec_tensor, py::arg("tensor"), py::kw_only(), py::arg("layer"),
        py::arg("role") = py::none(),
        "Validates the spec, then checks a numpy array or torch tensor against the tensor layer `layer` is stored "
        "as (stored_tensors()): its shape, its dtype, and row-major strides (a transposed view of the right shape "
        "is refused). DescriptorError (tensor_mismatch; rule tensor.shape, tensor.strides or tensor.dtype) names a "
        "mismatch. role: KvRole.key or KvRole.value when K and V are separate; left out when stacked. Paged "
        "(block_size > 0, vLLM's per-layer [2, blocks, block_size, heads, dim] say) a tensor may hold more blocks "
        "than the spec needs, not fewer. Unquantized elements are the dtype's; fp8 and int8 ones one byte of "
        "that type (numpy: raw uint8 bits, or ml_dtypes' float8 type); int4 and ggml blocks are uint8 bytes, the "
        "innermost extent the bytes of one row. IndexError for a layer past the spec's, ValueError for a role "
        "the layer does not store.");
}

}  // namespace fib_quant_kv::python
