"""The composite schema language (schema/kv_cache_spec_v2.yaml): what the checker refuses, and what a composite
schema renders.

Each rejection starts from the real v2 document, applies one textual edit, and checks the message
`generate.py` prints (file, line, key path) and that it wrote nothing. The rendering checks look at the
generated text: the flat outputs are not rendered for a composite schema, the composite ones are, v1's enums are
used by reference, and each rule is one block of code with its id.
"""

from __future__ import annotations

import unittest

import _support
from _support import edit, line_of

V1 = "kv_tensor_shape_v1.yaml"
V2 = "kv_cache_spec_v2.yaml"


def v2_text() -> str:
    return (_support.LIBRARY.parent / V2).read_text(encoding="utf-8")


class CompositeRejections(_support.TempDirTestCase):
    def rejects(self, text: str, line_needle: str, path: str, message: str) -> None:
        self.write_schema(_support.schema_text(), V1)
        written = self.write_schema(text, V2)
        line = line_of(text, line_needle)
        self.assert_generate_rejects(self.library, f"{written.as_posix()}:{line}: {path}: {message}")

    def test_import_of_a_schema_not_listed_before(self):
        text = edit(v2_text(), "imports:\n  - kv_tensor_shape_v1.yaml\n", "imports:\n  - kv_page_table_v1.yaml\n")
        self.rejects(text, "  - kv_page_table_v1.yaml", "imports[0]",
                     "'kv_page_table_v1.yaml' is not a schema listed before this one in the library document "
                     "(kv_tensor_shape_v1.yaml)")

    def test_an_enum_used_without_its_import(self):
        text = edit(v2_text(), "imports:\n  - kv_tensor_shape_v1.yaml\n", "")
        self.rejects(text, "{name: rope_state, type: KvRopeState, doc: Whether keys", "structs[0].fields[10].type",
                     "unknown type `KvRopeState` (scalars: string, u16, u32, u64, u8; enums: KvLayerAttention, "
                     "KvDim, KvPacking, KvValueLayout, KvQuantScheme, KvScaleGranularity; structs declared above: "
                     "none)")

    def test_optional_field_with_a_default(self):
        text = edit(v2_text(), "{name: window, type: u32, optional: true,",
                    "{name: window, type: u32, optional: true, default: max_groups,")
        self.rejects(text, "{name: window, type: u32", "structs[0].fields[2].default",
                     "optional fields and arrays have no default")

    def test_an_optional_array(self):
        text = edit(v2_text(), "{name: dim_order, type: KvDim, max_items: 7,",
                    "{name: dim_order, type: KvDim, max_items: 7, optional: true,")
        self.rejects(text, "{name: dim_order, type: KvDim", "structs[1].fields[0].optional",
                     "an array is not optional: it may be empty")

    def test_a_path_through_a_field_that_is_not_there(self):
        text = edit(v2_text(), 'check: {divisible: ["groups[].key_head_dim", quant.group_size]}',
                    'check: {divisible: ["groups[].key_dim", quant.group_size]}')
        self.rejects(text, '"groups[].key_dim"', "structs[3].rules[7].check.divisible",
                     "`groups[].key_dim`: `key_dim` is not a field here")

    def test_an_array_step_without_brackets(self):
        text = edit(v2_text(), 'check: {divisible: ["groups[].key_head_dim", quant.group_size]}',
                    'check: {divisible: ["groups.key_head_dim", quant.group_size]}')
        self.rejects(text, '"groups.key_head_dim"', "structs[3].rules[7].check.divisible",
                     "`groups.key_head_dim`: `groups` is an array: write `groups[]`")

    def test_present_on_a_required_field(self):
        text = edit(v2_text(), "check: {present: window}", "check: {present: kv_heads}")
        self.rejects(text, "check: {present: kv_heads}", "structs[0].rules[3].check.present",
                     "`present` applies to optional fields, `kv_heads` is not one")

    def test_partition_of_a_scalar(self):
        text = edit(v2_text(), 'check: {partition: ["groups[].layers", layers]}',
                    'check: {partition: ["groups[].kv_heads", layers]}')
        self.rejects(text, '"groups[].kv_heads", layers', "structs[3].rules[4].check.partition",
                     "`partition` takes the path of an array of integers inside an array (`groups[].layers`), "
                     "`groups[].kv_heads` is not one")

    def test_unknown_operator_lists_the_vocabulary(self):
        text = edit(v2_text(), "check: {distinct: layers}", "check: {unique: layers}")
        self.rejects(text, "check: {unique: layers}", "structs[0].rules[2].check.unique",
                     "unknown check operator `unique` (known: eq, nonzero, divisible, in, known, fits_u64, "
                     "present, absent, count, distinct, contains, excludes, partition, le)")


class CompositeRendering(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from generate import REPO, load_all, render
        cls.files = render(*load_all(REPO / "schema" / "library.yaml"))

    def test_composite_outputs_only(self):
        self.assertIn("include/fib_quant_kv/kv_cache_spec_v2.hpp", self.files)
        self.assertIn("src/kv_cache_spec_v2.cpp", self.files)
        self.assertNotIn("src/kv_cache_spec_v2_json.cpp", self.files)  # flat schemas' JSON reader
        # the rules: templates over the struct, which the native struct and its FlatBuffers view both run
        self.assertIn("template <class Struct, class Sink>\nbool check_kv_layer_group(const Struct& s,",
                      self.files["src/kv_cache_spec_v2_rules.hpp"])
        # the FlatBuffers form: the composite .fbs (v1's enums included, not copied) and its C++
        fbs = self.files["fbs/kv_cache_spec_v2.fbs"]
        self.assertIn('include "kv_tensor_shape_v1.fbs";', fbs)
        self.assertNotIn("enum KvDType", fbs)
        self.assertIn("groups: [KvLayerGroup] (id: 4);", fbs)
        self.assertIn("dim_order: [KvDim] (id: 0);", fbs)
        self.assertIn("window: uint = null (id: 2);", fbs)
        self.assertIn("scale_dtype: KvDType = null (id: 4);", fbs)
        self.assertIn('file_identifier "FQK2";', fbs)
        self.assertIn("root_type KvCacheSpecV2;", fbs)
        self.assertIn("include/fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp", self.files)
        self.assertIn("src/kv_cache_spec_v2_flatbuffers.cpp", self.files)
        # the zero-copy views: a view type for each struct that reads something in place, none for a struct of
        # scalars (KvQuantization is its own view)
        fb_header = self.files["include/fib_quant_kv/kv_cache_spec_v2_flatbuffers.hpp"]
        self.assertIn("struct KvCacheSpecV2View {", fb_header)
        self.assertIn("    TableVectorView<KvLayerGroupView> groups{};", fb_header)
        self.assertIn("    VectorView<std::uint32_t> layers{};", fb_header)
        self.assertIn("    VectorView<KvDim> dim_order{};", fb_header)
        self.assertIn("    std::string_view schema_version{};", fb_header)
        self.assertIn("    KvQuantization quant{};", fb_header)
        self.assertNotIn("struct KvQuantizationView", fb_header)
        # v1's outputs are there, as before
        self.assertIn("src/kv_tensor_shape_v1_rules.hpp", self.files)

    def test_imported_enums_are_used_not_copied(self):
        header = self.files["include/fib_quant_kv/kv_cache_spec_v2.hpp"]
        self.assertIn('#include "fib_quant_kv/kv_tensor_shape_v1.hpp"  // enums used by reference', header)
        self.assertNotIn("enum class KvDType", header)
        self.assertIn("KvDType dtype{};", header)
        self.assertIn("std::optional<KvDType> scale_dtype{};", header)
        self.assertIn("std::vector<KvLayerGroup> groups{};", header)

    def test_each_rule_is_a_block_with_its_id(self):
        source = self.files["src/kv_cache_spec_v2_rules.hpp"]
        self.assertIn("// group.mla.latent_width: ", source)
        self.assertIn('err.path = at.text("groups[].key_head_dim", i);', source)
        self.assertIn("for (std::size_t i = 0; i < s.groups.size(); ++i) {", source)
        self.assertTrue(source.splitlines()[0].startswith("// Generated by codegen/generate.py from "
                                                          "schema/kv_cache_spec_v2.yaml"))


if __name__ == "__main__":
    unittest.main()
