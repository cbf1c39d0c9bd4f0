"""Typing of memory expressions: casts to pointers and structs, ``*p``, ``p->field``, ``s.field``, ``a[i]``,
``sizeof``/``offsetof`` of C types. Split from ``semantics`` so the analyser stays about the language core.

A pointer remembers the address space its bytes live in: a cast in a uprobe/usdt probe makes a user pointer
(as bpftrace does), everything derived from it (fields, elements, pointer members) stays user.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Optional

from tinybpf.trace.semantics.stype import BOOL, NONE, UINT64, SType
from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.semantics.analysis import Analyser as SemanticAnalyser

USER_PROVIDERS = ("uprobe", "uretprobe", "usdt")


def named_type(sema: SemanticAnalyser, name: ast.TypeName) -> Optional[SType]:
    """The type a cast/sizeof names, pointer depth applied; None when unknown."""
    base = sema.ctypes().named_type(name.name)
    if base is None:
        return None
    t = base
    for _ in range(name.pointer_depth):
        t = SType("ptr", 8, pointee=None if t.kind == "void" else t)
    if name.array_length:
        t = SType("array", t.size * name.array_length, pointee=t)
    return t


def with_space(t: SType, space: str) -> SType:
    """``t`` (and what it points to) in address space ``space``."""
    if t.kind not in ("ptr", "struct", "array") or t.addrspace == space:
        return t
    pointee = with_space(t.pointee, space) if t.pointee is not None else None
    return dataclasses.replace(t, addrspace=space, pointee=pointee)


def with_fields(ctypes: object, t: SType, depth: int = 0) -> SType:
    """A struct held by value (or an array of them) with its members spelled out, for copying and printing.

    Only values get their members: what a pointer points to stays a bare tag, so recursive types are finite.
    """
    if depth > 16:
        return t
    if t.kind == "array" and t.pointee is not None and t.pointee.kind in ("struct", "array"):
        return dataclasses.replace(t, pointee=with_fields(ctypes, t.pointee, depth + 1))
    if t.kind != "struct" or t.elements:
        return t
    record = ctypes.record(t.tag)  # type: ignore[attr-defined]
    if record is None:
        return t
    members = record.members
    return dataclasses.replace(
        t, names=tuple(m.name for m in members), offsets=tuple(m.offset for m in members),
        elements=tuple(_member_value(ctypes, m, t.addrspace, depth) for m in members))


def _member_value(ctypes: object, member: Any, space: str, depth: int) -> SType:
    if member.bits:
        return dataclasses.replace(member.type, bitfield=(member.bit_shift, member.bits))
    return with_fields(ctypes, with_space(member.type, space), depth + 1)


def cast(sema: SemanticAnalyser, e: ast.Cast, inner: SType) -> SType:
    if e.type.name == "bool" and not e.type.pointer_depth:
        if not inner.is_int and inner.kind != "none":
            sema.error(f"Cannot cast from \"{inner}\" to \"bool\"", e.pos)
        return BOOL
    target = named_type(sema, e.type)
    if target is None:
        sema.error(f"Unknown type: {e.type}" if not e.type.pointer_depth else f"Cannot cast to \"{e.type}\"",
                   e.pos)
        return NONE
    if target.kind != "ptr":
        sema.error(f"Cannot cast to \"{e.type}\"", e.pos)
        return NONE
    if not inner.is_int and inner.kind != "none":
        sema.error(f"Cannot cast from \"{inner}\" to \"{e.type}\"", e.pos)
    space = "user" if sema.provider in USER_PROVIDERS else inner.addrspace if inner.kind == "ptr" else "kernel"
    return with_space(target, space)


def array_cast(sema: SemanticAnalyser, e: ast.Cast, inner: SType) -> SType:
    """``(int8[8])x``, ``(bool[])x``: the bytes of an integer, string or array seen as an integer array
    (``[]`` takes the size of ``x``)."""
    element = BOOL if e.type.name == "bool" else sema.ctypes().named_type(e.type.name)
    if element is None or element.kind not in ("int", "bool") or e.type.pointer_depth:
        sema.error(f"Cannot cast to \"{e.type}\"", e.pos)
        return NONE
    if inner.kind == "none":
        return NONE
    length = e.type.array_length or inner.size // element.size
    if inner.kind not in ("int", "bool", "string", "array") or length * element.size != inner.size:
        sema.error(f"Cannot cast from \"{inner}\" to \"{e.type}\"", e.pos)
        return NONE
    return SType("array", inner.size, pointee=element)


def deref(sema: SemanticAnalyser, e: ast.Unop, pointer: SType) -> SType:
    if pointer.pointee is None or pointer.pointee.kind in ("void", "none"):
        sema.error(f"Can not dereference type '{pointer}'", e.pos)
        return NONE
    return with_fields(sema.ctypes(), with_space(pointer.pointee, pointer.addrspace))


def member_owner(sema: SemanticAnalyser, e: ast.Expression) -> SType:
    """The type ``e`` has as the left side of ``.``: ``p->f`` (``(*p).f``) needs the pointee's tag, not its
    members spelled out, so a field access never expands a big kernel struct (task_struct: ~50 records)."""
    if isinstance(e, ast.Unop) and e.op == "*":
        pointer = sema.expr(e.operand)
        if pointer.kind == "ptr" and pointer.pointee is not None and pointer.pointee.kind == "struct":
            return sema.set(e, with_space(pointer.pointee, pointer.addrspace))
    if isinstance(e, ast.FieldAccess):
        owner = member_owner(sema, e.expr)
        if owner.kind in ("struct", "ptr"):
            return sema.set(e, field(sema, e, owner, expand=False))
    return sema.expr(e)


def field(sema: SemanticAnalyser, e: ast.FieldAccess, inner: SType, expand: bool = True) -> SType:
    """``s.f`` on a struct, or on a pointer to one (bpftrace dereferences it for ``.`` as well)."""
    struct = inner
    if inner.kind == "ptr":
        struct = inner.pointee if inner.pointee is not None else NONE
    if struct.kind != "struct":
        sema.error(f"Can not access field '{e.field}' on expression of type '{inner}'", e.pos)
        return NONE
    member = sema.ctypes().member(struct.tag, e.field)
    if member is None:
        sema.error(f"Struct/union of type '{struct.tag}' does not contain a field named '{e.field}'", e.pos)
        return NONE
    found = with_space(member.type, inner.addrspace)
    return with_fields(sema.ctypes(), found) if expand else found


def array_access(sema: SemanticAnalyser, e: ast.ArrayAccess) -> SType:
    inner = sema.expr(e.expr)
    index = sema.expr(e.index)
    if not index.is_int and index.kind != "none":
        sema.error(f"The array index operator [] only accepts integer indices ({index} provided)", e.pos)
    if inner.kind == "string" and inner.pointee is None:
        return SType("int", 1, True)
    if inner.kind == "tuple":
        position = sema.const_int(e.index) if not isinstance(e.index, ast.Binop) else _fold(sema, e.index)
        if position is None or not 0 <= position < len(inner.elements):
            sema.error("Tuple index must be a constant in range", e.index.pos)
            return NONE
        return inner.elements[position]
    if inner.kind not in ("array", "ptr") or inner.pointee is None:
        if inner.kind != "none":
            sema.error(f"The array index operator [] can only be used on arrays and pointers, found {inner}.",
                       e.pos)
        return NONE
    count = inner.size // inner.pointee.size if inner.kind == "array" and inner.pointee.size else 0
    constant = sema.const_int(e.index)
    if inner.kind == "array" and count and constant is not None and not 0 <= constant < count:
        sema.error(f"the index {constant} is out of bounds for array of size {count}", e.pos)
    return with_fields(sema.ctypes(), with_space(inner.pointee, inner.addrspace))


def _fold(sema: SemanticAnalyser, e: ast.Binop) -> Optional[int]:
    """A constant integer expression such as ``1 + 1`` (tuple indices written as arithmetic)."""
    left = sema.const_int(e.left) if not isinstance(e.left, ast.Binop) else _fold(sema, e.left)
    right = sema.const_int(e.right) if not isinstance(e.right, ast.Binop) else _fold(sema, e.right)
    if left is None or right is None:
        return None
    operations = {"+": left + right, "-": left - right, "*": left * right}
    return operations.get(e.op)


def offsetof(sema: SemanticAnalyser, e: ast.Offsetof) -> SType:
    struct = named_type(sema, e.target) if isinstance(e.target, ast.TypeName) else sema.expr(e.target)
    if struct is None or struct.kind != "struct":
        sema.error(f"offsetof() expects a struct type ({struct or e.target} provided)", e.pos)
        return NONE
    if offset_of(sema.ctypes(), struct, e.field) is None:
        sema.error(f"'{struct}' has no field named '{e.field}'", e.pos)
        return NONE
    return UINT64


def offset_of(ctypes: object, struct: SType, path: str) -> Optional[int]:
    """The byte offset of ``a.b.c`` in ``struct``."""
    total = 0
    current = struct
    for part in path.split("."):
        if current.kind != "struct":
            return None
        member = ctypes.member(current.tag, part)  # type: ignore[attr-defined]
        if member is None:
            return None
        total += member.offset
        current = member.type
    return total


def curtask(sema: SemanticAnalyser) -> SType:
    """``curtask`` is a ``struct task_struct *`` where the kernel has BTF, a plain integer elsewhere."""
    task = sema.ctypes().struct_type("struct task_struct")
    return UINT64 if task is None else SType("ptr", 8, pointee=task)

