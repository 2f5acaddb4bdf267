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
        """How the type is named in messages: `u32`, `string`, `enum KvRole`."""
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

    def leaf_operands(self) -> list["Operand"]:
        """A derived product flattened into its leaf factors, in multiplication order; any other operand alone."""
        if self.kind == "derived":
            return [leaf for f in self.derived.factors for leaf in f.leaf_operands()]
        return [self]

    def leaf_fields(self) -> list[Field]:
        """The fields the operand reads, each once, in order (an enum attribute reads its field)."""
        out: list[Field] = []
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

    @property
    def namespace(self) -> str:
        return self.library.namespace

    @property
    def errors(self) -> list[ErrorKind]:
        return self.library.errors

    @property
    def all_rules(self) -> list[Rule]:
        return [r for s in self.structs for r in s.all_rules]
