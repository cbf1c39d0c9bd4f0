"""Programs on perf events: software events sampled on every CPU (``profile:hz:99``, ``interval:s:1``),
and the attach step shared by tracepoints, uprobes and kprobes.

A program is attached to an open perf event with BPF_LINK_CREATE (attach type BPF_PERF_EVENT,
Linux 5.15), falling back to the PERF_EVENT_IOC_SET_BPF ioctl on older kernels; the event is then
enabled. Closing the link (or the perf event) detaches the program.
"""
from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from typing import Any, Optional, Union

from ..errors import BPFError, NotSupported
from ..kernel import commands
from ..kernel import perf_event as perf
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from ..kernel.sysinfo import online_cpus
from .link import L, Link, program_fd

EINVAL, EBADF, ENOENT, ENODEV, EOPNOTSUPP = 22, 9, 2, 19, 95
_COOKIE = struct.Struct("=Q")  # link_create.perf_event.bpf_cookie


class PerfEventLink(Link):
    """A program on one perf event per CPU (or one event for probes and tracepoints)."""


def attach_perf_fd(program: Any, event: FD, cookie: int = 0) -> list[FD]:
    """Attach ``program`` to the open perf event ``event`` and enable it.

    Returns the descriptors that keep it attached: ``[link, event]`` with a BPF link, ``[event]``
    with the ioctl. ``cookie`` is what ``bpf_get_attach_cookie()`` returns (BPF links only, Linux 5.15).
    On failure ``event`` is closed.
    """
    prog = program_fd(program)
    try:
        try:
            link = FD(commands.link_create(prog, event.fd, AttachType.PERF_EVENT, 0, _COOKIE.pack(cookie)))
        except BPFError as exc:
            if exc.errno not in (EINVAL, EOPNOTSUPP, EBADF) or cookie:
                raise
            perf.set_bpf(event.fd, prog)
            perf.enable(event.fd)
            return [event]
        perf.enable(event.fd)
        return [link, event]
    except BaseException:
        event.close()
        raise


def attach_single(cls: type[L], program: Any, event: FD, target: str) -> L:
    """A link of class ``cls`` for ``program`` on one open perf event (a tracepoint or a probe)."""
    fds = attach_perf_fd(program, event)
    return cls(fds, target, bpf_link=len(fds) == 2)


def attach_perf_event(
    program: Any,
    event: Union[perf.SoftwareEvent, perf.HardwareEvent, int] = perf.SoftwareEvent.CPU_CLOCK,
    *,
    sample_period: int = 0,
    sample_freq: int = 0,
    cpus: Optional[Iterable[int]] = None,
    pid: int = -1,
    event_type: Optional[int] = None,
) -> PerfEventLink:
    """Run a BPF_PROG_TYPE_PERF_EVENT program on each sample of ``event`` on every online CPU.

    Give ``sample_period`` (events, or nanoseconds for the clock events) or ``sample_freq`` (Hz).
    ``event_type`` defaults to PERF_TYPE_SOFTWARE for ``SoftwareEvent`` and PERF_TYPE_HARDWARE for
    ``HardwareEvent``; hardware events raise ``NotSupported`` on machines without a CPU PMU.
    """
    if bool(sample_period) == bool(sample_freq):
        raise ValueError("give exactly one of sample_period and sample_freq")
    if event_type is None:
        event_type = perf.PerfType.HARDWARE if isinstance(event, perf.HardwareEvent) else perf.PerfType.SOFTWARE
    flags = perf.AttrFlag.FREQ if sample_freq else 0
    attr = perf.PerfEventAttr(type=int(event_type), config=int(event), period=sample_freq or sample_period,
                              flags=int(flags) | perf.AttrFlag.DISABLED)
    name = _event_name(event_type, event)
    fds: list[FD] = []
    try:
        for cpu in (list(cpus) if cpus is not None else online_cpus()):
            fds.extend(attach_perf_fd(program, _open(attr, name, pid, cpu)))
    except BaseException:
        for fd in fds:
            fd.close()
        raise
    return PerfEventLink(fds, f"perf_event {name}")


def attach_profile(program: Any, hz: int = 99, cpus: Optional[Iterable[int]] = None) -> PerfEventLink:
    """bpftrace's ``profile:hz:N``: sample the cpu-clock ``hz`` times a second on every CPU."""
    return attach_perf_event(program, perf.SoftwareEvent.CPU_CLOCK, sample_freq=hz, cpus=cpus)


def attach_interval(program: Any, period_ns: int, cpu: int = 0) -> PerfEventLink:
    """bpftrace's ``interval:s:1``: run once per ``period_ns`` nanoseconds, on one CPU."""
    return attach_perf_event(program, perf.SoftwareEvent.CPU_CLOCK, sample_period=period_ns, cpus=[cpu])


def _open(attr: perf.PerfEventAttr, name: str, pid: int, cpu: int) -> FD:
    try:
        return perf.open_event(attr, pid, cpu)
    except BPFError as exc:
        if attr.type == perf.PerfType.HARDWARE and exc.errno in (ENOENT, ENODEV, EOPNOTSUPP):
            raise NotSupported(f"hardware perf event {name}",
                               "no CPU PMU on this machine (a VM without PMU passthrough?)") from None
        raise


def _event_name(event_type: int, event: int) -> str:
    kinds: dict[int, type[enum.IntEnum]] = {perf.PerfType.SOFTWARE: perf.SoftwareEvent,
                                             perf.PerfType.HARDWARE: perf.HardwareEvent}
    kind = kinds.get(event_type)
    if kind is not None and event in kind._value2member_map_:
        return kind(event).name.lower().replace("_", "-")
    return f"{event_type}:{event}"
