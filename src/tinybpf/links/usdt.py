"""USDT probes (``DTRACE_PROBE`` in the traced program): a uprobe at each probe site, via the ``uprobe`` PMU.

A site's file offset comes from its ``.note.stapsdt`` note (see ``tinybpf.elf.usdt``). When the probe has a
semaphore, its file offset goes into the PMU's ``ref_ctr_offset`` config bits
(/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset, ``config:32-63``): the kernel then adds 1 to
the semaphore in every process mapping the binary while the uprobe exists, and subtracts it again when it
goes, so ``if (PROVIDER_NAME_ENABLED())`` guards in the program see the tracer. Requires Linux 4.20 for
semaphores, 4.17 otherwise.

A program that reads arguments must match its site's argument spec, which can differ between sites of the
same probe: attach such programs one site at a time with :func:`attach_usdt_probe`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Optional

from ..elf.usdt import UsdtProbe, find_probes
from ..errors import FormatError, NotSupported, TinyBPFError
from ..kernel import perf_event as perf
from ..kernel.fd import FD
from ..symbols.user import find_binary
from .link import Link
from .perf_event import attach_perf_fd


class UsdtLink(Link):
    """A program on every site of one USDT probe (one uprobe per site); closing it removes them all."""

    def __init__(self, fds: list[FD], target: str, probes: list[UsdtProbe], *, bpf_link: bool = False) -> None:
        super().__init__(fds, target, bpf_link=bpf_link)
        self.probes = probes


def attach_usdt(program: Any, binary: str, provider: str, name: str, pid: int = -1,
                cookie: Optional[Callable[[UsdtProbe], int]] = None) -> UsdtLink:
    """Run ``program`` at every site of USDT probe ``provider:name`` in ``binary``, in all processes or ``pid``.

    ``binary`` is a path, a program on ``$PATH`` or a library name, as for uprobes. ``cookie`` gives each
    site's BPF cookie (libbpf's usdt.bpf.h finds a site's argument spec by it).
    """
    path = find_binary(binary, pid)
    probes = usdt_probes(path, provider, name)
    fds: list[FD] = []
    try:
        for probe in probes:
            fds.extend(attach_perf_fd(program, open_usdt_event(probe, pid), cookie(probe) if cookie else 0))
    except BaseException:
        for fd in reversed(fds):
            fd.close()
        raise
    return UsdtLink(fds, f"usdt {path}:{provider}:{name}", probes, bpf_link=len(probes) == 1 and len(fds) == 2)


def attach_usdt_probe(program: Any, probe: UsdtProbe, pid: int = -1) -> UsdtLink:
    """Run ``program`` at one probe site (an item of ``find_probes``), in all processes or only ``pid``."""
    fds = attach_perf_fd(program, open_usdt_event(probe, pid))
    target = f"usdt {probe.path}:{probe.provider}:{probe.name} at 0x{probe.offset:x}"
    return UsdtLink(fds, target, [probe], bpf_link=len(fds) == 2)


def usdt_probes(path: str, provider: str, name: str) -> list[UsdtProbe]:
    """The sites of ``provider:name`` in ``path``; a clear error when there are none."""
    try:
        found = find_probes(path)
    except FormatError as exc:
        raise TinyBPFError(f"cannot read USDT probes of {path}: {exc}") from None
    probes = [probe for probe in found if probe.provider == provider and probe.name == name]
    if probes:
        return probes
    if not found:
        raise TinyBPFError(f"no USDT probe {provider}:{name} in {path}: it has no .note.stapsdt section",
                           "was it built with <sys/sdt.h> probes?")
    known = sorted({f"{probe.provider}:{probe.name}" for probe in found})
    raise TinyBPFError(f"no USDT probe {provider}:{name} in {path}", f"it has {', '.join(known)}")


def open_usdt_event(probe: UsdtProbe, pid: int = -1) -> FD:
    """A disabled uprobe perf event at ``probe``'s site, counting its semaphore when it has one."""
    return perf.open_probe("uprobe", os.fsencode(probe.path), probe.offset, _semaphore_config(probe),
                           pid=pid if pid > 0 else -1, cpu=-1 if pid > 0 else 0)


def _semaphore_config(probe: UsdtProbe) -> int:
    if not probe.semaphore_offset:
        return 0
    bit: Optional[int] = perf.pmu_format_bit("uprobe", "ref_ctr_offset")
    if bit is None:
        raise NotSupported("USDT semaphores", "the uprobe PMU has no ref_ctr_offset format", "4.20")
    return probe.semaphore_offset << bit


__all__ = ["UsdtLink", "attach_usdt", "attach_usdt_probe", "open_usdt_event", "usdt_probes"]
