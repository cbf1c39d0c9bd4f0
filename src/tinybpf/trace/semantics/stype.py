"""The types semantic analysis gives expressions and maps (``SType``), and how tuples are laid out.

Small frozen values every later stage reads: codegen sizes slots by them, the runtime turns them into the
printers' types.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# values kept as bytes and decoded to text in user space (see trace.functions and trace.values)
BLOB_KINDS = ("kstack", "ustack", "ksym", "usym", "buffer", "timestamp", "inet", "mac", "cgroup_path",
              "username", "strerror", "syscall_name")
AGGREGATES = ("count", "sum", "avg", "min", "max", "stats", "hist", "lhist", "tseries")


@dataclass(frozen=True)
class SType:
    """A bpftrace type: ``kind`` is int, string, tuple, record, none, ctx or an aggregate (count, hist...).

    ``size`` is in bytes (for strings the buffer size, ``string[N]``); ``elements`` are a tuple's types or a
    record's ``(name, type, offset)`` fields; ``addrspace`` says where a pointer's bytes live (``user``).
    Pointers (``ptr``) and arrays (``array``) name their element in ``pointee``; a C struct or union
    (``struct``) is known by its ``tag`` (``struct task_struct``), its members are looked up on demand.
    """

    kind: str
    size: int = 8
    signed: bool = False
    elements: tuple[SType, ...] = ()
    names: tuple[str, ...] = ()
    offsets: tuple[int, ...] = ()
    pointer: bool = False
    addrspace: str = "kernel"
    pointee: Optional[SType] = None
    tag: str = ""
    enumerators: tuple[tuple[int, str], ...] = ()
    """An ``enum`` integer's ``(value, name)`` pairs: its values print as their names."""
    bitfield: tuple[int, ...] = ()
    """A struct member that is a bitfield: ``(shift, width)`` of its bits in the unit at its offset."""

    @property
    def is_int(self) -> bool:
        """Integers and bools: values computed in registers."""
        return self.kind in ("int", "bool", "ptr")

    @property
    def is_string(self) -> bool:
        return self.kind == "string"

    @property
    def is_aggregate(self) -> bool:
        return self.kind in AGGREGATES

    @property
    def in_memory(self) -> bool:
        """Values that live in stack memory rather than in a register."""
        return self.kind in ("string", "tuple", "record", "struct", "array") or self.kind in BLOB_KINDS

    def __str__(self) -> str:
        if self.kind == "int":
            return ("" if self.signed else "u") + f"int{self.size * 8}"
        if self.kind == "string":
            return f"string[{self.size}]"
        if self.kind == "bool":
            return "bool"
        if self.kind == "ptr":
            return f"{self.pointee or 'void'} *".replace("* *", "**")
        if self.kind == "array":
            return f"{self.pointee}[{self.size // max(self.pointee.size, 1) if self.pointee else 0}]"
        if self.kind == "struct":
            return self.tag
        if self.kind == "tuple":
            return "(" + ",".join(str(e) for e in self.elements) + ")"
        if self.kind == "record":
            return f"struct {self.names[0] if self.names else ''}"
        return self.kind


NONE = SType("none", 0)
INT64 = SType("int", 8, True)
UINT64 = SType("int", 8, False)
UINT32 = SType("int", 4, False)
INT32 = SType("int", 4, True)
BOOL = SType("bool", 1)
CTX = SType("ctx")


def int_type(size: int, signed: bool) -> SType:
    return SType("int", size, signed)


def string_type(size: int) -> SType:
    return SType("string", size)


def tuple_type(elements: list[SType]) -> SType:
    """A tuple laid out like a C struct: each element at its natural alignment (strings are byte arrays)."""
    offsets = []
    offset = 0
    for element in elements:
        align = _align_of(element)
        offset = (offset + align - 1) // align * align
        offsets.append(offset)
        offset += element.size
    align = max((_align_of(e) for e in elements), default=1)
    size = (offset + align - 1) // align * align
    return SType("tuple", size, elements=tuple(elements), offsets=tuple(offsets))


def compared_as_bytes(left: SType, right: SType) -> bool:
    """``==``/``!=`` compare the bytes of two strings, two buffers or two arrays of one type."""
    if left.is_string and right.is_string:
        return True
    return left.kind == right.kind == "buffer" or (left.kind == "array" and left == right)


def _align_of(t: SType) -> int:
    """bpftrace's in-tuple alignment: byte arrays 1, other values by size (1, 2, 4 or 8)."""
    if t.kind == "string":
        return 1
    if t.kind in ("tuple", "record") or (t.kind == "struct" and t.elements):
        return max((_align_of(e) for e in t.elements), default=1)
    if t.size <= 0:
        return 1
    if t.kind == "array" and t.size > 2 and t.pointee is not None:
        return _align_of(t.pointee)
    return t.size if t.size <= 2 else 4 if t.size <= 4 else 8


MAX_STRLEN = 10000
"""Strings up to this size fit a scratch frame (``scratch.SCRATCH_LIMIT``) a few times over."""


def strlen() -> int:
    """bpftrace's string buffer size, from ``max_strlen`` (config block, BPFTRACE_MAX_STRLEN or
    BPFTRACE_STRLEN; default 64; strings that do not fit the stack go to scratch memory)."""
    from tinybpf.trace.syntax import config

    return max(1, min(config.lookup_int("max_strlen", 64), MAX_STRLEN))
