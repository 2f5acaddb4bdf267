// fib_quant_kv: the safetensors header reader and writer. The header's JSON is read by RapidJSON's DOM
// (validating UTF-8, iterative, so nesting cannot exhaust the stack) after its length has been checked against
// the cap and the file; the checks then run cheapest first, as the reference implementation's do.
#include "fib_quant_kv/formats/safetensors.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <vector>

#include "formats/input.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::checkpoint::safetensors {
namespace {

using checkpoint::detail::format_shape;
using fib_quant_kv::detail::make_error;
using fib_quant_kv::detail::quote;

struct DTypeRow {
    std::string_view name;
    std::uint32_t size;
};
constexpr std::array<DTypeRow, 15> kDTypes{{
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"U16", 2}, {"I16", 2}, {"F16", 2},
    {"BF16", 2}, {"U32", 4}, {"I32", 4}, {"F32", 4}, {"U64", 8}, {"I64", 8}, {"F64", 8},
}};

constexpr std::string_view kMetadataKey = "__metadata__";

std::string_view sv(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

/// A name or metadata string as decoded, unless it holds a lone surrogate escape ("\udc00"): RapidJSON decodes
/// one into bytes that are not UTF-8, which the reference implementation (serde_json) rejects.
Status utf8_string(const rapidjson::Value& v) {
    if (fib_quant_kv::detail::has_encoded_surrogate(sv(v)))
        return make_error(ErrorKind::parse, rules::json,
                          "header is not UTF-8 JSON: the string " + quote(sv(v)) + " holds a lone surrogate escape");
    return {};
}

Error entry_error(std::string_view name, std::string_view what) {
    return make_error(ErrorKind::parse, rules::tensor_entry, "tensor " + quote(name) + ": " + std::string(what));
}

/// One tensor entry: {"dtype": string, "shape": [u64...], "data_offsets": [u64, u64]}; other keys ignored.
Status read_entry(std::string_view name, const rapidjson::Value& v, std::uint64_t data_start, std::uint64_t data_size,
                  TensorInfo& t) {
    if (!v.IsObject()) return entry_error(name, "not an object");
    const rapidjson::Value* dtype = nullptr;
    const rapidjson::Value* shape = nullptr;
    const rapidjson::Value* offsets = nullptr;
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        const std::string_view key = sv(m->name);
        const rapidjson::Value** slot = key == "dtype" ? &dtype : key == "shape" ? &shape
                                      : key == "data_offsets" ? &offsets : nullptr;
        if (slot == nullptr) continue;
        if (*slot != nullptr) return entry_error(name, "duplicate field `" + std::string(key) + "`");
        *slot = &m->value;
    }
    if (dtype == nullptr) return entry_error(name, "missing field `dtype`");
    if (shape == nullptr) return entry_error(name, "missing field `shape`");
    if (offsets == nullptr) return entry_error(name, "missing field `data_offsets`");
    if (!dtype->IsString()) return entry_error(name, "`dtype` is not a string");
    if (!shape->IsArray()) return entry_error(name, "`shape` is not an array");
    if (!offsets->IsArray() || offsets->Size() != 2 || !(*offsets)[0].IsUint64() || !(*offsets)[1].IsUint64())
        return entry_error(name, "`data_offsets` is not an array of two unsigned 64-bit integers");
    t.name.assign(name);
    t.dtype.assign(sv(*dtype));
    const std::optional<std::uint32_t> size = dtype_size(t.dtype);
    if (!size)
        return make_error(ErrorKind::parse, rules::dtype, "tensor " + quote(name) + ": unknown dtype " + quote(t.dtype));
    t.kv_dtype = to_kv_dtype(t.dtype);
    t.shape.reserve(shape->Size());
    for (const rapidjson::Value& d : shape->GetArray()) {
        if (!d.IsUint64()) return entry_error(name, "`shape` holds a value that is not an unsigned 64-bit integer");
        t.shape.push_back(d.GetUint64());
    }
    const std::uint64_t begin = (*offsets)[0].GetUint64();
    const std::uint64_t end = (*offsets)[1].GetUint64();
    if (end < begin)
        return make_error(ErrorKind::corrupt_payload, rules::offsets_reversed,
                          "tensor " + quote(name) + ": data_offsets [" + std::to_string(begin) + ", " +
                              std::to_string(end) + ") are reversed");
    if (end > data_size)
        return make_error(ErrorKind::corrupt_payload, rules::offsets_range,
                          "tensor " + quote(name) + ": data_offsets end " + std::to_string(end) +
                              " is past the data section (" + std::to_string(data_size) + " bytes)");
    std::optional<std::uint64_t> bytes = *size;
    for (std::uint64_t d : t.shape) bytes = bytes ? checked_mul(*bytes, d) : std::nullopt;
    if (!bytes)
        return make_error(ErrorKind::resource_limit_exceeded, rules::shape_overflow,
                          "tensor " + quote(name) + ": shape " + format_shape(t.shape) + " of " + t.dtype +
                              " has more bytes than fit in 64 bits");
    if (*bytes != end - begin)
        return make_error(ErrorKind::corrupt_payload, rules::byte_length,
                          "tensor " + quote(name) + ": shape " + format_shape(t.shape) + " of " + t.dtype + " is " +
                              std::to_string(*bytes) + " bytes, data_offsets hold " + std::to_string(end - begin));
    t.begin = data_start + begin;
    t.end = data_start + end;
    return {};
}

Result<Header> read(const checkpoint::detail::Input& in, const Limits& limits) {
    if (Status st = const_cast<checkpoint::detail::Input&>(in).open(); !st) return std::move(st).error();
    const std::uint64_t file_size = in.size();
    if (file_size < 8)
        return make_error(ErrorKind::parse, rules::header_length,
                          "the file holds " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");
    std::array<std::uint8_t, 8> len_bytes{};
    if (Status st = in.read_at(0, len_bytes); !st) return std::move(st).error();
    const std::uint64_t n = checkpoint::detail::load_le(len_bytes.data(), 8);
    if (n > limits.max_safetensors_header)
        return make_error(ErrorKind::resource_limit_exceeded, rules::header_cap,
                          "header length " + std::to_string(n) + " is over the cap of " +
                              std::to_string(limits.max_safetensors_header) + " bytes");
    if (n > file_size - 8)
        return make_error(ErrorKind::parse, rules::header_length,
                          "header length " + std::to_string(n) + " is past the end of the file (" +
                              std::to_string(file_size - 8) + " bytes follow it)");
    std::string text(static_cast<std::size_t>(n), '\0');
    if (Status st = in.read_at(8, {reinterpret_cast<std::uint8_t*>(text.data()), text.size()}); !st)
        return std::move(st).error();

    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (doc.HasParseError())
        return make_error(ErrorKind::parse, rules::json,
                          std::string("header is not UTF-8 JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()),
                          8 + doc.GetErrorOffset());
    if (!doc.IsObject()) return make_error(ErrorKind::parse, rules::header_object, "header is not a JSON object");

    Header h;
    h.format = Format::safetensors;
    h.data_offset = 8 + n;
    h.alignment = 8;
    h.file_size = file_size;
    const std::uint64_t data_size = file_size - h.data_offset;
    bool seen_metadata = false;
    const rapidjson::Value& root = doc;  // const iterators: their != is not ambiguous under C++20
    for (auto m = root.MemberBegin(); m != root.MemberEnd(); ++m) {
        const std::string_view name = sv(m->name);
        if (Status st = utf8_string(m->name); !st) return std::move(st).error();
        if (name == kMetadataKey) {
            if (seen_metadata)
                return make_error(ErrorKind::parse, rules::metadata, "`__metadata__` appears twice");
            seen_metadata = true;
            if (m->value.IsNull()) continue;
            if (!m->value.IsObject())
                return make_error(ErrorKind::parse, rules::metadata, "`__metadata__` is not an object");
            for (auto e = m->value.MemberBegin(); e != m->value.MemberEnd(); ++e) {
                if (Status st = utf8_string(e->name); !st) return std::move(st).error();
                if (e->value.IsString())
                    if (Status st = utf8_string(e->value); !st) return std::move(st).error();
                if (!e->value.IsString())
                    return make_error(ErrorKind::parse, rules::metadata,
                                      "`__metadata__` value of " + quote(sv(e->name)) + " is not a string");
                MetadataEntry entry;
                entry.key.assign(sv(e->name));
                entry.value.type = ValueType::string;
                entry.value.text.assign(sv(e->value));
                h.metadata.push_back(std::move(entry));
            }
            continue;
        }
        TensorInfo t;
        if (Status st = read_entry(name, m->value, h.data_offset, data_size, t); !st) return std::move(st).error();
        h.tensors.push_back(std::move(t));
    }
    // Duplicate keys: RapidJSON's DOM keeps both; names and metadata keys must be unique.
    if (Status st = checkpoint::detail::check_unique(h, rules::duplicate_name, rules::metadata); !st)
        return std::move(st).error();
    // Coverage: sorted by range, each tensor starts where the previous one ended, the last ends at the end.
    std::uint64_t expected = h.data_offset;
    for (std::size_t i : checkpoint::detail::order_by_range(h)) {
        const TensorInfo& t = h.tensors[i];
        if (t.begin < expected)
            return make_error(ErrorKind::corrupt_payload, rules::offsets_overlap,
                              "tensor " + quote(t.name) + " starts at data offset " + std::to_string(t.begin - h.data_offset) +
                                  ", inside the previous tensor (which ends at " + std::to_string(expected - h.data_offset) + ")");
        if (t.begin > expected)
            return make_error(ErrorKind::corrupt_payload, rules::offsets_gap,
                              "no tensor covers data bytes [" + std::to_string(expected - h.data_offset) + ", " +
                                  std::to_string(t.begin - h.data_offset) + ") (before " + quote(t.name) + ")");
        expected = t.end;
    }
    if (expected != file_size)
        return make_error(ErrorKind::corrupt_payload, rules::offsets_gap,
                          "no tensor covers data bytes [" + std::to_string(expected - h.data_offset) + ", " +
                              std::to_string(data_size) + ") at the end of the file");
    return h;
}

}  // namespace

std::optional<std::uint32_t> dtype_size(std::string_view dtype) noexcept {
    for (const DTypeRow& row : kDTypes)
        if (row.name == dtype) return row.size;
    return std::nullopt;
}

std::optional<KvDType> to_kv_dtype(std::string_view dtype) noexcept {
    // The schema's safetensors_dtype attribute of KvDType: a dtype added to the schema is known here too.
    for (const KvDType v : EnumTraits<KvDType>::values) {
        if (!dtype.empty() && safetensors_dtype(v) == dtype) return v;
    }
    return std::nullopt;
}

std::string_view from_kv_dtype(KvDType dtype) noexcept { return safetensors_dtype(dtype); }

Result<Header> read_header(int fd, const Limits& limits) {
    checkpoint::detail::Input in(fd);
    return read(in, limits);
}

Result<Header> read_header(std::span<const std::uint8_t> file, const Limits& limits) {
    checkpoint::detail::Input in(file);
    return read(in, limits);
}

std::string write_header(const Header& header, std::span<const MetadataEntry> metadata) {
    std::string json = "{";
    if (!metadata.empty()) {
        json += "\"__metadata__\":{";
        for (std::size_t i = 0; i < metadata.size(); ++i) {
            if (i) json += ',';
            fib_quant_kv::detail::append_json_string(json, metadata[i].key);
            json += ':';
            fib_quant_kv::detail::append_json_string(json, metadata[i].value.text);
        }
        json += '}';
    }
    for (const TensorInfo& t : header.tensors) {
        if (json.size() > 1) json += ',';
        fib_quant_kv::detail::append_json_string(json, t.name);
        json += ":{\"dtype\":";
        fib_quant_kv::detail::append_json_string(json, t.dtype);
        json += ",\"shape\":[";
        for (std::size_t i = 0; i < t.shape.size(); ++i) {
            if (i) json += ',';
            fib_quant_kv::detail::append_decimal(json, t.shape[i]);
        }
        json += "],\"data_offsets\":[";
        fib_quant_kv::detail::append_decimal(json, t.begin - header.data_offset);
        json += ',';
        fib_quant_kv::detail::append_decimal(json, t.end - header.data_offset);
        json += "]}";
    }
    json += '}';
    json.append((8 - json.size() % 8) % 8, ' ');  // 8 + N stays a multiple of 8: the data starts aligned
    std::string out;
    out.reserve(8 + json.size());
    checkpoint::detail::append_le(out, json.size(), 8);
    out += json;
    return out;
}

}  // namespace fib_quant_kv::checkpoint::safetensors
