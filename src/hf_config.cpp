// fib_quant_kv: a model's KV cache from its Hugging Face config.json (see fib_quant_kv/hf_config.hpp).
//
// RapidJSON's SAX reader walks the text once (kParseIterativeFlag: nesting costs heap, not stack, and the
// handler stops it past HfConfigLimits::max_depth; kParseNumbersAsStringsFlag: numbers arrive as the text the
// config wrote, so "32.0", "-1" and 2^64 are told apart exactly). Only the keys the cache depends on are kept,
// at the root and directly inside `text_config`; everything else is read and dropped, which allocates nothing.
#include "fib_quant_kv/hf_config.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <array>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "fib_quant_kv/count.hpp"
#include "internal/json_decode.hpp"
#include "internal/text.hpp"

namespace fib_quant_kv {

namespace {

// ---------------------------------------------------------------------------------------------- the keys read

enum class HfKey : std::uint8_t {
    num_hidden_layers,
    n_layer,
    num_attention_heads,
    n_head,
    num_key_value_heads,
    num_kv_heads,
    multi_query,
    new_decoder_architecture,
    head_dim,
    hidden_size,
    n_embd,
    qk_head_dim,
    v_head_dim,
    kv_lora_rank,
    torch_dtype,
    dtype,
    model_type,
    sliding_window,
    use_sliding_window,
    text_config,
    count,
};

constexpr std::size_t idx(HfKey k) noexcept { return static_cast<std::size_t>(k); }

/// A key's name and its path as Error::fields, at the root and inside text_config (static storage).
struct KeyInfo {
    std::string_view name;
    std::string_view root[1];
    std::string_view nested[1];
};

// clang-format off
#define FQK_HF_KEY(k) {#k, {#k}, {"text_config." #k}}
constexpr std::size_t kKeyCount = static_cast<std::size_t>(HfKey::count);
constexpr KeyInfo kKeys[kKeyCount] = {
    FQK_HF_KEY(num_hidden_layers),   FQK_HF_KEY(n_layer),      FQK_HF_KEY(num_attention_heads),
    FQK_HF_KEY(n_head),              FQK_HF_KEY(num_key_value_heads), FQK_HF_KEY(num_kv_heads),
    FQK_HF_KEY(multi_query),         FQK_HF_KEY(new_decoder_architecture), FQK_HF_KEY(head_dim),
    FQK_HF_KEY(hidden_size),         FQK_HF_KEY(n_embd),       FQK_HF_KEY(qk_head_dim),
    FQK_HF_KEY(v_head_dim),          FQK_HF_KEY(kv_lora_rank), FQK_HF_KEY(torch_dtype),
    FQK_HF_KEY(dtype),               FQK_HF_KEY(model_type),   FQK_HF_KEY(sliding_window),
    FQK_HF_KEY(use_sliding_window),  FQK_HF_KEY(text_config),
};
#undef FQK_HF_KEY
// clang-format on

constexpr std::optional<HfKey> find_key(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kKeyCount; ++i) {
        if (kKeys[i].name == name) return static_cast<HfKey>(i);
    }
    return std::nullopt;
}

enum class Token : std::uint8_t { null, boolean, number, string, object, array };

/// One kept key's value: its JSON type and, for scalars, its text (a string decoded; a number as written).
struct Slot {
    bool present = false;
    Token token = Token::null;
    std::string text;
};

enum class Section : std::uint8_t { root = 0, text = 1 };
using Slots = std::array<std::array<Slot, kKeyCount>, 2>;

[[gnu::cold]] Error make_error(ErrorKind kind, std::string_view rule, std::span<const std::string_view> fields,
                               std::string message, ErrorDetails details = {}) {
    return Error{kind, rule, fields, std::move(message), details, Error::no_offset};
}

/// A value as messages show it, serde's way: "integer `5`", "string \"x\"", "map". Long strings are cut.
std::string describe(Token t, std::string_view text) {
    switch (t) {
        case Token::null: return "null";
        case Token::boolean: return std::string("boolean `").append(text).append("`");
        case Token::number: return detail::json::describe_number(text);
        case Token::string: {
            if (text.size() > 64) {
                std::string s = "a string of ";
                detail::append_decimal(s, text.size());
                return s.append(" bytes");
            }
            std::string s = "string ";
            if (detail::has_encoded_surrogate(text)) {  // a lone surrogate escape: not UTF-8 once decoded
                s.push_back('"');
                detail::append_text(s, text);  // its bytes as \xNN
                s.push_back('"');
                return s;
            }
            detail::append_json_string(s, text);
            return s;
        }
        case Token::object: return "map";
        case Token::array: return "sequence";
    }
    return "value";
}

// ---------------------------------------------------------------------------------------------- the SAX handler

class Handler {
  public:
    Handler(Slots& slots, std::size_t max_depth) : slots_(slots), max_depth_(max_depth) {}

    bool Null() { return scalar(Token::null, {}); }
    bool Bool(bool b) { return scalar(Token::boolean, b ? "true" : "false"); }
    bool Int(int) { return internal(); }
    bool Uint(unsigned) { return internal(); }
    bool Int64(std::int64_t) { return internal(); }
    bool Uint64(std::uint64_t) { return internal(); }
    bool Double(double) { return internal(); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return scalar(Token::number, {s, n}); }
    bool String(const char* s, rapidjson::SizeType n, bool) { return scalar(Token::string, {s, n}); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (tracked()) key_ = find_key({s, n});
        return true;
    }
    bool StartObject() { return open(Token::object); }
    bool StartArray() { return open(Token::array); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    [[nodiscard]] bool has_error() const noexcept { return error_.has_value(); }
    [[nodiscard]] Error take_error() { return std::move(*error_); }

  private:
    /// Keys are kept in the root object (depth 1) and in the text_config object directly inside it (depth 2).
    [[nodiscard]] bool tracked() const noexcept { return depth_ == 1 || (depth_ == 2 && in_text_); }
    [[nodiscard]] Section section() const noexcept { return depth_ == 1 ? Section::root : Section::text; }

    bool fail(Error e) {
        error_ = std::move(e);
        return false;
    }
    bool internal() {
        return fail(
            make_error(ErrorKind::parse, wire_rules::json_syntax, {}, "internal: number not delivered as text"));
    }

    bool root_type(Token t, std::string_view text) {
        return fail(make_error(ErrorKind::parse, hf_config_rules::invalid_type, {},
                               std::string("invalid type: ")
                                   .append(describe(t, text))
                                   .append(", expected a JSON object (a config.json)")));
    }

    /// Keeps the value of the current key, if it is one of ours. False on a duplicate or a lone surrogate.
    bool keep(Token t, std::string_view text) {
        if (!tracked() || !key_) return true;
        const Section s = section();
        const KeyInfo& info = kKeys[idx(*key_)];
        const std::span<const std::string_view> path = s == Section::root ? info.root : info.nested;
        Slot& slot = slots_[static_cast<std::size_t>(s)][idx(*key_)];
        if (slot.present) {
            return fail(make_error(ErrorKind::parse, hf_config_rules::duplicate_key, path,
                                   std::string("duplicate key `").append(path[0]).append("`")));
        }
        if (t == Token::string && detail::has_encoded_surrogate(text)) {
            return fail(make_error(ErrorKind::parse, wire_rules::json_syntax, path,
                                   std::string("key `").append(path[0]).append("`: lone surrogate in a \\u escape")));
        }
        slot.present = true;
        slot.token = t;
        slot.text.assign(text);
        key_.reset();
        return true;
    }

    bool scalar(Token t, std::string_view text) {
        if (depth_ == 0) return root_type(t, text);
        return keep(t, text);
    }

    bool open(Token t) {
        if (depth_ == 0) {
            if (t != Token::object) return root_type(t, {});
            depth_ = 1;
            return true;
        }
        if (depth_ >= max_depth_) {
            std::string m = "the config nests deeper than ";
            detail::append_decimal(m, max_depth_);
            return fail(make_error(ErrorKind::parse, hf_config_rules::too_deep, {}, m.append(" levels")));
        }
        const bool enters_text = depth_ == 1 && t == Token::object && key_ == HfKey::text_config;
        if (!keep(t, {})) return false;
        ++depth_;
        if (enters_text) in_text_ = true;
        return true;
    }

    bool close() {
        --depth_;
        if (depth_ == 1) in_text_ = false;
        key_.reset();
        return true;
    }

    Slots& slots_;
    std::size_t max_depth_;
    std::size_t depth_ = 0;
    bool in_text_ = false;
    std::optional<HfKey> key_;
    std::optional<Error> error_;
};

// ---------------------------------------------------------------------------------------------- typed reads

/// The keys of one section (the root or text_config), read with their types checked.
class View {
  public:
    View(const Slots& slots, Section s) : slots_(slots), s_(s) {}

    [[nodiscard]] std::span<const std::string_view> path(HfKey k) const noexcept {
        return s_ == Section::root ? std::span<const std::string_view>(kKeys[idx(k)].root)
                                   : std::span<const std::string_view>(kKeys[idx(k)].nested);
    }
    [[nodiscard]] std::string_view name(HfKey k) const noexcept { return path(k)[0]; }

    /// The key's slot when present and not null (null is absent, as transformers' defaults treat it).
    [[nodiscard]] const Slot* get(HfKey k) const noexcept {
        const Slot& slot = slots_[static_cast<std::size_t>(s_)][idx(k)];
        return slot.present && slot.token != Token::null ? &slot : nullptr;
    }

    [[nodiscard]] Result<std::optional<std::uint32_t>> u32(HfKey k) const {
        const Slot* slot = get(k);
        if (slot == nullptr) return std::optional<std::uint32_t>{};
        const std::string_view raw = slot->text;
        if (slot->token != Token::number || detail::json::is_float_token(raw)) {
            return type_error(k, *slot, "u32");
        }
        std::uint64_t v = 0;
        const auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
        if (raw.front() == '-' || r.ec != std::errc{} || v > std::numeric_limits<std::uint32_t>::max()) {
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, path(k),
                              std::string("key `")
                                  .append(name(k))
                                  .append("`: invalid value: integer `")
                                  .append(raw)
                                  .append("`, expected u32"));
        }
        return std::optional<std::uint32_t>(static_cast<std::uint32_t>(v));
    }

    [[nodiscard]] Result<std::optional<bool>> boolean(HfKey k) const {
        const Slot* slot = get(k);
        if (slot == nullptr) return std::optional<bool>{};
        if (slot->token != Token::boolean) return type_error(k, *slot, "a boolean");
        return std::optional<bool>(slot->text == "true");
    }

    [[nodiscard]] Result<std::optional<std::string>> string(HfKey k) const {
        const Slot* slot = get(k);
        if (slot == nullptr) return std::optional<std::string>{};
        if (slot->token != Token::string) return type_error(k, *slot, "a string");
        return std::optional<std::string>(slot->text);
    }

    [[nodiscard, gnu::cold]] Error type_error(HfKey k, const Slot& slot, std::string_view expected) const {
        return make_error(ErrorKind::parse, hf_config_rules::invalid_type, path(k),
                          std::string("key `")
                              .append(name(k))
                              .append("`: invalid type: ")
                              .append(describe(slot.token, slot.text))
                              .append(", expected ")
                              .append(expected));
    }

    [[nodiscard, gnu::cold]] Error missing(HfKey k, std::string_view alternatives) const {
        return make_error(ErrorKind::parse, hf_config_rules::missing_key, path(k),
                          std::string("missing key `").append(name(k)).append("`").append(alternatives));
    }

  private:
    const Slots& slots_;
    Section s_;
};

/// The first of `keys` that is present (not null), read as u32; nothing when none is.
Result<std::optional<std::uint32_t>> first_u32(const View& v, std::initializer_list<HfKey> keys) {
    for (const HfKey k : keys) {
        if (v.get(k) != nullptr) return v.u32(k);
    }
    return std::optional<std::uint32_t>{};
}

/// The dtypes' wire names as --dtype takes them, from the schema: "f16|bf16|f32".
std::string dtype_choices() {
    std::string s;
    for (const KvDType v : EnumTraits<KvDType>::values) s.append(s.empty() ? "" : "|").append(to_string(v));
    return s;
}

/// Their torch names, from the schema's torch_dtype attribute: "float16, bfloat16 or float32".
std::string torch_dtype_names() {
    std::string s;
    const auto& values = EnumTraits<KvDType>::values;
    for (std::size_t i = 0; i < values.size(); ++i) {
        s.append(i == 0 ? "" : i + 1 == values.size() ? " or " : ", ").append(torch_dtype(values[i]));
    }
    return s;
}

/// The KvDType whose torch dtype (the schema's torch_dtype attribute) a config's torch_dtype names.
std::optional<KvDType> known_dtype(std::string_view torch) noexcept {
    for (const KvDType v : EnumTraits<KvDType>::values) {
        if (torch_dtype(v) == torch) return v;
    }
    return std::nullopt;
}

constexpr std::string_view kTorchDtypeField[] = {"torch_dtype"};

#define FQK_TRY(var, expr)                                     \
    auto var##_result = (expr);                                \
    if (!var##_result) return std::move(var##_result).error(); \
    auto var = std::move(var##_result).value()

}  // namespace

// ---------------------------------------------------------------------------------------------- read_hf_config

Result<HfConfig> read_hf_config(std::string_view json, const HfConfigLimits& limits) {
    if (json.size() > limits.max_bytes || detail::json::too_large(json.size())) {
        std::string m = "the config is ";
        detail::append_decimal(m, json.size());
        m.append(" bytes, over the limit of ");
        detail::append_decimal(
            m, std::min<std::size_t>(limits.max_bytes, std::numeric_limits<rapidjson::SizeType>::max() - 1));
        return make_error(ErrorKind::parse, hf_config_rules::too_large, {}, m.append(" bytes"));
    }
    detail::json::Prescan scan;
    if (const void* z = json.empty() ? nullptr : std::memchr(json.data(), 0, json.size())) {
        scan.nul = static_cast<std::size_t>(static_cast<const char*>(z) - json.data());
    } else {
        scan.bad_utf8 = detail::first_invalid_utf8(json);
    }
    if (std::optional<Error> e = detail::json::input_error(scan)) return std::move(*e);

    Slots slots;
    {
        Handler handler(slots, limits.max_depth);
        rapidjson::MemoryStream stream(json.data(), json.size());
        rapidjson::Reader reader;
        const rapidjson::ParseResult r =
            reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(stream, handler);
        if (handler.has_error()) {
            Error e = handler.take_error();
            e.offset = r.Offset();
            return e;
        }
        if (r.IsError()) {
            std::string m = "invalid JSON: ";
            m.append(rapidjson::GetParseError_En(r.Code()));
            return Error{ErrorKind::parse, wire_rules::json_syntax, {}, std::move(m), {}, r.Offset()};
        }
    }

    const View top(slots, Section::root);
    HfConfig out;
    Section section = Section::root;
    if (const Slot* tc = top.get(HfKey::text_config)) {
        if (tc->token != Token::object) return top.type_error(HfKey::text_config, *tc, "a JSON object or null");
        section = Section::text;
    }
    const View m(slots, section);

    // What the schema cannot describe comes first: such a config may lack what the rest reads.
    if (m.get(HfKey::kv_lora_rank) != nullptr) {
        return make_error(
            ErrorKind::unsupported, hf_config_rules::mla, m.path(HfKey::kv_lora_rank),
            std::string("key `")
                .append(m.name(HfKey::kv_lora_rank))
                .append("` is set: multi-head latent attention caches a compressed latent shared by the heads, "
                        "not per-head keys and values, and a KvTensorShapeV1 cannot describe it"));
    }

    FQK_TRY(layers, first_u32(m, {HfKey::num_hidden_layers, HfKey::n_layer}));
    if (!layers)
        return m.missing(HfKey::num_hidden_layers, std::string(" (or `").append(m.name(HfKey::n_layer)).append("`)"));
    FQK_TRY(heads, first_u32(m, {HfKey::num_attention_heads, HfKey::n_head}));
    if (!heads)
        return m.missing(HfKey::num_attention_heads, std::string(" (or `").append(m.name(HfKey::n_head)).append("`)"));

    // KV heads: transformers' default is the attention heads; Falcon spells them its own way.
    std::uint32_t kv = *heads;
    FQK_TRY(nkv, m.u32(HfKey::num_key_value_heads));
    FQK_TRY(falcon_kv, m.u32(HfKey::num_kv_heads));
    FQK_TRY(mq, m.boolean(HfKey::multi_query));
    FQK_TRY(nda, m.boolean(HfKey::new_decoder_architecture));
    if (nkv) {
        kv = *nkv;
    } else if (nda.value_or(false)) {
        kv = falcon_kv.value_or(*heads);
    } else if (mq.value_or(false)) {
        kv = 1;
    } else if (falcon_kv) {
        kv = *falcon_kv;
    }

    // head_dim: explicit, or hidden_size / heads exactly.
    FQK_TRY(explicit_hd, m.u32(HfKey::head_dim));
    std::uint32_t hd = 0;
    if (explicit_hd) {
        hd = *explicit_hd;
    } else {
        const HfKey hidden_key = m.get(HfKey::hidden_size) != nullptr ? HfKey::hidden_size : HfKey::n_embd;
        FQK_TRY(hidden, m.u32(hidden_key));
        if (!hidden) {
            return m.missing(HfKey::hidden_size, std::string(" (or `")
                                                     .append(m.name(HfKey::n_embd))
                                                     .append("`, or an explicit `")
                                                     .append(m.name(HfKey::head_dim))
                                                     .append("`)"));
        }
        if (*heads != 0) {  // no heads: validate() names query_heads below
            const HfKey heads_key =
                m.get(HfKey::num_attention_heads) != nullptr ? HfKey::num_attention_heads : HfKey::n_head;
            if (*hidden % *heads != 0) {
                std::string msg = std::string("`").append(m.name(hidden_key)).append("` ");
                detail::append_decimal(msg, *hidden);
                msg.append(" is not a multiple of `").append(m.name(heads_key)).append("` ");
                detail::append_decimal(msg, *heads);
                msg.append(", and there is no `").append(m.name(HfKey::head_dim)).append("`");
                return make_error(ErrorKind::dimension_not_divisible, hf_config_rules::hidden_size_divisible,
                                  m.path(hidden_key), std::move(msg), ErrorDetails{*hidden, *heads});
            }
            hd = *hidden / *heads;
        }
    }

    // One head_dim for keys and values, or a refusal.
    for (const HfKey k : {HfKey::qk_head_dim, HfKey::v_head_dim}) {
        FQK_TRY(other, m.u32(k));
        if (other && *other != hd) {
            std::string msg = std::string("key `").append(m.name(k)).append("` ");
            detail::append_decimal(msg, *other);
            msg.append(" differs from the head_dim ");
            detail::append_decimal(msg, hd);
            msg.append(": keys and values with different head dims are not one KvTensorShapeV1 geometry");
            return make_error(ErrorKind::unsupported, hf_config_rules::head_dims_differ, m.path(k), std::move(msg));
        }
    }

    // dtype: the model section's, else the root's (composite configs often set it only there).
    for (const View* v : {&m, &top}) {
        for (const HfKey k : {HfKey::torch_dtype, HfKey::dtype}) {
            if (out.torch_dtype || v->get(k) == nullptr) continue;
            FQK_TRY(s, v->string(k));
            out.torch_dtype = std::move(s);
        }
    }
    for (const View* v : {&top, &m}) {
        if (out.model_type || v->get(HfKey::model_type) == nullptr) continue;
        FQK_TRY(s, v->string(HfKey::model_type));
        out.model_type = std::move(s);
    }

    FQK_TRY(window, m.u32(HfKey::sliding_window));
    FQK_TRY(use_window, m.boolean(HfKey::use_sliding_window));
    if (window && use_window.value_or(true)) {
        std::string note = "sliding_window ";
        detail::append_decimal(note, *window);
        out.notes.push_back(note.append(" is not in the descriptor: every layer is sized at the full length"));
    }

    out.layers = *layers;
    out.query_heads = *heads;
    out.kv_heads = kv;
    out.head_dim = hd;
    out.attention_kind = kv == *heads ? KvAttentionKind::mha : kv == 1 ? KvAttentionKind::mqa : KvAttentionKind::gqa;
    return out;
}

// ---------------------------------------------------------------------------------------------- sizing

Result<KvCacheSize> size_kv_cache(const HfConfig& config, std::uint32_t tokens, const HfSizeOptions& options) {
    std::optional<KvDType> dt = options.dtype;
    if (!dt) {
        if (!config.torch_dtype || *config.torch_dtype == "auto") {
            std::string msg = config.torch_dtype ? "`torch_dtype` is \"auto\"" : "missing key `torch_dtype`";
            msg.append(": the config does not say the cache dtype; give one (--dtype ");
            msg.append(dtype_choices()).append(")");
            return make_error(ErrorKind::parse, hf_config_rules::missing_key, kTorchDtypeField, std::move(msg));
        }
        dt = known_dtype(*config.torch_dtype);
        if (!dt) {
            std::string msg = "`torch_dtype` ";
            detail::append_json_string(msg, *config.torch_dtype);
            msg.append(" is not a dtype of the descriptor (").append(torch_dtype_names());
            msg.append("); give one (--dtype ");
            msg.append(dtype_choices()).append(")");
            return make_error(ErrorKind::unsupported, hf_config_rules::dtype_unsupported, kTorchDtypeField,
                              std::move(msg));
        }
    }
    // Field by field, not make_kv_tensor_shape_v1(): a field the schema adds later takes its default here
    // instead of breaking this call (handwritten code never lists every field).
    KvTensorShapeV1 key;
    key.role = KvRole::key;
    key.attention_kind = config.attention_kind;
    key.batch = options.batch;
    key.layers = config.layers;
    key.kv_heads = config.kv_heads;
    key.query_heads = config.query_heads;
    key.tokens = tokens;
    key.head_dim = config.head_dim;
    key.dtype = *dt;
    key.rope_state = options.key_rope;
    KvTensorShapeV1 value = key;
    value.role = KvRole::value;
    value.rope_state = KvRopeState::not_applicable;
    KvCacheSize out{config.model_type, std::move(key), std::move(value), 0, 0, config.notes};
    if (Status st = validate(out.key); !st) return std::move(st).error();
    if (Status st = validate(out.value); !st) return std::move(st).error();
    // validate() checks the element count; the bytes can still overflow (size_overflow, from byte_size()).
    FQK_TRY(key_bytes, byte_size(out.key));
    FQK_TRY(value_bytes, byte_size(out.value));
    if (key_bytes > std::numeric_limits<std::uint64_t>::max() - value_bytes) {
        return make_error(ErrorKind::resource_limit_exceeded, hf_config_rules::total_overflow, {},
                          "the key and value bytes together do not fit in 64 bits");
    }
    out.total_bytes = key_bytes + value_bytes;
    // Not more than total_bytes (batch and tokens are at least 1), so it fits.
    out.bytes_per_token = *checked_product({2, config.layers, config.kv_heads, config.head_dim, byte_size(*dt)});
    return out;
}

Result<std::vector<KvCacheSize>> size_kv_cache(const HfConfig& config, std::span<const std::uint32_t> tokens,
                                               const HfSizeOptions& options) {
    std::vector<KvCacheSize> rows;
    rows.reserve(tokens.size());
    for (const std::uint32_t t : tokens) {
        FQK_TRY(row, size_kv_cache(config, t, options));
        rows.push_back(std::move(row));
    }
    return rows;
}

Result<std::vector<std::uint32_t>> parse_token_counts(std::string_view text) {
    std::vector<std::uint32_t> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        std::uint32_t v = 0;
        const auto r = std::from_chars(item.data(), item.data() + item.size(), v);
        if (item.empty() || r.ec != std::errc{} || r.ptr != item.data() + item.size()) {
            std::string m = "invalid token count `";  // as text: the list may come from a command line
            detail::append_text(m, item.substr(0, 32));
            m.append("` in `");
            detail::append_text(m, text.substr(0, 128));
            m.append("`: expected decimal integers from 0 to 4294967295, separated by commas");
            return make_error(ErrorKind::parse, hf_config_rules::token_list, {}, std::move(m));
        }
        out.push_back(v);
        if (comma == std::string_view::npos) return out;
        start = comma + 1;
    }
}

// ---------------------------------------------------------------------------------------------- output

std::string to_json(const KvCacheSize& row) {
    std::string out = "{\"model_type\":";
    if (row.model_type) {
        detail::append_json_string(out, *row.model_type);
    } else {
        out.append("null");
    }
    out.append(",\"key\":");
    append_json(out, row.key);
    out.append(",\"value\":");
    append_json(out, row.value);
    out.append(",\"bytes_per_token\":");
    detail::append_decimal(out, row.bytes_per_token);
    out.append(",\"total_bytes\":");
    detail::append_decimal(out, row.total_bytes);
    out.append(",\"notes\":[");
    for (std::size_t i = 0; i < row.notes.size(); ++i) {
        if (i != 0) out.push_back(',');
        detail::append_json_string(out, row.notes[i]);
    }
    out.append("]}");
    return out;
}

std::string human_bytes(std::uint64_t bytes) {
    static constexpr std::string_view units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        std::string s;
        detail::append_decimal(s, bytes);
        return s.append(" B");
    }
    std::size_t u = 1;
    while (u + 1 < std::size(units) && (bytes >> (10 * (u + 1))) != 0) ++u;
    char buf[48];
    const int n =
        std::snprintf(buf, sizeof buf, "%.1f %s",
                      static_cast<double>(bytes) / static_cast<double>(std::uint64_t{1} << (10 * u)), units[u].data());
    return std::string(buf, static_cast<std::size_t>(n));
}

namespace {
void pad_left(std::string& out, std::string_view s, std::size_t width) {
    if (s.size() < width) out.append(width - s.size(), ' ');
    out.append(s);
}
std::string decimal(std::uint64_t v) {
    std::string s;
    detail::append_decimal(s, v);
    return s;
}
/// "1 KV head", "8 KV heads".
std::string count(std::uint64_t n, std::string_view noun) {
    return decimal(n).append(" ").append(noun).append(n == 1 ? "" : "s");
}
}  // namespace

std::string to_text(std::span<const KvCacheSize> rows) {
    std::string out;
    if (rows.empty()) return out;
    const KvCacheSize& first = rows.front();
    const KvTensorShapeV1& k = first.key;
    detail::append_text(out, first.model_type ? std::string_view(*first.model_type) : "(no model_type)");
    out.append(": ");
    out.append(count(k.layers, "layer")).append(", ").append(count(k.query_heads, "query head")).append(", ");
    out.append(count(k.kv_heads, "KV head")).append(" (").append(to_string(k.attention_kind)).append("), head_dim ");
    out.append(decimal(k.head_dim)).append(", ").append(to_string(k.dtype)).append(", key ");
    out.append(to_string(k.rope_state)).append(", batch ").append(decimal(k.batch)).append("\n");
    out.append("K+V per token: ").append(human_bytes(first.bytes_per_token)).append(" (");
    out.append(decimal(first.bytes_per_token)).append(" bytes)\n");
    out.append("    tokens       K+V bytes        size  key digest                        value digest\n");
    for (const KvCacheSize& row : rows) {
        pad_left(out, decimal(row.key.tokens), 10);
        pad_left(out, decimal(row.total_bytes), 16);
        pad_left(out, human_bytes(row.total_bytes), 12);
        out.append("  ").append(digest(row.key).value().hex());
        out.append("  ").append(digest(row.value).value().hex()).append("\n");
    }
    for (const std::string& note : first.notes) {
        out.append("note: ");
        detail::append_text(out, note);
        out.append("\n");
    }
    return out;
}

}  // namespace fib_quant_kv
