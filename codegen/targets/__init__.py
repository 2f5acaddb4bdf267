"""One module per output language: its spellings, operators, literals and reserved words. The model
(codegen/model.py) is language-neutral."""

from __future__ import annotations

from . import cmake, cpp, fbs, python

ALL = (cpp, python)  # the targets whose reserved words a schema must avoid (fbs and cmake name nothing of their own)


def reserved(name: object) -> str | None:
    """Why some target cannot take `name` as an identifier, or None when every target can."""
    if not isinstance(name, str):
        return None
    for target in ALL:
        if (why := target.reserved(name)) is not None:
            return why
    return None


def reserved_parameter(name: str) -> str | None:
    """Why some target cannot take `name` for a named check's parameter (it sits next to the generated function's
    own parameters), or None."""
    for target in ALL:
        if (why := getattr(target, "reserved_parameter", lambda _n: None)(name)) is not None:
            return why
    return None
