"""The schema checker (codegen/schema_model.py) rejects bad schemas with a precise SchemaError.

Every test starts from the real schema/kv_tensor_shape_v1.yaml text and applies exactly one small textual
edit, writes the result to a temp folder and checks that:
  * load() raises SchemaError reading `FILE:LINE: KEY.PATH: message` with the right file, line and key path;
  * `generate.py --out TMP BAD.yaml` exits 2, prints that message on stderr (nothing on stdout) and writes
    nothing.
Indices in key paths (rules[3], fields[9], enums[3]) are looked up in the real schema, so the tests follow
additions to it; an edit anchor that no longer matches the schema fails with a message saying so.
"""

from __future__ import annotations

import re
import unittest

import yaml

import _support
from _support import edit, line_of
from model import SchemaError
from _support import load_schema as load

_WHERE = re.compile(r"(?P<line>\d+): (?P<path>\S+): (?P<message>.*)", re.S)


class SchemaErrorTestCase(_support.TempDirTestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.text = _support.schema_text()
        cls.doc = yaml.safe_load(cls.text)
        cls.struct = cls.doc["structs"][0]

    # ---- indices in the real schema
    def rule_index(self, rule_id: str) -> int:
        ids = [r["id"] for r in self.struct["rules"]]
        self.assertIn(rule_id, ids, "the real schema no longer has this rule; update the test")
        return ids.index(rule_id)

    def field_index(self, name: str) -> int:
        names = [f["name"] for f in self.struct["fields"]]
        self.assertIn(name, names, "the real schema no longer has this field; update the test")
        return names.index(name)

    def enum_index(self, name: str) -> int:
        names = [e["name"] for e in self.doc["enums"]]
        self.assertIn(name, names, "the real schema no longer has this enum; update the test")
        return names.index(name)

    def derived_index(self, name: str) -> int:
        return [d["name"] for d in self.struct["derived"]].index(name)

    def check_index(self, name: str) -> int:
        return [c["name"] for c in self.struct["checks"]].index(name)

    # ---- assertions
    def load_error(self, text: str) -> tuple[str, str]:
        """(display name, message) of the SchemaError load() raises for `text`; the CLI is checked too."""
        schema = self.write_schema(text)
        display = schema.as_posix()  # generate.py names a schema outside the repository by the path it was given
        with self.assertRaises(SchemaError) as cm:
            load(schema, display)
        message = str(cm.exception)
        self.assertTrue(message.startswith(display + ":"), f"message does not start with the file name: {message!r}")
        self.assert_generate_rejects(self.library, message)
        return display, message

    def where(self, text: str) -> tuple[int, str, str]:
        """(line, key path, message) of the error load() reports for `text`."""
        display, message = self.load_error(text)
        m = _WHERE.fullmatch(message[len(display) + 1:])
        self.assertIsNotNone(m, f"message does not read FILE:LINE: KEY.PATH: text: {message!r}")
        return int(m["line"]), m["path"], m["message"]

    def assertRejected(self, text: str, *, line: int, path: str, says: str) -> None:
        got_line, got_path, got_message = self.where(text)
        self.assertEqual((got_line, got_path), (line, path), f"message: {got_message!r}")
        self.assertIn(says, got_message)


class Baseline(SchemaErrorTestCase):
    def test_real_schema_loads(self):
        schema = load(_support.SCHEMA, _support.SCHEMA_DISPLAY)
        self.assertEqual(schema.structs[0].name.text, "KvTensorShapeV1")

    def test_unedited_copy_loads(self):
        # The harness writes to a temp folder; an unedited copy must pass, so every failure below is the edit's.
        load(self.write_schema(self.text))


class UnknownKeys(SchemaErrorTestCase):
    def test_unknown_top_level_key(self):
        text = edit(self.text, "\nconstants:\n", "\nextras: 1\n\nconstants:\n")
        line, path, message = self.where(text)
        self.assertEqual(line, line_of(text, "extras: 1"))
        self.assertEqual(path.lstrip("."), "extras")
        self.assertIn("unknown key `extras`", message)

    def test_unknown_top_level_key_path_has_no_leading_dot(self):
        text = edit(self.text, "\nconstants:\n", "\nextras: 1\n\nconstants:\n")
        _, path, _ = self.where(text)
        self.assertEqual(path, "extras")

    def test_unknown_key_in_a_field(self):
        old = "{name: batch, type: u32, doc: Batch count.}"
        text = edit(self.text, old, "{name: batch, type: u32, doc: Batch count., unit: items}")
        self.assertRejected(text, line=line_of(text, "unit: items"),
                            path=f"structs[0].fields[{self.field_index('batch')}].unit", says="unknown key `unit`")


class UnknownFieldInRule(SchemaErrorTestCase):
    def test_in_check(self):
        text = edit(self.text, "check: {eq: [query_heads, kv_heads]}", "check: {eq: [query_heads, kv_head]}")
        self.assertRejected(text, line=line_of(text, "[query_heads, kv_head]"),
                            path=f"structs[0].rules[{self.rule_index('mha.heads_equal')}].check.eq",
                            says="`kv_head` names no field")

    def test_in_when(self):
        text = edit(self.text, "when: {attention_kind: mha}", "when: {attention_kinds: mha}")
        self.assertRejected(text, line=line_of(text, "attention_kinds: mha"),
                            path=f"structs[0].rules[{self.rule_index('mha.heads_equal')}].when.attention_kinds",
                            says="`attention_kinds` is not a field")

    def test_in_for_each(self):
        text = edit(self.text, "for_each: [batch, layers, ", "for_each: [batch, layer, ")
        self.assertRejected(text, line=line_of(text, "for_each: [batch, layer, "),
                            path=f"structs[0].rules[{self.rule_index('{field}.nonzero')}].for_each[1]",
                            says="`layer` is not a field")

    def test_in_message_placeholder(self):
        old = "kv shape schema_version {schema_version}, expected"
        text = edit(self.text, old, "kv shape schema_version {schema_versio}, expected")
        self.assertRejected(text, line=line_of(text, "{schema_versio}"),
                            path=f"structs[0].rules[{self.rule_index('schema_version.matches')}].message",
                            says="`schema_versio` names no field")


class Duplicates(SchemaErrorTestCase):
    def test_duplicate_enum_code(self):
        text = edit(self.text, "{name: bf16, code: 1,", "{name: bf16, code: 0,")
        e = self.enum_index("KvDType")
        self.assertRejected(text, line=line_of(text, "name: bf16"), path=f"enums[{e}].values[1]",
                            says=f"duplicate enum code `0` (first at enums[{e}].values[0])")

    def test_duplicate_enum_value_name(self):
        text = edit(self.text, "{name: bf16, code: 1,", "{name: f16, code: 1,")
        e = self.enum_index("KvDType")
        self.assertRejected(text, line=line_of(text, "{name: f16, code: 1,"), path=f"enums[{e}].values[1]",
                            says=f"duplicate enum value name `f16` (first at enums[{e}].values[0])")

    def test_duplicate_field(self):
        text = edit(self.text, "{name: layers, type: u32,", "{name: batch, type: u32,")
        i = self.field_index("layers")
        self.assertRejected(text, line=line_of(text, "doc: Layer count."), path=f"structs[0].fields[{i}]",
                            says=f"duplicate field name `batch` (first at structs[0].fields[{self.field_index('batch')}])")

    def test_duplicate_rule_id(self):
        text = edit(self.text, "id: mqa.single_kv_head", "id: mha.heads_equal")
        i = self.rule_index("mqa.single_kv_head")
        self.assertRejected(text, line=line_of(self.text, "id: mqa.single_kv_head"),
                            path=f"structs[0].rules[{i}].id",
                            says=f"duplicate rule id `mha.heads_equal` "
                                 f"(first at structs[0].rules[{self.rule_index('mha.heads_equal')}])")

    def test_duplicate_rule_id_with_a_for_each_expansion(self):
        # `tokens.nonzero` is one of the ids "{field}.nonzero" expands to.
        text = edit(self.text, "id: mha.heads_equal", "id: tokens.nonzero")
        self.assertRejected(text, line=line_of(text, "id: tokens.nonzero"),
                            path=f"structs[0].rules[{self.rule_index('mha.heads_equal')}].id",
                            says=f"duplicate rule id `tokens.nonzero` "
                                 f"(first at structs[0].rules[{self.rule_index('{field}.nonzero')}])")

    def test_duplicate_rule_id_within_one_for_each(self):
        text = edit(self.text, "for_each: [batch, layers, ", "for_each: [batch, batch, ")
        self.assertRejected(text, line=line_of(text, '"{field}.nonzero"'),
                            path=f"structs[0].rules[{self.rule_index('{field}.nonzero')}].id",
                            says="duplicate rule id `batch.nonzero`")

    def test_rule_ids_that_read_alike_in_code(self):
        # `mqa_single.kv_head` and `mqa.single_kv_head` both become mqa_single_kv_head in generated names.
        text = edit(self.text, "id: grouped.heads_divisible", "id: mqa_single.kv_head")
        i = self.rule_index("grouped.heads_divisible")
        self.assertRejected(text, line=line_of(text, "id: mqa_single.kv_head"), path=f"structs[0].rules[{i}].id",
                            says="rule id `mqa_single.kv_head` reads as `mqa_single_kv_head` in code")

    def test_a_message_of_two_lines(self):
        text = edit(self.text, "message: MHA requires query_heads == kv_heads",
                    'message: "MHA requires\\nquery_heads == kv_heads"')
        i = self.rule_index("mha.heads_equal")
        self.assertRejected(text, line=line_of(text, 'message: "MHA requires'), path=f"structs[0].rules[{i}].message",
                            says="a message is one line")

    def test_duplicate_yaml_key(self):
        text = edit(self.text, "  id: fib_quant_kv_tensor_shape_v1\n", "  id: fib_quant_kv_tensor_shape_v1\n  id: other\n")
        display, message = self.load_error(text)
        self.assertTrue(message.startswith(f"{display}:{line_of(text, 'id: other')}: "), message)
        self.assertIn("duplicate key `id`", message)

    def test_duplicate_yaml_key_names_its_key_path(self):
        text = edit(self.text, "  id: fib_quant_kv_tensor_shape_v1\n", "  id: fib_quant_kv_tensor_shape_v1\n  id: other\n")
        _, message = self.load_error(text)
        self.assertIn("schema.id", message)


class Conditions(SchemaErrorTestCase):
    def test_when_on_a_non_enum_field(self):
        text = edit(self.text, "when: {attention_kind: mha}", "when: {batch: mha}")
        self.assertRejected(text, line=line_of(text, "when: {batch: mha}"),
                            path=f"structs[0].rules[{self.rule_index('mha.heads_equal')}].when.batch",
                            says="`batch` is not an enum field (it is u32)")

    def test_when_with_a_value_not_in_the_enum(self):
        text = edit(self.text, "when: {attention_kind: mha}", "when: {attention_kind: mla}")
        self.assertRejected(text, line=line_of(text, "when: {attention_kind: mla}"),
                            path=f"structs[0].rules[{self.rule_index('mha.heads_equal')}].when.attention_kind",
                            says="`mla` is not a value of enum KvAttentionKind")

    def test_when_list_with_a_value_not_in_the_enum(self):
        text = edit(self.text, "when: {attention_kind: [gqa, mqa]}", "when: {attention_kind: [gqa, mqq]}")
        self.assertRejected(text, line=line_of(text, "[gqa, mqq]"),
                            path=f"structs[0].rules[{self.rule_index('grouped.heads_divisible')}].when.attention_kind",
                            says="`mqq` is not a value of enum KvAttentionKind")


class Checks(SchemaErrorTestCase):
    def test_in_with_a_value_not_in_the_enum(self):
        text = edit(self.text, "[rope_state, [pre_rope, post_rope]]", "[rope_state, [pre_rope, postrope]]")
        self.assertRejected(text, line=line_of(text, "[pre_rope, postrope]"),
                            path=f"structs[0].rules[{self.rule_index('key.rope_declared')}].check.in",
                            says="`postrope` is not a value of enum KvRopeState")

    def test_nonzero_on_a_string_field(self):
        text = edit(self.text, "check: {eq: [kv_heads, 1]}", "check: {nonzero: schema_version}")
        self.assertRejected(text, line=line_of(text, "{nonzero: schema_version}"),
                            path=f"structs[0].rules[{self.rule_index('mqa.single_kv_head')}].check.nonzero",
                            says="`nonzero` takes an unsigned operand, `schema_version` is string")

    def test_divisible_on_an_enum(self):
        text = edit(self.text, "{divisible: [query_heads, kv_heads]}", "{divisible: [query_heads, dtype]}")
        self.assertRejected(text, line=line_of(text, "[query_heads, dtype]"),
                            path=f"structs[0].rules[{self.rule_index('grouped.heads_divisible')}].check.divisible",
                            says="`divisible` takes unsigned integer operands")

    def test_eq_between_string_and_u32(self):
        text = edit(self.text, "{eq: [schema_version, schema_id]}", "{eq: [schema_version, batch]}")
        self.assertRejected(text, line=line_of(text, "{eq: [schema_version, batch]}"),
                            path=f"structs[0].rules[{self.rule_index('schema_version.matches')}].check.eq",
                            says="`eq` compares string with u32")

    def test_unknown_check_operator(self):
        text = edit(self.text, "check: {eq: [kv_heads, 1]}", "check: {equals: [kv_heads, 1]}")
        self.assertRejected(text, line=line_of(text, "{equals: [kv_heads, 1]}"),
                            path=f"structs[0].rules[{self.rule_index('mqa.single_kv_head')}].check.equals",
                            says="unknown check operator `equals`")


class ErrorKinds(SchemaErrorTestCase):
    _MHA_ERROR = "error: corrupt_payload\n        message: MHA requires"

    def test_undeclared_error_kind(self):
        text = edit(self.text, self._MHA_ERROR, self._MHA_ERROR.replace("corrupt_payload", "corrupted_payload"))
        self.assertRejected(text, line=line_of(text, "error: corrupted_payload"),
                            path=f"structs[0].rules[{self.rule_index('mha.heads_equal')}].error",
                            says="`corrupted_payload` is not a declared validation error")

    def test_parse_is_reserved_for_decoders(self):
        text = edit(self.text, self._MHA_ERROR, self._MHA_ERROR.replace("corrupt_payload", "parse"))
        line, path, message = self.where(text)
        self.assertEqual((line, path), (line_of(text, "error: parse"),
                                        f"structs[0].rules[{self.rule_index('mha.heads_equal')}].error"))
        self.assertIn("`parse` is not a declared validation error", message)
        self.assertNotIn("parse", message.split("error", 1)[1], "the list of valid kinds must not offer `parse`")


class Details(SchemaErrorTestCase):
    _DETAILS = "details: {ambient_dim: head_dim, block_dim: block_dim}"

    def rule_path(self) -> str:
        return f"structs[0].checks[{self.check_index('block_dim')}].rules[0]"

    def test_details_missing(self):
        text = edit(self.text, "            " + self._DETAILS + "\n", "")
        self.assertRejected(text, line=line_of(text, "id: head_dim.block_divisible"), path=f"{self.rule_path()}.details",
                            says="error `dimension_not_divisible` needs detail `ambient_dim`")

    def test_one_detail_missing(self):
        text = edit(self.text, self._DETAILS, "details: {ambient_dim: head_dim}")
        self.assertRejected(text, line=line_of(text, "details: {ambient_dim: head_dim}"),
                            path=f"{self.rule_path()}.details",
                            says="error `dimension_not_divisible` needs detail `block_dim`")

    def test_extra_detail(self):
        text = edit(self.text, self._DETAILS, "details: {ambient_dim: head_dim, block_dim: block_dim, extra_dim: 1}")
        self.assertRejected(text, line=line_of(text, "extra_dim: 1"), path=f"{self.rule_path()}.details.extra_dim",
                            says="error `dimension_not_divisible` has no detail `extra_dim`")

    def test_details_on_an_error_kind_without_details(self):
        old = "check: {eq: [kv_heads, 1]}\n"
        text = edit(self.text, old, old + "        details: {ambient_dim: kv_heads}\n")
        self.assertRejected(text, line=line_of(text, "details: {ambient_dim: kv_heads}"),
                            path=f"structs[0].rules[{self.rule_index('mqa.single_kv_head')}].details.ambient_dim",
                            says="error `corrupt_payload` has no detail `ambient_dim`")


class Derived(SchemaErrorTestCase):
    _VECTOR_COUNT = "product: [batch, layers, kv_heads, tokens]\n        overflow: size_overflow"

    def test_product_naming_a_string_field(self):
        text = edit(self.text, "product: [batch, layers, kv_heads, tokens]",
                    "product: [batch, schema_version, kv_heads, tokens]")
        self.assertRejected(text, line=line_of(text, "[batch, schema_version, kv_heads, tokens]"),
                            path=f"structs[0].derived[{self.derived_index('vector_count')}].product[1]",
                            says="`schema_version` is not an unsigned field")

    def _overflow_edit(self, rule_id: str) -> str:
        return edit(self.text, self._VECTOR_COUNT, self._VECTOR_COUNT.replace("size_overflow", rule_id))

    def test_overflow_naming_a_rule_that_is_not_fits_u64(self):
        line, path, message = self.where(self._overflow_edit("mha.heads_equal"))
        self.assertEqual(path, "structs[0].derived[0].overflow")  # vector_count is the first derived quantity
        self.assertIn("`mha.heads_equal` is not a fits_u64 rule of this struct", message)
        self.assertGreater(line, 0)

    def test_overflow_naming_no_rule(self):
        _, path, message = self.where(self._overflow_edit("no_such_rule"))
        self.assertTrue(path.endswith(".overflow"), path)
        self.assertIn("`no_such_rule` is not a fits_u64 rule of this struct", message)

    def test_overflow_error_points_at_the_overflow_line(self):
        text = self._overflow_edit("mha.heads_equal")
        line, _, _ = self.where(text)
        self.assertEqual(line, line_of(text, "overflow: mha.heads_equal"))


class EnumAttributes(SchemaErrorTestCase):
    _F32 = "{name: f32, code: 2, doc: f32 source., byte_size: 4, torch_dtype: float32, numpy_dtype: float32, safetensors_dtype: F32, ggml_type: F32}"

    def test_enum_value_missing_a_declared_attribute(self):
        text = edit(self.text, self._F32, "{name: f32, code: 2, doc: f32 source., torch_dtype: float32, safetensors_dtype: F32}")
        e = self.enum_index("KvDType")
        self.assertRejected(text, line=line_of(text, "{name: f32, code: 2"), path=f"enums[{e}].values[2]",
                            says="missing attribute `byte_size`")

    def test_attribute_value_out_of_range(self):
        e = self.enum_index("KvDType")
        for bad in ("4294967296", "-1", "four"):
            with self.subTest(byte_size=bad):
                text = edit(self.text, self._F32, self._F32.replace("byte_size: 4", f"byte_size: {bad}"))
                self.assertRejected(text, line=line_of(text, "{name: f32, code: 2"),
                                    path=f"enums[{e}].values[2].byte_size", says="is not an integer in 0..4294967295")


class Types(SchemaErrorTestCase):
    def test_field_type_not_declared(self):
        text = edit(self.text, "type: KvDType, doc: Source dtype.", "type: KvDtype, doc: Source dtype.")
        self.assertRejected(text, line=line_of(text, "type: KvDtype"),
                            path=f"structs[0].fields[{self.field_index('dtype')}].type", says="unknown type `KvDtype`")

    def test_default_naming_an_undeclared_constant(self):
        text = edit(self.text, "default: schema_id,", "default: schema_ident,")
        self.assertRejected(text, line=line_of(text, "default: schema_ident"),
                            path=f"structs[0].fields[{self.field_index('schema_version')}].default",
                            says="`schema_ident` is not a declared constant")

    def test_default_of_the_wrong_type(self):
        text = edit(self.text, "{name: batch, type: u32, doc:", "{name: batch, type: u32, default: schema_id, doc:")
        self.assertRejected(text, line=line_of(text, "default: schema_id, doc: Batch"),
                            path=f"structs[0].fields[{self.field_index('batch')}].default",
                            says="constant `schema_id` is string, the field is u32")


class Documents(SchemaErrorTestCase):
    def test_empty_document(self):
        for text in ("", "\n", "# only a comment\n"):
            with self.subTest(text=text):
                display, message = self.load_error(text)
                self.assertEqual(message, f"{display}:1: the document is empty")

    def test_schema_with_only_its_comments(self):
        # The user deleted everything below the header comment.
        text = self.text[: self.text.index("\nschema:\n") + 1]
        display, message = self.load_error(text)
        self.assertIn("empty", message)

    def test_invalid_yaml(self):
        text = edit(self.text, "  id: fib_quant_kv_tensor_shape_v1\n", "  id: fib_quant_kv_tensor_shape_v1: x\n")
        display, message = self.load_error(text)
        self.assertIn("not valid YAML", message)
        self.assertIn(f"line {line_of(text, 'id: fib_quant_kv_tensor_shape_v1: x')}", message)

    def test_unclosed_flow_mapping(self):
        text = edit(self.text, "{name: batch, type: u32, doc: Batch count.}", "{name: batch, type: u32, doc: Batch count.")
        _, message = self.load_error(text)
        self.assertIn("not valid YAML", message)
        self.assertRegex(message, r"line \d+")


class ShapesThatWouldNotCompile(SchemaErrorTestCase):
    """Schemas the checker rejects because what they would render could not compile or would mislead."""

    def test_non_mapping_list_entry_names_its_line(self):
        text = edit(self.text, "- {name: batch, type: u32, doc: Batch count.}", "- batch")
        self.assertRejected(text, line=line_of(text, "- batch"),
                            path=f"structs[0].fields[{self.field_index('batch')}]", says="expected a mapping")

    def test_field_named_with_a_cpp_keyword(self):
        old = "{name: rope_state, type: KvRopeState,"
        text = edit(self.text, old, "{name: default, type: u32, doc: x.}\n      - " + old)
        self.where(text)

    def test_a_reserved_name_says_which_target_reserves_it(self):
        # Each target (codegen/targets/) reserves its own words; the message names the one that refuses.
        old = "{name: rope_state, type: KvRopeState,"
        for name, why in (("default", "a C++ keyword"), ("lambda", "a Python keyword"),
                          ("table", "a name the generated C++ uses itself"),
                          ("digest", "a name the generated Python classes use themselves")):
            with self.subTest(name):
                text = edit(self.text, old, "{name: " + name + ", type: u32, doc: x.}\n      - " + old)
                _line, _path, message = self.where(text)
                self.assertEqual(message, f"`{name}` is reserved: {why}")

    def test_names_the_generated_code_no_longer_takes_from_fields(self):
        # Once reserved for the generated code's own locals and parameters; now fields may have them (the
        # two-schema build compiles and runs a field named `index`).
        old = "{name: rope_state, type: KvRopeState,"
        for name in ("shape", "view", "index", "json", "out", "builder", "field", "variant", "number"):
            with self.subTest(name):
                load(self.write_schema(edit(self.text, old, "{name: " + name + ", type: u32, doc: x.}\n      - " + old)))

    def test_check_parameter_named_like_a_generated_parameter(self):
        text = self.text
        for old, new in (("- {name: block_dim, type: u32, doc: Block", "- {name: shape, type: u32, doc: Block"),
                         ("{divisible: [head_dim, block_dim]}", "{divisible: [head_dim, shape]}"),
                         ("block_dim: block_dim}", "block_dim: shape}"),
                         ("by block_dim {block_dim}", "by block_dim {shape}")):
            text = edit(text, old, new)
        _line, path, message = self.where(text)
        self.assertTrue(path.endswith(".params[0].name"), path)
        self.assertEqual(message, "`shape` is reserved for a parameter: the generated validate_<check>() calls the "
                                  "descriptor `shape`")


class StringAttributesAndTensors(SchemaErrorTestCase):
    """String enum attributes (optional ones too) and the `tensor` block the bindings' check_tensor reads."""

    _TORCH = "torch_dtype: {type: string, doc:"

    def test_only_a_string_attribute_may_be_optional(self):
        text = edit(self.text, "byte_size: {type: u32, doc:", "byte_size: {type: u32, optional: true, doc:")
        e = self.enum_index("KvDType")
        self.assertRejected(text, line=line_of(text, "byte_size: {type: u32, optional"),
                            path=f"enums[{e}].attributes.byte_size.optional",
                            says="only a string attribute may be optional")

    def test_a_required_string_attribute_must_be_given(self):
        text = edit(self.text, "byte_size: 2, torch_dtype: bfloat16, safetensors_dtype", "byte_size: 2, safetensors_dtype")
        e = self.enum_index("KvDType")
        self.assertRejected(text, line=line_of(text, "{name: bf16, code: 1"), path=f"enums[{e}].values[1]",
                            says="missing attribute `torch_dtype`")

    def test_a_string_attribute_takes_text(self):
        text = edit(self.text, "torch_dtype: bfloat16,", "torch_dtype: 16,")
        e = self.enum_index("KvDType")
        self.assertRejected(text, line=line_of(text, "{name: bf16, code: 1"),
                            path=f"enums[{e}].values[1].torch_dtype", says="expected")

    def test_tensor_shape_must_be_a_derived_product(self):
        text = edit(self.text, "shape: element_count", "shape: elements")
        self.assertRejected(text, line=line_of(text, "shape: elements"), path="structs[0].tensor.shape",
                            says="`elements` is not a derived product of this struct")

    def test_tensor_shape_factors_must_be_fields(self):
        # byte_size multiplies in an enum attribute: not a dimension of the tensor.
        text = edit(self.text, "shape: element_count", "shape: byte_size")
        self.assertRejected(text, line=line_of(text, "shape: byte_size"), path="structs[0].tensor.shape",
                            says="has factors that are not fields")

    def test_tensor_dtype_must_be_an_enum_field(self):
        text = edit(self.text, "      dtype: dtype\n", "      dtype: batch\n")
        self.assertRejected(text, line=line_of(text, "dtype: batch"), path="structs[0].tensor.dtype",
                            says="`batch` is not an enum field of this struct")

    def test_tensor_dtype_names_must_be_string_attributes(self):
        for old, new, framework in (("torch: torch_dtype", "torch: byte_size", "torch"),
                                    ("numpy: numpy_dtype", "numpy: nothing", "numpy")):
            with self.subTest(framework):
                text = edit(self.text, old, new)
                _line, path, message = self.where(text)
                self.assertEqual(path, f"structs[0].tensor.dtype_names.{framework}")
                self.assertIn("is not a string attribute of enum KvDType", message)

    def test_tensor_dtype_names_know_their_frameworks(self):
        text = edit(self.text, "dtype_names: {torch: torch_dtype,", "dtype_names: {jax: torch_dtype,")
        _line, path, message = self.where(text)
        self.assertEqual(path, "structs[0].tensor.dtype_names.jax")
        self.assertIn("unknown key `jax`", message)

    def test_tensor_element_bytes_must_be_an_integer_attribute(self):
        text = edit(self.text, "element_bytes: byte_size", "element_bytes: torch_dtype")
        self.assertRejected(text, line=line_of(text, "element_bytes: torch_dtype"),
                            path="structs[0].tensor.element_bytes",
                            says="`torch_dtype` is not an integer attribute of enum KvDType")


if __name__ == "__main__":
    unittest.main()
