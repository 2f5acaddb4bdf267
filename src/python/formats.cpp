// The Python module's handwritten glue for the library's format modules: checkpoints (safetensors, GGUF) and
// Hugging Face config sizing. Wrapped by fib_quant_kv/checkpoint.py and fib_quant_kv/hf.py, which are what
// users import; these `_`-prefixed functions return plain Python values.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/formats/checkpoint.hpp"
#include "fib_quant_kv/hf_config.hpp"
#include "fib_quant_kv/sizing/engines.hpp"
#include "python/support.hpp"

namespace fib_quant_kv::python {

namespace {

namespace ck = fib_quant_kv::checkpoint;

std::filesystem::path to_path(const py::handle& p, std::string_view what) {
    const py::object fspath = py::module_::import("os").attr("fspath");
    py::object s;
    try {
        s = fspath(p);
    } catch (const py::error_already_set&) {
        type_error(what, "a path (str or os.PathLike)", p);
    }
    if (!PyUnicode_Check(s.ptr())) type_error(what, "a str path", p);
    return {s.cast<std::string>()};
}

/// One layer spec as a dict: {"kind", "window", "kv_heads", "key_dim", "value_dim", "kv_lora_rank", "rope_dim",
/// "state_elements"}.
py::dict layer_dict(const sizing::LayerSpec& s) {
    return py::dict(py::arg("kind") = std::string(sizing::to_string(s.kind)), py::arg("window") = s.window,
                    py::arg("kv_heads") = s.kv_heads, py::arg("key_dim") = s.key_dim, py::arg("value_dim") = s.value_dim,
                    py::arg("kv_lora_rank") = s.kv_lora_rank, py::arg("rope_dim") = s.rope_dim,
                    py::arg("state_elements") = to_int(s.state_elements));
}

py::object metadata_value(const ck::MetadataValue& v) {
    using T = ck::ValueType;
    switch (v.type) {
        case T::string: return py::str(v.text);
        case T::boolean: return py::bool_(v.bits != 0);
        case T::int8:
        case T::int16:
        case T::int32:
        case T::int64: return py::int_(v.signed_value());
        case T::float32: return py::float_(v.float32_value());
        case T::float64: return py::float_(v.float64_value());
        case T::array:
            return py::dict(py::arg("array_of") = std::string(ck::to_string(v.element_type)), py::arg("count") = v.count);
        default: return to_int(v.bits);
    }
}

py::dict inspection(const ck::Inspection& in) {
    const ck::Header& h = in.header;
    py::list tensors;
    for (const ck::TensorInfo& t : h.tensors) {
        py::tuple shape(t.shape.size());
        for (std::size_t i = 0; i < t.shape.size(); ++i) shape[i] = to_int(t.shape[i]);
        tensors.append(py::dict(py::arg("name") = t.name, py::arg("dtype") = t.dtype,
                                py::arg("kv_dtype") = t.kv_dtype ? py::cast(*t.kv_dtype) : py::object(py::none()),
                                py::arg("shape") = shape, py::arg("begin") = to_int(t.begin),
                                py::arg("end") = to_int(t.end)));
    }
    py::dict metadata;
    for (const ck::MetadataEntry& e : h.metadata) metadata[py::str(e.key)] = metadata_value(e.value);
    py::list descriptors;
    for (const ck::AttachedDescriptor& d : in.descriptors) {
        descriptors.append(py::dict(
            py::arg("key") = d.key, py::arg("target") = d.target, py::arg("per_layer") = d.per_layer,
            py::arg("json") = d.json, py::arg("shape") = d.shape ? py::cast(*d.shape) : py::object(py::none()),
            py::arg("error") = d.error ? make_error(*d.error) : py::object(py::none()),
            py::arg("tensors") = d.tensors));
    }
    return py::dict(py::arg("format") = std::string(ck::to_string(h.format)), py::arg("version") = h.version,
                    py::arg("data_offset") = to_int(h.data_offset), py::arg("alignment") = to_int(h.alignment),
                    py::arg("file_size") = to_int(h.file_size), py::arg("tensors") = tensors,
                    py::arg("metadata") = metadata, py::arg("descriptors") = descriptors);
}

ck::WriteOptions write_options(const py::object& progress) {
    ck::WriteOptions o;
    if (!progress.is_none()) {
        if (!PyCallable_Check(progress.ptr())) type_error("progress", "a callable(done, total) or None", progress);
        o.progress = [progress](std::uint64_t done, std::uint64_t total) {
            py::gil_scoped_acquire gil;
            progress(to_int(done), to_int(total));
        };
    }
    return o;
}

}  // namespace

void bind_formats(py::module_& m) {
    m.def(
        "_checkpoint_inspect",
        [](const py::handle& path) { return inspection(value_or_raise(ck::inspect(to_path(path, "path")))); },
        py::arg("path"));
    m.def(
        "_checkpoint_verify",
        [](const py::handle& path) {
            py::list out;
            for (const Error& e : value_or_raise(ck::verify(to_path(path, "path")))) out.append(make_error(e));
            return out;
        },
        py::arg("path"));
    m.def(
        "_checkpoint_check",
        [](const py::handle& path, const KvTensorShapeV1& shape, const std::string& target) {
            const ck::Header header = value_or_raise(ck::read_header(to_path(path, "path")));
            py::list out;
            for (const Error& e : ck::check_descriptor(header, shape, target)) out.append(make_error(e));
            return out;
        },
        py::arg("path"), py::arg("shape"), py::arg("target"));
    m.def(
        "_checkpoint_attach",
        [](const py::handle& src, const py::handle& dst, const KvTensorShapeV1& shape, const std::string& target,
           const py::object& progress) {
            const ck::WriteOptions o = write_options(progress);
            const std::filesystem::path s = to_path(src, "src"), d = to_path(dst, "dst");
            Status st;
            {
                py::gil_scoped_release nogil;  // a copy of many GiB: let other threads run
                st = ck::attach(s, d, shape, target, o);
            }
            ok_or_raise(st);
        },
        py::arg("src"), py::arg("dst"), py::arg("shape"), py::arg("target"), py::arg("progress") = py::none());
    m.def(
        "_checkpoint_detach",
        [](const py::handle& src, const py::handle& dst, const std::string& target, const py::object& progress) {
            const ck::WriteOptions o = write_options(progress);
            const std::filesystem::path s = to_path(src, "src"), d = to_path(dst, "dst");
            Status st;
            {
                py::gil_scoped_release nogil;
                st = ck::detach(s, d, target, o);
            }
            ok_or_raise(st);
        },
        py::arg("src"), py::arg("dst"), py::arg("target"), py::arg("progress") = py::none());
    m.def(
        "_hf_size",
        [](const py::handle& config, const std::vector<std::uint32_t>& tokens, const py::handle& batch,
           const py::object& dtype, const py::object& rope) {
            py::object keep;
            const HfConfig cfg = value_or_raise(read_hf_config(json_bytes(config, "config", keep)));
            HfSizeOptions o;
            o.batch = to_uint<std::uint32_t>(batch, "batch");
            if (!dtype.is_none()) o.dtype = to_enum<KvDType>(dtype, "dtype");
            if (!rope.is_none()) o.key_rope = to_enum<KvRopeState>(rope, "rope");
            py::list rows;
            for (const KvCacheSize& r : value_or_raise(size_kv_cache(cfg, tokens, o))) {
                rows.append(py::dict(
                    py::arg("model_type") = r.model_type ? py::object(py::str(*r.model_type)) : py::object(py::none()),
                    py::arg("key") = r.key, py::arg("value") = r.value,
                    py::arg("bytes_per_token") = to_int(r.bytes_per_token),
                    py::arg("total_bytes") = to_int(r.total_bytes), py::arg("notes") = r.notes,
                    py::arg("json") = to_json(r)));
            }
            return rows;
        },
        py::arg("config"), py::arg("tokens"), py::arg("batch") = 1, py::arg("dtype") = py::none(),
        py::arg("rope") = py::none());
    m.def(
        "_hf_layers",
        [](const py::handle& config) {
            py::object keep;
            const HfConfig cfg = value_or_raise(read_hf_config(json_bytes(config, "config", keep)));
            py::list layers;
            for (const sizing::LayerSpec& s : cfg.cache.layers) layers.append(layer_dict(s));
            return py::dict(py::arg("model_type") = cfg.model_type ? py::object(py::str(*cfg.model_type))
                                                                   : py::object(py::none()),
                            py::arg("torch_dtype") = cfg.torch_dtype ? py::object(py::str(*cfg.torch_dtype))
                                                                     : py::object(py::none()),
                            py::arg("layers") = layers, py::arg("notes") = cfg.cache.notes);
        },
        py::arg("config"));
    m.def(
        "_hf_engine_size",
        [](const py::handle& config, const std::vector<std::uint32_t>& tokens, const std::string& engine,
           const py::handle& batch, const std::string& kv_dtype, const py::handle& block_size,
           const py::handle& max_num_batched_tokens, const py::handle& ubatch, const py::object& memory) {
            py::object keep;
            const HfConfig cfg = value_or_raise(read_hf_config(json_bytes(config, "config", keep)));
            const std::optional<sizing::Engine> e = sizing::parse_engine(engine);
            if (!e) throw py::value_error("engine: expected 'hf', 'vllm' or 'llama.cpp', got '" + engine + "'");
            const std::optional<sizing::CacheDType> dt = sizing::parse_cache_dtype(kv_dtype);
            if (!dt) throw py::value_error("kv_dtype: unknown cache dtype '" + kv_dtype + "'");
            sizing::EngineOptions o;
            o.batch = to_uint<std::uint32_t>(batch, "batch");
            o.kv_dtype = *dt;
            o.block_size = to_uint<std::uint32_t>(block_size, "block_size");
            o.max_num_batched_tokens = to_uint<std::uint32_t>(max_num_batched_tokens, "max_num_batched_tokens");
            o.ubatch = to_uint<std::uint32_t>(ubatch, "ubatch");
            if (!memory.is_none()) {
                if (py::isinstance<py::str>(memory)) {
                    o.memory = value_or_raise(sizing::parse_memory_size(memory.cast<std::string>()));
                } else {
                    o.memory = to_uint<std::uint64_t>(memory, "memory");
                }
            }
            py::list rows;
            for (const std::uint32_t t : tokens) {
                const sizing::EngineSize s = value_or_raise(sizing::size_cache(cfg.cache, *e, t, o));
                py::list groups;
                for (const sizing::GroupSize& g : s.groups) {
                    py::dict d = layer_dict(g.spec);
                    d["layers"] = g.layers;
                    d["padding_layers"] = g.padding_layers;
                    d["tokens"] = to_int(g.tokens);
                    d["bytes"] = to_int(g.bytes);
                    groups.append(d);
                }
                py::dict row(py::arg("engine") = std::string(sizing::to_string(s.engine)),
                             py::arg("model_type") = cfg.model_type ? py::object(py::str(*cfg.model_type))
                                                                    : py::object(py::none()),
                             py::arg("tokens") = s.tokens, py::arg("batch") = s.batch,
                             py::arg("kv_dtype") = std::string(sizing::to_string(s.kv_dtype)),
                             py::arg("total_bytes") = to_int(s.total_bytes),
                             py::arg("state_bytes") = to_int(s.state_bytes), py::arg("groups") = groups,
                             py::arg("notes") = s.notes);
                if (s.max_tokens) row["max_tokens"] = to_int(*s.max_tokens);
                if (s.max_sequences) row["max_sequences"] = to_int(*s.max_sequences);
                rows.append(row);
            }
            return rows;
        },
        py::arg("config"), py::arg("tokens"), py::arg("engine"), py::arg("batch") = 1, py::arg("kv_dtype") = "auto",
        py::arg("block_size") = 16, py::arg("max_num_batched_tokens") = 8192, py::arg("ubatch") = 512,
        py::arg("memory") = py::none());
    m.def(
        "_parse_memory_size",
        [](const std::string& text) { return value_or_raise(sizing::parse_memory_size(text)); }, py::arg("text"),
        "Internal: a memory size (\"24GiB\", \"80GB\", a byte count) in bytes, as kvshape's --memory reads it.");
}

}  // namespace fib_quant_kv::python
