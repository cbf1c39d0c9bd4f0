"""Kprobes and kretprobes (BPF_PROG_TYPE_KPROBE) on a kernel function, via the ``kprobe`` PMU.

Needs CONFIG_KPROBES; without it there is no /sys/bus/event_source/devices/kprobe and attaching
raises ``NotSupported``. Requires Linux 4.17 for the PMU.
"""
from __future__ import annotations

from typing import Any

from ..errors import NotSupported
from ..kernel import perf_event as perf
from .link import Link
from .perf_event import attach_single


class KprobeLink(Link):
    """A program on a kprobe or kretprobe; closing it removes the probe."""


def attach_kprobe(program: Any, function: str, offset: int = 0, *, retprobe: bool = False) -> KprobeLink:
    """Probe ``function+offset`` of the running kernel (a name from /proc/kallsyms)."""
    if not perf.pmu_exists("kprobe"):
        raise NotSupported("kprobes", "no kprobe PMU: CONFIG_KPROBES is off")
    config = 0
    if retprobe:
        bit = perf.pmu_format_bit("kprobe", "retprobe")
        config = 1 << (bit if bit is not None else 0)
    event = perf.open_probe("kprobe", function.encode(), offset, config)
    kind = "kretprobe" if retprobe else "kprobe"
    return attach_single(KprobeLink, program, event, f"{kind} {function}+0x{offset:x}")


def attach_kretprobe(program: Any, function: str) -> KprobeLink:
    return attach_kprobe(program, function, retprobe=True)
