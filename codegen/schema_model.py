"""Loads a schema document, checks it, and builds the model the templates render.

Nothing is rendered from a schema that has not passed every check here. Each failure names the file, the line
and the key path that is wrong, e.g.
    schema/x.yaml:88: structs[0].rules[3].when.batch: `batch` is not an enum field (it is u32)
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any

import yaml

from names import Name


class SchemaError(Exception):
    """A schema document that breaks a rule of the schema language."""


# ----------------------------------------------------------------------------------------------- loading


class _LineDict(dict):
    """A mapping that remembers the line each key was written on, and keys written twice."""

    line = 0
    key_lines: dict
    duplicates: list  # (key, line) of every repeated key


class _LineList(list):
    """A sequence that remembers the line each item was written on."""

    line = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            out.duplicates.append((key, key_node.start_mark.line + 1))
            continue
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_duplicates(file: str, node: Any, path: str = "") -> None:
    """A key written twice anywhere in the document, reported with its path."""
    if isinstance(node, _LineDict):
        if node.duplicates:
            key, line = node.duplicates[0]
            raise SchemaError(f"{file}:{line}: {_join(path, key)}: duplicate key `{key}`")
        for key, value in node.items():
            _check_duplicates(file, value, _join(path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_duplicates(file, value, f"{path}[{i}]")


def _plain(value: Any) -> Any:
    """The document as plain data, for the fingerprint."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- model

UINT_TYPES = {
    "u8": ("std::uint8_t", 8, 0xFF),
    "u16": ("std::uint16_t", 16, 0xFFFF),
    "u32": ("std::uint32_t", 32, 0xFFFFFFFF),
    "u64": ("std::uint64_t", 64, 0xFFFFFFFFFFFFFFFF),
}
SCALAR_TYPES = set(UINT_TYPES) | {"string"}


@dataclass
class TypeRef:
    """A field, parameter, constant or attribute type: `string`, an unsigned integer, or an enum."""

    name: str
    enum: "Enum | None" = None

    @property
    def is_string(self) -> bool:
        return self.name == "string"

    @property
    def is_uint(self) -> bool:
        return self.name in UINT_TYPES

    @property
    def is_enum(self) -> bool:
        return self.enum is not None

    @property
    def fbs(self) -> str:
        """The FlatBuffers schema type."""
        if self.is_enum:
            return self.enum.name.pascal
        return {"string": "string", "u8": "ubyte", "u16": "ushort", "u32": "uint", "u64": "ulong"}[self.name]

    @property
    def canonical_width(self) -> int:
        """Fixed bytes of this type in the canonical encoding (docs/digest.md): a string's u64 length (its bytes
        follow), an enum's u32 code, an integer's own width."""
        if self.is_string:
            return 8
        if self.is_enum:
            return 4
        return self.bits // 8

    @property
    def bits(self) -> int:
        return UINT_TYPES[self.name][1]

    @property
    def max(self) -> int:
        return UINT_TYPES[self.name][2]

    @property
    def cpp(self) -> str:
        if self.is_enum:
            return self.enum.name.pascal
        if self.is_string:
            return "std::string"
        return UINT_TYPES[self.name][0]

    @property
    def wire(self) -> str:
        """How the type is named in messages: `u32`, `string`, `enum KvRole`."""
        return f"enum {self.enum.name.pascal}" if self.is_enum else self.name


@dataclass
class Constant:
    name: Name
    type: TypeRef
    value: Any
    doc: str


@dataclass
class ErrorKind:
    name: Name
    code: int
    doc: str
    details: list[Name]


@dataclass
class EnumValue:
    name: Name
    code: int
    doc: str
    attrs: dict[str, int]
    index: int


@dataclass
class Attribute:
    name: Name
    type: TypeRef
    doc: str


@dataclass
class Enum:
    name: Name
    doc: str
    values: list[EnumValue]
    attributes: list[Attribute]

    @property
    def underlying(self) -> str:
        top = max(v.code for v in self.values)
        for t in ("u8", "u16", "u32"):
            if top <= UINT_TYPES[t][2]:
                return UINT_TYPES[t][0]
        raise AssertionError("codes are checked to fit u32")

    @property
    def fbs_underlying(self) -> str:
        return {"std::uint8_t": "ubyte", "std::uint16_t": "ushort", "std::uint32_t": "uint"}[self.underlying]

    @property
    def dense(self) -> bool:
        """Codes 0, 1, ... in schema order: a code is its value's index in the tables."""
        return all(v.code == i for i, v in enumerate(self.values))

    def value(self, name: str) -> EnumValue | None:
        return next((v for v in self.values if v.name.text == name), None)


@dataclass
class Field:
    name: Name
    type: TypeRef
    doc: str
    default: Constant | None
    index: int


@dataclass
class Param:
    name: Name
    type: TypeRef
    doc: str


@dataclass
class Operand:
    """One operand of a check, a product or a message placeholder.

    kind: field | derived | attr (enum attribute of a field) | const | param | literal
    """

    kind: str
    type: TypeRef
    name: Name | None = None
    field: Field | None = None
    derived: "Derived | None" = None
    attr: Attribute | None = None
    const: Constant | None = None
    param: Param | None = None
    value: int | None = None

    def leaf_fields(self) -> list[Field]:
        if self.kind == "field":
            return [self.field]
        if self.kind == "attr":
            return [self.field]
        if self.kind == "derived":
            out: list[Field] = []
            for f in self.derived.factors:
                for leaf in f.leaf_fields():
                    if leaf not in out:
                        out.append(leaf)
            return out
        return []


@dataclass
class Derived:
    name: Name
    doc: str
    factors: list[Operand]
    overflow: "Rule | None" = None
    overflow_id: str = ""
    node: Any = None  # where it was written, for messages
    path: str = ""


@dataclass
class Check:
    op: str  # eq | nonzero | divisible | in | fits_u64
    operands: list[Operand]
    values: list[EnumValue] = dc_field(default_factory=list)


@dataclass
class MessagePart:
    text: str = ""
    operand: Operand | None = None


@dataclass
class Condition:
    field: Field
    values: list[EnumValue]


@dataclass
class Rule:
    id: str
    check: Check
    when: list[Condition]
    error: ErrorKind
    message: list[MessagePart]
    details: list[tuple[Name, Operand]]
    fields: list[Field]
    index: int = 0

    @property
    def symbol(self) -> str:
        """The rule id as an identifier fragment: `mha.heads_equal` -> `mha_heads_equal` (checked unique)."""
        return self.id.replace(".", "_")

    @property
    def message_is_literal(self) -> bool:
        return all(p.operand is None for p in self.message)

    @property
    def message_text(self) -> str:
        """The message as written, a value shown as its `{name}`."""
        return "".join(p.text if p.operand is None else "{" + p.operand.name.text + "}" for p in self.message)


@dataclass
class NamedCheck:
    name: Name
    doc: str
    params: list[Param]
    rules: list[Rule]


@dataclass
class Struct:
    name: Name
    doc: str
    fields: list[Field]
    derived: list[Derived]
    rules: list[Rule]
    checks: list[NamedCheck]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name.text == name), None)

    def pinned(self, f: Field) -> Constant | None:
        """The constant `f` must equal in every descriptor that passes validate(): an unconditional `eq` rule of
        validate() between the field and a constant."""
        for r in self.rules:
            if r.when or r.check.op != "eq":
                continue
            kinds = {o.kind: o for o in r.check.operands}
            if set(kinds) == {"field", "const"} and kinds["field"].field is f:
                return kinds["const"].const
        return None

    @property
    def all_rules(self) -> list[Rule]:
        """validate()'s rules, then each named check's, in schema order: the order of the rule table."""
        return self.rules + [r for c in self.checks for r in c.rules]


@dataclass
class FlatBuffersOptions:
    namespace: str  # dotted, e.g. fib_quant_kv.fb
    file_identifier: str  # exactly 4 ASCII characters
    file_extension: str

    @property
    def cpp_namespace(self) -> str:
        return "::".join(self.namespace.split("."))


@dataclass
class Schema:
    source: str  # repo-relative path of the schema document
    stem: str
    id: str
    namespace: str
    doc: str
    flatbuffers: FlatBuffersOptions
    constants: list[Constant]
    errors: list[ErrorKind]
    enums: list[Enum]
    structs: list[Struct]
    fingerprint: str  # 16 hex digits

    @property
    def details(self) -> list[Name]:
        """Every error detail slot, each once, in declaration order."""
        out: list[Name] = []
        for e in self.errors:
            for d in e.details:
                if d not in out:
                    out.append(d)
        return out

    @property
    def all_rules(self) -> list[Rule]:
        return [r for s in self.structs for r in s.all_rules]


# ------------------------------------------------------------------------------------------------ checks


class _Ctx:
    """Where in the document we are, for error messages."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, node: Any, message: str, key: Any = None) -> None:
        line = 0
        if isinstance(node, _LineDict):
            line = node.key_lines.get(key, node.line) if key is not None else node.line
        elif isinstance(node, _LineList):
            line = node.item_lines[key] if isinstance(key, int) and key < len(node.item_lines) else node.line
        where = f"{self.file}:{line}" if line else self.file
        raise SchemaError(f"{where}: {path}: {message}")

    def mapping(self, path: str, node: Any, required: set[str], optional: set[str] = frozenset(),
                at: tuple[Any, Any] = (None, None)) -> _LineDict:
        """`node` as a mapping with these keys; `at` is (container, key or index) where it was written."""
        if not isinstance(node, dict):
            self.fail(path, at[0], f"expected a mapping, found {type(node).__name__}", at[1])
        for key in node:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted(required | set(optional)))
                self.fail(_join(path, key), node, f"unknown key `{key}` (allowed: {allowed})", key)
        for key in sorted(required):
            if key not in node:
                self.fail(path, node, f"missing key `{key}`")
        return node

    def seq(self, path: str, node: Any, parent: Any = None, key: Any = None, nonempty: bool = True) -> list:
        if not isinstance(node, list):
            self.fail(path, parent, f"expected a list, found {type(node).__name__}", key)
        if nonempty and not node:
            self.fail(path, parent, "must not be empty", key)
        return node

    def text(self, path: str, node: Any, parent: Any, key: Any) -> str:
        if not isinstance(node, str) or not node.strip():
            self.fail(path, parent, "expected non-empty text", key)
        return node

    def snake(self, path: str, node: Any, parent: Any, key: Any) -> Name:
        if not Name.is_snake(node):
            self.fail(path, parent, f"{node!r} is not a snake_case name", key)
        if Name.is_reserved(node):
            self.fail(path, parent, f"`{node}` is reserved (a keyword of a target language, or a name the "
                                    "generated code uses itself)", key)
        return Name(node)

    def pascal(self, path: str, node: Any, parent: Any, key: Any) -> Name:
        if not Name.is_pascal(node):
            self.fail(path, parent, f"{node!r} is not a PascalCase name", key)
        if Name.is_reserved(node):
            self.fail(path, parent, f"`{node}` is reserved (a name of the runtime or of a target language)", key)
        return Name(node)

    def code(self, path: str, node: Any, parent: Any, key: Any, top: int) -> int:
        if not isinstance(node, int) or isinstance(node, bool) or node < 0 or node > top:
            self.fail(path, parent, f"{node!r} is not an integer in 0..{top}", key)
        return node


def _unique(ctx: _Ctx, path: str, node: Any, items: list, what: str, key_of) -> None:
    seen: dict = {}
    for i, item in enumerate(items):
        k = key_of(item)
        if k in seen:
            ctx.fail(f"{path}[{i}]", node[i] if isinstance(node, list) else None,
                     f"duplicate {what} `{k}` (first at {path}[{seen[k]}])")
        seen[k] = i


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def load(path: Path, display: str | None = None) -> Schema:
    """Loads and checks one schema document. `display` is the path printed in messages and headers."""
    display = display or str(path)
    ctx = _Ctx(display)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SchemaError(f"{display}: cannot read: {e.strerror}") from None
    try:
        loader = _Loader(text)
        loader.name = display
        try:
            doc = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{display}:{mark.line + 1}" if mark is not None else display
        raise SchemaError(f"{where}: not valid YAML: {e}") from None
    if doc is None:
        raise SchemaError(f"{display}:1: the document is empty")
    _check_duplicates(display, doc)

    root = ctx.mapping("", doc, {"schema", "enums", "structs", "errors", "flatbuffers"}, {"constants"})
    fingerprint = hashlib.sha256(
        json.dumps(_plain(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()[:16]

    head = ctx.mapping("schema", root["schema"], {"id", "namespace", "doc"})
    schema_id = ctx.text("schema.id", head["id"], head, "id")
    namespace = ctx.snake("schema.namespace", head["namespace"], head, "namespace").text
    schema_doc = ctx.text("schema.doc", head["doc"], head, "doc")

    fbn = ctx.mapping("flatbuffers", root["flatbuffers"], {"namespace", "file_identifier", "file_extension"})
    fb_ns = fbn["namespace"]
    if not isinstance(fb_ns, str) or not all(Name.is_snake(part) for part in fb_ns.split(".")):
        ctx.fail("flatbuffers.namespace", fbn, f"{fb_ns!r} is not a dotted snake_case namespace", "namespace")
    fb_id = fbn["file_identifier"]
    if not isinstance(fb_id, str) or len(fb_id) != 4 or not all(0x20 < ord(c) < 0x7F and c not in '"\\' for c in fb_id):
        ctx.fail("flatbuffers.file_identifier", fbn, f"{fb_id!r} is not 4 printable ASCII characters",
                 "file_identifier")
    fb_ext = fbn["file_extension"]
    if not isinstance(fb_ext, str) or not re.fullmatch(r"[a-z0-9]+", fb_ext):
        ctx.fail("flatbuffers.file_extension", fbn, f"{fb_ext!r} is not a lower-case alphanumeric extension",
                 "file_extension")
    flatbuffers = FlatBuffersOptions(fb_ns, fb_id, fb_ext)

    # constants
    constants: list[Constant] = []
    cnode = root.get("constants") or {}
    if not isinstance(cnode, dict):
        ctx.fail("constants", root, "expected a mapping of name: {type, value, doc}", "constants")
    for cname, body in cnode.items():
        p = f"constants.{cname}"
        name = ctx.snake(p, cname, cnode, cname)
        body = ctx.mapping(p, body, {"type", "value", "doc"})
        ctype = body["type"]
        if ctype not in SCALAR_TYPES:
            ctx.fail(f"{p}.type", body, f"unknown constant type `{ctype}`", "type")
        value = body["value"]
        if ctype == "string":
            if not isinstance(value, str):
                ctx.fail(f"{p}.value", body, "expected a string", "value")
        else:
            ctx.code(f"{p}.value", value, body, "value", UINT_TYPES[ctype][2])
        constants.append(Constant(name, TypeRef(ctype), value, ctx.text(f"{p}.doc", body["doc"], body, "doc")))

    # errors
    errors: list[ErrorKind] = []
    enode = ctx.seq("errors", root["errors"], root, "errors")
    for i, e in enumerate(enode):
        p = f"errors[{i}]"
        e = ctx.mapping(p, e, {"name", "code", "doc"}, {"details"}, at=(enode, i))
        details = [ctx.snake(f"{p}.details[{j}]", d, e, "details")
                   for j, d in enumerate(ctx.seq(f"{p}.details", e.get("details", []), e, "details", nonempty=False))]
        errors.append(ErrorKind(ctx.snake(f"{p}.name", e["name"], e, "name"),
                                ctx.code(f"{p}.code", e["code"], e, "code", 0xFF),
                                ctx.text(f"{p}.doc", e["doc"], e, "doc"), details))
    _unique(ctx, "errors", enode, errors, "error name", lambda x: x.name.text)
    _unique(ctx, "errors", enode, errors, "error code", lambda x: x.code)
    if not any(e.name.text == "parse" for e in errors):
        ctx.fail("errors", root, "an error named `parse` is required (the wire-format error every decoder raises)",
                 "errors")

    # enums
    enums: list[Enum] = []
    enums_node = ctx.seq("enums", root["enums"], root, "enums")
    for i, en in enumerate(enums_node):
        p = f"enums[{i}]"
        en = ctx.mapping(p, en, {"name", "doc", "values"}, {"attributes"}, at=(enums_node, i))
        attrs: list[Attribute] = []
        anode = en.get("attributes") or {}
        if not isinstance(anode, dict):
            ctx.fail(f"{p}.attributes", en, "expected a mapping of name: {type, doc}", "attributes")
        for aname, abody in anode.items():
            ap = f"{p}.attributes.{aname}"
            abody = ctx.mapping(ap, abody, {"type", "doc"})
            if abody["type"] not in UINT_TYPES:
                ctx.fail(f"{ap}.type", abody, f"attribute type must be one of {', '.join(UINT_TYPES)}", "type")
            attrs.append(Attribute(ctx.snake(ap, aname, anode, aname), TypeRef(abody["type"]),
                                   ctx.text(f"{ap}.doc", abody["doc"], abody, "doc")))
        values: list[EnumValue] = []
        vnode = ctx.seq(f"{p}.values", en["values"], en, "values")
        for j, v in enumerate(vnode):
            vp = f"{p}.values[{j}]"
            v = ctx.mapping(vp, v, {"name", "code", "doc"}, {a.name.text for a in attrs}, at=(vnode, j))
            avals = {}
            for a in attrs:
                if a.name.text not in v:
                    ctx.fail(vp, v, f"missing attribute `{a.name.text}`")
                avals[a.name.text] = ctx.code(f"{vp}.{a.name.text}", v[a.name.text], v, a.name.text, a.type.max)
            values.append(EnumValue(ctx.snake(f"{vp}.name", v["name"], v, "name"),
                                    ctx.code(f"{vp}.code", v["code"], v, "code", 0xFFFFFFFF),
                                    ctx.text(f"{vp}.doc", v["doc"], v, "doc"), avals, j))
        _unique(ctx, f"{p}.values", vnode, values, "enum value name", lambda x: x.name.text)
        _unique(ctx, f"{p}.values", vnode, values, "enum code", lambda x: x.code)
        enums.append(Enum(ctx.pascal(f"{p}.name", en["name"], en, "name"),
                          ctx.text(f"{p}.doc", en["doc"], en, "doc"), values, attrs))
    _unique(ctx, "enums", enums_node, enums, "enum name", lambda x: x.name.text)
    enum_by_name = {e.name.text: e for e in enums}

    def type_ref(p: str, node: Any, parent: Any, key: Any) -> TypeRef:
        if node in SCALAR_TYPES:
            return TypeRef(node)
        if node in enum_by_name:
            return TypeRef(node, enum_by_name[node])
        ctx.fail(p, parent, f"unknown type `{node}` (scalars: {', '.join(sorted(SCALAR_TYPES))}; "
                            f"enums: {', '.join(enum_by_name) or 'none'})", key)

    const_by_name = {c.name.text: c for c in constants}
    error_by_name = {e.name.text: e for e in errors}

    # structs
    structs: list[Struct] = []
    snode = ctx.seq("structs", root["structs"], root, "structs")
    for i, st in enumerate(snode):
        p = f"structs[{i}]"
        st = ctx.mapping(p, st, {"name", "doc", "fields"}, {"derived", "rules", "checks"}, at=(snode, i))
        fields: list[Field] = []
        fnode = ctx.seq(f"{p}.fields", st["fields"], st, "fields")
        for j, f in enumerate(fnode):
            fp = f"{p}.fields[{j}]"
            f = ctx.mapping(fp, f, {"name", "type", "doc"}, {"default"}, at=(fnode, j))
            ftype = type_ref(f"{fp}.type", f["type"], f, "type")
            default = None
            if "default" in f:
                default = const_by_name.get(f["default"])
                if default is None:
                    ctx.fail(f"{fp}.default", f, f"`{f['default']}` is not a declared constant", "default")
                if default.type.name != ftype.name:
                    ctx.fail(f"{fp}.default", f, f"constant `{default.name}` is {default.type.wire}, "
                                                 f"the field is {ftype.wire}", "default")
            fields.append(Field(ctx.snake(f"{fp}.name", f["name"], f, "name"), ftype,
                                ctx.text(f"{fp}.doc", f["doc"], f, "doc"), default, j))
        _unique(ctx, f"{p}.fields", fnode, fields, "field name", lambda x: x.name.text)
        struct = Struct(ctx.pascal(f"{p}.name", st["name"], st, "name"), ctx.text(f"{p}.doc", st["doc"], st, "doc"),
                        fields, [], [], [])
        field_by_name = {f.name.text: f for f in fields}

        # derived quantities
        derived_by_name: dict[str, Derived] = {}
        dnode = ctx.seq(f"{p}.derived", st.get("derived", []), st, "derived", nonempty=False)
        for j, d in enumerate(dnode):
            dp = f"{p}.derived[{j}]"
            d = ctx.mapping(dp, d, {"name", "doc", "product", "overflow"}, at=(dnode, j))
            dname = ctx.snake(f"{dp}.name", d["name"], d, "name")
            if dname.text in field_by_name or dname.text in derived_by_name:
                ctx.fail(f"{dp}.name", d, f"`{dname}` is already a field or derived name", "name")
            factors = []
            for k, term in enumerate(ctx.seq(f"{dp}.product", d["product"], d, "product")):
                tp = f"{dp}.product[{k}]"
                if isinstance(term, str) and term in field_by_name and field_by_name[term].type.is_uint:
                    fld = field_by_name[term]
                    factors.append(Operand("field", fld.type, name=fld.name, field=fld))
                elif isinstance(term, str) and term in derived_by_name:
                    factors.append(Operand("derived", TypeRef("u64"), name=Name(term), derived=derived_by_name[term]))
                elif isinstance(term, str) and term.count(".") == 1:
                    fname, aname = term.split(".")
                    fld = field_by_name.get(fname)
                    if fld is None or not fld.type.is_enum:
                        ctx.fail(tp, d, f"`{fname}` is not an enum field", "product")
                    attr = next((a for a in fld.type.enum.attributes if a.name.text == aname), None)
                    if attr is None:
                        ctx.fail(tp, d, f"enum {fld.type.enum.name} has no attribute `{aname}`", "product")
                    factors.append(Operand("attr", attr.type, name=Name(aname), field=fld, attr=attr))
                else:
                    ctx.fail(tp, d, f"`{term}` is not an unsigned field, an earlier derived quantity or "
                                    f"an enum field attribute (field.attribute)", "product")
            derived = Derived(dname, ctx.text(f"{dp}.doc", d["doc"], d, "doc"), factors,
                              overflow_id=ctx.text(f"{dp}.overflow", d["overflow"], d, "overflow"))
            derived.node, derived.path = d, dp
            derived_by_name[dname.text] = derived
            struct.derived.append(derived)

        def operand(op: Any, rp: str, rnode: Any, params: dict[str, Param], key: str = "check") -> Operand:
            if isinstance(op, bool):
                ctx.fail(rp, rnode, f"{op!r} is not an operand", key)
            if isinstance(op, int):
                if op < 0 or op > UINT_TYPES["u64"][2]:
                    ctx.fail(rp, rnode, f"literal {op} is out of range", key)
                return Operand("literal", TypeRef("u64"), value=op)
            if isinstance(op, str):
                if op in field_by_name:
                    fld = field_by_name[op]
                    return Operand("field", fld.type, name=fld.name, field=fld)
                if op in derived_by_name:
                    return Operand("derived", TypeRef("u64"), name=Name(op), derived=derived_by_name[op])
                if op in params:
                    prm = params[op]
                    return Operand("param", prm.type, name=prm.name, param=prm)
                if op in const_by_name:
                    c = const_by_name[op]
                    return Operand("const", c.type, name=c.name, const=c)
            ctx.fail(rp, rnode, f"`{op}` names no field, derived quantity, parameter or constant", key)

        def rules_of(node: Any, rp0: str, parent: Any, key: str, params: dict[str, Param], seen_ids: dict) -> list:
            out: list[Rule] = []
            rnodes = ctx.seq(rp0, node, parent, key)
            for j, r in enumerate(rnodes):
                rp = f"{rp0}[{j}]"
                r = ctx.mapping(rp, r, {"id", "check", "error", "message"}, {"when", "for_each", "details"},
                                at=(rnodes, j))
                loop = [None]
                if "for_each" in r:
                    loop = ctx.seq(f"{rp}.for_each", r["for_each"], r, "for_each")
                    for k, fname in enumerate(loop):
                        if fname not in field_by_name:
                            ctx.fail(f"{rp}.for_each[{k}]", r, f"`{fname}` is not a field", "for_each")

                def subst(value: Any, loop_field: str | None) -> Any:
                    if loop_field is None:
                        return value
                    if isinstance(value, str):
                        return value.replace("{field}", loop_field)
                    if isinstance(value, list):
                        return [subst(v, loop_field) for v in value]
                    if isinstance(value, dict):
                        return {k: subst(v, loop_field) for k, v in value.items()}
                    return value

                for loop_field in loop:
                    rid = subst(ctx.text(f"{rp}.id", r["id"], r, "id"), loop_field)
                    if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", rid):
                        ctx.fail(f"{rp}.id", r, f"rule id `{rid}` must be dotted snake_case", "id")
                    if rid in seen_ids:
                        ctx.fail(f"{rp}.id", r, f"duplicate rule id `{rid}` (first at {seen_ids[rid]})", "id")
                    symbol = rid.replace(".", "_")
                    if symbol in seen_ids:
                        ctx.fail(f"{rp}.id", r, f"rule id `{rid}` reads as `{symbol}` in code, as does "
                                                f"another rule's (first at {seen_ids[symbol]})", "id")
                    seen_ids[rid] = seen_ids[symbol] = rp
                    check = subst(r["check"], loop_field)
                    if not isinstance(check, dict) or len(check) != 1:
                        ctx.fail(f"{rp}.check", r, "a check is a mapping with exactly one operator: "
                                                   "eq, nonzero, divisible, in, known, fits_u64", "check")
                    (op, args), = check.items()
                    cp = f"{rp}.check.{op}"
                    if op in ("eq", "divisible"):
                        if not isinstance(args, list) or len(args) != 2:
                            ctx.fail(cp, r, f"`{op}` takes a list of two operands", "check")
                        a, b = (operand(x, cp, r, params) for x in args)
                        if op == "divisible" and not (a.type.is_uint and b.type.is_uint):
                            ctx.fail(cp, r, "`divisible` takes unsigned integer operands", "check")
                        if op == "eq":
                            same = (a.type.is_uint and b.type.is_uint) or (a.type.name == b.type.name)
                            if not same:
                                ctx.fail(cp, r, f"`eq` compares {a.type.wire} with {b.type.wire}", "check")
                        chk = Check(op, [a, b])
                    elif op in ("nonzero", "fits_u64", "known"):
                        a = operand(args, cp, r, params)
                        if op == "known" and (a.kind != "field" or not a.type.is_enum):
                            ctx.fail(cp, r, f"`known` applies to enum fields, `{args}` is not one", "check")
                        if op == "nonzero" and not a.type.is_uint:
                            ctx.fail(cp, r, f"`nonzero` takes an unsigned operand, `{args}` is {a.type.wire}", "check")
                        if op == "fits_u64" and a.kind != "derived":
                            ctx.fail(cp, r, f"`fits_u64` takes a derived quantity, `{args}` is not one", "check")
                        chk = Check(op, [a])
                    elif op == "in":
                        if not isinstance(args, list) or len(args) != 2 or not isinstance(args[1], list):
                            ctx.fail(cp, r, "`in` takes [enum_field, [values...]]", "check")
                        a = operand(args[0], cp, r, params)
                        if a.kind != "field" or not a.type.is_enum:
                            ctx.fail(cp, r, f"`in` applies to enum fields, `{args[0]}` is not one", "check")
                        vals = []
                        for v in args[1]:
                            ev = a.type.enum.value(v) if isinstance(v, str) else None
                            if ev is None:
                                ctx.fail(cp, r, f"`{v}` is not a value of enum {a.type.enum.name}", "check")
                            vals.append(ev)
                        chk = Check(op, [a], vals)
                    else:
                        ctx.fail(cp, r, f"unknown check operator `{op}` "
                                        "(known: eq, nonzero, divisible, in, known, fits_u64)", "check")
                    if op != "fits_u64" and any(o.kind == "derived" for o in chk.operands):
                        ctx.fail(cp, r, "derived quantities may overflow: only `fits_u64` takes one", "check")
                    when: list[Condition] = []
                    wnode = subst(r.get("when", {}), loop_field)
                    if not isinstance(wnode, dict):
                        ctx.fail(f"{rp}.when", r, "expected a mapping of enum_field: value(s)", "when")
                    for wf, wv in wnode.items():
                        wp = f"{rp}.when.{wf}"
                        fld = field_by_name.get(wf)
                        if fld is None:
                            ctx.fail(wp, r, f"`{wf}` is not a field", "when")
                        if not fld.type.is_enum:
                            ctx.fail(wp, r, f"`{wf}` is not an enum field (it is {fld.type.wire})", "when")
                        vals = []
                        for v in (wv if isinstance(wv, list) else [wv]):
                            ev = fld.type.enum.value(v) if isinstance(v, str) else None
                            if ev is None:
                                ctx.fail(wp, r, f"`{v}` is not a value of enum {fld.type.enum.name}", "when")
                            vals.append(ev)
                        when.append(Condition(fld, vals))
                    ename = r["error"]
                    if ename not in error_by_name or ename == "parse":
                        ctx.fail(f"{rp}.error", r, f"`{ename}` is not a declared validation error "
                                                   f"({', '.join(e for e in error_by_name if e != 'parse')})", "error")
                    err = error_by_name[ename]
                    details: list[tuple[Name, Operand]] = []
                    dnode2 = subst(r.get("details", {}), loop_field)
                    if not isinstance(dnode2, dict):
                        ctx.fail(f"{rp}.details", r, "expected a mapping of detail: operand", "details")
                    for dname in dnode2:
                        if dname not in [d.text for d in err.details]:
                            ctx.fail(f"{rp}.details.{dname}", r, f"error `{ename}` has no detail `{dname}`", "details")
                    for dname in err.details:
                        if dname.text not in dnode2:
                            ctx.fail(f"{rp}.details", r, f"error `{ename}` needs detail `{dname}`", "details")
                        o = operand(dnode2[dname.text], f"{rp}.details.{dname}", r, params, "details")
                        if not o.type.is_uint or o.kind == "derived":
                            ctx.fail(f"{rp}.details.{dname}", r, "details are unsigned fields, parameters or "
                                                                 "literals", "details")
                        details.append((dname, o))
                    message = subst(ctx.text(f"{rp}.message", r["message"], r, "message"), loop_field)
                    if "\n" in message or "\r" in message:
                        ctx.fail(f"{rp}.message", r, "a message is one line", "message")
                    parts: list[MessagePart] = []
                    pos = 0
                    for m in _PLACEHOLDER.finditer(message):
                        if m.start() > pos:
                            parts.append(MessagePart(text=message[pos:m.start()]))
                        o = operand(m.group(1), f"{rp}.message", r, params, "message")
                        if o.kind == "derived":
                            ctx.fail(f"{rp}.message", r, "a message cannot show a derived quantity", "message")
                        if o.kind == "const":
                            parts.append(MessagePart(text=str(o.const.value)))
                        elif o.kind == "literal":
                            parts.append(MessagePart(text=str(o.value)))
                        else:
                            parts.append(MessagePart(operand=o))
                        pos = m.end()
                    if pos < len(message):
                        parts.append(MessagePart(text=message[pos:]))
                    merged: list[MessagePart] = []
                    for part in parts:
                        if merged and part.operand is None and merged[-1].operand is None:
                            merged[-1] = MessagePart(text=merged[-1].text + part.text)
                        else:
                            merged.append(part)
                    concerned: list[Field] = []
                    for o in chk.operands:
                        for leaf in o.leaf_fields():
                            if leaf not in concerned:
                                concerned.append(leaf)
                    out.append(Rule(rid, chk, when, err, merged, details, concerned))
            return out

        seen_ids: dict = {}
        if "rules" in st:
            struct.rules = rules_of(st["rules"], f"{p}.rules", st, "rules", {}, seen_ids)
        for d in struct.derived:
            rule = next((r for r in struct.rules if r.id == d.overflow_id), None)
            if rule is None or rule.check.op != "fits_u64":
                ctx.fail(f"{d.path}.overflow", d.node, f"`{d.overflow_id}` is not a fits_u64 rule of this struct",
                         "overflow")
            d.overflow = rule
        cnode2 = ctx.seq(f"{p}.checks", st.get("checks", []), st, "checks", nonempty=False)
        for j, c in enumerate(cnode2):
            cp = f"{p}.checks[{j}]"
            c = ctx.mapping(cp, c, {"name", "doc", "rules"}, {"params"}, at=(cnode2, j))
            params: dict[str, Param] = {}
            pnodes = ctx.seq(f"{cp}.params", c.get("params", []), c, "params", nonempty=False)
            for k, prm in enumerate(pnodes):
                pp = f"{cp}.params[{k}]"
                prm = ctx.mapping(pp, prm, {"name", "type", "doc"}, at=(pnodes, k))
                pname = ctx.snake(f"{pp}.name", prm["name"], prm, "name")
                if pname.text in field_by_name or pname.text in params:
                    ctx.fail(f"{pp}.name", prm, f"`{pname}` is already a field or parameter name", "name")
                params[pname.text] = Param(pname, type_ref(f"{pp}.type", prm["type"], prm, "type"),
                                           ctx.text(f"{pp}.doc", prm["doc"], prm, "doc"))
            rules = rules_of(c["rules"], f"{cp}.rules", c, "rules", params, seen_ids)
            struct.checks.append(NamedCheck(ctx.snake(f"{cp}.name", c["name"], c, "name"),
                                            ctx.text(f"{cp}.doc", c["doc"], c, "doc"), list(params.values()), rules))
        for k, rule in enumerate(struct.all_rules):  # validate()'s rules first, then each named check's
            rule.index = k
        structs.append(struct)
    _unique(ctx, "structs", snode, structs, "struct name", lambda x: x.name.text)

    return Schema(display, Path(display).stem, schema_id, namespace, schema_doc, flatbuffers, constants, errors,
                  enums, structs, fingerprint)
