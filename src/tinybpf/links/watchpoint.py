"""Watchpoints (bpftrace's ``watchpoint:ADDR:LEN:MODE``): hardware breakpoints through the ``breakpoint`` PMU.

A PERF_TYPE_BREAKPOINT perf event takes ``bp_type`` (HW_BREAKPOINT_R/W/X bits), ``bp_addr`` and ``bp_len``
and fires after the CPU touches ``bp_len`` bytes at ``bp_addr`` in the way ``bp_type`` says (data
breakpoints trap after the access, execute breakpoints before the instruction). A BPF_PROG_TYPE_PERF_EVENT
program runs on every hit (``sample_period`` 1).

Each one takes a CPU debug register (x86 has four), so the kernel answers ENOSPC when they are used up.
With a pid the address is in that process; without one it is a kernel address, watched on every CPU.
"""
from __future__ import annotations

import enum
import platform
from typing import Any

from ..errors import BPFError, NotSupported, TinyBPFError
from ..kernel import perf_event as perf
from ..kernel.fd import FD
from ..kernel.procfs import process_threads
from ..kernel.sysinfo import online_cpus
from .link import Link
from .perf_event import attach_perf_fd

EINVAL, ENOENT, ENODEV, ENOSPC, EOPNOTSUPP = 22, 2, 19, 28, 95


class BreakpointType(enum.IntFlag):
    """``enum { HW_BREAKPOINT_R = 1, ... }`` (include/uapi/linux/hw_breakpoint.h)."""

    EMPTY = 0
    R = 1
    W = 2
    RW = R | W
    X = 4


# Modes the CPU cannot watch, as bpftrace's arch layer lists them (x86: Intel SDM vol. 3, 17.2.4; arm64:
# arch_build_bp_info).
_INVALID_MODES = {"x86_64": ("r", "rx", "wx", "rwx"), "aarch64": ("rx", "wx", "rwx")}

class WatchpointLink(Link):
    """A program on a hardware breakpoint (one perf event per thread of the process, or per CPU for kernel
    addresses)."""


def breakpoint_type(mode: str) -> BreakpointType:
    """``"rw"`` -> R|W, as bpftrace checks it: letters from ``rwx``, none twice, a combination the CPU has."""
    if not mode or any(c not in "rwx" for c in mode):
        raise TinyBPFError(f"watchpoint mode {mode!r} must be a combination of (r,w,x)")
    ordered = "".join(sorted(mode))
    if len(set(ordered)) != len(ordered):
        raise TinyBPFError(f"watchpoint mode {mode!r}: modes may not be duplicated")
    if ordered in _INVALID_MODES.get(platform.machine(), ()):
        raise TinyBPFError(f"invalid watchpoint mode: {ordered}", "the CPU cannot watch this kind of access")
    bp_type = BreakpointType.EMPTY
    for char, bit in (("r", BreakpointType.R), ("w", BreakpointType.W), ("x", BreakpointType.X)):
        if char in ordered:
            bp_type |= bit
    return bp_type


def attach_watchpoint(program: Any, address: int, length: int, mode: str, pid: int = -1) -> WatchpointLink:
    """Run ``program`` (BPF_PROG_TYPE_PERF_EVENT) when ``length`` bytes at ``address`` are accessed per ``mode``.

    ``mode`` is bpftrace's: ``w`` (writes), ``rw`` (reads or writes), ``x`` (execution), ``r`` where the CPU
    can watch reads alone. ``address`` is in process ``pid`` (each of its threads, and the threads and
    children they create later), or in the kernel when ``pid`` is -1.
    """
    if not address:
        raise TinyBPFError("watchpoint must be attached to a non-zero address")
    if length not in (1, 2, 4, 8):
        raise TinyBPFError(f"watchpoint length {length} must be one of (1,2,4,8)")
    bp_type = breakpoint_type(mode)
    if not perf.pmu_exists("breakpoint"):
        raise NotSupported("watchpoints", "no breakpoint PMU (CONFIG_HAVE_HW_BREAKPOINT is off)")
    flags = perf.AttrFlag.DISABLED | perf.AttrFlag.INHERIT
    attr = perf.PerfEventAttr(type=perf.PerfType.BREAKPOINT, period=1, flags=flags, config1=address,
                              config2=length, bp_type=int(bp_type))
    where = f"watchpoint 0x{address:x}:{length}:{mode}" + (f" in pid {pid}" if pid > 0 else "")
    fds: list[FD] = []
    try:
        places = [(tid, -1) for tid in process_threads(pid)] if pid > 0 else [(-1, cpu) for cpu in online_cpus()]
        for tid, cpu in places:
            fds.extend(attach_perf_fd(program, _open(attr, where, tid, cpu)))
    except BaseException:
        for fd in reversed(fds):
            fd.close()
        raise
    return WatchpointLink(fds, where, bpf_link=len(fds) == 2)


def _open(attr: perf.PerfEventAttr, where: str, pid: int, cpu: int) -> FD:
    try:
        return perf.open_event(attr, pid, cpu)
    except BPFError as exc:
        if exc.errno == ENOSPC:
            raise TinyBPFError(f"{where}: no more hardware debug registers left",
                               "each watchpoint takes one; detach others first") from None
        if exc.errno in (ENOENT, ENODEV, EOPNOTSUPP):
            raise NotSupported("watchpoints", f"the breakpoint PMU refused {where}: {exc.errno_name}") from None
        if exc.errno == EINVAL:
            raise TinyBPFError(f"{where}: the kernel rejected the breakpoint (EINVAL)",
                               "the address must be aligned to the length, and the mode one the CPU has") from None
        raise


__all__ = ["BreakpointType", "WatchpointLink", "attach_watchpoint", "breakpoint_type"]
