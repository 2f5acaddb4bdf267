// fib_quant_kv: checkpoints, the format-independent part: detection, descriptors and their checks, and the
// atomic, streaming rewrite behind attach and detach.
#include "fib_quant_kv/formats/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fib_quant_kv/formats/gguf.hpp"
#include "fib_quant_kv/formats/safetensors.hpp"
#include "formats/input.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv::checkpoint {

// ---------------------------------------------------------------------------------------------- shared helpers
namespace detail {

Error make_error(ErrorKind kind, std::string_view rule, std::string message, std::size_t offset) {
    Error e;
    e.kind = kind;
    e.rule = rule;
    e.message = std::move(message);
    e.offset = offset;
    return e;
}

std::string quote(std::string_view name) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "`";
    const std::size_t shown = std::min<std::size_t>(name.size(), 200);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c >= 0x20 && c < 0x7f && c != '`' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    if (shown < name.size()) out += "...";
    out += '`';
    return out;
}

std::string format_shape(std::span<const std::uint64_t> shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) out += ", ";
        fib_quant_kv::detail::append_decimal(out, shape[i]);
    }
    return out + "]";
}

Status check_unique(const Header& h, std::string_view duplicate_rule, std::string_view key_rule) {
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

namespace {

using detail::make_error;
using detail::quote;

/// An owned file descriptor.
class Fd {
  public:
    explicit Fd(int fd = -1) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    [[nodiscard]] int get() const noexcept { return fd_; }
    int close_checked() noexcept {
        const int r = fd_ >= 0 ? ::close(fd_) : 0;
        fd_ = -1;
        return r;
    }
    void reset() noexcept { (void)close_checked(); }

  private:
    int fd_;
};

Error io_error(std::string_view rule, std::string what, const std::filesystem::path& path, int err) {
    return make_error(ErrorKind::io, rule, what + " " + quote(path.string()) + ": " + std::strerror(err));
}

Result<int> open_read(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(rules::io_open, "cannot open", path, errno);
    return fd;
}

bool starts_with_gguf(std::span<const std::uint8_t> first) {
    return first.size() >= 4 && first[0] == 'G' && first[1] == 'G' && first[2] == 'U' && first[3] == 'F';
}

Result<Format> detect_fd(int fd) {
    std::array<std::uint8_t, 4> magic{};
    ssize_t n = 0;
    do n = ::pread(fd, magic.data(), magic.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return make_error(ErrorKind::io, rules::io_read, std::string("cannot read: ") + std::strerror(errno));
    return starts_with_gguf({magic.data(), static_cast<std::size_t>(n)}) ? Format::gguf : Format::safetensors;
}

constexpr std::string_view kDtypeFields[] = {"dtype"};
constexpr std::string_view kShapeFields[] = {"batch", "layers", "kv_heads", "tokens", "head_dim"};
constexpr std::string_view kLayersFields[] = {"layers"};

Error mismatch(std::string_view rule, std::span<const std::string_view> fields, std::string message) {
    Error e = make_error(ErrorKind::tensor_mismatch, rule, std::move(message));
    e.fields = fields;
    return e;
}

/// A pattern split at its one placeholder.
struct Pattern {
    std::string_view prefix;
    std::string_view suffix;
};

std::optional<Pattern> split_pattern(std::string_view target) {
    const std::size_t at = target.find(kLayerPlaceholder);
    if (at == std::string_view::npos) return std::nullopt;
    const std::string_view suffix = target.substr(at + kLayerPlaceholder.size());
    if (suffix.find(kLayerPlaceholder) != std::string_view::npos) return std::nullopt;
    return Pattern{target.substr(0, at), suffix};
}

Status check_target(std::string_view target) {
    if (target.empty()) return make_error(ErrorKind::parse, rules::target, "the tensor name or pattern is empty");
    if (is_pattern(target) && !split_pattern(target))
        return make_error(ErrorKind::parse, rules::target,
                          "pattern " + quote(target) + " must hold `{layer}` exactly once");
    return {};
}

/// The layer number `name` has under `p`: the canonical decimal (no sign, no leading zero) between prefix and
/// suffix; nothing if it does not match.
std::optional<std::uint32_t> match_layer(const Pattern& p, std::string_view name) {
    if (name.size() <= p.prefix.size() + p.suffix.size() || !name.starts_with(p.prefix) || !name.ends_with(p.suffix))
        return std::nullopt;
    const std::string_view digits = name.substr(p.prefix.size(), name.size() - p.prefix.size() - p.suffix.size());
    if (digits.size() > 10 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > 0xffffffffULL) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

/// The tensors a pattern covers that exist, as (layer, index into header.tensors), in layer order; layers at or
/// past `layers` are left out.
std::vector<std::pair<std::uint32_t, std::size_t>> layer_tensors(const Header& h, const Pattern& p,
                                                                 std::uint64_t layers) {
    std::vector<std::pair<std::uint32_t, std::size_t>> found;
    for (std::size_t i = 0; i < h.tensors.size(); ++i)
        if (const auto layer = match_layer(p, h.tensors[i].name); layer && *layer < layers) found.emplace_back(*layer, i);
    std::sort(found.begin(), found.end());
    return found;
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

// ---------------------------------------------------------------------------------------------- atomic writes

constexpr std::size_t kCopyChunk = 8u << 20;    // copy_file_range per call
constexpr std::size_t kBufferSize = 1u << 20;   // the read/write fallback's one buffer

Status write_all(int fd, const char* data, std::size_t n, std::uint64_t offset) {
    while (n > 0) {
        const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return make_error(ErrorKind::io, rules::io_write, std::string("cannot write: ") + std::strerror(errno));
        data += w;
        n -= static_cast<std::size_t>(w);
        offset += static_cast<std::uint64_t>(w);
    }
    return {};
}

/// Copies src[from, from + len) to dst at `to`, in bounded chunks: copy_file_range, or pread/pwrite through one
/// fixed buffer where the kernel cannot. Holes (SEEK_DATA/SEEK_HOLE) are skipped: dst has been sized with
/// ftruncate, so they read back as the same zeros, and a sparse file stays sparse.
Status copy_range(int src, int dst, std::uint64_t from, std::uint64_t len, std::uint64_t to, std::uint64_t head,
                  const Progress& progress) {
    const std::uint64_t total = head + len;
    const std::uint64_t stop = from + len;
    bool use_copy_file_range = true;
    std::vector<char> buffer;
    std::uint64_t pos = from;
    while (pos < stop) {
        // The next data extent [pos, extent_end); the rest of the range when holes cannot be asked for.
        std::uint64_t extent_end = stop;
        const off_t data = ::lseek(src, static_cast<off_t>(pos), SEEK_DATA);
        if (data < 0 && errno == ENXIO) break;  // only a hole is left
        if (data >= 0) {
            pos = std::min<std::uint64_t>(static_cast<std::uint64_t>(data), stop);
            const off_t hole = ::lseek(src, data, SEEK_HOLE);
            if (hole >= 0) extent_end = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), stop);
        }
        while (pos < extent_end) {
            const std::uint64_t want = std::min<std::uint64_t>(extent_end - pos, kCopyChunk);
            std::uint64_t done = 0;
            if (use_copy_file_range) {
                loff_t in_off = static_cast<loff_t>(pos);
                loff_t out_off = static_cast<loff_t>(to + (pos - from));
                const ssize_t n = ::copy_file_range(src, &in_off, dst, &out_off, static_cast<std::size_t>(want), 0);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                              errno == EBADF || errno == EPERM)) {
                    use_copy_file_range = false;
                    continue;
                }
                if (n < 0) return make_error(ErrorKind::io, rules::io_write, std::string("cannot copy: ") + std::strerror(errno));
                if (n == 0) return make_error(ErrorKind::io, rules::io_read, "the source file shrank while being copied");
                done = static_cast<std::uint64_t>(n);
            } else {
                if (buffer.empty()) buffer.resize(kBufferSize);
                const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(want, buffer.size()));
                const ssize_t n = ::pread(src, buffer.data(), take, static_cast<off_t>(pos));
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return make_error(ErrorKind::io, rules::io_read, std::string("cannot read: ") + std::strerror(errno));
                if (n == 0) return make_error(ErrorKind::io, rules::io_read, "the source file shrank while being copied");
                if (Status st = write_all(dst, buffer.data(), static_cast<std::size_t>(n), to + (pos - from)); !st) return st;
                done = static_cast<std::uint64_t>(n);
            }
            pos += done;
            if (progress) progress(head + (pos - from), total);
        }
    }
    if (progress) progress(total, total);
    return {};
}

/// dst := head + src[from, from + len), atomically (temporary file in dst's folder, fsync, rename, fsync of the
/// folder). The temporary file's header is read back before the rename. On failure it is removed.
Status write_atomically(const std::filesystem::path& dst, const std::string& head, int src, std::uint64_t from,
                        std::uint64_t len, const WriteOptions& options) {
    std::filesystem::path dir = dst.parent_path();
    if (dir.empty()) dir = ".";
    std::string tmpl = (dir / ("." + dst.filename().string() + ".tmp-XXXXXX")).string();
    Fd out(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (out.get() < 0) return io_error(rules::io_open, "cannot create a temporary file in", dir, errno);
    const std::string tmp = tmpl;
    auto fail = [&](Error e) -> Status {
        out.reset();
        ::unlink(tmp.c_str());
        return e;
    };
    struct stat st {};
    if (::fstat(src, &st) == 0) (void)::fchmod(out.get(), st.st_mode & 07777);
    if (Status s = write_all(out.get(), head.data(), head.size(), 0); !s) return fail(std::move(s).error());
    if (::ftruncate(out.get(), static_cast<off_t>(head.size() + len)) != 0)
        return fail(io_error(rules::io_write, "cannot size", tmp, errno));
    if (Status s = copy_range(src, out.get(), from, len, head.size(), head.size(), options.progress); !s)
        return fail(std::move(s).error());
    if (::fsync(out.get()) != 0) return fail(io_error(rules::io_write, "cannot fsync", tmp, errno));
    if (Result<Header> back = read_header(out.get(), options.limits); !back) return fail(std::move(back).error());
    if (out.close_checked() != 0) return fail(io_error(rules::io_write, "cannot close", tmp, errno));
    if (::rename(tmp.c_str(), dst.c_str()) != 0) return fail(io_error(rules::io_write, "cannot rename onto", dst, errno));
    Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() < 0 || ::fsync(d.get()) != 0) return io_error(rules::io_write, "cannot fsync the folder", dir, errno);
    return {};
}

/// Rewrites src into dst with `metadata` in place of src's.
Status rewrite(int src, const Header& h, const std::vector<MetadataEntry>& metadata, const std::filesystem::path& dst,
               const WriteOptions& options) {
    std::string head;
    if (h.format == Format::safetensors) {
        head = safetensors::write_header(h, metadata);
    } else {
        Result<std::string> g = gguf::write_header(src, h, metadata);
        if (!g) return std::move(g).error();
        head = std::move(*g);
    }
    return write_atomically(dst, head, src, h.data_offset, h.file_size - h.data_offset, options);
}

}  // namespace

// ---------------------------------------------------------------------------------------------- public API

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

Result<Format> detect(const std::filesystem::path& path) {
    Result<int> fd = open_read(path);
    if (!fd) return std::move(fd).error();
    Fd owned(*fd);
    return detect_fd(owned.get());
}

Result<Header> read_header(int fd, const Limits& limits) {
    Result<Format> format = detect_fd(fd);
    if (!format) return std::move(format).error();
    return *format == Format::gguf ? gguf::read_header(fd, limits) : safetensors::read_header(fd, limits);
}

Result<Header> read_header(const std::filesystem::path& path, const Limits& limits) {
    Result<int> fd = open_read(path);
    if (!fd) return std::move(fd).error();
    Fd owned(*fd);
    return read_header(owned.get(), limits);
}

Result<Header> read_header(std::span<const std::uint8_t> bytes, const Limits& limits) {
    return starts_with_gguf(bytes) ? gguf::read_header(bytes, limits) : safetensors::read_header(bytes, limits);
}

bool is_pattern(std::string_view target) noexcept { return target.find(kLayerPlaceholder) != std::string_view::npos; }

std::string layer_tensor_name(std::string_view pattern, std::uint32_t layer) {
    std::string out;
    std::size_t from = 0;
    for (std::size_t at; (at = pattern.find(kLayerPlaceholder, from)) != std::string_view::npos;
         from = at + kLayerPlaceholder.size()) {
        out.append(pattern.substr(from, at - from));
        fib_quant_kv::detail::append_decimal(out, layer);
    }
    out.append(pattern.substr(from));
    return out;
}

std::vector<Error> check_descriptor(const Header& header, const KvTensorShapeV1& s, std::string_view target) {
    std::vector<Error> out;
    if (Status st = validate(s); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    if (Status st = check_target(target); !st) {
        out.push_back(std::move(st).error());
        return out;
    }
    const std::optional<Pattern> pattern = split_pattern(target);
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
    const auto found = layer_tensors(header, *pattern, s.layers);
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
        } else if (const std::optional<Pattern> p = split_pattern(d.target)) {
            const std::uint64_t layers = d.shape ? std::uint64_t{d.shape->layers} : std::uint64_t{1} << 32;
            for (const auto& [layer, index] : layer_tensors(header, *p, layers))
                d.tensors.push_back(header.tensors[index].name);
        }
        out.push_back(std::move(d));
    }
    return out;
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

namespace {

/// attach and detach: the source's header, `edit`ed metadata (a failure refuses), the rewrite.
template <class Edit>
Status edit_metadata(const std::filesystem::path& src, const std::filesystem::path& dst, std::string_view target,
                     const WriteOptions& options, Edit edit) {
    if (Status st = check_target(target); !st) return st;
    Result<int> fd = open_read(src);
    if (!fd) return std::move(fd).error();
    Fd owned(*fd);
    Result<Header> h = read_header(owned.get(), options.limits);
    if (!h) return std::move(h).error();
    std::vector<MetadataEntry> metadata = h->metadata;
    const std::string key = detail::descriptor_key(target);
    const auto it = std::find_if(metadata.begin(), metadata.end(), [&](const MetadataEntry& e) { return e.key == key; });
    if (Status st = edit(*h, metadata, it, key); !st) return st;
    return rewrite(owned.get(), *h, metadata, dst, options);
}

}  // namespace

Status attach(const std::filesystem::path& src, const std::filesystem::path& dst, const KvTensorShapeV1& shape,
              std::string_view target, const WriteOptions& options) {
    return edit_metadata(src, dst, target, options,
                         [&](const Header& h, std::vector<MetadataEntry>& metadata,
                             std::vector<MetadataEntry>::iterator it, const std::string& key) -> Status {
                             if (std::vector<Error> errors = check_descriptor(h, shape, target); !errors.empty())
                                 return std::move(errors.front());
                             MetadataEntry entry;
                             entry.key = key;
                             entry.value.type = ValueType::string;
                             entry.value.text = to_json(shape);
                             if (it != metadata.end()) *it = std::move(entry);  // in place
                             else metadata.push_back(std::move(entry));
                             return {};
                         });
}

Status detach(const std::filesystem::path& src, const std::filesystem::path& dst, std::string_view target,
              const WriteOptions& options) {
    return edit_metadata(src, dst, target, options,
                         [&](const Header&, std::vector<MetadataEntry>& metadata,
                             std::vector<MetadataEntry>::iterator it, const std::string&) -> Status {
                             if (it == metadata.end())
                                 return make_error(ErrorKind::tensor_mismatch, rules::not_attached,
                                                   "no descriptor is attached to " + quote(target));
                             metadata.erase(it);
                             return {};
                         });
}

}  // namespace fib_quant_kv::checkpoint
