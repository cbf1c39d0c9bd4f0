"""A program's BTF: the types of its maps, globals and functions, encoded as clang encodes them.

The loader needs it to create BTF-defined maps, the verifier to check functions against FUNC_PROTOs,
CO-RE to find the local types relocations name, and bpftool to print map contents. Each C type gets
one id (records and enums by identity, everything else by value); arrays index with the
``__ARRAY_SIZE_TYPE__`` int clang uses; VARs are grouped into one DATASEC per section.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from tinybpf.btf import BTFBuilder, Linkage
from tinybpf.btf import types as bt
from tinybpf.btf.kinds import IntEncoding
from tinybpf.cc.semantics import ctypes as ct

ARRAY_INDEX = "__ARRAY_SIZE_TYPE__"
VAR_STATIC, VAR_GLOBAL, VAR_EXTERN = 0, 1, 2


class ProgramBTF:
    def __init__(self) -> None:
        self.builder = BTFBuilder()
        self._ids: dict[object, int] = {}
        self._sections: dict[str, list[bt.VarSecinfo]] = {}
        self._index: Optional[int] = None

    def type_id(self, ctype: ct.CType) -> int:
        """The id of ``ctype``, adding it (and what it refers to) the first time."""
        key: object = ctype
        if isinstance(ctype, ct.Record):
            key = ("record", id(ctype.definition()), ctype.const, ctype.volatile)
        found = self._ids.get(key)
        if found is not None:
            return found
        return self._add(key, ctype)

    def _add(self, key: object, ctype: ct.CType) -> int:
        b = self.builder
        if isinstance(ctype, ct.Void):
            return 0
        if ctype.const or ctype.volatile:
            inner: ct.CType = _unqualified(ctype)
            type_id = self.type_id(inner)
            if ctype.volatile:
                type_id = b.add(bt.Volatile(type_id))
            if ctype.const:
                type_id = b.add(bt.Const(type_id))
            self._ids[key] = type_id
            return type_id
        if isinstance(ctype, ct.Int):
            encoding = IntEncoding.BOOL if ctype.name == "_Bool" else IntEncoding.SIGNED if ctype.signed else 0
            return self._remember(key, b.add(bt.Int(ctype.name, ctype.size, int(encoding), 8 * ctype.size)))
        if isinstance(ctype, ct.Float):
            return self._remember(key, b.add(bt.Float(ctype.name, ctype.size)))
        if isinstance(ctype, ct.Pointer):
            placeholder = self._remember(key, b.add(bt.Ptr(0)))  # self-referencing structs come back here
            target = self.type_id(ctype.target)
            for tag in reversed(ctype.type_tags):
                target = b.add(bt.TypeTag(tag, target))
            b.types[placeholder - b.first_id] = bt.Ptr(target, id=placeholder)
            return placeholder
        if isinstance(ctype, ct.Array):
            element = self.type_id(ctype.element)
            return self._remember(key, b.add(bt.Array(element, self._array_index(), ctype.length or 0)))
        if isinstance(ctype, ct.Typedef):
            placeholder = self._remember(key, b.add(bt.Typedef(ctype.name, 0)))
            target = self.type_id(ctype.target)
            b.types[placeholder - b.first_id] = bt.Typedef(ctype.name, target, id=placeholder)
            return placeholder
        if isinstance(ctype, ct.Enum):
            values = tuple(bt.EnumValue(name, value) for name, value in ctype.values.items())
            kind = bt.Enum64 if ctype.size == 8 else bt.Enum
            return self._remember(key, b.add(kind(ctype.tag or "", ctype.size, values, ctype.signed)))
        if isinstance(ctype, ct.Record):
            return self._record(key, ctype)
        if isinstance(ctype, ct.Function):
            return self._remember(key, self.proto(ctype))
        raise TypeError(f"no BTF for {ctype!r}")

    def _remember(self, key: object, type_id: int) -> int:
        self._ids[key] = type_id
        return type_id

    def _record(self, key: object, record: ct.Record) -> int:
        b = self.builder
        definition = record.definition()
        if definition.fields is None:
            return self._remember(key, b.add(bt.Fwd(record.tag or "", record.kind == "union")))
        kind = bt.Struct if record.kind == "struct" else bt.Union
        placeholder = self._remember(key, b.add(kind(record.tag or "", definition.size, ())))
        members = tuple(
            bt.Member(field.name or "", self.type_id(field.type), field.bit_offset, field.bits or 0)
            for field in definition.fields
            if field.name is not None or field.bits is None  # unnamed bitfields are padding, not members
        )
        b.types[placeholder - b.first_id] = kind(record.tag or "", definition.size, members, id=placeholder)
        return placeholder

    def _array_index(self) -> int:
        if self._index is None:
            self._index = self.builder.add(bt.Int(ARRAY_INDEX, 4, 0, 32))
        return self._index

    def proto(self, function: ct.Function) -> int:
        returns = self.type_id(function.returns)
        params = [bt.Param(name, self.type_id(ptype)) for name, ptype in function.params]
        if function.variadic:
            params.append(bt.Param("", 0))
        return self.builder.add(bt.FuncProto(returns, tuple(params)))

    def function(self, name: str, function: ct.Function, linkage: int = Linkage.GLOBAL) -> int:
        """A FUNC for a program or sub-program (the verifier checks calls against its prototype)."""
        return self.builder.add(bt.Func(name, self.proto(function), int(linkage)))

    def variable(self, name: str, ctype: ct.CType, section: str, offset: int,
                 linkage: int = VAR_GLOBAL) -> int:
        var = self.builder.add(bt.Var(name, self.type_id(ctype), linkage))
        self._sections.setdefault(section, []).append(bt.VarSecinfo(var, offset, ct.size_of(ctype)))
        return var

    def encode(self, byte_order: str = "little", section_sizes: Optional[dict[str, int]] = None) -> bytes:
        """The blob, with one DATASEC per section that holds variables."""
        sizes = section_sizes or {}
        for section, entries in sorted(self._sections.items()):
            entries = sorted(entries, key=lambda v: v.offset)
            size = sizes.get(section, max((v.offset + v.size for v in entries), default=0))
            self.builder.add(bt.Datasec(section, size, tuple(entries)))
        self._sections.clear()
        return self.builder.encode(byte_order)


def _unqualified(ctype: ct.CType) -> ct.CType:
    if isinstance(ctype, ct.Record):
        return ctype.definition()
    if isinstance(ctype, ct.Enum):
        return ctype
    return replace(ctype, const=False, volatile=False)

