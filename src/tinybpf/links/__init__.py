"""Attach programs to the kernel: one module per attach kind, each returning a closable ``Link``.

Attach kinds load on first use: a tracepoint one-liner need not import the uprobe, USDT or XDP code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tinybpf._lazy import lazy_attributes

if TYPE_CHECKING:
    from .cgroup import CgroupLink, attach_cgroup, cgroup_root
    from .iterator import IterLink, attach_iter
    from .kprobe import KprobeLink, attach_kprobe, attach_kretprobe
    from .link import Link
    from .perf_event import PerfEventLink, attach_interval, attach_perf_event, attach_profile
    from .raw_tracepoint import RawTracepointLink, attach_raw_tracepoint
    from .socket_filter import SocketFilterLink, attach_raw_socket, attach_socket_filter
    from .struct_ops import StructOpsLink, attach_struct_ops
    from .tc import TCLink, attach_tc
    from .tracepoint import TracepointLink, attach_tracepoint
    from .uprobe import UprobeLink, attach_uprobe, attach_uretprobe
    from .uprobe_multi import UprobeMultiLink, attach_uprobe_multi
    from .usdt import UsdtLink, attach_usdt, attach_usdt_probe
    from .watchpoint import WatchpointLink, attach_watchpoint
    from .xdp import XDPLink, XDPMode, attach_xdp

_LAZY = {
    "CgroupLink": "tinybpf.links.cgroup",
    "attach_cgroup": "tinybpf.links.cgroup",
    "cgroup_root": "tinybpf.links.cgroup",
    "IterLink": "tinybpf.links.iterator",
    "attach_iter": "tinybpf.links.iterator",
    "KprobeLink": "tinybpf.links.kprobe",
    "attach_kprobe": "tinybpf.links.kprobe",
    "attach_kretprobe": "tinybpf.links.kprobe",
    "Link": "tinybpf.links.link",
    "PerfEventLink": "tinybpf.links.perf_event",
    "attach_interval": "tinybpf.links.perf_event",
    "attach_perf_event": "tinybpf.links.perf_event",
    "attach_profile": "tinybpf.links.perf_event",
    "RawTracepointLink": "tinybpf.links.raw_tracepoint",
    "attach_raw_tracepoint": "tinybpf.links.raw_tracepoint",
    "SocketFilterLink": "tinybpf.links.socket_filter",
    "attach_raw_socket": "tinybpf.links.socket_filter",
    "attach_socket_filter": "tinybpf.links.socket_filter",
    "StructOpsLink": "tinybpf.links.struct_ops",
    "attach_struct_ops": "tinybpf.links.struct_ops",
    "TCLink": "tinybpf.links.tc",
    "attach_tc": "tinybpf.links.tc",
    "TracepointLink": "tinybpf.links.tracepoint",
    "attach_tracepoint": "tinybpf.links.tracepoint",
    "UprobeLink": "tinybpf.links.uprobe",
    "attach_uprobe": "tinybpf.links.uprobe",
    "attach_uretprobe": "tinybpf.links.uprobe",
    "UprobeMultiLink": "tinybpf.links.uprobe_multi",
    "attach_uprobe_multi": "tinybpf.links.uprobe_multi",
    "UsdtLink": "tinybpf.links.usdt",
    "attach_usdt": "tinybpf.links.usdt",
    "attach_usdt_probe": "tinybpf.links.usdt",
    "WatchpointLink": "tinybpf.links.watchpoint",
    "attach_watchpoint": "tinybpf.links.watchpoint",
    "XDPLink": "tinybpf.links.xdp",
    "XDPMode": "tinybpf.links.xdp",
    "attach_xdp": "tinybpf.links.xdp",
}

__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "CgroupLink",
    "IterLink",
    "KprobeLink",
    "Link",
    "PerfEventLink",
    "RawTracepointLink",
    "SocketFilterLink",
    "StructOpsLink",
    "TCLink",
    "TracepointLink",
    "UprobeLink",
    "UprobeMultiLink",
    "UsdtLink",
    "WatchpointLink",
    "XDPLink",
    "XDPMode",
    "attach_cgroup",
    "attach_interval",
    "attach_iter",
    "attach_kprobe",
    "attach_kretprobe",
    "attach_perf_event",
    "attach_profile",
    "attach_raw_socket",
    "attach_raw_tracepoint",
    "attach_socket_filter",
    "attach_struct_ops",
    "attach_tc",
    "attach_tracepoint",
    "attach_uprobe",
    "attach_uprobe_multi",
    "attach_uretprobe",
    "attach_usdt",
    "attach_usdt_probe",
    "attach_watchpoint",
    "attach_xdp",
    "cgroup_root",
]
