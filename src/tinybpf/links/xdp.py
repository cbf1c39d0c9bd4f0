"""XDP programs (BPF_PROG_TYPE_XDP) on a network interface, with a BPF link (BPF_LINK_CREATE, BPF_XDP).

Generic (skb) mode works on every interface; driver mode needs driver support (veth, virtio_net,
most physical NICs). Requires Linux 5.9 for XDP links.
"""
from __future__ import annotations

import enum
import socket
from typing import Any, Union

from ..kernel import commands
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from .link import Link, program_fd


class XDPMode(enum.IntFlag):
    """``XDP_FLAGS_*`` mode bits; ``AUTO`` lets the kernel pick driver mode when it can."""

    AUTO = 0
    SKB = 1 << 1
    DRV = 1 << 2
    HW = 1 << 3


class XDPLink(Link):
    """An XDP program on an interface; closing it detaches the program."""


def interface_index(interface: Union[str, int]) -> int:
    return interface if isinstance(interface, int) else socket.if_nametoindex(interface)


def attach_xdp(program: Any, interface: Union[str, int], mode: XDPMode = XDPMode.AUTO) -> XDPLink:
    """Attach to ``interface`` (a name or an ifindex) in ``mode``."""
    index = interface_index(interface)
    fd = FD(commands.link_create(program_fd(program), index, AttachType.XDP, int(mode)))
    return XDPLink([fd], f"xdp on {interface}", bpf_link=True)
