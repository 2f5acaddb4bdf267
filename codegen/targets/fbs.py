"""The FlatBuffers schema target: how model types are spelled in a .fbs file."""

from __future__ import annotations

from model import TypeRef

_UINT = {"u8": "ubyte", "u16": "ushort", "u32": "uint", "u64": "ulong"}


def type(t: TypeRef) -> str:  # noqa: A001 (the templates read it as fbs.type)
    """The FlatBuffers schema type of a field."""
    if t.is_enum:
        return t.enum.name.pascal
    if t.is_string:
        return "string"
    return _UINT[t.name]


def underlying(e) -> str:
    """An enum's underlying type in the schema."""
    return _UINT[e.code_type]


def field_type(f) -> str:
    """The FlatBuffers schema type of a composite struct's field: a vector `[T]` for arrays (of unsigned
    integers, of enums or of tables), a table for a nested struct, else as type()."""
    t = f.type.struct.name.pascal if f.type.is_struct else type(f.type)
    return f"[{t}]" if f.is_array else t


def null_default(f) -> str:
    """` = null` for a scalar or enum field (required or optional): a field left out reads as absent, never as 0
    or as the enum's first value. Vectors, strings and tables are absent when their offset is, so have none."""
    if f.is_array or f.type.is_struct or f.type.is_string:
        return ""
    return " = null"
