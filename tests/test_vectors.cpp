// The shared descriptor vectors of tests/data/shape_vectors.jsonl, the file the Python module's tests read too.
// Their expected values come from the Rust original, Python integers and `xxhsum -H2`, never from this library
// (tests/data/make_shape_vectors.py). Per vector: the parse result (a parse error's kind; its wording and wire
// rule are this library's own and not pinned), validate() and validate_block_dim() (kind, rule id, message,
// details), validate_all()'s first error against validate()'s, to_json() and append_json() against the
// canonical text, the three counts (and their overflow errors), the digest, the round trip through the
// canonical text, the in-place parser, and the FlatBuffers round trip (to_flatbuffer, view, validate, to_native).
// Every failure names its vector.
#define BOOST_TEST_MODULE vectors
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"
#include "test_support.hpp"

using namespace fib_quant_kv;
using namespace fib_quant_kv::test;

namespace {

// ---------------------------------------------------------------------------------------------- the vectors
/// An expected error: the fields of Error the vectors pin. A parse error has no rule or message (not pinned).
struct ExpectedError {
    std::string kind;
    std::optional<std::string> rule;
    std::optional<std::string> message;
    ErrorDetails details;  ///< zero unless the vector gives details
};

/// "ok" (nullopt) or an expected error.
using Verdict = std::optional<ExpectedError>;

/// An expected count: a value, or the overflow error.
struct Count {
    std::optional<std::uint64_t> value;
    ExpectedError error;
};

/// One line of shape_vectors.jsonl.
struct Vector {
    std::size_t line = 0;
    std::string name;
    std::string input;
    Verdict verdict;
    std::optional<std::uint32_t> block_dim;
    Verdict block_dim_verdict;
    std::optional<std::string> canonical;  ///< present exactly when the input parses
    Count vector_count, element_count, byte_size;
    std::optional<std::string> digest;  ///< present exactly when the verdict is ok
};

std::ostream& operator<<(std::ostream& os, const Vector& v) {
    return os << "vector " << v.name << " (shape_vectors.jsonl line " << v.line << ")";
}

/// Reads the vector file strictly: a key it does not know or a value of the wrong type is a load problem, so
/// the format cannot grow a field that this suite silently ignores.
class Loader {
  public:
    std::string problem;

    std::string str(const rapidjson::Value& o, const char* key) {
        const auto it = o.FindMember(key);
        if (it == o.MemberEnd() || !it->value.IsString()) return fail(std::string(key) + ": not a string"), "";
        return {it->value.GetString(), it->value.GetStringLength()};
    }

    std::optional<std::string> str_or_null(const rapidjson::Value& o, const char* key) {
        const auto it = o.FindMember(key);
        if (it != o.MemberEnd() && it->value.IsNull()) return std::nullopt;
        return str(o, key);
    }

    std::uint64_t u64(const rapidjson::Value& v, const char* what) {
        if (!v.IsUint64()) return fail(std::string(what) + ": not an unsigned integer"), 0;
        return v.GetUint64();
    }

    void only_keys(const rapidjson::Value& o, std::set<std::string> allowed, const char* what) {
        for (const auto& m : o.GetObject()) {
            if (!allowed.count(m.name.GetString())) fail(std::string(what) + ": unknown key " + m.name.GetString());
        }
    }

    ExpectedError error(const rapidjson::Value& e, const char* what) {
        ExpectedError out;
        if (!e.IsObject()) return fail(std::string(what) + ": not \"ok\" nor an object"), out;
        only_keys(e, {"kind", "rule", "message", "details", "serde_message"}, what);
        out.kind = str(e, "kind");
        out.rule = str_or_null(e, "rule");
        out.message = str_or_null(e, "message");
        const auto d = e.FindMember("details");
        if (d == e.MemberEnd() || !d->value.IsObject()) return fail(std::string(what) + ": no details object"), out;
        only_keys(d->value, {"ambient_dim", "block_dim"}, what);
        for (const auto& m : d->value.GetObject()) {
            (std::string_view(m.name.GetString()) == "ambient_dim" ? out.details.ambient_dim : out.details.block_dim) =
                u64(m.value, what);
        }
        return out;
    }

    Verdict verdict(const rapidjson::Value& v, const char* what) {
        if (v.IsString() && std::string_view(v.GetString()) == "ok") return std::nullopt;
        return error(v, what);
    }

    Count count(const rapidjson::Value& v, const char* what) {
        Count c;
        if (v.IsObject()) {
            c.error = error(v, what);
        } else {
            c.value = u64(v, what);
        }
        return c;
    }

    Vector vector(const rapidjson::Value& o) {
        Vector v;
        if (!o.IsObject()) return fail("not an object"), v;
        only_keys(o, {"name", "input", "block_dim", "verdict", "block_dim_verdict", "canonical", "vector_count",
                      "element_count", "byte_size", "digest"},
                  "vector");
        v.name = str(o, "name");
        v.input = str(o, "input");
        const auto verdict_it = o.FindMember("verdict");
        if (verdict_it == o.MemberEnd()) return fail("no verdict"), v;
        v.verdict = verdict(verdict_it->value, "verdict");
        if (const auto b = o.FindMember("block_dim"); b != o.MemberEnd()) {
            if (!b->value.IsUint()) return fail("block_dim: not a u32"), v;
            v.block_dim = b->value.GetUint();
            const auto bv = o.FindMember("block_dim_verdict");
            if (bv == o.MemberEnd()) return fail("block_dim without block_dim_verdict"), v;
            v.block_dim_verdict = verdict(bv->value, "block_dim_verdict");
        }
        if (o.HasMember("canonical")) {
            v.canonical = str(o, "canonical");
            for (auto [key, slot] : {std::pair{"vector_count", &v.vector_count},
                                     std::pair{"element_count", &v.element_count}, std::pair{"byte_size", &v.byte_size}}) {
                const auto it = o.FindMember(key);
                if (it == o.MemberEnd()) return fail(std::string("canonical without ") + key), v;
                *slot = count(it->value, key);
            }
        }
        if (o.HasMember("digest")) v.digest = str(o, "digest");
        return v;
    }

  private:
    void fail(const std::string& what) {
        if (problem.empty()) problem = what;
    }
};

const test::LoadedVectors<Vector>& loaded() {
    static const std::string path = std::string(FIB_QUANT_KV_TEST_DATA) + "/shape_vectors.jsonl";
    static const test::LoadedVectors<Vector> result =
        test::load_vector_file<Vector>(path, [](const std::string& text, std::string& problem) {
            rapidjson::Document doc;
            doc.Parse(text.data(), text.size());
            if (doc.HasParseError()) {
                problem = rapidjson::GetParseError_En(doc.GetParseError());
                return Vector{};
            }
            Loader loader;
            Vector v = loader.vector(doc);
            problem = loader.problem;
            return v;
        });
    return result;
}

const std::vector<Vector>& vectors() { return loaded().vectors; }

// ---------------------------------------------------------------------------------------------- comparing
/// An Error against an expected one: kind, and rule, message and details where the vector pins them.
void check_error(const Error& got, const ExpectedError& want, std::string_view what) {
    BOOST_TEST_CONTEXT(what << ": got " << got.describe()) {
        BOOST_TEST(to_string(got.kind) == want.kind);
        if (want.rule) BOOST_TEST(got.rule == *want.rule);
        if (want.message) BOOST_TEST(got.message == *want.message);
        BOOST_TEST(got.details.ambient_dim == want.details.ambient_dim);
        BOOST_TEST(got.details.block_dim == want.details.block_dim);
    }
}

/// A Status against a verdict.
void check_status(const Status& got, const Verdict& want, std::string_view what) {
    if (!want) {
        BOOST_TEST(got.ok(), what << ": expected ok, got " << (got.ok() ? "" : got.error().describe()));
        return;
    }
    BOOST_TEST(!got.ok(), what << ": expected " << want->kind << " [" << want->rule.value_or("") << "], got ok");
    if (!got.ok()) check_error(got.error(), *want, what);
}

/// A count's Result against the expected value or overflow error.
void check_count(const Result<std::uint64_t>& got, const Count& want, std::string_view what) {
    if (want.value) {
        BOOST_TEST(got.ok(), what << ": expected " << *want.value << ", got an error");
        if (got.ok()) BOOST_TEST(got.value() == *want.value, what);
    } else {
        BOOST_TEST(!got.ok(), what << ": expected an overflow error, got " << (got.ok() ? got.value() : 0));
        if (!got.ok()) check_error(got.error(), want.error, what);
    }
}

std::span<const std::uint8_t> as_span(const std::vector<std::uint8_t>& b) { return {b.data(), b.size()}; }

}  // namespace

// ---------------------------------------------------------------------------------------------- the file
BOOST_AUTO_TEST_CASE(vector_file_loads) {
    BOOST_TEST(loaded().problem == "");
    BOOST_TEST(vectors().size() >= 60U);
    std::set<std::string> names;
    for (const Vector& v : vectors()) {
        BOOST_TEST(names.insert(v.name).second, "duplicate vector name " << v.name);
        BOOST_TEST((v.canonical.has_value() == (!v.verdict || v.verdict->kind != "parse")), v);
        BOOST_TEST((v.digest.has_value() == !v.verdict.has_value()), v);
    }
}

BOOST_AUTO_TEST_CASE(vector_file_covers_every_rule_and_error_kind) {
    std::set<std::string> rules, kinds;
    for (const Vector& v : vectors()) {
        for (const Verdict* w : {&v.verdict, &v.block_dim_verdict}) {
            if (!*w) continue;
            kinds.insert((*w)->kind);
            if ((*w)->rule) rules.insert(*(*w)->rule);
        }
    }
    for (const RuleInfo& rule : StructTraits<KvTensorShapeV1>::rules) {
        // *.known: enum codes outside an enum, which JSON (and the Rust original) cannot express
        if (rule.id.ends_with(".known")) continue;
        BOOST_TEST(rules.count(std::string(rule.id)) == 1U, "no vector fails rule " << rule.id);
    }
    for (const std::string_view kind : {"parse", "corrupt_payload", "dimension_not_divisible",
                                        "resource_limit_exceeded"}) {
        BOOST_TEST(kinds.count(std::string(kind)) == 1U, "no vector has error kind " << kind);
    }
}

// ---------------------------------------------------------------------------------------------- per vector
BOOST_DATA_TEST_CASE(parse_validate_and_derive, boost::unit_test::data::make(vectors()), v) {
    BOOST_TEST_CONTEXT(v) {
        const Result<KvTensorShapeV1> parsed = parse_kv_tensor_shape_v1_json(v.input);
        std::string scratch = v.input;
        const Result<KvTensorShapeV1> in_place = parse_kv_tensor_shape_v1_json_in_place(std::span<char>(scratch));
        BOOST_TEST(in_place.ok() == parsed.ok(), "the in-place parser disagrees");
        if (in_place.ok() && parsed.ok()) BOOST_TEST((in_place.value() == parsed.value()));
        if (!in_place.ok() && !parsed.ok()) BOOST_TEST(in_place.error() == parsed.error());

        if (v.verdict && v.verdict->kind == "parse") {
            BOOST_TEST(!parsed.ok(), "expected a parse error, parsed " << (parsed.ok() ? to_json(*parsed) : ""));
            if (!parsed.ok()) {
                check_error(parsed.error(), *v.verdict, "parse");
                BOOST_TEST(parsed.error().rule.starts_with("json."), "parse error rule " << parsed.error().rule);
                BOOST_TEST(!parsed.error().message.empty());
            }
            return;
        }
        BOOST_TEST_REQUIRE(parsed.ok(), "expected to parse, got " << (parsed.ok() ? "" : parsed.error().describe()));
        const KvTensorShapeV1& shape = parsed.value();

        // validate(), validate_all(), validate_block_dim()
        const Status st = validate(shape);
        check_status(st, v.verdict, "validate");
        const std::vector<Error> all = validate_all(shape);
        BOOST_TEST(all.empty() == st.ok(), "validate_all: " << rules_of(all));
        if (!all.empty() && !st.ok()) BOOST_TEST(all.front() == st.error(), "validate_all's first error");
        if (v.block_dim) check_status(validate_block_dim(shape, *v.block_dim), v.block_dim_verdict, "validate_block_dim");

        // the canonical text, both writers, and the round trip through it
        BOOST_TEST(to_json(shape) == *v.canonical, "to_json");
        std::string appended = "prefix";
        append_json(appended, shape);
        BOOST_TEST(appended == "prefix" + *v.canonical, "append_json");
        const Result<KvTensorShapeV1> again = parse_kv_tensor_shape_v1_json(*v.canonical);
        BOOST_TEST(again.ok(), "parse(canonical): " << (again.ok() ? "" : again.error().describe()));
        if (again.ok()) BOOST_TEST((again.value() == shape), "parse(canonical) == parse(input)");

        // counts
        check_count(vector_count(shape), v.vector_count, "vector_count");
        check_count(element_count(shape), v.element_count, "element_count");
        check_count(byte_size(shape), v.byte_size, "byte_size");

        // digest: defined for valid shapes; otherwise validate()'s error
        const Result<Digest> d = digest(shape);
        if (v.digest) {
            BOOST_TEST(d.ok(), "digest: " << (d.ok() ? "" : d.error().describe()));
            if (d.ok()) BOOST_TEST(d.value().hex() == *v.digest, "digest");
        } else {
            BOOST_TEST(!d.ok(), "digest of an invalid shape");
            if (!d.ok() && !st.ok()) BOOST_TEST(d.error() == st.error(), "digest's error is validate()'s");
        }
    }
}

BOOST_DATA_TEST_CASE(flatbuffers_round_trip, boost::unit_test::data::make(vectors()), v) {
    BOOST_TEST_CONTEXT(v) {
        if (!v.canonical) return;  // parse errors have no shape to encode
        const Result<KvTensorShapeV1> parsed = parse_kv_tensor_shape_v1_json(v.input);
        BOOST_TEST_REQUIRE(parsed.ok());
        const KvTensorShapeV1& shape = parsed.value();
        const std::vector<std::uint8_t> buf = to_flatbuffer(shape);

        // the view decodes every shape, valid or not; validation is a separate step
        const Result<KvTensorShapeV1View> view = view_kv_tensor_shape_v1(as_span(buf));
        BOOST_TEST_REQUIRE(view.ok(), "view: " << (view.ok() ? "" : view.error().describe()));
        BOOST_TEST((to_native(*view) == shape), "to_native(view) == parsed");
        BOOST_TEST((to_flatbuffer(to_native(*view)) == buf), "re-encoding gives the same bytes");
        check_status(validate(*view), v.verdict, "validate(view)");
        if (v.block_dim) {
            check_status(validate_block_dim(*view, *v.block_dim), v.block_dim_verdict, "validate_block_dim(view)");
        }
        check_count(vector_count(*view), v.vector_count, "vector_count(view)");
        check_count(element_count(*view), v.element_count, "element_count(view)");
        check_count(byte_size(*view), v.byte_size, "byte_size(view)");

        // the one-call path for untrusted buffers: verify and validate
        const Result<KvTensorShapeV1View> verified = verify_kv_tensor_shape_v1_buffer(as_span(buf));
        if (!v.verdict) {
            BOOST_TEST(verified.ok(), "verify: " << (verified.ok() ? "" : verified.error().describe()));
            const Result<Digest> d = digest(*view);
            BOOST_TEST(d.ok());
            if (d.ok()) BOOST_TEST(d.value().hex() == *v.digest, "digest(view)");
        } else {
            BOOST_TEST(!verified.ok(), "verify accepted an invalid shape");
            if (!verified.ok()) check_error(verified.error(), *v.verdict, "verify");
        }
    }
}
