"""rtnetlink dumps for what is attached to network devices: XDP programs (RTM_GETLINK) and tc ``bpf``
filters (RTM_GETQDISC / RTM_GETTCLASS / RTM_GETTFILTER), parsed into plain records.

Only the attributes an inspection needs are read; everything else in the messages is skipped by length.
"""
from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ..errors import TinyBPFError

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_GETQDISC, RTM_GETTCLASS, RTM_GETTFILTER = 18, 38, 42, 46
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_IFNAME, IFLA_XDP = 3, 43
IFLA_XDP_ATTACHED, IFLA_XDP_PROG_ID, IFLA_XDP_DRV_PROG_ID, IFLA_XDP_SKB_PROG_ID, IFLA_XDP_HW_PROG_ID = 2, 4, 5, 6, 7
XDP_ATTACHED_NONE, XDP_ATTACHED_DRV, XDP_ATTACHED_SKB, XDP_ATTACHED_HW, XDP_ATTACHED_MULTI = 0, 1, 2, 3, 4
TCA_KIND, TCA_OPTIONS = 1, 2
TCA_BPF_NAME, TCA_BPF_ID = 7, 11
TC_H_ROOT, TC_H_CLSACT, TC_H_MIN_INGRESS, TC_H_MIN_EGRESS = 0xFFFFFFFF, 0xFFFFFFF1, 0xFFF2, 0xFFF3

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_TCMSG = struct.Struct("=BxxxiIII")
_RTATTR = struct.Struct("=HH")


@dataclass(frozen=True)
class Device:
    """A network device and the XDP programs on it: ``xdp`` is [(mode, prog id)], mode as bpftool names it."""

    ifindex: int
    name: str
    xdp_mode: int
    xdp: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TcFilter:
    """A tc ``bpf`` filter: where it hangs (``clsact/ingress``, ``root`` or a qdisc/class kind) and its program."""

    kind: str
    name: str
    prog_id: Optional[int]


def _attributes(data: bytes, start: int = 0) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    at = start
    while at + 4 <= len(data):
        length, kind = _RTATTR.unpack_from(data, at)
        if length < 4:
            break
        found[kind & 0x3FFF] = data[at + 4:at + length]
        at += (length + 3) & ~3
    return found


def _dump(msg_type: int, payload: bytes) -> Iterator[bytes]:
    """The bodies of every message a dump request answers."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + payload)
        while True:
            data = sock.recv(1 << 16)
            at = 0
            while at + _NLMSGHDR.size <= len(data):
                length, kind, _, _, _ = _NLMSGHDR.unpack_from(data, at)
                body = data[at + _NLMSGHDR.size:at + length]
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    errno = -struct.unpack_from("=i", body)[0]
                    if errno:
                        raise TinyBPFError(f"netlink dump {msg_type}: {os.strerror(errno)}")
                    return
                yield body
                at += (length + 3) & ~3
                if length == 0:
                    break


def devices() -> list[Device]:
    """Every network device with its XDP attachment, in the kernel's order."""
    found = []
    for body in _dump(RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        _, _, ifindex, _, _ = _IFINFOMSG.unpack_from(body)
        attrs = _attributes(body, _IFINFOMSG.size)
        name = attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(errors="replace")
        mode, xdp = XDP_ATTACHED_NONE, []
        if IFLA_XDP in attrs:
            nested = _attributes(attrs[IFLA_XDP])
            mode = nested.get(IFLA_XDP_ATTACHED, b"\0")[0]
            ids = {key: struct.unpack("=I", value[:4])[0] for key, value in nested.items() if len(value) >= 4}
            if mode == XDP_ATTACHED_MULTI:
                xdp = [(label, ids[key]) for key, label in ((IFLA_XDP_SKB_PROG_ID, "generic"),
                       (IFLA_XDP_DRV_PROG_ID, "driver"), (IFLA_XDP_HW_PROG_ID, "offload")) if key in ids]
            elif mode in (XDP_ATTACHED_DRV, XDP_ATTACHED_SKB, XDP_ATTACHED_HW) and IFLA_XDP_PROG_ID in ids:
                label = {XDP_ATTACHED_DRV: "driver", XDP_ATTACHED_SKB: "generic", XDP_ATTACHED_HW: "offload"}[mode]
                xdp = [(label, ids[IFLA_XDP_PROG_ID])]
        found.append(Device(ifindex, name, mode, tuple(xdp)))
    return found


def _tc_handles(msg_type: int, ifindex: int, qdiscs: bool) -> list[tuple[int, str]]:
    handles = []
    for body in _dump(msg_type, _TCMSG.pack(socket.AF_UNSPEC, ifindex, 0, 0, 0)):
        _, index, handle, _, _ = _TCMSG.unpack_from(body)
        if index != ifindex:
            continue
        kind = _attributes(body, _TCMSG.size).get(TCA_KIND, b"unknown\0").rstrip(b"\0").decode(errors="replace")
        if qdiscs and (kind == "clsact" or handle == 0):
            continue
        handles.append((handle, kind))
    return handles


def _filters(ifindex: int, parent: int, kind: str) -> list[TcFilter]:
    found = []
    for body in _dump(RTM_GETTFILTER, _TCMSG.pack(socket.AF_UNSPEC, ifindex, 0, parent, 0)):
        attrs = _attributes(body, _TCMSG.size)
        if attrs.get(TCA_KIND, b"").rstrip(b"\0") != b"bpf" or TCA_OPTIONS not in attrs:
            continue
        options = _attributes(attrs[TCA_OPTIONS])
        name = options.get(TCA_BPF_NAME, b"").rstrip(b"\0").decode(errors="replace")
        prog_id = struct.unpack("=I", options[TCA_BPF_ID][:4])[0] if TCA_BPF_ID in options else None
        found.append(TcFilter(kind, name, prog_id))
    return found


def tc_filters(ifindex: int) -> list[TcFilter]:
    """The tc ``bpf`` filters of a device: under each class and qdisc, then root, clsact ingress and egress
    (bpftool's order)."""
    handles = _tc_handles(RTM_GETTCLASS, ifindex, False) + _tc_handles(RTM_GETQDISC, ifindex, True)
    found: list[TcFilter] = []
    for handle, kind in handles:
        found += _filters(ifindex, handle, kind)
    found += _filters(ifindex, TC_H_ROOT, "root")
    found += _filters(ifindex, (TC_H_CLSACT & 0xFFFF0000) | TC_H_MIN_INGRESS, "clsact/ingress")
    found += _filters(ifindex, (TC_H_CLSACT & 0xFFFF0000) | TC_H_MIN_EGRESS, "clsact/egress")
    return found


__all__ = ["Device", "TcFilter", "devices", "tc_filters"]
