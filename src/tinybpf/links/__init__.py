"""Attach programs to the kernel: one module per attach kind, each returning a closable ``Link``."""
from __future__ import annotations

from .cgroup import CgroupLink, attach_cgroup, cgroup_root
from .kprobe import KprobeLink, attach_kprobe, attach_kretprobe
from .link import Link
from .perf_event import PerfEventLink, attach_interval, attach_perf_event, attach_profile
from .raw_tracepoint import RawTracepointLink, attach_raw_tracepoint
from .socket_filter import SocketFilterLink, attach_raw_socket, attach_socket_filter
from .tc import TCLink, attach_tc
from .tracepoint import TracepointLink, attach_tracepoint
from .uprobe import UprobeLink, attach_uprobe, attach_uretprobe
from .usdt import UsdtLink, attach_usdt, attach_usdt_probe
from .watchpoint import WatchpointLink, attach_watchpoint
from .xdp import XDPLink, XDPMode, attach_xdp

__all__ = [
    "CgroupLink",
    "KprobeLink",
    "Link",
    "PerfEventLink",
    "RawTracepointLink",
    "SocketFilterLink",
    "TCLink",
    "TracepointLink",
    "UprobeLink",
    "UsdtLink",
    "WatchpointLink",
    "XDPLink",
    "XDPMode",
    "attach_cgroup",
    "attach_interval",
    "attach_kprobe",
    "attach_kretprobe",
    "attach_perf_event",
    "attach_profile",
    "attach_raw_socket",
    "attach_raw_tracepoint",
    "attach_socket_filter",
    "attach_tc",
    "attach_tracepoint",
    "attach_uprobe",
    "attach_uretprobe",
    "attach_usdt",
    "attach_usdt_probe",
    "attach_watchpoint",
    "attach_xdp",
    "cgroup_root",
]
