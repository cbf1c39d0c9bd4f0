"""The BTF type model: one frozen dataclass per kind, referring to other types by id.

References stay ids (not objects) because kernel BTF is decoded lazily and is full of cycles
(``struct task_struct`` points at itself); :class:`tinybpf.btf.BTF` turns an id into a type on demand.
``id`` is last and defaults to 0 so a type can be written before :class:`~tinybpf.btf.BTFBuilder` numbers it.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import ClassVar

from tinybpf.btf.kinds import Kind, Linkage


class Type:
    """Base of every BTF type; ``kind`` is the ``BTF_KIND_*`` value, ``name`` is "" when anonymous."""

    kind: ClassVar[Kind]
    id: int
    name: str


@dataclass(frozen=True)
class Void(Type):
    """Type id 0: ``void``, the target of ``void *`` and the return type of ``void f()``."""

    kind: ClassVar[Kind] = Kind.UNKN
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Int(Type):
    """An integer (or ``char``/``_Bool``); ``bits``/``bit_offset`` narrow it for old-style bitfields."""

    kind: ClassVar[Kind] = Kind.INT
    name: str
    size: int
    encoding: int
    bits: int
    bit_offset: int = 0
    id: int = 0


@dataclass(frozen=True)
class Ptr(Type):
    """A pointer to ``type``."""

    kind: ClassVar[Kind] = Kind.PTR
    type: int
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Array(Type):
    """``nelems`` elements of ``type``; ``index_type`` is an INT the kernel checks but C never sees."""

    kind: ClassVar[Kind] = Kind.ARRAY
    type: int
    index_type: int
    nelems: int
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Member:
    """A struct/union member; ``bitfield_size`` is 0 unless it is a bitfield (kind_flag encoding)."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0


@dataclass(frozen=True)
class Struct(Type):
    """``struct name { members }`` of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.STRUCT
    name: str
    size: int
    members: tuple[Member, ...]
    id: int = 0


@dataclass(frozen=True)
class Union(Type):
    """``union name { members }`` of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.UNION
    name: str
    size: int
    members: tuple[Member, ...]
    id: int = 0


@dataclass(frozen=True)
class EnumValue:
    """One enumerator."""

    name: str
    value: int


@dataclass(frozen=True)
class Enum(Type):
    """An enum whose values fit 32 bits; ``signed`` is the kind_flag (Linux 6.0 started setting it)."""

    kind: ClassVar[Kind] = Kind.ENUM
    name: str
    size: int
    values: tuple[EnumValue, ...]
    signed: bool = False
    id: int = 0


@dataclass(frozen=True)
class Enum64(Type):
    """An enum with 64-bit values (Linux 6.0)."""

    kind: ClassVar[Kind] = Kind.ENUM64
    name: str
    size: int
    values: tuple[EnumValue, ...]
    signed: bool = False
    id: int = 0


@dataclass(frozen=True)
class Fwd(Type):
    """A forward declaration: ``struct name;`` or, with ``union``, ``union name;``."""

    kind: ClassVar[Kind] = Kind.FWD
    name: str
    union: bool = False
    id: int = 0


@dataclass(frozen=True)
class Typedef(Type):
    """``typedef type name;``."""

    kind: ClassVar[Kind] = Kind.TYPEDEF
    name: str
    type: int
    id: int = 0


@dataclass(frozen=True)
class Volatile(Type):
    """``volatile`` qualifier on ``type``."""

    kind: ClassVar[Kind] = Kind.VOLATILE
    type: int
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Const(Type):
    """``const`` qualifier on ``type``."""

    kind: ClassVar[Kind] = Kind.CONST
    type: int
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Restrict(Type):
    """``restrict`` qualifier on ``type``."""

    kind: ClassVar[Kind] = Kind.RESTRICT
    type: int
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Func(Type):
    """A function: its signature is the FUNC_PROTO ``type``; ``linkage`` is a :class:`Linkage`."""

    kind: ClassVar[Kind] = Kind.FUNC
    name: str
    type: int
    linkage: int = Linkage.STATIC
    id: int = 0


@dataclass(frozen=True)
class Param:
    """A FUNC_PROTO parameter; a last parameter with ``type`` 0 means ``...``."""

    name: str
    type: int


@dataclass(frozen=True)
class FuncProto(Type):
    """A function signature (the type a function pointer points to)."""

    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    return_type: int
    params: tuple[Param, ...]
    name: str = ""
    id: int = 0


@dataclass(frozen=True)
class Var(Type):
    """A global variable of ``type``, placed in a DATASEC."""

    kind: ClassVar[Kind] = Kind.VAR
    name: str
    type: int
    linkage: int = Linkage.STATIC
    id: int = 0


@dataclass(frozen=True)
class VarSecinfo:
    """Where VAR (or FUNC, for ``.ksyms``) ``type`` sits inside its DATASEC."""

    type: int
    offset: int
    size: int


@dataclass(frozen=True)
class Datasec(Type):
    """An ELF data section (``.data``, ``.bss``, ``.rodata``, ``.maps``, ``.kconfig``) and its variables."""

    kind: ClassVar[Kind] = Kind.DATASEC
    name: str
    size: int
    vars: tuple[VarSecinfo, ...]
    id: int = 0


@dataclass(frozen=True)
class Float(Type):
    """A floating-point type of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.FLOAT
    name: str
    size: int
    id: int = 0


@dataclass(frozen=True)
class DeclTag(Type):
    """``__attribute__((btf_decl_tag(name)))`` on ``type``, or on its member/parameter ``component_idx`` (-1: itself)."""

    kind: ClassVar[Kind] = Kind.DECL_TAG
    name: str
    type: int
    component_idx: int = -1
    id: int = 0


@dataclass(frozen=True)
class TypeTag(Type):
    """``__attribute__((btf_type_tag(name)))`` on ``type`` (``__user``, ``__rcu`` pointers)."""

    kind: ClassVar[Kind] = Kind.TYPE_TAG
    name: str
    type: int
    id: int = 0


AnyType = typing.Union[
    Void, Int, Ptr, Array, Struct, Union, Enum, Enum64, Fwd, Typedef, Volatile, Const, Restrict, Func, FuncProto,
    Var, Datasec, Float, DeclTag, TypeTag,
]
"""Every concrete type class; what :meth:`tinybpf.btf.BTF.type` returns."""

QUALIFIERS = (Volatile, Const, Restrict, TypeTag)
"""Kinds that change how a type may be used but not its layout."""

COMPOSITES = (Struct, Union)
ENUMS = (Enum, Enum64)
