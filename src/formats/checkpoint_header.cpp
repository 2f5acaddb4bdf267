// fib_quant_kv: checkpoints, the Header model (fib_quant_kv/formats/checkpoint.hpp) and what the format readers
// share (src/formats/input.hpp). The GGUF and safetensors modules depend on this file; it depends on neither.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "fib_quant_kv/formats/checkpoint.hpp"
#include "formats/input.hpp"
#include "internal/rule_errors.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::checkpoint {

namespace detail {

std::string format_shape(std::span<const std::uint64_t> shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) out += ", ";
        fib_quant_kv::detail::append_decimal(out, shape[i]);
    }
    return out + "]";
}

Status check_unique(const Header& h, std::string_view duplicate_rule, std::string_view key_rule) {
    using fib_quant_kv::detail::make_error;
    using fib_quant_kv::detail::quote;
    std::vector<std::string_view> names;
    names.reserve(std::max(h.tensors.size(), h.metadata.size()));
    for (const TensorInfo& t : h.tensors) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    if (auto d = std::adjacent_find(names.begin(), names.end()); d != names.end())
        return make_error(ErrorKind::parse, duplicate_rule, "tensor " + quote(*d) + " appears twice");
    names.clear();
    for (const MetadataEntry& e : h.metadata) names.push_back(e.key);
    std::sort(names.begin(), names.end());
    if (auto d = std::adjacent_find(names.begin(), names.end()); d != names.end())
        return make_error(ErrorKind::parse, key_rule, "key " + quote(*d) + " appears twice");
    return {};
}

std::vector<std::size_t> order_by_range(const Header& h) {
    std::vector<std::size_t> order(h.tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const TensorInfo& x = h.tensors[a];
        const TensorInfo& y = h.tensors[b];
        return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
    });
    return order;
}

}  // namespace detail

std::string_view to_string(Format format) noexcept {
    switch (format) {
        case Format::safetensors: return "safetensors";
        case Format::gguf: return "gguf";
    }
    return {};
}

std::string_view to_string(ValueType type) noexcept {
    static constexpr std::array<std::string_view, 13> kNames{"uint8", "int8", "uint16", "int16", "uint32",
                                                             "int32", "float32", "bool", "string", "array",
                                                             "uint64", "int64", "float64"};
    const auto code = static_cast<std::uint32_t>(type);
    return code < kNames.size() ? kNames[code] : std::string_view{};
}

const TensorInfo* Header::find_tensor(std::string_view name) const noexcept {
    for (const TensorInfo& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

const MetadataEntry* Header::find_metadata(std::string_view key) const noexcept {
    for (const MetadataEntry& e : metadata)
        if (e.key == key) return &e;
    return nullptr;
}

std::int64_t MetadataValue::signed_value() const noexcept {
    switch (type) {
        case ValueType::int8: return static_cast<std::int8_t>(bits);
        case ValueType::int16: return static_cast<std::int16_t>(bits);
        case ValueType::int32: return static_cast<std::int32_t>(bits);
        case ValueType::int64: return static_cast<std::int64_t>(bits);
        default: return 0;
    }
}

float MetadataValue::float32_value() const noexcept {
    if (type != ValueType::float32) return 0;
    const auto low = static_cast<std::uint32_t>(bits);
    float f;
    std::memcpy(&f, &low, sizeof f);
    return f;
}

double MetadataValue::float64_value() const noexcept {
    if (type != ValueType::float64) return 0;
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

}  // namespace fib_quant_kv::checkpoint
