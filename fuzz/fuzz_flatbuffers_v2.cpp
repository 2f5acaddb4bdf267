// libFuzzer target: the v2 cache spec's FlatBuffers reader (a trust boundary: buffers arrive from other
// processes and files), its fast and general paths, and everything downstream of it.
//   * parse_kv_cache_spec_v2_flatbuffer (Verifier and decode in one pass) never crashes and answers exactly as
//     detail::parse_kv_cache_spec_v2_flatbuffer_general (flatc's Verifier over the whole buffer first), with the
//     default limits and with tight ones; every rejection is a typed parse Error with a UTF-8 message that names
//     the path it gives in Error::path;
//   * what it accepts round-trips: to_flatbuffer() reads back to the same spec and is a fixed point, and the
//     JSON path agrees: to_json() read by parse_kv_cache_spec_v2_json is the same spec;
//   * verify_kv_cache_spec_v2_buffer() is the decode and then validate(): the same first error, or ok and the
//     same digest as the spec read from JSON;
//   * the zero-copy view (view_kv_cache_spec_v2, and its general path) is made exactly when the decode succeeds,
//     with the same Error otherwise; it copies out to the decoded spec, and validate(), validate_all(), digest(),
//     the canonical encoding and the byte counts answer through it as for the decoded spec.
// Seeds: tests/data/spec_v2_inputs.jsonl written as FQK2 buffers by kvshape (fuzz/make_spec_v2_fb_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"
#include "fuzz_support.hpp"

namespace fqk = fib_quant_kv;
using fqk::detail::is_valid_utf8;

namespace {

template <class T>
bool same(const fqk::Result<T>& a, const fqk::Result<T>& b) {
    if (a.ok() != b.ok()) return false;
    return a.ok() ? *a == *b : a.error() == b.error();
}

bool same(const fqk::Status& a, const fqk::Status& b) {
    if (a.ok() != b.ok()) return false;
    return a.ok() || a.error() == b.error();
}

/// The view of `buffer` answers as `decoded` (the decoder's answer) does.
void view_agrees(const std::vector<std::uint8_t>& buffer, const fqk::FlatBufferLimits& limits,
                 const fqk::Result<fqk::KvCacheSpecV2>& decoded) {
    const fqk::Result<fqk::KvCacheSpecV2View> view = fqk::view_kv_cache_spec_v2(buffer, limits);
    const fqk::Result<fqk::KvCacheSpecV2View> general = fqk::detail::view_kv_cache_spec_v2_general(buffer, limits);
    FQK_REQUIRE(view.ok() == decoded.ok() && general.ok() == decoded.ok());
    if (!decoded.ok()) {
        FQK_REQUIRE(view.error() == decoded.error() && general.error() == decoded.error());
        return;
    }
    FQK_REQUIRE(fqk::to_native(*view) == *decoded && fqk::to_native(*general) == *decoded);
    FQK_REQUIRE(same(fqk::validate(*view), fqk::validate(*decoded)));
    FQK_REQUIRE(fqk::validate_all(*view) == fqk::validate_all(*decoded));
    FQK_REQUIRE(same(fqk::digest(*view), fqk::digest(*decoded)));
    FQK_REQUIRE(fqk::canonical_encoding(*view) == fqk::canonical_encoding(*decoded));
    FQK_REQUIRE(same(fqk::bytes_held(*view), fqk::bytes_held(*decoded)));
    FQK_REQUIRE(same(fqk::bytes_per_token(*view), fqk::bytes_per_token(*decoded)));
}

fqk::Result<fqk::KvCacheSpecV2> both_paths(const std::vector<std::uint8_t>& buffer, const fqk::FlatBufferLimits& limits) {
    fqk::Result<fqk::KvCacheSpecV2> fast = fqk::parse_kv_cache_spec_v2_flatbuffer(buffer, limits);
    const fqk::Result<fqk::KvCacheSpecV2> general = fqk::detail::parse_kv_cache_spec_v2_flatbuffer_general(buffer, limits);
    FQK_REQUIRE(fast.ok() == general.ok());
    if (fast.ok()) {
        FQK_REQUIRE(*fast == *general);
    } else {
        const fqk::Error& e = fast.error();
        FQK_REQUIRE(e == general.error());
        fqk::fuzz::require_typed_parse_error(e);
        FQK_REQUIRE(is_valid_utf8(e.path));
        if (!e.path.empty()) FQK_REQUIRE(e.message.find(e.path) != std::string::npos);
    }
    view_agrees(buffer, limits, fast);
    return fast;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> buffer(data, data + size);  // aligned, as a reader's own copy would be
    fqk::FlatBufferLimits tight;
    tight.max_depth = 2;
    tight.max_tables = 6;
    (void)both_paths(buffer, tight);
    const fqk::Result<fqk::KvCacheSpecV2> spec = both_paths(buffer, {});
    const fqk::Result<fqk::KvCacheSpecV2> verified = fqk::verify_kv_cache_spec_v2_buffer(buffer);
    if (!spec) {
        FQK_REQUIRE(!verified.ok() && verified.error() == spec.error());
        return 0;
    }
    // The writer: reads back the same, and is a fixed point.
    const std::vector<std::uint8_t> written = fqk::to_flatbuffer(*spec);
    const fqk::Result<fqk::KvCacheSpecV2> again = both_paths(written, {});
    FQK_REQUIRE(again.ok() && *again == *spec);
    FQK_REQUIRE(fqk::to_flatbuffer(*again) == written);
    // The JSON path agrees.
    const std::string json = fqk::to_json(*spec);
    FQK_REQUIRE(is_valid_utf8(json));
    const fqk::Result<fqk::KvCacheSpecV2> from_json = fqk::parse_kv_cache_spec_v2_json(json);
    FQK_REQUIRE(from_json.ok() && *from_json == *spec);
    // verify_*_buffer is the decode, then validate().
    const fqk::Status st = fqk::validate(*spec);
    FQK_REQUIRE(st.ok() == verified.ok());
    if (st.ok()) {
        FQK_REQUIRE(*verified == *spec);
        const fqk::Result<fqk::Digest> d = fqk::digest(*spec);
        FQK_REQUIRE(d.ok() && d.value() == fqk::digest(*from_json).value());
    } else {
        FQK_REQUIRE(verified.error() == st.error());
    }
    return 0;
}
