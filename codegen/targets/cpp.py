"""The C++ target: spellings of model pieces (types, literals, operands, checks, messages) for the C++
templates. The model (codegen/model.py) is language-neutral; everything C++ about it is said here.

The templates decide what to emit; these helpers only spell one expression each, so no template writes an
operator, an escape or a case conversion of its own.
"""

from __future__ import annotations

from model import Check, Condition, Operand, Rule, TypeRef

_UINT = {"u8": "std::uint8_t", "u16": "std::uint16_t", "u32": "std::uint32_t", "u64": "std::uint64_t"}

# Names a schema may not use because of this target: C++'s keywords, and the few names the generated C++ gives
# its own parameters, locals, members and namespaces where a schema name could meet them (`s` is a local of
# make_*(), whose parameters are the fields; `table` is a view's own member). Readers keep field values in
# locals named `<field>_` and their own locals end otherwise, so fields may be called `shape`, `view` or `index`.
KEYWORDS = frozenset("""
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
    compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype
    default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline
    int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
    reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template
    this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t
    while xor xor_eq
""".split())
GENERATED_NAMES = frozenset("""
    s e F S std detail fb table
    Error Result Status Digest DigestBuilder EnumTraits StructTraits Fields ErrorKind ErrorDetails
""".split())


def reserved(name: str) -> str | None:
    """Why the C++ target cannot take `name`, or None when it can."""
    if name in KEYWORDS:
        return "a C++ keyword"
    if name in GENERATED_NAMES:
        return "a name the generated C++ uses itself"
    return None


def reserved_parameter(name: str) -> str | None:
    """Why a named check's parameter cannot be called `name` in C++: validate_<check>(shape, params...) names the
    descriptor `shape`."""
    return "the generated validate_<check>() calls the descriptor `shape`" if name == "shape" else None


def type(t: TypeRef) -> str:  # noqa: A001 (the templates read it as cpp.type)
    """The C++ type of a field, parameter, constant or attribute."""
    if t.is_enum:
        return t.enum.name.pascal
    if t.is_string:
        return "std::string"
    return _UINT[t.name]


def view_type(t: TypeRef) -> str:
    """The type a view or a fast-path reader holds a value as: a string is borrowed, not owned."""
    return "std::string_view" if t.is_string else type(t)


def underlying(e) -> str:
    """An enum's underlying type: the smallest unsigned type that holds its codes."""
    return _UINT[e.code_type]


def constant(c) -> str:
    """A schema constant's C++ name, prefixed with its schema's stem: `kKvTensorShapeV1SchemaId`."""
    return f"k{c.scope.pascal}{c.name.pascal}"


def namespace(parts: list[str]) -> str:
    return "::".join(parts)


def string_literal(text: str) -> str:
    """A C++ string literal for `text` (UTF-8), escaping quotes, backslashes and control characters."""
    out = ['"']
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f'\\{byte:03o}')
        elif ch == "?":
            out.append("\\?")  # no trigraphs
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def literal(t: TypeRef, value) -> str:
    """A value of type `t` (a string or an unsigned integer) as a C++ literal."""
    return string_literal(value) if t.is_string else str(value)


def field(f, obj: str = "s") -> str:
    """A field read through detail::Fields<S> (alias F), which serves the native struct and every view alike."""
    return f"F::{f.name.snake}({obj})"


def operand(op: Operand, obj: str = "s") -> str:
    if op.kind == "field":
        return field(op.field, obj)
    if op.kind == "param":
        return op.param.name.snake
    if op.kind == "const":
        return constant(op.const)
    if op.kind == "literal":
        return f"std::uint64_t{{{op.value}}}"
    if op.kind == "attr":
        return f"{op.attr.name.snake}({field(op.field, obj)})"
    if op.kind == "derived":
        return f"detail::{op.derived.name.snake}({obj})"
    raise AssertionError(op.kind)


def _product_leaves(op: Operand, obj: str) -> list[str]:
    """A derived product's leaf factors, in multiplication order, each as a u64."""
    return [f"std::uint64_t{{{operand(leaf, obj)}}}" for leaf in op.leaf_operands()]


def enum_value(enum_name: str, value_name: str) -> str:
    return f"{enum_name}::{value_name}"


def _one_of(subject: str, enum, values) -> str:
    terms = [f"({subject} == {enum_value(enum.name.pascal, v.name.snake)})" for v in values]
    return terms[0] if len(terms) == 1 else "(" + " || ".join(terms) + ")"


def string_eq(operands: list[Operand], values: list[str]) -> str:
    """Two strings are equal: through equals_constant<C>() when one is a schema constant C (the compare every
    descriptor's schema_version goes through), else as std::string_views."""
    for i in (0, 1):
        if operands[i].kind == "const" and operands[1 - i].kind != "const":
            return f"equals_constant<{values[i]}>({values[1 - i]})"
    return f"std::string_view({values[0]}) == {values[1]}"


def check(c: Check, obj: str = "s") -> str:
    """An expression that is true when the check holds."""
    ops = [operand(o, obj) for o in c.operands]
    if c.op == "eq":
        if c.operands[0].type.is_string or c.operands[1].type.is_string:
            return string_eq(c.operands, ops)
        return f"{ops[0]} == {ops[1]}"
    if c.op == "nonzero":
        return f"{ops[0]} != 0"
    if c.op == "divisible":
        return f"is_multiple_of({ops[0]}, {ops[1]})"
    if c.op == "in":
        return _one_of(ops[0], c.operands[0].type.enum, c.values)
    if c.op == "known":
        return f"is_known({ops[0]})"
    if c.op == "fits_u64":
        # The derived product's leaf factors in its own order: the same multiplications, step for step, as the
        # nested checked products, without carrying an optional through each level.
        return f"product_fits({', '.join(_product_leaves(c.operands[0], obj))})"
    raise AssertionError(c.op)


def condition(conds: list[Condition], obj: str = "s") -> str:
    """An expression that is true when the rule applies ("true" for unconditional rules)."""
    if not conds:
        return "true"
    return " && ".join(_one_of(field(c.field, obj), c.field.type.enum, c.values) for c in conds)


def message_args(rule: Rule, obj: str = "s") -> str:
    """Arguments of detail::format_message() that build the rule's message."""
    args = []
    for part in rule.message:
        if part.operand is None:
            args.append(f"std::string_view{{{string_literal(part.text)}}}")
        elif part.operand.type.is_enum:
            args.append(f"to_string({operand(part.operand, obj)})")
        else:
            args.append(operand(part.operand, obj))
    return ", ".join(args)


def rule_holds(rule: Rule, obj: str = "s") -> str:
    """An expression that is true when `rule` holds: its check, or its `when` not applying."""
    held = f"({check(rule.check, obj)})"
    if not rule.when:
        return held
    return f"(!({condition(rule.when, obj)}) || {held})"


def json_pieces(st, quoted_strings: bool = False) -> list[tuple[str, object]]:
    """The compact JSON form of struct `st` (serde_json's: fields in order, enums as wire names) as the steps of
    a writer or a reader: ("lit", text) with adjacent literals merged, or ("string" | "uint" | "enum", field).
    A string's quotes are part of the value step, unless `quoted_strings` puts them in the literals (the reader's
    view: the step is the content between them)."""
    pieces: list[tuple[str, object]] = []

    def lit(text: str) -> None:
        if pieces and pieces[-1][0] == "lit":
            pieces[-1] = ("lit", pieces[-1][1] + text)
        else:
            pieces.append(("lit", text))

    for i, f in enumerate(st.fields):
        lit(("{" if i == 0 else ",") + '"' + f.name.snake + '":')
        if f.type.is_enum:
            lit('"')
            pieces.append(("enum", f))
            lit('"')
        elif f.type.is_string and quoted_strings:
            lit('"')
            pieces.append(("string", f))
            lit('"')
        elif f.type.is_string:
            pieces.append(("string", f))
        else:
            pieces.append(("uint", f))
    lit("}")
    return pieces


def json_fixed_bound(st) -> int:
    """The most bytes the JSON form of `st` takes, strings aside (each adds json_string_bound(its size))."""
    total = 0
    for kind, x in json_pieces(st):
        if kind == "lit":
            total += len(x.encode("utf-8"))
        elif kind == "enum":
            total += max(len(v.name.snake) for v in x.type.enum.values)
        elif kind == "uint":
            total += len(str(x.type.max))
    return total


def fbs_scalar(t) -> str:
    """The C++ type flatc stores a scalar or enum field as (an enum's underlying type)."""
    return underlying(t.enum) if t.is_enum else type(t)


def valid_prefix(schema, st) -> tuple[str, int, int]:
    """The bytes every valid descriptor's canonical encoding (docs/digest.md) starts with: the domain tag, then
    the leading fields that validate() pins to a constant, encoded. As (C++ literal, byte count, field count)."""
    data = (schema.id + "\0" + st.name.pascal + "\0").encode("utf-8")
    count = 0
    for f in st.fields:
        const = st.pinned(f)
        if const is None:
            break
        if f.type.is_string:
            value = str(const.value).encode("utf-8")
            data += len(value).to_bytes(8, "little") + value
        elif f.type.is_uint:
            data += int(const.value).to_bytes(f.type.bits // 8, "little")
        else:
            break
        count += 1
    return bytes_literal(data), len(data), count


def bytes_literal(data: bytes) -> str:
    """A C++ string literal of exactly these bytes (octal escapes: at most three digits, so a digit that follows
    cannot extend one); its length must be given alongside, as it may hold NUL bytes."""
    out = ['"']
    for b in data:
        ch = chr(b)
        out.append(ch if 0x20 <= b < 0x7F and ch not in '"\\?' else f"\\{b:03o}")
    out.append('"')
    return "".join(out)


def hot_chain(rules: list[Rule], obj: str = "s") -> list[tuple[str, str]]:
    """The rules of one chain as the hot predicate tests them: (expression, what it covers). Identical to
    testing each rule, with one saving: a `fits_u64` product all of whose factors are fields that unconditional
    `nonzero` rules of the same chain require to be non-zero is tested as "fits and is non-zero"
    (product_fits_nonzero), which answers for those rules too (a zero factor makes the product zero, and a
    product of non-zero factors that fits is non-zero)."""
    nonzero = {r.check.operands[0].field.name.text: r for r in rules
               if not r.when and r.check.op == "nonzero" and r.check.operands[0].kind == "field"}
    folds: dict[str, list[Rule]] = {}  # fits_u64 rule id -> the nonzero rules its one test answers for
    for r in rules:
        if not r.when and r.check.op == "fits_u64":
            leaves = r.check.operands[0].leaf_operands()
            if all(o.kind == "field" and o.field.name.text in nonzero for o in leaves):
                folds[r.id] = [nonzero[o.field.name.text] for o in leaves]
    folded = {n.id for covered in folds.values() for n in covered}
    out: list[tuple[str, str]] = []
    for r in rules:
        if r.id in folded:
            continue
        if r.id in folds:
            # Each factor in its own type: product_fits_nonzero() multiplies narrow ones in pairs, exactly.
            factors = ", ".join(operand(leaf, obj) for leaf in r.check.operands[0].leaf_operands())
            out.append((f"product_fits_nonzero({factors})", ", ".join([r.id] + [n.id for n in folds[r.id]])))
        else:
            out.append((rule_holds(r, obj), r.id))
    return out


# ------------------------------------------------------------------------------------------------ composite structs
# A composite schema (nested structs, optional fields, arrays: codegen/model.py Struct.is_flat false) is read and
# written by the runtime in src/internal/composite.hpp; what is generated is its types, its traits and its rules,
# each rule a block of plain code over the native struct `s` (an array's element is `e`, at index `i`).


def member_type(f) -> str:
    """A composite struct's member type: std::vector for arrays, std::optional for optional fields."""
    t = f.type.struct.name.pascal if f.type.is_struct else type(f.type)
    if f.is_array:
        return f"std::vector<{t}>"
    if f.optional:
        return f"std::optional<{t}>"
    return t


def view_name(st) -> str:
    """The type a view holds `st` as: FooView when it reads something in place (model.Struct.reads_in_place),
    else Foo itself: a struct of scalars only is its own view (its members are read once)."""
    return f"{st.name.pascal}View" if st.reads_in_place else st.name.pascal


def view_member_type(f) -> str:
    """A view's member type (src/include/fib_quant_kv/composite_view.hpp): arrays are read in place, strings are
    std::string_view, nested structs their view; scalars as the native struct holds them."""
    if f.type.is_struct:
        t = view_name(f.type.struct)
    elif f.type.is_string:
        t = "std::string_view"
    else:
        t = type(f.type)
    if f.is_array:
        return f"TableVectorView<{t}>" if f.type.is_struct else f"VectorView<{t}>"
    if f.optional:
        return f"std::optional<{t}>"
    return t


def type_name(f) -> str:
    """How the reader names a field's type in messages: u32, string, enum KvRole, struct KvStorage."""
    return f.type.wire


def _array_scope(rule: Rule):
    """The operand step that ranges over an array's elements, as (operand, index of the step), if the rule has one."""
    ops = list(rule.check.operands) + [c.operand for c in rule.when if c.operand is not None]
    ops += [p.operand for p in rule.message if p.operand is not None] + [o for _, o in rule.details]
    for o in ops:
        for t in ([o] if o.kind != "add" else o.terms):
            if t.kind in ("field", "attr") and t.each_step is not None and not (rule.check.op == "partition"):
                return t, t.each_step
    return None, None


def _access(op: Operand, scoped: bool, elem: str) -> str:
    """The C++ lvalue of a field operand's last field (an optional is not dereferenced)."""
    expr = "s"
    for k, (f, each) in enumerate(op.steps):
        if each and scoped:
            expr = elem
        else:
            expr = f"{expr}.{f.name.snake}"
    return expr


def _value(op: Operand, scoped: bool, elem: str) -> str:
    """An operand's value; optional fields dereferenced (a guard has checked they are present)."""
    if op.kind == "add":
        return "(" + " + ".join(f"std::uint64_t{{{_value(t, scoped, elem)}}}" for t in op.terms) + ")"
    if op.kind in ("field", "attr"):
        base = _access(op, scoped, elem)
        if op.field.optional:
            base = f"(*{base})"
        return f"{op.attr.name.snake}({base})" if op.kind == "attr" else base
    if op.kind == "const":
        return constant(op.const)
    if op.kind == "literal":
        return f"std::uint64_t{{{op.value}}}"
    raise AssertionError(op.kind)


def _guards(ops, scoped: bool, elem: str) -> list[str]:
    out: list[str] = []
    for o in ops:
        for t in ([o] if o.kind != "add" else o.terms):
            if t.kind in ("field", "attr") and t.field.optional:
                g = f"{_access(t, scoped, elem)}.has_value()"
                if g not in out:
                    out.append(g)
    return out


def _u64(expr: str) -> str:
    return f"std::uint64_t{{{expr}}}"


_SET_OPS = ("known", "distinct", "contains", "excludes")


def _code_set_field(rule: Rule):
    """The enum array field of the rule's own struct that a set rule (known, distinct, contains, excludes) tests
    as a whole, or None. Such a field gets one composite::CodeSet in check_*() (code_set_fields()), gathered once
    and asked by each of these rules."""
    if rule.check.op not in _SET_OPS:
        return None
    o = rule.check.operands[0]
    if o.kind != "field" or len(o.steps) != 1 or o.steps[0][1] or not o.field.is_array or not o.type.is_enum:
        return None
    return o.field


def code_set_fields(st) -> list:
    """The fields of `st` that get a composite::CodeSet, in schema order."""
    wanted = {id(f) for f in (_code_set_field(r) for r in st.rules) if f is not None}
    return [f for f in st.fields if id(f) in wanted]


def code_set_name(f) -> str:
    return f"{f.name.snake}_codes"


def _composite_check(rule: Rule, schema, scoped: bool, elem: str) -> str:
    c = rule.check
    ops = c.operands
    v = [(_value(o, scoped, elem) if o.kind != "derived" else None) for o in ops]
    if (set_field := _code_set_field(rule)) is not None:
        codes = code_set_name(set_field)
        if c.op == "known":
            return f"{codes}.all_known()"
        if c.op == "distinct":
            return f"{codes}.all_distinct()"
        e = ops[0].type.enum.name.pascal
        values = ", ".join(enum_value(e, x.name.snake) for x in c.values)
        return f"{codes}.{'contains_all' if c.op == 'contains' else 'contains_none'}({{{values}}})"
    if c.op == "eq":
        if ops[0].type.is_string or ops[1].type.is_string:
            return string_eq(ops, v)
        if ops[0].type.is_uint:
            return f"{_u64(v[0])} == {_u64(v[1])}"
        return f"{v[0]} == {v[1]}"
    if c.op == "nonzero":
        return f"{v[0]} != 0"
    if c.op == "le":
        return f"{_u64(v[0])} <= {_u64(v[1])}"
    if c.op == "divisible":
        return f"({_u64(v[1])} == 0 || is_multiple_of({_u64(v[0])}, {_u64(v[1])}))"
    if c.op == "in":
        return _one_of(v[0], ops[0].type.enum, c.values)
    if c.op == "known":
        return f"composite::all_known({v[0]})" if ops[0].field.is_array else f"is_known({v[0]})"
    if c.op in ("present", "absent"):
        raw = _access(ops[0], scoped, elem)
        return f"{raw}.has_value()" if c.op == "present" else f"!{raw}.has_value()"
    if c.op == "count":
        return f"({v[0]}.size() >= {v[1]} && {v[0]}.size() <= {v[2]})"
    if c.op == "distinct":
        return f"composite::all_distinct({v[0]})"
    if c.op in ("contains", "excludes"):
        e = ops[0].type.enum.name.pascal
        values = ", ".join(enum_value(e, x.name.snake) for x in c.values)
        fn = "contains_all" if c.op == "contains" else "contains_none"
        return f"composite::{fn}({v[0]}, {{{values}}})"
    if c.op == "partition":
        arr = ops[0]
        k = arr.each_step
        outer = Operand("field", arr.steps[k][0].type, name=arr.steps[k][0].name, field=arr.steps[k][0],
                        steps=[(f, False) for f, _ in arr.steps[:k + 1]])
        inner = ".".join(f.name.snake for f, _ in arr.steps[k + 1:])
        return (f"composite::partitions({_access(outer, False, elem)}, [](const auto& item) -> const auto& "
                f"{{ return item.{inner}; }}, {_u64(v[1])})")
    if c.op == "fits_u64":
        return f"detail::{schema.stem}_{ops[0].derived.name.snake}(s).has_value()"
    raise AssertionError(c.op)


def _condition(cond: Condition, scoped: bool, elem: str) -> str:
    v = _value(cond.operand, scoped, elem)
    if cond.test == "zero":
        return f"{v} == 0"
    if cond.test == "nonzero":
        return f"{v} != 0"
    return _one_of(v, cond.field.type.enum, cond.values)


def _show(op: Operand, scoped: bool, elem: str) -> str:
    """An expression appending the operand's value to std::string `m`, as a message shows it."""
    v = _value(op, scoped, elem)
    if op.type.is_enum:
        return f"m.append(to_string({v}));"
    if op.type.is_string:
        return f"m.append({v});"
    return f"m.append(std::to_string({v}));"


def _partition_parts(rule: Rule):
    """A partition rule over `arr[].f` (an array of structs of the rule's struct, and a field of its items) as
    (arr, f); None for any other rule or path."""
    if rule.check.op != "partition":
        return None
    o = rule.check.operands[0]
    if o.each_step != 0 or len(o.steps) != 2 or not o.steps[0][0].type.is_struct:
        return None
    return o.steps[0][0], o.steps[1][0]


def implied_distinct(st, schema) -> list:
    """The fields of `st` that a partition rule of a struct holding `st` in an array ranges over: when that
    partition holds, every value of the field, across all items, is distinct, so `st`'s `distinct` rules on them
    hold too and need not be run again (bit k of check_*()'s `implied` is the k-th of these fields)."""
    out: list = []
    for parent in schema.structs:
        for r in parent.rules:
            parts = _partition_parts(r)
            if parts and parts[0].type.struct is st and parts[1] not in out:
                out.append(parts[1])
    return out


def partition_held(rule: Rule) -> str:
    """The local that records whether a partition rule held (it stays false when the rule did not apply)."""
    return f"partition_held_{rule.index}"


def implied_mask(st, f, schema) -> str:
    """The `implied` argument for the items of array field `f` of `st`: the bits of the item struct's
    implied_distinct() fields whose partition rule in `st` held; empty when there are none."""
    if not f.is_array or not f.type.is_struct:
        return ""
    fields = implied_distinct(f.type.struct, schema)
    terms = []
    for r in st.rules:
        parts = _partition_parts(r)
        if parts and parts[0] is f:
            terms.append(f"({partition_held(r)} ? std::uint32_t{{{1 << fields.index(parts[1])}}} : std::uint32_t{{0}})")
    return " | ".join(terms)


def composite_rule(rule: Rule, schema, st=None) -> str:
    """One rule of a composite struct as a block of C++: when it applies, its check, and the Error it reports
    (built in the lambda handed to `sink`, which a caller that only wants a yes or no never calls). A partition
    rule records whether it held (partition_held()); a `distinct` rule that a holding partition implies
    (implied_distinct()) is skipped."""
    scope, k = _array_scope(rule)
    elem = "e"
    scoped = scope is not None
    ops = [o for o in rule.check.operands if o.kind != "derived"]
    guard_ops = [] if rule.check.op in ("present", "absent") else list(ops)
    guard_ops += [c.operand for c in rule.when]
    guard_ops += [p.operand for p in rule.message if p.operand is not None] + [o for _, o in rule.details]
    conds = _guards(guard_ops, scoped, elem) + [_condition(c, scoped, elem) for c in rule.when]
    check_expr = _composite_check(rule, schema, scoped, elem)
    subject = rule.subject
    index = "i" if scoped else "PathLink::no_index"
    body = [f"Error err = make_error(StructTraits<S>::rules[{rule.index}]);",
            f"err.path = at.text({string_literal(subject)}, {index});"]
    if not rule.message_is_literal:
        body.append("std::string m;")
        for p in rule.message:
            body.append(f"m.append({string_literal(p.text)});" if p.operand is None else _show(p.operand, scoped, elem))
        body.append("err.message = std::move(m);")
    for name, o in rule.details:
        body.append(f"err.details.{name.snake} = {_u64(_value(o, scoped, elem))};")
    body.append("return err;")
    fire = ("if (!sink([&] {\n" + "".join(f"        {b}\n" for b in body) + "    })) return false;")
    if rule.check.op == "partition" and _partition_parts(rule):
        test = f"if (!({partition_held(rule)} = {check_expr})) {{\n    {fire}\n}}"
    else:
        test = f"if (!({check_expr})) {{\n    {fire}\n}}"
    if rule.check.op == "distinct" and st is not None:
        implied = implied_distinct(st, schema)
        f = rule.check.operands[0].field
        if f in implied:
            conds = [f"(implied & std::uint32_t{{{1 << implied.index(f)}}}) == 0"] + conds
    if conds:
        test = f"if ({' && '.join(conds)}) {{\n" + "\n".join("    " + line for line in test.splitlines()) + "\n}"
    if scoped:
        arr = Operand("field", scope.steps[k][0].type, name=scope.steps[k][0].name, field=scope.steps[k][0],
                      steps=[(f, False) for f, _ in scope.steps[:k + 1]])
        test = (f"for (std::size_t i = 0; i < {_access(arr, False, elem)}.size(); ++i) {{\n"
                f"    [[maybe_unused]] const auto& {elem} = {_access(arr, False, elem)}[i];\n"
                + "\n".join("    " + line for line in test.splitlines()) + "\n}")
    head = f"// {rule.id}: {rule.message_text}\n"
    if rule.check.op == "partition" and _partition_parts(rule):
        head += f"bool {partition_held(rule)} = false;  // the items' distinct rules on it hold when it does\n"
    return head + test


def rule_fields(rule: Rule) -> list[str]:
    """The fields a composite rule concerns, as paths (static storage in Error::fields)."""
    out: list[str] = []
    for o in rule.check.operands:
        for t in ([o] if o.kind != "add" else o.terms):
            if t.kind in ("field", "attr"):
                p = ".".join(f.name.text + ("[]" if each else "") for f, each in t.steps)
                if p not in out:
                    out.append(p)
    return out
