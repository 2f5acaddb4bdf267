"""The Markdown target: the reference document's spellings, for templates/docs/.

Text from the schema goes into table cells, so `text()` escapes what Markdown (CommonMark with GitHub's
tables) would read as markup or as a cell border; `code()` writes a code span, in which only the cell border
needs escaping. Checks and conditions are written as short readable expressions of code spans.
"""

from __future__ import annotations

import re

from model import Check, Condition, Derived, Operand, TypeRef

_MARKUP = re.compile(r"([\\`*_\[\]<>|#~])")


def text(s: str) -> str:
    """Prose for a table cell or a paragraph: markup characters backslash-escaped, on one line."""
    return _MARKUP.sub(r"\\\1", " ".join(str(s).split()))


def code(s: object) -> str:
    """A code span (in a table cell: GitHub reads `\\|` in it as `|`); longer fences when `s` holds backticks."""
    s = " ".join(str(s).split()).replace("|", "\\|")
    fence = "`"
    while fence in s:
        fence += "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def type(t: TypeRef) -> str:  # noqa: A001 (the templates read it as markdown.type)
    """A field's type: `u32`, `string`, or a link to the enum's section."""
    if t.is_enum:
        return f"[{t.enum.name.pascal}](#{anchor(t.enum.name.pascal)})"
    return code(t.name)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading made of one identifier."""
    return heading.lower()


def operand(op: Operand) -> str:
    if op.kind == "literal":
        return code(op.value)
    if op.kind == "attr":
        return code(f"{op.field.name.snake}.{op.attr.name.snake}")
    if op.kind == "const":
        return code(op.const.name.snake) + f" ({code(op.const.value)})"
    return code(op.name.snake)


def product(d: Derived) -> str:
    return " × ".join(operand(f) for f in d.factors)


def _values(vals) -> str:
    return ", ".join(code(v.name.snake) for v in vals)


def check(c: Check) -> str:
    """The check as a readable expression that holds for a valid descriptor."""
    ops = [operand(o) for o in c.operands]
    if c.op == "eq":
        return f"{ops[0]} = {ops[1]}"
    if c.op == "nonzero":
        return f"{ops[0]} ≠ 0"
    if c.op == "divisible":
        return f"{ops[1]} ≠ 0 and {ops[0]} is a multiple of {ops[1]}"
    if c.op == "in":
        return f"{ops[0]} is one of {_values(c.values)}" if len(c.values) > 1 else f"{ops[0]} is {_values(c.values)}"
    if c.op == "known":
        return f"{ops[0]} is a value of {c.operands[0].type.enum.name.pascal}"
    if c.op == "fits_u64":
        return f"{ops[0]} = {' × '.join(operand(leaf) for leaf in c.operands[0].leaf_operands())} fits in 64 bits"
    raise AssertionError(c.op)


def condition(conds: list[Condition]) -> str:
    """When a rule applies: every condition holds ("always" for an unconditional rule)."""
    if not conds:
        return "always"
    parts = []
    for c in conds:
        parts.append(f"{code(c.field.name.snake)} is {_values(c.values)}" if len(c.values) == 1
                     else f"{code(c.field.name.snake)} is one of {_values(c.values)}")
    return " and ".join(parts)
