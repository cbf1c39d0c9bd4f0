"""Render BTF types as a C header (``vmlinux.h`` style) that clang compiles to the same layout.

Types come out in dependency order: a struct used by value is defined before its user, one reached only through
pointers or prototypes gets a forward declaration (``struct foo;``). BTF keeps offsets, not the attributes that
produced them, so the layout is rebuilt explicitly: holes left by ``__aligned`` members are filled with unnamed
``long: N`` bitfields and structs whose members or size break natural alignment are marked
``__attribute__((packed))``. Names that occur twice for different types (possible in kernel BTF) get the
``___2`` suffix, as bpftool does.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Optional, Union

from tinybpf.btf.c_decl import declaration, spell_type
from tinybpf.btf.kinds import Kind
from tinybpf.btf.reader import BTF
from tinybpf.btf.types import (
    QUALIFIERS,
    AnyType,
    Array,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Func,
    FuncProto,
    Fwd,
    Int,
    Member,
    Ptr,
    Struct,
    Typedef,
    Var,
)
from tinybpf.btf.types import Union as UnionType
from tinybpf.errors import FormatError

MAX_NESTING = 256
"""Deepest chain of by-value dependencies followed before the input is called cyclic (kernel BTF needs ~30)."""

_PADDING_UNIT = 64
"""Unnamed ``long`` bitfields fill holes; ``long`` is 64 bits on the BPF target the header is compiled for."""

_MAX_PADDING_BITS = 8 << 20
"""Larger holes than 1 MiB mean corrupt offsets (page-aligned members leave at most a few KiB)."""

_PROLOGUE = """\
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

"""

_EPILOGUE = """
#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
"""

_COMPILER_BUILTINS = frozenset({"__builtin_va_list"})
"""Typedefs the compiler predefines: redeclaring them is an error."""

_RENDERED = (Struct, UnionType, Enum, Enum64, Typedef, Fwd)
Composite = Union[Struct, UnionType]


def render_c(btf: BTF, names: Optional[Iterable[Union[str, int]]] = None) -> str:
    """A header declaring ``names`` (type names or ids) and everything they need; every type when None.

    ``KeyError`` for a name with no struct/union/enum/typedef/forward declaration behind it.
    """
    renderer = _Renderer(btf)
    for type_id in _roots(btf, names):
        renderer.ensure(type_id, complete=True, depth=0)
    return _PROLOGUE + "".join(renderer.output) + _EPILOGUE


def definition_text(btf: BTF, t: Union[Struct, UnionType, Enum, Enum64]) -> str:
    """One named struct, union or enum as C (``struct fd {...};``), without the types it uses."""
    renderer = _Renderer(btf)
    if isinstance(t, (Enum, Enum64)):
        return renderer._enum_text(t, 0) + ";"
    return renderer._composite_text(t, 0) + ";"


def _roots(btf: BTF, names: Optional[Iterable[Union[str, int]]]) -> list[int]:
    if names is None:
        return [type_id for type_id in range(1, btf.count) if isinstance(btf.type(type_id), _RENDERED)]
    roots = []
    for name in names:
        if isinstance(name, int):
            roots.append(name)
            continue
        found = [t for t in btf.find_all(name) if isinstance(t, _RENDERED)]
        defined = [t for t in found if not isinstance(t, Fwd)] or found
        if not defined:
            raise KeyError(f"{btf.name}: no struct, union, enum or typedef named {name!r}")
        roots.extend(t.id for t in defined)
    return roots


class _Renderer:
    """Emission state: what is declared or defined so far, and the C name chosen for each type."""

    def __init__(self, btf: BTF) -> None:
        self.btf = btf
        self.output: list[str] = []
        self._declared: set[int] = set()
        self._defined: set[int] = set()
        self._in_progress: set[int] = set()
        self._settled: set[tuple[int, bool]] = set()
        self._names: dict[tuple[str, int, int], str] = {}
        self._taken: dict[tuple[str, str], tuple[str, int, int]] = {}

    # Dependency walk ------------------------------------------------------------------------------------

    def ensure(self, type_id: int, complete: bool, depth: int) -> None:
        """Emit what makes ``type_id`` usable here: its definition when ``complete``, else a declaration.

        Idempotent, so a second request for the same type and completeness returns at once (vmlinux asks
        ~250k times for ~125k types).
        """
        key = (type_id, complete)
        if key in self._settled:
            return
        self._ensure(type_id, complete, depth)
        self._settled.add(key)

    def _ensure(self, type_id: int, complete: bool, depth: int) -> None:
        if depth > MAX_NESTING:
            raise self.btf._fail(f"type id {type_id}: dependencies nest too deep (cyclic?)")
        t = self.btf.type(type_id)
        depth += 1
        if isinstance(t, Ptr):
            self.ensure(t.type, False, depth)
        elif isinstance(t, Array):
            self.ensure(t.type, True, depth)
        elif isinstance(t, QUALIFIERS):
            self.ensure(t.type, complete, depth)
        elif isinstance(t, FuncProto):
            for ref in (t.return_type, *(param.type for param in t.params)):
                self.ensure(ref, False, depth)
        elif isinstance(t, (Func, Var, DeclTag)):
            self.ensure(t.type, complete, depth)
        elif isinstance(t, Datasec):
            for var in t.vars:
                self.ensure(var.type, True, depth)
        elif isinstance(t, (Enum, Enum64)):
            if t.name and t.id not in self._defined:
                self._defined.add(t.id)
                self.output.append(f"{self._enum_text(t, 0)};\n\n")
        elif isinstance(t, Fwd):
            self._forward(t)
        elif isinstance(t, (Struct, UnionType)):
            if not t.name:
                self._ensure_members(t, depth)
            elif complete:
                self._define(t, depth)
            else:
                self._forward(t)
        elif isinstance(t, Typedef):
            self.ensure(t.type, complete, depth)
            if t.id not in self._defined and t.name not in _COMPILER_BUILTINS:
                self._defined.add(t.id)
                self.output.append(f"typedef {self._declare(t.type, self._name(t), 0)};\n\n")

    def _ensure_members(self, t: Composite, depth: int) -> None:
        for member in t.members:
            self.ensure(member.type, True, depth)

    def _forward(self, t: Union[Struct, UnionType, Fwd]) -> None:
        if t.id in self._declared or t.id in self._defined:
            return
        self._declared.add(t.id)
        self.output.append(f"{self._spell(t, 0)};\n\n")

    def _define(self, t: Composite, depth: int) -> None:
        if t.id in self._defined:
            return
        if t.id in self._in_progress:
            raise self.btf._fail(f"{spell_type(t)} contains itself by value")
        self._in_progress.add(t.id)
        self._ensure_members(t, depth)
        self._in_progress.discard(t.id)
        self._defined.add(t.id)
        self.output.append(f"{self._composite_text(t, 0)};\n\n")

    # Text -----------------------------------------------------------------------------------------------

    def _declare(self, type_id: int, name: str, indent: int) -> str:
        return declaration(self.btf, type_id, name, lambda t: self._spell(t, indent))

    def _spell(self, t: AnyType, indent: int) -> str:
        """Named types by (possibly renamed) tag; anonymous struct/union/enum bodies inline."""
        if isinstance(t, (Struct, UnionType)):
            return self._composite_text(t, indent) if not t.name else f"{_keyword(t)} {self._name(t)}"
        if isinstance(t, (Enum, Enum64)):
            return self._enum_text(t, indent) if not t.name else f"enum {self._name(t)}"
        if isinstance(t, Typedef):
            return self._name(t)
        return spell_type(t)

    def _composite_text(self, t: Composite, indent: int) -> str:
        head = f"{_keyword(t)} {self._name(t)} {{" if t.name else f"{_keyword(t)} {{"
        packed = self.btf.is_packed(t)
        lines = self._member_lines(t, packed, indent + 1)
        tail = "}" + (" __attribute__((packed))" if packed else "")
        return "\n".join([head, *lines, "\t" * indent + tail])

    def _member_lines(self, t: Composite, packed: bool, indent: int) -> list[str]:
        tabs = "\t" * indent
        lines: list[str] = []
        position = 0
        for member in t.members:
            bits = self._bitfield_bits(member)
            if isinstance(t, Struct):
                lines += self._padding(position, self._placement(member, bits, position, packed), member, tabs)
            text = self._declare(member.type, member.name, indent)
            lines.append(f"{tabs}{text}: {bits};" if bits else f"{tabs}{text};")
            position = member.bit_offset + (bits or 8 * self.btf.sizeof(member.type))
        if isinstance(t, Struct):
            alignment = 8 if packed else 8 * max(self.btf.alignof(t), 1)  # a corrupt record may claim 0
            if 8 * t.size > _round_up(position, alignment):
                lines += [f"{tabs}long: {chunk};" for chunk in _padding_chunks(position, 8 * t.size)]
        return lines

    def _bitfield_bits(self, member: Member) -> int:
        if member.bitfield_size:
            return member.bitfield_size
        target = self.btf.resolve(member.type)
        if isinstance(target, Int) and target.bits != 8 * target.size:
            return target.bits
        return 0

    def _placement(self, member: Member, bits: int, position: int, packed: bool) -> int:
        """Where clang would put ``member`` if nothing were inserted before it."""
        if bits:
            unit = 8 * self.btf.sizeof(member.type)
            if packed or position // unit == (position + bits - 1) // unit:
                return position
            return _round_up(position, unit)
        return _round_up(position, 8 if packed else 8 * self.btf.alignof(member.type))

    def _padding(self, position: int, natural: int, member: Member, tabs: str) -> list[str]:
        """Unnamed bitfields that move ``member`` from where clang would put it to where BTF says it is."""
        if member.bit_offset <= natural:
            return []
        return [f"{tabs}long: {chunk};" for chunk in _padding_chunks(position, member.bit_offset)]

    def _enum_text(self, t: Union[Enum, Enum64], indent: int) -> str:
        head = f"enum {self._name(t)} {{" if t.name else "enum {"
        tabs = "\t" * (indent + 1)
        lines = [head]
        for index, value in enumerate(t.values):
            name = self._unique("ident", value.name, (t.kind.name, t.id, index + 1))
            lines.append(f"{tabs}{name} = {_enum_literal(value.value)},")
        tail = "}" + (" __attribute__((packed))" if t.size < 4 else "")
        return "\n".join([*lines, "\t" * indent + tail])

    # Names ----------------------------------------------------------------------------------------------

    def _name(self, t: AnyType) -> str:
        if isinstance(t, Fwd) or not t.name:
            return t.name
        namespace = "ident" if isinstance(t, Typedef) else "tag"
        return self._unique(namespace, t.name, (t.kind.name, t.id, 0))

    def _unique(self, namespace: str, name: str, owner: tuple[str, int, int]) -> str:
        """``name``, or ``name___N`` when another type already took it in the same C namespace."""
        chosen = self._names.get(owner)
        if chosen is not None:
            return chosen
        chosen, suffix = name, 1
        while self._taken.setdefault((namespace, chosen), owner) != owner:
            suffix += 1
            chosen = f"{name}___{suffix}"
        self._names[owner] = chosen
        return chosen


def _keyword(t: Composite) -> str:
    return "struct" if t.kind == Kind.STRUCT else "union"


def _round_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _padding_chunks(start: int, end: int) -> list[int]:
    """Widths of unnamed ``long`` bitfields covering bits [start, end) without crossing a 64-bit unit."""
    if end - start > _MAX_PADDING_BITS:
        raise FormatError(f"a {end - start}-bit hole inside a struct is not a layout any compiler produces")
    chunks = []
    while start < end:
        chunk = min(end - start, _PADDING_UNIT - start % _PADDING_UNIT)
        chunks.append(chunk)
        start += chunk
    return chunks


def _enum_literal(value: int) -> str:
    if -(1 << 31) <= value < (1 << 31):
        return str(value)
    if value < 0:
        return f"{value + 1}LL - 1" if value == -(1 << 63) else f"{value}LL"
    return f"{value}ULL"
