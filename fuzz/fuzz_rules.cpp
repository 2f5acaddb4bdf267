// libFuzzer target: validation's hot and cold paths on arbitrary field values. validate() answers "valid" from
// one pass of compares (satisfies_*) and builds an Error only on failure, by walking the rules in order (the
// cold chain). Both are rendered from the same rules; this holds them together on every value the fields can
// hold, enum codes the schema does not know included:
//   * validate() is ok exactly when validate_all() is empty, and otherwise its Error is validate_all()'s first;
//   * validate_block_dim() is validate() first, then the block rule;
//   * the schema id rule fails exactly when std::string's compare says the id differs (any one byte changed);
//   * no path throws (the cold path throws only if the two chains disagree).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;

namespace {

/// Takes the next `n` bytes of the input (zeros past its end).
class Bytes {
  public:
    Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    template <class T>
    T take() {
        unsigned char raw[sizeof(T)] = {};
        const std::size_t n = size_ - at_ < sizeof(T) ? size_ - at_ : sizeof(T);
        if (n > 0) std::memcpy(raw, data_ + at_, n);
        at_ += n;
        T v;
        std::memcpy(&v, raw, sizeof v);
        return v;
    }
    /// A small integer usually, sometimes any: overflow and divisibility need both.
    std::uint32_t dim() {
        const auto selector = take<std::uint8_t>();
        const auto v = take<std::uint32_t>();
        return (selector & 3) == 0 ? v : v % 9;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Bytes in(data, size);
    fqk::KvTensorShapeV1 s;
    const auto flags = in.take<std::uint8_t>();
    if (flags & 1) s.schema_version.back() = static_cast<char>(in.take<std::uint8_t>());
    if (flags & 4) {  // any one byte of the id, or one more at its end
        const std::size_t at = in.take<std::uint8_t>() % (s.schema_version.size() + 1);
        const auto byte = static_cast<char>(in.take<std::uint8_t>());
        if (at == s.schema_version.size()) s.schema_version.push_back(byte);
        else s.schema_version[at] = byte;
    }
    if (flags & 2) s.schema_version.clear();
    s.role = static_cast<fqk::KvRole>(in.take<std::uint8_t>() % 4);
    s.attention_kind = static_cast<fqk::KvAttentionKind>(in.take<std::uint8_t>() % 5);
    s.batch = in.dim();
    s.layers = in.dim();
    s.kv_heads = in.dim();
    s.query_heads = in.dim();
    s.tokens = in.dim();
    s.head_dim = in.dim();
    s.dtype = static_cast<fqk::KvDType>(in.take<std::uint8_t>() % 5);
    s.rope_state = static_cast<fqk::KvRopeState>(in.take<std::uint8_t>() % 5);
    const std::uint32_t block_dim = in.dim();

    const fqk::Status first = fqk::validate(s);
    const std::vector<fqk::Error> all = fqk::validate_all(s);
    FQK_REQUIRE(first.ok() == all.empty());
    if (!first.ok()) FQK_REQUIRE(first.error() == all.front());
    for (const fqk::Error& e : all) FQK_REQUIRE(!e.rule.empty() && fqk::detail::is_valid_utf8(e.message));
    // The schema id rule against std::string's own compare (both chains compare through equals_constant).
    bool version_refused = false;
    for (const fqk::Error& e : all) version_refused |= e.rule == "schema_version.matches";
    FQK_REQUIRE(version_refused == (s.schema_version != std::string(fqk::kKvTensorShapeV1SchemaId)));

    const fqk::Status blocked = fqk::validate_block_dim(s, block_dim);
    if (!first.ok()) {
        FQK_REQUIRE(!blocked.ok() && blocked.error() == first.error());
    } else {
        const bool divisible = block_dim != 0 && s.head_dim % block_dim == 0;
        FQK_REQUIRE(blocked.ok() == divisible);
        if (!divisible) FQK_REQUIRE(blocked.error().rule == "head_dim.block_divisible");
    }
    FQK_REQUIRE(fqk::digest(s).ok() == first.ok());
    return 0;
}
