"""Tracepoint programs (BPF_PROG_TYPE_TRACEPOINT) on ``category:name`` through a perf event.

The context is the tracepoint's record as ``format`` lays it out (see ``tinybpf.kernel.tracefs``).
Requires Linux 4.7.
"""
from __future__ import annotations

from typing import Any

from ..kernel import perf_event as perf
from ..kernel import tracefs
from .link import Link
from .perf_event import attach_single


class TracepointLink(Link):
    """A program on a tracepoint; closing it detaches the program."""


def attach_tracepoint(program: Any, tracepoint: str) -> TracepointLink:
    """Attach to ``"raw_syscalls:sys_enter"`` (also accepts ``category/name``).

    One perf event on CPU 0 is enough: a tracepoint runs its programs on whatever CPU hits it.
    """
    category, name = tracefs.split_tracepoint(tracepoint)
    attr = perf.PerfEventAttr(type=perf.PerfType.TRACEPOINT, config=tracefs.event_id(category, name),
                              period=1, flags=perf.AttrFlag.DISABLED)
    event = perf.open_event(attr, pid=-1, cpu=0)
    return attach_single(TracepointLink, program, event, f"tracepoint {category}:{name}")
