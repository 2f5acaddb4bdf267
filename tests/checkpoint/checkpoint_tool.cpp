// A small driver of the checkpoint API for tests in other languages (until `kvshape checkpoint` exists):
//   checkpoint_tool attach SRC DST TARGET SHAPE_JSON | detach SRC DST TARGET | verify FILE
// Exit 0 on success, 1 on a refusal or disagreement (each on stderr), 2 on usage errors.
#include <cstdio>
#include <string>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/formats/checkpoint.hpp"

namespace ck = fib_quant_kv::checkpoint;

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    fib_quant_kv::Status st;
    if (cmd == "attach" && argc == 6) {
        auto shape = fib_quant_kv::parse_kv_tensor_shape_v1_json(argv[5]);
        if (!shape) {
            std::fprintf(stderr, "%s\n", shape.error().describe().c_str());
            return 1;
        }
        st = ck::attach(argv[2], argv[3], *shape, argv[4]);
    } else if (cmd == "detach" && argc == 5) {
        st = ck::detach(argv[2], argv[3], argv[4]);
    } else if (cmd == "verify" && argc == 3) {
        auto errors = ck::verify(argv[2]);
        if (!errors) {
            std::fprintf(stderr, "%s\n", errors.error().describe().c_str());
            return 2;
        }
        for (const auto& e : *errors) std::fprintf(stderr, "%s\n", e.describe().c_str());
        return errors->empty() ? 0 : 1;
    } else {
        std::fprintf(stderr, "usage: checkpoint_tool attach SRC DST TARGET SHAPE_JSON | detach SRC DST TARGET | verify FILE\n");
        return 2;
    }
    if (!st) {
        std::fprintf(stderr, "%s\n", st.error().describe().c_str());
        return 1;
    }
    return 0;
}
