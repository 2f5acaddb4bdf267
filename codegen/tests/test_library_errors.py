"""The library document and the schemas of one library, checked together, are rejected with precise messages.

load_library() checks schema/library.yaml on its own: its keys, and the list of schema documents (file names,
existence, duplicates). check_together() checks what no single document can: two schemas of one library must
not define the same type name, schema id or FlatBuffers file identifier. And a schema of several structs must
name its FlatBuffers root. Each test writes a library into a temp folder (the real library document with its
list of schemas replaced; the real kv_tensor_shape_v1.yaml; the page-table schema of test_two_schemas.py),
breaks one thing, and checks:
  * the SchemaError reads `FILE:LINE: KEY.PATH: message`, exactly;
  * `generate.py --out TMP LIBRARY` exits 2, prints that message on stderr (nothing on stdout), writes nothing.
"""

from __future__ import annotations

import unittest

import _support
from _support import edit, line_of
from generate import load_all, render
from model import SchemaError
from schema_model import load_library
from test_two_schemas import PAGE_TABLE_SCHEMA

SHAPE = "kv_tensor_shape_v1.yaml"
PAGE = "kv_page_table_v1.yaml"


def _line_index(text: str, line: str, occurrence: int = 1) -> int:
    """1-based number of the `occurrence`-th line of `text` that is exactly `line`."""
    hits = [i + 1 for i, row in enumerate(text.splitlines()) if row == line]
    if len(hits) < occurrence:
        raise AssertionError(f"{line!r} is on {len(hits)} lines (wanted occurrence {occurrence})")
    return hits[occurrence - 1]


class LibraryErrorTestCase(_support.TempDirTestCase):
    maxDiff = None

    def setUp(self) -> None:
        super().setUp()
        self.folder = self.tmp / "schema"
        self.folder.mkdir()
        self.library = self.folder / "library.yaml"
        self.lib = self.library.as_posix()  # how generate.py names a library outside the repository
        self.shape = (self.folder / SHAPE).as_posix()
        self.page = (self.folder / PAGE).as_posix()

    def write(self, library: str, schemas: dict[str, str] | None = None) -> None:
        self.library.write_text(library, encoding="utf-8")
        for name, text in (schemas or {}).items():
            (self.folder / name).write_text(text, encoding="utf-8")

    def assertLibraryRejected(self, library: str, message: str) -> None:
        """load_library() alone rejects `library` with exactly `message`, and so does generate.py."""
        self.write(library, {SHAPE: _support.schema_text()})
        with self.assertRaises(SchemaError) as cm:
            load_library(self.library, self.lib)
        self.assertEqual(str(cm.exception), message)
        self.assert_generate_rejects(self.library, message)

    def assertTogetherRejected(self, page_text: str, message: str) -> None:
        """The library of the real schema and `page_text` is rejected with exactly `message` when its schemas are
        loaded and rendered (check_together() runs first), and by generate.py."""
        self.write(_support.library_text([SHAPE, PAGE]), {SHAPE: _support.schema_text(), PAGE: page_text})
        with self.assertRaises(SchemaError) as cm:
            render(*load_all(self.library))
        self.assertEqual(str(cm.exception), message)
        self.assert_generate_rejects(self.library, message)


class Baseline(LibraryErrorTestCase):
    def test_the_two_schemas_load_and_render_together(self):
        # Every failure below is its edit's: the unedited pair passes.
        self.write(_support.library_text([SHAPE, PAGE]), {SHAPE: _support.schema_text(), PAGE: PAGE_TABLE_SCHEMA})
        library, schemas = load_all(self.library)
        self.assertEqual(library.schema_paths, [SHAPE, PAGE])
        self.assertEqual([s.stem for s in schemas], ["kv_tensor_shape_v1", "kv_page_table_v1"])
        self.assertEqual(schemas[1].flatbuffers.root.name.text, "KvPageTableV1")
        self.assertIn("src/kv_page_table_v1_json.cpp", render(library, schemas))


class LibraryDocument(LibraryErrorTestCase):
    def test_unknown_key(self):
        text = _support.library_text() + "extras: 1\n"
        self.assertLibraryRejected(text, f"{self.lib}:{line_of(text, 'extras: 1')}: extras: unknown key `extras` "
                                         "(allowed: errors, library, schemas)")

    def test_missing_errors(self):
        full = _support.library_text()
        text = full[: full.index("\nerrors:\n") + 1]
        self.assertLibraryRejected(text, f"{self.lib}:{_line_index(text, 'library:')}: missing key `errors`")

    def test_missing_schemas(self):
        text = edit(_support.library_text(), f"schemas:\n  - {SHAPE}\n", "")
        self.assertLibraryRejected(text, f"{self.lib}:{_line_index(text, 'library:')}: missing key `schemas`")

    def test_schema_file_name_not_snake_case_yaml(self):
        for name in ("KvPageTableV1.yaml", "kv_page_table_v1.yml", "sub/kv_page_table_v1.yaml", "kv-page.yaml"):
            with self.subTest(name=name):
                text = _support.library_text([SHAPE, name])
                self.assertLibraryRejected(
                    text, f"{self.lib}:{line_of(text, '  - ' + name)}: schemas[1]: {name!r} is not a schema file "
                          "name: a snake_case name ending in `.yaml`, in the library document's folder "
                          "(e.g. `kv_page_table_v1.yaml`)")

    def test_listed_file_does_not_exist(self):
        text = _support.library_text([SHAPE, PAGE])
        self.assertLibraryRejected(
            text, f"{self.lib}:{line_of(text, '  - ' + PAGE)}: schemas[1]: `{PAGE}` does not exist next to the "
                  f"library document ({self.page})")

    def test_same_file_listed_twice(self):
        text = _support.library_text([SHAPE, SHAPE])
        self.assertLibraryRejected(
            text, f"{self.lib}:{_line_index(text, '  - ' + SHAPE, 2)}: schemas[1]: duplicate schema file `{SHAPE}` "
                  "(first at schemas[0])")

    def test_library_listing_itself(self):
        text = _support.library_text([SHAPE, "library.yaml"])
        self.assertLibraryRejected(
            text, f"{self.lib}:{line_of(text, '  - library.yaml')}: schemas[1]: the library document cannot list "
                  "itself")


class CheckedTogether(LibraryErrorTestCase):
    """The second schema listed is the one reported; the message points at the first definition too."""

    NAMESPACE = "the schemas of {lib} share the namespace `fib_quant_kv`"

    def test_same_enum_name(self):
        page = edit(PAGE_TABLE_SCHEMA, "  - name: KvPageLayout\n", "  - name: KvRole\n")
        page = edit(page, "type: KvPageLayout,", "type: KvRole,")
        shape_line = line_of(_support.schema_text(), "- name: KvRole")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, '- name: KvRole')}: enums[1].name: type name `KvRole` is already "
                  f"defined by {self.shape}:{shape_line} (enums[0].name); " + self.NAMESPACE.format(lib=self.lib))

    def test_struct_named_like_an_enum_of_the_other_schema(self):
        page = PAGE_TABLE_SCHEMA.replace("KvPageV1", "KvDType")
        shape_line = line_of(_support.schema_text(), "- name: KvDType")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, '- name: KvDType')}: structs[0].name: type name `KvDType` is already "
                  f"defined by {self.shape}:{shape_line} (enums[3].name); " + self.NAMESPACE.format(lib=self.lib))

    def test_enum_named_like_the_view_of_the_other_schemas_struct(self):
        # KvTensorShapeV1 brings the generated class KvTensorShapeV1View into the namespace too.
        page = PAGE_TABLE_SCHEMA.replace("KvPageLocation", "KvTensorShapeV1View")
        shape_line = line_of(_support.schema_text(), "- name: KvTensorShapeV1")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, '- name: KvTensorShapeV1View')}: enums[0].name: type name "
                  f"`KvTensorShapeV1View` is already defined by {self.shape}:{shape_line} (structs[0].name); "
                  + self.NAMESPACE.format(lib=self.lib))

    def test_same_schema_id(self):
        page = edit(PAGE_TABLE_SCHEMA, "  id: fib_quant_kv_page_table_v1\n", "  id: fib_quant_kv_tensor_shape_v1\n")
        shape_line = line_of(_support.schema_text(), "  id: fib_quant_kv_tensor_shape_v1")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, '  id: fib_quant_kv_tensor_shape_v1')}: schema.id: schema id "
                  f"`fib_quant_kv_tensor_shape_v1` is already defined by {self.shape}:{shape_line} (schema.id); "
                  "a schema id names one schema (it starts the domain tag of every digest)")

    def test_same_file_identifier(self):
        page = edit(PAGE_TABLE_SCHEMA, "file_identifier: FQPT", "file_identifier: FQKV")
        shape_line = line_of(_support.schema_text(), "file_identifier: FQKV")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, 'file_identifier: FQKV')}: flatbuffers.file_identifier: file "
                  f"identifier `FQKV` is already defined by {self.shape}:{shape_line} (flatbuffers.file_identifier); "
                  "a buffer's file identifier must say which schema's root table it holds")


class FlatBuffersRoot(LibraryErrorTestCase):
    def test_two_structs_and_no_root(self):
        page = edit(PAGE_TABLE_SCHEMA, "  root: KvPageTableV1\n", "")
        self.assertTogetherRejected(
            page, f"{self.page}:{_line_index(page, 'flatbuffers:')}: flatbuffers: 2 structs (KvPageV1, "
                  "KvPageTableV1): name the one a whole buffer holds with `root`")

    def test_root_naming_no_struct(self):
        page = edit(PAGE_TABLE_SCHEMA, "  root: KvPageTableV1\n", "  root: KvPageTable\n")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, 'root: KvPageTable')}: flatbuffers.root: `KvPageTable` is not a "
                  "struct of this schema (structs: KvPageV1, KvPageTableV1)")

    def test_root_naming_an_enum(self):
        page = edit(PAGE_TABLE_SCHEMA, "  root: KvPageTableV1\n", "  root: KvPageLayout\n")
        self.assertTogetherRejected(
            page, f"{self.page}:{line_of(page, 'root: KvPageLayout')}: flatbuffers.root: `KvPageLayout` is not a "
                  "struct of this schema (structs: KvPageV1, KvPageTableV1)")


if __name__ == "__main__":
    unittest.main()
