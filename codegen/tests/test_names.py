"""codegen/names.py: parsing identifiers into words and rendering every spelling the templates use."""

from __future__ import annotations

import unittest

import _support  # noqa: F401  (puts codegen/ on sys.path)
from names import Name


class SnakeNames(unittest.TestCase):
    def test_words_and_spellings(self):
        n = Name("pre_rope")
        self.assertEqual(n.words, ["pre", "rope"])
        self.assertEqual(n.text, "pre_rope")
        self.assertEqual(str(n), "pre_rope")
        self.assertEqual(n.snake, "pre_rope")
        self.assertEqual(n.pascal, "PreRope")
        self.assertEqual(n.upper, "PRE_ROPE")
        self.assertEqual(n.constant, "kPreRope")

    def test_single_word(self):
        n = Name("batch")
        self.assertEqual(n.words, ["batch"])
        self.assertEqual((n.snake, n.pascal, n.upper, n.constant), ("batch", "Batch", "BATCH", "kBatch"))

    def test_digits_stay_in_their_word(self):
        n = Name("kv_tensor_shape_v1")
        self.assertEqual(n.words, ["kv", "tensor", "shape", "v1"])
        self.assertEqual(n.pascal, "KvTensorShapeV1")
        self.assertEqual(n.upper, "KV_TENSOR_SHAPE_V1")
        self.assertEqual(Name("f16").pascal, "F16")
        self.assertEqual(Name("bf16").constant, "kBf16")

    def test_constant(self):
        self.assertEqual(Name("schema_id").constant, "kSchemaId")
        self.assertEqual(Name("block_dim").constant, "kBlockDim")

    def test_is_snake(self):
        for good in ("pre_rope", "a", "v1", "kv_tensor_shape_v1", "a_1"):
            with self.subTest(text=good):
                self.assertTrue(Name.is_snake(good))
        for bad in ("PreRope", "pre__rope", "_pre", "pre_", "pre-rope", "1x", "", "pre rope", None, 3):
            with self.subTest(text=bad):
                self.assertFalse(Name.is_snake(bad))


class PascalNames(unittest.TestCase):
    def test_struct_name(self):
        n = Name("KvTensorShapeV1")
        self.assertEqual(n.words, ["kv", "tensor", "shape", "v1"])
        self.assertEqual(n.snake, "kv_tensor_shape_v1")
        self.assertEqual(n.pascal, "KvTensorShapeV1")
        self.assertEqual(n.upper, "KV_TENSOR_SHAPE_V1")
        self.assertEqual(n.constant, "kKvTensorShapeV1")

    def test_lone_capital_joins_the_next_chunk(self):
        n = Name("KvDType")
        self.assertEqual(n.words, ["kv", "dtype"])
        self.assertEqual(n.snake, "kv_dtype")
        # The schema's own Pascal spelling is kept as written, not rebuilt from the words ("KvDtype").
        self.assertEqual(n.pascal, "KvDType")
        self.assertEqual(n.upper, "KV_DTYPE")

    def test_enum_names_of_the_schema(self):
        self.assertEqual(Name("KvRole").snake, "kv_role")
        self.assertEqual(Name("KvRole").pascal, "KvRole")
        self.assertEqual(Name("KvRopeState").snake, "kv_rope_state")
        self.assertEqual(Name("KvAttentionKind").snake, "kv_attention_kind")

    def test_is_pascal(self):
        for good in ("KvRole", "KvDType", "KvTensorShapeV1", "A"):
            with self.subTest(text=good):
                self.assertTrue(Name.is_pascal(good))
        for bad in ("kvRole", "Kv_Role", "kv_role", "1Kv", "", None):
            with self.subTest(text=bad):
                self.assertFalse(Name.is_pascal(bad))


class Identity(unittest.TestCase):
    def test_equal_by_words_whatever_the_spelling(self):
        self.assertEqual(Name("KvRole"), Name("kv_role"))
        self.assertEqual(hash(Name("KvRole")), hash(Name("kv_role")))
        self.assertEqual(Name("KvDType"), Name("kv_dtype"))
        self.assertNotEqual(Name("pre_rope"), Name("post_rope"))
        self.assertNotEqual(Name("batch"), "batch")

    def test_snake_pascal_round_trip(self):
        for text in ("pre_rope", "kv_tensor_shape_v1", "schema_id", "kv_role"):
            with self.subTest(text=text):
                self.assertEqual(Name(Name(text).pascal).snake, text)

    def test_repr(self):
        self.assertEqual(repr(Name("pre_rope")), "Name('pre_rope')")


class Rejected(unittest.TestCase):
    def test_bad_names_raise_value_error(self):
        for bad in ("Bad_Name", "1x", "", "a__b", "_a", "a_", "kvRole", "kv-role", "kv role", "Kv Role", "é"):
            with self.subTest(text=bad):
                with self.assertRaises(ValueError) as cm:
                    Name(bad)
                self.assertIn(repr(bad), str(cm.exception))


if __name__ == "__main__":
    unittest.main()
