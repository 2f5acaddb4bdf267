"""The Python target. Today it only reserves Python's keywords, so that a schema stays usable from the Python
binding that will be generated from it; the binding's spellings will live here too."""

from __future__ import annotations

import keyword

KEYWORDS = frozenset(keyword.kwlist)  # soft keywords (match, case, _) are valid identifiers


def reserved(name: str) -> str | None:
    """Why the Python target cannot take `name`, or None when it can."""
    return "a Python keyword" if name in KEYWORDS else None
