"""Live BPF maps with dict-like, typed access.

``Map`` owns a map file descriptor. Keys and values go through codecs (see ``tinybpf.codecs``):
declare ``key=int``, ``value="<QQ"``, ``value=MyStruct``... and get the same kinds back. Per-CPU
maps take and return one value per possible CPU. Whole-map reads and writes use the kernel's batch
commands and fall back to one element at a time where a kernel or map type lacks them.
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional, Union

from .codecs import AddressListCodec, Codec, IntCodec, LpmKeyCodec, TypeSpec, make_codec, type_size
from .errors import BPFError, TinyBPFError
from .kernel import commands
from .kernel.attrs import MAP_INFO
from .kernel.constants import Cmd, MapFlags, MapType, UpdateFlags
from .kernel.fd import FD
from .kernel.syscall import bpf_errno, command_name, hint_for
from .kernel.sysinfo import num_possible_cpus
from .spec import MapSpec

ENOENT, ENOSPC = 2, 28
# plain ints: ctypes converts an IntEnum argument noticeably slower on the hot path
_LOOKUP, _UPDATE, _DELETE = int(Cmd.MAP_LOOKUP_ELEM), int(Cmd.MAP_UPDATE_ELEM), int(Cmd.MAP_DELETE_ELEM)

PERCPU_TYPES = frozenset(
    {MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE}
)
ARRAY_TYPES = frozenset(
    {MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY,
     MapType.ARRAY_OF_MAPS, MapType.CGROUP_ARRAY}
)
# Maps whose values are written as file descriptors and read back as object ids.
FD_VALUE_TYPES = frozenset(
    {MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
     MapType.CGROUP_ARRAY}
)
KEYLESS_TYPES = frozenset({MapType.QUEUE, MapType.STACK, MapType.RINGBUF, MapType.USER_RINGBUF,
                           MapType.BLOOM_FILTER})


@dataclasses.dataclass(frozen=True)
class MapInfo:
    """What BPF_OBJ_GET_INFO_BY_FD says about a map."""

    id: int
    type: Union[MapType, int]
    name: str
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int = 0
    map_extra: int = 0

    @property
    def type_name(self) -> str:
        """bpftool's spelling: ``hash``, ``percpu_array``, ``ringbuf``."""
        return self.type.name.lower() if isinstance(self.type, MapType) else f"type {self.type}"


def map_info(fd: int) -> MapInfo:
    raw = commands.read_info(fd, MAP_INFO)
    kind = int(raw["type"])  # type: ignore[call-overload]
    return MapInfo(
        id=int(raw["id"]),  # type: ignore[call-overload]
        type=MapType(kind) if kind in MapType._value2member_map_ else kind,
        name=bytes(raw["name"]).rstrip(b"\0").decode(errors="replace"),  # type: ignore[call-overload]
        key_size=int(raw["key_size"]),  # type: ignore[call-overload]
        value_size=int(raw["value_size"]),  # type: ignore[call-overload]
        max_entries=int(raw["max_entries"]),  # type: ignore[call-overload]
        flags=int(raw["map_flags"]),  # type: ignore[call-overload]
        btf_id=int(raw["btf_id"]),  # type: ignore[call-overload]
        map_extra=int(raw["map_extra"]),  # type: ignore[call-overload]
    )


def _default_sizes(map_type: MapType, key_size: int, value_size: int, max_entries: int) -> tuple[int, int, int]:
    """Fill in the sizes a map type fixes, so ``Map.create(MapType.PERF_EVENT_ARRAY)`` just works."""
    if map_type in KEYLESS_TYPES:
        key_size = 0
    elif map_type in ARRAY_TYPES or map_type == MapType.STACK_TRACE:
        key_size = key_size or 4
    if map_type in FD_VALUE_TYPES:
        value_size = value_size or 4
    if map_type == MapType.STACK_TRACE:
        value_size = value_size or 127 * 8
    if map_type == MapType.PERF_EVENT_ARRAY:
        max_entries = max_entries or num_possible_cpus()
    if map_type in (MapType.RINGBUF, MapType.USER_RINGBUF):
        value_size = 0
        max_entries = max_entries or 256 * 1024
    return key_size, value_size, max_entries


_LAZY_BUFFER = 1 << 20


def _value_buffer(size: int) -> Any:
    """The map's value buffer. A large one (a 1 GiB ``.bss``) is anonymous memory the kernel zero-fills on first
    touch, so an unused value costs no RSS and no memset; ctypes' own buffers are written in full at creation."""
    if size < _LAZY_BUFFER:
        return ctypes.create_string_buffer(size)
    import mmap

    return (ctypes.c_char * size).from_buffer(mmap.mmap(-1, size))


def _raise(cmd: int, err: int, what: str = "") -> None:
    raise BPFError(command_name(cmd), err, hint_for(cmd, err), what)


class Map:
    """A BPF map: ``m[key] = value``, ``m[key]``, ``del m[key]``, iteration, batch dump, pins."""

    def __init__(self, fd: FD, info: MapInfo, key: TypeSpec = None, value: TypeSpec = None) -> None:
        self._fd = fd
        self.info = info
        self.type = info.type
        self.name = info.name
        self.key_size = info.key_size
        self.value_size = info.value_size
        self.max_entries = info.max_entries
        self.percpu = info.type in PERCPU_TYPES
        self.ncpus = num_possible_cpus() if self.percpu else 1
        # per-CPU values are laid out at 8-byte strides, one per possible CPU
        self._stride = (self.value_size + 7) & ~7 if self.percpu else self.value_size
        self._value_total = self._stride * self.ncpus
        self.key_codec: Codec = self._key_codec(key)
        self.value_codec: Codec = self._value_codec(value)
        # One key and one value buffer per map, with the element attrs pointing at them prebuilt:
        # single-element access is the hot path, so it packs nothing it can reuse.
        self._lock = threading.Lock()
        self._kbuf = ctypes.create_string_buffer(max(self.key_size, 1))
        self._vbuf = _value_buffer(max(self._value_total, 1))
        self._kview = memoryview(self._kbuf).cast("B")
        self._vview = memoryview(self._vbuf).cast("B")
        self._attr = commands.elem_attr(
            fd.fd, ctypes.addressof(self._kbuf) if self.key_size else 0, ctypes.addressof(self._vbuf)
        )
        self._attr_nokey = commands.elem_attr(fd.fd, 0, ctypes.addressof(self._vbuf))
        # BPF_MAP_DELETE_ELEM's attr ends at the key: a value pointer there is EINVAL
        self._attr_delete = commands.elem_attr(fd.fd, ctypes.addressof(self._kbuf) if self.key_size else 0, 0)

    def _key_codec(self, key: TypeSpec) -> Codec:
        if key is None and self.type == MapType.LPM_TRIE:
            return LpmKeyCodec(self.key_size)
        return make_codec(key, self.key_size) if self.key_size else IntCodec(4)

    def _value_codec(self, value: TypeSpec) -> Codec:
        if value is None and self.type == MapType.STACK_TRACE:
            return AddressListCodec(self.value_size)
        return make_codec(value, self.value_size) if self.value_size else IntCodec(4)

    # ----- construction -----

    @classmethod
    def create(
        cls,
        map_type: Union[MapType, int],
        key_size: int = 0,
        value_size: int = 0,
        max_entries: int = 0,
        *,
        name: str = "",
        flags: int = 0,
        key: TypeSpec = None,
        value: TypeSpec = None,
        inner_map: Union[Map, MapSpec, None] = None,
        numa_node: Optional[int] = None,
        map_extra: int = 0,
    ) -> Map:
        """Create a map. Sizes default from ``key``/``value`` types and from what the map type fixes."""
        map_type = MapType(map_type)
        key_size = key_size or type_size(key)
        value_size = value_size or type_size(value)
        key_size, value_size, max_entries = _default_sizes(map_type, key_size, value_size, max_entries)
        if max_entries <= 0:
            raise TinyBPFError(f"{map_type.name.lower()} map needs max_entries > 0")
        if map_type == MapType.LPM_TRIE:
            flags |= MapFlags.NO_PREALLOC
        if numa_node is not None:
            flags |= MapFlags.NUMA_NODE
        inner_fd, temporary = cls._inner_fd(map_type, inner_map)
        try:
            raw = commands.map_create(
                map_type, key_size, value_size, max_entries, flags, name.encode()[:15], inner_fd,
                numa_node or 0, map_extra=map_extra,
            )
        except BPFError as exc:
            raise BPFError(
                exc.op, exc.errno, exc.hint,
                f"cannot create {map_type.name.lower()} map {name!r} (key {key_size} B, value {value_size} B, "
                f"{max_entries} entries, flags 0x{flags:x})",
            ) from None
        finally:
            if temporary is not None:
                temporary.close()
        fd = FD(raw)
        return cls(fd, map_info(raw), key, value)

    @staticmethod
    def _inner_fd(map_type: MapType, inner: Union[Map, MapSpec, None]) -> tuple[int, Optional[Map]]:
        if map_type not in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            return 0, None
        if inner is None:
            raise TinyBPFError(f"{map_type.name.lower()} needs an inner_map (a Map or MapSpec) as template")
        if isinstance(inner, Map):
            return inner.fd, None
        template = Map.from_spec(inner)
        return template.fd, template

    @classmethod
    def from_spec(cls, spec: MapSpec, key: TypeSpec = None, value: TypeSpec = None) -> Map:
        """Create the map a spec describes, fill in its contents and freeze it if asked."""
        m = cls.create(
            spec.type, spec.key_size, spec.value_size, spec.max_entries, name=spec.name, flags=spec.flags,
            key=key, value=value, inner_map=spec.inner_map, numa_node=spec.numa_node, map_extra=spec.map_extra,
        )
        for k, v in spec.contents:
            m[k] = v
        if spec.freeze:
            m.freeze()
        return m

    @classmethod
    def from_fd(cls, fd: int, key: TypeSpec = None, value: TypeSpec = None) -> Map:
        """Wrap a raw map descriptor; the Map takes ownership of it."""
        return cls(FD(fd), map_info(fd), key, value)

    @classmethod
    def from_pin(cls, path: str, key: TypeSpec = None, value: TypeSpec = None) -> Map:
        return cls.from_fd(commands.obj_get(path), key, value)

    @classmethod
    def from_id(cls, map_id: int, key: TypeSpec = None, value: TypeSpec = None) -> Map:
        return cls.from_fd(commands.get_fd_by_id(Cmd.MAP_GET_FD_BY_ID, map_id), key, value)

    # ----- lifetime -----

    @property
    def fd(self) -> int:
        return self._fd.fd

    def close(self) -> None:
        self._fd.close()

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Map({self.type_name}, name={self.name!r}, key={self.key_size}, value={self.value_size}, "
                f"max_entries={self.max_entries})")

    @property
    def type_name(self) -> str:
        return self.info.type_name

    def pin(self, path: str) -> None:
        """Pin the map in bpffs so it outlives this process (``unpin`` removes it)."""
        commands.obj_pin(self.fd, path)

    @staticmethod
    def unpin(path: str) -> None:
        os.unlink(path)

    def freeze(self) -> None:
        """Make the map read-only from user space (programs may still write unless created RDONLY_PROG)."""
        commands.map_freeze(self.fd)

    def refresh_info(self) -> MapInfo:
        self.info = map_info(self.fd)
        return self.info

    # ----- encoding -----

    def _encode_value(self, value: Any) -> bytes:
        if self.type in FD_VALUE_TYPES and hasattr(value, "fd"):
            value = value.fd
        if not self.percpu:
            return self.value_codec.encode(value)
        if isinstance(value, (list, tuple)) and not isinstance(value, bytes) and len(value) == self.ncpus:
            items = list(value)
        else:
            items = [value] * self.ncpus
        pad = bytes(self._stride - self.value_size)
        return b"".join(self.value_codec.encode(v) + pad for v in items)

    def _decode_value(self, raw: bytes) -> Any:
        if not self.percpu:
            return self.value_codec.decode(raw)
        return self.value_codec.decode_many(raw, self.ncpus, self._stride)

    # ----- single elements -----

    def _element(self, cmd: int, key: Any, value: Optional[bytes] = None, flags: int = 0) -> tuple[int, int, bytes]:
        """Run one element command through the map's own buffers; returns (ret, errno, value bytes)."""
        if self._fd.closed:
            raise TinyBPFError(f"map {self.name!r} is closed")
        kdata = self.key_codec.encode(key) if self.key_size and key is not None else b""
        with self._lock:
            if kdata:
                self._kview[: self.key_size] = kdata
            if value:
                self._vview[: len(value)] = value
            attr = self._attr if kdata else self._attr_nokey
            if cmd == _DELETE:
                attr = self._attr_delete
            elif flags:
                attr = commands.elem_attr(self.fd, ctypes.addressof(self._kbuf) if kdata else 0,
                                          ctypes.addressof(self._vbuf), flags)
            ret, err = bpf_errno(cmd, attr, 32)
            out = self._vview[: self._value_total].tobytes() if ret >= 0 and value is None else b""
        return ret, err, out

    def lookup(self, key: Any, flags: int = 0) -> Any:
        """The value for ``key``; ``KeyError`` when absent."""
        ret, err, raw = self._element(_LOOKUP, key, None, flags)
        if ret < 0:
            if err == ENOENT:
                raise KeyError(key)
            _raise(Cmd.MAP_LOOKUP_ELEM, err, f"map {self.name!r}")
        return self._decode_value(raw)

    def update(self, key: Any, value: Any, flags: int = UpdateFlags.ANY) -> None:
        ret, err, _ = self._element(_UPDATE, key, self._encode_value(value), flags)
        if ret < 0:
            _raise(Cmd.MAP_UPDATE_ELEM, err, f"map {self.name!r}")

    def delete(self, key: Any) -> None:
        ret, err, _ = self._element(_DELETE, key, b"")
        if ret < 0:
            if err == ENOENT:
                raise KeyError(key)
            _raise(Cmd.MAP_DELETE_ELEM, err, f"map {self.name!r}")

    def lookup_and_delete(self, key: Any) -> Any:
        ret, err, raw = self._element(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, key)
        if ret < 0:
            if err == ENOENT:
                raise KeyError(key)
            _raise(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, err, f"map {self.name!r}")
        return self._decode_value(raw)

    __getitem__ = lookup

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self.lookup(key)
        except KeyError:
            return default

    def __contains__(self, key: Any) -> bool:
        try:
            self.lookup(key)
        except KeyError:
            return False
        return True

    # ----- queues and stacks -----

    def push(self, value: Any, flags: int = 0) -> None:
        """Queue/stack: add ``value`` (flags=BPF_EXIST overwrites the oldest when full)."""
        self.update(None, value, flags)

    def pop(self) -> Any:
        """Queue/stack: remove and return the next value; ``IndexError`` when empty."""
        try:
            return self.lookup_and_delete(None)
        except KeyError:
            raise IndexError(f"pop from empty {self.type_name} map") from None

    def peek(self) -> Any:
        try:
            return self.lookup(None)
        except KeyError:
            raise IndexError(f"peek at empty {self.type_name} map") from None

    # ----- iteration -----

    def _next_key_raw(self, prev: Optional[ctypes.Array[ctypes.c_char]]) -> Optional[bytes]:
        nbuf = ctypes.create_string_buffer(self.key_size)
        ret, err = commands.map_elem(
            Cmd.MAP_GET_NEXT_KEY, self.fd, ctypes.addressof(prev) if prev is not None else 0,
            ctypes.addressof(nbuf),
        )
        if ret < 0:
            if err == ENOENT:
                return None
            _raise(Cmd.MAP_GET_NEXT_KEY, err, f"map {self.name!r}")
        return nbuf.raw

    def raw_keys(self) -> Iterator[bytes]:
        """Keys as bytes, one BPF_MAP_GET_NEXT_KEY at a time.

        When the cursor key is deleted under us, the kernel restarts from the first key of a hash
        map; keys already seen are skipped and the walk is bounded, so it never loops forever.
        Prefer ``keys()``, which reads in batches whose cursor survives deletion.
        """
        if not self.key_size:
            return
        seen = set()
        prev: Optional[ctypes.Array[ctypes.c_char]] = None
        budget = 16 * (self.max_entries + 1)
        while budget > 0:
            budget -= 1
            raw = self._next_key_raw(prev)
            if raw is None:
                return
            prev = ctypes.create_string_buffer(raw, self.key_size)
            if raw in seen:
                continue
            seen.add(raw)
            yield raw

    def keys(self) -> Iterator[Any]:
        """Every key once, even while elements are deleted meanwhile."""
        for keys, _ in self.lookup_batches():
            yield from keys

    __iter__ = keys

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(key, value) pairs, read in batches where the kernel can."""
        for keys, values in self.lookup_batches():
            yield from zip(keys, values)

    def values(self) -> Iterator[Any]:
        for _, v in self.items():
            yield v

    def __len__(self) -> int:
        if self.type in ARRAY_TYPES:
            return self.max_entries
        return sum(len(keys) for keys, _ in self.lookup_batches())

    def dump(self) -> dict[Any, Any]:
        """The whole map as a dict (keys must be hashable: tuples, ints, bytes)."""
        return dict(self.items())

    def clear(self) -> None:
        """Delete every element (arrays: zero them)."""
        if self.type in ARRAY_TYPES:
            zero = bytes(self.value_size)
            # raw keys: the key codec may take structured keys, not indexes
            self.update_batch((i.to_bytes(self.key_size, sys.byteorder), zero) for i in range(self.max_entries))
            return
        self.delete_batch(self.keys())

    # ----- batches -----

    def lookup_batches(self, chunk: int = 0, delete: bool = False) -> Iterator[tuple[list[Any], list[Any]]]:
        """Yield (keys, values) lists, ``chunk`` elements at a time, with BPF_MAP_LOOKUP_BATCH.

        ``delete=True`` uses LOOKUP_AND_DELETE_BATCH. Falls back to one element at a time on
        kernels or map types without batch support.
        """
        cmd = Cmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else Cmd.MAP_LOOKUP_BATCH
        count = chunk or max(1, min(self.max_entries, 16384))
        token_size = max(self.key_size, 8)
        in_token = ctypes.create_string_buffer(token_size)
        out_token = ctypes.create_string_buffer(token_size)
        kbuf = ctypes.create_string_buffer(count * self.key_size)
        vbuf = ctypes.create_string_buffer(count * self._value_total)
        first = True
        while True:
            ret, err, done = commands.map_batch(
                cmd, self.fd, ctypes.addressof(kbuf), ctypes.addressof(vbuf), count,
                0 if first else ctypes.addressof(in_token), ctypes.addressof(out_token),
            )
            if ret < 0 and err == ENOSPC and done == 0:
                count *= 2  # a hash bucket holds more than ``count`` elements
                kbuf = ctypes.create_string_buffer(count * self.key_size)
                vbuf = ctypes.create_string_buffer(count * self._value_total)
                continue
            if ret < 0 and err != ENOENT:
                if first and commands.batch_supported_errno(err):
                    yield from self._lookup_one_by_one(delete)
                    return
                _raise(cmd, err, f"map {self.name!r}")
            if done:
                yield self._decode_batch(kbuf.raw, vbuf.raw, done)
            if ret < 0:  # ENOENT: no more elements
                return
            first = False
            ctypes.memmove(in_token, out_token, token_size)

    def _decode_batch(self, keys: bytes, values: bytes, count: int) -> tuple[list[Any], list[Any]]:
        decoded_keys = self.key_codec.decode_many(keys, count, self.key_size)
        if not self.percpu:
            return decoded_keys, self.value_codec.decode_many(values, count, self.value_size)
        total = self._value_total
        return decoded_keys, [self._decode_value(values[i * total:(i + 1) * total]) for i in range(count)]

    def _lookup_one_by_one(self, delete: bool) -> Iterator[tuple[list[Any], list[Any]]]:
        decode = self.key_codec.decode
        for raw in list(self.raw_keys()):  # a snapshot: the caller may delete while we yield
            try:
                value = self.lookup_and_delete(raw) if delete else self.lookup(raw)
            except KeyError:
                continue  # deleted while we walked
            except BPFError:
                if not delete:
                    raise
                value = self.lookup(raw)  # hash maps lacking LOOKUP_AND_DELETE_ELEM
                self.delete(raw)
            yield [decode(raw)], [value]

    def update_batch(self, items: Iterable[tuple[Any, Any]], flags: int = UpdateFlags.ANY) -> int:
        """Write many elements with BPF_MAP_UPDATE_BATCH; returns how many were written."""
        pairs = list(items)
        if not pairs:
            return 0
        keys = b"".join(self.key_codec.encode(k) for k, _ in pairs)
        values = b"".join(self._encode_value(v) for _, v in pairs)
        kbuf = ctypes.create_string_buffer(keys, len(keys))
        vbuf = ctypes.create_string_buffer(values, len(values))
        ret, err, done = commands.map_batch(
            Cmd.MAP_UPDATE_BATCH, self.fd, ctypes.addressof(kbuf), ctypes.addressof(vbuf), len(pairs),
            elem_flags=flags,
        )
        if ret < 0:
            if done == 0 and commands.batch_supported_errno(err):
                for k, v in pairs:
                    self.update(k, v, flags)
                return len(pairs)
            _raise(Cmd.MAP_UPDATE_BATCH, err, f"map {self.name!r}: {done} of {len(pairs)} written")
        return done

    def delete_batch(self, keys: Iterable[Any]) -> int:
        """Delete many keys with BPF_MAP_DELETE_BATCH; returns how many were deleted."""
        encoded = [self.key_codec.encode(k) for k in keys]
        if not encoded:
            return 0
        kbuf = ctypes.create_string_buffer(b"".join(encoded), len(encoded) * self.key_size)
        ret, err, done = commands.map_batch(
            Cmd.MAP_DELETE_BATCH, self.fd, ctypes.addressof(kbuf), 0, len(encoded)
        )
        if ret < 0:
            if done == 0 and commands.batch_supported_errno(err):
                return self._delete_each(encoded)
            if err == ENOENT:  # some keys vanished meanwhile: delete the rest one by one
                return done + self._delete_each(encoded[done + 1:])
            _raise(Cmd.MAP_DELETE_BATCH, err, f"map {self.name!r}")
        return done

    def _delete_each(self, keys: Sequence[bytes]) -> int:
        deleted = 0
        for raw in keys:
            try:
                self.delete(raw)
                deleted += 1
            except KeyError:
                pass
        return deleted


def list_map_ids() -> list[int]:
    """Ids of every map in the kernel."""
    return commands.list_ids(Cmd.MAP_GET_NEXT_ID)
