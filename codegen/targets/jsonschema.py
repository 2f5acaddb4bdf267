"""The JSON Schema target (draft 2020-12): how model types and rules are said in a JSON Schema, for
templates/jsonschema/.

JSON Schema describes one JSON value on its own. It can say a field's type, an integer's range, an enum's wire
names, which fields are required, a field equal to a constant (`const`), a field among enum values (`enum`), a
field non-zero (`minimum`) or a multiple of a constant (`multipleOf`), and all of that under a condition on enum
fields (`if`/`then`). It cannot compare two fields with each other, multiply fields (the overflow rules), see
how a number or an object was written (`1.0`, `-0`, a duplicate field), or take a parameter (named checks).
`rule()` renders a rule of the first kind and `not_expressed()` says why a rule is of the second.

A composite schema (model.Schema.is_flat false) adds nested structs (one `$defs` entry each, reached by `$ref`),
bounded arrays (`maxItems`), optional fields (left out of `required`, and null allowed), and checks that JSON
Schema can also say within one object: present, absent, count (`minItems`/`maxItems`), distinct
(`uniqueItems`), contains, excludes, `le` a constant (`maximum`), and `when` zero or nonzero. A rule whose operand
is a path through another struct (`quant.group_size`, `groups[].key_head_dim`), a partition, or a count computed
by handwritten code cannot be said: each struct's schema sees that struct's object only.

Every spelling returns compact JSON text (json.dumps), so the templates never escape anything themselves.
"""

from __future__ import annotations

import json

from model import Check, Condition, Field, Operand, Rule, TypeRef

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
    if t.is_struct:
        return {"$ref": ref(t.struct)}
    if t.is_enum:  # an imported enum too: inlined, so that the document needs no other to be read
        return {"enum": [v.name.snake for v in t.enum.values]}
    if t.is_string:
        return {"type": "string"}
    return {"type": "integer", "minimum": 0, "maximum": t.max}


def imported(schema) -> list[str]:
    """The enums of other schemas that this one's fields use, as `Name (their schema's stem)`, in field order."""
    out: list[str] = []
    for st in schema.structs:
        for f in st.fields:
            e = f.type.enum
            if e is not None and e.owner != schema.stem and f"{e.name.pascal} ({e.owner})" not in out:
                out.append(f"{e.name.pascal} ({e.owner})")
    return out


def ref(st) -> str:
    """Where a nested struct's schema is: its `$defs` entry."""
    return f"#/$defs/{st.name.pascal}"


def _nullable(s: dict) -> dict:
    """`s` or JSON null: an optional field's value (null reads as absent)."""
    if set(s) == {"enum"}:
        return {"enum": s["enum"] + [None]}
    if set(s) >= {"type"} and isinstance(s["type"], str) and "$ref" not in s:
        return dict(s, type=[s["type"], "null"])
    return {"anyOf": [s, {"type": "null"}]}


def type(t: TypeRef, doc: str | None = None) -> str:  # noqa: A001 (the templates read it as jsonschema.type)
    """The schema of one field: its doc, then its type (an enum as the list of its wire names)."""
    out = {"description": doc} if doc is not None else {}
    out.update(_type(t))
    return value(out)


def field(f: Field) -> str:
    """The schema of one field of a struct: its doc, then its type; an array of at most max_items of it, or, for
    an optional field, its type or null. A plain field reads as type() does."""
    out: dict = {"description": f.doc}
    if f.is_array:
        out.update({"type": "array", "maxItems": f.max_items, "items": _type(f.type)})
    elif f.optional:
        out.update(_nullable(_type(f.type)))
    else:
        out.update(_type(f.type))
    return value(out)


def required(st) -> str:
    """The fields a struct's object must hold: all but the optional ones."""
    return value([f.name.snake for f in st.fields if not f.optional])


def _is_field(op: Operand) -> bool:
    """A field of the struct the rule belongs to (not a path through another struct, not every item of an array)."""
    return op.kind == "field" and len(op.steps) <= 1 and not any(each for _, each in op.steps)


def _is_constant(op: Operand) -> bool:
    return op.kind in ("const", "literal")


def _constant(op: Operand) -> object:
    return op.const.value if op.kind == "const" else op.value


# Keywords that say nothing of a JSON null: a check made of them lets an absent optional field (null) through.
_NULL_BLIND = {"minimum", "maximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "items", "allOf"}


def _value_check(c: Check) -> tuple[Field, dict] | None:
    """(field, the schema its value must satisfy when present) for a check JSON Schema can say, else None."""
    ops = c.operands
    if not ops or not _is_field(ops[0]) and not (c.op == "eq" and len(ops) == 2 and _is_field(ops[1])):
        return None
    f = ops[0].field
    if c.op == "known":
        enum = {"enum": [v.name.snake for v in ops[0].type.enum.values]}
        return f, ({"items": enum} if f.is_array else enum)
    if c.op == "in" and not f.is_array:
        return f, {"enum": [v.name.snake for v in c.values]}
    if c.op == "nonzero":
        return f, {"minimum": 1}
    if c.op == "eq":
        a, b = ops
        if _is_constant(a) and _is_field(b):
            a, b = b, a
        if _is_field(a) and _is_constant(b):
            return a.field, {"const": _constant(b)}
    if c.op == "divisible":
        a, b = ops
        if _is_constant(b) and int(_constant(b)) > 0:
            return f, {"multipleOf": _constant(b)}
    if c.op == "le" and _is_constant(ops[1]):
        return f, {"maximum": _constant(ops[1])}
    if c.op == "count" and _is_constant(ops[1]) and _is_constant(ops[2]):
        return f, {"minItems": _constant(ops[1]), "maxItems": _constant(ops[2])}
    if c.op == "distinct":
        return f, {"uniqueItems": True}
    if c.op == "contains":
        return f, {"allOf": [{"contains": {"const": v.name.snake}} for v in c.values]}
    if c.op == "excludes":
        return f, {"items": {"not": {"enum": [v.name.snake for v in c.values]}}}
    return None


def _check(c: Check) -> dict | None:
    """The schema the struct's object must satisfy for a check JSON Schema can say, else None. A check of an
    optional field applies when it is present: null (absent) passes unless the check is `present`."""
    if c.op in ("present", "absent"):
        if not _is_field(c.operands[0]):
            return None
        name = c.operands[0].field.name.snake
        if c.op == "present":
            return {"properties": {name: {"not": {"type": "null"}}}, "required": [name]}
        return {"properties": {name: {"type": "null"}}}
    found = _value_check(c)
    if found is None:
        return None
    f, schema = found
    if f.optional and set(schema) - _NULL_BLIND:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return {"properties": {f.name.snake: schema}}


def _crosses(op: Operand) -> bool:
    """An operand that reads through another struct or every item of an array: a path JSON Schema cannot follow."""
    if op.kind == "add":
        return any(_crosses(t) for t in op.terms)
    return op.kind in ("field", "attr") and (len(op.steps) > 1 or any(each for _, each in op.steps))


def not_expressed(rule: Rule) -> str | None:
    """Why JSON Schema cannot say `rule`, or None when rule() renders it."""
    if _check(rule.check) is not None and _condition(rule.when) is not None:
        return None
    kinds = [o.kind for o in rule.check.operands]
    if rule.check.op == "fits_u64":
        d = rule.check.operands[0].derived
        if d.native:
            return f"{d.name.snake}, computed by handwritten code, must fit in 64 bits"
        return "a product of fields must fit in 64 bits"
    if rule.check.op == "partition":
        return f"{rule.check.operands[0].path_text} must partition 0 to {rule.check.operands[1].path_text} - 1"
    crossing = [o.path_text for o in rule.check.operands if _crosses(o)]
    crossing += [c.operand.path_text for c in rule.when if c.operand is not None and _crosses(c.operand)]
    if crossing:
        return "reads " + " and ".join(crossing) + ", paths across structs"
    if "add" in kinds:
        return "compares a field with a sum of fields"
    if rule.check.op in ("eq", "divisible") and kinds.count("field") == 2:
        return "compares two fields" if rule.check.op == "eq" else "divides one field by another"
    if "param" in kinds:
        return "takes a parameter"
    return f"`{rule.check.op}` of {' and '.join(kinds)}"


def _condition_value(c: Condition) -> dict:
    if c.test == "zero":
        return {"const": 0}
    if c.test == "nonzero":
        return {"type": "integer", "minimum": 1}  # not null: an absent field is neither zero nor non-zero
    return {"enum": [v.name.snake for v in c.values]} if len(c.values) > 1 else {"const": c.values[0].name.snake}


def _condition(conds: list[Condition]) -> dict | None:
    """The `if` of a conditional rule: every condition's field present and holding what it names. None when a
    condition reads through another struct."""
    if any(c.operand is not None and _crosses(c.operand) for c in conds):
        return None
    return {"properties": {c.field.name.snake: _condition_value(c) for c in conds},
            "required": [c.field.name.snake for c in conds]}


def rule(r: Rule) -> str:
    """The rule as one entry of `allOf`, marked with its id and message; only for a rule JSON Schema can say."""
    check = _check(r.check)
    out: dict = {"$comment": f"{r.id}: {r.message_paths}"}
    if r.when:
        out["if"] = _condition(r.when)
        out["then"] = check
    else:
        out.update(check)
    return value(out)


def expressed(rules: list[Rule]) -> list[Rule]:
    """The rules rule() renders, in order."""
    return [r for r in rules if not_expressed(r) is None]
