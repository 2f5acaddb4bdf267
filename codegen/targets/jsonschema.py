"""The JSON Schema target (draft 2020-12): how model types and rules are said in a JSON Schema, for
templates/jsonschema/.

JSON Schema describes one JSON value on its own. It can say a field's type, an integer's range, an enum's wire
names, which fields are required, a field equal to a constant (`const`), a field among enum values (`enum`), a
field non-zero (`minimum`) or a multiple of a constant (`multipleOf`), and all of that under a condition on enum
fields (`if`/`then`). It cannot compare two fields with each other, multiply fields (the overflow rules), see
how a number or an object was written (`1.0`, `-0`, a duplicate field), or take a parameter (named checks).
`rule()` renders a rule of the first kind and `not_expressed()` says why a rule is of the second.

Every spelling returns compact JSON text (json.dumps), so the templates never escape anything themselves.
"""

from __future__ import annotations

import json

from model import Check, Condition, Operand, Rule, TypeRef

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def string(text: str) -> str:
    """A JSON string literal for `text` (non-ASCII kept as is: the file is UTF-8)."""
    return json.dumps(text, ensure_ascii=False)


def value(v: object) -> str:
    """Compact JSON text of a value built from dicts, lists, strings and integers (key order kept)."""
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def schema_uri(schema) -> str:
    """The document's `$id`: a URN naming the schema id (no URL serves these files)."""
    return f"urn:{schema.namespace.replace('_', '-')}:{schema.id}"


def _type(t: TypeRef) -> dict:
    if t.is_enum:
        return {"enum": [v.name.snake for v in t.enum.values]}
    if t.is_string:
        return {"type": "string"}
    return {"type": "integer", "minimum": 0, "maximum": t.max}


def type(t: TypeRef, doc: str | None = None) -> str:  # noqa: A001 (the templates read it as jsonschema.type)
    """The schema of one field: its doc, then its type (an enum as the list of its wire names)."""
    out = {"description": doc} if doc is not None else {}
    out.update(_type(t))
    return value(out)


def _is_field(op: Operand) -> bool:
    return op.kind == "field"


def _is_constant(op: Operand) -> bool:
    return op.kind in ("const", "literal")


def _constant(op: Operand) -> object:
    return op.const.value if op.kind == "const" else op.value


def _check(c: Check) -> tuple[str, dict] | None:
    """(field, the schema that field's value must satisfy) for a check JSON Schema can say, else None."""
    ops = c.operands
    if c.op == "known" and _is_field(ops[0]):
        return ops[0].field.name.snake, {"enum": [v.name.snake for v in ops[0].type.enum.values]}
    if c.op == "in" and _is_field(ops[0]):
        return ops[0].field.name.snake, {"enum": [v.name.snake for v in c.values]}
    if c.op == "nonzero" and _is_field(ops[0]):
        return ops[0].field.name.snake, {"minimum": 1}
    if c.op == "eq":
        a, b = ops
        if _is_constant(a) and _is_field(b):
            a, b = b, a
        if _is_field(a) and _is_constant(b):
            return a.field.name.snake, {"const": _constant(b)}
    if c.op == "divisible":
        a, b = ops
        if _is_field(a) and _is_constant(b) and int(_constant(b)) > 0:
            return a.field.name.snake, {"multipleOf": _constant(b)}
    return None


def not_expressed(rule: Rule) -> str | None:
    """Why JSON Schema cannot say `rule`, or None when rule() renders it."""
    if _check(rule.check) is not None:
        return None
    kinds = [o.kind for o in rule.check.operands]
    if rule.check.op == "fits_u64":
        return "a product of fields must fit in 64 bits"
    if rule.check.op in ("eq", "divisible") and kinds.count("field") == 2:
        return "compares two fields" if rule.check.op == "eq" else "divides one field by another"
    if "param" in kinds:
        return "takes a parameter"
    return f"`{rule.check.op}` of {' and '.join(kinds)}"


def _condition(conds: list[Condition]) -> dict:
    return {"properties": {c.field.name.snake: {"enum": [v.name.snake for v in c.values]} if len(c.values) > 1
                           else {"const": c.values[0].name.snake} for c in conds},
            "required": [c.field.name.snake for c in conds]}


def rule(r: Rule) -> str:
    """The rule as one entry of `allOf`, marked with its id and message; only for a rule JSON Schema can say."""
    field, schema = _check(r.check)
    check = {"properties": {field: schema}}
    out: dict = {"$comment": f"{r.id}: {r.message_text}"}
    if r.when:
        out["if"] = _condition(r.when)
        out["then"] = check
    else:
        out.update(check)
    return value(out)


def expressed(rules: list[Rule]) -> list[Rule]:
    """The rules rule() renders, in order."""
    return [r for r in rules if not_expressed(r) is None]
