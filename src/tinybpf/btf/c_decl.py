"""C declarators for BTF types: ``int (*handlers[4])(void *)`` from PTR -> FUNC_PROTO inside an ARRAY.

C reads declarators inside out, so the text is built from the name outwards: each pointer, array or function
layer wraps the declarator so far, and the innermost named type is spelled last. Shared by
:meth:`tinybpf.btf.BTF.c_name` and the header renderer, which passes its own ``spell`` to inline anonymous
structs and use renamed tags.
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol

from tinybpf.btf.types import (
    QUALIFIERS,
    AnyType,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Func,
    FuncProto,
    Fwd,
    Ptr,
    Restrict,
    Struct,
    TypeTag,
    Var,
    Void,
    Volatile,
)
from tinybpf.btf.types import Union as UnionType


class TypeTable(Protocol):
    """What a declarator needs from a BTF: types by id, and its error naming the blob."""

    def type(self, type_id: int) -> AnyType: ...

    def _fail(self, message: str) -> Exception: ...


Spell = Callable[[AnyType], str]
"""Returns the C text of a type that ends a declarator chain: ``struct foo``, ``u32``, ``enum { A = 1, }``."""

MAX_DECLARATOR_DEPTH = 64

_QUALIFIER_WORDS = {Const: "const", Volatile: "volatile", Restrict: "restrict"}


def spell_type(kind_type: AnyType) -> str:
    """The default spelling: tagged types with their tag, anonymous ones as ``struct {...}``."""
    if isinstance(kind_type, Void):
        return "void"
    if isinstance(kind_type, Struct):
        return f"struct {kind_type.name or '{...}'}"
    if isinstance(kind_type, UnionType):
        return f"union {kind_type.name or '{...}'}"
    if isinstance(kind_type, (Enum, Enum64)):
        return f"enum {kind_type.name or '{...}'}"
    if isinstance(kind_type, Fwd):
        return f"{'union' if kind_type.union else 'struct'} {kind_type.name}"
    return kind_type.name


def declaration(btf: TypeTable, type_id: int, name: str, spell: Optional[Spell] = None) -> str:
    """Declare ``name`` with type ``type_id`` (``name`` "" gives the type's own C name)."""
    return _declare(btf, btf.type(type_id), name, spell or spell_type, 0)


def _declare(btf: TypeTable, current: AnyType, inner: str, spell: Spell, depth: int) -> str:
    if depth > MAX_DECLARATOR_DEPTH:
        raise btf._fail(f"type id {current.id}: declarator is cyclic or too deep")
    if isinstance(current, Ptr):
        target = btf.type(current.type)
        inner = "*" + inner
        if isinstance(_skip_qualifiers(btf, target), (Array, FuncProto)):
            inner = f"({inner})"
        return _declare(btf, target, inner, spell, depth + 1)
    if isinstance(current, Array):
        return _declare(btf, btf.type(current.type), f"{inner}[{current.nelems}]", spell, depth + 1)
    if isinstance(current, FuncProto):
        return _declare(btf, btf.type(current.return_type), f"{inner}({_parameters(btf, current, spell, depth)})",
                        spell, depth + 1)
    if isinstance(current, TypeTag):
        return _declare(btf, btf.type(current.type), inner, spell, depth + 1)
    if isinstance(current, (Const, Volatile, Restrict)):
        word = _QUALIFIER_WORDS[type(current)]
        target = btf.type(current.type)
        if isinstance(_skip_qualifiers(btf, target), Ptr):
            return _declare(btf, target, f"{word} {inner}" if inner else word, spell, depth + 1)
        rest = _declare(btf, target, inner, spell, depth + 1)
        return rest if rest.startswith(word + " ") else f"{word} {rest}"
    if isinstance(current, Func):
        return _declare(btf, btf.type(current.type), current.name + inner, spell, depth + 1)
    if isinstance(current, Var):
        return _declare(btf, btf.type(current.type), current.name + inner, spell, depth + 1)
    if isinstance(current, (Datasec, DeclTag)):
        return f"{current.kind.name.lower()} {current.name}"
    return _join(spell(current), inner)


def _parameters(btf: TypeTable, proto: FuncProto, spell: Spell, depth: int) -> str:
    if not proto.params:
        return "void"
    parts = []
    for index, param in enumerate(proto.params):
        if param.type == 0 and index == len(proto.params) - 1:
            parts.append("...")
        else:
            parts.append(_declare(btf, btf.type(param.type), "", spell, depth + 1))
    return ", ".join(parts)


def _skip_qualifiers(btf: TypeTable, current: AnyType) -> AnyType:
    for _ in range(MAX_DECLARATOR_DEPTH):
        if not isinstance(current, QUALIFIERS):
            return current
        current = btf.type(current.type)
    raise btf._fail(f"type id {current.id}: qualifier chain is cyclic or too deep")


def _join(base: str, inner: str) -> str:
    if not inner:
        return base
    if inner.startswith("["):
        return base + inner
    return f"{base} {inner}"
