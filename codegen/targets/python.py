"""The Python target: spellings for the Python module (its pybind11 sources are C++ and also use the C++
target; this module says how things are named and typed on the Python side) and Python's reserved words."""

from __future__ import annotations

import keyword

from model import TypeRef

KEYWORDS = frozenset(keyword.kwlist)  # soft keywords (match, case, _) are valid identifiers
# Names the generated classes give their own members: a field, derived count or enum value of the same name
# would hide one of them. The enums are enum.IntEnum classes: Python refuses a member named `mro`.
GENERATED_NAMES = frozenset("""
    validate validate_all to_json from_json digest to_flatbuffer from_flatbuffer tensor_shape check_tensor
    replace code wire_name from_code from_wire_name mro compat upgrade stored_tensors
""".split())


def handwritten(schema) -> bool:
    """A schema with counts computed by handwritten C++ (`derived[].native`) has a handwritten Python half too:
    src/python/{stem}.cpp defines bind_{stem}_handwritten(), which its generated binding calls last."""
    return any(d.native for st in schema.structs for d in st.derived)


def reserved(name: str) -> str | None:
    """Why the Python target cannot take `name`, or None when it can."""
    if name in KEYWORDS:
        return "a Python keyword"
    if name in GENERATED_NAMES:
        return "a name the generated Python classes use themselves"
    return None


def type(t: TypeRef) -> str:  # noqa: A001 (the templates read it as python.type)
    """The Python type of a field, parameter or attribute, as a stub writes it."""
    if t.is_struct:
        return t.struct.name.pascal
    if t.is_enum:
        return t.enum.name.pascal
    return "str" if t.is_string else "int"


def constant(c) -> str:
    """A schema constant's module-level name, prefixed with its schema's stem: `KV_TENSOR_SHAPE_V1_SCHEMA_ID`."""
    return f"{c.scope.upper}_{c.name.upper}"


def literal(t: TypeRef, value) -> str:
    """A Python literal for a constant's value."""
    return repr(value)


def docstring(text: str, indent: str = "") -> str:
    """A triple-quoted docstring for `text` (escaping what would end or break it)."""
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body += " "
    return f'{indent}"""{body}"""'


def field_type(f) -> str:
    """A composite struct's field as its property returns it: `list[int]`, `KvStorage`, `int | None`."""
    t = type(f.type)
    if f.is_array:
        t = f"list[{t}]"
    return t + (" | None" if f.optional else "")


def argument_type(f) -> str:
    """What its constructor takes for it: enums also by wire name, arrays as any list or tuple."""
    t = type(f.type) + (" | str" if f.type.is_enum else "")
    if f.is_array:
        t = f"Sequence[{t}]"
    return t + (" | None = None" if f.optional else "")
