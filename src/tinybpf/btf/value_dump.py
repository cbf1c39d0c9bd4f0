"""Bytes of a BTF-typed value as the JSON-like tree bpftool's ``btf_dumper`` writes for ``map dump``.

Structs become objects, arrays lists (a NUL-terminated printable ``char`` array a string), enums the
name of their value, global-data sections ``{".bss": [{"var": value}, ...]}``. Two spellings differ
between bpftool's plain and JSON outputs, so ``plain`` selects them: pointers (``0x...`` against a
number), bitfields (hex against decimal) and unprintable ``char`` values. Text that bpftool writes
unquoted in plain output is a :class:`Raw`.
"""
from __future__ import annotations

import struct
from typing import Any

from tinybpf.btf import types as t
from tinybpf.btf.c_decl import TypeTable

_MAX_DEPTH = 64


class Raw(str):
    """A token written as is, not as a JSON string (``0x7f00``, ``(nil)``)."""


def dump_value(btf: TypeTable, type_id: int, data: bytes, plain: bool, bit_offset: int = 0) -> Any:
    """The value of type ``type_id`` stored at the start of ``data``."""
    return _dump(btf, type_id, data, plain, bit_offset, 0)


def _dump(btf: TypeTable, type_id: int, data: bytes, plain: bool, bit_offset: int, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError(f"type id {type_id}: nested too deep")
    kind = btf.type(type_id)
    if isinstance(kind, (t.Typedef, t.Const, t.Volatile, t.Restrict, t.TypeTag)):
        return _dump(btf, kind.type, data, plain, bit_offset, depth + 1)
    if isinstance(kind, t.Int):
        return _int(kind, data, plain, bit_offset)
    if isinstance(kind, (t.Enum, t.Enum64)):
        value = int.from_bytes(data[:kind.size], "little", signed=True)
        for item in kind.values:
            if item.value == value or item.value == value & ((1 << (8 * kind.size)) - 1):
                return item.name
        return value
    if isinstance(kind, (t.Struct, t.Union)):
        out = {}
        for member in kind.members:
            chunk = data[member.bit_offset // 8:]
            if member.bitfield_size:
                out[member.name] = _bits(chunk, member.bit_offset % 8, member.bitfield_size, plain)
            else:
                out[member.name] = _dump(btf, member.type, chunk, plain, member.bit_offset % 8, depth + 1)
        return out
    if isinstance(kind, t.Array):
        return _array(btf, kind, data, plain, depth)
    if isinstance(kind, t.Ptr):
        value = int.from_bytes(data[:8], "little")
        if plain:
            return Raw(f"0x{value:x}" if value else "(nil)")
        return value
    if isinstance(kind, t.Var):
        return {kind.name: _dump(btf, kind.type, data, plain, 0, depth + 1)}
    if isinstance(kind, t.Datasec):
        return {kind.name: [_dump(btf, v.type, data[v.offset:v.offset + v.size], plain, 0, depth + 1)
                            for v in kind.vars]}
    if isinstance(kind, t.Float) and kind.size in (4, 8):
        return struct.unpack_from("<f" if kind.size == 4 else "<d", data)[0]
    raise ValueError(f"type id {type_id}: {kind.kind.name} values cannot be shown")


def _int(kind: t.Int, data: bytes, plain: bool, bit_offset: int) -> Any:
    if bit_offset or kind.bit_offset or kind.bits % 8 or kind.bits not in (8, 16, 32, 64):
        if kind.bits == 128 and not bit_offset and not kind.bit_offset:
            value = int.from_bytes(data[:16], "little")
            return Raw(f"0x{value:x}") if plain else f"0x{value:x}"
        return _bits(data, bit_offset + kind.bit_offset, kind.bits, plain)
    size = kind.bits // 8
    if kind.encoding & 4:  # BOOL
        return bool(data[0])
    if kind.encoding & 2:  # CHAR
        char = data[0]
        if 0x20 <= char < 0x7F:
            return chr(char)
        return Raw(f"0x{char:x}") if plain else chr(char)
    return int.from_bytes(data[:size], "little", signed=bool(kind.encoding & 1))


def _bits(data: bytes, bit_offset: int, bits: int, plain: bool) -> Any:
    width = (bit_offset + bits + 7) // 8
    value = (int.from_bytes(data[:width], "little") >> bit_offset) & ((1 << bits) - 1)
    return Raw(f"0x{value:x}") if plain else value


def _is_string(btf: TypeTable, kind: t.Array, data: bytes) -> bool:
    if not kind.nelems:
        return False
    element = btf.type(kind.type)
    while isinstance(element, (t.Const, t.Volatile, t.Restrict, t.TypeTag)):
        element = btf.type(element.type)
    if not isinstance(element, t.Int) or element.size != 1 or not (element.encoding & 2 or element.name == "char"):
        return False
    for byte in data[:kind.nelems]:
        if byte == 0:
            return True
        if byte <= 0x1F or byte >= 0x7F:
            return False
    return False


def _array(btf: TypeTable, kind: t.Array, data: bytes, plain: bool, depth: int) -> Any:
    if _is_string(btf, kind, data):
        return data[:data.index(0)].decode("ascii")
    size = _size(btf, kind.type, depth)
    return [_dump(btf, kind.type, data[i * size:], plain, 0, depth + 1) for i in range(kind.nelems)]


def _size(btf: TypeTable, type_id: int, depth: int) -> int:
    kind = btf.type(type_id)
    if isinstance(kind, (t.Typedef, t.Const, t.Volatile, t.Restrict, t.TypeTag)):
        return _size(btf, kind.type, depth + 1)
    if isinstance(kind, t.Array):
        return kind.nelems * _size(btf, kind.type, depth + 1)
    if isinstance(kind, t.Ptr):
        return 8
    return int(getattr(kind, "size", 0))


__all__ = ["Raw", "dump_value"]
