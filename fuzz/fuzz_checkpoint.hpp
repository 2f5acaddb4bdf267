// What both checkpoint fuzz targets require of a header reader: a rejection is a typed Error (a parse, format
// invariant or cap kind, a rule id, a UTF-8 message); an accepted header's tensors lie inside the file, in its
// data section; descriptors found in it can be checked; and the header written back reads back the same.
#pragma once

#include "fib_quant_kv/formats/checkpoint.hpp"
#include "fuzz_support.hpp"

namespace fib_quant_kv::fuzz {

inline void require_typed_reader_error(const Error& e) {
    FQK_REQUIRE(e.kind == ErrorKind::parse || e.kind == ErrorKind::corrupt_payload ||
                e.kind == ErrorKind::resource_limit_exceeded);
    FQK_REQUIRE(!e.rule.empty() && !e.message.empty());
    FQK_REQUIRE(detail::is_valid_utf8(e.message));
}

inline void require_sound_header(const checkpoint::Header& h, std::size_t size) {
    FQK_REQUIRE(h.file_size == size && h.data_offset <= size);
    for (const checkpoint::TensorInfo& t : h.tensors) {
        FQK_REQUIRE(t.begin >= h.data_offset && t.begin <= t.end && t.end <= size);
        FQK_REQUIRE(t.shape.size() <= (h.format == checkpoint::Format::gguf ? 4u : t.shape.size()));
    }
    for (const checkpoint::AttachedDescriptor& d : checkpoint::attached_descriptors(h)) {
        FQK_REQUIRE(d.shape.has_value() != d.error.has_value());
        if (d.error) require_typed_reader_error(*d.error);
        if (d.shape)
            for (const Error& e : checkpoint::check_descriptor(h, *d.shape, d.target))
                FQK_REQUIRE(!e.rule.empty() && detail::is_valid_utf8(e.message));
    }
    for (const checkpoint::AttachedSpec& a : checkpoint::attached_specs(h)) {
        FQK_REQUIRE(a.spec.has_value() != a.error.has_value());
        if (a.error) require_typed_reader_error(*a.error);
        if (a.spec)
            for (const Error& e : checkpoint::check_spec(h, *a.spec, a.tensors))
                FQK_REQUIRE(!e.rule.empty() && detail::is_valid_utf8(e.message));
    }
}

/// The same tensors (names, dtypes, shapes, offsets in the data section) and metadata (keys, types, values).
inline void require_same_tables(const checkpoint::Header& a, const checkpoint::Header& b) {
    FQK_REQUIRE(a.tensors.size() == b.tensors.size() && a.metadata.size() == b.metadata.size());
    for (std::size_t i = 0; i < a.tensors.size(); ++i) {
        const checkpoint::TensorInfo& x = a.tensors[i];
        const checkpoint::TensorInfo& y = b.tensors[i];
        FQK_REQUIRE(x.name == y.name && x.dtype == y.dtype && x.shape == y.shape);
        FQK_REQUIRE(x.begin - a.data_offset == y.begin - b.data_offset && x.byte_length() == y.byte_length());
    }
    for (std::size_t i = 0; i < a.metadata.size(); ++i) {
        const checkpoint::MetadataEntry& x = a.metadata[i];
        const checkpoint::MetadataEntry& y = b.metadata[i];
        FQK_REQUIRE(x.key == y.key && x.value.type == y.value.type && x.value.text == y.value.text);
        FQK_REQUIRE(x.value.bits == y.value.bits && x.value.count == y.value.count);
    }
}

}  // namespace fib_quant_kv::fuzz
