// Checkpoint files built byte by byte from the formats' descriptions (docs/checkpoints.md), not by the library's
// writers: little-endian integers, GGUF strings and pairs, safetensors length + JSON + data.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt_test {

struct Bytes {
    std::string s;

    Bytes& raw(std::string_view b) { s.append(b); return *this; }
    Bytes& le(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        return *this;
    }
    Bytes& u32(std::uint64_t v) { return le(v, 4); }
    Bytes& u64(std::uint64_t v) { return le(v, 8); }
    Bytes& str(std::string_view v) { return u64(v.size()).raw(v); }  // GGUF string
    Bytes& pad_to(std::size_t alignment, char fill = '\0') {
        s.append((alignment - s.size() % alignment) % alignment, fill);
        return *this;
    }
};

/// safetensors: 8-byte LE length, the JSON, the data.
inline std::string safetensors_file(std::string_view json, std::string_view data) {
    Bytes b;
    b.u64(json.size()).raw(json).raw(data);
    return b.s;
}

/// GGUF value types (gguf_type).
enum : std::uint32_t { T_U8 = 0, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 };

inline std::string kv_str(std::string_view key, std::string_view value) {
    Bytes b;
    b.str(key).u32(T_STR).str(value);
    return b.s;
}
inline std::string kv_u32(std::string_view key, std::uint32_t value) {
    Bytes b;
    b.str(key).u32(T_U32).u32(value);
    return b.s;
}
/// dims innermost first, as GGUF stores them.
inline std::string tensor_info(std::string_view name, std::initializer_list<std::uint64_t> dims, std::uint32_t type,
                               std::uint64_t offset) {
    Bytes b;
    b.str(name).u32(dims.size());
    for (std::uint64_t d : dims) b.u64(d);
    b.u32(type).u64(offset);
    return b.s;
}

/// A GGUF file: preamble, the pairs and infos given, padding to `alignment`, the data.
inline std::string gguf_file(const std::vector<std::string>& kvs, const std::vector<std::string>& infos,
                             std::string_view data, std::size_t alignment = 32, std::uint32_t version = 3) {
    Bytes b;
    b.raw("GGUF").u32(version).u64(infos.size()).u64(kvs.size());
    for (const std::string& kv : kvs) b.raw(kv);
    for (const std::string& info : infos) b.raw(info);
    b.pad_to(alignment).raw(data);
    return b.s;
}

/// n patterned bytes (no two neighbouring tensors look alike).
inline std::string pattern_bytes(std::size_t n, unsigned seed) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + seed * 17 + 7) % 251);
    return out;
}

}  // namespace ckpt_test
