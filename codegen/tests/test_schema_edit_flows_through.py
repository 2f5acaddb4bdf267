"""A schema edit flows through to working C++ and Python with no hand edit anywhere.

A copy of schema/kv_tensor_shape_v1.yaml is edited as a user would edit it:
  * a dtype `fp8` (code 3, byte_size 1),
  * a u32 field `page_size` at the end of the struct,
  * two rules: `page_size.nonzero` ({nonzero: page_size}) and `key.tokens_page_aligned`
    ({divisible: [tokens, page_size]} when role is key).
generate.py renders it into a temp folder, and the real CMakeLists.txt builds that folder (flatc, the library,
-Werror) with a small C++ program and the Python module. Both are run. Their output shows that the new dtype
parses from JSON, the new field round-trips through to_json / parse and through a FlatBuffer, the new rules fire
with their ids and messages, byte_size() counts 1 byte per fp8 element, and the canonical encoding and digest()
include both; and the Python module, with no hand edit, answers exactly as the C++ does.

One build for the module (setUpClass); skipped with a message when cmake, g++ or flatc is missing (a failure
under FIB_QUANT_KV_REQUIRE_ALL).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import unittest
from pathlib import Path

import _support

CXX = shutil.which("g++")
CMAKE = shutil.which("cmake")
FLATC = shutil.which("flatc")

SCHEMA_ID = "fib_quant_kv_tensor_shape_v1"

# The descriptor the program starts from: valid, fp8, page_size 16. Fields in schema order, page_size last.
SHAPE_JSON = ('{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":2,'
              '"layers":3,"kv_heads":4,"query_heads":8,"tokens":64,"head_dim":128,"dtype":"fp8",'
              '"rope_state":"pre_rope","page_size":16}')

PROGRAM = r'''
// Written by codegen/tests/test_schema_edit_flows_through.py against the temp folder's generated API.
#include <cstdint>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"

using namespace fib_quant_kv;

namespace {

void out(std::string_view key, std::string_view value) { std::cout << key << '=' << value << '\n'; }
std::string num(std::uint64_t v) { return std::to_string(v); }
std::string status(const Status& s) { return s ? std::string("ok") : s.error().describe(); }
std::string count(const Result<std::uint64_t>& r) { return r ? num(*r) : r.error().describe(); }
std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string h;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        h.push_back(digits[b >> 4]);
        h.push_back(digits[b & 0xF]);
    }
    return h;
}
std::string fields(const Error& e) {
    std::string f;
    for (const std::string_view name : e.fields) f.append(f.empty() ? "" : ",").append(name);
    return f;
}
void error(std::string_view prefix, const Status& s) {
    if (s) {
        out(std::string(prefix) + ".kind", "ok");
        return;
    }
    const Error& e = s.error();
    out(std::string(prefix) + ".kind", to_string(e.kind));
    out(std::string(prefix) + ".rule", e.rule);
    out(std::string(prefix) + ".message", e.message);
    out(std::string(prefix) + ".fields", fields(e));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    const std::string json = argv[1];

    // The v2 spec, edited too: a quantization scheme and a rule that uses it.
    const Result<KvCacheSpecV2> spec = parse_kv_cache_spec_v2_json(argv[2]);
    out("v2.parse", spec ? std::string("ok") : spec.error().describe());
    if (spec) {
        out("v2.scheme", to_string(spec->quant.scheme));
        out("v2.scheme.code", num(static_cast<std::uint32_t>(spec->quant.scheme)));
        out("v2.validate", status(validate(*spec)));
        out("v2.bytes_per_token", count(bytes_per_token(*spec)));
        KvCacheSpecV2 tensor_scales = *spec;
        tensor_scales.quant.scale_granularity = KvScaleGranularity::tensor;
        tensor_scales.quant.group_size.reset();
        out("v2.tensor_scales", status(validate(tensor_scales)));
        out("v2.digest", digest(*spec) ? digest(*spec)->hex() : digest(*spec).error().describe());
        out("v2.canonical", hex(canonical_encoding(*spec)));
    }

    // JSON in: the new dtype name and the new field.
    Result<KvTensorShapeV1> parsed = parse_kv_tensor_shape_v1_json(json);
    if (!parsed) {
        out("parse", parsed.error().describe());
        return 1;
    }
    const KvTensorShapeV1 s = *parsed;
    out("parse", "ok");
    out("dtype", to_string(s.dtype));
    out("dtype.code", num(static_cast<std::uint32_t>(s.dtype)));
    out("page_size", num(s.page_size));

    // JSON out and back.
    const std::string written = to_json(s);
    out("to_json", written);
    Result<KvTensorShapeV1> reparsed = parse_kv_tensor_shape_v1_json(written);
    out("json_round_trip", reparsed && *reparsed == s ? "equal" : "different");

    // The enum tables know fp8.
    out("parse_kv_dtype.fp8", parse_kv_dtype("fp8") == KvDType::fp8 ? "fp8" : "none");
    out("kv_dtype_from_code.3", kv_dtype_from_code(3) == KvDType::fp8 ? "fp8" : "none");
    out("dtype.values", num(EnumTraits<KvDType>::values.size()));
    out("byte_size.fp8", num(byte_size(KvDType::fp8)));

    // make_*() takes the new field as its last argument.
    const KvTensorShapeV1 made = make_kv_tensor_shape_v1(KvRole::key, KvAttentionKind::gqa, 2, 3, 4, 8, 64, 128,
                                                         KvDType::fp8, KvRopeState::pre_rope, 16);
    out("make_equal", made == s ? "equal" : "different");

    // Derived counts: 1 byte per fp8 element.
    out("validate", status(validate(s)));
    out("element_count", count(element_count(s)));
    out("byte_size", count(byte_size(s)));
    KvTensorShapeV1 as_f16 = s;
    as_f16.dtype = KvDType::f16;
    out("byte_size.f16", count(byte_size(as_f16)));

    // The new rules.
    KvTensorShapeV1 no_pages = s;
    no_pages.page_size = 0;
    error("page_size_zero", validate(no_pages));
    std::string ids;
    for (const Error& e : validate_all(no_pages)) ids.append(ids.empty() ? "" : ",").append(e.rule);
    out("page_size_zero.all", ids);

    KvTensorShapeV1 ragged = s;
    ragged.tokens = 60;
    error("ragged_key", validate(ragged));
    KvTensorShapeV1 ragged_value = ragged;
    ragged_value.role = KvRole::value;
    ragged_value.rope_state = KvRopeState::not_applicable;
    error("ragged_value", validate(ragged_value));

    // Canonical encoding and digest.
    const std::string canonical = canonical_encoding(s);
    out("canonical", hex(canonical));
    Result<Digest> d = digest(s);
    out("digest", d ? d->hex() : d.error().describe());
    out("digest_is_of_canonical", d && *d == digest_bytes(canonical) ? "yes" : "no");
    KvTensorShapeV1 other_pages = s;
    other_pages.page_size = 32;
    Result<Digest> d32 = digest(other_pages);
    out("digest.page_size_32", d32 ? d32->hex() : d32.error().describe());
    Result<Digest> d_bad = digest(no_pages);
    out("digest.page_size_zero", d_bad ? d_bad->hex() : std::string(d_bad.error().rule));

    // FlatBuffers: the regenerated .fbs carries the field and the code.
    const std::vector<std::uint8_t> buffer = to_flatbuffer(s);
    Result<KvTensorShapeV1View> view = verify_kv_tensor_shape_v1_buffer(buffer);
    if (!view) {
        out("flatbuffer", view.error().describe());
    } else {
        out("flatbuffer", "ok");
        out("flatbuffer.page_size", num(view->page_size()));
        out("flatbuffer.dtype", to_string(view->dtype()));
        out("flatbuffer_round_trip", to_native(*view) == s ? "equal" : "different");
        Result<Digest> dv = digest(*view);
        out("flatbuffer_digest_equal", dv && d && *dv == *d ? "yes" : "no");
    }
    const std::vector<std::uint8_t> bad_buffer = to_flatbuffer(no_pages);
    Result<KvTensorShapeV1View> bad_view = verify_kv_tensor_shape_v1_buffer(bad_buffer);
    out("flatbuffer.page_size_zero", bad_view ? std::string("ok") : std::string(bad_view.error().rule));

    // JSON errors name the new field and list the new dtype.
    std::string missing = json;
    missing.replace(missing.find(",\"page_size\":16"), 15, "");
    Result<KvTensorShapeV1> no_field = parse_kv_tensor_shape_v1_json(missing);
    out("missing_page_size", no_field ? std::string("ok") : no_field.error().describe());
    std::string fp9 = json;
    fp9.replace(fp9.find("\"fp8\""), 5, "\"fp9\"");
    Result<KvTensorShapeV1> unknown = parse_kv_tensor_shape_v1_json(fp9);
    out("unknown_dtype", unknown ? std::string("ok") : unknown.error().message);
    return 0;
}
'''


# The same checks from the Python module built from the same copy: it must agree with the C++ on the new dtype,
# field and rules (validate, JSON, digest), with no hand edit of the bindings.
PY_PROGRAM = r'''
import sys
import fib_quant_kv as fqk
s = fqk.KvTensorShapeV1.from_json(sys.argv[1])
print(f"dtype={s.dtype.wire_name}")
print(f"dtype.code={s.dtype.code}")
print(f"byte_size.fp8={fqk.KvDType.fp8.byte_size}")
print(f"torch_dtype.fp8={fqk.KvDType.fp8.torch_dtype}")
print(f"numpy_dtype.fp8={fqk.KvDType.fp8.numpy_dtype}")
print(f"page_size={s.page_size}")
print(f"to_json={s.to_json()}")
s.validate()
print("validate=ok")
print(f"element_count={s.element_count}")
print(f"byte_size={s.byte_size}")
print(f"digest={s.digest()}")
print(f"digest.page_size_32={s.replace(page_size=32).digest()}")
made = fqk.KvTensorShapeV1(role="key", attention_kind="gqa", batch=2, layers=3, kv_heads=4, query_heads=8,
                           tokens=64, head_dim=128, dtype=fqk.KvDType.fp8, rope_state="pre_rope", page_size=16)
print(f"make_equal={'equal' if made == s else 'different'}")
for name, bad in (("page_size_zero", s.replace(page_size=0)), ("ragged_key", s.replace(tokens=60))):
    try:
        bad.validate()
        print(f"{name}.kind=ok")
    except fqk.DescriptorError as e:
        print(f"{name}.kind={e.kind.name}")
        print(f"{name}.rule={e.rule}")
        print(f"{name}.message={e.message}")
        print(f"{name}.fields={','.join(e.fields)}")
print(f"page_size_zero.all={','.join(e.rule for e in s.replace(page_size=0).validate_all())}")
back = fqk.KvTensorShapeV1.from_flatbuffer(s.to_flatbuffer())
print(f"flatbuffer_round_trip={'equal' if back == s else 'different'}")
print(f"tensor_shape={s.tensor_shape}")
try:
    fqk.KvTensorShapeV1.from_json(sys.argv[1].replace(',"page_size":16', ''))
except fqk.DescriptorError as e:
    print(f"missing_page_size={e}")
# The v2 edit: the new scheme is a member of the Python enum, with its attributes, and the spec's counts agree.
spec = fqk.KvCacheSpecV2.from_json(sys.argv[2])
print(f"v2.scheme={spec.quant.scheme.wire_name}")
print(f"v2.scheme.code={spec.quant.scheme.code}")
print(f"v2.scheme.is_member={fqk.KvQuantScheme('fp4_e2m1') is fqk.KvQuantScheme.fp4_e2m1 is spec.quant.scheme}")
print(f"v2.scheme.block={fqk.KvQuantScheme.fp4_e2m1.block_elems},{fqk.KvQuantScheme.fp4_e2m1.block_bytes}")
spec.validate()
print("v2.validate=ok")
print(f"v2.bytes_per_token={spec.bytes_per_token}")
print(f"v2.digest={spec.digest()}")
'''


def add_lines_after(text: str, needle: str, lines: list[str]) -> str:
    """Inserts `lines` after the one line containing `needle`, at that line's indentation."""
    rows = text.split("\n")
    hits = [i for i, row in enumerate(rows) if needle in row]
    if len(hits) != 1:
        raise AssertionError(f"{needle!r} is on {len(hits)} lines of the schema (expected one)")
    row = rows[hits[0]]
    indent = row[: len(row) - len(row.lstrip())]
    return "\n".join(rows[: hits[0] + 1] + [indent + line for line in lines] + rows[hits[0] + 1:])


def append_to_list(text: str, key_line: str, lines: list[str]) -> str:
    """Appends `lines` as new items at the end of the block list under `key_line` (e.g. "    fields:"), at the
    indentation of that list's items."""
    rows = text.split("\n")
    if rows.count(key_line) != 1:
        raise AssertionError(f"{key_line!r} is on {rows.count(key_line)} lines of the schema (expected one)")
    start = rows.index(key_line)
    indent = len(key_line) - len(key_line.lstrip())
    item_indent = None
    last = start
    for i in range(start + 1, len(rows)):
        row = rows[i]
        if not row.strip() or row.lstrip().startswith("#"):
            continue
        if len(row) - len(row.lstrip()) <= indent:
            break
        if item_indent is None:
            item_indent = row[: len(row) - len(row.lstrip())]
        last = i
    if item_indent is None:
        raise AssertionError(f"the list under {key_line!r} is empty")
    return "\n".join(rows[: last + 1] + [item_indent + line for line in lines] + rows[last + 1:])


# A v2 spec in the edited scheme: one layer of 2 heads of 64 channels, fp4 with an f16 scale per 32 channels.
SPEC_JSON = ('{"schema_version":"fib_quant_kv_cache_spec_v2","layers":1,"batch":1,"tokens":4,"groups":[{"layers":[0],'
             '"attention":"full","kv_heads":2,"key_head_dim":64,"value_head_dim":64,"rope_state":"post_rope"}],'
             '"storage":{"dim_order":["layer","token","head","dim"],"packing":"separate","block_size":0,'
             '"value_layout":"rows"},"quant":{"scheme":"fp4_e2m1","dtype":"bf16","scale_granularity":"group",'
             '"group_size":32,"scale_dtype":"f16"}}')


def edited_spec(text: str) -> str:
    """The real v2 schema with a quantization scheme (fp4_e2m1, code 17, two elements a byte) and a rule that
    uses it, as a user would type them."""
    text = add_lines_after(text, "{name: iq4_nl, code: 16,", [
        "- {name: fp4_e2m1, code: 17, doc: fp4 e2m1 with group scales., block_elems: 2, block_bytes: 1}"])
    anchor = "      - id: quant.group_size.present\n"
    if text.count(anchor) != 1:
        raise AssertionError("the v2 schema no longer has quant.group_size.present; update the test")
    return text.replace(anchor, "\n".join([
        "      - id: quant.fp4.group_scales",
        "        when: {scheme: fp4_e2m1}",
        "        check: {in: [scale_granularity, [group]]}",
        "        error: corrupt_payload",
        '        message: "fp4_e2m1 needs group scales, not {scale_granularity}"',
    ]) + "\n" + anchor)


def edited_schema(text: str) -> str:
    """The real schema with fp8, page_size and the two page_size rules added, as a user would type them."""
    # A dtype: after the last KvDType value.
    text = add_lines_after(text, "{name: f32, code: 2,", ["- {name: fp8, code: 3, doc: 8-bit float source., byte_size: 1, torch_dtype: float8_e4m3fn}"])
    # A field at the end of the struct.
    text = append_to_list(text, "    fields:", ["- {name: page_size, type: u32, doc: Tokens per KV-cache page.}"])
    # Two rules at the end of validate()'s rules.
    text = append_to_list(text, "    rules:", [
        "- id: page_size.nonzero",
        "  check: {nonzero: page_size}",
        "  error: corrupt_payload",
        '  message: "kv shape page_size must be > 0"',
        "- id: key.tokens_page_aligned",
        "  when: {role: key}",
        "  check: {divisible: [tokens, page_size]}",
        "  error: corrupt_payload",
        '  message: "key tokens {tokens} must be a multiple of page_size {page_size}"',
    ])
    return text


def canonical_hex(page_size: int) -> str:
    """The canonical encoding of SHAPE_JSON per docs/digest.md, built here independently of the library."""
    out = SCHEMA_ID.encode() + b"\0" + b"KvTensorShapeV1" + b"\0"
    out += struct.pack("<Q", len(SCHEMA_ID)) + SCHEMA_ID.encode()
    out += struct.pack("<II", 0, 2)  # role key, attention_kind gqa
    out += struct.pack("<IIIIII", 2, 3, 4, 8, 64, 128)  # batch .. head_dim
    out += struct.pack("<II", 3, 0)  # dtype fp8 (code 3), rope_state pre_rope
    out += struct.pack("<I", page_size)  # the new field, last
    return out.hex()


@unittest.skipUnless(CMAKE, "cmake not found on PATH: the copy is built by the real CMakeLists.txt")
@unittest.skipUnless(CXX, "g++ not found on PATH: the schema-edit flow-through test needs a C++20 compiler")
@unittest.skipUnless(FLATC, "flatc not found on PATH: the generated .fbs is compiled by flatc, as in the build")
class SchemaEditFlowsThrough(_support.BuiltOnceTestCase):
    tmp_prefix = "fqkv_codegen_flow_"

    @classmethod
    def _build(cls, tmp: Path) -> None:
        cls.schema_text = edited_schema(_support.schema_text())
        cls.spec_text = edited_spec(_support.LIBRARY.parent.joinpath("kv_cache_spec_v2.yaml").read_text("utf-8"))
        _library, out = _support.render_library(tmp, {"kv_tensor_shape_v1.yaml": cls.schema_text,
                                                      "kv_cache_spec_v2.yaml": cls.spec_text})
        cls.generated = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
                         for p in out.rglob("*") if p.is_file()}

        # The real CMakeLists.txt builds the copy's library, a C++ program against it, and its Python module.
        build = _support.build_with_cmake(tmp, out, PROGRAM, "flow")
        cls.result = _support.run_key_values([str(build / "flow"), SHAPE_JSON, SPEC_JSON])
        cls.py = _support.run_key_values([_support.PYTHON, "-c", PY_PROGRAM, SHAPE_JSON, SPEC_JSON],
                                         env=_support.python_env(build))

    def get(self, key: str) -> str:
        self.assertIn(key, self.result, f"the program printed no {key!r}; it printed: {self.result}")
        return self.result[key]

    # ---- what the generator rendered (Python-side, for a clear message before the C++ checks)
    def test_the_edit_reached_the_rendered_sources(self):
        header = self.generated["include/fib_quant_kv/kv_tensor_shape_v1.hpp"]
        self.assertIn("fp8 = 3,", header)
        self.assertIn("std::uint32_t page_size{};", header)
        self.assertIn("byte_size{2, 2, 4, 1};", header)  # the dtype attribute table, one entry per value
        # The new rules are rows of the rule table and run in both chains (the hot one and the cold one).
        self.assertIn('{"page_size.nonzero", ErrorKind::corrupt_payload', header)
        self.assertIn('{"key.tokens_page_aligned", ErrorKind::corrupt_payload', header)
        self.assertIn("// key.tokens_page_aligned", header)
        rules = self.generated["src/kv_tensor_shape_v1_rules.hpp"]
        self.assertIn("// key.tokens_page_aligned: key tokens {tokens} must be a multiple of page_size {page_size}",
                      rules)

    # ---- the v2 edit
    def test_v2_scheme_and_rule_flow_through(self):
        self.assertIn("fp4_e2m1 = 17,", self.generated["include/fib_quant_kv/kv_cache_spec_v2.hpp"])
        self.assertEqual(self.get("v2.parse"), "ok")
        self.assertEqual((self.get("v2.scheme"), self.get("v2.scheme.code")), ("fp4_e2m1", "17"))
        self.assertEqual(self.get("v2.validate"), "ok")
        # Per token: 2 heads x (K + V) x (64 / 2 elements a byte = 32 bytes, + 64 / 32 = 2 f16 scales = 4 bytes).
        self.assertEqual(self.get("v2.bytes_per_token"), str(2 * 2 * (32 + 4)))
        self.assertEqual(self.get("v2.tensor_scales"), "corrupt_payload [quant.fp4.group_scales] "
                                                       "(quant.scale_granularity): fp4_e2m1 needs group scales, "
                                                       "not tensor")
        # The scheme's code, 17, is in the canonical encoding (docs/digest.md): after the storage fields.
        enc = bytes.fromhex(self.get("v2.canonical"))
        self.assertIn(struct.pack("<III", 17, 1, 4) + b"\x01" + struct.pack("<I", 32) + b"\x01" + struct.pack("<I", 0),
                      enc)

    # ---- JSON
    def test_new_dtype_parses_from_json(self):
        self.assertEqual(self.get("parse"), "ok")
        self.assertEqual(self.get("dtype"), "fp8")
        self.assertEqual(self.get("dtype.code"), "3")
        self.assertEqual(self.get("parse_kv_dtype.fp8"), "fp8")
        self.assertEqual(self.get("kv_dtype_from_code.3"), "fp8")
        self.assertEqual(self.get("dtype.values"), "4")

    def test_new_field_round_trips_through_json(self):
        self.assertEqual(self.get("page_size"), "16")
        self.assertEqual(self.get("to_json"), SHAPE_JSON)
        self.assertEqual(self.get("json_round_trip"), "equal")
        self.assertEqual(self.get("make_equal"), "equal")

    def test_json_errors_know_the_new_field_and_value(self):
        self.assertRegex(self.get("missing_page_size"),
                         r"\Aparse \[json\.missing_field\] \(page_size\): missing field `page_size` \(at byte \d+\)\Z")
        self.assertEqual(self.get("unknown_dtype"),
                         "field `dtype`: unknown variant \"fp9\", expected one of `f16`, `bf16`, `f32`, `fp8`")

    # ---- rules
    def test_the_descriptor_is_valid(self):
        self.assertEqual(self.get("validate"), "ok")

    def test_nonzero_rule_fires_with_its_id_and_message(self):
        self.assertEqual(self.get("page_size_zero.kind"), "corrupt_payload")
        self.assertEqual(self.get("page_size_zero.rule"), "page_size.nonzero")
        self.assertEqual(self.get("page_size_zero.message"), "kv shape page_size must be > 0")
        self.assertEqual(self.get("page_size_zero.fields"), "page_size")
        # validate_all(): the divisible rule fails too for a zero divisor, after the nonzero rule.
        self.assertEqual(self.get("page_size_zero.all"), "page_size.nonzero,key.tokens_page_aligned")

    def test_divisible_rule_fires_for_keys_only(self):
        self.assertEqual(self.get("ragged_key.kind"), "corrupt_payload")
        self.assertEqual(self.get("ragged_key.rule"), "key.tokens_page_aligned")
        self.assertEqual(self.get("ragged_key.message"), "key tokens 60 must be a multiple of page_size 16")
        self.assertEqual(self.get("ragged_key.fields"), "tokens,page_size")
        self.assertEqual(self.get("ragged_value.kind"), "ok")

    # ---- derived counts
    def test_byte_size_counts_one_byte_per_fp8_element(self):
        elements = 2 * 3 * 4 * 64 * 128
        self.assertEqual(self.get("element_count"), str(elements))
        self.assertEqual(self.get("byte_size.fp8"), "1")
        self.assertEqual(self.get("byte_size"), str(elements * 1))
        self.assertEqual(self.get("byte_size.f16"), str(elements * 2))

    # ---- canonical encoding and digest
    def test_canonical_encoding_carries_the_new_code_and_field(self):
        self.assertEqual(self.get("canonical"), canonical_hex(16))

    def test_digest_works(self):
        digest = self.get("digest")
        self.assertRegex(digest, r"^[0-9a-f]{32}$")
        self.assertEqual(self.get("digest_is_of_canonical"), "yes")
        self.assertRegex(self.get("digest.page_size_32"), r"^[0-9a-f]{32}$")
        self.assertNotEqual(self.get("digest.page_size_32"), digest, "page_size must be part of the digest")
        self.assertEqual(self.get("digest.page_size_zero"), "page_size.nonzero")

    def test_digest_matches_xxhsum(self):
        xxhsum = shutil.which("xxhsum")
        if not xxhsum:
            self.skipTest("xxhsum not found: the digest is checked against the library's own canonical encoding only")
        r = subprocess.run([xxhsum, "-H2", "-"], input=bytes.fromhex(canonical_hex(16)), capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = r.stdout.decode().split()[0].lower()
        expected = expected.split("_")[-1]  # some xxhsum versions print "XXH3_<hex>" with -H2 in BSD style
        self.assertEqual(self.get("digest"), expected)

    # ---- FlatBuffers
    def test_new_field_and_dtype_round_trip_through_a_flatbuffer(self):
        self.assertEqual(self.get("flatbuffer"), "ok")
        self.assertEqual(self.get("flatbuffer.page_size"), "16")
        self.assertEqual(self.get("flatbuffer.dtype"), "fp8")
        self.assertEqual(self.get("flatbuffer_round_trip"), "equal")
        self.assertEqual(self.get("flatbuffer_digest_equal"), "yes")
        self.assertEqual(self.get("flatbuffer.page_size_zero"), "page_size.nonzero")

    # ---- the Python module of the same copy
    def test_python_agrees_with_the_cpp(self):
        for key in ("dtype", "dtype.code", "byte_size.fp8", "page_size", "to_json", "validate", "element_count",
                    "byte_size", "digest", "digest.page_size_32", "make_equal", "page_size_zero.kind",
                    "page_size_zero.rule", "page_size_zero.message", "page_size_zero.fields", "page_size_zero.all",
                    "ragged_key.kind", "ragged_key.rule", "ragged_key.message", "ragged_key.fields",
                    "missing_page_size"):
            with self.subTest(key=key):
                self.assertIn(key, self.py, f"the Python program printed no {key!r}")
                self.assertEqual(self.py[key], self.get(key))

    def test_python_knows_the_new_dtype_and_field(self):
        self.assertEqual(self.py["dtype"], "fp8")
        self.assertEqual(self.py["torch_dtype.fp8"], "float8_e4m3fn")
        self.assertEqual(self.py["numpy_dtype.fp8"], "None")  # optional attribute left out
        self.assertEqual(self.py["flatbuffer_round_trip"], "equal")
        self.assertEqual(self.py["tensor_shape"], "(2, 3, 4, 64, 128)")

    def test_python_knows_the_new_scheme(self):
        self.assertEqual(self.py["v2.scheme.is_member"], "True")
        self.assertEqual(self.py["v2.scheme.block"], "2,1")
        for key in ("v2.scheme", "v2.scheme.code", "v2.validate", "v2.bytes_per_token", "v2.digest"):
            with self.subTest(key=key):
                self.assertIn(key, self.py, f"the Python program printed no {key!r}")
                self.assertEqual(self.py[key], self.get(key))


if __name__ == "__main__":
    unittest.main()
