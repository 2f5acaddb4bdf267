// fib_quant_kv sizing, step 1 of 4: a Hugging Face config.json read into the cache model (see
// fib_quant_kv/hf_config.hpp and fib_quant_kv/sizing/cache_model.hpp), and the v1 descriptors' sizing.
//
// RapidJSON's SAX reader walks the text once (kParseIterativeFlag: nesting costs heap, not stack, and the
// handler stops it past HfConfigLimits::max_depth; kParseNumbersAsStringsFlag: numbers arrive as the text the
// config wrote, so "32.0", "-1" and 2^64 are told apart exactly; kParseNanAndInfFlag: NaN, Infinity and
// -Infinity, which Python's json.dumps writes and real configs carry (Mamba-2's time_step_limit), are read as the
// floating-point values they are and refused only where a key the cache depends on holds one). Only the keys the
// cache depends on are kept, at the root and directly inside `text_config` (and the scalars of object elements of
// the arrays kept, two levels deep: block_configs); everything else is read and dropped, which allocates nothing.
#include "fib_quant_kv/hf_config.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
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
    n_head_kv,
    multi_query,
    new_decoder_architecture,
    head_dim,
    hidden_size,
    n_embd,
    qk_head_dim,
    qk_nope_head_dim,
    qk_rope_head_dim,
    v_head_dim,
    kv_lora_rank,
    torch_dtype,
    dtype,
    model_type,
    sliding_window,
    use_sliding_window,
    max_window_layers,
    sliding_window_pattern,
    layer_types,
    attention_chunk_size,
    no_rope_layers,
    no_rope_layer_interval,
    attn_layer_period,
    attn_layer_offset,
    full_attention_interval,
    linear_num_key_heads,
    linear_num_value_heads,
    linear_key_head_dim,
    linear_value_head_dim,
    linear_conv_kernel_dim,
    mamba_d_state,
    mamba_d_conv,
    mamba_expand,
    state_size,
    conv_kernel,
    expand,
    intermediate_size,
    hybrid_override_pattern,
    mamba_num_heads,
    mamba_head_dim,
    n_groups,
    ssm_state_size,
    mamba_ssm_cache_dtype,
    mamba_ssm_dtype,
    text_config,
    is_encoder_decoder,
    is_decoder,
    block_configs,
    layers_block_type,
    cross_attention_layers,
    global_head_dim,
    num_global_key_value_heads,
    hybrid_layer_pattern,
    num_layers,
    multi_query_attention,
    multi_query_group_num,
    num_kv_shared_layers,
    attention_k_eq_v,
    mamba_d_ssm,
    compress_ratios,
    index_head_dim,
    swa_num_key_value_heads,
    swa_head_dim,
    swa_v_head_dim,
    sliding_window_size,
    linear_attn_config,
    attn_type_list,
    mamba_n_heads,
    mamba_d_head,
    mamba_n_groups,
    num_attention_groups,
    attention_other_setting,
    use_cla,
    cla_share_factor,
    attention_head_dim,
    block_types,
    layer_group_size,
    full_attn_idxs,
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
    FQK_HF_KEY(num_hidden_layers), FQK_HF_KEY(n_layer), FQK_HF_KEY(num_attention_heads), FQK_HF_KEY(n_head),
    FQK_HF_KEY(num_key_value_heads), FQK_HF_KEY(num_kv_heads), FQK_HF_KEY(n_head_kv), FQK_HF_KEY(multi_query),
    FQK_HF_KEY(new_decoder_architecture), FQK_HF_KEY(head_dim), FQK_HF_KEY(hidden_size), FQK_HF_KEY(n_embd),
    FQK_HF_KEY(qk_head_dim), FQK_HF_KEY(qk_nope_head_dim), FQK_HF_KEY(qk_rope_head_dim), FQK_HF_KEY(v_head_dim),
    FQK_HF_KEY(kv_lora_rank), FQK_HF_KEY(torch_dtype), FQK_HF_KEY(dtype), FQK_HF_KEY(model_type),
    FQK_HF_KEY(sliding_window), FQK_HF_KEY(use_sliding_window), FQK_HF_KEY(max_window_layers),
    FQK_HF_KEY(sliding_window_pattern), FQK_HF_KEY(layer_types), FQK_HF_KEY(attention_chunk_size),
    FQK_HF_KEY(no_rope_layers), FQK_HF_KEY(no_rope_layer_interval), FQK_HF_KEY(attn_layer_period),
    FQK_HF_KEY(attn_layer_offset), FQK_HF_KEY(full_attention_interval), FQK_HF_KEY(linear_num_key_heads),
    FQK_HF_KEY(linear_num_value_heads), FQK_HF_KEY(linear_key_head_dim), FQK_HF_KEY(linear_value_head_dim),
    FQK_HF_KEY(linear_conv_kernel_dim), FQK_HF_KEY(mamba_d_state), FQK_HF_KEY(mamba_d_conv),
    FQK_HF_KEY(mamba_expand), FQK_HF_KEY(state_size), FQK_HF_KEY(conv_kernel), FQK_HF_KEY(expand),
    FQK_HF_KEY(intermediate_size), FQK_HF_KEY(hybrid_override_pattern), FQK_HF_KEY(mamba_num_heads),
    FQK_HF_KEY(mamba_head_dim), FQK_HF_KEY(n_groups), FQK_HF_KEY(ssm_state_size),
    FQK_HF_KEY(mamba_ssm_cache_dtype), FQK_HF_KEY(mamba_ssm_dtype), FQK_HF_KEY(text_config),
    FQK_HF_KEY(is_encoder_decoder), FQK_HF_KEY(is_decoder), FQK_HF_KEY(block_configs),
    FQK_HF_KEY(layers_block_type), FQK_HF_KEY(cross_attention_layers), FQK_HF_KEY(global_head_dim),
    FQK_HF_KEY(num_global_key_value_heads), FQK_HF_KEY(hybrid_layer_pattern),
    FQK_HF_KEY(num_layers), FQK_HF_KEY(multi_query_attention), FQK_HF_KEY(multi_query_group_num),
    FQK_HF_KEY(num_kv_shared_layers), FQK_HF_KEY(attention_k_eq_v), FQK_HF_KEY(mamba_d_ssm),
    FQK_HF_KEY(compress_ratios), FQK_HF_KEY(index_head_dim), FQK_HF_KEY(swa_num_key_value_heads),
    FQK_HF_KEY(swa_head_dim), FQK_HF_KEY(swa_v_head_dim), FQK_HF_KEY(sliding_window_size),
    FQK_HF_KEY(linear_attn_config), FQK_HF_KEY(attn_type_list), FQK_HF_KEY(mamba_n_heads),
    FQK_HF_KEY(mamba_d_head), FQK_HF_KEY(mamba_n_groups), FQK_HF_KEY(num_attention_groups),
    FQK_HF_KEY(attention_other_setting), FQK_HF_KEY(use_cla), FQK_HF_KEY(cla_share_factor),
    FQK_HF_KEY(attention_head_dim), FQK_HF_KEY(block_types), FQK_HF_KEY(layer_group_size),
    FQK_HF_KEY(full_attn_idxs),
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
/// A scalar inside an object element of a kept array, by its path in the element: "key" or "key.key"
/// (block_configs[i].attention.no_op is "attention.no_op").
struct Member {
    std::string path;
    Token token = Token::null;
    std::string text;
};
struct Item {
    Token token = Token::null;
    std::string text;
    std::vector<Member> members;  ///< an object element's scalars, two levels deep at most
};
struct Slot {
    bool present = false;
    bool defaulted = false;  ///< not in the config: a class default (see kClassDefaults)
    Token token = Token::null;
    std::string text;
    std::vector<Item> items;  ///< an array's elements (scalars as text; nested values by their type only)
};

enum class Section : std::uint8_t { root = 0, text = 1 };
using Slots = std::array<std::array<Slot, kKeyCount>, 2>;

[[gnu::cold]] Error make_error(ErrorKind kind, std::string_view rule, std::span<const std::string_view> fields,
                               std::string message, ErrorDetails details = {}) {
    return Error{kind, rule, fields, std::move(message), details, Error::no_offset};
}

/// A number token that is not an integer: a fraction or exponent, -0, or NaN, Infinity and -Infinity.
[[nodiscard]] bool non_integer(std::string_view raw) noexcept {
    return detail::json::is_float_token(raw) || raw.find_first_of("NI") != std::string_view::npos;
}

/// A number token read as u32: `integer` false when it is not an integer at all (a type error), `value` empty
/// when it is one out of range, negative included (a value error).
struct U32Token {
    bool integer = false;
    std::optional<std::uint32_t> value;
};
[[nodiscard]] U32Token read_u32_token(Token t, std::string_view raw) noexcept {
    if (t != Token::number || non_integer(raw)) return {};
    std::uint64_t v = 0;
    const auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (raw.front() == '-' || r.ec != std::errc{} || v > std::numeric_limits<std::uint32_t>::max()) return {true, {}};
    return {true, static_cast<std::uint32_t>(v)};
}

/// A value as messages show it, serde's way: "integer `5`", "string \"x\"", "map". Long strings are cut.
std::string describe(Token t, std::string_view text) {
    switch (t) {
        case Token::null: return "null";
        case Token::boolean: return std::string("boolean `").append(text).append("`");
        case Token::number:
            return std::string(non_integer(text) ? "floating point `" : "integer `").append(text).append("`");
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
    /// `text` is the whole config and `stream` RapidJSON's position in it (see RawNumber).
    Handler(Slots& slots, std::size_t max_depth, std::string_view text, const rapidjson::MemoryStream& stream)
        : slots_(slots), max_depth_(max_depth), text_(text), stream_(stream) {}

    bool Null() { return scalar(Token::null, {}); }
    bool Bool(bool b) { return scalar(Token::boolean, b ? "true" : "false"); }
    bool Int(int) { return internal(); }
    bool Uint(unsigned) { return internal(); }
    bool Int64(std::int64_t) { return internal(); }
    bool Uint64(std::uint64_t) { return internal(); }
    bool Double(double) { return internal(); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        // RapidJSON keeps only the sign of NaN, Infinity and -Infinity (it consumes their letters without
        // copying them): the token is then the text that ends where the stream stands.
        if (n == 0 || (n == 1 && *s == '-')) {
            const std::size_t end = std::min(stream_.Tell(), text_.size());
            std::size_t begin = end;
            const auto in_token = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-'; };
            while (begin > 0 && in_token(text_[begin - 1])) --begin;
            return scalar(Token::number, text_.substr(begin, end - begin));
        }
        return scalar(Token::number, {s, n});
    }
    bool String(const char* s, rapidjson::SizeType n, bool) { return scalar(Token::string, {s, n}); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (tracked()) {
            key_ = find_key({s, n});
        } else if (const std::optional<std::size_t> level = member_level()) {
            member_keys_[*level].assign(s, n);
        }
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
        if (t == Token::array) {  // its elements are kept too (layer_types, no_rope_layers)
            array_slot_ = &slot;
            array_path_ = path;
            array_depth_ = depth_ + 1;
        }
        return true;
    }

    /// An element directly inside a kept array: its type, and its text when a scalar.
    bool item(Token t, std::string_view text) {
        if (t == Token::string && detail::has_encoded_surrogate(text)) {
            return fail(make_error(
                ErrorKind::parse, wire_rules::json_syntax, array_path_,
                std::string("key `").append(array_path_[0]).append("`: lone surrogate in a \\u escape")));
        }
        array_slot_->items.push_back(Item{t, std::string(text), {}});
        return true;
    }
    [[nodiscard]] bool in_kept_array() const noexcept { return array_slot_ != nullptr && depth_ == array_depth_; }

    /// Inside an object element of the kept array, in an object one or two levels down: the level (0 or 1).
    [[nodiscard]] std::optional<std::size_t> member_level() const noexcept {
        if (array_slot_ == nullptr || depth_ <= array_depth_ || depth_ > array_depth_ + 2) return std::nullopt;
        const std::size_t level = depth_ - array_depth_ - 1;
        if (!level_is_object_[level]) return std::nullopt;
        return level;
    }

    /// A scalar of an object element: kept by its path (see Member).
    bool member(std::size_t level, Token t, std::string_view text) {
        std::string path = member_keys_[0];
        if (level == 1) path.append(".").append(member_keys_[1]);
        array_slot_->items.back().members.push_back(Member{std::move(path), t, std::string(text)});
        return true;
    }

    bool scalar(Token t, std::string_view text) {
        if (depth_ == 0) return root_type(t, text);
        if (in_kept_array()) return item(t, text);
        if (const std::optional<std::size_t> level = member_level()) return member(*level, t, text);
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
        if (in_kept_array()) {
            if (!item(t, {})) return false;
            level_is_object_[0] = t == Token::object;
            level_is_object_[1] = false;
        } else if (const std::optional<std::size_t> level = member_level()) {
            if (*level == 0) level_is_object_[1] = t == Token::object;
        } else if (!keep(t, {})) {
            return false;
        }
        ++depth_;
        if (enters_text) in_text_ = true;
        return true;
    }

    bool close() {
        if (in_kept_array()) array_slot_ = nullptr;
        --depth_;
        if (depth_ == 1) in_text_ = false;
        key_.reset();
        return true;
    }

    Slots& slots_;
    std::size_t max_depth_;
    std::string_view text_;
    const rapidjson::MemoryStream& stream_;
    std::size_t depth_ = 0;
    bool in_text_ = false;
    std::optional<HfKey> key_;
    std::optional<Error> error_;
    Slot* array_slot_ = nullptr;  ///< the kept array being read, if any
    std::span<const std::string_view> array_path_;
    std::size_t array_depth_ = 0;
    bool level_is_object_[2] = {false, false};  ///< the element, and the value one level down, are objects
    std::string member_keys_[2];                ///< the current key at each of those levels
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
        const U32Token v = read_u32_token(slot->token, slot->text);
        if (!v.integer) return type_error(k, *slot, "u32");
        if (!v.value) {
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, path(k),
                              std::string("key `")
                                  .append(name(k))
                                  .append("`: invalid value: integer `")
                                  .append(slot->text)
                                  .append("`, expected u32"));
        }
        return v.value;
    }

    /// A window, chunk, period or interval: a u32 that is at least 1.
    [[nodiscard]] Result<std::optional<std::uint32_t>> positive(HfKey k) const {
        auto v = u32(k);
        if (v && *v && **v == 0) {
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, path(k),
                              std::string("key `").append(name(k)).append("`: invalid value: integer `0`, expected "
                                                                          "a positive integer"));
        }
        return v;
    }

    /// An array's slot, or nothing when absent; a type error when the key holds something else.
    [[nodiscard]] Result<const Slot*> array(HfKey k) const {
        const Slot* slot = get(k);
        if (slot == nullptr) return static_cast<const Slot*>(nullptr);
        if (slot->token != Token::array) return type_error(k, *slot, "a sequence");
        return slot;
    }

    /// "key `k`: element i", the start of a message about one element of an array key.
    [[nodiscard]] std::string element(HfKey k, std::size_t i) const {
        std::string m = std::string("key `").append(name(k)).append("`: element ");
        detail::append_decimal(m, i);
        return m;
    }

    /// Element `i` of an array key as u32 (no_rope_layers).
    [[nodiscard]] Result<std::uint32_t> element_u32(HfKey k, std::size_t i) const {
        const Item& it = get(k)->items[i];
        const U32Token v = read_u32_token(it.token, it.text);
        if (!v.value) {
            std::string m = element(k, i);
            m.append(": invalid ").append(v.integer ? "value: " : "type: ").append(describe(it.token, it.text));
            return make_error(ErrorKind::parse,
                              v.integer ? hf_config_rules::invalid_value : hf_config_rules::invalid_type, path(k),
                              m.append(", expected u32"));
        }
        return *v.value;
    }

    [[nodiscard]] bool defaulted(HfKey k) const noexcept {
        return slots_[static_cast<std::size_t>(s_)][idx(k)].defaulted;
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

    /// "key `k` lists N layers, but the model has M" and `tail`: a per-layer array of the wrong length.
    [[nodiscard, gnu::cold]] Error length_error(HfKey k, std::size_t listed, std::uint32_t layers,
                                                std::string_view tail = {}) const {
        std::string msg = std::string("key `").append(name(k)).append("` lists ");
        detail::append_decimal(msg, listed);
        msg.append(" layers, but the model has ");
        detail::append_decimal(msg, layers);
        return make_error(ErrorKind::parse, hf_config_rules::layer_types_length, path(k), msg.append(tail));
    }

  private:
    const Slots& slots_;
    Section s_;
};

/// The layer kind a string element of a per-layer array names in `names`, if it names one.
std::optional<sizing::LayerKind> named_kind(const Item& it,
                                            std::span<const std::pair<std::string_view, sizing::LayerKind>> names) {
    for (const auto& [name, kind] : names) {
        if (it.token == Token::string && it.text == name) return kind;
    }
    return std::nullopt;
}

/// "key `k`: element i is <the value>", the start of a message about one element of a per-layer array.
std::string element_is(const View& m, HfKey k, std::size_t i, const Item& it) {
    return m.element(k, i).append(" is ").append(describe(it.token, it.text));
}

/// The first of `keys` that is present (not null), read as u32; nothing when none is.
Result<std::optional<std::uint32_t>> first_u32(const View& v, std::initializer_list<HfKey> keys) {
    for (const HfKey k : keys) {
        if (v.get(k) != nullptr) return v.u32(k);
    }
    return std::optional<std::uint32_t>{};
}

/// The key the config gives its layer count by (for messages): num_hidden_layers, n_layer (GPT-2) or num_layers
/// (ChatGLM).
HfKey layers_key(const View& v) noexcept {
    for (const HfKey k : {HfKey::num_hidden_layers, HfKey::n_layer, HfKey::num_layers}) {
        if (v.get(k) != nullptr) return k;
    }
    return HfKey::num_hidden_layers;
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
constexpr std::string_view kModelTypeField[] = {"model_type"};
constexpr std::string_view kEncoderDecoderField[] = {"is_encoder_decoder"};

// ---------------------------------------------------------------------------------------------- class defaults

/// A key's value when the config leaves it out, as transformers' config class of that model_type defines it
/// (the __init__ defaults of configuration_<family>.py). Only keys that shape the cache are listed. A family
/// is rows here, not code: the reader fills these in before it reads anything.
struct ClassDefault {
    std::string_view model_type;
    HfKey key;
    Token token;
    std::string_view text;
};

// clang-format off
constexpr ClassDefault kClassDefaults[] = {
    // LlamaConfig (num_key_value_heads None: the attention heads)
    {"llama", HfKey::hidden_size, Token::number, "4096"}, {"llama", HfKey::num_hidden_layers, Token::number, "32"},
    {"llama", HfKey::num_attention_heads, Token::number, "32"},
    // MistralConfig: a 4096-token window on every layer (v0.1); later configs write null
    {"mistral", HfKey::hidden_size, Token::number, "4096"}, {"mistral", HfKey::num_hidden_layers, Token::number, "32"},
    {"mistral", HfKey::num_attention_heads, Token::number, "32"},
    {"mistral", HfKey::num_key_value_heads, Token::number, "8"},
    {"mistral", HfKey::sliding_window, Token::number, "4096"},
    // Qwen2Config: use_sliding_window False, max_window_layers 28
    {"qwen2", HfKey::hidden_size, Token::number, "4096"}, {"qwen2", HfKey::num_hidden_layers, Token::number, "32"},
    {"qwen2", HfKey::num_attention_heads, Token::number, "32"},
    {"qwen2", HfKey::num_key_value_heads, Token::number, "32"},
    {"qwen2", HfKey::use_sliding_window, Token::boolean, "false"},
    {"qwen2", HfKey::max_window_layers, Token::number, "28"},
    // Qwen3Config
    {"qwen3", HfKey::hidden_size, Token::number, "4096"}, {"qwen3", HfKey::num_hidden_layers, Token::number, "32"},
    {"qwen3", HfKey::num_attention_heads, Token::number, "32"},
    {"qwen3", HfKey::num_key_value_heads, Token::number, "32"}, {"qwen3", HfKey::head_dim, Token::number, "128"},
    {"qwen3", HfKey::use_sliding_window, Token::boolean, "false"},
    {"qwen3", HfKey::max_window_layers, Token::number, "28"},
    // GemmaConfig
    {"gemma", HfKey::hidden_size, Token::number, "3072"}, {"gemma", HfKey::num_hidden_layers, Token::number, "28"},
    {"gemma", HfKey::num_attention_heads, Token::number, "16"},
    {"gemma", HfKey::num_key_value_heads, Token::number, "16"}, {"gemma", HfKey::head_dim, Token::number, "256"},
    // Gemma2Config: every other layer slides (layer_types: sliding where (i + 1) % 2)
    {"gemma2", HfKey::hidden_size, Token::number, "2304"}, {"gemma2", HfKey::num_hidden_layers, Token::number, "26"},
    {"gemma2", HfKey::num_attention_heads, Token::number, "8"},
    {"gemma2", HfKey::num_key_value_heads, Token::number, "4"}, {"gemma2", HfKey::head_dim, Token::number, "256"},
    {"gemma2", HfKey::sliding_window, Token::number, "4096"},
    {"gemma2", HfKey::sliding_window_pattern, Token::number, "2"},
    // Gemma3TextConfig: five sliding layers, then one full
    {"gemma3_text", HfKey::hidden_size, Token::number, "2304"},
    {"gemma3_text", HfKey::num_hidden_layers, Token::number, "26"},
    {"gemma3_text", HfKey::num_attention_heads, Token::number, "8"},
    {"gemma3_text", HfKey::num_key_value_heads, Token::number, "4"},
    {"gemma3_text", HfKey::head_dim, Token::number, "256"},
    {"gemma3_text", HfKey::sliding_window, Token::number, "4096"},
    {"gemma3_text", HfKey::sliding_window_pattern, Token::number, "6"},
    // Cohere2Config: three sliding layers, then one full
    {"cohere2", HfKey::hidden_size, Token::number, "8192"}, {"cohere2", HfKey::num_hidden_layers, Token::number, "40"},
    {"cohere2", HfKey::num_attention_heads, Token::number, "64"},
    {"cohere2", HfKey::sliding_window, Token::number, "4096"},
    {"cohere2", HfKey::sliding_window_pattern, Token::number, "4"},
    // Llama4TextConfig: chunked local attention, every fourth layer global (no_rope_layer_interval)
    {"llama4_text", HfKey::hidden_size, Token::number, "5120"},
    {"llama4_text", HfKey::num_hidden_layers, Token::number, "48"},
    {"llama4_text", HfKey::num_attention_heads, Token::number, "40"},
    {"llama4_text", HfKey::num_key_value_heads, Token::number, "8"},
    {"llama4_text", HfKey::head_dim, Token::number, "128"},
    {"llama4_text", HfKey::attention_chunk_size, Token::number, "8192"},
    {"llama4_text", HfKey::no_rope_layer_interval, Token::number, "4"},
    // DeepseekV2Config and DeepseekV3Config (Kimi-K2 is a deepseek_v3)
    {"deepseek_v2", HfKey::hidden_size, Token::number, "5120"},
    {"deepseek_v2", HfKey::num_hidden_layers, Token::number, "60"},
    {"deepseek_v2", HfKey::num_attention_heads, Token::number, "128"},
    {"deepseek_v2", HfKey::kv_lora_rank, Token::number, "512"},
    {"deepseek_v2", HfKey::qk_nope_head_dim, Token::number, "128"},
    {"deepseek_v2", HfKey::qk_rope_head_dim, Token::number, "64"},
    {"deepseek_v2", HfKey::v_head_dim, Token::number, "128"},
    {"deepseek_v3", HfKey::hidden_size, Token::number, "7168"},
    {"deepseek_v3", HfKey::num_hidden_layers, Token::number, "61"},
    {"deepseek_v3", HfKey::num_attention_heads, Token::number, "128"},
    {"deepseek_v3", HfKey::kv_lora_rank, Token::number, "512"},
    {"deepseek_v3", HfKey::qk_nope_head_dim, Token::number, "128"},
    {"deepseek_v3", HfKey::qk_rope_head_dim, Token::number, "64"},
    {"deepseek_v3", HfKey::v_head_dim, Token::number, "128"},
    // FalconConfig: multi_query True unless the new decoder architecture; the RefinedWeb model types are the
    // checkpoints Falcon was first published under (RefinedWebModel: 7B, multi-query; RefinedWeb: 40B, grouped)
    {"falcon", HfKey::hidden_size, Token::number, "4544"}, {"falcon", HfKey::num_hidden_layers, Token::number, "32"},
    {"falcon", HfKey::num_attention_heads, Token::number, "71"},
    {"falcon", HfKey::multi_query, Token::boolean, "true"},
    {"RefinedWebModel", HfKey::multi_query, Token::boolean, "true"},
    {"RefinedWeb", HfKey::new_decoder_architecture, Token::boolean, "true"},
    // JambaConfig: one attention layer in eight, at offset 4; Mamba layers elsewhere
    {"jamba", HfKey::hidden_size, Token::number, "4096"}, {"jamba", HfKey::num_hidden_layers, Token::number, "32"},
    {"jamba", HfKey::num_attention_heads, Token::number, "32"},
    {"jamba", HfKey::num_key_value_heads, Token::number, "8"},
    {"jamba", HfKey::attn_layer_period, Token::number, "8"}, {"jamba", HfKey::attn_layer_offset, Token::number, "4"},
    {"jamba", HfKey::mamba_d_state, Token::number, "16"}, {"jamba", HfKey::mamba_d_conv, Token::number, "4"},
    {"jamba", HfKey::mamba_expand, Token::number, "2"},
    // Qwen3NextConfig: three Gated DeltaNet layers, then one full attention layer
    {"qwen3_next", HfKey::hidden_size, Token::number, "2048"},
    {"qwen3_next", HfKey::num_hidden_layers, Token::number, "48"},
    {"qwen3_next", HfKey::num_attention_heads, Token::number, "16"},
    {"qwen3_next", HfKey::num_key_value_heads, Token::number, "2"},
    {"qwen3_next", HfKey::head_dim, Token::number, "256"},
    {"qwen3_next", HfKey::full_attention_interval, Token::number, "4"},
    {"qwen3_next", HfKey::linear_num_key_heads, Token::number, "16"},
    {"qwen3_next", HfKey::linear_num_value_heads, Token::number, "32"},
    {"qwen3_next", HfKey::linear_key_head_dim, Token::number, "128"},
    {"qwen3_next", HfKey::linear_value_head_dim, Token::number, "128"},
    {"qwen3_next", HfKey::linear_conv_kernel_dim, Token::number, "4"},
    // MambaConfig: no attention at all
    {"mamba", HfKey::hidden_size, Token::number, "768"}, {"mamba", HfKey::num_hidden_layers, Token::number, "32"},
    {"mamba", HfKey::state_size, Token::number, "16"}, {"mamba", HfKey::conv_kernel, Token::number, "4"},
    {"mamba", HfKey::expand, Token::number, "2"},
    // GPT2Config
    {"gpt2", HfKey::n_layer, Token::number, "12"}, {"gpt2", HfKey::n_head, Token::number, "12"},
    {"gpt2", HfKey::n_embd, Token::number, "768"},
};
// clang-format on

/// The text model's model_type when a composite config's text_config leaves it out (the composite class's
/// default text_config: LlavaConfig's is a LlamaConfig, Gemma3Config's a Gemma3TextConfig...).
constexpr std::pair<std::string_view, std::string_view> kTextModelTypes[] = {
    {"llava", "llama"}, {"llava_next", "llama"}, {"gemma3", "gemma3_text"}, {"llama4", "llama4_text"},
};

/// Models that keep no decoder-only KV cache, by the model_type of transformers' config class: encoder-only
/// ones (their config classes leave is_decoder false: BertConfig, RobertaConfig, ...) keep none, and
/// encoder-decoder ones (is_encoder_decoder true in T5Config, BartConfig, WhisperConfig, ...) keep a decoder
/// self-attention cache and a cross-attention cache of the encoder's output, which the cache model does not have.
constexpr std::string_view kEncoderOnlyTypes[] = {
    "bert", "roberta", "xlm-roberta", "xlm-roberta-xl", "distilbert", "albert", "electra", "deberta",
    "deberta-v2", "camembert", "mpnet", "modernbert", "ernie", "rembert", "roformer", "nomic_bert",
};
constexpr std::string_view kEncoderDecoderTypes[] = {
    "t5", "mt5", "umt5", "longt5", "switch_transformers", "bart", "mbart", "pegasus", "pegasus_x", "marian",
    "blenderbot", "blenderbot-small", "led", "m2m_100", "nllb-moe", "fsmt", "prophetnet", "whisper", "plbart",
};

/// Fills the section's absent keys from the class defaults of `model_type`; returns a note naming them.
std::optional<std::string> apply_class_defaults(std::array<Slot, kKeyCount>& section, std::string_view model_type) {
    std::string note;
    for (const ClassDefault& d : kClassDefaults) {
        if (d.model_type != model_type) continue;
        Slot& slot = section[idx(d.key)];
        if (slot.present) continue;  // a null stays null: transformers reads it as None
        slot.present = true;
        slot.defaulted = true;
        slot.token = d.token;
        slot.text.assign(d.text);
        note.append(note.empty() ? "" : ", ").append(kKeys[idx(d.key)].name).append(" ").append(d.text);
    }
    if (note.empty()) return std::nullopt;
    return std::string("keys the config leaves out take transformers' ")
        .append(model_type)
        .append(" class defaults: ")
        .append(note);
}

/// The config's attention as a v1 key descriptor. Field by field, not make_kv_tensor_shape_v1(): a field the
/// schema adds later takes its default here instead of breaking this call (handwritten code never lists every
/// field).
KvTensorShapeV1 v1_key(const HfConfig& config, std::uint32_t batch, std::uint32_t tokens, KvDType dtype,
                       KvRopeState rope) {
    KvTensorShapeV1 key;
    key.role = KvRole::key;
    key.attention_kind = config.attention_kind;
    key.batch = batch;
    key.layers = config.layers;
    key.kv_heads = config.kv_heads;
    key.query_heads = config.query_heads;
    key.tokens = tokens;
    key.head_dim = config.head_dim;
    key.dtype = dtype;
    key.rope_state = rope;
    return key;
}

#define FQK_TRY(var, expr)                                     \
    auto var##_result = (expr);                                \
    if (!var##_result) return std::move(var##_result).error(); \
    auto var = std::move(var##_result).value()

/// Element `i` of a per-layer array of 0/1 flags (hybrid_layer_pattern, attn_type_list): a u32 that is 0 or 1,
/// else a parse error that says what each means, e.g. "expected 0 (full attention) or 1 (sliding window)".
Result<std::uint32_t> layer_flag(const View& m, HfKey k, std::size_t i, std::string_view meanings) {
    FQK_TRY(flag, m.element_u32(k, i));
    if (flag > 1) {
        std::string msg = element_is(m, k, i, m.get(k)->items[i]);
        return make_error(ErrorKind::parse, hf_config_rules::unknown_layer_type, m.path(k),
                          msg.append(", expected ").append(meanings));
    }
    return flag;
}

/// Nemotron-NAS (DeciLM, model_type nemotron-nas): block_configs[i].attention says layer i's attention. vLLM's
/// model_executor/models/nemotron_nas.py (DeciLMDecoderLayer.__init__) builds none where attention.no_op is true
/// and otherwise num_attention_heads / attention.n_heads_in_group KV heads. Returns each layer's KV heads, none
/// for a layer without attention; attention that is anything else (replace_with_linear, a window_length, sink
/// tokens, sparsify) is refused rather than sized as plain attention.
Result<std::vector<std::optional<std::uint32_t>>> read_block_configs(const View& m, const Slot& blocks,
                                                                     std::uint32_t layers, std::uint32_t heads) {
    const HfKey k = HfKey::block_configs;
    const auto element_error = [&](ErrorKind kind, std::string_view rule, std::size_t i, std::string_view what) {
        return make_error(kind, rule, m.path(k), m.element(k, i).append(": ").append(what));
    };
    if (blocks.items.size() != layers) return m.length_error(k, blocks.items.size(), layers);
    std::vector<std::optional<std::uint32_t>> out(layers);
    for (std::size_t i = 0; i < layers; ++i) {
        const Item& it = blocks.items[i];
        if (it.token != Token::object) {
            return element_error(ErrorKind::parse, hf_config_rules::invalid_type, i,
                                 "invalid type: " + describe(it.token, it.text) + ", expected a map");
        }
        const auto find = [&](std::string_view path) -> const Member* {
            for (const Member& mem : it.members) {
                if (mem.path == path && mem.token != Token::null) return &mem;
            }
            return nullptr;
        };
        const auto flag = [&](std::string_view path) -> Result<bool> {
            const Member* mem = find(path);
            if (mem == nullptr) return false;
            if (mem->token != Token::boolean) {
                return element_error(ErrorKind::parse, hf_config_rules::invalid_type, i,
                                     std::string("`").append(path).append("`: invalid type: ")
                                         .append(describe(mem->token, mem->text)).append(", expected a boolean"));
            }
            return mem->text == "true";
        };
        FQK_TRY(no_op, flag("attention.no_op"));
        if (no_op) continue;
        FQK_TRY(linear, flag("attention.replace_with_linear"));
        for (const std::string_view other : {"attention.window_length", "attention.num_sink_tokens",
                                             "attention.sparsify"}) {
            if (linear || find(other) != nullptr) {
                return element_error(ErrorKind::unsupported, hf_config_rules::unknown_layer_pattern, i,
                                     std::string("`")
                                         .append(linear ? "attention.replace_with_linear" : other)
                                         .append("` is set: only plain attention (or no_op) is sized"));
            }
        }
        const Member* group = find("attention.n_heads_in_group");
        if (group == nullptr) {
            return element_error(ErrorKind::parse, hf_config_rules::missing_key, i,
                                 "missing key `attention.n_heads_in_group` (a layer that is not no_op)");
        }
        const U32Token v = read_u32_token(group->token, group->text);
        if (!v.value || *v.value == 0) {
            return element_error(ErrorKind::parse,
                                 v.integer ? hf_config_rules::invalid_value : hf_config_rules::invalid_type, i,
                                 std::string("`attention.n_heads_in_group`: invalid ")
                                     .append(v.integer ? "value: " : "type: ")
                                     .append(describe(group->token, group->text))
                                     .append(", expected a positive integer"));
        }
        const std::uint32_t n = *v.value;
        if (heads % n != 0) {
            std::string what = "`attention.n_heads_in_group` ";
            detail::append_decimal(what, n);
            what.append(" does not divide the ");
            detail::append_decimal(what, heads);
            return element_error(ErrorKind::dimension_not_divisible, hf_config_rules::invalid_value, i,
                                 what.append(" attention heads"));
        }
        out[i] = heads / n;
    }
    return out;
}

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
        rapidjson::MemoryStream stream(json.data(), json.size());
        Handler handler(slots, limits.max_depth, json, stream);
        rapidjson::Reader reader;
        const rapidjson::ParseResult r =
            reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                         rapidjson::kParseNanAndInfFlag>(stream, handler);
        if (handler.has_error()) {
            Error e = handler.take_error();
            e.offset = r.Offset();
            return e;
        }
        if (r.IsError()) {
            std::string m = "invalid JSON: ";
            m.append(rapidjson::GetParseError_En(r.Code()));
            if (json.starts_with("\xEF\xBB\xBF")) {  // as Python's json.loads refuses it ("Unexpected UTF-8 BOM")
                m.append(" (the config starts with a UTF-8 byte order mark, which JSON does not allow)");
            }
            return Error{ErrorKind::parse, wire_rules::json_syntax, {}, std::move(m), {}, r.Offset()};
        }
    }

    HfConfig out;
    Section section = Section::root;
    {
        const View top(slots, Section::root);
        if (const Slot* tc = top.get(HfKey::text_config)) {
            if (tc->token != Token::object) return top.type_error(HfKey::text_config, *tc, "a JSON object or null");
            section = Section::text;
        }
    }
    // The class defaults of the model section's model_type (a composite's text model's, if it names none).
    {
        const View top(slots, Section::root);
        const View sec(slots, section);
        FQK_TRY(root_type, top.string(HfKey::model_type));
        std::optional<std::string> own;
        if (section == Section::text) {
            FQK_TRY(text_type, sec.string(HfKey::model_type));
            own = std::move(text_type);
            if (!own && root_type) {
                for (const auto& [composite, text] : kTextModelTypes) {
                    if (composite == *root_type) own = std::string(text);
                }
            }
        } else {
            own = root_type;
        }
        // Models with no decoder-only cache are refused by name, before a key they spell their own way (T5's
        // num_layers, say) is reported missing.
        FQK_TRY(enc_dec, top.boolean(HfKey::is_encoder_decoder));
        FQK_TRY(is_dec, top.boolean(HfKey::is_decoder));
        const auto listed = [&](std::span<const std::string_view> types) {
            return own && std::find(types.begin(), types.end(), *own) != types.end();
        };
        if (enc_dec.value_or(listed(kEncoderDecoderTypes))) {
            std::string msg = "key `is_encoder_decoder` is true: an encoder-decoder model";
            if (!enc_dec) {
                msg = "model_type ";
                detail::append_json_string(msg, *own);
                msg.append(" is an encoder-decoder model:");
            }
            msg.append(" keeps a decoder self-attention cache and a cross-attention cache of the encoder's output, "
                       "and the cache model has neither");
            return make_error(ErrorKind::unsupported, hf_config_rules::not_decoder_only,
                              enc_dec ? std::span<const std::string_view>(kEncoderDecoderField)
                                      : std::span<const std::string_view>(kModelTypeField),
                              std::move(msg));
        }
        if (!is_dec.value_or(false) && listed(kEncoderOnlyTypes)) {
            std::string msg = "model_type ";
            detail::append_json_string(msg, *own);
            return make_error(ErrorKind::unsupported, hf_config_rules::not_decoder_only, kModelTypeField,
                              msg.append(" is an encoder-only model: it keeps no KV cache"));
        }
        if (own) {
            if (std::optional<std::string> note =
                    apply_class_defaults(slots[static_cast<std::size_t>(section)], *own)) {
                out.cache.notes.push_back(std::move(*note));
            }
        }
    }
    const View top(slots, Section::root);
    const View m(slots, section);

    // Attention-free models (Mamba) have no heads: their layers are all state.
    FQK_TRY(counted_layers, first_u32(m, {HfKey::num_hidden_layers, HfKey::n_layer, HfKey::num_layers}));
    std::optional<std::uint32_t> layers = counted_layers;
    // Newer Nemotron-H configs give only layers_block_type, one name a layer (NemotronHConfig derives
    // num_hidden_layers from it).
    if (const Slot* blocks = m.get(HfKey::layers_block_type);
        !layers && blocks != nullptr && blocks->token == Token::array &&
        blocks->items.size() <= std::numeric_limits<std::uint32_t>::max()) {
        layers = static_cast<std::uint32_t>(blocks->items.size());
    }
    if (!layers)
        return m.missing(HfKey::num_hidden_layers, std::string(" (or `")
                                                       .append(m.name(HfKey::n_layer))
                                                       .append("` or `")
                                                       .append(m.name(HfKey::num_layers))
                                                       .append("`)"));
    if (*layers > limits.max_layers) {
        const HfKey k = layers_key(m);
        std::string msg = std::string("key `").append(m.name(k)).append("`: ");
        detail::append_decimal(msg, *layers);
        msg.append(" layers is over the limit of ");
        detail::append_decimal(msg, limits.max_layers);
        return make_error(ErrorKind::resource_limit_exceeded, hf_config_rules::too_many_layers, m.path(k),
                          msg.append(" (HfConfigLimits::max_layers)"));
    }
    const bool attention_free = m.get(HfKey::num_attention_heads) == nullptr && m.get(HfKey::n_head) == nullptr &&
                                m.get(HfKey::state_size) != nullptr;
    std::optional<std::uint32_t> heads_read;
    if (!attention_free) {
        FQK_TRY(h, first_u32(m, {HfKey::num_attention_heads, HfKey::n_head}));
        if (!h) {
            return m.missing(HfKey::num_attention_heads,
                             std::string(" (or `").append(m.name(HfKey::n_head)).append("`)"));
        }
        heads_read = h;
    }
    const std::uint32_t heads = heads_read.value_or(0);

    // KV heads: transformers' default is the attention heads; Falcon spells them its own way (n_head_kv in
    // the RefinedWeb configs), and ChatGLM its own: multi_query_group_num when multi_query_attention is true
    // (vLLM's model_executor/models/chatglm.py, GLMAttention.__init__: total_num_kv_heads; ChatGLMConfig's default
    // group count is 1). StepFun's Step-3 and Step-3.5 call them num_attention_groups (vLLM's step3p5.py,
    // Step3p5DecoderLayer: num_kv_heads=config.num_attention_groups; step3_text.py fixes them at 1, which its
    // configs say).
    std::uint32_t kv = heads;
    FQK_TRY(nkv_std, m.u32(HfKey::num_key_value_heads));
    FQK_TRY(step_groups, m.u32(HfKey::num_attention_groups));
    const std::optional<std::uint32_t> nkv = nkv_std ? nkv_std : step_groups;
    FQK_TRY(glm_mqa, m.boolean(HfKey::multi_query_attention));
    FQK_TRY(glm_groups, m.u32(HfKey::multi_query_group_num));
    FQK_TRY(falcon_kv_new, m.u32(HfKey::num_kv_heads));
    FQK_TRY(falcon_kv_old, m.u32(HfKey::n_head_kv));
    const std::optional<std::uint32_t> falcon_kv = falcon_kv_new ? falcon_kv_new : falcon_kv_old;
    FQK_TRY(mq, m.boolean(HfKey::multi_query));
    FQK_TRY(nda, m.boolean(HfKey::new_decoder_architecture));
    if (nkv) {
        kv = *nkv;
    } else if (glm_mqa.value_or(false)) {
        kv = glm_groups.value_or(1);
    } else if (nda.value_or(false)) {
        kv = falcon_kv.value_or(heads);
    } else if (mq.value_or(false)) {
        kv = 1;
    } else if (falcon_kv) {
        kv = *falcon_kv;
    }
    // Nemotron-NAS: each layer's KV heads from block_configs (read_block_configs); the config-wide figure (the
    // v1 fields, the geometry check) is the first attention layer's.
    FQK_TRY(blocks, m.array(HfKey::block_configs));
    std::vector<std::optional<std::uint32_t>> block_kv;
    if (blocks != nullptr) {
        FQK_TRY(per_layer, read_block_configs(m, *blocks, *layers, heads));
        block_kv = std::move(per_layer);
        for (const std::optional<std::uint32_t>& b : block_kv) {
            if (b) {
                kv = *b;
                break;
            }
        }
    }

    // Multi-head latent attention's keys, read once: the head_dim below and the MLA layer spec both use them.
    FQK_TRY(lora, m.u32(HfKey::kv_lora_rank));
    FQK_TRY(nope, m.u32(HfKey::qk_nope_head_dim));
    FQK_TRY(rope, m.u32(HfKey::qk_rope_head_dim));

    // head_dim: explicit, or hidden_size / heads exactly. Hunyuan's configs may give it as attention_head_dim
    // instead (vLLM's hunyuan_v1.py, HunYuanAttention: head_dim, else attention_head_dim, else the quotient).
    FQK_TRY(head_dim_key, m.u32(HfKey::head_dim));
    FQK_TRY(hunyuan_hd, m.u32(HfKey::attention_head_dim));
    const std::optional<std::uint32_t> explicit_hd = head_dim_key ? head_dim_key : hunyuan_hd;
    std::uint32_t hd = 0;
    const HfKey hidden_key = m.get(HfKey::hidden_size) != nullptr ? HfKey::hidden_size : HfKey::n_embd;
    FQK_TRY(hidden, m.u32(hidden_key));
    if (explicit_hd) {
        hd = *explicit_hd;
    } else if (!attention_free) {
        if (!hidden) {
            return m.missing(HfKey::hidden_size, std::string(" (or `")
                                                     .append(m.name(HfKey::n_embd))
                                                     .append("`, or an explicit `")
                                                     .append(m.name(HfKey::head_dim))
                                                     .append("`)"));
        }
        // Multi-head latent attention has its own widths (qk_nope_head_dim + qk_rope_head_dim): hidden_size need
        // not divide by the heads there (Kimi's 7168 over 96).
        const std::uint64_t mla_width = lora && nope && rope ? std::uint64_t{*nope} + *rope : std::uint64_t{0};
        if (heads != 0 && *hidden % heads != 0 && mla_width != 0 &&
            mla_width <= std::numeric_limits<std::uint32_t>::max()) {
            hd = static_cast<std::uint32_t>(mla_width);
        } else if (heads != 0) {  // no heads: validate() names query_heads later
            const HfKey heads_key =
                m.get(HfKey::num_attention_heads) != nullptr ? HfKey::num_attention_heads : HfKey::n_head;
            if (*hidden % heads != 0) {
                std::string msg = std::string("`").append(m.name(hidden_key)).append("` ");
                detail::append_decimal(msg, *hidden);
                msg.append(" is not a multiple of `").append(m.name(heads_key)).append("` ");
                detail::append_decimal(msg, heads);
                msg.append(", and there is no `").append(m.name(HfKey::head_dim)).append("`");
                return make_error(ErrorKind::dimension_not_divisible, hf_config_rules::hidden_size_divisible,
                                  m.path(hidden_key), std::move(msg), ErrorDetails{*hidden, heads});
            }
            hd = *hidden / heads;
        }
    }

    // Keys and values may differ in width (v_head_dim); MLA caches a latent of kv_lora_rank + qk_rope_head_dim.
    FQK_TRY(qk_hd, m.u32(HfKey::qk_head_dim));
    FQK_TRY(v_hd, m.u32(HfKey::v_head_dim));

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

    // DeepSeek sparse attention (DeepSeek-V3.2): an indexer keeps keys of its own per token and layer besides the
    // MLA latent; they are not in the cache model, and every figure says so.
    FQK_TRY(index_hd, m.u32(HfKey::index_head_dim));
    if (index_hd) {
        std::string note = "DeepSeek sparse attention: the indexer's own key cache (index_head_dim ";
        detail::append_decimal(note, *index_hd);
        note.append(" per token and layer) is not counted");
        out.notes.push_back(note);
        out.cache.notes.push_back(std::move(note));
    }

    FQK_TRY(window, m.positive(HfKey::sliding_window));
    FQK_TRY(use_window, m.boolean(HfKey::use_sliding_window));
    if (window && use_window.value_or(true)) {
        std::string note = "sliding_window ";
        detail::append_decimal(note, *window);
        out.notes.push_back(note.append(" is not in the descriptor: every layer is sized at the full length"));
    }

    // What a KvTensorShapeV1 cannot describe faithfully: size_kv_cache() refuses it, the engines size it.
    if (lora) {
        out.v1_refusal = make_error(
            ErrorKind::unsupported, hf_config_rules::mla, m.path(HfKey::kv_lora_rank),
            std::string("key `")
                .append(m.name(HfKey::kv_lora_rank))
                .append("` is set: multi-head latent attention caches a compressed latent shared by the heads, "
                        "not per-head keys and values, and a KvTensorShapeV1 cannot describe it"));
    } else {
        for (const auto& [k, other] : {std::pair{HfKey::qk_head_dim, qk_hd}, std::pair{HfKey::v_head_dim, v_hd}}) {
            if (out.v1_refusal || !other || *other == hd) continue;
            std::string msg = std::string("key `").append(m.name(k)).append("` ");
            detail::append_decimal(msg, *other);
            msg.append(" differs from the head_dim ");
            detail::append_decimal(msg, hd);
            msg.append(": keys and values with different head dims are not one KvTensorShapeV1 geometry");
            out.v1_refusal =
                make_error(ErrorKind::unsupported, hf_config_rules::head_dims_differ, m.path(k), std::move(msg));
        }
    }

    if (!out.v1_refusal) {
        for (std::size_t i = 0; i < block_kv.size(); ++i) {
            if (!block_kv[i] || *block_kv[i] == kv) continue;
            std::string msg = "key `";
            msg.append(m.name(HfKey::block_configs)).append("` gives layer ");
            detail::append_decimal(msg, i);
            msg.append(" ");
            detail::append_decimal(msg, *block_kv[i]);
            msg.append(" KV heads and an earlier layer ");
            detail::append_decimal(msg, kv);
            msg.append(": layers with different KV heads are not one KvTensorShapeV1 geometry");
            out.v1_refusal = make_error(ErrorKind::unsupported, hf_config_rules::layers_differ,
                                        m.path(HfKey::block_configs), std::move(msg));
            break;
        }
    }

    out.layers = *layers;
    out.query_heads = heads;
    out.kv_heads = kv;
    out.head_dim = hd;
    out.attention_kind = kv == heads ? KvAttentionKind::mha : kv == 1 ? KvAttentionKind::mqa : KvAttentionKind::gqa;
    // The geometry is checked here, once, by the descriptor's own validate() on one token: the v1 rows and
    // every engine's sizing then refuse the same configs with the same errors (no layers, heads that do not
    // divide, more KV heads than query heads, a zero head_dim). An attention-free model has no heads to check.
    // An overflow is left to the sizing, which names the real tokens and batch.
    if (!attention_free) {
        if (Status st = validate(v1_key(out, 1, 1, KvDType::f16, KvRopeState::post_rope));
            !st && st.error().kind != ErrorKind::resource_limit_exceeded) {
            return std::move(st).error();
        }
    }

    // ------------------------------------------------------------------ the cache model: one spec per layer
    sizing::CacheModel& cache = out.cache;
    cache.model_type = out.model_type;
    cache.query_heads = heads;
    cache.torch_dtype = out.torch_dtype;

    using sizing::LayerKind;
    sizing::LayerSpec attention;  // a full attention layer of this model
    attention.kind = LayerKind::full;
    attention.kv_heads = kv;
    attention.key_dim = qk_hd.value_or(hd);
    attention.value_dim = v_hd.value_or(hd);
    if (lora) {
        // MLA (DeepSeek-V2/V3, Kimi-K2). transformers' DeepseekV3Attention.forward up-projects the latent and
        // caches keys of qk_nope_head_dim + qk_rope_head_dim and values of v_head_dim for every attention head
        // (modeling_deepseek_v3.py, past_key_value.update(key_states, value_states, ...), read at 00b676f8);
        // vLLM and llama.cpp cache the latent (kv_lora_rank) and the RoPE key (qk_rope_head_dim) instead.
        if (!rope) return m.missing(HfKey::qk_rope_head_dim, " (a multi-head latent attention config)");
        if (!nope) return m.missing(HfKey::qk_nope_head_dim, " (a multi-head latent attention config)");
        if (!v_hd) return m.missing(HfKey::v_head_dim, " (a multi-head latent attention config)");
        if (*lora == 0) {
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, m.path(HfKey::kv_lora_rank),
                              std::string("key `").append(m.name(HfKey::kv_lora_rank)).append(
                                  "`: invalid value: integer `0`, expected a positive integer"));
        }
        attention.kind = LayerKind::mla;
        attention.kv_heads = heads;
        const std::uint64_t k_dim = std::uint64_t{*nope} + *rope;
        if (k_dim > std::numeric_limits<std::uint32_t>::max()) {
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, m.path(HfKey::qk_nope_head_dim),
                              std::string("keys `").append(m.name(HfKey::qk_nope_head_dim)).append("` + `")
                                  .append(m.name(HfKey::qk_rope_head_dim)).append("` do not fit in 32 bits"));
        }
        attention.key_dim = static_cast<std::uint32_t>(k_dim);
        attention.value_dim = *v_hd;
        attention.kv_lora_rank = *lora;
        attention.rope_dim = *rope;
    }

    // Keys by which a family gives its layers a geometry of their own that this reader does not lay out: the
    // config is refused, naming the key, rather than sized as if every layer were alike.
    FQK_TRY(types, m.array(HfKey::layer_types));
    // Gemma-4 (vLLM's model_executor/models/gemma4.py, Gemma4DecoderLayer.__init__, read at 001cabc1be16): its
    // full-attention layers take global_head_dim, and num_global_key_value_heads where attention_k_eq_v is true;
    // K and V are both cached at full size even then (V is a copy of the K projection, normalised apart:
    // Gemma4Attention.forward passes both to the cache, as transformers and llama.cpp do).
    FQK_TRY(global_hd, m.positive(HfKey::global_head_dim));
    FQK_TRY(global_kv, m.positive(HfKey::num_global_key_value_heads));
    FQK_TRY(k_eq_v, m.boolean(HfKey::attention_k_eq_v));
    const std::uint32_t full_hd = global_hd.value_or(attention.key_dim);
    const std::uint32_t full_kv = k_eq_v.value_or(false) && global_kv ? *global_kv : attention.kv_heads;
    // MiMo-V2: its sliding-window layers take swa_num_key_value_heads, swa_head_dim and swa_v_head_dim, and the
    // window sliding_window_size (mimo_v2_flash.py, MiMoV2Attention built with the swa_* keys).
    FQK_TRY(swa_kv, m.positive(HfKey::swa_num_key_value_heads));
    FQK_TRY(swa_hd, m.positive(HfKey::swa_head_dim));
    FQK_TRY(swa_vhd, m.positive(HfKey::swa_v_head_dim));
    FQK_TRY(swa_window, m.positive(HfKey::sliding_window_size));
    const bool full_differs =
        attention.kind == LayerKind::full &&
        ((global_hd && (*global_hd != attention.key_dim || *global_hd != attention.value_dim)) ||
         full_kv != attention.kv_heads);
    // Hunyuan's cross-layer attention (vLLM's hunyuan_v1.py, _get_cla_factor: cla_share_factor where use_cla):
    // layers that are not a multiple of the factor reuse the keys and values of the layer before.
    FQK_TRY(use_cla, m.boolean(HfKey::use_cla));
    FQK_TRY(cla_factor, m.u32(HfKey::cla_share_factor));
    const bool cla = use_cla.value_or(false) && cla_factor.value_or(1) > 1;
    {
        struct Unread {
            HfKey key;
            bool refused;
            std::string_view what;
        };
        const Unread unread[] = {
            {HfKey::linear_attn_config, m.get(HfKey::linear_attn_config) != nullptr,
             "lays out linear-attention and MLA layers in an object of its own (Kimi-Linear)"},
            {HfKey::cross_attention_layers, m.get(HfKey::cross_attention_layers) != nullptr,
             "makes those layers cross-attention layers, which cache the vision tokens instead (Mllama)"},
            {HfKey::global_head_dim, global_hd && attention.key_dim != attention.value_dim,
             "gives the full-attention layers a head_dim of their own, and the others' key and value widths differ"},
            {HfKey::mamba_d_ssm, m.get(HfKey::mamba_d_ssm) != nullptr,
             "runs a Mamba-2 mixer beside the attention of every layer (Falcon-H1), whose state is not modelled"},
            {HfKey::compress_ratios, m.get(HfKey::compress_ratios) != nullptr,
             "gives layers compressed key-value caches of their own (DeepSeek-V4)"},
            {HfKey::attention_other_setting, m.get(HfKey::attention_other_setting) != nullptr,
             "gives the layers of one type heads and widths of their own (Step-3.5)"},
            {HfKey::block_types, m.get(HfKey::block_types) != nullptr,
             "names recurrent and local-attention blocks, a recurrent state beside windowed attention "
             "(RecurrentGemma)"},
            {HfKey::layer_group_size, m.get(HfKey::layer_group_size) != nullptr,
             "makes one layer in each group softmax attention and the others linear attention (Ling and Ring "
             "linear, bailing_moe_linear)"},
            {HfKey::full_attn_idxs, m.get(HfKey::full_attn_idxs) != nullptr,
             "makes the layers it does not list short-convolution layers with a state of their own (LFM2)"},
            {HfKey::cla_share_factor, cla,
             "with `use_cla` lets layers share the keys and values of the layer before them (Hunyuan's cross-layer "
             "attention)"},
        };
        for (const Unread& u : unread) {
            if (!u.refused) continue;
            return make_error(ErrorKind::unsupported, hf_config_rules::unknown_layer_pattern, m.path(u.key),
                              std::string("key `").append(m.name(u.key)).append("` ").append(u.what).append(
                                  ": this reader does not lay out such layers, and does not size them as if they "
                                  "were alike"));
        }
    }

    // The kinds, from layer_types, else from the family's pattern keys (each becomes the per-layer array once).
    FQK_TRY(chunk, m.positive(HfKey::attention_chunk_size));
    std::vector<LayerKind> kinds(*layers, LayerKind::full);
    bool implicit_window = false;  // one config-wide window and no pattern (see LayerSpec::implicit_window)
    if (types != nullptr) {
        if (types->items.size() != *layers) {
            return m.length_error(HfKey::layer_types, types->items.size(), *layers,
                                  std::string(" (`").append(m.name(layers_key(m))).append("`)"));
        }
        // The names transformers' layer_type_validation accepts that hold a cache of their own kind.
        // "deepseek_sparse_attention" (GLM-5): attention over the whole context, MLA here; its indexer's cache is
        // noted, not counted (index_head_dim).
        static constexpr std::pair<std::string_view, LayerKind> kNames[] = {
            {"full_attention", LayerKind::full},       {"sliding_attention", LayerKind::sliding},
            {"chunked_attention", LayerKind::chunked}, {"linear_attention", LayerKind::linear_attention},
            {"mamba", LayerKind::mamba},               {"deepseek_sparse_attention", LayerKind::full},
            {"attention", LayerKind::full},  // Granite-4.0-H (granitemoehybrid.py's ALL_DECODER_LAYER_TYPES)
        };
        for (std::size_t i = 0; i < types->items.size(); ++i) {
            const Item& it = types->items[i];
            const std::optional<LayerKind> kind = named_kind(it, kNames);
            if (!kind) {
                std::string msg = element_is(m, HfKey::layer_types, i, it);
                msg.append(", expected one of \"full_attention\", \"sliding_attention\", \"chunked_attention\", "
                           "\"linear_attention\", \"mamba\", \"deepseek_sparse_attention\", \"attention\"");
                return make_error(ErrorKind::parse, hf_config_rules::unknown_layer_type, m.path(HfKey::layer_types),
                                  std::move(msg));
            }
            kinds[i] = *kind;
        }
    } else if (const Slot* hybrid = m.get(HfKey::hybrid_layer_pattern); hybrid != nullptr) {
        // MiMo-V2 (vLLM's model_executor/models/mimo_v2_flash.py at 01ed47b4166b, is_compressed_softmax_layer):
        // 1 a sliding-window layer, 0 a full one.
        FQK_TRY(pattern, m.array(HfKey::hybrid_layer_pattern));
        if (pattern->items.size() != *layers) {
            return m.length_error(HfKey::hybrid_layer_pattern, pattern->items.size(), *layers);
        }
        for (std::uint32_t i = 0; i < *layers; ++i) {
            FQK_TRY(flag, layer_flag(m, HfKey::hybrid_layer_pattern, i, "0 (full attention) or 1 (sliding window)"));
            kinds[i] = flag == 1 ? LayerKind::sliding : LayerKind::full;
        }
    } else if (const Slot* attn_types = m.get(HfKey::attn_type_list); attn_types != nullptr) {
        // MiniMax-Text-01 and MiniMax-M1 (vLLM's model_executor/models/minimax_text_01.py, MiniMaxText01Model:
        // decoder_attention_types): 1 a softmax attention layer, 0 a lightning (linear) attention layer, whose
        // state is not modelled here: refused by name. All 1 (MiniMax-M2) is a model of full-attention layers.
        FQK_TRY(list, m.array(HfKey::attn_type_list));
        if (list->items.size() != *layers) return m.length_error(HfKey::attn_type_list, list->items.size(), *layers);
        for (std::uint32_t i = 0; i < *layers; ++i) {
            FQK_TRY(flag,
                    layer_flag(m, HfKey::attn_type_list, i, "0 (lightning attention) or 1 (softmax attention)"));
            if (flag == 0) {
                return make_error(ErrorKind::unsupported, hf_config_rules::unknown_layer_pattern,
                                  m.path(HfKey::attn_type_list),
                                  m.element(HfKey::attn_type_list, i)
                                      .append(" is 0, a lightning (linear) attention layer (MiniMax-Text-01, "
                                              "MiniMax-M1), whose state is not modelled: this reader does not lay "
                                              "out such layers, and does not size them as if they were alike"));
            }
        }
    } else if (!block_kv.empty()) {
        // Nemotron-NAS: attention where block_configs[i].attention is not no_op, nothing elsewhere.
        for (std::uint32_t i = 0; i < *layers; ++i) kinds[i] = block_kv[i] ? LayerKind::full : LayerKind::none;
    } else if (const Slot* block_types = m.get(HfKey::layers_block_type);
               block_types != nullptr && m.get(HfKey::hybrid_override_pattern) == nullptr &&
               m.get(HfKey::attn_layer_period) == nullptr) {
        // Nemotron-H's newer configs (NemotronHConfig.layers_block_type): "mamba" a Mamba-2 layer, "attention" an
        // attention layer, "mlp" and "moe" neither. Zamba2's "hybrid" layers (a Mamba layer with a shared
        // attention block beside it) hold both, which the cache model does not have: refused.
        FQK_TRY(list, m.array(HfKey::layers_block_type));
        if (list->items.size() != *layers) {
            return m.length_error(HfKey::layers_block_type, list->items.size(), *layers);
        }
        static constexpr std::pair<std::string_view, LayerKind> kBlocks[] = {
            {"mamba", LayerKind::mamba}, {"attention", LayerKind::full}, {"mlp", LayerKind::none},
            {"moe", LayerKind::none},
        };
        for (std::size_t i = 0; i < list->items.size(); ++i) {
            const Item& it = list->items[i];
            const std::optional<LayerKind> kind = named_kind(it, kBlocks);
            if (!kind) {
                std::string msg = element_is(m, HfKey::layers_block_type, i, it);
                const bool zamba = it.token == Token::string && it.text == "hybrid";
                msg.append(zamba ? ": a layer that holds both a Mamba state and an attention cache (Zamba2) is not "
                                   "in the cache model"
                                 : ", expected one of \"mamba\", \"attention\", \"mlp\", \"moe\"");
                return make_error(zamba ? ErrorKind::unsupported : ErrorKind::parse,
                                  zamba ? hf_config_rules::unknown_layer_pattern : hf_config_rules::unknown_layer_type,
                                  m.path(HfKey::layers_block_type), std::move(msg));
            }
            kinds[i] = *kind;
        }
    } else if (const Slot* pattern = m.get(HfKey::hybrid_override_pattern); pattern != nullptr) {
        // Nemotron-H (NemotronHConfig.layers_block_type, transformers and vLLM's
        // transformers_utils/configs/nemotron_h.py): one character a layer, "M" Mamba-2, "*" attention, "-" MLP,
        // "E" MoE; only attention layers hold keys and values, only Mamba layers a state.
        if (pattern->token != Token::string || pattern->text.find_first_not_of("M*-E") != std::string::npos) {
            return make_error(ErrorKind::parse, hf_config_rules::unknown_layer_type,
                              m.path(HfKey::hybrid_override_pattern),
                              std::string("key `").append(m.name(HfKey::hybrid_override_pattern))
                                  .append("`: invalid value: ").append(describe(pattern->token, pattern->text))
                                  .append(", expected a string of M (Mamba), * (attention), - (MLP) and E (MoE)"));
        }
        if (pattern->text.size() != *layers) {
            std::string msg = std::string("key `").append(m.name(HfKey::hybrid_override_pattern)).append("` has ");
            detail::append_decimal(msg, pattern->text.size());
            msg.append(" layers, but the model has ");
            detail::append_decimal(msg, *layers);
            return make_error(ErrorKind::parse, hf_config_rules::layer_types_length,
                              m.path(HfKey::hybrid_override_pattern), std::move(msg));
        }
        for (std::uint32_t i = 0; i < *layers; ++i) {
            const char c = pattern->text[i];
            kinds[i] = c == '*' ? LayerKind::full : c == 'M' ? LayerKind::mamba : LayerKind::none;
        }
    } else if (attention_free) {
        std::fill(kinds.begin(), kinds.end(), LayerKind::mamba);
    } else if (m.get(HfKey::attn_layer_period) != nullptr) {
        // Jamba (JambaConfig.layers_block_type): attention where i % attn_layer_period == attn_layer_offset.
        FQK_TRY(period, m.positive(HfKey::attn_layer_period));
        FQK_TRY(offset, m.u32(HfKey::attn_layer_offset));
        if (offset.value_or(0) >= *period) {  // no layer would attend: a config that says two things
            std::string msg = std::string("key `").append(m.name(HfKey::attn_layer_offset)).append("`: ");
            detail::append_decimal(msg, *offset);
            msg.append(" is not less than `").append(m.name(HfKey::attn_layer_period)).append("` ");
            detail::append_decimal(msg, *period);
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, m.path(HfKey::attn_layer_offset),
                              msg.append(", so no layer would attend"));
        }
        for (std::uint32_t i = 0; i < *layers; ++i) {
            kinds[i] = i % *period == offset.value_or(0) ? LayerKind::full : LayerKind::mamba;
        }
    } else if (m.get(HfKey::full_attention_interval) != nullptr) {
        // Qwen3-Next: linear attention where (i + 1) % full_attention_interval != 0.
        FQK_TRY(interval, m.positive(HfKey::full_attention_interval));
        for (std::uint32_t i = 0; i < *layers; ++i) {
            kinds[i] = (i + 1) % *interval != 0 ? LayerKind::linear_attention : LayerKind::full;
        }
    } else if (chunk) {
        // Llama-4 (Llama4TextConfig): chunked where no_rope_layers[i] is 1 (the layer uses RoPE), else full;
        // no_rope_layers defaults to 1 unless (i + 1) % no_rope_layer_interval == 0. That is Llama-4's rule:
        // another family that sets attention_chunk_size (MiMo-V2-Flash, with its own hybrid_layer_pattern) lays
        // its layers out otherwise, so a config that is neither Llama-4's nor names the no-RoPE layers is refused
        // rather than sized by a guess.
        const bool llama4 = out.model_type == "llama4" || out.model_type == "llama4_text";
        if (!llama4 && m.get(HfKey::no_rope_layers) == nullptr && m.get(HfKey::no_rope_layer_interval) == nullptr) {
            std::string msg = std::string("key `").append(m.name(HfKey::attention_chunk_size)).append("` is set for ");
            if (out.model_type) {
                msg.append("model_type ");
                detail::append_json_string(msg, *out.model_type);
            } else {
                msg.append("a config with no model_type");
            }
            msg.append(", with no `layer_types`, `").append(m.name(HfKey::no_rope_layers)).append("` or `");
            msg.append(m.name(HfKey::no_rope_layer_interval)).append("` to say which layers are chunked (Llama-4's "
                                                                      "rule applies to Llama-4 only)");
            return make_error(ErrorKind::unsupported, hf_config_rules::unknown_layer_pattern,
                              m.path(HfKey::attention_chunk_size), std::move(msg));
        }
        FQK_TRY(nope_layers, m.array(HfKey::no_rope_layers));
        if (nope_layers != nullptr && !nope_layers->items.empty()) {
            if (nope_layers->items.size() != *layers) {
                return m.length_error(HfKey::no_rope_layers, nope_layers->items.size(), *layers);
            }
            for (std::uint32_t i = 0; i < *layers; ++i) {
                FQK_TRY(flag, m.element_u32(HfKey::no_rope_layers, i));
                kinds[i] = flag != 0 ? LayerKind::chunked : LayerKind::full;
            }
        } else {
            FQK_TRY(interval, m.positive(HfKey::no_rope_layer_interval));
            const std::uint32_t every = interval.value_or(4);
            for (std::uint32_t i = 0; i < *layers; ++i) {
                kinds[i] = (i + 1) % every != 0 ? LayerKind::chunked : LayerKind::full;
            }
        }
    } else if (m.get(HfKey::sliding_window_pattern) != nullptr && window) {
        // Gemma-2/3, Cohere-2: an integer P (sliding where (i + 1) % P != 0), or a string of L (local, sliding)
        // and G (global, full) repeated over the layers.
        const Slot* pat = m.get(HfKey::sliding_window_pattern);
        if (pat->token == Token::string) {
            if (pat->text.empty() || pat->text.find_first_not_of("LG") != std::string::npos) {
                return make_error(ErrorKind::parse, hf_config_rules::invalid_value,
                                  m.path(HfKey::sliding_window_pattern),
                                  std::string("key `").append(m.name(HfKey::sliding_window_pattern))
                                      .append("`: invalid value: ").append(describe(pat->token, pat->text))
                                      .append(", expected a positive integer or a string of L and G"));
            }
            for (std::uint32_t i = 0; i < *layers; ++i) {
                kinds[i] = pat->text[i % pat->text.size()] == 'L' ? LayerKind::sliding : LayerKind::full;
            }
        } else {
            FQK_TRY(period, m.positive(HfKey::sliding_window_pattern));
            for (std::uint32_t i = 0; i < *layers; ++i) {
                kinds[i] = (i + 1) % *period != 0 ? LayerKind::sliding : LayerKind::full;
            }
        }
    } else if (window && use_window.value_or(true)) {
        if (m.get(HfKey::use_sliding_window) != nullptr) {
            // Qwen2/Qwen3 (Qwen2Config.layer_types): sliding from layer max_window_layers on.
            FQK_TRY(first, m.u32(HfKey::max_window_layers));
            for (std::uint32_t i = 0; i < *layers; ++i) {
                kinds[i] = i >= first.value_or(0) ? LayerKind::sliding : LayerKind::full;
            }
        } else {
            // Mistral v0.1 and others without layer_types: transformers' DynamicCache slides every layer.
            std::fill(kinds.begin(), kinds.end(), LayerKind::sliding);
            implicit_window = true;
        }
    }

    // Gemma-3n: the last num_kv_shared_layers layers read the keys and values of an earlier layer of their kind
    // and keep none of their own, in all three engines (vLLM's gemma3n.py kv_sharing_target_layer_name, whose
    // layers get no KV cache spec in gpu_model_runner.get_kv_cache_spec; transformers' DynamicCache.__init__
    // drops them from layer_types; llama.cpp's n_layer_kv_from_start).
    FQK_TRY(shared, m.u32(HfKey::num_kv_shared_layers));
    if (shared.value_or(0) != 0) {
        if (*shared >= *layers) {
            std::string msg = std::string("key `").append(m.name(HfKey::num_kv_shared_layers)).append("`: ");
            detail::append_decimal(msg, *shared);
            msg.append(" shared layers of ");
            detail::append_decimal(msg, *layers);
            return make_error(ErrorKind::parse, hf_config_rules::invalid_value, m.path(HfKey::num_kv_shared_layers),
                              msg.append(": no layer would keep keys and values for them to share"));
        }
        for (std::uint32_t i = *layers - *shared; i < *layers; ++i) kinds[i] = LayerKind::none;
        std::string note = "the last ";
        detail::append_decimal(note, *shared);
        note.append(" layers reuse the keys and values of earlier ones (`")
            .append(m.name(HfKey::num_kv_shared_layers))
            .append("`) and keep none of their own");
        out.cache.notes.push_back(std::move(note));
    }

    // The state of linear-attention and Mamba layers, in elements per sequence.
    std::uint64_t linear_state = 0, mamba_state = 0;
    struct StateSplit {
        std::uint64_t conv_channels = 0;
        std::uint32_t conv_kernel = 0;
        std::uint64_t ssm_elements = 0;
    } linear_split, mamba_split;
    // The SSM-state dtype a config asks vLLM for, where vLLM takes it from the config (0: the model dtype).
    std::uint32_t ssm_dtype_bytes = 0;
    const auto read_ssm_dtype = [&](HfKey key, const char* absent) -> std::optional<Error> {
        FQK_TRY(ssm_dtype, m.string(key));
        if (!ssm_dtype && absent == nullptr) return std::nullopt;
        const std::string name = ssm_dtype.value_or(absent);
        ssm_dtype_bytes = name == "float32" ? 4 : name == "float16" || name == "bfloat16" ? 2 : 0;
        if (ssm_dtype_bytes != 0) return std::nullopt;
        return make_error(ErrorKind::parse, hf_config_rules::invalid_value, m.path(key),
                          "key `" + std::string(m.name(key)) + "` is not float32, float16 or bfloat16");
    };
    if (std::find(kinds.begin(), kinds.end(), LayerKind::linear_attention) != kinds.end()) {
        if (out.model_type == "minimax") {
            // transformers' MiniMax (MiniMax-Text-01 in its Hugging Face form) names its lightning-attention layers
            // "linear_attention" (vLLM's minimax_text_01.py reads them so: 0 in attn_type_list); their state is not
            // the Gated DeltaNet's below, and is not modelled.
            return make_error(ErrorKind::unsupported, hf_config_rules::unknown_layer_pattern,
                              m.path(HfKey::layer_types),
                              "key `" + std::string(m.name(HfKey::layer_types)) +
                                  "`: MiniMax's \"linear_attention\" layers are lightning attention, whose state is "
                                  "not modelled: this reader does not lay out such layers, and does not size them as "
                                  "if they were alike");
        }
        // Qwen3-Next's Gated DeltaNet (transformers' Qwen3NextDynamicCache): a conv state of
        // (2 x key heads x key dim + value heads x value dim) x conv kernel, and a recurrent state of
        // value heads x key dim x value dim.
        std::uint32_t v[5] = {};
        const HfKey keys[5] = {HfKey::linear_num_key_heads, HfKey::linear_num_value_heads, HfKey::linear_key_head_dim,
                               HfKey::linear_value_head_dim, HfKey::linear_conv_kernel_dim};
        for (std::size_t i = 0; i < 5; ++i) {
            FQK_TRY(x, m.u32(keys[i]));
            if (!x) return m.missing(keys[i], " (a linear-attention layer's state)");
            v[i] = *x;
        }
        const std::optional<std::uint64_t> conv = checked_product({std::uint64_t{2} * v[0] * v[2] + std::uint64_t{v[1]} * v[3], v[4]});
        const std::optional<std::uint64_t> rec = checked_product({v[1], v[2], v[3]});
        if (!conv || !rec || *conv > std::numeric_limits<std::uint64_t>::max() - *rec) {
            return make_error(ErrorKind::resource_limit_exceeded, hf_config_rules::total_overflow,
                              m.path(HfKey::linear_num_value_heads),
                              "a linear-attention layer's state does not fit in 64 bits");
        }
        linear_state = *conv + *rec;
        // vLLM (mamba_utils.py, MambaStateShapeCalculator.gated_delta_net_state_shape, tp 1, no speculative
        // tokens): conv (conv_kernel - 1, 2 x key heads x key dim + value heads x value dim), temporal
        // (value heads, value dim, key dim).
        linear_split = {std::uint64_t{2} * v[0] * v[2] + std::uint64_t{v[1]} * v[3], v[4], *rec};
        if (out.model_type == "qwen3_5" || out.model_type == "qwen3_5_moe") {
            // vLLM's Qwen3_5ForConditionalGenerationConfig.verify_and_update_config (vllm/model_executor/models/
            // config.py), run before HybridAttentionMambaModelConfig's: mamba_ssm_cache_dtype "auto" becomes the
            // text config's mamba_ssm_dtype where it has one (Qwen3.5's say float32).
            if (std::optional<Error> e = read_ssm_dtype(HfKey::mamba_ssm_dtype, nullptr)) return std::move(*e);
        }
    }
    const bool granite_mamba2 = m.get(HfKey::mamba_num_heads) == nullptr && m.get(HfKey::mamba_n_heads) != nullptr;
    if (std::find(kinds.begin(), kinds.end(), LayerKind::mamba) != kinds.end() &&
        (m.get(HfKey::mamba_num_heads) != nullptr || granite_mamba2)) {
        // Mamba-2 (Nemotron-H; vLLM's MambaStateShapeCalculator.mamba2_state_shape, transformers' Mamba2 cache):
        // a conv state of (intermediate + 2 x n_groups x ssm_state_size) x conv_kernel and an SSM state of
        // heads x head_dim x ssm_state_size. Granite-4.0-H spells the keys mamba_n_heads, mamba_d_head,
        // mamba_n_groups, mamba_d_state and mamba_d_conv, and its intermediate is mamba_expand x hidden_size
        // (vLLM's GraniteMoeHybridForCausalLM.get_mamba_state_shape_from_config; transformers'
        // GraniteMoeHybridMambaLayer); Nemotron-H's is mamba_num_heads x mamba_head_dim.
        std::uint32_t v[5] = {};
        const HfKey nemotron_keys[5] = {HfKey::mamba_num_heads, HfKey::mamba_head_dim, HfKey::n_groups,
                                        HfKey::ssm_state_size, HfKey::conv_kernel};
        const HfKey granite_keys[5] = {HfKey::mamba_n_heads, HfKey::mamba_d_head, HfKey::mamba_n_groups,
                                       HfKey::mamba_d_state, HfKey::mamba_d_conv};
        const HfKey* keys = granite_mamba2 ? granite_keys : nemotron_keys;
        for (std::size_t i = 0; i < 5; ++i) {
            FQK_TRY(x, m.u32(keys[i]));
            if (!x) return m.missing(keys[i], " (a Mamba-2 layer's state)");
            v[i] = *x;
        }
        const std::uint64_t heads_width = std::uint64_t{v[0]} * v[1];  // two u32: no overflow
        std::uint64_t inner = heads_width;
        if (granite_mamba2) {
            FQK_TRY(expand, m.u32(HfKey::mamba_expand));
            if (!expand || !hidden) {
                return m.missing(HfKey::mamba_expand, std::string(" (and `").append(m.name(HfKey::hidden_size))
                                                          .append("`: a Mamba-2 layer's intermediate size)"));
            }
            inner = std::uint64_t{*expand} * *hidden;
        }
        const std::optional<std::uint64_t> groups = checked_product({2, v[2], v[3]});
        const std::optional<std::uint64_t> conv =
            groups && *groups <= std::numeric_limits<std::uint64_t>::max() - inner
                ? checked_product({inner + *groups, v[4]})
                : std::nullopt;
        const std::optional<std::uint64_t> ssm = checked_product({heads_width, v[3]});
        if (!conv || !ssm || *conv > std::numeric_limits<std::uint64_t>::max() - *ssm) {
            return make_error(ErrorKind::resource_limit_exceeded, hf_config_rules::total_overflow,
                              m.path(keys[0]), "a Mamba-2 layer's state does not fit in 64 bits");
        }
        mamba_state = *conv + *ssm;
        // vLLM (MambaStateShapeCalculator.mamba2_state_shape, tp 1, no speculative tokens; intermediate_size =
        // mamba_num_heads x mamba_head_dim as nemotron_h.py's get_mamba_state_shape_from_config passes it):
        // conv (conv_kernel - 1, intermediate + 2 x n_groups x ssm_state_size), temporal (heads, head_dim,
        // ssm_state_size).
        mamba_split = {inner + *groups, v[4], *ssm};
        if (out.model_type == "nemotron_h") {
            // vLLM's NemotronHForCausalLMConfig.verify_and_update_config (vllm/model_executor/models/config.py):
            // mamba_ssm_cache_dtype "auto" becomes the config's mamba_ssm_cache_dtype, float16 without one.
            if (std::optional<Error> e = read_ssm_dtype(HfKey::mamba_ssm_cache_dtype, "float16")) return std::move(*e);
        }
    } else if (std::find(kinds.begin(), kinds.end(), LayerKind::mamba) != kinds.end()) {
        // Mamba (MambaCache): a conv state of intermediate x conv kernel and an SSM state of intermediate x
        // state size, intermediate = expand x hidden_size unless given.
        FQK_TRY(d_state, first_u32(m, {HfKey::mamba_d_state, HfKey::state_size}));
        FQK_TRY(d_conv, first_u32(m, {HfKey::mamba_d_conv, HfKey::conv_kernel}));
        FQK_TRY(expand, first_u32(m, {HfKey::mamba_expand, HfKey::expand}));
        FQK_TRY(inter, m.u32(HfKey::intermediate_size));
        std::optional<std::uint64_t> width;
        if (attention_free && inter) width = *inter;
        else if (expand && hidden) width = std::uint64_t{*expand} * *hidden;
        if (!d_state) return m.missing(HfKey::mamba_d_state, std::string(" (or `").append(m.name(HfKey::state_size)).append("`)"));
        if (!d_conv) return m.missing(HfKey::mamba_d_conv, std::string(" (or `").append(m.name(HfKey::conv_kernel)).append("`)"));
        if (!width) return m.missing(HfKey::mamba_expand, std::string(" (and `").append(m.name(HfKey::hidden_size)).append("`)"));
        const std::optional<std::uint64_t> s = checked_product({*width, std::uint64_t{*d_state} + *d_conv});
        if (!s) {
            return make_error(ErrorKind::resource_limit_exceeded, hf_config_rules::total_overflow,
                              m.path(HfKey::mamba_d_state), "a Mamba layer's state does not fit in 64 bits");
        }
        mamba_state = *s;
        // vLLM (MambaStateShapeCalculator.mamba1_state_shape, tp 1): conv (conv_kernel - 1, intermediate),
        // temporal (intermediate, state size).
        mamba_split = {*width, *d_conv, *width * *d_state};
    }

    cache.layers.reserve(kinds.size());
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        const LayerKind k = kinds[i];
        sizing::LayerSpec spec;
        switch (k) {
            case LayerKind::full:
                spec = attention;
                if (i < block_kv.size() && block_kv[i]) spec.kv_heads = *block_kv[i];
                if (full_differs) {  // Gemma-4's global layers
                    spec.kv_heads = full_kv;
                    spec.key_dim = global_hd.value_or(spec.key_dim);
                    spec.value_dim = global_hd.value_or(spec.value_dim);
                }
                break;
            case LayerKind::sliding:
            case LayerKind::chunked: {
                spec = attention;
                if (spec.kind == LayerKind::mla) {
                    return make_error(ErrorKind::unsupported, hf_config_rules::unknown_layer_type,
                                      m.path(HfKey::kv_lora_rank),
                                      "a multi-head latent attention layer with a sliding window or chunks is "
                                      "not sized by this reader");
                }
                spec.kind = k;
                // transformers' DynamicCache uses `sliding_window or attention_chunk_size` for either kind; the
                // engines use each kind's own (sliding_window, attention_chunk_size).
                const std::optional<std::uint32_t> own = k == LayerKind::sliding ? window : chunk;
                const std::optional<std::uint32_t> other = k == LayerKind::sliding ? chunk : window;
                if (!own && !other) {
                    return m.missing(k == LayerKind::sliding ? HfKey::sliding_window : HfKey::attention_chunk_size,
                                     std::string(" (layer kind `").append(to_string(k)).append("` needs it)"));
                }
                spec.window = own ? *own : *other;
                spec.implicit_window = implicit_window;
                if (k == LayerKind::sliding) {  // MiMo-V2's sliding layers: heads, widths and window of their own
                    spec.kv_heads = swa_kv.value_or(spec.kv_heads);
                    spec.key_dim = swa_hd.value_or(spec.key_dim);
                    spec.value_dim = swa_vhd.value_or(spec.value_dim);
                    spec.window = swa_window.value_or(spec.window);
                }
                break;
            }
            case LayerKind::linear_attention:
                spec.kind = k;
                spec.state_elements = linear_state;
                spec.conv_channels = linear_split.conv_channels;
                spec.conv_kernel = linear_split.conv_kernel;
                spec.ssm_elements = linear_split.ssm_elements;
                spec.ssm_dtype_bytes = ssm_dtype_bytes;
                break;
            case LayerKind::mamba:
                spec.kind = k;
                spec.state_elements = mamba_state;
                spec.conv_channels = mamba_split.conv_channels;
                spec.conv_kernel = mamba_split.conv_kernel;
                spec.ssm_elements = mamba_split.ssm_elements;
                spec.ssm_dtype_bytes = ssm_dtype_bytes;
                break;
            case LayerKind::mla: spec = attention; break;
            case LayerKind::none: spec.kind = k; break;
        }
        cache.layers.push_back(spec);
    }
    if (!out.v1_refusal && full_differs && std::find(kinds.begin(), kinds.end(), LayerKind::full) != kinds.end()) {
        std::string msg = "the full-attention layers hold ";
        detail::append_decimal(msg, full_kv);
        msg.append(" KV heads of ");
        detail::append_decimal(msg, full_hd);
        msg.append(" (`").append(m.name(HfKey::global_head_dim)).append("`");
        if (full_kv != attention.kv_heads) {
            msg.append(", `").append(m.name(HfKey::num_global_key_value_heads)).append("`");
        }
        msg.append("), the others ");
        detail::append_decimal(msg, attention.kv_heads);
        msg.append(" of ");
        detail::append_decimal(msg, attention.key_dim);
        msg.append(": layers that differ so are not one KvTensorShapeV1 geometry");
        out.v1_refusal = make_error(ErrorKind::unsupported, hf_config_rules::layers_differ,
                                    m.path(HfKey::global_head_dim), std::move(msg));
    }
    if (!out.v1_refusal) {  // KV layers whose heads or widths differ (MiMo-V2's sliding layers, say)
        const sizing::LayerSpec* first = nullptr;
        for (const sizing::LayerSpec& l : cache.layers) {
            if (!sizing::holds_kv(l.kind)) continue;
            if (first == nullptr) {
                first = &l;
            } else if (l.kv_heads != first->kv_heads || l.key_dim != first->key_dim ||
                       l.value_dim != first->value_dim) {
                const auto append_geometry = [](std::string& to, const sizing::LayerSpec& g) {  // "2 x 16/16"
                    detail::append_decimal(to, g.kv_heads);
                    to.append(" x ");
                    detail::append_decimal(to, g.key_dim);
                    to.append("/");
                    detail::append_decimal(to, g.value_dim);
                };
                std::string msg = "layers hold different KV heads or widths (";
                append_geometry(msg, *first);
                msg.append(" and ");
                append_geometry(msg, l);
                msg.append("): not one KvTensorShapeV1 geometry");
                out.v1_refusal = make_error(ErrorKind::unsupported, hf_config_rules::layers_differ, {}, std::move(msg));
                break;
            }
        }
    }
    if (!out.v1_refusal) {
        const auto kv_layers = std::count_if(kinds.begin(), kinds.end(), [](LayerKind k) { return sizing::holds_kv(k); });
        if (static_cast<std::size_t>(kv_layers) != kinds.size()) {
            std::string msg = "only ";
            detail::append_decimal(msg, static_cast<std::size_t>(kv_layers));
            msg.append(" of the ");
            detail::append_decimal(msg, kinds.size());
            msg.append(" layers hold keys and values (the others keep a linear-attention or Mamba state, or nothing): a "
                       "KvTensorShapeV1 cannot describe the cache");
            out.v1_refusal = make_error(ErrorKind::unsupported, hf_config_rules::layers_differ, {}, std::move(msg));
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- sizing

Result<KvDType> cache_dtype(const HfConfig& config, const HfSizeOptions& options) {
    if (options.dtype) return *options.dtype;
    if (!config.torch_dtype || *config.torch_dtype == "auto") {
        std::string msg = config.torch_dtype ? "`torch_dtype` is \"auto\"" : "missing key `torch_dtype`";
        msg.append(": the config does not say the cache dtype; give one (--dtype ");
        msg.append(dtype_choices()).append(")");
        return make_error(ErrorKind::parse, hf_config_rules::missing_key, kTorchDtypeField, std::move(msg));
    }
    const std::optional<KvDType> dt = known_dtype(*config.torch_dtype);
    if (!dt) {
        std::string msg = "`torch_dtype` ";
        detail::append_json_string(msg, *config.torch_dtype);
        msg.append(" is not a dtype of the descriptor (").append(torch_dtype_names());
        msg.append("); give one (--dtype ");
        msg.append(dtype_choices()).append(")");
        return make_error(ErrorKind::unsupported, hf_config_rules::dtype_unsupported, kTorchDtypeField,
                          std::move(msg));
    }
    return *dt;
}

Result<KvCacheSize> size_kv_cache(const HfConfig& config, std::uint32_t tokens, const HfSizeOptions& options) {
    if (config.v1_refusal) return *config.v1_refusal;
    FQK_TRY(resolved, cache_dtype(config, options));
    const std::optional<KvDType> dt = resolved;
    KvTensorShapeV1 key = v1_key(config, options.batch, tokens, *dt, options.key_rope);
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
        if (item.empty() || r.ec != std::errc{} || r.ptr != item.data() + item.size() || v == 0) {
            std::string m = "invalid token count `";  // as text: the list may come from a command line
            detail::append_text(m, item.substr(0, 32));
            m.append("` in `");
            detail::append_text(m, text.substr(0, 128));
            m.append("`: expected decimal integers from 1 to 4294967295, separated by commas");
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

}  // namespace fib_quant_kv
