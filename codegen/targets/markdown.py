"""The Markdown target: the reference document's spellings, for templates/docs/.

Text from the schema goes into table cells, so `text()` escapes what Markdown (CommonMark with GitHub's
tables) would read as markup or as a cell border; `code()` writes a code span, in which only the cell border
needs escaping. Checks and conditions are written as short readable expressions of code spans.

A composite schema's operands are written as the schema writes them, paths included (`quant.group_size`,
`groups[].key_head_dim`: Operand.path_text); its nested structs link to their section, and an enum imported from
another schema links to that schema's reference document (`<stem>.md#<enum>`).
"""

from __future__ import annotations

import re

from model import Check, Condition, Derived, Field, Operand, Rule, Struct, TypeRef

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


def type(t: TypeRef, here: str = "") -> str:  # noqa: A001 (the templates read it as markdown.type)
    """A field's type: `u32`, `string`, or a link to the enum's or the nested struct's section; an enum of
    another schema than `here` (a stem) links to that schema's document."""
    if t.is_struct:
        return f"[{t.struct.name.pascal}](#{anchor(t.struct.name.pascal)})"
    if t.is_enum:
        page = f"{t.enum.owner}.md" if here and t.enum.owner and t.enum.owner != here else ""
        return f"[{t.enum.name.pascal}]({page}#{anchor(t.enum.name.pascal)})"
    return code(t.name)


def field_type(f: Field, here: str = "") -> str:
    """A struct field's type cell: type(), an array as `[T; ≤N]`, an optional field marked so."""
    t = type(f.type, here)
    if f.is_array:
        return f"\\[{t}; ≤{f.max_items}\\]"
    if f.optional:
        return f"{t}, optional"
    return t


def link(target: str, heading: str) -> str:
    """A link to a section (`target` empty) or to a section of another document."""
    return f"[{heading}]({target}#{anchor(heading)})"


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading made of one identifier."""
    return heading.lower()


def operand(op: Operand) -> str:
    if op.kind == "literal":
        return code(op.value)
    if op.kind == "add":
        return " + ".join(operand(t) for t in op.terms)
    if op.kind in ("field", "attr") and op.steps:  # a composite schema's operand: its path
        return code(op.path_text)
    if op.kind == "attr":
        return code(f"{op.field.name.snake}.{op.attr.name.snake}")
    if op.kind == "const":
        return code(op.const.name.snake) + f" ({code(op.const.value)})"
    return code(op.name.snake)


def product(d: Derived) -> str:
    return " × ".join(operand(f) for f in d.factors)


def derived(d: Derived) -> str:
    """How a derived count is computed: its product, or that handwritten code computes it."""
    return "computed by handwritten code, overflow-checked" if d.native else product(d)


def _values(vals) -> str:
    return ", ".join(code(v.name.snake) for v in vals)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check(c: Check, composite: bool = False) -> str:
    """The check as a readable expression that holds for a valid descriptor. `composite`: the check as the
    composite runtime runs it (a divisor of 0 divides everything; a rule on an absent optional field does not
    apply, which the rules' introduction says once)."""
    ops = [operand(o) for o in c.operands]
    if c.op == "eq":
        return f"{ops[0]} = {ops[1]}"
    if c.op == "nonzero":
        return f"{ops[0]} ≠ 0"
    if c.op == "divisible":
        if composite:
            return f"{ops[0]} is a multiple of {ops[1]}, or {ops[1]} = 0"
        return f"{ops[1]} ≠ 0 and {ops[0]} is a multiple of {ops[1]}"
    if c.op == "le":
        return f"{ops[0]} ≤ {ops[1]}"
    if c.op == "in":
        return f"{ops[0]} is one of {_values(c.values)}" if len(c.values) > 1 else f"{ops[0]} is {_values(c.values)}"
    if c.op == "known":
        every = "every item of " if c.operands[0].kind == "field" and c.operands[0].field.is_array else ""
        return f"{every}{ops[0]} is a value of {c.operands[0].type.enum.name.pascal}"
    if c.op == "present":
        return f"{ops[0]} is present"
    if c.op == "absent":
        return f"{ops[0]} is absent"
    if c.op == "count":
        return f"{ops[0]} holds {ops[1]} to {ops[2]} items"
    if c.op == "distinct":
        return f"no two items of {ops[0]} are equal"
    if c.op == "contains":
        return f"{ops[0]} holds {_and([code(v.name.snake) for v in c.values])}"
    if c.op == "excludes":
        return f"{ops[0]} holds none of {_values(c.values)}"
    if c.op == "partition":
        return f"{ops[0]}, over every item, hold each of 0 to {ops[1]} − 1 exactly once"
    if c.op == "fits_u64":
        d = c.operands[0].derived
        if d.native:
            return f"{ops[0]} (computed by handwritten code) fits in 64 bits"
        return f"{ops[0]} = {' × '.join(operand(leaf) for leaf in c.operands[0].leaf_operands())} fits in 64 bits"
    raise AssertionError(c.op)


def condition(conds: list[Condition]) -> str:
    """When a rule applies: every condition holds ("always" for an unconditional rule)."""
    if not conds:
        return "always"
    parts = []
    for c in conds:
        subject = code(c.operand.path_text if c.operand is not None and c.operand.steps else c.field.name.snake)
        if c.test == "zero":
            parts.append(f"{subject} = 0")
        elif c.test == "nonzero":
            parts.append(f"{subject} ≠ 0")
        else:
            parts.append(f"{subject} is {_values(c.values)}" if len(c.values) == 1
                         else f"{subject} is one of {_values(c.values)}")
    return " and ".join(parts)


def details(r: Rule) -> str:
    """The error details a rule fills, `name` = operand."""
    return ", ".join(f"{code(name.snake)} = {operand(op)}" for name, op in r.details)


def validation_order(root: Struct) -> list[str]:
    """What validate() of `root` runs, in order, as the lines of a nested Markdown list: a struct's own rules, then
    each struct it holds, field by field (an array's items in order), its rules and its nested structs in turn.
    The prefix is what the path of an error from there starts with."""
    lines: list[str] = []

    def walk(st: Struct, prefix: str, depth: int) -> None:
        for f in st.fields:
            if not f.type.is_struct:
                continue
            inner = f.type.struct
            if f.is_array:
                here, label = f"{prefix}{f.name.text}[i].", f"for each item of {code(prefix + f.name.text)}, in order"
            else:
                here, label = f"{prefix}{f.name.text}.", code(prefix + f.name.text)
            lines.append(f"{'   ' * depth}1. {label}: the rules of {link('', inner.name.pascal)} "
                         f"({len(inner.rules)}), errors at {code(here + '…')}")
            walk(inner, here, depth + 1)

    lines.append(f"1. the rules of {link('', root.name.pascal)} ({len(root.rules)})")
    walk(root, "", 0)
    return lines


def example_path(root: Struct) -> str:
    """An error path of the kind validate() reports inside a nested struct (`groups[2].window`), for the text."""
    for f in root.fields:
        if f.type.is_struct and f.type.struct.rules:
            inner = f.type.struct.rules[0].subject
            return f"{f.name.text}[2].{inner}" if f.is_array else f"{f.name.text}.{inner}"
    return root.rules[0].subject if root.rules else ""
