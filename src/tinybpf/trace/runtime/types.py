"""bpftrace's value types: what semantic analysis infers, codegen lays out and the printers decode.

One small frozen dataclass per kind of value, after bpftrace's ``SizedType`` (``src/types.h``). Every type
knows its ``size`` in bytes (as stored in a BPF map key/value or an output event), its ``align`` inside a
tuple or record, whether it ``is_signed``, and prints as bpftrace's ``typestr()`` does (``uint64``,
``string[64]``, ``(int64,string[16])``, ``hist_t``...) so diagnostics read the same.

Tuples and records are laid out like bpftrace's ``Struct::CreateRecord`` (which follows LLVM's struct
layout): each field at the next multiple of its alignment, the whole padded to the largest alignment. Byte
arrays (strings, buffers, ``usym_t``, ``inet``, timestamps...) align to 1, so ``(int8,string[3],int64)``
puts the int64 at offset 8 and ``(string[3],int16)`` the int16 at offset 4.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

BPFTRACE_STRLEN = 64
"""Default size of a ``string``: bpftrace 0.17's ``BPFTRACE_STRLEN``. Current bpftrace sizes strings by
their source and caps them with ``max_strlen`` (1024); semantic analysis picks sizes, this is the default."""

STACK_DEFAULT_LIMIT = 127
"""Frames kept by ``kstack``/``ustack`` without an explicit limit."""

_BUILD_ID_FRAME_SIZE = 32
"""``sizeof(struct bpf_stack_build_id)``: status (4), build_id (20), offset/ip union (8)."""

_BUF_HEADER_SIZE = 4
"""A ``buffer`` value starts with its ``uint32`` length (bpftrace's ``AsyncEvent::Buf``)."""


class BpfType:
    """Base of every type; subclasses are frozen dataclasses."""

    @property
    def size(self) -> int:
        """Bytes the value occupies in a map key/value or an output record."""
        return 8

    @property
    def align(self) -> int:
        """Alignment inside a tuple/record, as bpftrace's ``GetInTupleAlignment``."""
        size = self.size
        if size <= 2:
            return max(size, 1)
        return 4 if size <= 4 else 8

    @property
    def is_signed(self) -> bool:
        return False


class _ByteArray(BpfType):
    """Values that are plain byte arrays to bpftrace: aligned to 1 whatever their size."""

    @property
    def align(self) -> int:
        return 1


@dataclass(frozen=True)
class IntType(BpfType):
    bits: int = 64
    signed: bool = False

    def __post_init__(self) -> None:
        if self.bits not in (8, 16, 32, 64):
            raise ValueError(f"integer width must be 8, 16, 32 or 64 bits, not {self.bits}")

    @property
    def size(self) -> int:
        return self.bits // 8

    @property
    def is_signed(self) -> bool:
        return self.signed

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"


@dataclass(frozen=True)
class EnumType(IntType):
    """An integer of a C ``enum``: values print as their enumerator's name, others as the number."""

    name: str = ""
    enumerators: tuple[tuple[int, str], ...] = ()

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class BoolType(BpfType):
    @property
    def size(self) -> int:
        return 1

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class StringType(_ByteArray):
    """A NUL-terminated string in a fixed buffer; ``string`` without size when the size is not known yet."""

    length: int = BPFTRACE_STRLEN

    @property
    def size(self) -> int:
        return self.length

    def __str__(self) -> str:
        return f"string[{self.length}]" if self.length else "string"


@dataclass(frozen=True)
class BufferType(_ByteArray):
    """``buf()``: up to ``length`` bytes after a ``uint32`` length header (counted in ``size``, as bpftrace)."""

    length: int

    @property
    def size(self) -> int:
        return self.length + _BUF_HEADER_SIZE

    def __str__(self) -> str:
        return f"buffer[{self.size}]"


class AddrSpace(enum.Enum):
    """Where a pointer points: bpftrace picks the probe-read helper from this."""

    NONE = "none"
    KERNEL = "kernel"
    USER = "user"


@dataclass(frozen=True)
class PointerType(BpfType):
    pointee: BpfType
    addrspace: AddrSpace = AddrSpace.NONE

    def __str__(self) -> str:
        return f"{self.pointee} *"


@dataclass(frozen=True)
class ArrayType(BpfType):
    element: BpfType
    count: int

    @property
    def size(self) -> int:
        return self.element.size * self.count

    @property
    def align(self) -> int:
        size = self.size
        return max(size, 1) if size <= 2 else self.element.align

    def __str__(self) -> str:
        return f"{self.element}[{self.count}]"


@dataclass(frozen=True)
class Field:
    """A member of a tuple, record or C struct; ``offset`` in bytes from the start."""

    name: str
    type: BpfType
    offset: int


@dataclass(frozen=True)
class Layout:
    """Where each field goes, and the padded size and alignment of the whole."""

    offsets: tuple[int, ...]
    size: int
    align: int
    padded: bool


def layout(types: Sequence[BpfType]) -> Layout:
    """Offsets of ``types`` laid out one after the other as bpftrace lays out tuples and records."""
    offsets = []
    offset = 0
    struct_align = 1
    padded = False
    for t in types:
        align = t.align
        struct_align = max(struct_align, align)
        padding = -offset % align
        padded = padded or padding > 0
        offset += padding
        offsets.append(offset)
        offset += t.size
    return Layout(tuple(offsets), offset + (-offset % struct_align), struct_align, padded)


@dataclass(frozen=True)
class TupleType(BpfType):
    elements: tuple[BpfType, ...]
    _layout: Layout = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_layout", layout(self.elements))

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(Field("", t, o) for t, o in zip(self.elements, self._layout.offsets))

    @property
    def offsets(self) -> tuple[int, ...]:
        return self._layout.offsets

    @property
    def size(self) -> int:
        return self._layout.size

    @property
    def align(self) -> int:
        return self._layout.align

    def __str__(self) -> str:
        return "(" + ",".join(str(t) for t in self.elements) + ")"


@dataclass(frozen=True)
class RecordType(BpfType):
    """A named-field tuple (``(a=1, b="x")``), laid out like a tuple."""

    names: tuple[str, ...]
    elements: tuple[BpfType, ...]
    _layout: Layout = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.names) != len(self.elements):
            raise ValueError("a record needs one name per field")
        object.__setattr__(self, "_layout", layout(self.elements))

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(Field(n, t, o) for n, t, o in zip(self.names, self.elements, self._layout.offsets))

    @property
    def size(self) -> int:
        return self._layout.size

    @property
    def align(self) -> int:
        return self._layout.align

    def __str__(self) -> str:
        inner = ", ".join(f".{n} = {t}" for n, t in zip(self.names, self.elements))
        return f"record {{ {inner} }}"


@dataclass(frozen=True)
class StructType(BpfType):
    """A C struct/union from BTF or a script's definitions: offsets come from C, not from ``layout``."""

    name: str
    fields: tuple[Field, ...] = ()
    struct_size: int = 0
    struct_align: int = 1

    @property
    def size(self) -> int:
        return self.struct_size

    @property
    def align(self) -> int:
        return self.struct_align

    def __str__(self) -> str:
        return self.name


class _MapAggregate(BpfType):
    """Values only a map can hold (``@x = count()``); 8 bytes per CPU in a per-CPU map."""


@dataclass(frozen=True)
class CountType(_MapAggregate):
    def __str__(self) -> str:
        return "count_t"


@dataclass(frozen=True)
class _SignedAggregate(_MapAggregate):
    signed: bool = True

    @property
    def is_signed(self) -> bool:
        return self.signed

    def __str__(self) -> str:
        return ("" if self.signed else "u") + self._name

    _name = ""


@dataclass(frozen=True)
class SumType(_SignedAggregate):
    _name = "sum_t"


@dataclass(frozen=True)
class MinType(_SignedAggregate):
    """Per CPU a (value, is_set) pair of 64-bit words."""

    _name = "min_t"


@dataclass(frozen=True)
class MaxType(_SignedAggregate):
    """Per CPU a (value, is_set) pair of 64-bit words."""

    _name = "max_t"


@dataclass(frozen=True)
class AvgType(_SignedAggregate):
    """Per CPU a (total, count) pair of 64-bit words."""

    _name = "avg_t"


@dataclass(frozen=True)
class StatsType(_SignedAggregate):
    """Per CPU a (total, count) pair of 64-bit words."""

    _name = "stats_t"


@dataclass(frozen=True)
class HistType(_MapAggregate):
    """``hist(v[, bits])``: each power of two split into ``2**bits`` buckets (``bits`` 0..5)."""

    bits: int = 0

    def __str__(self) -> str:
        return "hist_t"


@dataclass(frozen=True)
class LhistType(_MapAggregate):
    """``lhist(v, min, max, step)``."""

    min: int
    max: int
    step: int

    def __str__(self) -> str:
        return "lhist_t"


class StackMode(enum.Enum):
    """How a stack prints: bpftrace's own indented form, perf's, raw addresses, or build ids."""

    BPFTRACE = "bpftrace"
    PERF = "perf"
    RAW = "raw"
    BUILD_ID = "build_id"


@dataclass(frozen=True)
class StackType(BpfType):
    """``kstack``/``ustack``: a frame count, then ``limit`` frames (ustack adds pid and probe id first)."""

    kernel: bool = True
    mode: StackMode = StackMode.BPFTRACE
    limit: int = STACK_DEFAULT_LIMIT

    @property
    def frame_size(self) -> int:
        return _BUILD_ID_FRAME_SIZE if self.mode is StackMode.BUILD_ID else 8

    @property
    def size(self) -> int:
        return self.limit * self.frame_size + (8 if self.kernel else 16)

    @property
    def align(self) -> int:
        return 8

    def __str__(self) -> str:
        return f"{'k' if self.kernel else 'u'}stack_{self.mode.value}_{self.limit}"


@dataclass(frozen=True)
class KsymType(BpfType):
    def __str__(self) -> str:
        return "ksym_t"


@dataclass(frozen=True)
class UsymType(_ByteArray):
    """Address (8), pid (4), probe id (4)."""

    @property
    def size(self) -> int:
        return 16

    def __str__(self) -> str:
        return "usym_t"


@dataclass(frozen=True)
class InetType(_ByteArray):
    """``ntop()``'s result: the address family (8 bytes) then the address (4 or 16 bytes)."""

    length: int = 24

    @property
    def size(self) -> int:
        return self.length

    def __str__(self) -> str:
        return f"inet[{self.length}]"


@dataclass(frozen=True)
class TimestampType(_ByteArray):
    """``strftime()``'s result: a format id and the nanoseconds, formatted in user space."""

    @property
    def size(self) -> int:
        return 16

    def __str__(self) -> str:
        return "timestamp"


@dataclass(frozen=True)
class MacAddressType(_ByteArray):
    @property
    def size(self) -> int:
        return 6

    def __str__(self) -> str:
        return "mac_address"


@dataclass(frozen=True)
class CgroupPathType(_ByteArray):
    """``cgroup_path()``'s result: an id for the path filter and the cgroup id."""

    @property
    def size(self) -> int:
        return 16

    def __str__(self) -> str:
        return "cgroup_path_t"


@dataclass(frozen=True)
class UsernameType(BpfType):
    """A uid printed as the user's name."""

    def __str__(self) -> str:
        return "username_t"


@dataclass(frozen=True)
class NoneType(BpfType):
    """No value yet (not inferred) or none at all."""

    @property
    def size(self) -> int:
        return 0

    def __str__(self) -> str:
        return "none"


@dataclass(frozen=True)
class VoidType(BpfType):
    """What a call without a result returns."""

    @property
    def size(self) -> int:
        return 0

    def __str__(self) -> str:
        return "void"


INT8 = IntType(8, True)
INT16 = IntType(16, True)
INT32 = IntType(32, True)
INT64 = IntType(64, True)
UINT8 = IntType(8, False)
UINT16 = IntType(16, False)
UINT32 = IntType(32, False)
UINT64 = IntType(64, False)
BOOL = BoolType()
NONE = NoneType()
VOID = VoidType()


_NAMED_TYPES: dict[str, BpfType] = {
    "bool": BOOL,
    "int8": INT8,
    "int16": INT16,
    "int32": INT32,
    "int64": INT64,
    "uint8": UINT8,
    "uint16": UINT16,
    "uint32": UINT32,
    "uint64": UINT64,
    "void": VOID,
    "count_t": CountType(),
    "sum_t": SumType(True),
    "min_t": MinType(True),
    "max_t": MaxType(True),
    "avg_t": AvgType(True),
    "stats_t": StatsType(True),
    "usum_t": SumType(False),
    "umin_t": MinType(False),
    "umax_t": MaxType(False),
    "uavg_t": AvgType(False),
    "ustats_t": StatsType(False),
    "timestamp": TimestampType(),
    "macaddr_t": MacAddressType(),
    "cgroup_path_t": CgroupPathType(),
    "username_t": UsernameType(),
}


def builtin_type(name: str) -> Optional[BpfType]:
    """The type a script names in a cast or declaration (``(uint8)x``, ``let $x: int32``), if builtin."""
    return _NAMED_TYPES.get(name)


def needs_percpu_map(t: BpfType) -> bool:
    """bpftrace keeps aggregates in per-CPU maps and combines the CPUs' values when printing."""
    return isinstance(t, _MapAggregate)
