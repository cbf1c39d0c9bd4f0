"""The kernel's types from BTF, declared on demand: what ``#include "vmlinux.h"`` gives a program.

The text form of vmlinux.h is 2.8 MB and 130,000 declarations; a program names a dozen. So the header
is virtual: the parser asks whether a name is a kernel typedef, the type checker asks for a tag or an
enumerator, and only those types are built from BTF; a record's members are built when it is first
used by value or a member is looked up, so a pointer to ``struct sk_buff`` costs one record. Kernel records carry
``preserve_access_index`` as vmlinux.h's ``#pragma clang attribute`` gives them, so their field
accesses become CO-RE relocations.
"""
from __future__ import annotations

import functools
from typing import Callable, Optional, Union

from tinybpf.btf import BTF, Kind
from tinybpf.btf import types as bt
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics.scopes import Ordinary

VMLINUX_H = """\
#ifndef __VMLINUX_H__
#define __VMLINUX_H__
#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma tinybpf kernel_types preserve_access_index
#else
#pragma tinybpf kernel_types
#endif
#endif
"""
"""The virtual header's text: a pragma that tells the parser and type checker to consult BTF."""

_INT_NAMES = {(1, True): "signed char", (1, False): "unsigned char", (2, True): "short", (2, False): "unsigned short",
              (4, True): "int", (4, False): "unsigned int", (8, True): "long", (8, False): "unsigned long",
              (16, True): "__int128", (16, False): "unsigned __int128"}


class KernelTypes:
    """Kernel types by name from one BTF blob, each converted once; ``load`` is called on first use."""

    def __init__(self, load: Callable[[], BTF], preserve_access_index: bool = True) -> None:
        self._load = load
        self._btf: Optional[BTF] = None
        self.preserve_access_index = preserve_access_index
        self._types: dict[int, ct.CType] = {}
        self._typedefs: dict[str, bool] = {}

    @property
    def btf(self) -> BTF:
        if self._btf is None:
            self._btf = self._load()
        return self._btf

    def is_typedef(self, name: str) -> bool:
        known = self._typedefs.get(name)
        if known is None:
            known = self._typedefs[name] = bool(self.btf.find_all(name, Kind.TYPEDEF))
        return known

    def tag(self, kind: str, name: str) -> Optional[Union[ct.Record, ct.Enum]]:
        kinds = {"struct": (Kind.STRUCT,), "union": (Kind.UNION,), "enum": (Kind.ENUM, Kind.ENUM64)}[kind]
        for btf_kind in kinds:
            found = self.btf.find_all(name, btf_kind)
            if found:
                converted = self.ctype(found[0].id)
                assert isinstance(converted, (ct.Record, ct.Enum))
                return converted
        return None

    def name(self, name: str) -> Optional[Ordinary]:
        if self.is_typedef(name):
            typedef = self.btf.find_all(name, Kind.TYPEDEF)[0]
            return Ordinary(self.ctype(typedef.id), typedef=True)
        enum = self.btf.enum_with_value(name)
        if enum is not None:
            assert isinstance(enum, (bt.Enum, bt.Enum64))
            value = next(v.value for v in enum.values if v.name == name)
            self.ctype(enum.id)
            return Ordinary(ct.INT_TYPES["int" if -(1 << 31) <= value < (1 << 31) else "long"], value=value)
        return None

    def ctype(self, type_id: int) -> ct.CType:
        """The C type of BTF type ``type_id``; records are registered before their members are built, so
        self-referencing kernel structs terminate."""
        cached = self._types.get(type_id)
        if cached is not None:
            return cached
        t = self.btf.type(type_id)
        if isinstance(t, (bt.Struct, bt.Union)):
            record = ct.Record("struct" if isinstance(t, bt.Struct) else "union", t.name or None, size=t.size,
                               align=self.btf.alignof(type_id), packed=self.btf.is_packed(t),
                               attributes=("preserve_access_index",) if self.preserve_access_index else (),
                               fill=functools.partial(self._fill, members=t.members))
            self._types[type_id] = record
            return record
        converted = self._convert(t)
        self._types[type_id] = converted
        return converted

    def _fill(self, record: ct.Record, members: tuple[bt.Member, ...]) -> None:
        record.fields = [
            ct.Field(m.name or None, self.ctype(m.type), m.bit_offset // 8, m.bit_offset, m.bitfield_size or None)
            for m in members
        ]

    def _convert(self, t: bt.Type) -> ct.CType:
        if isinstance(t, bt.Void):
            return ct.Void()
        if isinstance(t, bt.Int):
            signed = bool(t.encoding & 1)
            if t.encoding & 4:
                return ct.INT_TYPES["_Bool"]
            if t.encoding & 2 and t.size == 1:
                return ct.INT_TYPES["char"]
            return ct.Int(t.name or _INT_NAMES[(t.size, signed)], t.size, signed)
        if isinstance(t, bt.Ptr):
            target, tags = self._type_tags(t.type)
            return ct.Pointer(target, type_tags=tags)
        if isinstance(t, bt.Array):
            return ct.Array(self.ctype(t.type), t.nelems)
        if isinstance(t, (bt.Enum, bt.Enum64)):
            return ct.Enum(t.name or None, {v.name: v.value for v in t.values}, t.size, t.signed, complete=True)
        if isinstance(t, bt.Fwd):
            return ct.Record("union" if t.union else "struct", t.name)
        if isinstance(t, bt.Typedef):
            return ct.Typedef(t.name, self.ctype(t.type))
        if isinstance(t, bt.Const):
            return ct.qualified(self.ctype(t.type), const=True)
        if isinstance(t, bt.Volatile):
            return ct.qualified(self.ctype(t.type), volatile=True)
        if isinstance(t, (bt.Restrict, bt.TypeTag)):
            return self.ctype(t.type)
        if isinstance(t, bt.FuncProto):
            params = tuple((p.name, self.ctype(p.type)) for p in t.params if p.type != 0)
            variadic = bool(t.params) and t.params[-1].type == 0
            return ct.Function(self.ctype(t.return_type), params, variadic)
        if isinstance(t, bt.Func):
            return self.ctype(t.type)
        if isinstance(t, bt.Float):
            return ct.Float(t.name, t.size)
        return ct.Void()  # VAR, DATASEC and DECL_TAG are not types a program can name

    def _type_tags(self, type_id: int) -> tuple[ct.CType, tuple[str, ...]]:
        """A pointer's target with the ``btf_type_tag``s (``__user``, ``__percpu``...) BTF put before it."""
        tags: list[str] = []
        t = self.btf.type(type_id)
        while isinstance(t, bt.TypeTag):
            tags.append(t.name)
            type_id = t.type
            t = self.btf.type(type_id)
        return self.ctype(type_id), tuple(tags)
