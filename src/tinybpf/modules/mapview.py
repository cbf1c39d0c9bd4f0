"""A module's pinned maps as JSON: keys and values decoded through the object's BTF (Hover's table CRUD).

Integers, enums, floats, pointers, arrays and ``char[]`` decode as the loader's globals do; structs and
unions become objects by member name; anything without BTF stays hex. Writes take the same JSON back.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal, Optional

from ..btf.reader import BTF
from ..btf.types import Struct, Union
from ..maps import Map
from ..objects import decode_value, encode_value
from .errors import ModuleError


@dataclasses.dataclass(frozen=True)
class MapView:
    """One pinned map with the BTF type ids its object declared for key and value."""

    name: str
    path: str
    btf: Optional[BTF]
    key_type: int
    value_type: int

    def open(self) -> Map:
        return Map.from_pin(self.path, key=bytes, value=bytes)

    def decode_key(self, data: bytes) -> Any:
        return to_json(self.btf, self.key_type, data)

    def decode_value(self, data: bytes) -> Any:
        return to_json(self.btf, self.value_type, data)

    def entries(self, limit: Optional[int] = None) -> list[dict[str, Any]]:
        """Every entry (the first ``limit`` when given: a caller that pages says so itself)."""
        with self.open() as m:
            found: list[dict[str, Any]] = []
            for key, value in m.items():
                if limit is not None and len(found) >= limit:
                    break
                found.append({"key": self._decode(self.key_type, key), "value": self._decode(self.value_type, value)})
            return found

    def _decode(self, type_id: int, raw: Any) -> Any:
        if isinstance(raw, list):  # per-CPU values: one per possible CPU
            return [self._decode(type_id, v) for v in raw]
        return to_json(self.btf, type_id, bytes(raw))

    def update(self, key: Any, value: Any) -> None:
        with self.open() as m:
            m.update(self._encode(self.key_type, key, m.key_size), self._encode(self.value_type, value, m.value_size))

    def delete(self, key: Any) -> None:
        with self.open() as m:
            try:
                m.delete(self._encode(self.key_type, key, m.key_size))
            except KeyError:
                raise ModuleError(f"map {self.name}: no such key {key!r}") from None

    def _encode(self, type_id: int, value: Any, size: int) -> bytes:
        if isinstance(value, str) and value.startswith("0x") and len(value) == 2 + 2 * size:
            return bytes.fromhex(value[2:])
        return from_json(self.btf, type_id, value, size, f"map {self.name}")


def to_json(btf: Optional[BTF], type_id: int, data: bytes) -> Any:
    if btf is None or not type_id:
        return "0x" + data.hex()
    t = btf.resolve(type_id)
    if isinstance(t, (Struct, Union)):
        found = {}
        for member in t.members:
            if member.bitfield_size:
                word = int.from_bytes(data, "big" if btf.byte_order == "big" else "little")
                found[member.name] = (word >> member.bit_offset) & ((1 << member.bitfield_size) - 1)
                continue
            start = member.bit_offset // 8
            size = btf.sizeof(member.type)
            found[member.name or f"@{start}"] = to_json(btf, member.type, data[start:start + size])
        return found
    value = decode_value(btf, type_id, data)
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return "0x" + value.hex()
    return value


def from_json(btf: Optional[BTF], type_id: int, value: Any, size: int, what: str) -> bytes:
    """The bytes of ``value`` (as :func:`to_json` writes it) for a key or value of BTF type ``type_id``."""
    t = btf.resolve(type_id) if btf is not None and type_id else None
    if btf is None or not isinstance(t, (Struct, Union)):
        return encode_value(btf, type_id, value, size, what)
    if not isinstance(value, dict):
        raise ModuleError(f"{what}: expected an object with members {', '.join(m.name for m in t.members)}")
    out = bytearray(size)
    order: Literal["little", "big"] = "big" if btf.byte_order == "big" else "little"
    for member in t.members:
        if member.name not in value:
            continue
        if member.bitfield_size:
            word = int.from_bytes(out, order) | ((int(value[member.name]) & ((1 << member.bitfield_size) - 1))
                                                  << member.bit_offset)
            out[:] = word.to_bytes(size, order)
            continue
        start, member_size = member.bit_offset // 8, btf.sizeof(member.type)
        out[start:start + member_size] = from_json(btf, member.type, value[member.name], member_size,
                                                   f"{what}.{member.name}")
    unknown = set(value) - {m.name for m in t.members}
    if unknown:
        raise ModuleError(f"{what}: no member {sorted(unknown)[0]!r}")
    return bytes(out)
