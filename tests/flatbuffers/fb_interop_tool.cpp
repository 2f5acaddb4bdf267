// fb_interop_tool: this library's side of the flatc interop test (run_flatc_interop.cmake).
//
//   fb_interop_tool check FQKV JSON      FQKV (written by `flatc -b` from JSON) against JSON read by our parser:
//                                        a valid shape must verify, read back equal and have the same digest;
//                                        an invalid one must fail with the same error. Prints "ok <digest>" or
//                                        "invalid <rule>".
//   fb_interop_tool write JSON FQKV      our parser, then to_flatbuffer, written to FQKV
//   fb_interop_tool write-samples DIR    DIR/sample_<n>.fqkv (to_flatbuffer) and DIR/sample_<n>.expected.json
//                                        (to_json) for every enum combination and boundary dimensions
//   fb_interop_tool same JSON_A JSON_B   both parse (our parser) to the same shape
//
// Exit status: 0 as expected, 1 a mismatch, 2 usage or I/O error.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"

namespace fqk = fib_quant_kv;

namespace {

constexpr int kOk = 0;
constexpr int kMismatch = 1;
constexpr int kUsage = 2;

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool write_file(const std::string& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

bool write_file(const std::string& path, const std::string& text) {
    return write_file(path, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::string fields_of(const fqk::Error& e) {
    std::string out;
    for (const std::string_view f : e.fields) out.append(out.empty() ? "" : ",").append(f);
    return out;
}

bool same_error(const fqk::Error& a, const fqk::Error& b) {
    return a.kind == b.kind && a.rule == b.rule && fields_of(a) == fields_of(b) && a.message == b.message &&
           a.details == b.details && a.offset == b.offset;
}

std::optional<fqk::KvTensorShapeV1> parse_json_file(const std::string& path) {
    const std::optional<std::string> text = read_file(path);
    if (!text) {
        std::cerr << "cannot read " << path << "\n";
        return std::nullopt;
    }
    fqk::Result<fqk::KvTensorShapeV1> shape = fqk::parse_kv_tensor_shape_v1_json(*text);
    if (!shape) {
        std::cerr << path << ": our JSON parser says " << shape.error().describe() << "\n";
        return std::nullopt;
    }
    return std::move(shape).value();
}

int check(const std::string& fqkv_path, const std::string& json_path) {
    const std::optional<std::string> raw = read_file(fqkv_path);
    if (!raw) {
        std::cerr << "cannot read " << fqkv_path << "\n";
        return kUsage;
    }
    const std::vector<std::uint8_t> bytes(raw->begin(), raw->end());  // heap memory: aligned for FlatBuffers
    const std::optional<fqk::KvTensorShapeV1> parsed = parse_json_file(json_path);
    if (!parsed) return kUsage;

    const fqk::Result<fqk::KvTensorShapeV1View> view = fqk::verify_kv_tensor_shape_v1_buffer(bytes);
    const fqk::Status native = fqk::validate(*parsed);
    if (!native) {
        if (view) {
            std::cerr << "MISMATCH: flatc's buffer verified, but the shape is invalid: " << native.error().describe()
                      << "\n";
            return kMismatch;
        }
        if (!same_error(view.error(), native.error())) {
            std::cerr << "MISMATCH: buffer error " << view.error().describe() << ", JSON error "
                      << native.error().describe() << "\n";
            return kMismatch;
        }
        std::cout << "invalid " << view.error().rule << "\n";
        return kOk;
    }
    if (!view) {
        std::cerr << "MISMATCH: flatc's buffer refused: " << view.error().describe() << "\n";
        return kMismatch;
    }
    if (!(fqk::to_native(*view) == *parsed)) {
        std::cerr << "MISMATCH: buffer reads as " << fqk::to_json(fqk::to_native(*view)) << ", JSON as "
                  << fqk::to_json(*parsed) << "\n";
        return kMismatch;
    }
    const fqk::Digest from_buffer = fqk::digest(*view).value();
    const fqk::Digest from_json = fqk::digest(*parsed).value();
    if (!(from_buffer == from_json)) {
        std::cerr << "MISMATCH: digest " << from_buffer.hex() << " from the buffer, " << from_json.hex()
                  << " from the JSON\n";
        return kMismatch;
    }
    std::cout << "ok " << from_buffer.hex() << "\n";
    return kOk;
}

int write(const std::string& json_path, const std::string& fqkv_path) {
    const std::optional<fqk::KvTensorShapeV1> parsed = parse_json_file(json_path);
    if (!parsed) return kUsage;
    if (!write_file(fqkv_path, fqk::to_flatbuffer(*parsed))) {
        std::cerr << "cannot write " << fqkv_path << "\n";
        return kUsage;
    }
    return kOk;
}

int write_samples(const std::string& dir) {
    std::vector<fqk::KvTensorShapeV1> shapes;
    for (const fqk::KvRole role : fqk::EnumTraits<fqk::KvRole>::values)
        for (const fqk::KvAttentionKind kind : fqk::EnumTraits<fqk::KvAttentionKind>::values)
            for (const fqk::KvDType dtype : fqk::EnumTraits<fqk::KvDType>::values)
                for (const fqk::KvRopeState rope : fqk::EnumTraits<fqk::KvRopeState>::values)
                    shapes.push_back(fqk::make_kv_tensor_shape_v1(role, kind, 2, 3, 4, 8, 5, 64, dtype, rope));
    constexpr std::uint32_t max = std::numeric_limits<std::uint32_t>::max();
    shapes.push_back(fqk::make_kv_tensor_shape_v1(fqk::KvRole::value, fqk::KvAttentionKind::mha, max, max, max, max,
                                                  max, max, fqk::KvDType::f32, fqk::KvRopeState::not_applicable));
    shapes.push_back(fqk::make_kv_tensor_shape_v1(fqk::KvRole::key, fqk::KvAttentionKind::mqa, 1, 1, 1, 1, 1, 1,
                                                  fqk::KvDType::f16, fqk::KvRopeState::pre_rope));
    fqk::KvTensorShapeV1 odd = shapes.back();
    odd.schema_version = "quote \" backslash \\ tab \t e\xCC\x81 \xE2\x82\xAC";  // escapes and non-ASCII
    shapes.push_back(odd);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const std::string stem = dir + "/sample_" + std::to_string(i);
        if (!write_file(stem + ".fqkv", fqk::to_flatbuffer(shapes[i])) ||
            !write_file(stem + ".expected.json", fqk::to_json(shapes[i]))) {
            std::cerr << "cannot write " << stem << "\n";
            return kUsage;
        }
    }
    std::cout << shapes.size() << "\n";
    return kOk;
}

int same(const std::string& a_path, const std::string& b_path) {
    const std::optional<fqk::KvTensorShapeV1> a = parse_json_file(a_path);
    const std::optional<fqk::KvTensorShapeV1> b = parse_json_file(b_path);
    if (!a || !b) return kMismatch;
    if (!(*a == *b)) {
        std::cerr << "MISMATCH: " << a_path << " reads as " << fqk::to_json(*a) << ", " << b_path << " as "
                  << fqk::to_json(*b) << "\n";
        return kMismatch;
    }
    std::cout << "same " << fqk::to_json(*a) << "\n";
    return kOk;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 3 && args[0] == "check") return check(args[1], args[2]);
        if (args.size() == 3 && args[0] == "write") return write(args[1], args[2]);
        if (args.size() == 2 && args[0] == "write-samples") return write_samples(args[1]);
        if (args.size() == 3 && args[0] == "same") return same(args[1], args[2]);
    } catch (const std::exception& e) {
        std::cerr << "fb_interop_tool: " << e.what() << "\n";
        return kUsage;
    }
    std::cerr << "usage: fb_interop_tool check FQKV JSON | write JSON FQKV | write-samples DIR | same JSON JSON\n";
    return kUsage;
}
