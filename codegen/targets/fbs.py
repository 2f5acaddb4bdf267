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
