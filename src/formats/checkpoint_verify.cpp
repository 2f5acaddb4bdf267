// fib_quant_kv: checkpoints, the descriptors in a header: finding them (attached_descriptors, inspect) and
// checking them against their tensors (check_descriptor, verify). Depends on reading and on targets.
#include <string>
#include <vector>

#include "fib_quant_kv/formats/checkpoint.hpp"
#include "formats/checkpoint_targets.hpp"
#include "formats/input.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv::checkpoint {
namespace {

using fib_quant_kv::detail::make_error;
using fib_quant_kv::detail::quote;

constexpr std::string_view kDtypeFields[] = {"dtype"};
constexpr std::string_view kShapeFields[] = {"batch", "layers", "kv_heads", "tokens", "head_dim"};
constexpr std::string_view kLayersFields[] = {"layers"};

Error mismatch(std::string_view rule, std::span<const std::string_view> fields, std::string message) {
    return make_error(ErrorKind::tensor_mismatch, rule, std::move(message), Error::no_offset, fields);
}

void check_tensor(const TensorInfo& t, const KvTensorShapeV1& s, const std::vector<std::uint64_t>& layout,
                  std::vector<Error>& out) {
    if (t.kv_dtype != s.dtype)
        out.push_back(mismatch(rules::dtype, kDtypeFields,
                               "tensor " + quote(t.name) + ": dtype " + t.dtype + ", the descriptor says " +
                                   std::string(to_string(s.dtype))));
    if (t.shape != layout)
        out.push_back(mismatch(rules::shape, kShapeFields,
                               "tensor " + quote(t.name) + ": shape " + detail::format_shape(t.shape) +
                                   ", the descriptor's layout is " + detail::format_shape(layout)));
    std::optional<std::uint64_t> bytes = std::uint64_t{byte_size(s.dtype)};
    for (std::uint64_t d : layout) bytes = bytes ? checked_mul(*bytes, d) : std::nullopt;
    if (!bytes || t.byte_length() != *bytes)
        out.push_back(mismatch(rules::byte_length, kShapeFields,
                               "tensor " + quote(t.name) + ": " + std::to_string(t.byte_length()) +
                                   " bytes, the descriptor needs " + (bytes ? std::to_string(*bytes) : std::string("over 2^64")) +
                                   " (element_count x " + std::to_string(byte_size(s.dtype)) + ")"));
}

}  // namespace

std::vector<Error> check_descriptor(const Header& header, const KvTensorShapeV1& s, std::string_view target) {
    std::vector<Error> out;
    if (Status st = validate(s); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    if (Status st = detail::check_target(target); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    const std::optional<detail::Pattern> pattern = detail::split_pattern(target);
    if (!pattern) {
        const TensorInfo* t = header.find_tensor(target);
        if (t == nullptr) {
            out.push_back(mismatch(rules::missing_tensor, {}, "tensor " + quote(target) + " is not in the file"));
            return out;
        }
        check_tensor(*t, s, {s.batch, s.layers, s.kv_heads, s.tokens, s.head_dim}, out);
        return out;
    }
    const std::vector<std::uint64_t> layout{s.batch, s.kv_heads, s.tokens, s.head_dim};
    const auto found = detail::layer_tensors(header, *pattern, s.layers);
    constexpr std::uint64_t kListedMissing = 16;
    std::uint64_t listed = 0;
    std::uint64_t total_missing = 0;
    auto report_missing = [&](std::uint64_t from, std::uint64_t to) {  // layers [from, to) are absent
        total_missing += to - from;
        for (std::uint64_t l = from; l < to && listed < kListedMissing; ++l, ++listed)
            out.push_back(mismatch(rules::missing_tensor, kLayersFields,
                                   "tensor " + quote(layer_tensor_name(target, static_cast<std::uint32_t>(l))) +
                                       " (layer " + std::to_string(l) + " of " + std::to_string(s.layers) +
                                       ") is not in the file"));
    };
    std::uint64_t next = 0;
    for (const auto& [layer, index] : found) {
        if (layer > next) report_missing(next, layer);
        check_tensor(header.tensors[index], s, layout, out);
        next = std::uint64_t{layer} + 1;
    }
    if (s.layers > next) report_missing(next, s.layers);
    if (total_missing > listed)
        out.push_back(mismatch(rules::missing_tensor, kLayersFields,
                               std::to_string(total_missing - listed) + " more layers of " + quote(target) +
                                   " are not in the file (" + std::to_string(total_missing) + " of " +
                                   std::to_string(s.layers) + " missing)"));
    return out;
}

std::vector<AttachedDescriptor> attached_descriptors(const Header& header) {
    std::vector<AttachedDescriptor> out;
    for (const MetadataEntry& e : header.metadata) {
        if (!e.key.starts_with(kDescriptorKeyPrefix)) continue;
        AttachedDescriptor d;
        d.key = e.key;
        d.target = e.key.substr(kDescriptorKeyPrefix.size());
        d.per_layer = is_pattern(d.target);
        if (const std::string* text = e.value.as_string()) {
            d.json = *text;
            Result<KvTensorShapeV1> shape = parse_kv_tensor_shape_v1_json(d.json);
            if (shape) {
                d.shape = std::move(*shape);
            } else {
                Error err = std::move(shape).error();
                err.message = "descriptor " + quote(d.key) + ": " + err.message;
                d.error = std::move(err);
            }
        } else {
            d.error = make_error(ErrorKind::parse, rules::descriptor_type,
                                 "descriptor " + quote(d.key) + " is a " + std::string(to_string(e.value.type)) +
                                     ", not a string");
        }
        if (!d.per_layer) {
            if (header.find_tensor(d.target)) d.tensors.push_back(d.target);
        } else if (const std::optional<detail::Pattern> p = detail::split_pattern(d.target)) {
            const std::uint64_t layers = d.shape ? std::uint64_t{d.shape->layers} : std::uint64_t{1} << 32;
            for (const auto& [layer, index] : detail::layer_tensors(header, *p, layers))
                d.tensors.push_back(header.tensors[index].name);
        }
        out.push_back(std::move(d));
    }
    return out;
}

Result<Inspection> inspect(const std::filesystem::path& path, const Limits& limits) {
    Result<Header> h = read_header(path, limits);
    if (!h) return std::move(h).error();
    Inspection out{std::move(*h), {}};
    out.descriptors = attached_descriptors(out.header);
    return out;
}

std::vector<Error> verify(const Inspection& inspection) {
    std::vector<Error> out;
    for (const AttachedDescriptor& d : inspection.descriptors) {
        if (d.error) {
            out.push_back(*d.error);
            continue;
        }
        for (Error& e : check_descriptor(inspection.header, *d.shape, d.target)) {
            if (e.kind != ErrorKind::tensor_mismatch) e.message = "descriptor " + quote(d.key) + ": " + e.message;
            out.push_back(std::move(e));
        }
    }
    return out;
}

Result<std::vector<Error>> verify(const std::filesystem::path& path, const Limits& limits) {
    Result<Inspection> in = inspect(path, limits);
    if (!in) return std::move(in).error();
    return verify(*in);
}

}  // namespace fib_quant_kv::checkpoint
