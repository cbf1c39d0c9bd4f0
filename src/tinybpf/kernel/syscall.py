"""bpf(2) and perf_event_open(2) through ctypes: the one place tinybpf enters the kernel.

Every command passes a ``bpf_attr`` buffer (see ``attrs``) and gets back a non-negative result or a
``BPFError`` naming the command, the errno and a hint. Tests of pure logic may swap ``_syscall``;
kernel tests never do.
"""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Union

from ..errors import BPFError
from .constants import Cmd

# (bpf, perf_event_open) per machine; 32-bit ARM uses the EABI numbers, riscv64/aarch64 the generic table.
_SYSCALL_NUMBERS: dict[str, tuple[int, int]] = {
    "x86_64": (321, 298),
    "amd64": (321, 298),
    "i386": (357, 336),
    "i686": (357, 336),
    "arm": (386, 364),
    "aarch64": (280, 241),
    "arm64": (280, 241),
    "riscv64": (280, 241),
    "loongarch64": (280, 241),
    "ppc64le": (361, 319),
    "ppc64": (361, 319),
    "s390x": (351, 331),
}
# A 32-bit process on a 64-bit kernel (uname still says the kernel's machine) enters through the compat table.
_COMPAT_MACHINES = {"x86_64": "i386", "amd64": "i386", "aarch64": "arm", "arm64": "arm"}

ENOTSUPP = 524  # the kernel-internal "not supported" that bpf() leaks to user space


def syscall_numbers(machine: str, pointer_size: int = ctypes.sizeof(ctypes.c_void_p)) -> tuple[int, int]:
    """The (bpf, perf_event_open) syscall numbers for ``os.uname().machine`` and this process's pointer size."""
    if pointer_size == 4:
        machine = _COMPAT_MACHINES.get(machine, machine)
    if machine.startswith("arm") and machine not in _SYSCALL_NUMBERS:  # armv7l, armv6l, ...
        machine = "arm"
    try:
        return _SYSCALL_NUMBERS[machine]
    except KeyError:
        raise BPFError("bpf", 38, f"add the syscall numbers for {machine!r} to tinybpf.kernel.syscall") from None


MACHINE = os.uname().machine
SYS_BPF, SYS_PERF_EVENT_OPEN = syscall_numbers(MACHINE)

# The interpreter already links libc: dlopen(NULL) finds it without ctypes.util's ldconfig run.
_libc = ctypes.CDLL(None, use_errno=True)
_syscall: Callable[..., int] = _libc["syscall"]
_syscall.restype = ctypes.c_long  # type: ignore[attr-defined]
# bpf() gets its own prototyped entry point: converting arguments is most of the cost of a map lookup.
_bpf_syscall: Callable[..., int] = _libc["syscall"]
_bpf_syscall.restype = ctypes.c_long  # type: ignore[attr-defined]
_bpf_syscall.argtypes = (ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint)  # type: ignore[attr-defined]

# A ctypes buffer or bytearray the kernel may write to, or bytes for commands that only read their attr.
Buffer = Union["ctypes.Array[ctypes.c_char]", bytearray, bytes]


def _pointer(attr: Buffer) -> Any:
    return (ctypes.c_char * len(attr)).from_buffer(attr) if isinstance(attr, bytearray) else attr

_GENERIC_HINTS: dict[int, str] = {
    1: "run as root or grant CAP_BPF (tracing programs also need CAP_PERFMON)",
    13: "permission denied: unprivileged BPF is disabled or a security module refused it",
    12: "out of memory, or RLIMIT_MEMLOCK is too low on kernels before 5.11 (try `ulimit -l unlimited`)",
    9: "the file descriptor is not an open BPF object",
    7: "a size or count is larger than the kernel allows",
    ENOTSUPP: "this operation is not supported for this map or program type",
    95: "this operation is not supported for this map or program type",
    38: "this kernel does not implement the command",
}

_COMMAND_HINTS: dict[tuple[int, int], str] = {
    (Cmd.MAP_CREATE, 22): "check the map type, key/value sizes, max_entries and flags for this map type",
    (Cmd.MAP_CREATE, 7): "key or value size too large for this map type",
    (Cmd.MAP_UPDATE_ELEM, 7): "the map is full (max_entries reached)",
    (Cmd.MAP_UPDATE_ELEM, 17): "the key exists and BPF_NOEXIST was given",
    (Cmd.MAP_UPDATE_ELEM, 2): "the key does not exist and BPF_EXIST was given",
    (Cmd.MAP_UPDATE_ELEM, 22): "check the key/value size and the update flags for this map type",
    (Cmd.MAP_LOOKUP_ELEM, 2): "no such key",
    (Cmd.MAP_DELETE_ELEM, 2): "no such key",
    (Cmd.PROG_LOAD, 22): "the kernel refused the program type, expected attach type, license or instructions",
    (Cmd.PROG_LOAD, 7): "the program is too large for this kernel",
    (Cmd.PROG_LOAD, 1): "run as root; on this kernel the program type may also be locked down",
    (Cmd.OBJ_PIN, 17): "a file already exists at that path; unpin it or choose another",
    (Cmd.OBJ_PIN, 22): "the path must be inside a mounted bpffs (e.g. /sys/fs/bpf)",
    (Cmd.OBJ_GET, 2): "nothing is pinned at that path",
    (Cmd.LINK_CREATE, 22): "the attach type does not match the program type, or the target is wrong",
    (Cmd.PROG_TEST_RUN, 524): "this program type cannot be run with BPF_PROG_TEST_RUN",
    (Cmd.PROG_TEST_RUN, 22): "input data or context has the wrong size for this program type",
}


def hint_for(cmd: int, code: int) -> str:
    """The most specific advice for ``errno`` ``code`` after command ``cmd``."""
    return _COMMAND_HINTS.get((cmd, code)) or _GENERIC_HINTS.get(code, "")


def command_name(cmd: int) -> str:
    try:
        return "BPF_" + Cmd(cmd).name
    except ValueError:
        return f"bpf({cmd})"


def bpf(cmd: int, attr: Buffer, size: int = 0) -> int:
    """Run bpf(cmd, attr, size); ``size`` defaults to the whole buffer. Raises ``BPFError``."""
    ret = _bpf_syscall(SYS_BPF, cmd, _pointer(attr), size or len(attr))
    if ret < 0:
        code = ctypes.get_errno()
        raise BPFError(command_name(cmd), code, hint_for(cmd, code))
    return ret


def bpf_errno(cmd: int, attr: Buffer, size: int = 0) -> tuple[int, int]:
    """Like ``bpf`` but returns ``(result, errno)`` without raising: for hot paths and probes."""
    ret = _bpf_syscall(SYS_BPF, cmd, _pointer(attr), size or len(attr))
    return (ret, ctypes.get_errno() if ret < 0 else 0)


def perf_event_open(attr: Buffer, pid: int, cpu: int, group_fd: int = -1, flags: int = 0) -> int:
    """perf_event_open(2); ``attr`` is a packed ``struct perf_event_attr``."""
    ret = _syscall(
        SYS_PERF_EVENT_OPEN, _pointer(attr), ctypes.c_int(pid), ctypes.c_int(cpu), ctypes.c_int(group_fd),
        ctypes.c_ulong(flags),
    )
    if ret < 0:
        code = ctypes.get_errno()
        hints = {
            2: "no such event or PMU on this machine",
            13: "run as root or lower /proc/sys/kernel/perf_event_paranoid",
            1: "run as root or grant CAP_PERFMON",
            3: "no such process",
            19: "this PMU is not available on this machine",
            95: "the event is not supported by this PMU",
        }
        raise BPFError("perf_event_open", code, hints.get(code, ""))
    return int(ret)


def ioctl(fd: int, request: int, arg: int = 0) -> int:
    """ioctl(2) with an integer argument (perf event enable/disable/set-bpf)."""
    ret = _libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), ctypes.c_ulong(arg))
    if ret < 0:
        code = ctypes.get_errno()
        raise BPFError(f"ioctl(0x{request:x})", code, os.strerror(code))
    return int(ret)


def mount(source: str, target: str, fstype: str) -> None:
    """mount(2) a pseudo filesystem (tracefs, bpffs); raises ``OSError`` with the errno."""
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), 0, None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), target)


PR_SET_PDEATHSIG = 1


def set_parent_death_signal(signum: int) -> None:
    """prctl(PR_SET_PDEATHSIG): the kernel sends ``signum`` to this process when the thread that forked it
    dies, however it dies (even by SIGKILL), so a traced command never outlives its tracer."""
    if _libc.prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signum), ctypes.c_ulong(0), ctypes.c_ulong(0),
                   ctypes.c_ulong(0)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), "prctl(PR_SET_PDEATHSIG)")


def pidfd_open(pid: int) -> int:
    """pidfd_open(2): an fd that polls readable once process ``pid`` has exited (Linux 5.3); raises
    ``OSError`` (ESRCH: no such process)."""
    return os.pidfd_open(pid)
