"""tc programs (BPF_PROG_TYPE_SCHED_CLS) on an interface's ingress or egress, with tcx links.

BPF_LINK_CREATE with BPF_TCX_INGRESS/BPF_TCX_EGRESS needs no qdisc and detaches when the link is
closed. The program returns a TCX verdict: TCX_NEXT (-1), TCX_PASS (0), TCX_DROP (2), TCX_REDIRECT (7).
Requires Linux 6.6.
"""
from __future__ import annotations

import struct
from typing import Any, Union

from ..errors import BPFError, NotSupported
from ..kernel import commands
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from ..kernel.sysinfo import kernel_version_code
from .link import Link, program_fd
from .xdp import interface_index

# union member of LINK_CREATE for tcx: { u32 relative_fd /* or relative_id */; u64 expected_revision; }
TCX_OPTS = struct.Struct("=IIQ")
EINVAL = 22

DIRECTIONS = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}


class TCLink(Link):
    """A tc program on one direction of an interface; closing it detaches the program."""


def attach_tc(program: Any, interface: Union[str, int], direction: str = "ingress") -> TCLink:
    """Attach to ``interface``'s ``"ingress"`` or ``"egress"``, after the programs already there."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction is 'ingress' or 'egress', not {direction!r}")
    index = interface_index(interface)
    try:
        fd = FD(commands.link_create(program_fd(program), index, DIRECTIONS[direction], 0,
                                     TCX_OPTS.pack(0, 0, 0)))
    except BPFError as exc:
        if exc.errno == EINVAL and not _has_tcx():
            raise NotSupported("tcx links", "BPF_TCX_INGRESS/EGRESS are unknown to this kernel", "6.6") from None
        raise
    return TCLink([fd], f"tc {direction} on {interface}", bpf_link=True)


def _has_tcx() -> bool:
    return kernel_version_code() >= (6 << 16) + (6 << 8)
