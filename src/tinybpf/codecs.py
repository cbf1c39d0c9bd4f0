"""Typed map keys and values: how Python values become the bytes a map stores, and back.

A codec is chosen once per map from what the user says the key or value is: ``int`` (with a
size), ``bytes``, a ``struct`` format (``"<IQ"``; several fields give tuples), or a ctypes type
(``ctypes.c_uint32``, a ``ctypes.Structure`` subclass). Every codec also accepts raw ``bytes`` of
the right size, so any map can be fed what a C program would write.
"""
from __future__ import annotations

import ctypes
import struct
from typing import Any, Optional, Union

from .errors import TinyBPFError

TypeSpec = Union[None, type, str, "Codec"]


class Codec:
    """Converts one key or value kind; ``size`` is the byte size the map was created with."""

    size: int = 0

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def decode_many(self, data: bytes, count: int, stride: int) -> list[Any]:
        """Decode ``count`` records laid out every ``stride`` bytes (batch results)."""
        size = self.size
        return [self.decode(data[i * stride:i * stride + size]) for i in range(count)]

    def _raw(self, value: Any) -> Optional[bytes]:
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            if len(raw) != self.size:
                raise TinyBPFError(f"expected {self.size} bytes, got {len(raw)}", "pass a value of the map's size")
            return raw
        return None


class BytesCodec(Codec):
    def __init__(self, size: int) -> None:
        self.size = size

    def encode(self, value: Any) -> bytes:
        raw = self._raw(value)
        if raw is None:
            raise TinyBPFError(f"expected bytes of size {self.size}, got {type(value).__name__}")
        return raw

    def decode(self, data: bytes) -> bytes:
        return bytes(data)


_INT_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


class IntCodec(Codec):
    """Native-endian integers of 1, 2, 4 or 8 bytes (what BPF programs store)."""

    def __init__(self, size: int, signed: bool = False) -> None:
        if size not in _INT_FORMATS:
            raise TinyBPFError(f"an integer key or value must be 1, 2, 4 or 8 bytes, not {size}")
        self.size = size
        letter = _INT_FORMATS[size]
        self._struct = struct.Struct("=" + (letter.lower() if signed else letter))

    def encode(self, value: Any) -> bytes:
        try:
            return self._struct.pack(value)
        except struct.error as exc:
            raw = self._raw(value)
            if raw is not None:
                return raw
            raise TinyBPFError(f"cannot store {value!r} in {self.size} bytes: {exc}") from None

    def decode(self, data: bytes) -> int:
        return int(self._struct.unpack_from(data)[0])

    def decode_many(self, data: bytes, count: int, stride: int) -> list[Any]:
        if stride == self.size:
            return [v[0] for v in self._struct.iter_unpack(data[: count * stride])]
        return super().decode_many(data, count, stride)


class StructCodec(Codec):
    """A ``struct`` format; one field gives scalars, several give tuples."""

    def __init__(self, fmt: str, size: int = 0) -> None:
        self._struct = struct.Struct(fmt)
        self.size = self._struct.size
        if size and size != self.size:
            raise TinyBPFError(f"format {fmt!r} is {self.size} bytes but the map holds {size}")
        self._single = len(self._struct.unpack(bytes(self.size))) == 1

    def encode(self, value: Any) -> bytes:
        raw = self._raw(value)
        if raw is not None:
            return raw
        try:
            return self._struct.pack(value) if self._single else self._struct.pack(*value)
        except (struct.error, TypeError) as exc:
            raise TinyBPFError(f"cannot pack {value!r} as {self._struct.format!r}: {exc}") from None

    def decode(self, data: bytes) -> Any:
        fields = self._struct.unpack_from(data)
        return fields[0] if self._single else fields

    def decode_many(self, data: bytes, count: int, stride: int) -> list[Any]:
        if stride != self.size:
            return super().decode_many(data, count, stride)
        it = self._struct.iter_unpack(data[: count * stride])
        return [f[0] for f in it] if self._single else list(it)


class CtypesCodec(Codec):
    """A ctypes type: ``c_uint32`` values come back as ints, structures as structure instances."""

    def __init__(self, ctype: Any, size: int = 0) -> None:
        self._ctype = ctype
        self.size = ctypes.sizeof(ctype)
        if size and size != self.size:
            raise TinyBPFError(f"{ctype.__name__} is {self.size} bytes but the map holds {size}")
        self._simple = issubclass(ctype, ctypes._SimpleCData)

    def encode(self, value: Any) -> bytes:
        raw = self._raw(value)
        if raw is not None:
            return raw
        if isinstance(value, self._ctype):
            return bytes(value)
        if self._simple:
            return bytes(self._ctype(value))
        raise TinyBPFError(f"expected {self._ctype.__name__} or bytes, got {type(value).__name__}")

    def decode(self, data: bytes) -> Any:
        obj = self._ctype.from_buffer_copy(bytes(data[: self.size]))
        return obj.value if self._simple else obj


class LpmKeyCodec(Codec):
    """LPM trie keys: ``(prefixlen, data)`` where data is bytes or an ``ipaddress`` address."""

    _PREFIX = struct.Struct("=I")

    def __init__(self, size: int) -> None:
        if size <= 4:
            raise TinyBPFError("an LPM trie key needs 4 bytes of prefix length plus data")
        self.size = size

    def encode(self, value: Any) -> bytes:
        raw = self._raw(value)
        if raw is not None:
            return raw
        prefixlen, data = value
        packed = getattr(data, "packed", data)
        if not isinstance(packed, (bytes, bytearray)) or len(packed) != self.size - 4:
            raise TinyBPFError(f"LPM key data must be {self.size - 4} bytes")
        return self._PREFIX.pack(prefixlen) + bytes(packed)

    def decode(self, data: bytes) -> Any:
        return (self._PREFIX.unpack_from(data)[0], bytes(data[4:self.size]))


class AddressListCodec(Codec):
    """Stack trace map values: an array of u64 instruction pointers, zero-terminated by the kernel."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._struct = struct.Struct(f"={size // 8}Q")

    def encode(self, value: Any) -> bytes:
        raw = self._raw(value)
        if raw is not None:
            return raw
        addresses = list(value)[: self.size // 8]
        return self._struct.pack(*addresses, *([0] * (self.size // 8 - len(addresses))))

    def decode(self, data: bytes) -> list[int]:
        addresses = self._struct.unpack_from(data)
        end = addresses.index(0) if 0 in addresses else len(addresses)
        return list(addresses[:end])


def make_codec(kind: TypeSpec, size: int) -> Codec:
    """The codec for a declared key/value kind; ``None`` means int for 1/2/4/8 bytes, bytes otherwise."""
    if isinstance(kind, Codec):
        return kind
    if kind is None:
        return IntCodec(size) if size in _INT_FORMATS else BytesCodec(size)
    if kind is int:
        return IntCodec(size)
    if kind is bytes:
        return BytesCodec(size)
    if isinstance(kind, str):
        return StructCodec(kind, size)
    if isinstance(kind, type) and issubclass(kind, (ctypes._SimpleCData, ctypes.Structure, ctypes.Union,
                                                    ctypes.Array)):
        return CtypesCodec(kind, size)
    raise TinyBPFError(f"unsupported key/value type {kind!r}", "use int, bytes, a struct format or a ctypes type")


def type_size(kind: TypeSpec) -> int:
    """The byte size a declared kind implies, or 0 when it does not say (int, bytes, None)."""
    if isinstance(kind, Codec):
        return kind.size
    if isinstance(kind, str):
        return struct.calcsize(kind)
    if isinstance(kind, type) and kind not in (int, bytes):
        try:
            return ctypes.sizeof(kind)
        except TypeError:
            return 0
    return 0
