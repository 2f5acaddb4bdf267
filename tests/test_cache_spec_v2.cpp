// The v2 cache spec (schema/kv_cache_spec_v2.yaml): JSON form with optional fields, nested structs and bounded
// arrays; every rule with its path; the byte counts, each worked out by hand in a comment; the canonical
// encoding built byte by byte here (docs/digest.md) and the digests from tests/data/spec_v2_vectors.jsonl
// (Python struct + xxhsum, tests/data/make_spec_v2_vectors.py).
#define BOOST_TEST_MODULE cache_spec_v2
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include "fib_quant_kv/cache_spec.hpp"
#include "fib_quant_kv/fib_quant_kv.hpp"
#include "internal/composite.hpp"

namespace fqk = fib_quant_kv;

BOOST_TEST_DONT_PRINT_LOG_VALUE(fib_quant_kv::KvCacheSpecV2)
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<std::uint64_t>)

namespace {

const std::string kHead = R"({"schema_version":"fib_quant_kv_cache_spec_v2",)";

/// A Gemma-style cache as vLLM pages it: five sliding-window layers, then one full layer, K and V stacked.
const std::string kGemmaLike =
    kHead + R"("layers":6,"batch":1,"tokens":1000,"groups":[)"
            R"({"layers":[0,1,2,3,4],"attention":"sliding_window","window":512,"kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"},)"
            R"({"layers":[5],"attention":"full","kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],)"
            R"("storage":{"dim_order":["kv","block","token","head","dim"],"packing":"stacked","block_size":16,"value_layout":"rows"},)"
            R"("quant":{"scheme":"none","dtype":"bf16","scale_granularity":"none"}})";

/// A DeepSeek-style MLA cache: one latent of 512 + 64 per token, fp8 with one f32 scale per tensor.
const std::string kMla =
    kHead + R"("layers":3,"batch":2,"tokens":100,"groups":[)"
            R"({"layers":[0,1,2],"attention":"mla","kv_lora_rank":512,"qk_rope_head_dim":64,"kv_heads":1,"key_head_dim":576,"value_head_dim":0,"rope_state":"post_rope"}],)"
            R"("storage":{"dim_order":["layer","batch","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},)"
            R"("quant":{"scheme":"fp8_e4m3","dtype":"bf16","scale_granularity":"tensor","scale_dtype":"f32"}})";

/// A llama.cpp-style q8_0 cache with V transposed.
const std::string kQ8 =
    kHead + R"("layers":2,"batch":1,"tokens":10,"groups":[)"
            R"({"layers":[1,0],"attention":"full","kv_heads":8,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],)"
            R"("storage":{"dim_order":["layer","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"transposed"},)"
            R"("quant":{"scheme":"q8_0","dtype":"f16","scale_granularity":"none"}})";

/// A hybrid: one full layer and two linear-attention layers with 1000 bytes of state each.
const std::string kHybrid =
    kHead + R"("layers":3,"batch":3,"tokens":5,"groups":[)"
            R"({"layers":[0],"attention":"full","kv_heads":1,"key_head_dim":64,"value_head_dim":64,"rope_state":"pre_rope"},)"
            R"({"layers":[1,2],"attention":"linear","state_bytes":1000,"kv_heads":0,"key_head_dim":0,"value_head_dim":0,"rope_state":"not_applicable"}],)"
            R"("storage":{"dim_order":["layer","batch","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},)"
            R"("quant":{"scheme":"none","dtype":"f16","scale_granularity":"none"}})";

/// int4 with one f16 scale per 32 channels.
const std::string kInt4 =
    kHead + R"("layers":1,"batch":1,"tokens":1,"groups":[)"
            R"({"layers":[0],"attention":"chunked_local","chunk":8192,"kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}],)"
            R"("storage":{"dim_order":["layer","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},)"
            R"("quant":{"scheme":"int4","dtype":"bf16","scale_granularity":"group","group_size":32,"scale_dtype":"f16"}})";

fqk::KvCacheSpecV2 parse(const std::string& json) {
    fqk::Result<fqk::KvCacheSpecV2> r = fqk::parse_kv_cache_spec_v2_json(json);
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().describe()));
    return std::move(r).value();
}

fqk::Error parse_error(const std::string& json) {
    fqk::Result<fqk::KvCacheSpecV2> r = fqk::parse_kv_cache_spec_v2_json(json);
    BOOST_TEST_REQUIRE(!r.ok());
    return std::move(r).error();
}

fqk::Error first_violation(const std::string& json) {
    fqk::Status s = fqk::validate(parse(json));
    BOOST_TEST_REQUIRE(!s.ok());
    return std::move(s).error();
}

/// `text` with the first `from` replaced by `to` (which must be there).
std::string edit(std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, from);
    return text.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_form)

BOOST_AUTO_TEST_CASE(canonical_text_round_trips_byte_for_byte) {
    for (const std::string* doc : {&kGemmaLike, &kMla, &kQ8, &kHybrid, &kInt4}) {
        const fqk::KvCacheSpecV2 spec = parse(*doc);
        BOOST_TEST(fqk::to_json(spec) == *doc);
        BOOST_TEST(parse(fqk::to_json(spec)) == spec);
        BOOST_TEST(fqk::validate(spec).ok(), (fqk::validate(spec).ok() ? "" : fqk::validate(spec).error().describe()));
    }
}

BOOST_AUTO_TEST_CASE(fields_and_nesting_as_read) {
    const fqk::KvCacheSpecV2 spec = parse(kGemmaLike);
    BOOST_TEST(spec.groups.size() == 2U);
    BOOST_TEST((spec.groups[0].attention == fqk::KvLayerAttention::sliding_window));
    BOOST_TEST(spec.groups[0].window.has_value());
    BOOST_TEST(*spec.groups[0].window == 512U);
    BOOST_TEST(!spec.groups[1].window.has_value());
    BOOST_TEST(spec.storage.dim_order.size() == 5U);
    BOOST_TEST((spec.storage.dim_order[1] == fqk::KvDim::block));
    BOOST_TEST((spec.quant.dtype == fqk::KvDType::bf16));  // v1's enum, by reference
    BOOST_TEST(!spec.quant.group_size.has_value());
}

BOOST_AUTO_TEST_CASE(absent_is_not_zero) {
    // null and a missing key read as absent, and the writer leaves the field out; 0 is a value.
    const std::string with_null = edit(kGemmaLike, R"("attention":"full",)", R"("attention":"full","window":null,)");
    BOOST_TEST(parse(with_null) == parse(kGemmaLike));
    BOOST_TEST(fqk::to_json(parse(with_null)) == kGemmaLike);
    const std::string with_zero = edit(kGemmaLike, R"("window":512)", R"("window":0)");
    const fqk::KvCacheSpecV2 zero = parse(with_zero);
    BOOST_TEST(zero.groups[0].window.has_value());
    BOOST_TEST(*zero.groups[0].window == 0U);
    BOOST_TEST(fqk::to_json(zero) == with_zero);
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_ignored_in_any_order) {
    const std::string reordered =
        R"({"quant":{"scale_granularity":"none","dtype":"bf16","scheme":"none","future":[1,{"x":null}]},"tokens":1000,)"
        R"("batch":1,"layers":6,"schema_version":"fib_quant_kv_cache_spec_v2","storage":{"value_layout":"rows","block_size":16,)"
        R"("packing":"stacked","dim_order":["kv","block","token","head","dim"]},"groups":[)"
        R"({"rope_state":"post_rope","value_head_dim":128,"key_head_dim":128,"kv_heads":2,"window":512,"attention":"sliding_window","layers":[0,1,2,3,4]},)"
        R"({"layers":[5],"attention":"full","kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}]})";
    BOOST_TEST(fqk::to_json(parse(reordered)) == kGemmaLike);
}

BOOST_AUTO_TEST_CASE(parse_errors_name_the_path) {
    fqk::Error e = parse_error(edit(kGemmaLike, R"("window":512)", R"("window":"512")"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_invalid_type);
    BOOST_TEST(e.path == "groups[0].window");
    BOOST_TEST(e.message == R"(field `groups[0].window`: invalid type: string "512", expected u32)");
    BOOST_TEST((e.kind == fqk::ErrorKind::parse));

    e = parse_error(edit(kGemmaLike, R"("block_size":16)", R"("block_size":4294967296)"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_invalid_value);
    BOOST_TEST(e.message == "field `storage.block_size`: invalid value: integer `4294967296`, expected u32");

    e = parse_error(edit(kGemmaLike, R"("block_size":16)", R"("block_size":16.0)"));
    BOOST_TEST(e.message == "field `storage.block_size`: invalid type: floating point `16.0`, expected u32");

    e = parse_error(edit(kGemmaLike, R"("block_size":16)", R"("block_size":-0)"));
    BOOST_TEST(e.message == "field `storage.block_size`: invalid type: floating point `-0`, expected u32");

    e = parse_error(edit(kGemmaLike, R"("packing":"stacked")", R"("packing":"interleaved")"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_unknown_variant);
    BOOST_TEST(e.message == "field `storage.packing`: unknown variant \"interleaved\", expected one of `separate`, `stacked`");

    e = parse_error(edit(kGemmaLike, R"("dim_order":["kv",)", R"("dim_order":["kv",7,)"));
    BOOST_TEST(e.path == "storage.dim_order[1]");
    BOOST_TEST(e.message == "field `storage.dim_order[1]`: invalid type: integer `7`, expected enum KvDim");

    e = parse_error(edit(kGemmaLike, R"("tokens":1000,)", ""));
    BOOST_TEST(e.rule == fqk::wire_rules::json_missing_field);
    BOOST_TEST(e.message == "missing field `tokens`");

    e = parse_error(edit(kGemmaLike, R"("layers":[5],"attention":"full",)", R"("layers":[5],)"));
    BOOST_TEST(e.message == "missing field `attention`");
    BOOST_TEST(e.path == "groups[1]");

    e = parse_error(edit(kGemmaLike, R"("batch":1,)", R"("batch":1,"batch":2,)"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_duplicate_field);
    BOOST_TEST(e.message == "field `batch`: duplicate field `batch`");

    e = parse_error(edit(kGemmaLike, R"("storage":{)", R"("storage":[)"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_syntax);

    e = parse_error(edit(kGemmaLike, R"("storage":{"dim_order")", R"("storage":["dim_order"]")"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_syntax);

    e = parse_error(kGemmaLike + " x");
    BOOST_TEST(e.rule == fqk::wire_rules::json_syntax);

    e = parse_error("[]");
    BOOST_TEST(e.rule == fqk::wire_rules::json_invalid_type);
    BOOST_TEST(e.message == "invalid type: sequence, expected struct KvCacheSpecV2 (a JSON object)");

    e = parse_error(std::string("{\"a\":\"\xff\"}"));
    BOOST_TEST(e.rule == fqk::wire_rules::json_syntax);

    e = parse_error(std::string(100, '[') + std::string(100, ']'));
    BOOST_TEST(e.rule == fqk::wire_rules::json_syntax);
    BOOST_TEST(e.message == "invalid JSON: nested deeper than 64");
}

BOOST_AUTO_TEST_CASE(lone_surrogate_escapes_are_refused_wherever_they_are) {
    // RapidJSON decodes a lone low surrogate escape to the bytes ED B7 9D (for \udddd), which are not UTF-8. Found
    // by fuzz/fuzz_spec_v2.cpp: the text reached an error message, which then was not UTF-8 either. Each place a
    // string can be (a value read, a key, a value skipped, the version) is refused as a syntax error.
    const std::string cases[] = {
        edit(kGemmaLike, R"("packing":"stacked")", R"("packing":"\udddd")"),                // an enum value
        edit(kGemmaLike, R"("packing":"stacked")", R"("packing":"st\udc00acked")"),
        edit(kGemmaLike, R"("packing":"stacked")", R"("\udddd":1,"packing":"stacked")"),   // a key
        edit(kGemmaLike, R"("packing":"stacked")", R"("note":"\udfff","packing":"stacked")"),  // skipped
        edit(kGemmaLike, R"("window":512)", R"("window":"\udddd")"),                        // the wrong type
        edit(kGemmaLike, R"("fib_quant_kv_cache_spec_v2")", R"("fib_quant_kv_cache_spec_v2\udddd")"),
    };
    for (const std::string& json : cases) {
        const fqk::Error e = parse_error(json);
        BOOST_TEST(e.rule == fqk::wire_rules::json_syntax, json);
        BOOST_TEST(e.message == "invalid JSON: lone surrogate in a \\u escape");
        BOOST_TEST(fqk::detail::is_valid_utf8(e.describe()));
    }
    // A pair is a character: U+1F600 as \ud83d\ude00 reads, in a value that is skipped.
    BOOST_TEST(fqk::parse_kv_cache_spec_v2_json(
                   edit(kGemmaLike, R"("packing":"stacked")", R"("note":"\ud83d\ude00","packing":"stacked")")).ok());
    // The version peek (how readers of several schemas tell them apart) finds no version in such text.
    BOOST_TEST(!fqk::json_schema_version(R"({"schema_version":"v\udddd"})").has_value());
    BOOST_TEST(fqk::json_schema_version(R"({"schema_version":"v\u00e9"})").value() == "v\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(arrays_past_their_bound_are_refused_before_they_are_stored) {
    std::string groups;
    for (int i = 0; i < 257; ++i) groups += std::string(i ? "," : "") + "{}";
    fqk::Error e = parse_error(kHead + R"("layers":1,"batch":1,"tokens":1,"groups":[)" + groups + "]}");
    BOOST_TEST(e.rule == fqk::wire_rules::json_invalid_length);
    BOOST_TEST(e.path == "groups");
    BOOST_TEST(e.message == "field `groups`: invalid length 257, expected at most 256 items");

    e = parse_error(edit(kGemmaLike, R"("dim_order":["kv",)", R"("dim_order":["kv","kv","kv","kv",)"));
    BOOST_TEST(e.message == "field `storage.dim_order`: invalid length 8, expected at most 7 items");
}

namespace {
/// The public reader answers as the general one; the fast path, where it answers, with the same value, and only
/// for what to_json() writes.
void paths_agree(const std::string& text) {
    const fqk::Result<fqk::KvCacheSpecV2> general = fqk::detail::parse_kv_cache_spec_v2_json_general(text);
    const fqk::Result<fqk::KvCacheSpecV2> parsed = fqk::parse_kv_cache_spec_v2_json(text);
    BOOST_TEST_REQUIRE(parsed.ok() == general.ok(), text);
    if (parsed.ok()) {
        BOOST_TEST((*parsed == *general), text);
    } else {
        BOOST_TEST((parsed.error() == general.error()), text);
    }
    if (const std::optional<fqk::KvCacheSpecV2> fast = fqk::detail::parse_kv_cache_spec_v2_json_fast(text)) {
        BOOST_TEST_REQUIRE(general.ok(), text);
        BOOST_TEST((*fast == *general), text);
        BOOST_TEST(fqk::to_json(*fast) == text);
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(fast_path_takes_the_canonical_form_and_agrees_with_the_general_reader) {
    for (const std::string* doc : {&kGemmaLike, &kMla, &kQ8, &kHybrid, &kInt4}) {
        BOOST_TEST(fqk::detail::parse_kv_cache_spec_v2_json_fast(*doc).has_value(), *doc);
        paths_agree(*doc);
        // Every prefix, and every byte replaced by each of a few that matter to a JSON reader.
        for (std::size_t n = 0; n < doc->size(); ++n) {
            paths_agree(doc->substr(0, n));
            for (const char c : {' ', '0', '9', '"', '\\', ',', '}', ']', '\0', '-', 'x', '\x80'}) {
                std::string mutated = *doc;
                mutated[n] = c;
                paths_agree(mutated);
            }
        }
    }
    // Layer lists on either side of the fast path's 256-item runs, and at and past the bound of 65536: the fast
    // path reads every canonical one, declines the one past the bound, and the general reader refuses it.
    for (const std::uint32_t n : {255U, 256U, 257U, 512U, 513U, 65536U, 65537U}) {
        std::string list;
        for (std::uint32_t i = 0; i < n; ++i) list += (i ? "," : "") + std::to_string(n - 1 - i);
        const std::string doc = edit(edit(kHybrid, R"("layers":3,)", R"("layers":)" + std::to_string(n) + ","),
                                     R"("layers":[0],)", R"("layers":[)" + list + "],");
        BOOST_TEST_CONTEXT("layers " << n) {
            const std::optional<fqk::KvCacheSpecV2> fast = fqk::detail::parse_kv_cache_spec_v2_json_fast(doc);
            BOOST_TEST(fast.has_value() == (n <= 65536U));
            if (fast) {
                BOOST_TEST_REQUIRE(fast->groups[0].layers.size() == n);
                BOOST_TEST(fast->groups[0].layers.front() == n - 1);
                BOOST_TEST(fast->groups[0].layers.back() == 0U);
            }
            paths_agree(doc);
        }
    }
    // What the fast path declines: each of these goes to the general reader, which decides it.
    for (const std::string& declined : {
             edit(kGemmaLike, R"("attention":"full",)", R"("attention":"full","window":null,)"),  // null
             edit(kGemmaLike, R"("layers":6,)", R"("layers":6,"layers":6,)"),                    // a key twice
             edit(kGemmaLike, R"("layers":6,)", R"("layers":6,"x":1,)"),                         // an unknown key
             edit(kGemmaLike, R"("layers":6,)", R"("layers": 6,)"),                              // whitespace
             edit(kGemmaLike, R"("layers":6,)", R"("layers":06,)"),                              // a leading zero
             edit(kGemmaLike, R"("layers":6,)", R"("layers":4294967296,)"),                      // past u32
             edit(kGemmaLike, R"("batch":1,)", ""),                                              // missing
             edit(kGemmaLike, R"("schema_version":"fib)", R"("schema_version":"\u0066ib)"),      // an escape
             edit(kGemmaLike, R"(["kv","block","token","head","dim"])",
                  R"(["kv","block","token","head","dim","layer","batch","kv"])"),                  // past the bound
             kGemmaLike + " ",
         }) {
        BOOST_TEST(!fqk::detail::parse_kv_cache_spec_v2_json_fast(declined).has_value(), declined);
        paths_agree(declined);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rules)

BOOST_AUTO_TEST_CASE(hostile_specs_get_typed_errors_with_paths) {
    struct Case {
        std::string from, to, rule, path, message;
        fqk::ErrorKind kind = fqk::ErrorKind::corrupt_payload;
    };
    const Case cases[] = {
        {R"("dim_order":["kv","block","token")", R"("dim_order":["kv","block","token","token")",
         "storage.dim_order.permutation", "storage.dim_order", "storage dim_order names a dimension twice"},
        {R"("window":512)", R"("window":0)", "group.window.nonzero", "groups[0].window", "a window must be > 0"},
        {R"("window":512)", R"("window":null)", "group.window.present", "groups[0].window",
         "a sliding_window group needs a window"},
        {R"("attention":"full",)", R"("attention":"full","window":8,)", "group.window.absent", "groups[1].window",
         "only a sliding_window group has a window"},
        {R"("layers":[5])", R"("layers":[4])", "groups.partition", "groups",
         "the groups must hold each layer 0 to 6 - 1 exactly once"},
        {R"("layers":[5])", R"("layers":[5,6])", "groups.partition", "groups",
         "the groups must hold each layer 0 to 6 - 1 exactly once"},
        {R"("layers":[5])", R"("layers":[])", "groups.partition", "groups",
         "the groups must hold each layer 0 to 6 - 1 exactly once"},
        {R"("tokens":1000)", R"("tokens":0)", "tokens.nonzero", "tokens", "kv cache spec tokens must be > 0"},
        {R"("schema_version":"fib_quant_kv_cache_spec_v2")", R"("schema_version":"fib_quant_kv_tensor_shape_v1")",
         "schema_version.matches", "schema_version",
         "kv cache spec schema_version fib_quant_kv_tensor_shape_v1, expected fib_quant_kv_cache_spec_v2"},
        {R"("block_size":16)", R"("block_size":0)", "storage.contiguous.no_block_dim", "storage.dim_order",
         "a contiguous cache (block_size 0) has no block dimension in dim_order"},
        {R"(["kv","block","token")", R"(["block","token")", "storage.stacked.kv_dim", "storage.dim_order",
         "stacked K and V need a kv dimension in dim_order"},
        {R"("scale_granularity":"none")", R"("scale_granularity":"head")", "quant.unscaled", "quant.scale_granularity",
         "an unquantized cache or a ggml block type has no separate scales (scale_granularity none)"},
        {R"("rope_state":"post_rope"},)", R"("rope_state":"not_applicable"},)", "group.rope.declared",
         "groups[0].rope_state", "a group's keys must declare pre_rope or post_rope"},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.rule) {
            const fqk::Error e = first_violation(edit(kGemmaLike, c.from, c.to));
            BOOST_TEST(e.rule == c.rule);
            BOOST_TEST(e.path == c.path);
            BOOST_TEST(e.message == c.message);
            BOOST_TEST((e.kind == c.kind));
        }
    }
}

BOOST_AUTO_TEST_CASE(mla_is_one_latent_head_without_v) {
    fqk::Error e = first_violation(edit(kMla, R"("kv_heads":1)", R"("kv_heads":2)"));
    BOOST_TEST(e.rule == "group.mla.single_head");
    BOOST_TEST(e.path == "groups[0].kv_heads");
    BOOST_TEST(e.message == "an mla group holds one latent head, not 2");

    e = first_violation(edit(kMla, R"("key_head_dim":576)", R"("key_head_dim":512)"));
    BOOST_TEST(e.rule == "group.mla.latent_width");
    BOOST_TEST(e.message == "an mla group's key_head_dim 512 must be kv_lora_rank 512 + qk_rope_head_dim 64");

    e = first_violation(edit(kMla, R"("value_head_dim":0)", R"("value_head_dim":128)"));
    BOOST_TEST(e.rule == "group.mla.no_value");
    BOOST_TEST(e.message == "an mla group has no separate V: value_head_dim must be 0, not 128");

    e = first_violation(edit(kMla, R"("kv_lora_rank":512,)", ""));
    BOOST_TEST(e.rule == "group.mla.kv_lora_rank.present");
    BOOST_TEST(e.path == "groups[0].kv_lora_rank");
}

BOOST_AUTO_TEST_CASE(divisibility_reports_both_dimensions) {
    // q8_0 blocks are 32 elements: a head of 100 channels cannot be cut into them.
    fqk::Error e = first_violation(edit(kQ8, R"("key_head_dim":128)", R"("key_head_dim":100)"));
    BOOST_TEST(e.rule == "quant.block_divides_key");
    BOOST_TEST((e.kind == fqk::ErrorKind::dimension_not_divisible));
    BOOST_TEST(e.path == "groups[0].key_head_dim");
    BOOST_TEST(e.details.ambient_dim == 100U);
    BOOST_TEST(e.details.block_dim == 32U);
    BOOST_TEST(e.message == "key_head_dim 100 is not a multiple of the q8_0 block of 32");

    e = first_violation(edit(kInt4, R"("group_size":32)", R"("group_size":48)"));
    BOOST_TEST(e.rule == "quant.group_divides_key");
    BOOST_TEST(e.details.ambient_dim == 128U);
    BOOST_TEST(e.details.block_dim == 48U);

    e = first_violation(edit(kInt4, R"("group_size":32)", R"("group_size":0)"));
    BOOST_TEST(e.rule == "quant.group_size.nonzero");
    BOOST_TEST(e.path == "quant.group_size");
}

BOOST_AUTO_TEST_CASE(counts_past_2_64_are_resource_limit_exceeded) {
    // 4294967295 heads of 4294967295 channels of bf16: one layer's K row set is (2^32-1)^2 * 2 bytes, past 2^64.
    const std::string huge =
        edit(kGemmaLike, R"("kv_heads":2,"key_head_dim":128,"value_head_dim":128,"rope_state":"post_rope"}])",
             R"("kv_heads":4294967295,"key_head_dim":4294967295,"value_head_dim":128,"rope_state":"post_rope"}])");
    const fqk::Error e = first_violation(huge);
    BOOST_TEST(e.rule == "size_overflow");
    BOOST_TEST((e.kind == fqk::ErrorKind::resource_limit_exceeded));
    BOOST_TEST(e.message == "kv cache spec size overflow");
    BOOST_TEST(!fqk::bytes_held(parse(huge)).ok());
    BOOST_TEST(!fqk::bytes_per_token(parse(huge)).ok());

    // At the edge: 2^32-1 tokens of 2^32-1 sequences of one 2-byte element fit (< 2^65 - ...)? They do not:
    // (2^32-1)^2 * 2 = 2^65 - 2^34 + 2 > 2^64. One byte per element does: (2^32-1)^2 = 2^64 - 2^33 + 1.
    const std::string edge =
        kHead + R"("layers":1,"batch":4294967295,"tokens":4294967295,"groups":[)"
                R"({"layers":[0],"attention":"full","kv_heads":1,"key_head_dim":1,"value_head_dim":1,"rope_state":"post_rope"}],)"
                R"("storage":{"dim_order":["layer","batch","token","head","dim"],"packing":"separate","block_size":0,"value_layout":"rows"},)"
                R"("quant":{"scheme":"fp8_e4m3","dtype":"bf16","scale_granularity":"tensor","scale_dtype":"f32"}})";
    // K and V, 1 byte each per token: 2 * (2^32-1)^2 > 2^64: overflow.
    BOOST_TEST(first_violation(edge).rule == "size_overflow");
    const std::string edge_k_only = edit(edge, R"("value_head_dim":1)", R"("value_head_dim":0)");
    // value_head_dim 0 on a full group breaks group.value_head_dim.nonzero, but the count is defined: K only,
    // (2^32-1)^2 bytes + one f32 tensor scale = 2^64 - 2^33 + 5.
    const fqk::Result<std::uint64_t> held = fqk::bytes_held(parse(edge_k_only));
    BOOST_TEST_REQUIRE(held.ok());
    BOOST_TEST(*held == 0xFFFFFFFE00000001ULL + 4U);
    BOOST_TEST(first_violation(edge_k_only).rule == "group.value_head_dim.nonzero");
}

BOOST_AUTO_TEST_CASE(validate_all_reports_every_violation_in_order) {
    std::string bad = edit(kGemmaLike, R"("tokens":1000)", R"("tokens":0)");
    bad = edit(bad, R"("window":512)", R"("window":0)");
    bad = edit(bad, R"("dim_order":["kv","block","token")", R"("dim_order":["kv","block","token","token")");
    const std::vector<fqk::Error> all = fqk::validate_all(parse(bad));
    BOOST_TEST_REQUIRE(all.size() == 3U);
    BOOST_TEST(all[0].rule == "tokens.nonzero");  // the root's own rules first
    BOOST_TEST(all[1].path == "groups[0].window");  // then the groups, in order
    BOOST_TEST(all[2].path == "storage.dim_order");  // then storage
    BOOST_TEST(all[1].describe() == "corrupt_payload [group.window.nonzero] (groups[0].window): a window must be > 0");
}

BOOST_AUTO_TEST_CASE(unknown_codes_are_refused_not_indexed) {
    fqk::KvCacheSpecV2 spec = parse(kGemmaLike);
    spec.groups[1].attention = static_cast<fqk::KvLayerAttention>(200);
    fqk::Status s = fqk::validate(spec);
    BOOST_TEST_REQUIRE(!s.ok());
    BOOST_TEST(s.error().rule == "group.attention.known");
    BOOST_TEST(s.error().path == "groups[1].attention");
    spec = parse(kGemmaLike);
    spec.storage.dim_order[0] = static_cast<fqk::KvDim>(99);
    BOOST_TEST(fqk::validate(spec).error().rule == "storage.dim_order.known");
    spec = parse(kGemmaLike);
    spec.quant.scheme = static_cast<fqk::KvQuantScheme>(77);
    BOOST_TEST(fqk::validate(spec).error().rule == "quant.scheme.known");
    BOOST_TEST(fqk::to_json(spec).find(R"("scheme":"")") != std::string::npos);  // written, never indexed past the table
}

BOOST_AUTO_TEST_CASE(partition_at_every_size_boundary) {
    // The partition rule takes three paths by the layer count (up to 64, up to 16384, past it), so each size on
    // either side of a boundary is tried: one full group of every layer in reverse, then the same with one layer
    // named twice (the count still right), one past the last, one at u32 max, and one whose low 6 bits (or
    // whose word once clamped) alias the missing layer's bit.
    const auto with_layers = [](std::uint32_t n, auto&& edit_layers) {
        fqk::KvCacheSpecV2 spec = parse(kHybrid);
        spec.layers = n;
        spec.groups.resize(1);
        spec.groups[0].layers.clear();
        for (std::uint32_t i = n; i-- > 0;) spec.groups[0].layers.push_back(i);
        edit_layers(spec.groups[0].layers);
        return fqk::validate(spec);
    };
    const auto partition_error = [](const fqk::Status& s) {
        return !s.ok() && s.error().rule == "groups.partition" && s.error().path == "groups";
    };
    for (const std::uint32_t n : {1U, 2U, 63U, 64U, 65U, 127U, 128U, 16383U, 16384U, 16385U, 65536U}) {
        BOOST_TEST_CONTEXT("layers " << n) {
            BOOST_TEST(with_layers(n, [](std::vector<std::uint32_t>&) {}).ok());
            // layer 0 (last in the list) is missing, layer n - 1 (first) is named twice
            if (n > 1) {
                BOOST_TEST(partition_error(with_layers(n, [&](std::vector<std::uint32_t>& v) { v.back() = n - 1; })));
            }
            BOOST_TEST(partition_error(with_layers(n, [&](std::vector<std::uint32_t>& v) { v.back() = n; })));
            BOOST_TEST(partition_error(with_layers(n, [](std::vector<std::uint32_t>& v) { v.back() = 0xFFFFFFFFU; })));
            // 0 + 64 x k, past the last layer, sets the bit of the missing layer 0 where bits are taken mod 64
            const std::uint32_t alias = n + 64U - n % 64U;
            BOOST_TEST(partition_error(with_layers(n, [&](std::vector<std::uint32_t>& v) { v.back() = alias; })));
            // one layer fewer or more than the count
            BOOST_TEST(partition_error(with_layers(n, [](std::vector<std::uint32_t>& v) { v.pop_back(); })));
            BOOST_TEST(partition_error(with_layers(n, [&](std::vector<std::uint32_t>& v) { v.push_back(n); })));
        }
    }
}

BOOST_AUTO_TEST_CASE(layer_lists_of_every_digit_count_through_both_readers) {
    // Integers of every digit count, at and past u32 and u64, with leading zeros, signs, fractions, escapes and
    // stray bytes: the fast reader's integer runs must answer as the general reader does. Each token stands as
    // the second layer index, then as the last item before `]`, and the spec is also cut short around it.
    const std::vector<std::string> tokens{"0", "1", "9", "10", "99", "100", "1234567", "9999999", "12345678",
                                          "99999999", "123456789", "4294967295", "4294967296", "18446744073709551615",
                                          "18446744073709551616", "00", "01", "007", "0000000", "00000001", "-1",
                                          "1.5", "1e3", "1a", "2,", "", " 3", "3 ", "9\u0030", "\u0031"};
    for (const std::string& t : tokens) {
        for (const bool last : {false, true}) {
            const std::string list = last ? "[0," + t + "]" : "[0," + t + ",1]";
            const std::string doc = edit(kHybrid, R"("layers":[0],)", R"("layers":)" + list + ",");
            BOOST_TEST_CONTEXT("list " << list) {
                json_form::paths_agree(doc);
                const std::size_t at = doc.find(list) + list.size() - 1;
                for (std::size_t cut = at - 1; cut <= at + 1 && cut <= doc.size(); ++cut) json_form::paths_agree(doc.substr(0, cut));
            }
        }
    }
    // integers of 1 to 7 digits read back exactly
    std::string list = "[";
    std::vector<std::uint32_t> want;
    for (std::uint32_t v : {3U, 47U, 512U, 6143U, 70001U, 819200U, 9999999U, 1000000U, 7654321U}) {
        list += (want.empty() ? "" : ",") + std::to_string(v);
        want.push_back(v);
    }
    list += "]";
    const std::string doc = edit(kHybrid, R"("layers":[0],)", R"("layers":)" + list + ",");
    const std::optional<fqk::KvCacheSpecV2> fast = fqk::detail::parse_kv_cache_spec_v2_json_fast(doc);
    BOOST_TEST_REQUIRE(fast.has_value());
    BOOST_TEST(fast->groups[0].layers == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(partition_across_groups_at_every_position_of_the_eight_value_runs) {
    // Up to 64 layers, each group's list is read eight values at a time where the CPU allows it, the last
    // eight read again when the list is not a multiple of eight. So groups of 1 to 17 layers (two groups
    // holding 0..n-1 between them) are tried with every position of either group replaced by a value that
    // breaks the partition: a layer named twice, the count itself, u32 max, and the missing layer + 64.
    const auto spec_of = [](const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
        fqk::KvCacheSpecV2 spec = parse(kGemmaLike);
        spec.layers = static_cast<std::uint32_t>(a.size() + b.size());
        spec.groups[0].layers = a;
        spec.groups[1].layers = b;
        return spec;
    };
    for (std::uint32_t na = 1; na <= 17; ++na) {
        for (std::uint32_t nb = 1; nb <= 17 && na + nb <= 64; nb += 3) {
            const std::uint32_t n = na + nb;
            std::vector<std::uint32_t> a, b;
            for (std::uint32_t i = 0; i < na; ++i) a.push_back(n - 1 - i);  // the top layers, in reverse
            for (std::uint32_t i = 0; i < nb; ++i) b.push_back(i);
            BOOST_TEST_CONTEXT("groups of " << na << " and " << nb) {
                BOOST_TEST(fqk::validate(spec_of(a, b)).ok());
                for (std::size_t pos = 0; pos < n; ++pos) {
                    std::vector<std::uint32_t>& list = pos < na ? a : b;
                    const std::size_t at = pos < na ? pos : pos - na;
                    const std::uint32_t was = list[at];
                    for (const std::uint32_t bad : {was == 0 ? 1U : was - 1, n, 0xFFFFFFFFU, was + 64}) {
                        list[at] = bad;
                        const fqk::Status s = fqk::validate(spec_of(a, b));
                        BOOST_TEST((!s.ok() && s.error().rule == "groups.partition"), "position " << pos << " = " << bad);
                    }
                    list[at] = was;
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(mark_small_answers_as_its_portable_path_does) {
    // The eight-at-a-time path against the one-at-a-time one, on every length to 40 and values that are small,
    // at 63/64, at 2^31 (a signed compare would order it below 0) and at u32 max.
    std::uint64_t state = 0x9E3779B97F4A7C15ULL;
    const auto next = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    const std::uint32_t specials[] = {0, 1, 62, 63, 64, 65, 127, 0x80000000U, 0xFFFFFFFFU};
    for (std::size_t n = 0; n <= 40; ++n) {
        for (int round = 0; round < 50; ++round) {
            std::vector<std::uint32_t> v(n);
            for (std::uint32_t& x : v) {
                const std::uint64_t r = next();
                x = (r & 3) == 0 ? specials[(r >> 2) % std::size(specials)] : static_cast<std::uint32_t>((r >> 8) % 70);
            }
            fqk::detail::composite::SmallMarks fast{0x10, 3}, slow{0x10, 3};  // what earlier groups left
            fqk::detail::composite::mark_small(v.data(), v.size(), fast);
            fqk::detail::composite::testing::mark_small_portable(v.data(), v.size(), slow);
            std::uint64_t set = 0x10, max = 3;  // worked out here
            for (const std::uint32_t x : v) {
                if (x < 64) set |= std::uint64_t{1} << x;
                max = std::max<std::uint64_t>(max, x);
            }
            BOOST_TEST_CONTEXT("length " << n << " round " << round) {
                BOOST_TEST(fast.set == set);
                BOOST_TEST(fast.max == max);
                BOOST_TEST(slow.set == set);
                BOOST_TEST(slow.max == max);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(dim_order_set_rules_with_a_repeat_and_with_unknown_codes) {
    const auto rules_of = [](const fqk::KvCacheSpecV2& spec) {
        std::vector<std::string> out;
        for (const fqk::Error& e : fqk::validate_all(spec)) out.emplace_back(e.rule);
        return out;
    };
    // a repeat of a known code: not a permutation, and the code it replaced is missing
    fqk::KvCacheSpecV2 spec = parse(kGemmaLike);  // stacked, paged: ["kv","block","token","head","dim"]
    spec.storage.dim_order[3] = fqk::KvDim::token;
    BOOST_TEST(rules_of(spec) == (std::vector<std::string>{"storage.dim_order.permutation", "storage.dim_order.required"}),
               boost::test_tools::per_element());
    // kv and block replaced by the same unknown code twice (past 64, where the set of codes keeps no bit):
    // unknown, repeated, and both the block and the kv dimension missing
    const std::vector<std::string> repeated{"storage.dim_order.known", "storage.dim_order.permutation",
                                            "storage.paged.block_dim", "storage.stacked.kv_dim"};
    const std::vector<std::string> unknown{"storage.dim_order.known", "storage.paged.block_dim",
                                           "storage.stacked.kv_dim"};
    spec = parse(kGemmaLike);
    spec.storage.dim_order[0] = static_cast<fqk::KvDim>(200);
    spec.storage.dim_order[1] = static_cast<fqk::KvDim>(200);
    BOOST_TEST(rules_of(spec) == repeated, boost::test_tools::per_element());
    // two different unknown codes past 64: unknown, but no repeat
    spec.storage.dim_order[1] = static_cast<fqk::KvDim>(201);
    BOOST_TEST(rules_of(spec) == unknown, boost::test_tools::per_element());
    // the same with unknown codes below 64 (7: past the last, batch = 6)
    spec.storage.dim_order[0] = static_cast<fqk::KvDim>(7);
    spec.storage.dim_order[1] = static_cast<fqk::KvDim>(7);
    BOOST_TEST(rules_of(spec) == repeated, boost::test_tools::per_element());
    spec.storage.dim_order[1] = static_cast<fqk::KvDim>(63);
    BOOST_TEST(rules_of(spec) == unknown, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(dim_order_rules_never_read_an_unknown_code_as_a_known_one) {
    // dim_order holds token as 3 + 64: the code is not token, whatever bits of it a set of codes keeps.
    fqk::KvCacheSpecV2 spec = parse(kGemmaLike);
    spec.storage.dim_order[2] = static_cast<fqk::KvDim>(3 + 64);
    std::vector<std::string> rules;
    for (const fqk::Error& e : fqk::validate_all(spec)) rules.emplace_back(e.rule);
    BOOST_TEST(rules == (std::vector<std::string>{"storage.dim_order.known", "storage.dim_order.required"}),
               boost::test_tools::per_element());
    // kv as 0 + 64 in a stacked cache: the kv dimension is missing too
    spec = parse(kGemmaLike);
    spec.storage.dim_order[0] = static_cast<fqk::KvDim>(64);
    rules.clear();
    for (const fqk::Error& e : fqk::validate_all(spec)) rules.emplace_back(e.rule);
    BOOST_TEST(rules == (std::vector<std::string>{"storage.dim_order.known", "storage.stacked.kv_dim"}),
               boost::test_tools::per_element());
    // block as 2 + 64 in a contiguous cache is not a block dimension
    spec = parse(kHybrid);
    spec.storage.dim_order.push_back(static_cast<fqk::KvDim>(2 + 64));
    rules.clear();
    for (const fqk::Error& e : fqk::validate_all(spec)) rules.emplace_back(e.rule);
    BOOST_TEST(rules == (std::vector<std::string>{"storage.dim_order.known"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(counts)

BOOST_AUTO_TEST_CASE(bytes_worked_out_by_hand) {
    struct Case {
        const std::string* doc;
        std::uint64_t per_token, held;
    };
    const Case cases[] = {
        // 6 layers x (2 heads x 128 x 2 bytes) x (K + V) = 6144 per token. Held: the 5 sliding layers keep
        // min(1000, 512) = 512 tokens = 32 whole blocks of 16 (512 x 1024 bytes each); the full layer keeps 1000
        // tokens in 63 blocks = 1008 tokens: 5 x 524288 + 1032192 = 3653632.
        {&kGemmaLike, 6144, 3653632},
        // 3 layers x one 576-byte fp8 latent = 1728 per token. Held: 3 x (2 sequences x 100 tokens x 576 + one
        // f32 scale for K, no V) = 3 x 115204 = 345612.
        {&kMla, 1728, 345612},
        // q8_0: a row of 128 is 4 blocks of 34 = 136 bytes; 8 heads x 136 x (K + V) = 2176 per layer per token;
        // 2 layers: 4352; 10 tokens: 43520.
        {&kQ8, 4352, 43520},
        // full layer: 64 x 2 bytes x (K + V) = 256 per token; 3 sequences x 5 tokens x 256 = 3840; two linear
        // layers: 3 sequences x 1000 bytes each = 6000. Total 9840.
        {&kHybrid, 256, 9840},
        // int4: a row of 128 is 64 bytes, plus 128 / 32 = 4 f16 scales = 8 bytes: 72; 2 heads x (K + V) = 288.
        // One token, under the 8192 chunk: 288.
        {&kInt4, 288, 288},
    };
    for (const Case& c : cases) {
        const fqk::KvCacheSpecV2 spec = parse(*c.doc);
        BOOST_TEST(*fqk::bytes_per_token(spec) == c.per_token);
        BOOST_TEST(*fqk::bytes_held(spec) == c.held);
    }
}

BOOST_AUTO_TEST_CASE(windows_and_chunks_cap_what_is_held) {
    // Past the window, sliding layers stop growing; the full layer keeps growing by 1024 bytes a token (whole
    // blocks of 16 tokens).
    fqk::KvCacheSpecV2 spec = parse(kGemmaLike);
    spec.tokens = 100000;
    // sliding: 5 x 512 x 1024; full: cdiv(100000, 16) = 6250 blocks = 100000 tokens x 1024.
    BOOST_TEST(*fqk::bytes_held(spec) == 5ULL * 512 * 1024 + 100000ULL * 1024);
    spec.storage.block_size = 0;  // (not valid: the block dimension stays, but the count is defined)
    spec.tokens = 1001;
    BOOST_TEST(*fqk::bytes_held(spec) == 5ULL * 512 * 1024 + 1001ULL * 1024);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(digest)

BOOST_AUTO_TEST_CASE(canonical_encoding_byte_by_byte) {
    // docs/digest.md for a composite spec: the domain tag, then every field in order; u32 little-endian; a
    // string as its u64 length and bytes; an optional as one byte 0/1 and the value when present; an array as
    // its u32 count and items; a nested struct's fields inline; enum codes as u32.
    std::string want;
    auto u8 = [&](unsigned v) { want.push_back(static_cast<char>(v)); };
    auto u32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) u8((v >> (8 * i)) & 0xFF);
    };
    auto u64 = [&](std::uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<unsigned>((v >> (8 * i)) & 0xFF));
    };
    want.append("fib_quant_kv_cache_spec_v2");
    u8(0);
    want.append("KvCacheSpecV2");
    u8(0);
    u64(26);
    want.append("fib_quant_kv_cache_spec_v2");
    u32(2);   // layers
    u32(1);   // batch
    u32(10);  // tokens
    u32(1);   // one group
    u32(2);   // its layers: [1, 0]
    u32(1);
    u32(0);
    u32(0);  // attention full
    u8(0);   // window absent
    u8(0);   // chunk absent
    u8(0);   // kv_lora_rank absent
    u8(0);   // qk_rope_head_dim absent
    u8(0);   // state_bytes absent
    u32(8);  // kv_heads
    u32(128);
    u32(128);
    u32(1);  // post_rope
    u32(4);  // dim_order: layer token head dim
    u32(1);
    u32(3);
    u32(4);
    u32(5);
    u32(0);  // separate
    u32(0);  // block_size
    u32(1);  // transposed
    u32(5);  // q8_0
    u32(0);  // f16
    u32(0);  // scale_granularity none
    u8(0);   // group_size absent
    u8(0);   // scale_dtype absent
    BOOST_TEST(fqk::canonical_encoding(parse(kQ8)) == want);
}

BOOST_AUTO_TEST_CASE(digests_match_the_independent_vectors) {
    // tests/data/spec_v2_vectors.jsonl: {"json": ..., "digest": ...} per line, the digest from xxhsum -H2 over
    // an encoding built with Python's struct (tests/data/make_spec_v2_vectors.py).
    std::ifstream in(FIB_QUANT_KV_TEST_DATA "/spec_v2_vectors.jsonl");
    BOOST_TEST_REQUIRE(in.good());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        const std::string json_key = R"({"json":)", hex_key = R"(,"canonical_hex":")", digest_key = R"(","digest":")";
        const std::size_t h = line.find(hex_key), d = line.find(digest_key);
        BOOST_TEST_REQUIRE((line.starts_with(json_key) && h != std::string::npos && d != std::string::npos));
        const std::string json = line.substr(json_key.size(), h - json_key.size());
        const std::string hex = line.substr(h + hex_key.size(), d - h - hex_key.size());
        const std::string digest = line.substr(d + digest_key.size(), 32);
        const fqk::Result<fqk::KvCacheSpecV2> spec = fqk::parse_kv_cache_spec_v2_json(json);
        BOOST_TEST_REQUIRE(spec.ok());
        std::string encoding_hex;
        for (const char c : fqk::canonical_encoding(*spec)) {
            constexpr char kDigits[] = "0123456789abcdef";
            encoding_hex.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
            encoding_hex.push_back(kDigits[static_cast<unsigned char>(c) & 15]);
        }
        BOOST_TEST(encoding_hex == hex);
        BOOST_TEST(fqk::to_json(*spec) == json);
        const fqk::Result<fqk::Digest> got = fqk::digest(*spec);
        BOOST_TEST_REQUIRE(got.ok());
        BOOST_TEST(got->hex() == digest);
        ++n;
    }
    BOOST_TEST(n >= 5);
}

BOOST_AUTO_TEST_CASE(digest_refuses_an_invalid_spec) {
    const fqk::Result<fqk::Digest> d = fqk::digest(parse(edit(kGemmaLike, R"("window":512)", R"("window":0)")));
    BOOST_TEST_REQUIRE(!d.ok());
    BOOST_TEST(d.error().rule == "group.window.nonzero");
}

BOOST_AUTO_TEST_SUITE_END()

// What each layer is stored as (cache_spec.hpp: stored_tensors, stored_bytes), worked out by hand per spec.
BOOST_AUTO_TEST_SUITE(stored_tensors)

using Dims = std::vector<fqk::KvDim>;
using Shape = std::vector<std::uint64_t>;

BOOST_AUTO_TEST_CASE(paged_stacked_layers_hold_whole_blocks) {
    const fqk::KvCacheSpecV2 spec = parse(kGemmaLike);
    // Sliding layer 0: min(1000, 512) = 512 tokens in pages of 16 = 32 blocks, K and V stacked: [2, 32, 16, 2, 128].
    const std::vector<fqk::StoredTensor> sliding = fqk::stored_tensors(spec, 0);
    BOOST_TEST_REQUIRE(sliding.size() == 1u);
    BOOST_TEST(!sliding[0].role.has_value());
    using D = fqk::KvDim;
    BOOST_TEST((sliding[0].dims == Dims{D::kv, D::block, D::token, D::head, D::dim}));
    BOOST_TEST((sliding[0].shape == Shape{2, 32, 16, 2, 128}));
    BOOST_TEST(sliding[0].block_is_minimum);
    // Full layer 5: ceil(1000 / 16) = 63 blocks.
    BOOST_TEST((fqk::stored_tensors(spec, 5)[0].shape == Shape{2, 63, 16, 2, 128}));
    BOOST_TEST(fqk::stored_tensors(spec, 6).empty());  // no such layer
}

BOOST_AUTO_TEST_CASE(mla_is_one_key_tensor_and_linear_none) {
    const std::vector<fqk::StoredTensor> mla = fqk::stored_tensors(parse(kMla), 2);
    BOOST_TEST_REQUIRE(mla.size() == 1u);
    BOOST_TEST((mla[0].role == fqk::KvRole::key));
    BOOST_TEST((mla[0].shape == Shape{2, 100, 1, 576}));  // [batch, token, head, dim]
    const fqk::KvCacheSpecV2 hybrid = parse(kHybrid);
    BOOST_TEST(fqk::stored_tensors(hybrid, 1).empty());
    const std::vector<fqk::StoredTensor> full = fqk::stored_tensors(hybrid, 0);
    BOOST_TEST_REQUIRE(full.size() == 2u);
    BOOST_TEST((full[1].role == fqk::KvRole::value));
    BOOST_TEST((full[0].shape == Shape{3, 5, 1, 64}));
}

BOOST_AUTO_TEST_CASE(transposed_v_puts_tokens_innermost) {
    const std::vector<fqk::StoredTensor> t = fqk::stored_tensors(parse(kQ8), 1);
    BOOST_TEST_REQUIRE(t.size() == 2u);
    using D = fqk::KvDim;
    BOOST_TEST((t[0].dims == Dims{D::token, D::head, D::dim}));
    BOOST_TEST((t[0].shape == Shape{10, 8, 128}));
    BOOST_TEST((t[1].dims == Dims{D::head, D::dim, D::token}));
    BOOST_TEST((t[1].shape == Shape{8, 128, 10}));
}

BOOST_AUTO_TEST_CASE(bytes_of_rows_and_blocks) {
    const fqk::KvCacheSpecV2 q8 = parse(kQ8);
    // q8_0: 128 / 32 = 4 blocks of 34 bytes per row; 10 * 8 rows.
    BOOST_TEST(fqk::stored_bytes(q8.quant, Shape{10, 8, 128}) == std::optional<std::uint64_t>(10u * 8 * 4 * 34));
    BOOST_TEST(!fqk::stored_bytes(q8.quant, Shape{8, 128, 10}).has_value());  // a row of 10 is not whole blocks
    BOOST_TEST(!fqk::stored_bytes(q8.quant, Shape{}).has_value());
    const fqk::KvCacheSpecV2 bf16 = parse(kGemmaLike);
    BOOST_TEST(fqk::stored_bytes(bf16.quant, Shape{1}) == std::optional<std::uint64_t>(2));
    BOOST_TEST(fqk::stored_bytes(bf16.quant, Shape{0, 7}) == std::optional<std::uint64_t>(0));
    // 2^62 elements of 2 bytes is 2^63; 2^63 elements are 2^64 bytes, one past the last count that fits.
    BOOST_TEST(fqk::stored_bytes(bf16.quant, Shape{std::uint64_t{1} << 61, 2}) ==
               std::optional<std::uint64_t>(std::uint64_t{1} << 63));
    BOOST_TEST(!fqk::stored_bytes(bf16.quant, Shape{std::uint64_t{1} << 62, 2}).has_value());
    BOOST_TEST(!fqk::stored_bytes(bf16.quant, Shape{UINT64_MAX, UINT64_MAX}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
