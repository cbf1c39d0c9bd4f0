"""Uprobes and uretprobes (BPF_PROG_TYPE_KPROBE programs) on a user binary or library, via the ``uprobe`` PMU.

The probe is a perf event of the dynamic ``uprobe`` PMU whose ``config1`` points to the binary's
path and ``config2`` holds the file offset; the ``retprobe`` format bit turns it into a uretprobe.
No tracefs entry is created, so nothing lingers in ``uprobe_events``. Requires Linux 4.17.
"""
from __future__ import annotations

import os
from typing import Any

from ..kernel import perf_event as perf
from ..symbols.user import find_binary, split_archive, uprobe_offset
from .link import Link
from .perf_event import attach_single


class UprobeLink(Link):
    """A program on a uprobe or uretprobe; closing it removes the probe."""


def attach_uprobe(program: Any, binary: str, symbol: str = "", offset: int = 0, *, pid: int = -1,
                  retprobe: bool = False) -> UprobeLink:
    """Probe ``symbol+offset`` (or the raw file ``offset``) of ``binary`` in every process, or only in ``pid``.

    ``binary`` is a path, a program on ``$PATH`` or a library name (``c``, ``libc.so.6``), looked up
    in ``pid``'s mappings first when a pid is given, or ``ARCHIVE.zip!/MEMBER`` for an uncompressed member.
    """
    path = find_binary(binary, pid)
    file_offset = uprobe_offset(path, symbol, offset)
    config = 0
    if retprobe:
        bit = perf.pmu_format_bit("uprobe", "retprobe")
        config = 1 << (bit if bit is not None else 0)
    event = perf.open_probe("uprobe", os.fsencode(split_archive(path)[0]), file_offset, config,
                            pid=pid if pid > 0 else -1, cpu=-1 if pid > 0 else 0)
    where = f"{symbol}+0x{offset:x}" if symbol else f"0x{file_offset:x}"
    kind = "uretprobe" if retprobe else "uprobe"
    return attach_single(UprobeLink, program, event, f"{kind} {path}:{where}")


def attach_uretprobe(program: Any, binary: str, symbol: str = "", offset: int = 0, *,
                     pid: int = -1) -> UprobeLink:
    """A uretprobe: the program runs when ``symbol`` returns, with the return value in the context's ax."""
    return attach_uprobe(program, binary, symbol, offset, pid=pid, retprobe=True)
