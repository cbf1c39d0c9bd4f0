"""C types a script names: its own ``struct``/``union``/``enum`` definitions and the kernel's types from BTF.

bpftrace hands the definitions written before the probes to a C parser and looks every other type up in the
kernel's BTF. This module does both for the analysis: a small parser for the declarations scripts write
(members with pointers, arrays, bitfields, nested and anonymous structs, ``__attribute__((packed))``) and a
lazy bridge to ``kernel_btf()`` that converts only the types a script names. A struct is an ``SType`` of kind
``struct`` known by its tag; its members are found here on demand, so recursive kernel types cost nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Protocol

from tinybpf.trace.semantics.stype import SType, int_type, string_type

# C base type words (as a sorted tuple of words) -> (size, signed)
_BASE = {
    ("char",): (1, True), ("char", "signed"): (1, True), ("char", "unsigned"): (1, False),
    ("short",): (2, True), ("int", "short"): (2, True), ("short", "unsigned"): (2, False),
    ("int", "short", "unsigned"): (2, False), ("int",): (4, True), ("signed",): (4, True),
    ("int", "signed"): (4, True), ("unsigned",): (4, False), ("int", "unsigned"): (4, False),
    ("long",): (8, True), ("int", "long"): (8, True), ("long", "unsigned"): (8, False),
    ("int", "long", "unsigned"): (8, False), ("long", "long"): (8, True), ("int", "long", "long"): (8, True),
    ("long", "long", "unsigned"): (8, False), ("int", "long", "long", "unsigned"): (8, False),
    ("_Bool",): (1, False), ("bool",): (1, False),
}
_NAMED = {
    "int8": (1, True), "int16": (2, True), "int32": (4, True), "int64": (8, True),
    "uint8": (1, False), "uint16": (2, False), "uint32": (4, False), "uint64": (8, False),
    "int8_t": (1, True), "int16_t": (2, True), "int32_t": (4, True), "int64_t": (8, True),
    "uint8_t": (1, False), "uint16_t": (2, False), "uint32_t": (4, False), "uint64_t": (8, False),
    "u8": (1, False), "u16": (2, False), "u32": (4, False), "u64": (8, False),
    "s8": (1, True), "s16": (2, True), "s32": (4, True), "s64": (8, True),
    "__u8": (1, False), "__u16": (2, False), "__u32": (4, False), "__u64": (8, False),
    "__s8": (1, True), "__s16": (2, True), "__s32": (4, True), "__s64": (8, True),
    "size_t": (8, False), "ssize_t": (8, True), "pid_t": (4, True), "uid_t": (4, False), "gid_t": (4, False),
}
_QUALIFIERS = {"const", "volatile", "restrict", "__restrict", "static", "extern", "register", "inline"}
_TOKEN = re.compile(r"\s+|/\*.*?\*/|//[^\n]*|(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|\S)", re.S)


@dataclass(frozen=True)
class Member:
    """One member of a struct: ``bits`` is non-zero for a bitfield, ``bit_shift`` its low bit in the unit."""

    name: str
    type: SType
    offset: int
    bits: int = 0
    bit_shift: int = 0


@dataclass
class Record:
    """A struct or union layout."""

    tag: str
    size: int
    align: int
    members: list[Member]


# bpftrace has no floating point values: such members keep their size and print as none (``null`` in JSON)
_FLOATS = {"float": SType("none", 4), "double": SType("none", 8), "long double": SType("none", 16)}


class CTypeError(Exception):
    """A definition the parser cannot read."""


def base_type(name: str) -> Optional[SType]:
    """``int32``, ``uint8_t``, ``unsigned long``...: an integer type, or None."""
    if name in _NAMED:
        size, signed = _NAMED[name]
        return int_type(size, signed)
    words = tuple(sorted(w for w in name.split() if w not in _QUALIFIERS))
    found = _BASE.get(words)
    return int_type(*found) if found else None


def pointer_type(ctype: str, addrspace: str = "kernel") -> SType:
    """A pointer as a tracepoint ``format`` file writes it (``const char *const *``); structs are known by
    tag, other unknown pointees become ``void``."""
    words = [w for w in ctype.replace("*", " ").split() if w not in _QUALIFIERS]
    name = " ".join(words)
    pointee: Optional[SType] = base_type(name)
    if pointee is None and name.startswith(("struct ", "union ")):
        pointee = SType("struct", 0, tag=name)
    t = SType("ptr", 8, pointee=pointee, addrspace=addrspace)
    for _ in range(ctype.count("*") - 1):
        t = SType("ptr", 8, pointee=t, addrspace=addrspace)
    return t


class CTypes:
    """The script's definitions, then the kernel's BTF (opened only when a name is not in the script)."""

    def __init__(self, c_source: str = "", debug: Any = None) -> None:
        self.records: dict[str, Record] = {}
        self.debug = debug  # the traced binaries' types (``uprobe_args.DebugTypes``): after the script's
        self.enums: dict[str, int] = {}
        self.enum_types: dict[str, SType] = {}  # "enum Foo" (or an anonymous tag) -> its type
        self._enumerator_types: dict[str, SType] = {}  # enumerator name -> its enum's type
        self.typedefs: dict[str, SType] = {}
        self._btf: Any = None
        self._btf_failed = False
        self._anon = 0
        self.macros: dict[str, int] = {}
        self.headers = False
        if c_source.strip():
            from tinybpf.trace.syntax.c_macros import active_source, macro_constants

            self.macros = macro_constants(c_source)
            # with a kernel header included, its types would be complete: BTF stands in for them
            self.headers = "#include" in c_source
            _Parser(self, active_source(c_source)).parse()

    # ----------------------------------------------------------------- queries

    def record(self, tag: str) -> Optional[Record]:
        """The layout of ``struct X``/``union X`` from the script or the kernel."""
        if tag not in self.records:
            found = (self.debug.record(tag) if self.debug else None) or self._btf_record(tag)
            if found is None:
                return None
            self.records[tag] = found
        return self.records[tag]

    def struct_type(self, tag: str) -> Optional[SType]:
        record = self.record(tag)
        return None if record is None else SType("struct", record.size, tag=tag)

    def member(self, tag: str, name: str) -> Optional[Member]:
        record = self.record(tag)
        if record is None:
            return None
        for member in record.members:
            if member.name == name:
                return member
        for member in record.members:  # anonymous struct/union members
            if not member.name.startswith("(anon") or member.type.kind != "struct":
                continue
            inner = self.member(member.type.tag, name)
            if inner is not None:
                return Member(inner.name, inner.type, member.offset + inner.offset, inner.bits, inner.bit_shift)
        return None

    def named_type(self, name: str) -> Optional[SType]:
        """A type as a cast or ``sizeof`` writes it: ``struct Foo``, ``int32``, a typedef name."""
        name = " ".join(name.split())
        if name.startswith(("struct ", "union ")):
            return self.struct_type(name)
        if name.startswith("enum "):
            return self.enum_type(name)
        if name in ("void",):
            return SType("void", 0)
        found = base_type(name)
        if found is not None:
            return found
        if name in self.typedefs:
            return self.typedefs[name]
        return self._btf_named(name)

    def enum_known(self, name: str) -> bool:
        return self.enum_type(name) is not None

    def enum_type(self, name: str) -> Optional[SType]:
        """``enum Foo`` from the script, else from the kernel."""
        if name not in self.enum_types:
            found = self._btf_lookup(name.split()[-1], "ENUM") or self._btf_lookup(name.split()[-1], "ENUM64")
            if found is None:
                return None
            self.enum_types[name] = self.from_btf(found.id)
        return self.enum_types[name]

    def enum_value(self, name: str) -> Optional[int]:
        """The value of the enumerator ``name`` (from the script, else from the kernel, as bpftrace does) or of
        an integer macro."""
        if name in self.macros:
            return self.macros[name]
        if self.enumerator_type(name) is None:
            return None
        return self.enums[name]

    def enumerator_type(self, name: str) -> Optional[SType]:
        """The type of the enum that defines the enumerator ``name`` (a kernel enum is searched once)."""
        if name not in self._enumerator_types and name not in self.enums:
            self._btf_enumerator(name)
        return self._enumerator_types.get(name)

    def add_enum(self, tag: str, size: int, signed: bool, values: list[tuple[str, int]]) -> SType:
        """Record an enum and its enumerators; returns its integer type that prints values as names."""
        t = SType("int", size, signed, tag=tag, enumerators=tuple((v, n) for n, v in values))
        self.enum_types[tag] = t
        for enumerator, value in values:
            self.enums.setdefault(enumerator, value)
            self._enumerator_types.setdefault(enumerator, t)
        return t

    def _btf_enumerator(self, name: str) -> None:
        from tinybpf.btf import Enum, Enum64

        btf = self.btf()
        if btf is None:
            return
        for t in btf.types():
            if isinstance(t, (Enum, Enum64)) and any(v.name == name for v in t.values):
                self.from_btf(t.id)
                return

    # ----------------------------------------------------------------- BTF

    def btf(self) -> Any:
        if self._btf is None and not self._btf_failed:
            try:
                from tinybpf.btf import kernel_btf

                self._btf = kernel_btf()
            except Exception:  # no BTF on this kernel: only the script's own types exist
                self._btf_failed = True
        return self._btf

    def _btf_lookup(self, name: str, kind_name: str) -> Any:
        btf = self.btf()
        if btf is None:
            return None
        from tinybpf.btf import Kind

        try:
            return btf.find(name, getattr(Kind, kind_name))
        except KeyError:
            return None

    def _btf_record(self, tag: str) -> Optional[Record]:
        kind, _, name = tag.partition(" ")
        found = self._btf_lookup(name, "UNION" if kind == "union" else "STRUCT")
        if found is None:
            return None
        btf = self.btf()
        members = []
        for index, member in enumerate(found.members):
            converted = self.from_btf(member.type)
            name = member.name or f"(anon{index})"
            if member.bitfield_size and converted.size:
                unit = member.bit_offset // (converted.size * 8) * converted.size
                members.append(Member(name, converted, unit, member.bitfield_size, member.bit_offset - unit * 8))
            else:
                members.append(Member(name, converted, member.bit_offset // 8))
        return Record(tag, found.size, btf.alignof(found), members)

    def _btf_named(self, name: str) -> Optional[SType]:
        found = self._btf_lookup(name, "TYPEDEF")
        return None if found is None else self.from_btf(found.id)

    def from_btf(self, type_id: int, depth: int = 0) -> SType:
        """A kernel type as an analysis type (char arrays are strings, as bpftrace reads them)."""
        from tinybpf.btf import Array, Enum, Enum64, Int, Ptr, Struct, Union

        btf = self.btf()
        t = btf.resolve(type_id)
        if isinstance(t, Int):
            if t.size == 1 and t.encoding & 4:
                return SType("bool", 1)
            return int_type(t.size, bool(t.encoding & 1)) if t.size in (1, 2, 4, 8) else SType("none", t.size)
        if isinstance(t, (Enum, Enum64)):
            tag = f"enum {t.name}" if t.name else f"enum (anon btf {t.id})"
            if tag in self.enum_types:
                return self.enum_types[tag]
            return self.add_enum(tag, t.size, bool(t.signed), [(v.name, v.value) for v in t.values])
        if isinstance(t, Ptr):
            if depth > 8:
                return SType("ptr", 8, pointee=None)
            target = btf.resolve(t.type)
            if isinstance(target, (Struct, Union)):
                tag = ("union " if isinstance(target, Union) else "struct ") + target.name
                pointee: Optional[SType] = SType("struct", target.size, tag=tag) if target.name else None
            elif target.id == 0 or not isinstance(target, (Int, Ptr, Enum, Enum64, Array)):
                pointee = None
            else:
                pointee = self.from_btf(t.type, depth + 1)
            return SType("ptr", 8, pointee=pointee)
        if isinstance(t, Array):
            element = self.from_btf(t.type, depth + 1)
            if element.is_int and element.size == 1 and element.kind == "int":
                return string_type(t.nelems) if t.nelems else SType("array", 0, pointee=element)
            return SType("array", element.size * t.nelems, pointee=element)
        if isinstance(t, (Struct, Union)):
            if not t.name:
                tag = f"struct (anon btf {t.id})"
                if tag not in self.records:
                    self.records[tag] = Record(tag, t.size, btf.alignof(t), [])
                    record = self._btf_members(t, tag)
                    self.records[tag] = record
                return SType("struct", t.size, tag=tag)
            tag = ("union " if isinstance(t, Union) else "struct ") + t.name
            return SType("struct", t.size, tag=tag)
        return SType("none", 0)

    def _btf_members(self, t: Any, tag: str) -> Record:
        members = []
        for index, member in enumerate(t.members):
            members.append(Member(member.name or f"(anon{index})", self.from_btf(member.type), member.bit_offset // 8))
        return Record(tag, t.size, self.btf().alignof(t), members)


def _c_size(t: SType) -> int:
    """Bytes a member takes in its struct: a script's ``char s[N]`` is a ``string[N+1]`` in N bytes."""
    return t.size - 1 if t.kind == "string" and t.signed else t.size


class RecordSource(Protocol):
    """Where struct layouts come from: the script and BTF (``CTypes``) or a binary's DWARF."""

    def record(self, tag: str) -> Optional[Record]: ...


def align_of(t: SType, types: RecordSource) -> int:
    """C alignment of a member type."""
    if t.kind == "struct":
        record = types.record(t.tag)
        return record.align if record else 1
    if t.kind == "array" and t.pointee is not None:
        return align_of(t.pointee, types)
    if t.kind == "string":
        return 1
    return max(1, min(t.size, 8))


class _Parser:
    """Declarations of struct/union/enum, the subset of C scripts write."""

    def __init__(self, types: CTypes, source: str) -> None:
        self.types = types
        self.tokens = [m.group(1) for m in _TOKEN.finditer(source) if m.group(1)]
        self.at = 0
        self.in_record = 0  # how deep in struct bodies the parser is

    def peek(self, ahead: int = 0) -> str:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else ""

    def take(self, expected: str = "") -> str:
        token = self.peek()
        if expected and token != expected:
            raise CTypeError(f"expected '{expected}' in C definition, found '{token or 'end'}'")
        self.at += 1
        return token

    def parse(self) -> None:
        while self.peek():
            token = self.peek()
            if token == "#":  # a preprocessor line: skip to the next declaration keyword
                self.take()
                while self.peek() and self.peek() not in ("struct", "union", "enum", "typedef"):
                    self.take()
                continue
            if token in (";",):
                self.take()
                continue
            if token == "typedef":
                self.take()
                base = self.type_specifier()
                pointer, name, dims, _ = self.declarator()
                self.types.typedefs[name] = self.wrap(base, pointer, dims)
                continue
            if token in ("struct", "union", "enum"):
                self.type_specifier()
                while self.peek() and self.peek() != ";" and self.peek() not in ("struct", "union", "enum"):
                    self.take()
                continue
            self.take()

    def attributes(self) -> bool:
        """Skip ``__attribute__((...))``; returns whether it said ``packed``."""
        packed = False
        while self.peek() == "__attribute__":
            self.take()
            depth = 0
            while True:
                token = self.take()
                if not token:
                    return packed
                packed = packed or token == "packed"
                depth += 1 if token == "(" else -1 if token == ")" else 0
                if depth == 0:
                    break
        return packed

    def type_specifier(self) -> SType:
        words: list[str] = []
        while self.peek() in _QUALIFIERS:
            self.take()
        token = self.peek()
        if token in ("struct", "union"):
            self.take()
            self.attributes()
            name = self.take() if self.peek() not in ("{",) else ""
            if self.peek() == "{":
                return self.record_body(token, name)
            if self.in_record and not self.types.headers and f"{token} {name}" not in self.types.records \
                    and self.by_value():
                # clang sees only the script's definitions: a member of a struct it never defined is incomplete
                raise CTypeError(f"definitions.h: error: field has incomplete type '{token} {name}'")
            known = self.types.record(f"{token} {name}")  # sized, so arrays of it are too
            return SType("struct", known.size if known else 0, tag=f"{token} {name}")
        if token == "enum":
            self.take()
            name = self.take() if self.peek() != "{" else ""
            if self.peek() == "{":
                return self.enum_body(name)
            return self.types.enum_types.get(f"enum {name}", int_type(4, False))
        while self.peek() and (re.match(r"[A-Za-z_]\w*$", self.peek()) and (
                not words or self.peek() in ("int", "long", "short", "char", "unsigned", "signed", "double"))):
            word = self.take()
            if word not in _QUALIFIERS:
                words.append(word)
            if word in _NAMED or word in self.types.typedefs:
                break
        name = " ".join(words)
        if name in self.types.typedefs:
            return self.types.typedefs[name]
        found = base_type(name) or self.types.named_type(name) or _FLOATS.get(name)
        if found is None:
            raise CTypeError(f"unknown type '{name}' in C definition")
        return found

    def by_value(self) -> bool:
        """Whether the declarator that follows is the type itself, not a pointer to it."""
        ahead = 0
        while self.peek(ahead) in _QUALIFIERS:
            ahead += 1
        return self.peek(ahead) != "*"

    def declarator(self) -> tuple[int, str, list[int], int]:
        pointer = 0
        while self.peek() in ("*",) or self.peek() in _QUALIFIERS:
            if self.take() == "*":
                pointer += 1
        name = self.take() if re.match(r"[A-Za-z_]\w*$", self.peek()) else ""
        dims = []
        while self.peek() == "[":
            self.take()
            dims.append(int(self.take(), 0) if self.peek() != "]" else 0)
            self.take("]")
        bits = 0
        if self.peek() == ":":
            self.take()
            bits = int(self.take(), 0)
        return pointer, name, dims, bits

    @staticmethod
    def wrap(base: SType, pointer: int, dims: list[int]) -> SType:
        t = base
        for _ in range(pointer):
            t = SType("ptr", 8, pointee=None if t.kind == "void" else t)
        for dim in reversed(dims):
            if t.kind == "int" and t.size == 1 and not pointer and dim:
                # a plain (signed) char array gets a byte for the NUL, so a full array is not a truncated
                # string; ``signed`` marks the byte the struct layout does not hold
                t = SType("string", dim + 1, signed=True) if t.signed else string_type(dim)
            else:
                t = SType("array", t.size * dim, pointee=t)
        return t

    def record_body(self, keyword: str, name: str) -> SType:
        if not name:
            self.types._anon += 1
            name = f"(anon{self.types._anon})"
        tag = f"{keyword} {name}"
        self.take("{")
        self.in_record += 1
        fields: list[tuple[str, SType, int]] = []
        while self.peek() and self.peek() != "}":
            if self.peek() == ";":
                self.take()
                continue
            base = self.type_specifier()
            while True:
                pointer, member, dims, bits = self.declarator()
                fields.append((member, self.wrap(base, pointer, dims), bits))
                if self.peek() != ",":
                    break
                self.take()
            if self.peek() == ";":
                self.take()
        self.take("}")
        self.in_record -= 1
        packed = self.attributes()
        packed = self.attributes() or packed
        self.types.records[tag] = record = layout(tag, fields, keyword == "union", packed, self.types)
        return SType("struct", record.size, tag=tag)

    def enum_body(self, name: str) -> SType:
        if not name:
            self.types._anon += 1
            name = f"(anon{self.types._anon})"
        self.take("{")
        values: list[tuple[str, int]] = []
        value = 0
        while self.peek() and self.peek() != "}":
            enumerator = self.take()
            if self.peek() == "=":
                self.take()
                text = ""
                while self.peek() not in (",", "}", ""):
                    text += self.take()
                try:
                    value = int(text, 0)
                except ValueError:
                    value = dict(values).get(text, self.types.enums.get(text, 0))
            values.append((enumerator, value))
            value += 1
            if self.peek() == ",":
                self.take()
        self.take("}")
        return self.types.add_enum(f"enum {name}", 4, False, values)


def layout(tag: str, fields: list[tuple[str, SType, int]], union: bool, packed: bool, types: CTypes) -> Record:
    """Lay members out as the System V ABI does (bitfields packed into units of their declared type)."""
    members: list[Member] = []
    bit = 0
    align = 1
    for index, (name, t, bits) in enumerate(fields):
        member_align = 1 if packed else align_of(t, types)
        align = max(align, member_align)
        if t.kind == "struct" and not t.size:
            record = types.record(t.tag)
            if record is None:
                raise CTypeError(f"unknown type '{t.tag}' in C definition")
            t = SType("struct", record.size, tag=t.tag)
        name = name or f"(anon{index})"
        if union:
            members.append(Member(name, t, 0, bits, 0))
            bit = max(bit, bits or _c_size(t) * 8)
            continue
        if bits:
            unit_bits = max(t.size, 1) * 8
            if not packed and bit // unit_bits != (bit + bits - 1) // unit_bits:
                bit = (bit + unit_bits - 1) // unit_bits * unit_bits
            unit = bit // unit_bits * unit_bits // 8 if not packed else bit // 8
            members.append(Member(name, t, unit, bits, bit - unit * 8))
            bit += bits
            continue
        bit = (bit + member_align * 8 - 1) // (member_align * 8) * (member_align * 8)
        members.append(Member(name, t, bit // 8, 0, 0))
        bit += _c_size(t) * 8
    size = (bit + 7) // 8
    size = (size + align - 1) // align * align
    return Record(tag, size, align, members)
