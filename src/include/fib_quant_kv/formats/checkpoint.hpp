// fib_quant_kv: KV descriptors inside model checkpoints (safetensors and GGUF), the format-independent part.
//
// A checkpoint's header is read into a Header: the tensor table (name, the format's dtype, shape outermost
// first, absolute byte range) and the metadata (in file order), never the tensor data. Descriptors travel in the
// metadata under kDescriptorKeyPrefix + target, where target is one tensor's name (the canonical layout
// [batch, layers, kv_heads, tokens, head_dim]) or a pattern with exactly one `{layer}` (one tensor per layer,
// each [batch, kv_heads, tokens, head_dim]). docs/checkpoints.md is the specification: layouts, keys, caps.
//
// Every failure is an Error of the one error model. Its kinds here: io (a file cannot be opened, read or
// written: rules "io.*"), parse (the header cannot be decoded), corrupt_payload (the header decodes but breaks the format's own
// invariants: offsets, gaps, alignment), resource_limit_exceeded (a documented cap, or a size past 2^64),
// tensor_mismatch (a tensor disagrees with its descriptor). Rule ids start with the format's name
// ("safetensors.", "gguf.") or "checkpoint." for the descriptor checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/error.hpp"
#include "fib_quant_kv/kv_cache_spec_v2.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1.hpp"

namespace fib_quant_kv::checkpoint {

enum class Format : std::uint8_t { safetensors = 0, gguf = 1 };

/// "safetensors" or "gguf".
[[nodiscard]] std::string_view to_string(Format format) noexcept;

/// The caps every reader applies, with their defaults (docs/checkpoints.md).
struct Limits {
    /// safetensors: the header's JSON, in bytes (the reference implementation's cap, 100 MB).
    std::uint64_t max_safetensors_header = 100'000'000;
    /// GGUF: one key, string value or tensor name, in bytes (array elements are checked, not kept).
    std::uint64_t max_gguf_string = 64u << 20;
    /// GGUF: nesting of arrays of arrays.
    std::uint32_t max_gguf_array_depth = 16;
};

/// GGUF metadata value types (gguf_type), by their codes.
enum class ValueType : std::uint32_t {
    uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, boolean = 7,
    string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12,
};

/// "uint8", ..., "array"; empty for an unknown code.
[[nodiscard]] std::string_view to_string(ValueType type) noexcept;

/// One metadata value. safetensors values are always strings. Arrays are summarised (element type and count),
/// not kept: a tokenizer's vocabulary is not copied into memory.
struct MetadataValue {
    ValueType type = ValueType::string;
    std::uint64_t bits = 0;  ///< scalars: the value's little-endian bits, zero-extended (floats as their bits)
    std::string text;        ///< strings
    ValueType element_type = ValueType::uint8;  ///< arrays: the element type
    std::uint64_t count = 0;                    ///< arrays: the number of elements

    [[nodiscard]] const std::string* as_string() const noexcept {
        return type == ValueType::string ? &text : nullptr;
    }
    /// int8 ... int64: the value, sign-extended from its type's width (0 for another type).
    [[nodiscard]] std::int64_t signed_value() const noexcept;
    /// float32: the value (0 for another type).
    [[nodiscard]] float float32_value() const noexcept;
    /// float64: the value (0 for another type).
    [[nodiscard]] double float64_value() const noexcept;
};

/// One metadata pair, in file order. For GGUF, [begin, end) is the pair's absolute byte range in the file (key,
/// type and value), which a rewrite copies unchanged; for safetensors both are 0.
struct MetadataEntry {
    std::string key;
    MetadataValue value;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
};

/// One tensor of the table, in file order.
struct TensorInfo {
    std::string name;
    std::string dtype;                   ///< the format's own name: "BF16" (safetensors), "BF16"/"Q4_K" (GGUF)
    std::uint32_t type_code = 0;         ///< GGUF: the ggml type code; safetensors: 0
    std::optional<KvDType> kv_dtype;     ///< the KvDType it is, if any (F16, BF16, F32)
    std::vector<std::uint64_t> shape;    ///< outermost first (GGUF's dims reversed)
    std::uint64_t begin = 0;             ///< absolute byte range of the data in the file
    std::uint64_t end = 0;

    [[nodiscard]] std::uint64_t byte_length() const noexcept { return end - begin; }
};

/// A checkpoint's header: everything but the tensor data.
struct Header {
    Format format = Format::safetensors;
    std::uint32_t version = 0;           ///< GGUF: the file's version (2 or 3); safetensors: 0
    std::vector<TensorInfo> tensors;     ///< file order
    std::vector<MetadataEntry> metadata; ///< file order (safetensors: `__metadata__`'s order)
    std::uint64_t data_offset = 0;       ///< absolute start of the data section
    std::uint64_t alignment = 8;         ///< GGUF: general.alignment (default 32); safetensors: 8 (ours)
    std::uint64_t file_size = 0;
    std::uint64_t tensor_infos_begin = 0;  ///< GGUF: absolute byte range of the tensor infos
    std::uint64_t tensor_infos_end = 0;

    [[nodiscard]] const TensorInfo* find_tensor(std::string_view name) const noexcept;
    [[nodiscard]] const MetadataEntry* find_metadata(std::string_view key) const noexcept;
};

/// The format of a file's content: GGUF by its magic, safetensors otherwise (its reader then says whether it is
/// one). Fails only when the file cannot be read.
[[nodiscard]] Result<Format> detect(const std::filesystem::path& path);

/// Reads the header of a safetensors or GGUF file (told apart by content). Reads no tensor data.
[[nodiscard]] Result<Header> read_header(const std::filesystem::path& path, const Limits& limits = {});
/// The same, from an open file descriptor (read with pread; the descriptor's offset is not used).
[[nodiscard]] Result<Header> read_header(int fd, const Limits& limits = {});
/// The same, from bytes in memory (a whole file).
[[nodiscard]] Result<Header> read_header(std::span<const std::uint8_t> bytes, const Limits& limits = {});

// ---------------------------------------------------------------------------------------------- descriptors

/// Metadata key of a descriptor: kDescriptorKeyPrefix + the tensor's name or the group's pattern (safetensors,
/// whose keys are free text). GGUF keys follow GGUF's convention (lower_snake_case segments separated by dots),
/// so a GGUF file holds a descriptor in two pairs, kDescriptorKeyPrefix + NAME + kDescriptorKeySuffix (the JSON)
/// and kDescriptorKeyPrefix + NAME + kDescriptorTensorsSuffix (the tensor's name or the pattern), NAME the
/// target made one key segment (gguf_descriptor_name()). GGUF files written with a target in the key are still
/// read, and attach or detach of that target rewrites them in the new form.
inline constexpr std::string_view kDescriptorKeyPrefix = "fib_quant_kv.kv_shape.";
inline constexpr std::string_view kDescriptorKeySuffix = ".descriptor";
inline constexpr std::string_view kDescriptorTensorsSuffix = ".tensors";
/// The placeholder a group's pattern holds exactly once; it runs over 0 ... layers-1 (decimal, no leading 0).
inline constexpr std::string_view kLayerPlaceholder = "{layer}";

/// Checkpoint rule ids (the formats' own are in safetensors.hpp and gguf.hpp).
namespace rules {
inline constexpr std::string_view missing_tensor = "checkpoint.missing_tensor";  ///< a covered tensor is absent
inline constexpr std::string_view dtype = "checkpoint.dtype";                    ///< dtypes disagree
inline constexpr std::string_view shape = "checkpoint.shape";                    ///< shape is not the layout's
inline constexpr std::string_view byte_length = "checkpoint.byte_length";  ///< bytes != element_count x size
inline constexpr std::string_view target = "checkpoint.target";  ///< empty name, or a pattern without one {layer}
inline constexpr std::string_view descriptor_type = "checkpoint.descriptor_type";  ///< key holds no string
inline constexpr std::string_view descriptor_keys = "checkpoint.descriptor_keys";  ///< GGUF: NAME.tensors alone
inline constexpr std::string_view not_attached = "checkpoint.not_attached";  ///< detach: no such descriptor
inline constexpr std::string_view spec_name = "checkpoint.spec_name";  ///< a spec's name is not a key segment
inline constexpr std::string_view spec_tensors = "checkpoint.spec_tensors";  ///< a spec's tensor patterns
inline constexpr std::string_view spec_keys = "checkpoint.spec_keys";  ///< a spec's metadata pairs are incomplete
inline constexpr std::string_view io_open = io_rules::open;    ///< the library's I/O rules (error.hpp)
inline constexpr std::string_view io_read = io_rules::read;
inline constexpr std::string_view io_write = io_rules::write;
}  // namespace rules

/// One descriptor found in the metadata.
struct AttachedDescriptor {
    std::string key;           ///< the metadata key of the JSON
    std::string target;        ///< the tensor name or the pattern
    bool per_layer = false;    ///< target is a pattern
    std::string json;          ///< the stored text
    std::optional<KvTensorShapeV1> shape;  ///< decoded (not yet validated), when the text decodes
    std::optional<Error> error;            ///< why it does not decode, or holds no string
    std::vector<std::string> tensors;      ///< the covered tensor names that exist in the file, in layer order
};

/// Every descriptor in the header's metadata, in metadata order.
[[nodiscard]] std::vector<AttachedDescriptor> attached_descriptors(const Header& header);

/// `target` as one lower_snake_case key segment: lower case, `{layer}` as `layer`, every run of other characters
/// but a-z and 0-9 as one `_`, none at either end ("tensor" if nothing is left): `blk.{layer}.attn_k` is
/// `blk_layer_attn_k`. A GGUF file where that name is another target's takes `_2`, `_3`... after it.
[[nodiscard]] std::string gguf_descriptor_name(std::string_view target);

/// True when `target` is a group pattern (holds kLayerPlaceholder).
[[nodiscard]] bool is_pattern(std::string_view target) noexcept;

/// The name of layer `layer` of a pattern.
[[nodiscard]] std::string layer_tensor_name(std::string_view pattern, std::uint32_t layer);

/// Every disagreement between `shape` and the tensors `target` covers in `header`: the validate() error first if
/// the descriptor is invalid (then nothing else), else missing tensors, dtype, shape and byte-length
/// disagreements, each naming its tensor (kind tensor_mismatch, rules::*). Empty when all agree. Missing layers
/// past the 16th are summed up in one error.
[[nodiscard]] std::vector<Error> check_descriptor(const Header& header, const KvTensorShapeV1& shape,
                                                  std::string_view target);

// ---------------------------------------------------------------------------------------------- v2 cache specs
//
// A v2 cache spec (schema/kv_cache_spec_v2.yaml) describes a whole cache: every layer's K and V tensors, whatever
// their group. It is stored under a name, a lower_snake_case key segment (GGUF's own key convention: segments of
// [a-z0-9_] separated by dots), in up to three string pairs:
//
//   fib_quant_kv.kv_cache_spec.NAME.spec           the spec's canonical JSON
//   fib_quant_kv.kv_cache_spec.NAME.key_tensors    the pattern naming each layer's K tensor (stacked: its one tensor)
//   fib_quant_kv.kv_cache_spec.NAME.value_tensors  the pattern naming each layer's V tensor (separate K and V only)
//
// Each layer's tensors are the spec's stored_tensors() (fib_quant_kv/cache_spec.hpp); linear layers have none.

/// Prefix of a spec's metadata keys, and the key suffixes after the name.
inline constexpr std::string_view kSpecKeyPrefix = "fib_quant_kv.kv_cache_spec.";
inline constexpr std::string_view kSpecKeySpec = ".spec";
inline constexpr std::string_view kSpecKeyKeyTensors = ".key_tensors";
inline constexpr std::string_view kSpecKeyValueTensors = ".value_tensors";
/// The name kvshape uses when none is given.
inline constexpr std::string_view kDefaultSpecName = "kv_cache";

/// Where a spec's tensors are: patterns with `{layer}` exactly once.
struct SpecTensors {
    std::string keys;    ///< each layer's K tensor; with K and V stacked, its one tensor
    std::string values;  ///< each layer's V tensor; empty when K and V are stacked or no layer has a V
    friend bool operator==(const SpecTensors&, const SpecTensors&) = default;
};

/// One spec found in the metadata.
struct AttachedSpec {
    std::string name;
    std::string json;                     ///< the stored text of NAME.spec
    SpecTensors tensors;
    std::optional<KvCacheSpecV2> spec;    ///< decoded (not yet validated), when the text decodes
    std::optional<Error> error;           ///< why it does not decode, or its pairs are incomplete
    std::vector<std::string> covered;     ///< the covered tensors that exist in the file, layer by layer
};

/// Every spec in the header's metadata, in the order of their first pair.
[[nodiscard]] std::vector<AttachedSpec> attached_specs(const Header& header);

/// rules::spec_name (kind parse) unless `name` is a non-empty run of [a-z0-9_].
[[nodiscard]] Status check_spec_name(std::string_view name);

/// Every disagreement between `spec` and the tensors it describes in `header`: the validate() error first if the
/// spec is invalid (then nothing else), rules::spec_tensors for patterns that do not fit the spec (a missing or
/// superfluous values pattern, a pattern without one `{layer}`), else missing tensors, dtypes, shapes and byte
/// lengths, each naming its tensor and layer (kind tensor_mismatch). Element types: unquantized, the spec's
/// dtype; fp8 F8_E4M3/F8_E5M2 and int8 I8 (safetensors); ggml block types by their GGUF type (Q8_0, Q4_K...).
/// A paged cache's block dimension may hold more blocks than its tokens need (an engine's pool).
[[nodiscard]] std::vector<Error> check_spec(const Header& header, const KvCacheSpecV2& spec,
                                            const SpecTensors& tensors);

/// What `inspect` shows: the header and the descriptors attached to it.
struct Inspection {
    Header header;
    std::vector<AttachedDescriptor> descriptors;
    std::vector<AttachedSpec> specs;
};
[[nodiscard]] Result<Inspection> inspect(const std::filesystem::path& path, const Limits& limits = {});

/// Checks every attached descriptor (check_descriptor; a descriptor that does not decode is its parse error,
/// its message naming the key), then every attached v2 spec (check_spec, messages naming the spec). The outer Result fails when the file cannot be read; the list is empty when
/// every descriptor agrees with its tensors.
[[nodiscard]] Result<std::vector<Error>> verify(const std::filesystem::path& path, const Limits& limits = {});
/// The same for a header already read (inspect()'s): no second read of the file.
[[nodiscard]] std::vector<Error> verify(const Inspection& inspection);

/// Progress of a long copy: bytes written so far and in total.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct WriteOptions {
    Limits limits;
    Progress progress;  ///< called after each chunk copied, and once at the end; may be empty
};

/// Writes `dst`: `src` with `shape`'s canonical JSON stored under the descriptor key of `target` (replacing one
/// already there, in place; every other metadata pair unchanged and in order). Refuses (the first error of
/// check_descriptor) a descriptor that is invalid or disagrees with its tensors. Tensor bytes are copied
/// unchanged, in bounded chunks; the data keeps its alignment. Atomic: a temporary file in dst's folder, fsync,
/// rename, fsync of the folder; on failure dst is untouched and nothing is left behind. dst may be src. A dst
/// that exists keeps its permission bits; a new one gets 0666 less the umask.
[[nodiscard]] Status attach(const std::filesystem::path& src, const std::filesystem::path& dst,
                            const KvTensorShapeV1& shape, std::string_view target, const WriteOptions& options = {});

/// Writes `dst`: `src` without the descriptor of `target` (rules::not_attached when there is none). As attach.
[[nodiscard]] Status detach(const std::filesystem::path& src, const std::filesystem::path& dst,
                            std::string_view target, const WriteOptions& options = {});

/// Writes `dst`: `src` with `spec` stored under `name` (its pairs replaced in place when the name is taken, a
/// values pair dropped when `tensors` has none). Refuses a bad name or the first error of check_spec. As attach.
[[nodiscard]] Status attach_spec(const std::filesystem::path& src, const std::filesystem::path& dst,
                                 const KvCacheSpecV2& spec, std::string_view name, const SpecTensors& tensors,
                                 const WriteOptions& options = {});

/// Writes `dst`: `src` without the pairs of the spec `name` (rules::not_attached when there are none). As attach.
[[nodiscard]] Status detach_spec(const std::filesystem::path& src, const std::filesystem::path& dst,
                                 std::string_view name, const WriteOptions& options = {});

}  // namespace fib_quant_kv::checkpoint
