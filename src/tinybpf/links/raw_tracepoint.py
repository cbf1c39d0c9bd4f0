"""Raw tracepoint programs (BPF_PROG_TYPE_RAW_TRACEPOINT) by tracepoint name, with BPF_RAW_TRACEPOINT_OPEN.

The context is the tracepoint's raw arguments (``u64 args[]``), not the formatted record.
Requires Linux 4.17.
"""
from __future__ import annotations

from typing import Any

from ..kernel import commands
from ..kernel.fd import FD
from .link import Link, program_fd


class RawTracepointLink(Link):
    """A program on a raw tracepoint; closing it detaches the program."""


def attach_raw_tracepoint(program: Any, name: str) -> RawTracepointLink:
    """Attach to raw tracepoint ``name`` (``sys_enter``, ``sched_switch``: no category)."""
    name = name.rpartition(":")[2]
    fd = FD(commands.raw_tracepoint_open(name, program_fd(program)))
    return RawTracepointLink([fd], f"raw_tracepoint {name}", bpf_link=True)
