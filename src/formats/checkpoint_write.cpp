// fib_quant_kv: checkpoints, writing: attach and detach rewrite a file with edited metadata, its new header
// (from the GGUF or the safetensors module) and its tensor data copied unchanged in bounded chunks, through the
// library's atomic writer (src/internal/file_io.hpp). Depends on reading, targets and verify; nothing depends on it. v1 descriptors (attach, detach) and v2 cache specs
// (attach_spec, detach_spec) are the same metadata edit.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "fib_quant_kv/formats/checkpoint.hpp"
#include "fib_quant_kv/formats/gguf.hpp"
#include "fib_quant_kv/formats/safetensors.hpp"
#include "formats/checkpoint_targets.hpp"
#include "internal/file_io.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv::checkpoint {
namespace {

namespace fs = std::filesystem;
using fib_quant_kv::detail::io_error;
using fib_quant_kv::detail::make_error;
using fib_quant_kv::detail::quote;

constexpr std::size_t kCopyChunk = 8u << 20;   // copy_file_range per call
constexpr std::size_t kBufferSize = 1u << 20;  // the read/write fallback's one buffer

/// One copy of a source file's range into the file being written: both descriptors, and their names for messages.
struct Copy {
    int src;
    const fs::path& src_path;
    int dst;
    const fs::path& dst_path;
};

/// Copies src[from, from + len) to dst at `to`, in bounded chunks: copy_file_range, or pread/pwrite through one
/// fixed buffer where the kernel cannot. Holes (SEEK_DATA/SEEK_HOLE) are skipped: dst has been sized with
/// ftruncate, so they read back as the same zeros, and a sparse file stays sparse.
Status copy_range(const Copy& c, std::uint64_t from, std::uint64_t len, std::uint64_t to, std::uint64_t head,
                  const Progress& progress) {
    const std::uint64_t total = head + len;
    const std::uint64_t stop = from + len;
    auto read_failed = [&](int err) { return io_error(io_rules::read, "cannot read " + quote(c.src_path.string()), err); };
    auto shrank = [&] {
        return make_error(ErrorKind::io, io_rules::read,
                          quote(c.src_path.string()) + " shrank while being copied");
    };
    bool use_copy_file_range = true;
    std::vector<std::uint8_t> buffer;
    std::uint64_t pos = from;
    while (pos < stop) {
        // The next data extent [pos, extent_end); the rest of the range when holes cannot be asked for.
        std::uint64_t extent_end = stop;
        const off_t data = ::lseek(c.src, static_cast<off_t>(pos), SEEK_DATA);
        if (data < 0 && errno == ENXIO) break;  // only a hole is left
        if (data >= 0) {
            pos = std::min<std::uint64_t>(static_cast<std::uint64_t>(data), stop);
            const off_t hole = ::lseek(c.src, data, SEEK_HOLE);
            if (hole >= 0) extent_end = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), stop);
        }
        while (pos < extent_end) {
            const std::uint64_t want = std::min<std::uint64_t>(extent_end - pos, kCopyChunk);
            std::uint64_t done = 0;
            if (use_copy_file_range) {
                loff_t in_off = static_cast<loff_t>(pos);
                loff_t out_off = static_cast<loff_t>(to + (pos - from));
                const ssize_t n = ::copy_file_range(c.src, &in_off, c.dst, &out_off, static_cast<std::size_t>(want), 0);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                              errno == EBADF || errno == EPERM)) {
                    use_copy_file_range = false;
                    continue;
                }
                if (n < 0) {
                    const int err = errno;
                    return io_error(io_rules::write, "cannot copy the tensor data into " + quote(c.dst_path.string()), err);
                }
                if (n == 0) return shrank();
                done = static_cast<std::uint64_t>(n);
            } else {
                if (buffer.empty()) buffer.resize(kBufferSize);
                const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(want, buffer.size()));
                const ssize_t n = ::pread(c.src, buffer.data(), take, static_cast<off_t>(pos));
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return read_failed(errno);
                if (n == 0) return shrank();
                const std::span<const std::uint8_t> chunk(buffer.data(), static_cast<std::size_t>(n));
                if (Status st = fib_quant_kv::detail::write_all_at(c.dst, chunk, to + (pos - from), c.dst_path); !st)
                    return st;
                done = static_cast<std::uint64_t>(n);
            }
            pos += done;
            if (progress) progress(head + (pos - from), total);
        }
    }
    if (progress) progress(total, total);
    return {};
}

/// The bytes before the data section of `h`'s file (read from `src`) with `metadata` in place of its own.
Result<std::string> new_header(int src, const Header& h, const std::vector<MetadataEntry>& metadata) {
    if (h.format == Format::safetensors) return safetensors::write_header(h, metadata);
    return gguf::write_header(src, h, metadata);
}

/// Writes dst: src (`h` its header) with `metadata` in place of its own, atomically. The new file's header is
/// read back before it replaces dst.
Status rewrite(int src, const fs::path& src_path, const Header& h, const std::vector<MetadataEntry>& metadata,
               const fs::path& dst, const WriteOptions& options) {
    Result<std::string> head = new_header(src, h, metadata);
    if (!head) return std::move(head).error();
    const std::span<const std::uint8_t> head_bytes(reinterpret_cast<const std::uint8_t*>(head->data()), head->size());
    const std::uint64_t len = h.file_size - h.data_offset;
    return fib_quant_kv::detail::write_file_atomically(dst, [&](int out) -> Status {
        if (Status st = fib_quant_kv::detail::write_all_at(out, head_bytes, 0, dst); !st) return st;
        if (::ftruncate(out, static_cast<off_t>(head_bytes.size() + len)) != 0) {
            const int err = errno;
            return io_error(io_rules::write, "cannot size " + quote(dst.string()), err);
        }
        const Copy copy{src, src_path, out, dst};
        if (Status st = copy_range(copy, h.data_offset, len, head_bytes.size(), head_bytes.size(), options.progress); !st)
            return st;
        if (Result<Header> back = read_header(out, options.limits); !back) return std::move(back).error();
        return {};
    });
}

/// Every write: the source's header, its metadata `edit`ed (a failure refuses), the rewrite.
template <class Edit>
Status edit_metadata(const fs::path& src, const fs::path& dst, const WriteOptions& options, Edit edit) {
    Result<fib_quant_kv::detail::UniqueFd> fd = fib_quant_kv::detail::open_for_reading(src);
    if (!fd) return std::move(fd).error();
    Result<Header> h = read_header(fd->get(), options.limits);
    if (!h) return std::move(h).error();
    std::vector<MetadataEntry> metadata = h->metadata;
    if (Status st = edit(*h, metadata); !st) return st;
    return rewrite(fd->get(), src, *h, metadata, dst, options);
}

/// Sets the string pair `key` to `text`: in place when the key is there, appended otherwise.
void set_string(std::vector<MetadataEntry>& metadata, std::string key, std::string text) {
    MetadataEntry entry;
    entry.key = std::move(key);
    entry.value.type = ValueType::string;
    entry.value.text = std::move(text);
    const auto it = std::find_if(metadata.begin(), metadata.end(), [&](const MetadataEntry& e) { return e.key == entry.key; });
    if (it != metadata.end()) *it = std::move(entry);
    else metadata.push_back(std::move(entry));
}

/// Removes the pair `key`; false when there was none.
bool erase_key(std::vector<MetadataEntry>& metadata, const std::string& key) {
    const auto it = std::find_if(metadata.begin(), metadata.end(), [&](const MetadataEntry& e) { return e.key == key; });
    if (it == metadata.end()) return false;
    metadata.erase(it);
    return true;
}

}  // namespace

Status attach(const fs::path& src, const fs::path& dst, const KvTensorShapeV1& shape, std::string_view target,
              const WriteOptions& options) {
    if (Status st = detail::check_target(target); !st) return st;
    return edit_metadata(src, dst, options, [&](const Header& h, std::vector<MetadataEntry>& metadata) -> Status {
        if (std::vector<Error> errors = check_descriptor(h, shape, target); !errors.empty())
            return std::move(errors.front());
        if (h.format != Format::gguf) {
            set_string(metadata, detail::descriptor_key(target), to_json(shape));
            return {};
        }
        // GGUF: two pairs under a key segment; a pair of old with the target in its key gives way to them.
        std::string name;
        if (std::optional<std::string> held = detail::gguf_descriptor_name_of(metadata, target)) {
            name = std::move(*held);
        } else {
            erase_key(metadata, detail::descriptor_key(target));
            name = detail::free_gguf_descriptor_name(metadata, target);
        }
        set_string(metadata, detail::gguf_descriptor_key(name, kDescriptorKeySuffix), to_json(shape));
        set_string(metadata, detail::gguf_descriptor_key(name, kDescriptorTensorsSuffix), std::string(target));
        return {};
    });
}

Status detach(const fs::path& src, const fs::path& dst, std::string_view target, const WriteOptions& options) {
    if (Status st = detail::check_target(target); !st) return st;
    return edit_metadata(src, dst, options, [&](const Header& h, std::vector<MetadataEntry>& metadata) -> Status {
        bool removed = erase_key(metadata, detail::descriptor_key(target));
        if (h.format == Format::gguf) {
            if (std::optional<std::string> name = detail::gguf_descriptor_name_of(metadata, target)) {
                erase_key(metadata, detail::gguf_descriptor_key(*name, kDescriptorKeySuffix));
                erase_key(metadata, detail::gguf_descriptor_key(*name, kDescriptorTensorsSuffix));
                removed = true;
            }
        }
        if (!removed)
            return make_error(ErrorKind::tensor_mismatch, rules::not_attached,
                              "no descriptor is attached to " + quote(target));
        return {};
    });
}

Status attach_spec(const fs::path& src, const fs::path& dst, const KvCacheSpecV2& spec, std::string_view name,
                   const SpecTensors& tensors, const WriteOptions& options) {
    if (Status st = check_spec_name(name); !st) return st;
    return edit_metadata(src, dst, options, [&](const Header& h, std::vector<MetadataEntry>& metadata) -> Status {
        if (std::vector<Error> errors = check_spec(h, spec, tensors); !errors.empty()) return std::move(errors.front());
        set_string(metadata, detail::spec_key(name, kSpecKeySpec), to_json(spec));
        set_string(metadata, detail::spec_key(name, kSpecKeyKeyTensors), tensors.keys);
        if (tensors.values.empty()) erase_key(metadata, detail::spec_key(name, kSpecKeyValueTensors));
        else set_string(metadata, detail::spec_key(name, kSpecKeyValueTensors), tensors.values);
        return {};
    });
}

Status detach_spec(const fs::path& src, const fs::path& dst, std::string_view name, const WriteOptions& options) {
    if (Status st = check_spec_name(name); !st) return st;
    return edit_metadata(src, dst, options, [&](const Header&, std::vector<MetadataEntry>& metadata) -> Status {
        bool removed = false;
        for (std::string_view suffix : {kSpecKeySpec, kSpecKeyKeyTensors, kSpecKeyValueTensors})
            removed = erase_key(metadata, detail::spec_key(name, suffix)) || removed;
        if (!removed)
            return make_error(ErrorKind::tensor_mismatch, rules::not_attached, "no spec is attached as " + quote(name));
        return {};
    });
}

}  // namespace fib_quant_kv::checkpoint
