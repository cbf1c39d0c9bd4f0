"""What the running kernel can do, found by probing like ``bpftool feature probe``.

Each probe tries the smallest thing that exercises a feature (load ``r0 = 0; exit`` as a program
type, create a one-element map, call one helper) and records why it failed. Results are cached
per process. Tests use ``require()`` to skip with the probe's reason.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import struct
from typing import Optional

from .errors import BPFError, NotSupported, TinyBPFError
from .kernel.constants import AttachType, MapFlags, MapType, ProgFlags, ProgType
from .kernel.sysinfo import is_root, pmu_type

_RETURN_ZERO = struct.pack("<BBhiBBhi", 0xB7, 0, 0, 0, 0x95, 0, 0, 0)
# *(u64 *)(r10 - 8) = 0; lock *(u64 *)(r10 - 8) += 1; r0 = 0; exit: the smallest BPF_ATOMIC a JIT must take
_ATOMIC_ADD = struct.pack("<" + "BBhi" * 6, 0xB7, 0x01, 0, 0, 0x7B, 0x1A, -8, 0, 0xB7, 0x01, 0, 1,
                          0xDB, 0x1A, -8, 0, 0xB7, 0, 0, 0, 0x95, 0, 0, 0)

# What a program type needs at load besides instructions: (expected attach type, prog flags, btf func).
_PROG_LOAD_NEEDS: dict[ProgType, tuple[Optional[AttachType], int, str]] = {
    ProgType.CGROUP_SOCK_ADDR: (AttachType.CGROUP_INET4_CONNECT, 0, ""),
    ProgType.CGROUP_SOCKOPT: (AttachType.CGROUP_GETSOCKOPT, 0, ""),
    ProgType.SK_LOOKUP: (AttachType.SK_LOOKUP, 0, ""),
    ProgType.NETFILTER: (AttachType.NETFILTER, 0, ""),
    ProgType.SYSCALL: (None, ProgFlags.SLEEPABLE, ""),
    ProgType.TRACING: (AttachType.TRACE_FENTRY, 0, "do_nanosleep"),
    ProgType.LSM: (AttachType.LSM_MAC, 0, "bpf_lsm_file_open"),
}
_NOT_PROBED = {
    ProgType.UNSPEC: "not a program type",
    ProgType.EXT: "needs a target program to extend",
    ProgType.STRUCT_OPS: "needs a struct_ops map type from BTF",
}

# Map types and the (key, value, max_entries, flags) a minimal instance takes.
_MAP_SHAPES: dict[MapType, tuple[int, int, int, int]] = {
    MapType.LPM_TRIE: (8, 4, 1, MapFlags.NO_PREALLOC),
    MapType.QUEUE: (0, 4, 1, 0),
    MapType.STACK: (0, 4, 1, 0),
    MapType.RINGBUF: (0, 0, 4096, 0),
    MapType.USER_RINGBUF: (0, 0, 4096, 0),
    MapType.BLOOM_FILTER: (0, 4, 1, 0),
    MapType.STACK_TRACE: (4, 8, 1, 0),
    MapType.CGROUP_STORAGE: (16, 8, 0, 0),
    MapType.PERCPU_CGROUP_STORAGE: (16, 8, 0, 0),
    MapType.ARENA: (0, 0, 1, MapFlags.MMAPABLE),
}
_MAP_NEEDS_BTF = {
    MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE, MapType.STRUCT_OPS,
}


@dataclasses.dataclass(frozen=True)
class Feature:
    """One probe's answer: ``available``, and when not, the kernel's reason."""

    name: str
    available: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.available


def _from_error(name: str, exc: TinyBPFError) -> Feature:
    if isinstance(exc, BPFError):
        return Feature(name, False, f"{exc.errno_name} from {exc.op}")
    return Feature(name, False, exc.message)


@functools.cache
def kernel_func_btf_id(name: str) -> int:
    """The BTF id of kernel function ``name`` (0 when BTF or the function is missing)."""
    from .btf import kernel_btf
    from .btf.kinds import Kind

    try:
        return int(kernel_btf().find(name, Kind.FUNC).id)
    except (KeyError, TinyBPFError, OSError):
        return 0


@functools.cache
def prog_type(kind: ProgType) -> Feature:
    """Whether programs of ``kind`` load (with whatever attach type they must name)."""
    from .programs import Program

    name = f"{kind.name.lower()} programs"
    if kind in _NOT_PROBED:
        return Feature(name, False, f"not probed: {_NOT_PROBED[kind]}")
    attach, flags, btf_func = _PROG_LOAD_NEEDS.get(kind, (None, 0, ""))
    btf_id = kernel_func_btf_id(btf_func) if btf_func else 0
    if btf_func and not btf_id:
        return Feature(name, False, f"no kernel BTF id for {btf_func}")
    try:
        Program.load(kind, _RETURN_ZERO, name="probe", expected_attach_type=attach, flags=flags,
                     attach_btf_id=btf_id).close()
    except TinyBPFError as exc:
        return _from_error(name, exc)
    return Feature(name, True)


@functools.cache
def atomics() -> Feature:
    """Whether programs with BPF_ATOMIC instructions load: the arm32 JIT has none (ENOTSUPP, errno 524)."""
    from .programs import Program

    try:
        Program.load(ProgType.SOCKET_FILTER, _ATOMIC_ADD, name="probe_atomic").close()
    except TinyBPFError as exc:
        found = _from_error("BPF_ATOMIC instructions", exc)
        if getattr(exc, "errno", 0) == 524:
            return Feature(found.name, False, "the JIT cannot compile them (sysctl net.core.bpf_jit_enable=0 "
                                              "runs the interpreter, which can)")
        return found
    return Feature("BPF_ATOMIC instructions", True)


@functools.cache
def map_type(kind: MapType) -> Feature:
    """Whether maps of ``kind`` can be created."""
    from .kernel import commands

    name = f"{kind.name.lower()} maps"
    if kind == MapType.UNSPEC:
        return Feature(name, False, "not a map type")
    if kind in _MAP_NEEDS_BTF:
        return Feature(name, False, "not probed: needs BTF-described values")
    key, value, entries, flags = _MAP_SHAPES.get(kind, (4, 4, 1, 0))
    inner = 0
    try:
        if kind in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            inner = commands.map_create(MapType.ARRAY, 4, 4, 1)
        fd = commands.map_create(kind, key, value, entries, flags, b"probe", inner)
        os.close(fd)
    except TinyBPFError as exc:
        return _from_error(name, exc)
    finally:
        if inner:
            os.close(inner)
    return Feature(name, True)


@functools.cache
def helper(kind: ProgType, helper_id: int) -> bool:
    """Whether programs of ``kind`` may call helper ``helper_id`` (the verifier's "unknown func" test)."""
    from .programs import Program

    call = struct.pack("<BBhi", 0x85, 0, 0, helper_id)
    attach, flags, btf_func = _PROG_LOAD_NEEDS.get(kind, (None, 0, ""))
    try:
        Program.load(kind, call + _RETURN_ZERO, name="probe", expected_attach_type=attach, flags=flags,
                     attach_btf_id=kernel_func_btf_id(btf_func) if btf_func else 0, log_level=1).close()
    except BPFError as exc:
        log = getattr(exc, "log", "")
        return not ("invalid func" in log or "unknown func" in log or "program of this type cannot use" in log)
    return True


def helpers_of(kind: ProgType) -> list[int]:
    """Every helper id programs of ``kind`` may call on this kernel."""
    from .asm import Helper

    if not prog_type(kind):
        return []
    return [int(h) for h in Helper if h and helper(kind, int(h))]


def _pmu(name: str, what: str) -> Feature:
    if pmu_type(name) is None:
        return Feature(what, False, f"no '{name}' PMU in /sys/bus/event_source/devices")
    return Feature(what, True)


@functools.cache
def attach_kind(kind: str) -> Feature:
    """Attach kinds by bpftrace's probe names: tracepoint, kprobe, uprobe, fentry, software, hardware..."""
    if kind == "kprobe":
        return _pmu("kprobe", "kprobes")
    if kind == "uprobe":
        return _pmu("uprobe", "uprobes")
    if kind == "hardware":
        return _pmu("cpu", "hardware perf events")
    if kind == "software":
        return _pmu("software", "software perf events")
    if kind == "tracepoint":
        found = prog_type(ProgType.TRACEPOINT)
        return found if not found else _pmu("tracepoint", "tracepoints")
    if kind == "raw_tracepoint":
        return prog_type(ProgType.RAW_TRACEPOINT)
    if kind in ("fentry", "fexit"):
        found = prog_type(ProgType.TRACING)
        return Feature(f"{kind} programs", found.available, found.reason)
    if kind == "ringbuf":
        return map_type(MapType.RINGBUF)
    raise ValueError(f"unknown attach kind {kind!r}")


ATTACH_KINDS = ("tracepoint", "raw_tracepoint", "kprobe", "uprobe", "fentry", "fexit", "software", "hardware")


# bpftool's miscellaneous probes: socket filters that only load where the verifier has the feature
_MOV_R0_1 = struct.pack("<BBhi", 0xB7, 0, 0, 1)
_EXIT = struct.pack("<BBhi", 0x95, 0, 0, 0)
_MISC_PROGRAMS = (
    _MOV_R0_1 * 4096 + _EXIT,  # more than the old 4096-instruction limit
    struct.pack("<BBhi", 0xB7, 0, 0, 10) + struct.pack("<BBhi", 0x17, 0, 0, 1)  # r0 = 10; r0 -= 1
    + struct.pack("<BBhi", 0x55, 0, -2, 0) + _EXIT,  # if r0 != 0 goto -2: a bounded loop
    struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0xA5, 0, 1, 0) + _MOV_R0_1 + _EXIT,  # JLT (v2)
    struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0xA6, 0, 1, 0) + _MOV_R0_1 + _EXIT,  # JMP32 (v3)
)


@functools.cache
def misc_features() -> tuple[bool, bool, bool, bool]:
    """(large program size limit, bounded loops, ISA v2, ISA v3), as ``bpftool feature probe`` tests them."""
    from .programs import Program

    found = []
    for code in _MISC_PROGRAMS:
        try:
            Program.load(ProgType.SOCKET_FILTER, code, name="probe").close()
            found.append(True)
        except TinyBPFError:
            found.append(False)
    return found[0], found[1], found[2], found[3]


def require(feature: Feature) -> None:
    """Raise ``NotSupported`` unless ``feature`` is available."""
    if not is_root():
        raise NotSupported(feature.name, "needs root (CAP_BPF/CAP_SYS_ADMIN) to probe")
    if not feature.available:
        raise NotSupported(feature.name, feature.reason)
