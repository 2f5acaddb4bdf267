// The README's checkpoint tour as a program the tests run (ctest: example_checkpoint): a descriptor attached to
// the per-layer tensors of a small safetensors file, inspected, verified and detached again.
#include <fib_quant_kv/fib_quant_kv.hpp>
#include <fib_quant_kv/formats/checkpoint.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fqk = fib_quant_kv;
namespace ck = fib_quant_kv::checkpoint;

namespace {

int report(const fqk::Error& e) {
    std::printf("%s\n", e.describe().c_str());
    return 1;
}

// Two per-layer F16 tensors [batch 1, kv_heads 2, tokens 4, head_dim 8], as any safetensors writer lays them out.
void write_example(const std::filesystem::path& path) {
    const std::string json =
        R"({"__metadata__":{"format":"pt"},)"
        R"("past.0.key":{"dtype":"F16","shape":[1,2,4,8],"data_offsets":[0,128]},)"
        R"("past.1.key":{"dtype":"F16","shape":[1,2,4,8],"data_offsets":[128,256]}})";
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((json.size() >> (8 * i)) & 0xff));
    bytes += json + std::string(256, '\0');
    std::ofstream(path, std::ios::binary) << bytes;
}

int tour(const std::filesystem::path& file) {
    fqk::KvTensorShapeV1 s{.role = fqk::KvRole::key, .attention_kind = fqk::KvAttentionKind::gqa,
                           .batch = 1, .layers = 2, .kv_heads = 2, .query_heads = 4, .tokens = 4,
                           .head_dim = 8, .dtype = fqk::KvDType::f16, .rope_state = fqk::KvRopeState::post_rope};

    // Attach: checked against the tensors first (refused on any disagreement), then written atomically.
    if (fqk::Status st = ck::attach(file, file, s, "past.{layer}.key"); !st) return report(st.error());

    // Inspect: the tensor table (the header only, never the data) and the descriptors found in the metadata.
    fqk::Result<ck::Inspection> in = ck::inspect(file);
    if (!in) return report(in.error());
    for (const ck::TensorInfo& t : in->header.tensors)
        std::printf("%s %s [%zu dims] bytes [%llu, %llu)\n", t.name.c_str(), t.dtype.c_str(), t.shape.size(),
                    static_cast<unsigned long long>(t.begin), static_cast<unsigned long long>(t.end));
    for (const ck::AttachedDescriptor& d : in->descriptors)
        std::printf("%s covers %zu tensors, digest %s\n", d.key.c_str(), d.tensors.size(),
                    fqk::digest(*d.shape).value().hex().c_str());

    // Verify: every disagreement between each descriptor and its tensors, each naming the tensor.
    fqk::Result<std::vector<fqk::Error>> problems = ck::verify(file);
    if (!problems) return report(problems.error());
    std::printf("verify: %zu disagreements\n", problems->size());

    // A descriptor that disagrees is refused, and the file is left as it was.
    fqk::KvTensorShapeV1 wrong = s;
    wrong.dtype = fqk::KvDType::bf16;
    fqk::Status refused = ck::attach(file, file, wrong, "past.{layer}.key");
    std::printf("refused: %s\n", refused ? "no" : refused.error().describe().c_str());

    // Detach: the file's metadata is as before.
    if (fqk::Status st = ck::detach(file, file, "past.{layer}.key"); !st) return report(st.error());
    std::printf("after detach: %zu metadata pairs\n", ck::read_header(file).value().metadata.size());
    return 0;
}

}  // namespace

int main() {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "fib_quant_kv_example_checkpoint";
    std::filesystem::create_directories(dir);
    const std::filesystem::path file = dir / "cache.safetensors";
    write_example(file);
    const int rc = tour(file);
    std::filesystem::remove_all(dir);
    return rc;
}
