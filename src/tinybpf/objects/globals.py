"""Global variables of an object (``.rodata``, ``.data``, ``.bss``, ``.kconfig``) as Python values, through BTF.

Before load they live in the spec's bytes (copied only when written: a NOBITS ``.bss`` of a gigabyte costs
nothing), after load in the section's one-element array map, read and written through a shared mapping of it
when the map is BPF_F_MMAPABLE (as a libbpf skeleton does), so a variable costs its own bytes, not the section's.
"""
from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any, Literal, Optional

from ..btf import values
from ..btf.reader import BTF
from ..btf.types import Array, Float
from ..elf import objspec
from ..elf.objspec import DataSection
from .errors import ObjectError


class GlobalData:
    """The variables of one data section (``.rodata``, ``.data``, ``.bss``, ``.kconfig``), by name.

    Before load they live in a buffer that becomes the map's initial value; after load reads and
    writes go to the map. ``.rodata`` and ``.kconfig`` are frozen at load: writing them after is an error.
    Values are typed from BTF: integers, enums, floats, pointers as ints, ``char[]`` as bytes, arrays as
    lists; anything else as raw bytes.
    """

    def __init__(self, section: DataSection, btf: Optional[BTF]) -> None:
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_btf", btf)
        object.__setattr__(self, "_buffer", None)  # the section's bytes, copied on the first write before load
        object.__setattr__(self, "_map", None)
        object.__setattr__(self, "_view", None)  # the loaded map's values, mapped on first use
        object.__setattr__(self, "_open_view", None)

    def attach_map(self, loaded: Any, open_view: Optional[Callable[[], Any]] = None) -> None:
        """From now on the variables live in ``loaded`` (the section's map), read through the mapping
        ``open_view`` makes when there is one. It is made on first access, not at load: the kernel maps every
        page of the value at once, so a gigabyte ``.bss`` nobody reads stays out of this process's RSS."""
        object.__setattr__(self, "_map", loaded)
        object.__setattr__(self, "_open_view", open_view)

    def detach_map(self) -> None:
        view = self._view
        object.__setattr__(self, "_map", None)
        object.__setattr__(self, "_view", None)
        object.__setattr__(self, "_open_view", None)
        if view is not None:
            view.close()

    def _mapped(self) -> Any:
        if self._view is None and self._open_view is not None:
            object.__setattr__(self, "_view", self._open_view())
        return self._view

    @property
    def name(self) -> str:
        return self._section.name

    @property
    def variables(self) -> list[str]:
        return list(self._section.variables)

    def raw(self) -> bytes:
        """The whole section's current bytes."""
        view = self._mapped()
        if view is not None:
            return bytes(view[:self._section.size])
        if self._map is not None:
            return bytes(self._map.lookup(0))
        if self._buffer is not None:
            return bytes(self._buffer)
        return self._section.read(0, self._section.size)

    def initial_value(self) -> Optional[bytes]:
        """What the map starts with, or None when the kernel's zero-filled value is already right (untouched .bss)."""
        if self._buffer is not None:
            return bytes(self._buffer)
        return self._section.read(0, self._section.size) if self._section.data else None

    def _read(self, variable: objspec.Variable) -> bytes:
        view = self._mapped()
        if view is not None:
            return bytes(view[variable.offset:variable.offset + variable.size])
        if self._map is None and self._buffer is None:
            return self._section.read(variable.offset, variable.size)
        return self.raw()[variable.offset:variable.offset + variable.size]

    def _variable(self, name: str) -> objspec.Variable:
        variable = self._section.variables.get(name)
        if variable is None:
            known = ", ".join(self._section.variables) or "none"
            raise AttributeError(f"{self._section.name} has no variable {name!r} (it has: {known})")
        return variable

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        variable = self._variable(name)
        return decode_value(self._btf, variable.type_id, self._read(variable))

    def __setattr__(self, name: str, value: Any) -> None:
        variable = self._variable(name)
        encoded = encode_value(self._btf, variable.type_id, value, variable.size, f"{self.name}.{name}")
        if self._map is None:
            if self._buffer is None:
                object.__setattr__(self, "_buffer", bytearray(self._section.read(0, self._section.size)))
            self._buffer[variable.offset:variable.offset + variable.size] = encoded
            return
        if self._section.readonly:
            raise ObjectError(f"cannot write {self.name}.{name}: {self.name} is frozen once loaded",
                              "set read-only globals between Object.open() and load()")
        view = self._mapped()
        if view is not None:
            view[variable.offset:variable.offset + variable.size] = encoded
            return
        current = bytearray(self._map.lookup(0))
        current[variable.offset:variable.offset + variable.size] = encoded
        self._map.update(0, bytes(current))

    def as_dict(self) -> dict[str, Any]:
        """Every variable decoded for people (enums by name, ``char[]`` as text), from one read of the section."""
        view = self._mapped()
        raw = view if view is not None else self.raw()
        return {name: display_value(self._btf, v.type_id, bytes(raw[v.offset:v.offset + v.size]))
                for name, v in self._section.variables.items()}

    __getitem__ = __getattr__
    __setitem__ = __setattr__

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._section.variables]

    def __repr__(self) -> str:
        state = "loaded" if self._map is not None else "not loaded"
        return f"GlobalData({self.name!r}, {len(self._section.variables)} variables, {state})"


def _endian(btf: Optional[BTF]) -> Literal["little", "big"]:
    return "big" if btf is not None and btf.byte_order == "big" else "little"


def decode_value(btf: Optional[BTF], type_id: int, data: bytes) -> Any:
    """A variable's bytes as a Python value, using its BTF type (raw bytes without one); ``char[]`` as bytes."""
    if btf is None or not type_id:
        return bytes(data)
    return values.decode(btf, type_id, data, readable=False)


def encode_value(btf: Optional[BTF], type_id: int, value: Any, size: int, what: str) -> bytes:
    """The bytes of ``value`` for a variable of BTF type ``type_id`` and ``size`` bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > size:
            raise ObjectError(f"{what}: {len(raw)} bytes do not fit in {size}")
        return raw.ljust(size, b"\0")
    t = btf.resolve(type_id) if btf is not None and type_id else None
    order = _endian(btf)
    if isinstance(value, str):
        return encode_value(btf, type_id, value.encode(), size, what)
    if isinstance(value, float) or isinstance(t, Float):
        if size not in (4, 8):
            raise ObjectError(f"{what}: cannot store a float in {size} bytes")
        return struct.pack(("<" if order == "little" else ">") + ("f" if size == 4 else "d"), value)
    if isinstance(value, (list, tuple)) and isinstance(t, Array) and btf is not None:
        element_size = btf.sizeof(t.type)
        if len(value) > t.nelems:
            raise ObjectError(f"{what}: {len(value)} values for {t.nelems} elements")
        return b"".join(encode_value(btf, t.type, v, element_size, what) for v in value).ljust(size, b"\0")
    if isinstance(value, int):
        signed = value < 0
        try:
            return value.to_bytes(size, order, signed=signed)
        except OverflowError:
            raise ObjectError(f"{what}: {value} does not fit in {size} bytes") from None
    raise ObjectError(f"{what}: cannot store {type(value).__name__} (use int, float, bytes, str or a list)")


def display_value(btf: Optional[BTF], type_id: int, raw: Any) -> Any:
    """A map key, value or variable for people: through BTF when it has a type, else an int or bytes."""
    if isinstance(raw, list):
        return [display_value(btf, type_id, one) for one in raw]
    if btf is not None and type_id:
        return values.decode(btf, type_id, raw)
    return int.from_bytes(raw, sys.byteorder) if len(raw) in (1, 2, 4, 8) else bytes(raw)


__all__ = ["GlobalData", "decode_value", "display_value", "encode_value"]
