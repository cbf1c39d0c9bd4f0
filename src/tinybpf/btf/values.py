"""Bytes of a BTF-typed value as plain Python data: what ``tinybpf run`` prints and ``--json`` emits.

Follows bpftool's BTF dumper: structs and unions become field dicts (anonymous members merged in), arrays
lists, ``char`` arrays strings, enums their enumerator's name (the number when none matches), bitfields
their bits, pointers numbers. With ``readable=False`` char arrays stay bytes and enums numbers: the form a
program's globals are read and written in from Python.
"""
from __future__ import annotations

import struct
from typing import Any

from tinybpf.btf.kinds import IntEncoding
from tinybpf.btf.reader import BTF
from tinybpf.btf.types import COMPOSITES, ENUMS, Array, Datasec, Float, Int, Ptr, Var

_FLOATS = {4: "f", 8: "d"}


def decode(btf: BTF, type_id: int, data: bytes, *, readable: bool = True) -> Any:
    """``data`` (at least the type's size) as the value of BTF type ``type_id``; unknown kinds stay bytes."""
    t = btf.resolve(type_id)
    order: Any = btf.byte_order
    if isinstance(t, Int):
        if t.encoding & IntEncoding.BOOL:
            return data[0] != 0
        return int.from_bytes(data[:t.size], order, signed=bool(t.encoding & IntEncoding.SIGNED))
    if isinstance(t, ENUMS):
        number = int.from_bytes(data[:t.size], order, signed=t.signed)
        if readable:
            return next((v.name for v in t.values if v.value == number), number)
        return number
    if isinstance(t, Ptr):
        return int.from_bytes(data[:btf.sizeof(type_id)], order)
    if isinstance(t, Float) and t.size in _FLOATS:
        return struct.unpack(("<" if order == "little" else ">") + _FLOATS[t.size], data[:t.size])[0]
    if isinstance(t, Array):
        return _array(btf, t, data, readable)
    if isinstance(t, COMPOSITES):
        fields: dict[str, Any] = {}
        for member in t.members:
            value = _member(btf, member, data, readable)
            if member.name:
                fields[member.name] = value
            elif isinstance(value, dict):
                fields.update(value)
        return fields
    if isinstance(t, Datasec) and t.size:  # a global-data map: its variables by name
        variables = [(btf.type(v.type), v) for v in t.vars]
        return {var.name: decode(btf, var.type, data[v.offset:v.offset + v.size], readable=readable)
                for var, v in variables if isinstance(var, Var)}
    return bytes(data[:btf.sizeof(type_id)] if btf.sizeof(type_id) else data)


def _array(btf: BTF, t: Array, data: bytes, readable: bool) -> Any:
    element = btf.resolve(t.type)
    if isinstance(element, Int) and element.size == 1 and (element.encoding & IntEncoding.CHAR or
                                                             element.name in ("char", "unsigned char")):
        text = bytes(data[:t.nelems]).split(b"\0", 1)[0]
        return text.decode(errors="replace") if readable else text
    size = btf.sizeof(t.type)
    if not size:
        return []
    return [decode(btf, t.type, data[i * size:(i + 1) * size], readable=readable) for i in range(t.nelems)]


def _member(btf: BTF, member: Any, data: bytes, readable: bool) -> Any:
    if not member.bitfield_size:
        start = member.bit_offset // 8
        return decode(btf, member.type, data[start:], readable=readable)
    target = btf.resolve(member.type)
    size = btf.sizeof(member.type)
    unit = member.bit_offset // (size * 8) * size
    word = int.from_bytes(data[unit:unit + size], btf.byte_order)  # type: ignore[arg-type]
    shift = member.bit_offset - unit * 8
    if btf.byte_order == "big":
        shift = size * 8 - shift - member.bitfield_size
    value = (word >> shift) & ((1 << member.bitfield_size) - 1)
    signed = isinstance(target, Int) and bool(target.encoding & IntEncoding.SIGNED)
    if signed and value >> (member.bitfield_size - 1):
        value -= 1 << member.bitfield_size
    if isinstance(target, ENUMS) and readable:
        return next((v.name for v in target.values if v.value == value), value)
    return value


__all__ = ["decode"]
