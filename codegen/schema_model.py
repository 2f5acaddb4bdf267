"""Loads a schema document, checks it, and builds the model the templates render.

Nothing is rendered from a schema that has not passed every check here. Each failure names the file, the line
and the key path that is wrong, e.g.
    schema/x.yaml:88: structs[0].rules[3].when.batch: `batch` is not an enum field (it is u32)

The model itself is in model.py, the line-tracking YAML loader in yaml_lines.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any

from model import (SCALAR_TYPES, UINT_TYPES, Attribute, Check, Claim, Condition, Constant, Derived, Enum, EnumValue,
                   ErrorKind, Field, FlatBuffersOptions, Library, MessagePart, NamedCheck, Operand, Param, Rule, Schema,
                   SchemaError, Struct, Tensor, TypeRef)
import targets
from names import Name
from yaml_lines import _LineDict, _LineList, join_path, plain, read_document


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
        raise SchemaError(f"{where}: {path}: {message}" if path else f"{where}: {message}")

    def mapping(self, path: str, node: Any, required: set[str], optional: set[str] = frozenset(),
                at: tuple[Any, Any] = (None, None)) -> _LineDict:
        """`node` as a mapping with these keys; `at` is (container, key or index) where it was written."""
        if not isinstance(node, dict):
            self.fail(path, at[0], f"expected a mapping, found {type(node).__name__}", at[1])
        for key in node:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted(required | set(optional)))
                self.fail(join_path(path, key), node, f"unknown key `{key}` (allowed: {allowed})", key)
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
        if (why := targets.reserved(node)) is not None:
            self.fail(path, parent, f"`{node}` is reserved: {why}", key)
        return Name(node)

    def pascal(self, path: str, node: Any, parent: Any, key: Any) -> Name:
        if not Name.is_pascal(node):
            self.fail(path, parent, f"{node!r} is not a PascalCase name", key)
        if (why := targets.reserved(node)) is not None:
            self.fail(path, parent, f"`{node}` is reserved: {why}", key)
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
            message = f"duplicate {what} `{k}` (first at {path}[{seen[k]}])"
            if isinstance(node, list) and not isinstance(node[i], dict):
                ctx.fail(f"{path}[{i}]", node, message, i)  # a plain item (a file name): the list knows its line
            ctx.fail(f"{path}[{i}]", node[i] if isinstance(node, list) else None, message)
        seen[k] = i


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _fingerprint(*docs: Any) -> str:
    text = "".join(json.dumps(plain(d), sort_keys=True, separators=(",", ":"), ensure_ascii=False) for d in docs)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_library(path: Path, display: str | None = None) -> Library:
    """Loads and checks the library document: the namespace, the error kinds and the list of schema documents."""
    display = display or str(path)
    ctx = _Ctx(display)
    doc = read_document(path, display)
    root = ctx.mapping("", doc, {"library", "errors", "schemas"})
    head = ctx.mapping("library", root["library"], {"name", "namespace", "doc"})
    name = ctx.snake("library.name", head["name"], head, "name").text
    namespace = ctx.snake("library.namespace", head["namespace"], head, "namespace").text
    doc_text = ctx.text("library.doc", head["doc"], head, "doc")
    errors = _errors(ctx, root)
    snode = ctx.seq("schemas", root["schemas"], root, "schemas")
    paths: list[str] = []
    for i, s in enumerate(snode):
        if not isinstance(s, str) or not re.fullmatch(r"[a-z][a-z0-9_]*\.yaml", s):
            ctx.fail(f"schemas[{i}]", snode, f"{s!r} is not a schema file name: a snake_case name ending in `.yaml`, "
                                             "in the library document's folder (e.g. `kv_page_table_v1.yaml`)", i)
        if (path.parent / s).resolve() == path.resolve():
            ctx.fail(f"schemas[{i}]", snode, "the library document cannot list itself", i)
        paths.append(s)
    _unique(ctx, "schemas", snode, paths, "schema file", lambda x: x)
    for i, s in enumerate(paths):
        if not (path.parent / s).is_file():
            ctx.fail(f"schemas[{i}]", snode, f"`{s}` does not exist next to the library document "
                                             f"({(Path(display).parent / s).as_posix()})", i)
    return Library(display, name, namespace, doc_text, errors, paths, _fingerprint(doc))


def load(path: Path, display: str | None, library: Library, loaded: dict[str, Schema] | None = None) -> Schema:
    """Loads and checks one schema document of `library`. `display` is the path printed in messages and headers.
    `loaded` holds the library's schemas read so far, by file name: the ones `imports` may name."""
    display = display or str(path)
    ctx = _Ctx(display)
    doc = read_document(path, display)

    root = ctx.mapping("", doc, {"schema", "enums", "structs", "flatbuffers"}, {"constants", "imports"})
    stem = Path(display).stem
    if not Name.is_snake(stem):
        ctx.fail("", None, f"the file name `{stem}` is not snake_case (it prefixes the schema's symbols)")
    fingerprint = _fingerprint(doc, library.fingerprint)

    head = ctx.mapping("schema", root["schema"], {"id", "doc"})
    schema_id = ctx.text("schema.id", head["id"], head, "id")
    schema_doc = ctx.text("schema.doc", head["doc"], head, "doc")

    flatbuffers = _flatbuffers(ctx, root)
    constants = _constants(ctx, root, Name(stem))
    imports = _imports(ctx, root, loaded or {})
    enums = _enums(ctx, root)
    for e in enums:
        e.owner = stem
    enum_by_name = {e.name.text: e for e in enums}
    for imp in imports:
        for e in imp.enums:
            if e.name.text in enum_by_name:
                ctx.fail("imports", root, f"enum `{e.name.text}` of {imp.source} is also defined here", "imports")
            enum_by_name[e.name.text] = e
    names = _Names(ctx, enum_by_name, {c.name.text: c for c in constants},
                   {e.name.text: e for e in library.errors})
    structs = _structs(names, root)
    flatbuffers.root = _flatbuffers_root(ctx, root, structs)

    def line(node: _LineDict, key: str) -> int:
        return node.key_lines.get(key, node.line)

    claims = [Claim("schema id", schema_id, line(head, "id"), "schema.id"),
              Claim("file identifier", flatbuffers.file_identifier, line(root["flatbuffers"], "file_identifier"),
                    "flatbuffers.file_identifier")]
    for kind, items in (("enums", enums), ("structs", structs)):
        claims += [Claim("type name", item.name.pascal, line(root[kind][i], "name"), f"{kind}[{i}].name")
                   for i, item in enumerate(items)]
    # The types the generated code adds in the namespace for each struct: its FlatBuffers view.
    claims += [Claim("type name", f"{st.name.pascal}View", line(root["structs"][i], "name"), f"structs[{i}].name")
               for i, st in enumerate(structs)]
    schema = Schema(display, stem, schema_id, schema_doc, library, flatbuffers, constants, enums, structs,
                    fingerprint, claims, imports)
    if not schema.is_flat:
        _check_composite(ctx, root, schema)
    return schema


def _imports(ctx: _Ctx, root: _LineDict, loaded: dict[str, Schema]) -> list[Schema]:
    """The schemas whose enums this one uses by reference: each listed before this one in the library document."""
    out: list[Schema] = []
    inode = ctx.seq("imports", root.get("imports", []), root, "imports", nonempty=False)
    for i, name in enumerate(inode):
        if name not in loaded:
            ctx.fail(f"imports[{i}]", inode, f"{name!r} is not a schema listed before this one in the library "
                                             f"document ({', '.join(loaded) or 'none is'})", i)
        out.append(loaded[name])
    _unique(ctx, "imports", inode, [s.stem for s in out], "import", lambda x: x)
    return out


def _check_composite(ctx: _Ctx, root: _LineDict, schema: Schema) -> None:
    """What the composite outputs need: one root struct that nests the others, with a schema_version field."""
    rootst = schema.root
    if rootst is not schema.structs[-1]:
        ctx.fail("flatbuffers.root", root["flatbuffers"], "in a schema with nested structs the root is the last "
                 "struct (nested structs are declared before the structs that hold them)", "root")
    for st in schema.structs:
        if any(d.native for d in st.derived) and st is not rootst:
            ctx.fail("structs", root, f"`{st.name.text}`: native derived counts belong to the root struct", "structs")
        if st.checks or st.tensor:
            ctx.fail("structs", root, f"`{st.name.text}`: named checks and tensor blocks are for flat schemas", "structs")


_CLAIM_REASONS = {
    "type name": "the schemas of {library} share the namespace `{namespace}`",
    "schema id": "a schema id names one schema (it starts the domain tag of every digest)",
    "file identifier": "a buffer's file identifier must say which schema's root table it holds",
}


def check_together(library: Library, schemas: list[Schema]) -> None:
    """What no single document can check: the schemas of one library must not define the same type name, schema
    id or FlatBuffers file identifier twice. (Their stems differ: the library lists each file once, in one
    folder.) The error names the second definition, and the first by file, line and key path."""
    seen: dict[tuple[str, str], tuple[Schema, Claim]] = {}
    for s in schemas:
        for claim in s.claims:
            first = seen.setdefault((claim.what, claim.value), (s, claim))
            if first[0] is not s:
                other, at = first
                reason = _CLAIM_REASONS[claim.what].format(library=library.source, namespace=library.namespace)
                raise SchemaError(f"{s.source}:{claim.line}: {claim.path}: {claim.what} `{claim.value}` is already "
                                  f"defined by {other.source}:{at.line} ({at.path}); {reason}")


# ----------------------------------------------------------------------- the schema's head, constants, errors, enums


def _flatbuffers(ctx: _Ctx, root: _LineDict) -> FlatBuffersOptions:
    fbn = ctx.mapping("flatbuffers", root["flatbuffers"], {"namespace", "file_identifier", "file_extension"},
                      {"root"})
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
    return FlatBuffersOptions(fb_ns, fb_id, fb_ext)


def _flatbuffers_root(ctx: _Ctx, root: _LineDict, structs: list[Struct]) -> Struct:
    """The struct a whole buffer holds: `flatbuffers.root`, which may be left out when there is one struct."""
    fbn = root["flatbuffers"]
    if "root" not in fbn:
        if len(structs) == 1:
            return structs[0]
        ctx.fail("flatbuffers", root, f"{len(structs)} structs ({', '.join(s.name.text for s in structs)}): "
                                      "name the one a whole buffer holds with `root`", "flatbuffers")
    found = next((s for s in structs if s.name.text == fbn["root"]), None)
    if found is None:
        ctx.fail("flatbuffers.root", fbn, f"`{fbn['root']}` is not a struct of this schema "
                                          f"(structs: {', '.join(s.name.text for s in structs)})", "root")
    return found


def _constants(ctx: _Ctx, root: _LineDict, scope: Name) -> list[Constant]:
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
            ctx.code(f"{p}.value", value, body, "value", UINT_TYPES[ctype][1])
        constants.append(Constant(name, TypeRef(ctype), value, ctx.text(f"{p}.doc", body["doc"], body, "doc"), scope))
    return constants


def _errors(ctx: _Ctx, root: _LineDict) -> list[ErrorKind]:
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
    return errors


def _enums(ctx: _Ctx, root: _LineDict) -> list[Enum]:
    enums: list[Enum] = []
    enums_node = ctx.seq("enums", root["enums"], root, "enums")
    for i, en in enumerate(enums_node):
        p = f"enums[{i}]"
        en = ctx.mapping(p, en, {"name", "doc", "values"}, {"attributes"}, at=(enums_node, i))
        attrs = _enum_attributes(ctx, p, en)
        values: list[EnumValue] = []
        vnode = ctx.seq(f"{p}.values", en["values"], en, "values")
        for j, v in enumerate(vnode):
            vp = f"{p}.values[{j}]"
            v = ctx.mapping(vp, v, {"name", "code", "doc"}, {a.name.text for a in attrs}, at=(vnode, j))
            avals = {}
            for a in attrs:
                if a.name.text not in v:
                    if a.optional:
                        avals[a.name.text] = ""
                        continue
                    ctx.fail(vp, v, f"missing attribute `{a.name.text}`")
                if a.type.is_string:
                    avals[a.name.text] = ctx.text(f"{vp}.{a.name.text}", v[a.name.text], v, a.name.text)
                else:
                    avals[a.name.text] = ctx.code(f"{vp}.{a.name.text}", v[a.name.text], v, a.name.text, a.type.max)
            values.append(EnumValue(ctx.snake(f"{vp}.name", v["name"], v, "name"),
                                    ctx.code(f"{vp}.code", v["code"], v, "code", 0xFFFFFFFF),
                                    ctx.text(f"{vp}.doc", v["doc"], v, "doc"), avals, j))
        _unique(ctx, f"{p}.values", vnode, values, "enum value name", lambda x: x.name.text)
        _unique(ctx, f"{p}.values", vnode, values, "enum code", lambda x: x.code)
        enums.append(Enum(ctx.pascal(f"{p}.name", en["name"], en, "name"),
                          ctx.text(f"{p}.doc", en["doc"], en, "doc"), values, attrs))
    _unique(ctx, "enums", enums_node, enums, "enum name", lambda x: x.name.text)
    return enums


def _enum_attributes(ctx: _Ctx, p: str, en: _LineDict) -> list[Attribute]:
    attrs: list[Attribute] = []
    anode = en.get("attributes") or {}
    if not isinstance(anode, dict):
        ctx.fail(f"{p}.attributes", en, "expected a mapping of name: {type, doc}", "attributes")
    for aname, abody in anode.items():
        ap = f"{p}.attributes.{aname}"
        abody = ctx.mapping(ap, abody, {"type", "doc"}, {"optional"})
        if abody["type"] not in SCALAR_TYPES:
            ctx.fail(f"{ap}.type", abody, f"attribute type must be one of {', '.join(sorted(SCALAR_TYPES))}", "type")
        optional = abody.get("optional", False)
        if not isinstance(optional, bool) or (optional and abody["type"] != "string"):
            ctx.fail(f"{ap}.optional", abody, "only a string attribute may be optional (true or false)", "optional")
        attrs.append(Attribute(ctx.snake(ap, aname, anode, aname), TypeRef(abody["type"]),
                               ctx.text(f"{ap}.doc", abody["doc"], abody, "doc"), optional))
    return attrs


# ------------------------------------------------------------------------------------------------- structs


@dataclass
class _Names:
    """What the parts of a struct may name: the schema's enums, constants and errors by name and, while one
    struct is being read, its fields and the derived quantities declared so far."""

    ctx: _Ctx
    enum_by_name: dict[str, Enum]
    const_by_name: dict[str, Constant]
    error_by_name: dict[str, ErrorKind]
    field_by_name: dict[str, Field] = dc_field(default_factory=dict)
    derived_by_name: dict[str, Derived] = dc_field(default_factory=dict)
    struct_by_name: dict[str, Struct] = dc_field(default_factory=dict)  # declared before the one being read

    def type_ref(self, p: str, node: Any, parent: Any, key: Any) -> TypeRef:
        if node in SCALAR_TYPES:
            return TypeRef(node)
        if node in self.enum_by_name:
            return TypeRef(node, self.enum_by_name[node])
        if node in self.struct_by_name:
            return TypeRef(node, struct=self.struct_by_name[node])
        self.ctx.fail(p, parent, f"unknown type `{node}` (scalars: {', '.join(sorted(SCALAR_TYPES))}; "
                                 f"enums: {', '.join(self.enum_by_name) or 'none'}; structs declared above: "
                                 f"{', '.join(self.struct_by_name) or 'none'})", key)

    def path(self, op: str, rp: str, rnode: Any, key: str) -> Operand:
        """A dotted path through nested struct fields (`quant.group_size`, `groups[].kv_heads`), ending in a field
        or in an attribute of an enum field (`quant.scheme.block_elems`)."""
        ctx = self.ctx
        parts = op.split(".")
        fields, steps = self.field_by_name, []
        for k, part in enumerate(parts):
            each = part.endswith("[]")
            fname = part[:-2] if each else part
            fld = fields.get(fname) if fields is not None else None
            if fld is None:
                prev = steps[-1][0] if steps else None
                if prev is not None and prev.type.is_enum and k == len(parts) - 1 and not each:
                    attr = next((a for a in prev.type.enum.attributes if a.name.text == fname), None)
                    if attr is not None:
                        return Operand("attr", attr.type, name=Name(fname), field=prev, attr=attr, steps=steps)
                ctx.fail(rp, rnode, f"`{op}`: `{fname}` is not a field here", key)
            if (each and not fld.is_array) or (fld.is_array and not each and k < len(parts) - 1):
                ctx.fail(rp, rnode, f"`{op}`: `{fname}` " + ("is not an array" if each else
                                                             "is an array: write `" + fname + "[]`"), key)
            steps.append((fld, each))
            fields = {f.name.text: f for f in fld.type.struct.fields} if fld.type.is_struct else None
        last = steps[-1][0]
        if last.type.is_struct:
            ctx.fail(rp, rnode, f"`{op}` is a struct, not a value", key)
        if sum(1 for _, each in steps if each) > 1:
            ctx.fail(rp, rnode, f"`{op}` ranges over two arrays", key)
        return Operand("field", last.type, name=last.name, field=last, steps=steps)

    def operand(self, op: Any, rp: str, rnode: Any, params: dict[str, Param], key: str = "check") -> Operand:
        ctx = self.ctx
        if isinstance(op, bool):
            ctx.fail(rp, rnode, f"{op!r} is not an operand", key)
        if isinstance(op, int):
            if op < 0 or op > UINT_TYPES["u64"][1]:
                ctx.fail(rp, rnode, f"literal {op} is out of range", key)
            return Operand("literal", TypeRef("u64"), value=op)
        if isinstance(op, dict) and set(op) == {"add"} and isinstance(op["add"], list) and len(op["add"]) == 2:
            terms = [self.operand(t, rp, rnode, params, key) for t in op["add"]]
            if not all(t.type.is_uint and t.kind != "derived" for t in terms):
                ctx.fail(rp, rnode, "`add` takes two unsigned fields, parameters, constants or literals", key)
            return Operand("add", TypeRef("u64"), name=Name("add"), terms=terms)
        if isinstance(op, str):
            if op in self.field_by_name:
                fld = self.field_by_name[op]
                return Operand("field", fld.type, name=fld.name, field=fld, steps=[(fld, False)])
            if ("." in op or "[]" in op) and re.fullmatch(r"[a-z0-9_]+(\[\])?(\.[a-z0-9_]+(\[\])?)+|[a-z0-9_]+\[\]", op):
                return self.path(op, rp, rnode, key)
            if op in self.derived_by_name:
                return Operand("derived", TypeRef("u64"), name=Name(op), derived=self.derived_by_name[op])
            if op in params:
                prm = params[op]
                return Operand("param", prm.type, name=prm.name, param=prm)
            if op in self.const_by_name:
                c = self.const_by_name[op]
                return Operand("const", c.type, name=c.name, const=c)
        ctx.fail(rp, rnode, f"`{op}` names no field, derived quantity, parameter or constant", key)


def _structs(schema_names: _Names, root: _LineDict) -> list[Struct]:
    ctx = schema_names.ctx
    structs: list[Struct] = []
    snode = ctx.seq("structs", root["structs"], root, "structs")
    for i, st in enumerate(snode):
        p = f"structs[{i}]"
        st = ctx.mapping(p, st, {"name", "doc", "fields"}, {"derived", "rules", "checks", "tensor"}, at=(snode, i))
        names = _Names(ctx, schema_names.enum_by_name, schema_names.const_by_name, schema_names.error_by_name,
                       struct_by_name={s.name.text: s for s in structs})
        fields = _fields(names, p, st)
        struct = Struct(ctx.pascal(f"{p}.name", st["name"], st, "name"), ctx.text(f"{p}.doc", st["doc"], st, "doc"),
                        fields, [], [], [])
        names.field_by_name = {f.name.text: f for f in fields}
        struct.derived = _derived(names, p, st)

        seen_ids: dict = {}
        if "rules" in st:
            struct.rules = _rules(names, st["rules"], f"{p}.rules", st, "rules", {}, seen_ids)
        for d in struct.derived:
            rule = next((r for r in struct.rules if r.id == d.overflow_id), None)
            if rule is None or rule.check.op != "fits_u64":
                ctx.fail(f"{d.path}.overflow", d.node, f"`{d.overflow_id}` is not a fits_u64 rule of this struct",
                         "overflow")
            d.overflow = rule
        struct.checks = _named_checks(names, p, st, seen_ids)
        if "tensor" in st:
            struct.tensor = _tensor(names, p, st, struct)
        for k, rule in enumerate(struct.all_rules):  # validate()'s rules first, then each named check's
            rule.index = k
        structs.append(struct)
    _unique(ctx, "structs", snode, structs, "struct name", lambda x: x.name.text)
    return structs


TENSOR_FRAMEWORKS = ("torch", "numpy")  # the array libraries a `tensor` block may name dtypes for


def _tensor(names: _Names, p: str, st: _LineDict, struct: Struct) -> Tensor:
    ctx = names.ctx
    tp = f"{p}.tensor"
    node = ctx.mapping(tp, st["tensor"], {"doc", "shape", "dtype", "dtype_names", "element_bytes"}, at=(st, "tensor"))
    shape = next((d for d in struct.derived if d.name.text == node["shape"]), None)
    if shape is None:
        ctx.fail(f"{tp}.shape", node, f"`{node['shape']}` is not a derived product of this struct", "shape")
    leaves = [leaf for f in shape.factors for leaf in f.leaf_operands()]
    if any(leaf.kind != "field" for leaf in leaves):
        ctx.fail(f"{tp}.shape", node, f"`{shape.name.text}` has factors that are not fields, so they are not "
                                      f"dimensions of a tensor", "shape")
    dtype = struct.field(node["dtype"]) if isinstance(node["dtype"], str) else None
    if dtype is None or not dtype.type.is_enum:
        ctx.fail(f"{tp}.dtype", node, f"`{node['dtype']}` is not an enum field of this struct", "dtype")
    dnode = ctx.mapping(f"{tp}.dtype_names", node["dtype_names"], set(), set(TENSOR_FRAMEWORKS),
                        at=(node, "dtype_names"))
    dtype_names = {}
    for framework, attr_name in dnode.items():
        attr = next((a for a in dtype.type.enum.attributes if a.name.text == attr_name), None)
        if attr is None or not attr.type.is_string:
            ctx.fail(f"{tp}.dtype_names.{framework}", dnode, f"`{attr_name}` is not a string attribute of enum "
                                                             f"{dtype.type.enum.name.text}", framework)
        dtype_names[framework] = attr
    size = next((a for a in dtype.type.enum.attributes if a.name.text == node["element_bytes"]), None)
    if size is None or not size.type.is_uint:
        ctx.fail(f"{tp}.element_bytes", node, f"`{node['element_bytes']}` is not an integer attribute of enum "
                                             f"{dtype.type.enum.name.text}", "element_bytes")
    return Tensor(ctx.text(f"{tp}.doc", node["doc"], node, "doc"), shape, [leaf.field for leaf in leaves], dtype,
                  dtype_names, size)


def _fields(names: _Names, p: str, st: _LineDict) -> list[Field]:
    ctx = names.ctx
    fields: list[Field] = []
    fnode = ctx.seq(f"{p}.fields", st["fields"], st, "fields")
    for j, f in enumerate(fnode):
        fp = f"{p}.fields[{j}]"
        f = ctx.mapping(fp, f, {"name", "type", "doc"}, {"default", "optional", "max_items"}, at=(fnode, j))
        ftype = names.type_ref(f"{fp}.type", f["type"], f, "type")
        optional = f.get("optional", False)
        if not isinstance(optional, bool):
            ctx.fail(f"{fp}.optional", f, "expected true or false", "optional")
        max_items = None
        if "max_items" in f:
            max_items = ctx.code(f"{fp}.max_items", f["max_items"], f, "max_items", 0xFFFFFFFF)
            if max_items == 0:
                ctx.fail(f"{fp}.max_items", f, "an array holds at least one item", "max_items")
            if optional:
                ctx.fail(f"{fp}.optional", f, "an array is not optional: it may be empty", "optional")
        if optional and ftype.is_struct:
            ctx.fail(f"{fp}.optional", f, "a nested struct is not optional", "optional")
        if (optional or max_items is not None) and "default" in f:
            ctx.fail(f"{fp}.default", f, "optional fields and arrays have no default", "default")
        default = None
        if "default" in f:
            default = names.const_by_name.get(f["default"])
            if default is None:
                ctx.fail(f"{fp}.default", f, f"`{f['default']}` is not a declared constant", "default")
            if default.type.name != ftype.name:
                ctx.fail(f"{fp}.default", f, f"constant `{default.name}` is {default.type.wire}, "
                                             f"the field is {ftype.wire}", "default")
        fields.append(Field(ctx.snake(f"{fp}.name", f["name"], f, "name"), ftype,
                            ctx.text(f"{fp}.doc", f["doc"], f, "doc"), default, j, optional, max_items))
    _unique(ctx, f"{p}.fields", fnode, fields, "field name", lambda x: x.name.text)
    return fields


def _derived(names: _Names, p: str, st: _LineDict) -> list[Derived]:
    """The struct's derived quantities, in order; each is added to `names` as it is read, for the next ones."""
    ctx, field_by_name, derived_by_name = names.ctx, names.field_by_name, names.derived_by_name
    out: list[Derived] = []
    dnode = ctx.seq(f"{p}.derived", st.get("derived", []), st, "derived", nonempty=False)
    for j, d in enumerate(dnode):
        dp = f"{p}.derived[{j}]"
        d = ctx.mapping(dp, d, {"name", "doc", "overflow"}, {"product", "native"}, at=(dnode, j))
        dname = ctx.snake(f"{dp}.name", d["name"], d, "name")
        if dname.text in field_by_name or dname.text in derived_by_name:
            ctx.fail(f"{dp}.name", d, f"`{dname}` is already a field or derived name", "name")
        if ("native" in d) == ("product" in d) or d.get("native", True) is not True:
            ctx.fail(dp, d, "a derived quantity is either a `product` or `native: true` (handwritten)")
        if "native" in d:
            derived = Derived(dname, ctx.text(f"{dp}.doc", d["doc"], d, "doc"), [],
                              overflow_id=ctx.text(f"{dp}.overflow", d["overflow"], d, "overflow"), native=True)
            derived.node, derived.path = d, dp
            derived_by_name[dname.text] = derived
            out.append(derived)
            continue
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
        out.append(derived)
    return out


def _named_checks(names: _Names, p: str, st: _LineDict, seen_ids: dict) -> list[NamedCheck]:
    ctx, field_by_name = names.ctx, names.field_by_name
    out: list[NamedCheck] = []
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
            if (why := targets.reserved_parameter(pname.text)) is not None:
                ctx.fail(f"{pp}.name", prm, f"`{pname}` is reserved for a parameter: {why}", "name")
            params[pname.text] = Param(pname, names.type_ref(f"{pp}.type", prm["type"], prm, "type"),
                                       ctx.text(f"{pp}.doc", prm["doc"], prm, "doc"))
        rules = _rules(names, c["rules"], f"{cp}.rules", c, "rules", params, seen_ids)
        out.append(NamedCheck(ctx.snake(f"{cp}.name", c["name"], c, "name"),
                              ctx.text(f"{cp}.doc", c["doc"], c, "doc"), list(params.values()), rules))
    return out


# --------------------------------------------------------------------------------------------------- rules


def _subst(value: Any, loop_field: str | None) -> Any:
    """`value` with `{field}` replaced by the field a `for_each` rule is being read for."""
    if loop_field is None:
        return value
    if isinstance(value, str):
        return value.replace("{field}", loop_field)
    if isinstance(value, list):
        return [_subst(v, loop_field) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, loop_field) for k, v in value.items()}
    return value


def _rules(names: _Names, node: Any, rp0: str, parent: Any, key: str, params: dict[str, Param],
           seen_ids: dict) -> list[Rule]:
    """The rules of validate() or of one named check; `seen_ids` holds the struct's rule ids (and their code
    spellings) read so far."""
    ctx = names.ctx
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
                if fname not in names.field_by_name:
                    ctx.fail(f"{rp}.for_each[{k}]", r, f"`{fname}` is not a field", "for_each")

        for loop_field in loop:
            rid = _subst(ctx.text(f"{rp}.id", r["id"], r, "id"), loop_field)
            if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", rid):
                ctx.fail(f"{rp}.id", r, f"rule id `{rid}` must be dotted snake_case", "id")
            if rid in seen_ids:
                ctx.fail(f"{rp}.id", r, f"duplicate rule id `{rid}` (first at {seen_ids[rid]})", "id")
            symbol = rid.replace(".", "_")
            if symbol in seen_ids:
                ctx.fail(f"{rp}.id", r, f"rule id `{rid}` reads as `{symbol}` in code, as does "
                                        f"another rule's (first at {seen_ids[symbol]})", "id")
            seen_ids[rid] = seen_ids[symbol] = rp
            chk = _rule_check(names, rp, r, _subst(r["check"], loop_field), params)
            when = _rule_when(names, rp, r, _subst(r.get("when", {}), loop_field))
            err, details = _rule_error(names, rp, r, _subst(r.get("details", {}), loop_field), params)
            message = _subst(ctx.text(f"{rp}.message", r["message"], r, "message"), loop_field)
            merged = _rule_message(names, rp, r, message, params)
            concerned: list[Field] = []
            for o in chk.operands:
                for leaf in o.leaf_fields():
                    if leaf not in concerned:
                        concerned.append(leaf)
            out.append(Rule(rid, chk, when, err, merged, details, concerned))
    return out


def _rule_check(names: _Names, rp: str, r: _LineDict, check: Any, params: dict[str, Param]) -> Check:
    ctx, operand = names.ctx, names.operand
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
    elif op in ("present", "absent"):
        a = operand(args, cp, r, params)
        if a.kind != "field" or not a.field.optional:
            ctx.fail(cp, r, f"`{op}` applies to optional fields, `{args}` is not one", "check")
        chk = Check(op, [a])
    elif op in ("distinct", "count", "contains", "excludes", "partition"):
        arity = {"distinct": 1, "count": 3, "contains": 2, "excludes": 2, "partition": 2}[op]
        items = [args] if arity == 1 else args
        if not isinstance(items, list) or len(items) != arity:
            ctx.fail(cp, r, f"`{op}` takes " + {"distinct": "an array field", "count": "[array, min, max]",
                                                "contains": "[array, [values]]", "excludes": "[array, [values]]",
                                                "partition": "[array_path, count]"}[op], "check")
        a = operand(items[0], cp, r, params)
        last_is_array = a.kind == "field" and a.steps and a.steps[-1][0].is_array and not a.steps[-1][1]
        if op == "partition":
            if a.kind != "field" or a.each_step is None or not a.field.is_array or not a.type.is_uint:
                ctx.fail(cp, r, f"`partition` takes the path of an array of integers inside an array "
                                f"(`groups[].layers`), `{items[0]}` is not one", "check")
            n = operand(items[1], cp, r, params)
            if not n.type.is_uint or n.kind == "derived":
                ctx.fail(cp, r, "`partition`'s count is unsigned", "check")
            chk = Check(op, [a, n])
        else:
            if not last_is_array or a.each_step is not None:
                ctx.fail(cp, r, f"`{op}` applies to an array field, `{items[0]}` is not one", "check")
            if op == "count":
                lo, hi = (operand(x, cp, r, params) for x in items[1:])
                if not all(x.kind in ("literal", "const") and x.type.is_uint for x in (lo, hi)):
                    ctx.fail(cp, r, "`count` bounds are integer literals or constants", "check")
                chk = Check(op, [a, lo, hi])
            elif op == "distinct":
                if a.type.is_struct or a.type.is_string:
                    ctx.fail(cp, r, "`distinct` compares integers or enum values", "check")
                chk = Check(op, [a])
            else:
                if not a.type.is_enum or not isinstance(items[1], list):
                    ctx.fail(cp, r, f"`{op}` takes [enum array, [values...]]", "check")
                vals = []
                for v in items[1]:
                    ev = a.type.enum.value(v) if isinstance(v, str) else None
                    if ev is None:
                        ctx.fail(cp, r, f"`{v}` is not a value of enum {a.type.enum.name}", "check")
                    vals.append(ev)
                chk = Check(op, [a], vals)
    elif op == "le":
        if not isinstance(args, list) or len(args) != 2:
            ctx.fail(cp, r, "`le` takes a list of two operands", "check")
        a, b = (operand(x, cp, r, params) for x in args)
        if not (a.type.is_uint and b.type.is_uint):
            ctx.fail(cp, r, "`le` takes unsigned integer operands", "check")
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
        ctx.fail(cp, r, f"unknown check operator `{op}` (known: eq, nonzero, divisible, in, known, fits_u64, "
                        "present, absent, count, distinct, contains, excludes, partition, le)", "check")
    arrays = {tuple(id(f) for f, _ in o.steps[:o.each_step + 1]) for o in chk.operands
              if o.kind in ("field", "attr") and o.each_step is not None}
    if len(arrays) > 1:
        ctx.fail(cp, r, "a rule ranges over one array at most", "check")
    if op != "fits_u64" and any(o.kind == "derived" for o in chk.operands):
        ctx.fail(cp, r, "derived quantities may overflow: only `fits_u64` takes one", "check")
    return chk


def _rule_when(names: _Names, rp: str, r: _LineDict, wnode: Any) -> list[Condition]:
    ctx = names.ctx
    when: list[Condition] = []
    if not isinstance(wnode, dict):
        ctx.fail(f"{rp}.when", r, "expected a mapping of enum_field: value(s)", "when")
    for wf, wv in wnode.items():
        wp = f"{rp}.when.{wf}"
        if "." in wf or "[]" in wf:
            o = names.operand(wf, wp, r, {}, "when")
            fld = o.field if o.kind == "field" else None
        else:
            fld = names.field_by_name.get(wf)
            o = Operand("field", fld.type, name=fld.name, field=fld, steps=[(fld, False)]) if fld else None
        if fld is None:
            ctx.fail(wp, r, f"`{wf}` is not a field", "when")
        if fld.is_array:
            ctx.fail(wp, r, f"`{wf}` is an array", "when")
        if fld.type.is_uint and wv in ("zero", "nonzero"):
            when.append(Condition(fld, [], wv, o))
            continue
        if not fld.type.is_enum:
            ctx.fail(wp, r, f"`{wf}` is not an enum field (it is {fld.type.wire})", "when")
        vals = []
        for v in (wv if isinstance(wv, list) else [wv]):
            ev = fld.type.enum.value(v) if isinstance(v, str) else None
            if ev is None:
                ctx.fail(wp, r, f"`{v}` is not a value of enum {fld.type.enum.name}", "when")
            vals.append(ev)
        when.append(Condition(fld, vals, "in", o))
    return when


def _rule_error(names: _Names, rp: str, r: _LineDict, dnode2: Any,
                params: dict[str, Param]) -> tuple[ErrorKind, list[tuple[Name, Operand]]]:
    """The rule's error kind and the operand of each of its details."""
    ctx, error_by_name = names.ctx, names.error_by_name
    ename = r["error"]
    if ename not in error_by_name or ename == "parse":
        ctx.fail(f"{rp}.error", r, f"`{ename}` is not a declared validation error "
                                   f"({', '.join(e for e in error_by_name if e != 'parse')})", "error")
    err = error_by_name[ename]
    details: list[tuple[Name, Operand]] = []
    if not isinstance(dnode2, dict):
        ctx.fail(f"{rp}.details", r, "expected a mapping of detail: operand", "details")
    for dname in dnode2:
        if dname not in [d.text for d in err.details]:
            ctx.fail(f"{rp}.details.{dname}", r, f"error `{ename}` has no detail `{dname}`", "details")
    for dname in err.details:
        if dname.text not in dnode2:
            ctx.fail(f"{rp}.details", r, f"error `{ename}` needs detail `{dname}`", "details")
        o = names.operand(dnode2[dname.text], f"{rp}.details.{dname}", r, params, "details")
        if not o.type.is_uint or o.kind == "derived":
            ctx.fail(f"{rp}.details.{dname}", r, "details are unsigned fields, parameters or "
                                                 "literals", "details")
        details.append((dname, o))
    return err, details


def _rule_message(names: _Names, rp: str, r: _LineDict, message: str,
                  params: dict[str, Param]) -> list[MessagePart]:
    """The message as text and the operands its `{name}` placeholders show; a constant or a literal is written
    in as text, and adjacent text parts are merged."""
    ctx = names.ctx
    if "\n" in message or "\r" in message:
        ctx.fail(f"{rp}.message", r, "a message is one line", "message")
    parts: list[MessagePart] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(message):
        if m.start() > pos:
            parts.append(MessagePart(text=message[pos:m.start()]))
        o = names.operand(m.group(1), f"{rp}.message", r, params, "message")
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
    return merged
