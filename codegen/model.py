"""The schema model: what a checked schema document is, as the templates read it.

codegen/schema_model.py builds these from a document, after checking it; nothing here checks anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

from names import Name


class SchemaError(Exception):
    """A schema document that breaks a rule of the schema language."""


UINT_TYPES = {  # name: (bits, largest value); how a target spells them is the target's (codegen/targets/)
    "u8": (8, 0xFF),
    "u16": (16, 0xFFFF),
    "u32": (32, 0xFFFFFFFF),
    "u64": (64, 0xFFFFFFFFFFFFFFFF),
}
SCALAR_TYPES = set(UINT_TYPES) | {"string"}


@dataclass
class TypeRef:
    """A field, parameter, constant or attribute type: `string`, an unsigned integer, or an enum."""

    name: str
    enum: "Enum | None" = None
    struct: "Struct | None" = None  # a nested struct of the same schema (composite schemas only)

    @property
    def is_struct(self) -> bool:
        return self.struct is not None

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
        return UINT_TYPES[self.name][0]

    @property
    def max(self) -> int:
        return UINT_TYPES[self.name][1]

    @property
    def wire(self) -> str:
        """How the type is named in messages: `u32`, `string`, `enum KvRole`, `struct KvStorage`."""
        if self.is_struct:
            return f"struct {self.struct.name.pascal}"
        return f"enum {self.enum.name.pascal}" if self.is_enum else self.name


@dataclass
class Constant:
    name: Name
    type: TypeRef
    value: Any
    doc: str
    scope: Name  # the schema's stem: per-schema symbols are prefixed with it, so that schemas can sit side by side


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
    type: TypeRef  # an unsigned integer or a string
    doc: str
    optional: bool = False  # strings only: a value may leave it out (it reads as the empty string)


@dataclass
class Enum:
    name: Name
    doc: str
    values: list[EnumValue]
    attributes: list[Attribute]
    owner: str = ""  # the stem of the schema that defines it; another schema may use it through `imports`

    @property
    def code_type(self) -> str:
        """The smallest unsigned type (`u8`, `u16`, `u32`) that holds every code: what a target stores codes as."""
        top = max(v.code for v in self.values)
        for t in ("u8", "u16", "u32"):
            if top <= UINT_TYPES[t][1]:
                return t
        raise AssertionError("codes are checked to fit u32")

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
    optional: bool = False  # may be absent; absent is not zero (composite schemas only)
    max_items: int | None = None  # a bounded array of `type` (composite schemas only)

    @property
    def is_array(self) -> bool:
        return self.max_items is not None

    @property
    def is_plain(self) -> bool:
        """One value of a scalar or enum type, always present: all a flat struct has."""
        return not self.optional and not self.is_array and not self.type.is_struct


@dataclass
class Param:
    name: Name
    type: TypeRef
    doc: str


@dataclass
class Operand:
    """One operand of a check, a product or a message placeholder.

    kind: field | derived | attr (enum attribute of a field) | const | param | literal | add (sum of `terms`)

    In a composite schema a field or attr operand may be a path: `steps` holds each field on the way from the
    struct the rule belongs to, and whether that step is every element of an array (`groups[].kv_heads`).
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
    steps: list[tuple["Field", bool]] = dc_field(default_factory=list)
    terms: list["Operand"] = dc_field(default_factory=list)

    @property
    def path_text(self) -> str:
        """The operand as the schema writes it: `window`, `quant.group_size`, `groups[].key_head_dim`."""
        if self.kind == "add":
            return " + ".join(t.path_text for t in self.terms)
        if self.kind in ("field", "attr") and self.steps:
            text = ".".join(f.name.text + ("[]" if each else "") for f, each in self.steps)
            return text + (f".{self.attr.name.text}" if self.kind == "attr" else "")
        if self.kind == "literal":
            return str(self.value)
        return self.name.text

    @property
    def each_step(self) -> int | None:
        """The index of the step that ranges over an array's elements, if any."""
        return next((i for i, (_, each) in enumerate(self.steps) if each), None)

    def leaf_operands(self) -> list["Operand"]:
        """A derived product flattened into its leaf factors, in multiplication order; any other operand alone."""
        if self.kind == "derived":
            return [leaf for f in self.derived.factors for leaf in f.leaf_operands()]
        return [self]

    def leaf_fields(self) -> list[Field]:
        """The fields the operand reads, each once, in order (an enum attribute reads its field)."""
        out: list[Field] = []
        if self.kind == "add":
            for t in self.terms:
                out += [f for f in t.leaf_fields() if f not in out]
            return out
        for leaf in self.leaf_operands():
            if leaf.kind in ("field", "attr") and leaf.field not in out:
                out.append(leaf.field)
        return out


@dataclass
class Derived:
    name: Name
    doc: str
    factors: list[Operand]
    overflow: "Rule | None" = None
    overflow_id: str = ""
    node: Any = None  # where it was written, for messages
    path: str = ""
    native: bool = False  # computed by handwritten code, declared here (composite schemas only)


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
    test: str = "in"  # in (an enum field holds one of `values`) | zero | nonzero (an unsigned field)
    operand: "Operand | None" = None  # the field as an operand (its path in a composite schema)


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
    def subject(self) -> str:
        """Where an error of the rule points, relative to its struct (Error::path; composite schemas): its first
        operand's path (`window`, `groups[].key_head_dim`, whose `[]` the failing item's index fills), a
        partition's array (`groups`), nothing for an overflow check."""
        o = self.check.operands[0]
        if self.check.op == "partition":
            return ".".join(f.name.text for f, _ in o.steps[:o.each_step + 1])
        if o.kind == "derived":
            return ""
        return o.path_text if o.kind != "attr" else ".".join(
            f.name.text + ("[]" if each else "") for f, each in o.steps)

    @property
    def message_is_literal(self) -> bool:
        return all(p.operand is None for p in self.message)

    @property
    def message_text(self) -> str:
        """The message as written, a value shown as its `{name}`."""
        return "".join(p.text if p.operand is None else "{" + p.operand.name.text + "}" for p in self.message)

    @property
    def message_paths(self) -> str:
        """The message as written, a value shown as its `{path}` (`{groups[].key_head_dim}`); for a flat schema's
        rule the same as message_text."""
        return "".join(p.text if p.operand is None else "{" + p.operand.path_text + "}" for p in self.message)


@dataclass
class NamedCheck:
    name: Name
    doc: str
    params: list[Param]
    rules: list[Rule]


@dataclass
class Tensor:
    """The tensor a descriptor describes, for the bindings' tensor checks: its dimensions are the factors of a
    derived product, in order; its element type is an enum field, named in each framework by a string attribute
    of that enum (`framework: attribute`, e.g. torch: torch_dtype)."""

    doc: str
    shape: Derived
    dims: list[Field]  # the product's factors, each a field
    dtype: Field
    dtype_names: dict[str, Attribute]  # framework -> the enum's attribute naming the dtype there
    element_bytes: Attribute  # the enum's integer attribute: bytes per element


@dataclass
class Struct:
    name: Name
    doc: str
    fields: list[Field]
    derived: list[Derived]
    rules: list[Rule]
    checks: list[NamedCheck]
    tensor: Tensor | None = None

    @property
    def is_flat(self) -> bool:
        """Scalar and enum fields only, always present, and products only: what the flat (v1) outputs render."""
        return all(f.is_plain for f in self.fields) and not any(d.native for d in self.derived)

    @property
    def reads_in_place(self) -> bool:
        """Whether a zero-copy view of this struct reads something in place: it holds a string, an array, or a
        nested struct that does. A struct of scalars only has nothing to read in place (it is its own view)."""
        return any(f.is_array or f.type.is_string or (f.type.is_struct and f.type.struct.reads_in_place)
                   for f in self.fields)

    @property
    def nested(self) -> list["Struct"]:
        """The structs this one holds, directly, each once, in field order."""
        out: list[Struct] = []
        for f in self.fields:
            if f.type.is_struct and f.type.struct not in out:
                out.append(f.type.struct)
        return out

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
    root: "Struct | None" = None  # the root_type: the struct a whole buffer holds

    @property
    def namespace_parts(self) -> list[str]:
        return self.namespace.split(".")


@dataclass
class Library:
    """The library-wide document (schema/library.yaml): what every schema of the library shares (its namespace
    and its error kinds) and the list of schema documents."""

    source: str  # repo-relative path of the library document
    name: str
    namespace: str
    doc: str
    errors: list[ErrorKind]
    schema_paths: list[str]  # as written, relative to the library document's folder
    fingerprint: str  # 16 hex digits, of the library document alone

    @property
    def details(self) -> list[Name]:
        """Every error detail slot, each once, in declaration order."""
        out: list[Name] = []
        for e in self.errors:
            for d in e.details:
                if d not in out:
                    out.append(d)
        return out


@dataclass
class Claim:
    """Something a schema defines that no other schema of its library may define too (checked by
    schema_model.check_together): a type name, its schema id, its FlatBuffers file identifier; and where."""

    what: str  # "type name", "schema id", "file identifier"
    value: str
    line: int
    path: str  # key path in the schema document, e.g. enums[0].name


@dataclass
class Schema:
    """One schema document: a descriptor family with its own id, enums, structs and FlatBuffers file. Every
    symbol it adds to the library's namespace is its own (type names) or prefixed with its stem."""

    source: str  # repo-relative path of the schema document
    stem: str
    id: str
    doc: str
    library: Library
    flatbuffers: FlatBuffersOptions
    constants: list[Constant]
    enums: list[Enum]
    structs: list[Struct]
    fingerprint: str  # 16 hex digits, of this document and the library document
    claims: list["Claim"] = dc_field(default_factory=list)  # what must be unique across the library's schemas
    imports: list["Schema"] = dc_field(default_factory=list)  # schemas whose enums this one uses by reference

    @property
    def is_flat(self) -> bool:
        """Every struct flat and nothing imported: rendered by the flat outputs (v1's), else by the composite ones."""
        return all(st.is_flat for st in self.structs) and not self.imports

    @property
    def imported_enums(self) -> list[Enum]:
        return [e for s in self.imports for e in s.enums]

    @property
    def root(self) -> Struct:
        return self.flatbuffers.root

    @property
    def namespace(self) -> str:
        return self.library.namespace

    @property
    def errors(self) -> list[ErrorKind]:
        return self.library.errors

    @property
    def all_rules(self) -> list[Rule]:
        return [r for s in self.structs for r in s.all_rules]
