"""Two schemas in one build: they compile side by side and each works through every wire form.

A temp folder holds a library document listing a copy of the real schema/kv_tensor_shape_v1.yaml and a second
schema written here, kv_page_table_v1.yaml (PAGE_TABLE_SCHEMA): its own schema id, constants (one also named
`schema_id`, so the stem prefix is what keeps kKvTensorShapeV1SchemaId and kKvPageTableV1SchemaId apart), enums,
FlatBuffers file identifier, and two structs (KvPageV1, and KvPageTableV1, the FlatBuffers root). Some names are
shared on purpose: the enum attribute `byte_size` (also a derived count of the first schema), the named check
`block_dim`, the fields `kv_heads` and `head_dim`, the enum value name `f16`. They are overloads on different
types, or live in different scopes, and must stay so.

generate.py renders the two into TMP/generated; a tiny CMake project builds the REAL CMakeLists.txt against that
folder (FIB_QUANT_KV_GENERATED_DIR) and links a program (PROGRAM) to fib_quant_kv::fib_quant_kv. The program
prints key=value lines for both schemas (JSON in and out, validate, digest, FlatBuffers round trips, the non-root
struct through a caller's builder, the prefixed constants, the one ErrorKind), each asserted exactly here.

One build for the module (setUpClass), about ten seconds on two cores at -O0 (no build type); skipped with a reason when cmake,
g++, flatc or xxhsum is missing, which fails the run under FIB_QUANT_KV_REQUIRE_ALL (tests/require_all.py runs
this suite as ctest `codegen_unit`).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import unittest
from pathlib import Path

import _support
import generate
from _support import run_generate

CMAKE = shutil.which("cmake")
CXX = shutil.which("g++")
FLATC = shutil.which("flatc")
XXHSUM = shutil.which("xxhsum")

SHAPE_ID = "fib_quant_kv_tensor_shape_v1"
TABLE_ID = "fib_quant_kv_page_table_v1"

PAGE_TABLE_SCHEMA = """\
# A second schema of the library, written by codegen/tests/test_two_schemas.py: a paged KV cache's page table.

schema:
  id: fib_quant_kv_page_table_v1
  doc: Page table of a paged KV cache.

flatbuffers:
  namespace: fib_quant_kv.fb
  file_identifier: FQPT
  file_extension: fqpt
  root: KvPageTableV1

constants:
  schema_id:
    type: string
    value: fib_quant_kv_page_table_v1
    doc: Stable schema marker carried in every page table's schema_version.
  fp8_page_tokens:
    type: u32
    value: 64
    doc: Tokens per page of an fp8 page table.

enums:
  - name: KvPageLocation
    doc: Where a page lives.
    values:
      - {name: device, code: 0, doc: Accelerator memory.}
      - {name: host, code: 1, doc: Host memory.}
      - {name: evicted, code: 2, doc: Nowhere; the page must be recomputed.}
  - name: KvPageLayout
    doc: Order of a page's elements.
    values:
      - {name: token_major, code: 0, doc: Tokens outermost.}
      - {name: head_major, code: 1, doc: Heads outermost.}
  - name: KvPageElement
    doc: Element type of a page.
    attributes:
      byte_size: {type: u32, doc: Bytes per element.}
    values:
      - {name: f16, code: 0, doc: IEEE fp16., byte_size: 2}
      - {name: f32, code: 1, doc: f32., byte_size: 4}
      - {name: fp8, code: 2, doc: 8-bit float., byte_size: 1}

structs:
  - name: KvPageV1
    doc: One page of the cache.
    fields:
      - {name: location, type: KvPageLocation, doc: Where the page lives.}
      - {name: index, type: u32, doc: "Index of the page in its pool (a name the generated code once reserved)."}
      - {name: byte_offset, type: u64, doc: Byte offset of the page in its pool.}
      - {name: tokens_used, type: u32, doc: Tokens written to the page.}
    rules:
      - id: location.known
        check: {known: location}
        error: corrupt_payload
        message: "page location holds a code that is not a value of its enum"
      - id: resident.tokens_used
        when: {location: [device, host]}
        check: {nonzero: tokens_used}
        error: corrupt_payload
        message: "a resident page holds tokens"
      - id: evicted.empty
        when: {location: evicted}
        check: {eq: [tokens_used, 0]}
        error: corrupt_payload
        message: "an evicted page holds no tokens, not {tokens_used}"

  - name: KvPageTableV1
    doc: The page geometry of one KV cache.
    fields:
      - {name: schema_version, type: string, default: schema_id, doc: Stable schema marker.}
      - {name: layout, type: KvPageLayout, doc: Element order within a page.}
      - {name: element, type: KvPageElement, doc: Element type.}
      - {name: page_tokens, type: u32, doc: Tokens per page.}
      - {name: kv_heads, type: u32, doc: KV heads per page.}
      - {name: head_dim, type: u32, doc: Channels per head.}
      - {name: page_count, type: u64, doc: Pages in the table.}
    derived:
      - name: page_elements
        doc: Elements of one page.
        product: [page_tokens, kv_heads, head_dim]
        overflow: table_size_overflow
      - name: page_bytes
        doc: Bytes of one page.
        product: [page_elements, element.byte_size]
        overflow: table_size_overflow
      - name: table_bytes
        doc: Bytes of every page.
        product: [page_bytes, page_count]
        overflow: table_size_overflow
    rules:
      - id: "{field}.known"
        for_each: [layout, element]
        check: {known: "{field}"}
        error: corrupt_payload
        message: "page table {field} holds a code that is not a value of its enum"
      - id: schema_version.matches
        check: {eq: [schema_version, schema_id]}
        error: corrupt_payload
        message: "page table schema_version {schema_version}, expected {schema_id}"
      - id: "{field}.nonzero"
        for_each: [page_tokens, kv_heads, head_dim, page_count]
        check: {nonzero: "{field}"}
        error: corrupt_payload
        message: "page table {field} must be > 0"
      - id: head_major.head_dim_divisible
        when: {layout: head_major}
        check: {divisible: [head_dim, 8]}
        error: corrupt_payload
        message: "head-major pages need head_dim {head_dim} divisible by 8"
      - id: fp8.token_major
        when: {element: fp8}
        check: {in: [layout, [token_major]]}
        error: corrupt_payload
        message: fp8 pages must be token_major
      - id: fp8.page_tokens
        when: {element: fp8}
        check: {eq: [page_tokens, fp8_page_tokens]}
        error: corrupt_payload
        message: "fp8 pages hold {fp8_page_tokens} tokens, not {page_tokens}"
      - id: table_size_overflow
        check: {fits_u64: table_bytes}
        error: resource_limit_exceeded
        message: page table size overflow
    checks:
      - name: block_dim
        doc: Validate that head_dim is a multiple of a compressor's block.
        params:
          - {name: block_dim, type: u32, doc: Block dimension of the compressor.}
        rules:
          - id: head_dim.block_divisible
            check: {divisible: [head_dim, block_dim]}
            error: dimension_not_divisible
            details: {ambient_dim: head_dim, block_dim: block_dim}
            message: "page table head_dim {head_dim} is not divisible by block_dim {block_dim}"
"""

SHAPE_JSON = ('{"schema_version":"fib_quant_kv_tensor_shape_v1","role":"key","attention_kind":"gqa","batch":2,'
              '"layers":3,"kv_heads":4,"query_heads":8,"tokens":64,"head_dim":128,"dtype":"f16",'
              '"rope_state":"pre_rope"}')
TABLE_JSON = ('{"schema_version":"fib_quant_kv_page_table_v1","layout":"token_major","element":"f16",'
              '"page_tokens":16,"kv_heads":4,"head_dim":128,"page_count":1000}')
PAGE_JSON = '{"location":"device","index":7,"byte_offset":4294967296,"tokens_used":12}'

PROGRAM = r'''
// Written by codegen/tests/test_two_schemas.py: two schemas of one library, side by side in one program.
#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fib_quant_kv/fib_quant_kv.hpp"
#include "fib_quant_kv/kv_page_table_v1_flatbuffers.hpp"
#include "fib_quant_kv/kv_tensor_shape_v1_flatbuffers.hpp"

using namespace fib_quant_kv;

namespace {

void out(std::string_view key, std::string_view value) { std::cout << key << '=' << value << '\n'; }
std::string num(std::uint64_t v) { return std::to_string(v); }
std::string status(const Status& s) { return s ? std::string("ok") : s.error().describe(); }
std::string count(const Result<std::uint64_t>& r) { return r ? num(*r) : std::string(r.error().rule); }
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
void error(std::string_view prefix, const Status& s) {
    const std::string p(prefix);
    if (s) {
        out(p + ".kind", "ok");
        return;
    }
    const Error& e = s.error();
    out(p + ".kind", to_string(e.kind));
    out(p + ".rule", e.rule);
    out(p + ".message", e.message);
}
template <class T>
std::string digest_of(const T& x) {
    Result<Digest> d = digest(x);
    return d ? d->hex() : std::string(d.error().rule);
}
// Parses the JSON given, prints what every schema's API makes of it; `Parse` is the schema's parse_*_json.
template <class T, class Parse>
bool json_round_trip(std::string_view prefix, std::string_view json, Parse parse, T& value) {
    const std::string p(prefix);
    Result<T> parsed = parse(json);
    if (!parsed) {
        out(p + ".parse", parsed.error().describe());
        return false;
    }
    value = *parsed;
    out(p + ".parse", "ok");
    out(p + ".validate", status(validate(value)));
    const std::string written = to_json(value);
    out(p + ".to_json", written);
    Result<T> again = parse(written);
    out(p + ".json_round_trip", again && *again == value ? "equal" : "different");
    out(p + ".canonical", hex(canonical_encoding(value)));
    out(p + ".digest", digest_of(value));
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) return 2;

    // ---- schema 1: kv_tensor_shape_v1 (root KvTensorShapeV1)
    KvTensorShapeV1 shape;
    if (!json_round_trip("shape", argv[1], parse_kv_tensor_shape_v1_json, shape)) return 1;
    KvTensorShapeV1 bad_shape = shape;
    bad_shape.kv_heads = 3;  // gqa: 8 query heads over 3 kv heads
    const Status shape_error = validate(bad_shape);
    error("shape.bad", shape_error);
    out("shape.byte_size", count(byte_size(shape)));
    error("shape.block_dim_48", validate_block_dim(shape, 48));
    {
        const std::vector<std::uint8_t> buffer = to_flatbuffer(shape);
        Result<KvTensorShapeV1View> view = verify_kv_tensor_shape_v1_buffer(buffer);
        out("shape.flatbuffer", view ? "ok" : view.error().describe());
        out("shape.flatbuffer_round_trip", view && to_native(*view) == shape ? "equal" : "different");
        out("shape.flatbuffer_digest", view ? digest_of(*view) : "none");
        // A page table's buffer is not a shape's: the file identifier tells them apart.
        const std::vector<std::uint8_t> table_buffer = to_flatbuffer(make_kv_page_table_v1(
            KvPageLayout::token_major, KvPageElement::f16, 16, 4, 128, 1000));
        Result<KvTensorShapeV1View> wrong = view_kv_tensor_shape_v1(table_buffer);
        out("shape.from_table_buffer", wrong ? std::string("ok") : std::string(wrong.error().rule));
    }

    // ---- schema 2: kv_page_table_v1 (root KvPageTableV1; KvPageV1 only embedded)
    KvPageTableV1 table;
    if (!json_round_trip("table", argv[2], parse_kv_page_table_v1_json, table)) return 1;
    out("table.make_equal", make_kv_page_table_v1(KvPageLayout::token_major, KvPageElement::f16, 16, 4, 128, 1000) ==
                                    table ? "equal" : "different");
    out("table.page_elements", count(page_elements(table)));
    out("table.page_bytes", count(page_bytes(table)));
    out("table.table_bytes", count(table_bytes(table)));
    out("table.byte_size.fp8", num(byte_size(KvPageElement::fp8)));
    out("table.element.values", num(EnumTraits<KvPageElement>::values.size()));
    out("table.parse_kv_page_layout", parse_kv_page_layout("head_major") == KvPageLayout::head_major ? "head_major" : "none");
    KvPageTableV1 fp8 = table;
    fp8.element = KvPageElement::fp8;
    fp8.layout = KvPageLayout::head_major;
    fp8.head_dim = 100;
    const Status table_error = validate(fp8);
    error("table.bad", table_error);
    std::string ids;
    for (const Error& e : validate_all(fp8)) ids.append(ids.empty() ? "" : ",").append(e.rule);
    out("table.bad.all", ids);
    KvPageTableV1 huge = table;
    huge.page_count = 0xFFFFFFFFFFFFFFFFULL;
    error("table.huge", validate(huge));
    out("table.huge.table_bytes", count(table_bytes(huge)));
    const Status block_error = validate_block_dim(table, 48);
    error("table.block_dim_48", block_error);
    out("table.block_dim_48.details", block_error ? std::string("none")
        : num(block_error.error().details.ambient_dim) + "," + num(block_error.error().details.block_dim));
    error("table.block_dim_32", validate_block_dim(table, 32));
    {
        const std::vector<std::uint8_t> buffer = to_flatbuffer(table);
        out("table.file_identifier", std::string(reinterpret_cast<const char*>(buffer.data()) + 4, 4));
        Result<KvPageTableV1View> view = verify_kv_page_table_v1_buffer(buffer);
        out("table.flatbuffer", view ? "ok" : view.error().describe());
        out("table.flatbuffer.page_count", view ? num(view->page_count()) : "none");
        out("table.flatbuffer_round_trip", view && to_native(*view) == table ? "equal" : "different");
        out("table.flatbuffer_digest", view ? digest_of(*view) : "none");
        const std::vector<std::uint8_t> bad_buffer = to_flatbuffer(fp8);
        Result<KvPageTableV1View> bad_view = verify_kv_page_table_v1_buffer(bad_buffer);
        out("table.flatbuffer.bad", bad_view ? std::string("ok") : std::string(bad_view.error().rule));
    }

    // ---- the non-root struct: JSON, rules, and a table in a caller's builder
    KvPageV1 page;
    if (!json_round_trip("page", argv[3], parse_kv_page_v1_json, page)) return 1;
    KvPageV1 evicted = page;
    evicted.location = KvPageLocation::evicted;
    error("page.evicted", validate(evicted));
    KvPageV1 empty = page;
    empty.tokens_used = 0;
    error("page.empty", validate(empty));
    {
        flatbuffers::FlatBufferBuilder builder(128);
        builder.Finish(build_kv_page_v1(builder, page));
        const std::uint8_t* const data = builder.GetBufferPointer();
        flatbuffers::Verifier verifier(data, builder.GetSize());
        out("page.flatbuffer.verifier", verifier.VerifyBuffer<fb::KvPageV1>(nullptr) ? "ok" : "failed");
        Result<KvPageV1View> view = view_kv_page_v1(flatbuffers::GetRoot<fb::KvPageV1>(data));
        out("page.flatbuffer", view ? "ok" : view.error().describe());
        out("page.flatbuffer.byte_offset", view ? num(view->byte_offset()) : "none");
        out("page.flatbuffer.location", view ? to_string(view->location()) : "none");
        out("page.flatbuffer_round_trip", view && to_native(*view) == page ? "equal" : "different");
        out("page.flatbuffer.validate", view ? status(validate(*view)) : "none");
        out("page.flatbuffer_digest", view ? digest_of(*view) : "none");
        Result<KvPageV1View> none = view_kv_page_v1(static_cast<const fb::KvPageV1*>(nullptr));
        out("page.flatbuffer.null", none ? std::string("ok") : none.error().describe());
    }

    // ---- the descriptor registry (schemas.hpp): one row per schema, a variant over their roots
    // The library document lists v1, the page table, then v2 (added by render_library).
    static_assert(std::variant_size_v<AnyDescriptor> == 3);
    static_assert(std::is_same_v<std::variant_alternative_t<1, AnyDescriptor>, KvPageTableV1>);
    out("registry.ids", std::string(kSchemaIds[0]) + "," + std::string(kSchemaIds[1]) + "," +
                            std::string(kSchemaIds[2]));
    out("registry.table", std::string(SchemaTraits<KvPageTableV1>::type_name) + " " +
                              std::string(SchemaTraits<KvPageTableV1>::stem) + " " +
                              std::string(SchemaTraits<KvPageTableV1>::file_identifier));
    {
        std::string scratch(argv[2]);
        Result<KvPageTableV1> again = SchemaTraits<KvPageTableV1>::parse_json(std::span<char>(scratch));
        out("registry.table.parse_json", again && to_json(*again) == to_json(table) ? "equal" : "different");
    }

    // ---- what the two share and what keeps them apart
    out("kKvTensorShapeV1SchemaId", kKvTensorShapeV1SchemaId);
    out("kKvPageTableV1SchemaId", kKvPageTableV1SchemaId);
    out("kKvPageTableV1Fp8PageTokens", num(kKvPageTableV1Fp8PageTokens));
    out("kKvTensorShapeV1FileIdentifier", kKvTensorShapeV1FileIdentifier);
    out("kKvPageTableV1FileIdentifier", kKvPageTableV1FileIdentifier);
    out("fingerprints_differ", kKvTensorShapeV1Fingerprint != kKvPageTableV1Fingerprint ? "yes" : "no");
    static_assert(std::is_same_v<decltype(shape_error.error().kind), decltype(table_error.error().kind)>);
    static_assert(std::is_same_v<decltype(shape_error.error().kind), ErrorKind>);
    out("error_kind.same_type", "yes");
    out("error_kind.shape", to_string(shape_error.error().kind));
    out("error_kind.table", to_string(table_error.error().kind));
    out("error_kind.equal", shape_error.error().kind == table_error.error().kind ? "yes" : "no");
    out("error_kind.block_dim", to_string(block_error.error().kind));
    return 0;
}
'''

# The same build's Python module: both schemas' classes in one module, each answering as its C++ does.
PY_PROGRAM = r'''
import sys
import fib_quant_kv as fqk
shape = fqk.KvTensorShapeV1.from_json(sys.argv[1])
table = fqk.KvPageTableV1.from_json(sys.argv[2])
for name, s, cls in (("shape", shape, fqk.KvTensorShapeV1), ("table", table, fqk.KvPageTableV1)):
    s.validate()
    print(f"{name}.to_json={s.to_json()}")
    print(f"{name}.digest={s.digest()}")
    print(f"{name}.flatbuffer_round_trip={'equal' if cls.from_flatbuffer(s.to_flatbuffer()) == s else 'different'}")
print(f"table.table_bytes={table.table_bytes}")
try:
    table.replace(layout="head_major", head_dim=100).validate()
except fqk.DescriptorError as e:
    print(f"table.bad.kind={e.kind.name}")
    print(f"table.bad.rule={e.rule}")
    print(f"table.bad.message={e.message}")
print(f"constants={fqk.KV_TENSOR_SHAPE_V1_SCHEMA_ID},{fqk.KV_PAGE_TABLE_V1_SCHEMA_ID}")
print(f"page_is_a_class={isinstance(fqk.KvPageV1, type)}")
'''


# ---- the canonical encodings (docs/digest.md), built here independently of the library
def _domain(schema_id: str, struct_name: str) -> bytes:
    return schema_id.encode() + b"\0" + struct_name.encode() + b"\0"


def _string(text: str) -> bytes:
    return struct.pack("<Q", len(text)) + text.encode()


SHAPE_CANONICAL = (_domain(SHAPE_ID, "KvTensorShapeV1") + _string(SHAPE_ID)
                   + struct.pack("<II", 0, 2)  # role key, attention_kind gqa
                   + struct.pack("<IIIIII", 2, 3, 4, 8, 64, 128)  # batch .. head_dim
                   + struct.pack("<II", 0, 0))  # dtype f16, rope_state pre_rope
TABLE_CANONICAL = (_domain(TABLE_ID, "KvPageTableV1") + _string(TABLE_ID)
                   + struct.pack("<II", 0, 0)  # layout token_major, element f16
                   + struct.pack("<III", 16, 4, 128)  # page_tokens, kv_heads, head_dim
                   + struct.pack("<Q", 1000))  # page_count
PAGE_CANONICAL = (_domain(TABLE_ID, "KvPageV1")
                  + struct.pack("<II", 0, 7)  # location device, index
                  + struct.pack("<Q", 4294967296)  # byte_offset
                  + struct.pack("<I", 12))  # tokens_used


def _xxh128(data: bytes) -> str:
    r = subprocess.run([XXHSUM, "-H2", "-"], input=data, capture_output=True, timeout=30, check=True)
    return r.stdout.decode().split()[0].lower().split("_")[-1]


@unittest.skipUnless(CMAKE, "cmake not found on PATH: the two-schema build configures the real CMakeLists.txt")
@unittest.skipUnless(CXX, "g++ not found on PATH: the two-schema build needs a C++20 compiler")
@unittest.skipUnless(FLATC, "flatc not found on PATH: the build compiles both rendered .fbs files with flatc")
@unittest.skipUnless(XXHSUM, "xxhsum not found on PATH: the digests are checked against `xxhsum -H2`")
class TwoSchemasSideBySide(_support.BuiltOnceTestCase):
    tmp_prefix = "fqkv_codegen_two_"

    @classmethod
    def _build(cls, tmp: Path) -> None:
        cls.library, cls.generated_dir = _support.render_library(
            tmp, {"kv_tensor_shape_v1.yaml": _support.schema_text(), "kv_page_table_v1.yaml": PAGE_TABLE_SCHEMA})
        cls.listed = run_generate("--list-outputs", str(cls.library))

        build = _support.build_with_cmake(tmp, cls.generated_dir, PROGRAM, "two_schemas")
        cls.result = _support.run_key_values([str(build / "two_schemas"), SHAPE_JSON, TABLE_JSON, PAGE_JSON])
        # The Python module of the same build holds both schemas' classes, side by side.
        cls.py = _support.run_key_values([_support.PYTHON, "-c", PY_PROGRAM, SHAPE_JSON, TABLE_JSON],
                                         env=_support.python_env(build))

    def expect(self, lines: dict[str, str]) -> None:
        for key, value in lines.items():
            with self.subTest(key=key):
                self.assertIn(key, self.result, f"the program printed no {key!r}")
                self.assertEqual(self.result[key], value, key)

    # ---- what the generator says it rendered, and what CMake is told to compile
    def test_outputs_cmake_lists_both_schemas(self):
        text = (self.generated_dir / "outputs.cmake").read_text(encoding="utf-8")
        for stem in ("kv_tensor_shape_v1", "kv_page_table_v1"):
            with self.subTest(stem=stem):
                self.assertIn(f'  "{stem}"\n', text)
                for rel in (f"src/{stem}_native.cpp", f"src/{stem}_json.cpp", f"src/{stem}_flatbuffers.cpp",
                            f"fbs/{stem}.fbs"):
                    self.assertIn(f'  "{rel}"\n', text)

    def test_list_outputs_names_both_schemas(self):
        self.assertEqual(self.listed.returncode, 0, self.listed.stderr)
        listed = self.listed.stdout.splitlines()
        # Every output kind: the library-wide ones once, the per-schema ones once for each stem of their kind (the
        # two flat schemas here, and the real v2 spec the library's handwritten code needs, a composite one).
        expected = [o.path.format(ns="fib_quant_kv", lib="fib_quant_kv", stem="") for o in generate.LIBRARY_OUTPUTS]
        expected += [o.path.format(ns="fib_quant_kv", lib="fib_quant_kv", stem=s)
                     for s in ("kv_tensor_shape_v1", "kv_page_table_v1") for o in generate.SCHEMA_OUTPUTS
                     if o.scope in ("all", "flat")]
        expected += [o.path.format(ns="fib_quant_kv", lib="fib_quant_kv", stem="kv_cache_spec_v2")
                     for o in generate.SCHEMA_OUTPUTS if o.scope in ("all", "composite")]
        self.assertEqual(listed, sorted(expected))
        self.assertIn("src/kv_page_table_v1_json.cpp", listed)
        self.assertIn("fbs/kv_page_table_v1.fbs", listed)
        self.assertEqual(sorted(p.relative_to(self.generated_dir).as_posix()
                                for p in self.generated_dir.rglob("*") if p.is_file()), listed)

    def test_registry_has_a_row_per_schema(self):
        self.expect({
            "registry.ids": f"{SHAPE_ID},{TABLE_ID},fib_quant_kv_cache_spec_v2",
            "registry.table": "KvPageTableV1 kv_page_table_v1 FQPT",
            "registry.table.parse_json": "equal",
        })

    def test_umbrella_includes_both(self):
        text = (self.generated_dir / "include" / "fib_quant_kv" / "schemas.hpp").read_text(encoding="utf-8")
        self.assertIn('#include "fib_quant_kv/kv_tensor_shape_v1.hpp"', text)
        self.assertIn('#include "fib_quant_kv/kv_page_table_v1.hpp"', text)

    # ---- schema 1
    def test_shape_json_validate_digest(self):
        self.expect({
            "shape.parse": "ok",
            "shape.validate": "ok",
            "shape.to_json": SHAPE_JSON,
            "shape.json_round_trip": "equal",
            "shape.canonical": SHAPE_CANONICAL.hex(),
            "shape.digest": _xxh128(SHAPE_CANONICAL),
            "shape.byte_size": str(2 * 3 * 4 * 64 * 128 * 2),
            "shape.bad.kind": "corrupt_payload",
            "shape.bad.rule": "grouped.heads_divisible",
            "shape.bad.message": "query_heads must be divisible by kv_heads",
            "shape.block_dim_48.kind": "dimension_not_divisible",
            "shape.block_dim_48.rule": "head_dim.block_divisible",
            "shape.block_dim_48.message": "kv shape head_dim 128 is not divisible by block_dim 48",
        })

    def test_shape_flatbuffer(self):
        self.expect({
            "shape.flatbuffer": "ok",
            "shape.flatbuffer_round_trip": "equal",
            "shape.flatbuffer_digest": _xxh128(SHAPE_CANONICAL),
            "shape.from_table_buffer": "flatbuffers.identifier",
        })

    # ---- schema 2, root struct
    def test_table_json_validate_digest(self):
        self.expect({
            "table.parse": "ok",
            "table.validate": "ok",
            "table.to_json": TABLE_JSON,
            "table.json_round_trip": "equal",
            "table.canonical": TABLE_CANONICAL.hex(),
            "table.digest": _xxh128(TABLE_CANONICAL),
            "table.make_equal": "equal",
        })

    def test_table_derived_counts(self):
        self.expect({
            "table.page_elements": str(16 * 4 * 128),
            "table.page_bytes": str(16 * 4 * 128 * 2),
            "table.table_bytes": str(16 * 4 * 128 * 2 * 1000),
            "table.byte_size.fp8": "1",
            "table.element.values": "3",
            "table.parse_kv_page_layout": "head_major",
            "table.huge.kind": "resource_limit_exceeded",
            "table.huge.rule": "table_size_overflow",
            "table.huge.message": "page table size overflow",
            "table.huge.table_bytes": "table_size_overflow",
        })

    def test_table_rules_fire_with_their_ids_and_messages(self):
        self.expect({
            "table.bad.kind": "corrupt_payload",
            "table.bad.rule": "head_major.head_dim_divisible",
            "table.bad.message": "head-major pages need head_dim 100 divisible by 8",
            "table.bad.all": "head_major.head_dim_divisible,fp8.token_major,fp8.page_tokens",
            "table.block_dim_48.kind": "dimension_not_divisible",
            "table.block_dim_48.rule": "head_dim.block_divisible",
            "table.block_dim_48.message": "page table head_dim 128 is not divisible by block_dim 48",
            "table.block_dim_48.details": "128,48",
            "table.block_dim_32.kind": "ok",
        })

    def test_table_flatbuffer(self):
        self.expect({
            "table.file_identifier": "FQPT",
            "table.flatbuffer": "ok",
            "table.flatbuffer.page_count": "1000",
            "table.flatbuffer_round_trip": "equal",
            "table.flatbuffer_digest": _xxh128(TABLE_CANONICAL),
            "table.flatbuffer.bad": "head_major.head_dim_divisible",
        })

    # ---- schema 2, the struct that is not the root
    def test_page_json_validate_digest(self):
        self.expect({
            "page.parse": "ok",
            "page.validate": "ok",
            "page.to_json": PAGE_JSON,
            "page.json_round_trip": "equal",
            "page.canonical": PAGE_CANONICAL.hex(),
            "page.digest": _xxh128(PAGE_CANONICAL),
            "page.evicted.kind": "corrupt_payload",
            "page.evicted.rule": "evicted.empty",
            "page.evicted.message": "an evicted page holds no tokens, not 12",
            "page.empty.kind": "corrupt_payload",
            "page.empty.rule": "resident.tokens_used",
            "page.empty.message": "a resident page holds tokens",
        })

    def test_page_through_a_callers_builder(self):
        self.expect({
            "page.flatbuffer.verifier": "ok",
            "page.flatbuffer": "ok",
            "page.flatbuffer.byte_offset": "4294967296",
            "page.flatbuffer.location": "device",
            "page.flatbuffer_round_trip": "equal",
            "page.flatbuffer.validate": "ok",
            "page.flatbuffer_digest": _xxh128(PAGE_CANONICAL),
            "page.flatbuffer.null": "parse [flatbuffers.missing_field]: missing table KvPageV1",
        })

    # ---- side by side
    def test_constants_carry_their_schemas_stem(self):
        self.expect({
            "kKvTensorShapeV1SchemaId": SHAPE_ID,
            "kKvPageTableV1SchemaId": TABLE_ID,
            "kKvPageTableV1Fp8PageTokens": "64",
            "kKvTensorShapeV1FileIdentifier": "FQKV",
            "kKvPageTableV1FileIdentifier": "FQPT",
            "fingerprints_differ": "yes",
        })

    def test_both_schemas_report_one_error_kind(self):
        self.expect({
            "error_kind.same_type": "yes",
            "error_kind.shape": "corrupt_payload",
            "error_kind.table": "corrupt_payload",
            "error_kind.equal": "yes",
            "error_kind.block_dim": "dimension_not_divisible",
        })

    def test_the_python_module_holds_both_schemas_and_agrees_with_the_cpp(self):
        for key in ("shape.to_json", "shape.digest", "table.to_json", "table.digest", "table.table_bytes",
                    "table.bad.kind", "table.bad.rule", "table.bad.message"):
            with self.subTest(key=key):
                self.assertEqual(self.py.get(key), self.result[key])
        self.assertEqual(self.py["shape.flatbuffer_round_trip"], "equal")
        self.assertEqual(self.py["table.flatbuffer_round_trip"], "equal")
        self.assertEqual(self.py["constants"], f"{SHAPE_ID},{TABLE_ID}")
        self.assertEqual(self.py["page_is_a_class"], "True")


if __name__ == "__main__":
    unittest.main()
