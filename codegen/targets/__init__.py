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
