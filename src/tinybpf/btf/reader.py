"""Parse a BTF blob and answer questions about its types, decoding each type only when asked.

Kernel BTF holds ~150k types; building a Python object for each would cost about a second. Instead the type
section is loaded as an ``array`` of u32 words and one pass records where each type starts (``btf_type`` records
are variable length, so ids cannot be computed). A type becomes a dataclass the first time someone asks for it;
name lookups go through a name-offset index built on the first :meth:`BTF.find`.

Split BTF (kernel modules, ``/sys/kernel/btf/<module>``) continues its base: ids start at the base's count and
string offsets at the base's string-section length.
"""
from __future__ import annotations

import re
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional, Union

from tinybpf.btf.c_decl import declaration
from tinybpf.btf.kinds import BTF_MAGIC, BTF_VERSION, Kind
from tinybpf.btf.types import (
    COMPOSITES,
    QUALIFIERS,
    AnyType,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from tinybpf.btf.types import Union as UnionType
from tinybpf.errors import FormatError

HEADER = {"little": struct.Struct("<HBBIIIII"), "big": struct.Struct(">HBBIIIII")}
"""``struct btf_header``: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len."""

MAX_RESOLVE_DEPTH = 32
"""How many typedef/qualifier/array links a query follows before calling the chain cyclic (the kernel's limit)."""

# Size in u32 words of each kind's fixed part (btf_type + trailing struct) and of each vlen entry. 0 = invalid.
_FIXED_WORDS = [0] * 32
_ENTRY_WORDS = [0] * 32
for _kind, _fixed, _entry in (
    (Kind.INT, 4, 0), (Kind.PTR, 3, 0), (Kind.ARRAY, 6, 0), (Kind.STRUCT, 3, 3), (Kind.UNION, 3, 3),
    (Kind.ENUM, 3, 2), (Kind.FWD, 3, 0), (Kind.TYPEDEF, 3, 0), (Kind.VOLATILE, 3, 0), (Kind.CONST, 3, 0),
    (Kind.RESTRICT, 3, 0), (Kind.FUNC, 3, 0), (Kind.FUNC_PROTO, 3, 2), (Kind.VAR, 4, 0), (Kind.DATASEC, 3, 3),
    (Kind.FLOAT, 3, 0), (Kind.DECL_TAG, 4, 0), (Kind.TYPE_TAG, 3, 0), (Kind.ENUM64, 3, 3),
):
    _FIXED_WORDS[_kind] = _fixed
    _ENTRY_WORDS[_kind] = _entry

TypeRef = Union[int, Type]
"""Queries take a type or its id."""


@dataclass(frozen=True)
class Field:
    """A member found by :meth:`BTF.member`: ``bit_offset`` counts from the start of the outermost type."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int

    @property
    def byte_offset(self) -> int:
        """``offsetof()``: the byte holding the member's first bit."""
        return self.bit_offset // 8


def _s32(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value


class BTF:
    """One parsed BTF blob (``.BTF`` of an object, ``/sys/kernel/btf/vmlinux``, or split on ``base``)."""

    def __init__(self, data: bytes, base: Optional[BTF] = None, name: str = "BTF",
                 type_index: Optional[bytes] = None) -> None:
        """``type_index`` is a saved :meth:`type_index` of the same blob; it spares the indexing pass."""
        self.name = name
        self.base = base
        self.byte_order = self._detect_byte_order(data)
        _magic, version, self.flags, hdr_len, type_off, type_len, str_off, str_len = HEADER[self.byte_order].unpack_from(
            data
        )
        if version != BTF_VERSION:
            raise self._fail(f"unsupported BTF version {version}")
        if hdr_len < HEADER[self.byte_order].size or hdr_len > len(data):
            raise self._fail(f"header length {hdr_len} out of range")
        if type_off % 4 or type_len % 4:
            raise self._fail("type section is not 4-byte aligned")
        if hdr_len + type_off + type_len > len(data) or hdr_len + str_off + str_len > len(data):
            raise self._fail(f"sections run past the end of the blob ({len(data)} bytes)")
        type_start = hdr_len + type_off
        self._words = array("I")
        self._words.frombytes(data[type_start : type_start + type_len])
        if self.byte_order != sys.byteorder:
            self._words.byteswap()
        self._strings = bytes(data[hdr_len + str_off : hdr_len + str_off + str_len])
        self.first_id: int = base.count if base is not None else 1
        self._string_base: int = len(base._strings) + base._string_base if base is not None else 0
        self._offsets = self._load_index(type_index) if type_index else self._index_types()
        self.count: int = self.first_id + len(self._offsets)
        """One more than the highest type id (ids below ``first_id`` live in ``base``)."""
        self._cache: dict[int, AnyType] = {}
        self._name_offs: Optional[bytes] = None
        self._names: Optional[dict[bytes, list[int]]] = None
        self._searches = 0
        self._align_cache: dict[int, int] = {}

    def _fail(self, what: str) -> FormatError:
        return FormatError(f"{self.name}: {what}")

    def _detect_byte_order(self, data: bytes) -> str:
        if len(data) < HEADER["little"].size:
            raise self._fail(f"{len(data)} bytes is too short for a BTF header")
        for order, fmt in HEADER.items():
            if fmt.unpack_from(data)[0] == BTF_MAGIC:
                return order
        raise self._fail("bad magic (not BTF)")

    def type_index(self) -> bytes:
        """Where each type record starts, packed, for a cache keyed by the blob (see ``kernel_btf``)."""
        return self._offsets.tobytes()

    def _load_index(self, saved: bytes) -> array:
        offsets = array("I")
        offsets.frombytes(saved)
        words = self._words
        if offsets and offsets[0] == 0 and offsets[-1] < len(words) - 2:
            last = offsets[-1]
            info = words[last + 1]
            kind = (info >> 24) & 0x1F
            if _FIXED_WORDS[kind] and last + _FIXED_WORDS[kind] + (info & 0xFFFF) * _ENTRY_WORDS[kind] == len(words):
                return offsets
        return self._index_types()

    def _index_types(self) -> array:
        """Find where each type record starts: one tight pass, bounded by the section's size."""
        words, fixed_words, entry_words = self._words, _FIXED_WORDS, _ENTRY_WORDS
        offsets = array("I")
        add = offsets.append
        position, end = 0, len(words) - 2
        while position < end:
            add(position)
            info = words[position + 1]
            kind = (info >> 24) & 0x1F
            step = fixed_words[kind]
            if not step:
                raise self._fail(f"type id {self.first_id + len(offsets) - 1} has unknown kind {kind}")
            position += step + (info & 0xFFFF) * entry_words[kind]
        if position != len(words):
            raise self._fail(f"type section ends inside type id {self.first_id + len(offsets) - 1}")
        return offsets

    # Strings --------------------------------------------------------------------------------------------

    def string(self, offset: int) -> str:
        """The string at ``offset`` of the string section (of the base, for a split BTF's low offsets)."""
        if offset < self._string_base and self.base is not None:
            return self.base.string(offset)
        local = offset - self._string_base
        end = self._strings.find(b"\0", local)
        if end < 0:
            raise self._fail(f"string offset {offset} outside the string section")
        return str(self._strings[local:end], "utf-8", "replace")

    # Types ----------------------------------------------------------------------------------------------

    def type(self, type_id: int) -> AnyType:
        """The type with id ``type_id`` (0 is ``void``); decoded once, then cached."""
        if type_id < self.first_id:
            if type_id == 0:
                return _VOID
            if self.base is None or type_id < 0:
                raise self._fail(f"type id {type_id} out of range")
            return self.base.type(type_id)
        cached = self._cache.get(type_id)
        if cached is None:
            if type_id >= self.count:
                raise self._fail(f"type id {type_id} out of range (highest is {self.count - 1})")
            cached = self._cache[type_id] = self._decode(type_id)
        return cached

    def types(self) -> Iterator[AnyType]:
        """This blob's own types in id order (not the base's, not void)."""
        return (self.type(type_id) for type_id in range(self.first_id, self.count))

    def __len__(self) -> int:
        return self.count

    def _decode(self, type_id: int) -> AnyType:
        words = self._words
        at = self._offsets[type_id - self.first_id]
        name = self.string(words[at])
        info, size = words[at + 1], words[at + 2]
        kind, vlen, flag = (info >> 24) & 0x1F, info & 0xFFFF, bool(info >> 31)
        decoder = _DECODERS.get(kind)
        if decoder is None:
            raise self._fail(f"type id {type_id} has unknown kind {kind}")
        return decoder(self, type_id, name, size, vlen, flag, at + 3)

    def _entries(self, start: int, vlen: int, width: int) -> list[tuple[int, ...]]:
        words = self._words
        return [tuple(words[start + i * width : start + (i + 1) * width]) for i in range(vlen)]

    # Lookup by name -------------------------------------------------------------------------------------

    def find(self, name: str, kind: Optional[Kind] = None) -> AnyType:
        """The first type called ``name`` (of ``kind``, if given); ``KeyError`` when there is none."""
        found = self.find_all(name, kind)
        if not found:
            what = f"{kind.name} {name!r}" if kind is not None else repr(name)
            raise KeyError(f"{self.name}: no type {what}")
        return found[0]

    def find_all(self, name: str, kind: Optional[Kind] = None) -> list[AnyType]:
        """Every type called ``name`` (of ``kind``, if given), base types first, in id order."""
        found = self.base.find_all(name, kind) if self.base is not None else []
        if not name:
            return found
        for type_id in self._ids_named(name.encode()):
            candidate = self.type(type_id)
            if kind is None or candidate.kind == kind:
                found.append(candidate)
        return found

    def _string_offsets(self, needle: bytes) -> Iterator[int]:
        """Offsets of every string ending in ``needle`` here and in the base (split BTF reuses base strings)."""
        if self.base is not None:
            yield from self.base._string_offsets(needle)
        position = self._strings.find(needle)
        while position >= 0:
            yield position + self._string_base
            position = self._strings.find(needle, position + 1)

    def _ids_named(self, name: bytes) -> list[int]:
        """Ids of this blob's own types called ``name``, in id order.

        The first few lookups of a distinctive name search the string section, then the packed name-offset
        column, at C speed: a cold one-off lookup stays far below building a 70k-entry dict. Short names
        ("id") end many strings, and a caller walking nested structs looks up dozens of names: then the
        name -> ids dict (about four searches' worth) is built once and kept.
        """
        self._searches += 1
        if self._names is None and self._searches <= 4:
            offsets = list(self._string_offsets(name + b"\0"))
            if len(offsets) <= 16:
                return sorted(self._column_ids(offsets))
        return self._name_index().get(name, [])

    def _column_ids(self, name_offsets: list[int]) -> Iterator[int]:
        column = self._name_column()
        for name_off in name_offsets:
            pattern = array("I", [name_off]).tobytes()
            position = column.find(pattern)
            while position >= 0:
                if position % 4 == 0:
                    yield self.first_id + position // 4
                position = column.find(pattern, position + 1)

    def functions(self, prefixes: tuple[str, ...] = ()) -> Iterator[tuple[str, int, int]]:
        """(name, FUNC_PROTO id, parameter count or -1) of every own FUNC whose name starts with one of
        ``prefixes`` (all when empty), read from the records without decoding them: listing the kernel's
        ~55k functions must not build 125k type objects. The searches run in C: FUNC records by their
        kind byte, prefixed names in the string section."""
        words, offsets, first = self._words, self._offsets, self.first_id
        if prefixes:
            column = array("I", self._name_column())
            by_name = dict(zip(column, range(len(column))))
            pattern = b"\0(?:" + b"|".join(re.escape(prefix.encode()) for prefix in prefixes) + b")"
            base = self._string_base
            hits = (by_name.get(found.start() + 1 + base) for found in re.finditer(pattern, self._strings))
            indexes = sorted(index for index in hits if index is not None)
        else:
            infos = array("I", map(words.__getitem__, map((1).__add__, offsets))).tobytes()
            kinds = infos[3::4] if sys.byteorder == "little" else infos[0::4]
            indexes = [found.start() for found in re.finditer(bytes([int(Kind.FUNC)]), kinds)]
        func, proto = int(Kind.FUNC), int(Kind.FUNC_PROTO)
        for index in indexes:
            at = offsets[index]
            if (words[at + 1] >> 24) & 0x1F != func:
                continue
            target, arity = words[at + 2], -1
            if target >= first:
                proto_at = offsets[target - first]
                if (words[proto_at + 1] >> 24) & 0x1F == proto:
                    arity = words[proto_at + 1] & 0xFFFF
            yield self.string(words[at]), target, arity

    def _name_column(self) -> bytes:
        """The name offset of every own type, packed in id order (native u32s)."""
        if self._name_offs is None:
            self._name_offs = array("I", map(self._words.__getitem__, self._offsets)).tobytes()
        return self._name_offs

    def _name_index(self) -> dict[bytes, list[int]]:
        if self._names is None:
            strings, base, find = self._strings, self._string_base, self._strings.find
            names: dict[bytes, list[int]] = {}
            for type_id, name_off in enumerate(array("I", self._name_column()), self.first_id):
                if not name_off:
                    continue
                if name_off >= base:
                    local = name_off - base
                    key = strings[local:find(b"\0", local)]
                else:
                    key = self.string(name_off).encode()
                names.setdefault(key, []).append(type_id)
            self._names = names
        return self._names

    def enum_with_value(self, name: str) -> Optional[AnyType]:
        """The ENUM/ENUM64 type (here or in the base) that has an enumerator called ``name``, or None.

        Enumerator names are not type names, so the name index cannot answer; the string section is
        searched at C speed for the name, then only enum records are read to see which one holds it."""
        if self.base is not None:
            found = self.base.enum_with_value(name)
            if found is not None:
                return found
        wanted = {offset for offset in self._string_offsets(name.encode() + b"\0")
                  if offset == self._string_base or self._string_at(offset - 1) == 0}
        if not wanted:
            return None
        words = self._words
        for type_id, at in zip(range(self.first_id, self.count), self._offsets):
            kind = (words[at + 1] >> 24) & 0x1F
            if kind not in (Kind.ENUM, Kind.ENUM64):
                continue
            width = 2 if kind == Kind.ENUM else 3
            start = at + 3
            for i in range(words[at + 1] & 0xFFFF):
                if words[start + i * width] in wanted:
                    return self.type(type_id)
        return None

    def _string_at(self, offset: int) -> int:
        """The byte at string offset ``offset`` (which may lie in the base's strings)."""
        if offset < self._string_base and self.base is not None:
            return self.base._string_at(offset)
        return self._strings[offset - self._string_base]

    # Layout queries -------------------------------------------------------------------------------------

    def _get(self, ref: TypeRef) -> AnyType:
        return self.type(ref) if isinstance(ref, int) else self.type(ref.id)

    def resolve(self, ref: TypeRef) -> AnyType:
        """Skip typedefs and qualifiers (const, volatile, restrict, type tags) down to the type that has a layout."""
        current = self._get(ref)
        for _ in range(MAX_RESOLVE_DEPTH):
            if not isinstance(current, (Typedef, *QUALIFIERS)):
                return current
            current = self.type(current.type)
        raise self._fail(f"type id {self._get(ref).id}: typedef/qualifier chain is cyclic or too deep")

    def sizeof(self, ref: TypeRef) -> int:
        """``sizeof`` in bytes; FormatError for types without one (void, functions, forward declarations)."""
        current = self._get(ref)
        multiplier = 1
        for _ in range(MAX_RESOLVE_DEPTH):
            current = self.resolve(current)
            if isinstance(current, Array):
                multiplier *= current.nelems
                current = self.type(current.type)
                continue
            if isinstance(current, Ptr):
                return multiplier * self.pointer_size
            if isinstance(current, (Int, Struct, UnionType, Enum, Enum64, Float, Datasec)):
                return multiplier * current.size
            raise self._fail(f"sizeof({self.c_name(current)}) is undefined: it is {current.kind.name}")
        raise self._fail(f"type id {self._get(ref).id}: array chain is cyclic or too deep")

    def alignof(self, ref: TypeRef) -> int:
        """``_Alignof`` as the compiler computes it from the layout (1 for packed structs)."""
        return self._alignof(self._get(ref), 0)

    def _alignof(self, current: AnyType, depth: int) -> int:
        cached = self._align_cache.get(current.id)
        if cached is not None:
            return cached
        if depth > MAX_RESOLVE_DEPTH:
            raise self._fail(f"type id {current.id}: members nest too deep to compute an alignment")
        target = self.resolve(current)
        for _ in range(MAX_RESOLVE_DEPTH):
            if not isinstance(target, Array):
                break
            target = self.resolve(target.type)
        if isinstance(target, Ptr):
            alignment = self.pointer_size
        elif isinstance(target, (Int, Enum, Enum64, Float)):
            alignment = max(1, min(target.size, 16))
        elif isinstance(target, COMPOSITES):
            natural = self._natural_alignment(target, depth)
            alignment = 1 if self._is_packed(target, natural, depth) else natural
        else:
            raise self._fail(f"alignof({self.c_name(target)}) is undefined: it is {target.kind.name}")
        self._align_cache[current.id] = alignment
        return alignment

    def _natural_alignment(self, composite: Union[Struct, UnionType], depth: int) -> int:
        """The largest member alignment; named bitfields count with their declared type, as in the SysV ABI."""
        return max((self._alignof(self.type(member.type), depth + 1) for member in composite.members), default=1)

    def is_packed(self, composite: Union[Struct, UnionType]) -> bool:
        """Whether the layout needs ``__attribute__((packed))``: a member or the size breaks natural alignment."""
        return self._is_packed(composite, self._natural_alignment(composite, 0), 0)

    def _is_packed(self, composite: Union[Struct, UnionType], alignment: int, depth: int) -> bool:
        if composite.size % alignment:
            return True
        return any(
            member.bit_offset % (8 * self._alignof(self.type(member.type), depth + 1))
            for member in composite.members
            if not member.bitfield_size and not self._is_old_bitfield(member)
        )

    def _is_old_bitfield(self, member: Member) -> bool:
        target = self.resolve(member.type)
        return isinstance(target, Int) and (target.bits != 8 * target.size or target.bit_offset != 0)

    @cached_property
    def pointer_size(self) -> int:
        """Pointer width of the target: the size of ``long`` if the BTF has one, else 8 (as libbpf guesses)."""
        for name in ("long int", "long unsigned int", "long", "unsigned long"):
            for candidate in self.find_all(name, Kind.INT):
                if isinstance(candidate, Int) and candidate.size in (4, 8):
                    return candidate.size
        return 8

    def member(self, ref: TypeRef, path: str) -> Field:
        """Member ``path`` (``"se.vruntime"``) of a struct/union, looking inside anonymous members like C does.

        ``KeyError`` when a name is missing; old-style (non kind_flag) bitfields report the INT's bits.
        """
        current = self.resolve(ref)
        bit_offset = 0
        found: Optional[Field] = None
        for part in path.split("."):
            if not isinstance(current, COMPOSITES):
                raise KeyError(f"{self.c_name(current)} has no members (looking for {part!r})")
            found = self._find_member(current, part, bit_offset, 0)
            if found is None:
                raise KeyError(f"{self.c_name(current)} has no member {part!r}")
            bit_offset = found.bit_offset
            current = self.resolve(found.type)
        assert found is not None
        return found

    def _find_member(self, composite: Union[Struct, UnionType], name: str, base: int, depth: int) -> Optional[Field]:
        if depth > MAX_RESOLVE_DEPTH:
            raise self._fail(f"anonymous members of {self.c_name(composite)} nest too deep")
        for member in composite.members:
            if member.name == name:
                target = self.resolve(member.type)
                bits, offset = member.bitfield_size, base + member.bit_offset
                if not bits and self._is_old_bitfield(member):
                    assert isinstance(target, Int)
                    bits, offset = target.bits, offset + target.bit_offset
                return Field(name, member.type, offset, bits)
            if not member.name:
                inner = self.resolve(member.type)
                if isinstance(inner, COMPOSITES):
                    found = self._find_member(inner, name, base + member.bit_offset, depth + 1)
                    if found is not None:
                        return found
        return None

    def c_name(self, ref: TypeRef) -> str:
        """The type as C spells it: ``struct task_struct *``, ``const char[16]``, ``int (*)(void *)``."""
        return declaration(self, self._get(ref).id, "")

    def __repr__(self) -> str:
        return f"BTF({self.name!r}, {self.count - self.first_id} types, {self.byte_order}-endian)"


_VOID = Void()

_Decoder = Callable[[BTF, int, str, int, int, bool, int], AnyType]


def _decode_int(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    data = btf._words[at]
    return Int(name, size, (data >> 24) & 0x0F, data & 0xFF, (data >> 16) & 0xFF, type_id)


def _decode_array(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    element, index, nelems = btf._words[at : at + 3]
    return Array(element, index, nelems, name, type_id)


def _decode_composite(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    members = tuple(
        Member(btf.string(name_off), member_type, offset & 0xFFFFFF, offset >> 24)
        if flag
        else Member(btf.string(name_off), member_type, offset)
        for name_off, member_type, offset in btf._entries(at, vlen, 3)
    )
    cls = Struct if (btf._words[at - 2] >> 24) & 0x1F == Kind.STRUCT else UnionType
    return cls(name, size, members, type_id)


def _decode_enum(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    convert = _s32 if flag else int
    values = tuple(EnumValue(btf.string(name_off), convert(value)) for name_off, value in btf._entries(at, vlen, 2))
    return Enum(name, size, values, flag, type_id)


def _decode_enum64(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    values = []
    for name_off, low, high in btf._entries(at, vlen, 3):
        value = high << 32 | low
        if flag and value >> 63:
            value -= 1 << 64
        values.append(EnumValue(btf.string(name_off), value))
    return Enum64(name, size, tuple(values), flag, type_id)


def _decode_func_proto(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    params = tuple(Param(btf.string(name_off), param_type) for name_off, param_type in btf._entries(at, vlen, 2))
    return FuncProto(size, params, name, type_id)


def _decode_datasec(btf: BTF, type_id: int, name: str, size: int, vlen: int, flag: bool, at: int) -> AnyType:
    return Datasec(name, size, tuple(VarSecinfo(*entry) for entry in btf._entries(at, vlen, 3)), type_id)


_DECODERS: dict[int, _Decoder] = {
    Kind.INT: _decode_int,
    Kind.PTR: lambda btf, tid, name, ref, vlen, flag, at: Ptr(ref, name, tid),
    Kind.ARRAY: _decode_array,
    Kind.STRUCT: _decode_composite,
    Kind.UNION: _decode_composite,
    Kind.ENUM: _decode_enum,
    Kind.FWD: lambda btf, tid, name, size, vlen, flag, at: Fwd(name, flag, tid),
    Kind.TYPEDEF: lambda btf, tid, name, ref, vlen, flag, at: Typedef(name, ref, tid),
    Kind.VOLATILE: lambda btf, tid, name, ref, vlen, flag, at: Volatile(ref, name, tid),
    Kind.CONST: lambda btf, tid, name, ref, vlen, flag, at: Const(ref, name, tid),
    Kind.RESTRICT: lambda btf, tid, name, ref, vlen, flag, at: Restrict(ref, name, tid),
    Kind.FUNC: lambda btf, tid, name, ref, vlen, flag, at: Func(name, ref, vlen, tid),
    Kind.FUNC_PROTO: _decode_func_proto,
    Kind.VAR: lambda btf, tid, name, ref, vlen, flag, at: Var(name, ref, btf._words[at], tid),
    Kind.DATASEC: _decode_datasec,
    Kind.FLOAT: lambda btf, tid, name, size, vlen, flag, at: Float(name, size, tid),
    Kind.DECL_TAG: lambda btf, tid, name, ref, vlen, flag, at: DeclTag(name, ref, _s32(btf._words[at]), tid),
    Kind.TYPE_TAG: lambda btf, tid, name, ref, vlen, flag, at: TypeTag(name, ref, tid),
    Kind.ENUM64: _decode_enum64,
}
