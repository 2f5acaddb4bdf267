// fib_quant_kv: the parts of the composite (nested) descriptors' runtime that are not templates: the JSON tree
// reader, the reader's messages and PathLink's text.
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstring>
#include <span>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include "internal/composite.hpp"
#include "internal/rule_errors.hpp"

namespace fib_quant_kv {

std::string PathLink::text(std::string_view tail, std::size_t tail_index) const {
    std::vector<const PathLink*> chain;
    for (const PathLink* p = this; p != nullptr; p = p->parent) {
        if (!p->field.empty()) chain.push_back(p);
    }
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (!out.empty()) out.push_back('.');
        out.append((*it)->field);
        if ((*it)->index != no_index) out.append("[").append(std::to_string((*it)->index)).append("]");
    }
    if (!tail.empty()) {
        if (!out.empty()) out.push_back('.');
        const std::size_t brackets = tail.find("[]");
        if (brackets == std::string_view::npos || tail_index == no_index) {
            out.append(tail);
        } else {
            out.append(tail.substr(0, brackets)).append("[").append(std::to_string(tail_index)).append("]");
            out.append(tail.substr(brackets + 2));
        }
    }
    return out;
}

namespace detail::composite {

namespace {

/// A RapidJSON input stream over bytes that are not NUL-terminated: no copy of the input.
class ViewStream {
  public:
    using Ch = char;
    explicit ViewStream(std::string_view text) : text_(text) {}
    Ch Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    Ch Take() { return pos_ < text_.size() ? text_[pos_++] : '\0'; }
    std::size_t Tell() const { return pos_; }
    Ch* PutBegin() { return nullptr; }
    void Put(Ch) {}
    void Flush() {}
    std::size_t PutEnd(Ch*) { return 0; }

  private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

constexpr unsigned kTreeFlags =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

/// Reads only the top-level "schema_version" string; stores nothing else.
class VersionPeek {
  public:
    bool Null() { return value(false, {}); }
    bool Bool(bool) { return value(false, {}); }
    bool Int(int) { return false; }
    bool Uint(unsigned) { return false; }
    bool Int64(std::int64_t) { return false; }
    bool Uint64(std::uint64_t) { return false; }
    bool Double(double) { return false; }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return value(false, {}); }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        // a lone surrogate escape decodes to bytes that are not UTF-8 (see TreeBuilder::text_ok): not a version
        if (at_version_ && has_encoded_surrogate({s, n})) bad = true;
        return value(true, {s, n});
    }
    bool StartObject() { return open(true); }
    bool StartArray() { return open(false); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        at_version_ = depth_ == 1 && std::string_view(s, n) == "schema_version";
        return true;
    }
    bool EndObject(rapidjson::SizeType) { return --depth_, true; }
    bool EndArray(rapidjson::SizeType) { return --depth_, true; }

    std::optional<std::string> found;
    bool bad = false;  ///< not an object at the top, the key twice, or not a string

  private:
    bool value(bool is_string, std::string_view text) {
        if (depth_ == 0) bad = true;  // a scalar document
        if (at_version_) {
            at_version_ = false;
            if (!is_string || found) bad = true;
            found = std::string(text);
        }
        return !bad;
    }
    bool open(bool object) {
        if (depth_ == 0 && !object) bad = true;
        if (at_version_) {
            bad = true;
            at_version_ = false;
        }
        ++depth_;
        return !bad && depth_ <= 64;
    }
    std::size_t depth_ = 0;
    bool at_version_ = false;
};

/// Builds the tree from RapidJSON's SAX events; numbers arrive as their text.
class TreeBuilder {
  public:
    TreeBuilder(const TreeLimits& limits, const ViewStream& stream, Node& root)
        : limits_(limits), stream_(stream), root_(root) {}

    bool Null() { return add(Node::Kind::null, {}); }
    bool Bool(bool b) { return add(Node::Kind::boolean, b ? "true" : "false"); }
    bool Int(int) { return false; }
    bool Uint(unsigned) { return false; }
    bool Int64(std::int64_t) { return false; }
    bool Uint64(std::uint64_t) { return false; }
    bool Double(double) { return false; }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return add(Node::Kind::number, {s, n}); }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        return text_ok({s, n}) && add(Node::Kind::string, {s, n});
    }
    bool StartObject() { return open(Node::Kind::object); }
    bool StartArray() { return open(Node::Kind::array); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (!text_ok({s, n})) return false;
        stack_.back()->keys.emplace_back(s, n);
        stack_.back()->items.emplace_back();
        return true;
    }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    /// Why the builder stopped the parse (a limit, or text that is not UTF-8), when it did.
    std::optional<std::string> stop_error;

  private:
    /// A decoded string or key is UTF-8. RapidJSON (Debian's 1.1.0) validates the input's encoding and pairs a
    /// high surrogate escape with a low one, but decodes a lone low surrogate ("\udc00") to the three bytes of a
    /// surrogate, which are not UTF-8; that text must not reach a value, a message or a caller.
    bool text_ok(std::string_view text) {
        if (!has_encoded_surrogate(text)) [[likely]] return true;
        stop_error = "lone surrogate in a \\u escape";
        return false;
    }

    Node* slot() {
        if (stack_.empty()) return &root_;
        Node* top = stack_.back();
        if (top->kind == Node::Kind::array) return &top->items.emplace_back();
        return &top->items.back();  // the value of the key just read
    }
    bool add(Node::Kind kind, std::string_view text) {
        if (++values_ > limits_.max_values) {
            stop_error = "more than " + std::to_string(limits_.max_values) + " values";
            return false;
        }
        Node* n = slot();
        n->kind = kind;
        n->text.assign(text);
        n->offset = stream_.Tell();
        return true;
    }
    bool open(Node::Kind kind) {
        if (stack_.size() + 1 > limits_.max_depth) {
            stop_error = "nested deeper than " + std::to_string(limits_.max_depth);
            return false;
        }
        if (!add(kind, {})) return false;
        // A vector of children may move its elements as it grows: the stack points only at nodes whose parent
        // no longer grows while they are open (the last child of the top).
        Node* n = stack_.empty() ? &root_ : &stack_.back()->items.back();
        stack_.push_back(n);
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    const TreeLimits& limits_;
    const ViewStream& stream_;
    Node& root_;
    std::vector<Node*> stack_;
    std::size_t values_ = 0;
};

}  // namespace


Result<Node> parse_tree(std::string_view json, const TreeLimits& limits) {
    if (const void* nul = json.empty() ? nullptr : std::memchr(json.data(), 0, json.size())) {
        return make_error(ErrorKind::parse, wire_rules::json_syntax, "invalid JSON: NUL byte in the input",
                          static_cast<std::size_t>(static_cast<const char*>(nul) - json.data()));
    }
    if (json.size() >= std::numeric_limits<rapidjson::SizeType>::max()) {
        return make_error(ErrorKind::parse, wire_rules::json_syntax, "invalid JSON: the input is 4 GiB or larger");
    }
    Node root;
    rapidjson::Reader reader;
    ViewStream stream(json);
    TreeBuilder builder(limits, stream, root);
    const rapidjson::ParseResult r = reader.Parse<kTreeFlags>(stream, builder);
    if (builder.stop_error) {
        return make_error(ErrorKind::parse, wire_rules::json_syntax, "invalid JSON: " + *builder.stop_error,
                          r.Offset());
    }
    if (r.IsError()) {
        return make_error(ErrorKind::parse, wire_rules::json_syntax,
                          std::string("invalid JSON: ") + rapidjson::GetParseError_En(r.Code()), r.Offset());
    }
    return root;
}

std::string describe(const Node& n) {
    switch (n.kind) {
        case Node::Kind::null: return "null";
        case Node::Kind::boolean: return "boolean `" + n.text + "`";
        case Node::Kind::number: {
            const bool is_float = n.text.find_first_of(".eE") != std::string::npos || n.text == "-0";
            return (is_float ? "floating point `" : "integer `") + n.text + "`";
        }
        case Node::Kind::string: {
            std::string s = "string ";
            append_json_string(s, n.text);
            return s;
        }
        case Node::Kind::array: return "sequence";
        case Node::Kind::object: return "map";
    }
    return "value";
}

Error read_error(std::string_view rule, const FieldInfo* field, const PathLink& at, std::string message,
                 std::size_t offset) {
    std::string path = at.text();
    if (field != nullptr) message = "field `" + path + "`: " + message;
    Error e = make_error(ErrorKind::parse, rule, std::move(message), offset,
                         field != nullptr ? field->fields : std::span<const std::string_view>{});
    e.path = std::move(path);
    return e;
}

// ------------------------------------------------------------------------------------------------ mark_small

namespace testing {
void mark_small_portable(const std::uint32_t* p, std::size_t n, SmallMarks& marks) noexcept {
    mark_each(std::span<const std::uint32_t>(p, n), marks);
}
}  // namespace testing

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
namespace {
/// Eight values at a time: a running maximum of the 32-bit lanes, and each lane widened to 64 bits and made the
/// shift count of a 1 (vpsllvq gives 0 for a count of 64 or more: such a value sets no bit). A group of fewer than
/// eight is left to the portable loop; past the last whole eight, the last eight values are read again (a value
/// seen twice changes neither the set nor the maximum), so nothing is read outside the array.
struct Lanes {
    __m256i low, high, max;
};
[[gnu::target("avx2"), gnu::always_inline]] inline void take8(Lanes& l, const std::uint32_t* at) noexcept {
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
    l.max = _mm256_max_epu32(l.max, v);
    l.low = _mm256_or_si256(l.low, _mm256_sllv_epi64(one, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(v))));
    l.high = _mm256_or_si256(l.high, _mm256_sllv_epi64(one, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(v, 1))));
}

[[gnu::target("avx2")]] void mark_small_avx2(const std::uint32_t* p, std::size_t n, SmallMarks& marks) noexcept {
    Lanes l{_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) take8(l, p + i);
    if (i < n) take8(l, p + n - 8);
    const __m256i bits = _mm256_or_si256(l.low, l.high);
    const __m128i bits2 = _mm_or_si128(_mm256_castsi256_si128(bits), _mm256_extracti128_si256(bits, 1));
    const __m128i max4 = _mm_max_epu32(_mm256_castsi256_si128(l.max), _mm256_extracti128_si256(l.max, 1));
    const __m128i max2 = _mm_max_epu32(max4, _mm_shuffle_epi32(max4, 0x4e));
    const __m128i max1 = _mm_max_epu32(max2, _mm_shuffle_epi32(max2, 0xb1));
    marks.set |= static_cast<std::uint64_t>(_mm_cvtsi128_si64(bits2)) |
                 static_cast<std::uint64_t>(_mm_extract_epi64(bits2, 1));
    marks.max = std::max<std::uint64_t>(marks.max, static_cast<std::uint32_t>(_mm_cvtsi128_si32(max1)));
}

bool cpu_has_avx2() noexcept {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}
}  // namespace

void mark_small(const std::uint32_t* p, std::size_t n, SmallMarks& marks) noexcept {
    static const bool avx2 = cpu_has_avx2();
    if (n >= 8 && avx2) {
        mark_small_avx2(p, n, marks);
    } else {
        testing::mark_small_portable(p, n, marks);
    }
}
#else
void mark_small(const std::uint32_t* p, std::size_t n, SmallMarks& marks) noexcept {
    testing::mark_small_portable(p, n, marks);
}
#endif

}  // namespace detail::composite

std::optional<std::string> json_schema_version(std::string_view json) {
    if (json.size() >= std::numeric_limits<rapidjson::SizeType>::max()) return std::nullopt;
    rapidjson::Reader reader;
    detail::composite::ViewStream stream(json);
    detail::composite::VersionPeek peek;
    const rapidjson::ParseResult r = reader.Parse<detail::composite::kTreeFlags>(stream, peek);
    if (r.IsError() || peek.bad) return std::nullopt;
    return peek.found;
}

}  // namespace fib_quant_kv
