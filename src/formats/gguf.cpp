// fib_quant_kv: the GGUF header reader and writer. One pass over the header through a fixed buffer; every count
// and length is compared with what is left of the file (by subtraction, with the smallest size an item can
// take) before it is used, so a hostile count fails at once and nothing is allocated for it.
#include "fib_quant_kv/formats/gguf.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "formats/input.hpp"

namespace fib_quant_kv::checkpoint::gguf {
namespace {

using checkpoint::detail::Cursor;
using checkpoint::detail::format_shape;
using checkpoint::detail::Input;
using fib_quant_kv::detail::make_error;
using fib_quant_kv::detail::quote;

// ggml's types by code: name, elements per block, bytes per block. Codes 4, 5, 31-33 and 36-38 were removed
// from ggml and are unknown here.
struct TypeRow {
    std::uint32_t code;
    GgmlType type;
};
constexpr std::array<TypeRow, 32> kTypes{{
    {0, {"F32", 1, 4}},        {1, {"F16", 1, 2}},       {2, {"Q4_0", 32, 18}},    {3, {"Q4_1", 32, 20}},
    {6, {"Q5_0", 32, 22}},     {7, {"Q5_1", 32, 24}},    {8, {"Q8_0", 32, 34}},    {9, {"Q8_1", 32, 36}},
    {10, {"Q2_K", 256, 84}},   {11, {"Q3_K", 256, 110}}, {12, {"Q4_K", 256, 144}}, {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},  {15, {"Q8_K", 256, 292}}, {16, {"IQ2_XXS", 256, 66}}, {17, {"IQ2_XS", 256, 74}},
    {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}}, {20, {"IQ4_NL", 32, 18}}, {21, {"IQ3_S", 256, 110}},
    {22, {"IQ2_S", 256, 82}},  {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},     {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},       {27, {"I64", 1, 8}},      {28, {"F64", 1, 8}},      {29, {"IQ1_M", 256, 56}},
    {30, {"BF16", 1, 2}},      {34, {"TQ1_0", 256, 54}}, {35, {"TQ2_0", 256, 66}}, {39, {"MXFP4", 32, 17}},
}};

/// Bytes of one scalar of a value type; 0 for string and array; nothing for an unknown type.
std::optional<std::uint64_t> scalar_size(std::uint32_t type) noexcept {
    switch (static_cast<ValueType>(type)) {
        case ValueType::uint8: case ValueType::int8: case ValueType::boolean: return 1;
        case ValueType::uint16: case ValueType::int16: return 2;
        case ValueType::uint32: case ValueType::int32: case ValueType::float32: return 4;
        case ValueType::uint64: case ValueType::int64: case ValueType::float64: return 8;
        case ValueType::string: case ValueType::array: return 0;
    }
    return std::nullopt;
}

class Reader {
  public:
    Reader(const Input& in, const Limits& limits) : in_(in), cur_(in), limits_(limits) {}

    Result<Header> run();

  private:
    Error truncated(std::string_view what) const {
        return make_error(ErrorKind::parse, rules::truncated,
                          "the file ends inside the header, in " + std::string(what), cur_.pos());
    }
    Status u32(std::uint32_t& v, std::string_view what) {
        if (cur_.remaining() < 4) return truncated(what);
        std::array<std::uint8_t, 4> b{};
        if (Status st = cur_.read(b.data(), 4); !st) return st;
        v = static_cast<std::uint32_t>(checkpoint::detail::load_le(b.data(), 4));
        return {};
    }
    Status u64(std::uint64_t& v, std::string_view what) {
        if (cur_.remaining() < 8) return truncated(what);
        std::array<std::uint8_t, 8> b{};
        if (Status st = cur_.read(b.data(), 8); !st) return st;
        v = checkpoint::detail::load_le(b.data(), 8);
        return {};
    }
    /// A string kept in memory (key, string value, tensor name).
    Status string(std::string& out, std::string_view what) {
        std::uint64_t len = 0;
        if (Status st = u64(len, what); !st) return st;
        if (len > cur_.remaining())
            return make_error(ErrorKind::parse, rules::string_length,
                              std::string(what) + ": string length " + std::to_string(len) + " is past the end of the file (" +
                                  std::to_string(cur_.remaining()) + " bytes left)", cur_.pos() - 8);
        if (len > limits_.max_gguf_string)
            return make_error(ErrorKind::resource_limit_exceeded, rules::string_cap,
                              std::string(what) + ": string length " + std::to_string(len) + " is over the cap of " +
                                  std::to_string(limits_.max_gguf_string) + " bytes", cur_.pos() - 8);
        out.resize(static_cast<std::size_t>(len));
        return cur_.read(reinterpret_cast<std::uint8_t*>(out.data()), len);
    }
    /// A string checked and stepped over (array elements).
    Status skip_string(std::string_view what) {
        std::uint64_t len = 0;
        if (Status st = u64(len, what); !st) return st;
        if (len > cur_.remaining())
            return make_error(ErrorKind::parse, rules::string_length,
                              std::string(what) + ": string length " + std::to_string(len) + " is past the end of the file",
                              cur_.pos() - 8);
        cur_.skip(len);
        return {};
    }
    Status value(std::uint32_t type, MetadataValue& out, const std::string& key);
    Status skip_array(std::uint32_t depth, const std::string& key, MetadataValue* summary = nullptr);
    Status array_header(std::uint32_t& elem, std::uint64_t& count, std::uint32_t depth, const std::string& key);

    const Input& in_;
    Cursor cur_;
    const Limits& limits_;
};

Error unknown_value_type(std::uint32_t type, const std::string& key, std::uint64_t at) {
    return make_error(ErrorKind::parse, rules::value_type,
                      "key " + quote(key) + ": unknown value type " + std::to_string(type), at);
}

Status Reader::array_header(std::uint32_t& elem, std::uint64_t& count, std::uint32_t depth, const std::string& key) {
    if (depth > limits_.max_gguf_array_depth)
        return make_error(ErrorKind::resource_limit_exceeded, rules::array_depth,
                          "key " + quote(key) + ": arrays nested deeper than " +
                              std::to_string(limits_.max_gguf_array_depth), cur_.pos());
    if (Status st = u32(elem, "an array's element type"); !st) return st;
    const std::optional<std::uint64_t> size = scalar_size(elem);
    if (!size) return unknown_value_type(elem, key, cur_.pos() - 4);
    if (Status st = u64(count, "an array's length"); !st) return st;
    // The least each element takes: a scalar's size, a string's length, an array's type and length.
    const std::uint64_t least = *size ? *size : static_cast<ValueType>(elem) == ValueType::string ? 8 : 12;
    if (count > cur_.remaining() / least)
        return make_error(ErrorKind::parse, rules::array_length,
                          "key " + quote(key) + ": array of " + std::to_string(count) + " " +
                              std::string(to_string(static_cast<ValueType>(elem))) + " elements is longer than the " +
                              std::to_string(cur_.remaining()) + " bytes left in the file", cur_.pos() - 8);
    return {};
}

Status Reader::skip_array(std::uint32_t depth, const std::string& key, MetadataValue* summary) {
    std::uint32_t elem = 0;
    std::uint64_t count = 0;
    if (Status st = array_header(elem, count, depth, key); !st) return st;
    if (summary) {
        summary->element_type = static_cast<ValueType>(elem);
        summary->count = count;
    }
    const std::uint64_t size = *scalar_size(elem);
    if (size) {
        cur_.skip(count * size);  // count * size <= remaining, checked above
        return {};
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        Status st = static_cast<ValueType>(elem) == ValueType::string ? skip_string("an array's string")
                                                                       : skip_array(depth + 1, key);
        if (!st) return st;
    }
    return {};
}

Status Reader::value(std::uint32_t type, MetadataValue& out, const std::string& key) {
    const std::optional<std::uint64_t> size = scalar_size(type);
    if (!size) return unknown_value_type(type, key, cur_.pos() - 4);
    out.type = static_cast<ValueType>(type);
    if (*size) {
        if (cur_.remaining() < *size) return truncated("a value");
        std::array<std::uint8_t, 8> b{};
        if (Status st = cur_.read(b.data(), *size); !st) return st;
        out.bits = checkpoint::detail::load_le(b.data(), static_cast<std::size_t>(*size));
        return {};
    }
    if (out.type == ValueType::string) return string(out.text, "a string value");
    return skip_array(1, key, &out);  // summarised; its elements checked and stepped over
}

Result<Header> Reader::run() {
    Header h;
    h.format = Format::gguf;
    h.file_size = in_.size();
    h.alignment = 32;
    if (cur_.remaining() < 4 + 4 + 8 + 8) {
        std::array<std::uint8_t, 4> m{};
        if (cur_.remaining() >= 4) {
            if (Status st = cur_.read(m.data(), 4); !st) return std::move(st).error();
            if (std::string_view(reinterpret_cast<const char*>(m.data()), 4) != "GGUF")
                return make_error(ErrorKind::parse, rules::magic, "the file does not start with the magic `GGUF`", 0);
        }
        return make_error(ErrorKind::parse, rules::truncated,
                          "the file holds " + std::to_string(h.file_size) + " bytes, fewer than GGUF's 24-byte preamble");
    }
    std::array<std::uint8_t, 24> pre{};
    if (Status st = cur_.read(pre.data(), 24); !st) return std::move(st).error();
    if (std::string_view(reinterpret_cast<const char*>(pre.data()), 4) != "GGUF")
        return make_error(ErrorKind::parse, rules::magic, "the file does not start with the magic `GGUF`", 0);
    h.version = static_cast<std::uint32_t>(checkpoint::detail::load_le(pre.data() + 4, 4));
    if (h.version != 2 && h.version != 3)
        return make_error(ErrorKind::parse, rules::version,
                          "GGUF version " + std::to_string(h.version) +
                              " is not supported (2 and 3 are; a big-endian file reads as a huge version)", 4);
    const std::uint64_t tensor_count = checkpoint::detail::load_le(pre.data() + 8, 8);
    const std::uint64_t kv_count = checkpoint::detail::load_le(pre.data() + 16, 8);
    // The least a pair takes: key length 8 + type 4 + a 1-byte value; a tensor info: name length 8 + n_dims 4 +
    // type 4 + offset 8.
    if (kv_count > cur_.remaining() / 13)
        return make_error(ErrorKind::parse, rules::kv_count,
                          "kv_count " + std::to_string(kv_count) + " is more pairs than the " +
                              std::to_string(cur_.remaining()) + " bytes left in the file can hold", 16);
    if (tensor_count > (cur_.remaining() - kv_count * 13) / 24)
        return make_error(ErrorKind::parse, rules::tensor_count,
                          "tensor_count " + std::to_string(tensor_count) + " is more tensor infos than the " +
                              std::to_string(cur_.remaining()) + " bytes left in the file can hold", 8);

    for (std::uint64_t i = 0; i < kv_count; ++i) {
        MetadataEntry e;
        e.begin = cur_.pos();
        if (Status st = string(e.key, "a key"); !st) return std::move(st).error();
        std::uint32_t type = 0;
        if (Status st = u32(type, "a value type"); !st) return std::move(st).error();
        if (Status st = value(type, e.value, e.key); !st) return std::move(st).error();
        e.end = cur_.pos();
        if (e.key == "general.alignment") {
            if (e.value.type != ValueType::uint32 || e.value.bits == 0 || (e.value.bits & (e.value.bits - 1)) != 0)
                return make_error(ErrorKind::parse, rules::alignment,
                                  "general.alignment must be a uint32 power of two", e.begin);
            h.alignment = e.value.bits;
        }
        h.metadata.push_back(std::move(e));
    }
    h.tensor_infos_begin = cur_.pos();
    for (std::uint64_t i = 0; i < tensor_count; ++i) {
        TensorInfo t;
        const std::uint64_t at = cur_.pos();
        if (Status st = string(t.name, "a tensor name"); !st) return std::move(st).error();
        std::uint32_t n_dims = 0;
        if (Status st = u32(n_dims, "a tensor's n_dims"); !st) return std::move(st).error();
        if (n_dims > 4)
            return make_error(ErrorKind::parse, rules::n_dims,
                              "tensor " + quote(t.name) + ": " + std::to_string(n_dims) + " dims, more than 4", cur_.pos() - 4);
        std::array<std::uint64_t, 4> dims{};
        for (std::uint32_t d = 0; d < n_dims; ++d) {
            if (Status st = u64(dims[d], "a tensor's dims"); !st) return std::move(st).error();
            if (dims[d] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return make_error(ErrorKind::parse, rules::dims,
                                  "tensor " + quote(t.name) + ": dim " + std::to_string(dims[d]) + " is past INT64_MAX",
                                  cur_.pos() - 8);
        }
        if (Status st = u32(t.type_code, "a tensor's type"); !st) return std::move(st).error();
        const std::optional<GgmlType> type = ggml_type(t.type_code);
        if (!type)
            return make_error(ErrorKind::parse, rules::tensor_type,
                              "tensor " + quote(t.name) + ": unknown ggml type " + std::to_string(t.type_code), cur_.pos() - 4);
        std::uint64_t offset = 0;
        if (Status st = u64(offset, "a tensor's offset"); !st) return std::move(st).error();
        t.dtype.assign(type->name);
        t.kv_dtype = to_kv_dtype(t.type_code);
        t.shape.assign(dims.rbegin() + (4 - n_dims), dims.rend());  // outermost first
        std::optional<std::uint64_t> elements = std::uint64_t{1};
        for (std::uint32_t d = 0; d < n_dims; ++d) elements = elements ? checked_mul(*elements, dims[d]) : std::nullopt;
        if (!elements)
            return make_error(ErrorKind::resource_limit_exceeded, rules::shape_overflow,
                              "tensor " + quote(t.name) + ": shape " + format_shape(t.shape) +
                                  " has more elements than fit in 64 bits", at);
        if (n_dims > 0 && dims[0] % type->block_size != 0)
            return make_error(ErrorKind::corrupt_payload, rules::block_size,
                              "tensor " + quote(t.name) + ": innermost dim " + std::to_string(dims[0]) +
                                  " is not a multiple of " + t.dtype + "'s block of " + std::to_string(type->block_size), at);
        const std::optional<std::uint64_t> bytes = checked_mul(*elements / type->block_size, type->type_size);
        if (!bytes)
            return make_error(ErrorKind::resource_limit_exceeded, rules::shape_overflow,
                              "tensor " + quote(t.name) + ": shape " + format_shape(t.shape) + " of " + t.dtype +
                                  " has more bytes than fit in 64 bits", at);
        if (offset % h.alignment != 0)
            return make_error(ErrorKind::corrupt_payload, rules::tensor_offset,
                              "tensor " + quote(t.name) + ": offset " + std::to_string(offset) +
                                  " is not a multiple of the alignment " + std::to_string(h.alignment), at);
        t.begin = offset;  // relative until the data section's start is known
        t.end = *bytes;    // the length, for now
        h.tensors.push_back(std::move(t));
    }
    h.tensor_infos_end = cur_.pos();
    const std::uint64_t pad = (h.alignment - h.tensor_infos_end % h.alignment) % h.alignment;
    h.data_offset = h.tensor_infos_end + std::min(pad, h.file_size - h.tensor_infos_end);
    const std::uint64_t data_size = h.file_size - h.data_offset;
    for (TensorInfo& t : h.tensors) {
        const std::uint64_t offset = t.begin;
        const std::uint64_t length = t.end;
        if (pad > h.file_size - h.tensor_infos_end || offset > data_size || length > data_size - offset)
            return make_error(ErrorKind::corrupt_payload, rules::tensor_range,
                              "tensor " + quote(t.name) + ": data [" + std::to_string(offset) + ", +" +
                                  std::to_string(length) + ") is past the end of the file (data section of " +
                                  std::to_string(data_size) + " bytes)");
        t.begin = h.data_offset + offset;
        t.end = t.begin + length;
    }
    if (Status st = checkpoint::detail::check_unique(h, rules::duplicate_name, rules::duplicate_key); !st)
        return std::move(st).error();
    const std::vector<std::size_t> order = checkpoint::detail::order_by_range(h);
    for (std::size_t i = 1; i < order.size(); ++i) {
        const TensorInfo& prev = h.tensors[order[i - 1]];
        const TensorInfo& t = h.tensors[order[i]];
        if (t.begin < prev.end)
            return make_error(ErrorKind::corrupt_payload, rules::tensor_overlap,
                              "tensors " + quote(prev.name) + " and " + quote(t.name) + " overlap");
    }
    return h;
}

}  // namespace

std::optional<GgmlType> ggml_type(std::uint32_t code) noexcept {
    for (const TypeRow& row : kTypes)
        if (row.code == code) return row.type;
    return std::nullopt;
}

std::optional<KvDType> to_kv_dtype(std::uint32_t code) noexcept {
    // The schema's ggml_type attribute of KvDType, by name: a dtype added to the schema is known here too.
    const std::optional<GgmlType> type = ggml_type(code);
    if (!type) return std::nullopt;
    for (const KvDType v : EnumTraits<KvDType>::values) {
        if (::fib_quant_kv::ggml_type(v) == type->name) return v;
    }
    return std::nullopt;
}

std::optional<std::uint32_t> from_kv_dtype(KvDType dtype) noexcept {
    const std::string_view name = ::fib_quant_kv::ggml_type(dtype);
    for (const TypeRow& row : kTypes) {
        if (!name.empty() && row.type.name == name) return row.code;
    }
    return std::nullopt;
}

Result<Header> read_header(int fd, const Limits& limits) {
    Input in(fd);
    if (Status st = in.open(); !st) return std::move(st).error();
    return Reader(in, limits).run();
}

Result<Header> read_header(std::span<const std::uint8_t> file, const Limits& limits) {
    Input in(file);
    return Reader(in, limits).run();
}

Result<std::string> write_header(int src_fd, const Header& header, std::span<const MetadataEntry> metadata) {
    Input in(src_fd);
    if (Status st = in.open(); !st) return std::move(st).error();
    auto copy = [&](std::string& out, std::uint64_t begin, std::uint64_t end) -> Status {
        const std::size_t at = out.size();
        out.resize(at + static_cast<std::size_t>(end - begin));
        return in.read_at(begin, {reinterpret_cast<std::uint8_t*>(out.data() + at), static_cast<std::size_t>(end - begin)});
    };
    std::string out = "GGUF";
    checkpoint::detail::append_le(out, header.version, 4);
    checkpoint::detail::append_le(out, header.tensors.size(), 8);
    checkpoint::detail::append_le(out, metadata.size(), 8);
    for (const MetadataEntry& e : metadata) {
        if (e.end > e.begin) {
            if (Status st = copy(out, e.begin, e.end); !st) return std::move(st).error();
            continue;
        }
        checkpoint::detail::append_le(out, e.key.size(), 8);
        out += e.key;
        checkpoint::detail::append_le(out, static_cast<std::uint32_t>(ValueType::string), 4);
        checkpoint::detail::append_le(out, e.value.text.size(), 8);
        out += e.value.text;
    }
    if (Status st = copy(out, header.tensor_infos_begin, header.tensor_infos_end); !st) return std::move(st).error();
    out.append((header.alignment - out.size() % header.alignment) % header.alignment, '\0');
    return out;
}

}  // namespace fib_quant_kv::checkpoint::gguf
