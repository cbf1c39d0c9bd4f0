"""Build BTF blobs: the program's own types for BPF_BTF_LOAD (trace compiler, map key/value types).

Types are added in order and numbered as they come, so a type may only refer to ids already added (or to
later ids the caller reserves by adding in a known order, as a self-referencing struct does through a PTR).
"""
from __future__ import annotations

import dataclasses
import struct
import sys
from array import array
from typing import Optional

from tinybpf.btf.kinds import BTF_MAGIC, BTF_VERSION, Kind
from tinybpf.btf.reader import BTF
from tinybpf.btf.types import (
    AnyType,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    Volatile,
)

_HEADER_SIZE = 24


def _info(kind: Kind, vlen: int = 0, flag: bool = False) -> int:
    if not 0 <= vlen <= 0xFFFF:
        raise ValueError(f"{kind.name} has {vlen} members/params; BTF allows at most 65535")
    return (int(flag) << 31) | (kind << 24) | vlen


class BTFBuilder:
    """Collects types and strings and encodes them as one blob (split on ``base`` when given)."""

    def __init__(self, base: Optional[BTF] = None) -> None:
        self.base = base
        self.first_id = base.count if base is not None else 1
        self.types: list[AnyType] = []
        self._strings = bytearray() if base is not None else bytearray(b"\0")
        self._string_base = base._string_base + len(base._strings) if base is not None else 0
        self._offsets: dict[str, int] = {}

    @classmethod
    def from_btf(cls, btf: BTF) -> BTFBuilder:
        """A builder holding every type of ``btf`` (to extend it, or to re-encode it)."""
        builder = cls(btf.base)
        for kind_type in btf.types():
            builder.add(kind_type)
        return builder

    def add(self, kind_type: AnyType) -> int:
        """Append ``kind_type`` and return its id (the ``id`` field is set to it)."""
        type_id = self.first_id + len(self.types)
        if kind_type.id != type_id:
            kind_type = dataclasses.replace(kind_type, id=type_id)
        self.types.append(kind_type)
        return type_id

    def string(self, text: str) -> int:
        """The offset of ``text`` in the string section, adding it once ("" is offset 0)."""
        if not text:
            return 0
        offset = self._offsets.get(text)
        if offset is None:
            encoded = text.encode()
            if b"\0" in encoded:
                raise ValueError(f"BTF names cannot contain NUL: {text!r}")
            offset = self._offsets[text] = self._string_base + len(self._strings)
            self._strings += encoded + b"\0"
        return offset

    def encode(self, byte_order: str = sys.byteorder) -> bytes:
        """The blob: ``btf_header``, type section, string section."""
        words = array("I")
        for kind_type in self.types:
            words.extend(self._words(kind_type))
        if byte_order != sys.byteorder:
            words.byteswap()
        types = words.tobytes()
        strings = bytes(self._strings)
        header = struct.pack(
            ("<" if byte_order == "little" else ">") + "HBBIIIII",
            BTF_MAGIC, BTF_VERSION, 0, _HEADER_SIZE, 0, len(types), len(types), len(strings),
        )
        return header + types + strings

    def _words(self, t: AnyType) -> list[int]:
        name = self.string(t.name)
        if isinstance(t, Int):
            return [name, _info(Kind.INT), t.size, (t.encoding << 24) | (t.bit_offset << 16) | t.bits]
        if isinstance(t, (Ptr, Typedef, Volatile, Const, Restrict, TypeTag)):
            return [name, _info(t.kind), t.type]
        if isinstance(t, Array):
            return [name, _info(Kind.ARRAY), 0, t.type, t.index_type, t.nelems]
        if isinstance(t, (Struct, Union)):
            bitfields = any(member.bitfield_size for member in t.members)
            words = [name, _info(t.kind, len(t.members), bitfields), t.size]
            for member in t.members:
                if bitfields and (member.bit_offset >> 24 or member.bitfield_size >> 8):
                    raise ValueError(f"member {member.name!r} of {t.name!r}: bitfield offset/size out of range")
                offset = (member.bitfield_size << 24) | member.bit_offset if bitfields else member.bit_offset
                words += [self.string(member.name), member.type, offset]
            return words
        if isinstance(t, Enum):
            words = [name, _info(Kind.ENUM, len(t.values), t.signed), t.size]
            for value in t.values:
                words += [self.string(value.name), value.value & 0xFFFFFFFF]
            return words
        if isinstance(t, Enum64):
            words = [name, _info(Kind.ENUM64, len(t.values), t.signed), t.size]
            for value in t.values:
                raw = value.value & 0xFFFFFFFFFFFFFFFF
                words += [self.string(value.name), raw & 0xFFFFFFFF, raw >> 32]
            return words
        if isinstance(t, Fwd):
            return [name, _info(Kind.FWD, 0, t.union), 0]
        if isinstance(t, Func):
            return [name, _info(Kind.FUNC, t.linkage), t.type]
        if isinstance(t, FuncProto):
            words = [name, _info(Kind.FUNC_PROTO, len(t.params)), t.return_type]
            for param in t.params:
                words += [self.string(param.name), param.type]
            return words
        if isinstance(t, Var):
            return [name, _info(Kind.VAR), t.type, t.linkage]
        if isinstance(t, Datasec):
            words = [name, _info(Kind.DATASEC, len(t.vars)), t.size]
            for var in t.vars:
                words += [var.type, var.offset, var.size]
            return words
        if isinstance(t, Float):
            return [name, _info(Kind.FLOAT), t.size]
        if isinstance(t, DeclTag):
            return [name, _info(Kind.DECL_TAG), t.type, t.component_idx & 0xFFFFFFFF]
        raise ValueError(f"cannot encode {t!r}")
