"""C types for the BPF target, and struct/union layout exactly as clang lays them out.

BPF is an LP64 target: ``long`` and pointers are 8 bytes, ``__int128`` is 16 with 16-byte alignment,
plain ``char`` is signed. Records follow the System V rules clang uses for ``-target bpf``: members at
their natural alignment; a bitfield goes at the next free bit unless it would straddle a unit of its
declared type, in which case it starts the next unit; a zero-width bitfield pads to its type's
boundary; unnamed bitfields do not align the record; ``packed`` drops member alignment to 1 and
``aligned(N)`` raises it. Byte order does not change offsets (only where bits sit inside a unit).

Records are mutable so a tag can be declared before it is defined (``struct s *next``) and so types
from BTF can be built around their cycles; every other type is a frozen value.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Union

POINTER_SIZE = 8


@dataclass(frozen=True)
class Void:
    const: bool = False
    volatile: bool = False

    size = 0
    align = 1

    def __str__(self) -> str:
        return _qualify("void", self)


@dataclass(frozen=True)
class Int:
    """An integer type; ``name`` is how C spells it (``unsigned long``, ``_Bool``)."""

    name: str
    size: int
    signed: bool
    const: bool = False
    volatile: bool = False

    @property
    def align(self) -> int:
        return self.size

    @property
    def bits(self) -> int:
        return 8 * self.size

    def __str__(self) -> str:
        return _qualify(self.name, self)


@dataclass(frozen=True)
class Float:
    """``float``/``double``: parsed and sized so headers compile; BPF code cannot compute with them."""

    name: str
    size: int
    const: bool = False
    volatile: bool = False

    @property
    def align(self) -> int:
        return self.size

    def __str__(self) -> str:
        return _qualify(self.name, self)


@dataclass(frozen=True)
class Pointer:
    target: CType
    const: bool = False
    volatile: bool = False
    restrict: bool = False
    type_tags: tuple[str, ...] = ()  # btf_type_tag("user"), ("percpu")...

    size = POINTER_SIZE
    align = POINTER_SIZE

    def __str__(self) -> str:
        return _qualify(f"{self.target} *", self)


@dataclass(frozen=True)
class Array:
    element: CType
    length: Optional[int]  # None: incomplete (``int a[]``, a flexible array member)
    const: bool = False
    volatile: bool = False

    @property
    def size(self) -> int:
        return self.element.size * (self.length or 0)

    @property
    def align(self) -> int:
        return self.element.align

    def __str__(self) -> str:
        return f"{self.element}[{'' if self.length is None else self.length}]"


@dataclass(frozen=True)
class Function:
    returns: CType
    params: tuple[tuple[str, CType], ...]
    variadic: bool = False
    prototype: bool = True
    const: bool = False
    volatile: bool = False

    size = 1  # GNU: sizeof a function is 1
    align = 1

    def __str__(self) -> str:
        params = ", ".join(str(t) for _, t in self.params) or ("void" if self.prototype else "")
        return f"{self.returns} ({params}{', ...' if self.variadic else ''})"


@dataclass(eq=False)
class Field:
    """A record member: byte ``offset``, and for bitfields ``bit_offset`` (from the record's start) and
    ``bits``; ``name`` is None for anonymous struct/union members and unnamed bitfields."""

    name: Optional[str]
    type: CType
    offset: int
    bit_offset: int
    bits: Optional[int] = None


@dataclass(eq=False)
class Record:
    """A struct or union; ``fields`` is None until it is defined (an incomplete type)."""

    kind: str  # "struct" or "union"
    tag: Optional[str]
    fields: Optional[list[Field]] = None
    size: int = 0
    align: int = 1
    packed: bool = False
    attributes: tuple[str, ...] = ()  # preserve_access_index and friends, for CO-RE and BTF
    const: bool = False
    volatile: bool = False
    origin: Optional[Record] = None  # the unqualified record this is a qualified view of
    fill: Optional[Callable[[Record], None]] = field(default=None, repr=False)  # builds fields on first use

    @property
    def complete(self) -> bool:
        return self.definition().fields is not None

    def definition(self) -> Record:
        """The record with its fields (a kernel record from BTF gets them now, at first use)."""
        record = self.origin or self
        if record.fields is None and record.fill is not None:
            fill, record.fill = record.fill, None
            fill(record)
        return record

    def member(self, name: str) -> Optional[tuple[Field, int]]:
        """The field called ``name`` and its byte offset, looking inside anonymous members as C does."""
        for member in self.definition().fields or ():
            if member.name == name:
                return member, member.offset
            if member.name is None and isinstance(member.type, Record):
                found = member.type.member(name)
                if found is not None:
                    return found[0], member.offset + found[1]
        return None

    def __str__(self) -> str:
        return _qualify(f"{self.kind} {self.tag or '(anonymous)'}", self)


@dataclass(eq=False)
class Enum:
    tag: Optional[str]
    values: dict[str, int] = field(default_factory=dict)
    size: int = 4
    signed: bool = False
    complete: bool = False
    const: bool = False
    volatile: bool = False

    @property
    def align(self) -> int:
        return self.size

    def __str__(self) -> str:
        return _qualify(f"enum {self.tag or '(anonymous)'}", self)


@dataclass(frozen=True)
class Typedef:
    """A typedef name and what it stands for; kept (not just resolved) because program BTF names it."""

    name: str
    target: CType
    const: bool = False
    volatile: bool = False

    @property
    def size(self) -> int:
        return self.target.size

    @property
    def align(self) -> int:
        return self.target.align

    def __str__(self) -> str:
        return _qualify(self.name, self)


CType = Union[Void, Int, Float, Pointer, Array, Function, Record, Enum, Typedef]

INT_TYPES = {
    "_Bool": Int("_Bool", 1, False),
    "char": Int("char", 1, True),
    "signed char": Int("signed char", 1, True),
    "unsigned char": Int("unsigned char", 1, False),
    "short": Int("short", 2, True),
    "unsigned short": Int("unsigned short", 2, False),
    "int": Int("int", 4, True),
    "unsigned int": Int("unsigned int", 4, False),
    "long": Int("long", 8, True),
    "unsigned long": Int("unsigned long", 8, False),
    "long long": Int("long long", 8, True),
    "unsigned long long": Int("unsigned long long", 8, False),
    "__int128": Int("__int128", 16, True),
    "unsigned __int128": Int("unsigned __int128", 16, False),
}


def _qualify(text: str, ctype: object) -> str:
    prefix = ("const " if getattr(ctype, "const", False) else "") + ("volatile " if getattr(ctype, "volatile", False) else "")
    return prefix + text


def strip_typedefs(ctype: CType) -> CType:
    """The type a typedef chain stands for, keeping the qualifiers written on the typedef uses."""
    const = volatile = False
    while isinstance(ctype, Typedef):
        const, volatile = const or ctype.const, volatile or ctype.volatile
        ctype = ctype.target
    return qualified(ctype, const, volatile) if const or volatile else ctype


def qualified(ctype: CType, const: bool = False, volatile: bool = False) -> CType:
    """``ctype`` with these qualifiers added."""
    if (not const or ctype.const) and (not volatile or ctype.volatile):
        return ctype
    if isinstance(ctype, Record):
        return Record(ctype.kind, ctype.tag, const=ctype.const or const, volatile=ctype.volatile or volatile,
                      origin=ctype.definition())
    if isinstance(ctype, Enum):
        return ctype  # enum qualifiers only matter for assignment checks, which read the declaration
    return replace(ctype, const=ctype.const or const, volatile=ctype.volatile or volatile)


def record_size(record: Record) -> int:
    return record.definition().size


def record_align(record: Record) -> int:
    return record.definition().align


def size_of(ctype: CType) -> int:
    ctype = strip_typedefs(ctype)
    if isinstance(ctype, Record):
        return record_size(ctype)
    return ctype.size


def align_of(ctype: CType) -> int:
    ctype = strip_typedefs(ctype)
    if isinstance(ctype, Record):
        return record_align(ctype)
    if isinstance(ctype, Array):
        return align_of(ctype.element)
    return ctype.align


@dataclass
class MemberSpec:
    """A member as declared, before layout: ``aligned`` from ``__attribute__((aligned(N)))``."""

    name: Optional[str]
    type: CType
    bits: Optional[int] = None
    packed: bool = False
    aligned: int = 0


def lay_out(record: Record, members: list[MemberSpec], packed: bool = False, aligned: int = 0) -> None:
    """Place ``members`` in ``record`` as clang does for BPF and set its size and alignment."""
    fields: list[Field] = []
    bit = 0  # next free bit
    end = 0  # bits used, for unions the largest member
    record_alignment = 1
    is_union = record.kind == "union"
    for spec in members:
        member_type = spec.type
        natural = align_of(member_type)
        alignment = max(1 if (packed or spec.packed) else natural, spec.aligned)
        if spec.bits is not None:
            unit = 8 * size_of(member_type)
            start = 0 if is_union else bit
            if spec.bits == 0:
                start = _round_up(start, 8 * natural) if not is_union else 0
                fields.append(Field(spec.name, member_type, start // 8, start, 0))
                bit = max(bit, start)
                continue
            if not (packed or spec.packed) and unit and start // unit != (start + spec.bits - 1) // unit:
                start = _round_up(start, unit)
            if spec.aligned:
                start = _round_up(start, 8 * spec.aligned)
            fields.append(Field(spec.name, member_type, start // 8, start, spec.bits))
            if spec.name is not None:
                record_alignment = max(record_alignment, alignment)
            bit = start + spec.bits if not is_union else 0
            end = max(end, start + spec.bits)
            continue
        start = 0 if is_union else _round_up(bit, 8 * alignment)
        fields.append(Field(spec.name, member_type, start // 8, start))
        record_alignment = max(record_alignment, alignment)
        size = size_of(member_type)
        end = max(end, start + 8 * size)
        if not is_union:
            bit = start + 8 * size
    if aligned:
        record_alignment = max(record_alignment, aligned)
    record.fields = fields
    record.align = record_alignment
    record.size = _round_up(_round_up(end, 8) // 8, record_alignment)
    record.packed = packed


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple if multiple > 1 else value
