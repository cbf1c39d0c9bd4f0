"""libbpf's ``SEC()`` names: what program type, expected attach type and attach point a section name means.

The table follows libbpf 1.x's ``section_defs``: a name ending in ``+`` matches exactly or followed by
``/extras`` (``tracepoint/syscalls/sys_enter_openat``), other names match exactly. Objects written for
libbpf < 1.0 use sloppy prefixes (``socket1``, ``xdp_prog``, ``kprobe/...``): when nothing matches
exactly, the legacy prefix rules apply, so the kernel's old samples keep loading.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from tinybpf.kernel.constants import AttachType, ProgFlags, ProgType

# How a program is attached by :meth:`tinybpf.objects.Object.attach`; "" = only explicitly.
TRACEPOINT = "tracepoint"
RAW_TRACEPOINT = "raw_tracepoint"
TRACING = "tracing"  # tp_btf, fentry, fexit, fmod_ret, lsm: BPF_RAW_TRACEPOINT_OPEN without a name
KPROBE = "kprobe"
KRETPROBE = "kretprobe"
KSYSCALL = "ksyscall"
KRETSYSCALL = "kretsyscall"
UPROBE = "uprobe"
URETPROBE = "uretprobe"
UPROBE_MULTI = "uprobe.multi"
URETPROBE_MULTI = "uretprobe.multi"
USDT = "usdt"
PERF_EVENT = "perf_event"
SOCKET = "socket"
XDP = "xdp"
TC = "tc"
CGROUP = "cgroup"
ITER = "iter"


@dataclasses.dataclass(frozen=True)
class SectionDef:
    """One row of the table: ``prefix`` as libbpf spells it (``"kprobe+"``)."""

    prefix: str
    type: ProgType
    attach_type: Optional[AttachType] = None
    attach: str = ""
    flags: int = 0
    btf_prefix: Optional[str] = None  # SEC_ATTACH_BTF: the target's kernel BTF name is btf_prefix + target
    btf_kind: str = "func"  # "func" or "typedef" (tp_btf's btf_trace_<name>)


@dataclasses.dataclass(frozen=True)
class SectionInfo:
    """What a section name says about its programs: ``target`` is the text after the first ``/``."""

    section: str
    type: ProgType
    attach_type: Optional[AttachType]
    attach: str
    target: str
    flags: int
    btf_name: str = ""
    btf_kind: str = "func"

    @property
    def needs_btf_target(self) -> bool:
        """fentry/fexit/tp_btf/lsm/iter programs name a kernel BTF function at load (attach_btf_id)."""
        return bool(self.btf_name)


_P, _A = ProgType, AttachType
_SLEEP, _FRAGS = int(ProgFlags.SLEEPABLE), int(ProgFlags.XDP_HAS_FRAGS)

SECTION_DEFS: tuple[SectionDef, ...] = (
    SectionDef("socket", _P.SOCKET_FILTER, None, SOCKET),
    SectionDef("sk_reuseport/migrate", _P.SK_REUSEPORT, _A.SK_REUSEPORT_SELECT_OR_MIGRATE),
    SectionDef("sk_reuseport", _P.SK_REUSEPORT, _A.SK_REUSEPORT_SELECT),
    SectionDef("kprobe+", _P.KPROBE, None, KPROBE),
    SectionDef("uprobe+", _P.KPROBE, None, UPROBE),
    SectionDef("uprobe.s+", _P.KPROBE, None, UPROBE, _SLEEP),
    SectionDef("kretprobe+", _P.KPROBE, None, KRETPROBE),
    SectionDef("uretprobe+", _P.KPROBE, None, URETPROBE),
    SectionDef("uretprobe.s+", _P.KPROBE, None, URETPROBE, _SLEEP),
    SectionDef("kprobe.multi+", _P.KPROBE, _A.TRACE_KPROBE_MULTI),
    SectionDef("kretprobe.multi+", _P.KPROBE, _A.TRACE_KPROBE_MULTI),
    SectionDef("kprobe.session+", _P.KPROBE, _A.TRACE_KPROBE_SESSION),
    SectionDef("uprobe.multi+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, UPROBE_MULTI),
    SectionDef("uretprobe.multi+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, URETPROBE_MULTI),
    SectionDef("uprobe.session+", _P.KPROBE, _A.TRACE_UPROBE_SESSION),
    SectionDef("uprobe.multi.s+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, UPROBE_MULTI, _SLEEP),
    SectionDef("uretprobe.multi.s+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, URETPROBE_MULTI, _SLEEP),
    SectionDef("uprobe.session.s+", _P.KPROBE, _A.TRACE_UPROBE_SESSION, "", _SLEEP),
    SectionDef("ksyscall+", _P.KPROBE, None, KSYSCALL),
    SectionDef("kretsyscall+", _P.KPROBE, None, KRETSYSCALL),
    SectionDef("usdt+", _P.KPROBE, None, USDT),
    SectionDef("usdt.s+", _P.KPROBE, None, USDT, _SLEEP),
    SectionDef("tc/ingress", _P.SCHED_CLS, _A.TCX_INGRESS, TC),
    SectionDef("tc/egress", _P.SCHED_CLS, _A.TCX_EGRESS, TC),
    SectionDef("tcx/ingress", _P.SCHED_CLS, _A.TCX_INGRESS, TC),
    SectionDef("tcx/egress", _P.SCHED_CLS, _A.TCX_EGRESS, TC),
    SectionDef("tc", _P.SCHED_CLS, None, TC),
    SectionDef("classifier", _P.SCHED_CLS, None, TC),
    SectionDef("action", _P.SCHED_ACT),
    SectionDef("netkit/primary", _P.SCHED_CLS, _A.NETKIT_PRIMARY),
    SectionDef("netkit/peer", _P.SCHED_CLS, _A.NETKIT_PEER),
    SectionDef("tracepoint+", _P.TRACEPOINT, None, TRACEPOINT),
    SectionDef("tp+", _P.TRACEPOINT, None, TRACEPOINT),
    SectionDef("tracepoint.s+", _P.TRACEPOINT, None, TRACEPOINT, _SLEEP),
    SectionDef("tp.s+", _P.TRACEPOINT, None, TRACEPOINT, _SLEEP),
    SectionDef("raw_tracepoint+", _P.RAW_TRACEPOINT, None, RAW_TRACEPOINT),
    SectionDef("raw_tp+", _P.RAW_TRACEPOINT, None, RAW_TRACEPOINT),
    SectionDef("raw_tracepoint.s+", _P.RAW_TRACEPOINT, None, RAW_TRACEPOINT, _SLEEP),
    SectionDef("raw_tp.s+", _P.RAW_TRACEPOINT, None, RAW_TRACEPOINT, _SLEEP),
    SectionDef("raw_tracepoint.w+", _P.RAW_TRACEPOINT_WRITABLE, None, RAW_TRACEPOINT),
    SectionDef("raw_tp.w+", _P.RAW_TRACEPOINT_WRITABLE, None, RAW_TRACEPOINT),
    SectionDef("tp_btf+", _P.TRACING, _A.TRACE_RAW_TP, TRACING, 0, "btf_trace_", "typedef"),
    SectionDef("tp_btf.s+", _P.TRACING, _A.TRACE_RAW_TP, TRACING, _SLEEP, "btf_trace_", "typedef"),
    SectionDef("fentry+", _P.TRACING, _A.TRACE_FENTRY, TRACING, 0, ""),
    SectionDef("fmod_ret+", _P.TRACING, _A.MODIFY_RETURN, TRACING, 0, ""),
    SectionDef("fexit+", _P.TRACING, _A.TRACE_FEXIT, TRACING, 0, ""),
    SectionDef("fentry.s+", _P.TRACING, _A.TRACE_FENTRY, TRACING, _SLEEP, ""),
    SectionDef("fmod_ret.s+", _P.TRACING, _A.MODIFY_RETURN, TRACING, _SLEEP, ""),
    SectionDef("fexit.s+", _P.TRACING, _A.TRACE_FEXIT, TRACING, _SLEEP, ""),
    SectionDef("freplace+", _P.EXT),
    SectionDef("lsm+", _P.LSM, _A.LSM_MAC, TRACING, 0, "bpf_lsm_"),
    SectionDef("lsm.s+", _P.LSM, _A.LSM_MAC, TRACING, _SLEEP, "bpf_lsm_"),
    SectionDef("lsm_cgroup+", _P.LSM, _A.LSM_CGROUP, "", 0, "bpf_lsm_"),
    SectionDef("iter+", _P.TRACING, _A.TRACE_ITER, ITER, 0, "bpf_iter_"),
    SectionDef("iter.s+", _P.TRACING, _A.TRACE_ITER, ITER, _SLEEP, "bpf_iter_"),
    SectionDef("syscall", _P.SYSCALL, None, "", _SLEEP),
    SectionDef("xdp.frags/devmap", _P.XDP, _A.XDP_DEVMAP, "", _FRAGS),
    SectionDef("xdp/devmap", _P.XDP, _A.XDP_DEVMAP),
    SectionDef("xdp.frags/cpumap", _P.XDP, _A.XDP_CPUMAP, "", _FRAGS),
    SectionDef("xdp/cpumap", _P.XDP, _A.XDP_CPUMAP),
    SectionDef("xdp.frags", _P.XDP, _A.XDP, XDP, _FRAGS),
    SectionDef("xdp", _P.XDP, _A.XDP, XDP),
    SectionDef("perf_event", _P.PERF_EVENT, None, PERF_EVENT),
    SectionDef("lwt_in", _P.LWT_IN),
    SectionDef("lwt_out", _P.LWT_OUT),
    SectionDef("lwt_xmit", _P.LWT_XMIT),
    SectionDef("lwt_seg6local", _P.LWT_SEG6LOCAL),
    SectionDef("sockops", _P.SOCK_OPS, _A.CGROUP_SOCK_OPS, CGROUP),
    SectionDef("sk_skb/stream_parser", _P.SK_SKB, _A.SK_SKB_STREAM_PARSER),
    SectionDef("sk_skb/stream_verdict", _P.SK_SKB, _A.SK_SKB_STREAM_VERDICT),
    SectionDef("sk_skb/verdict", _P.SK_SKB, _A.SK_SKB_VERDICT),
    SectionDef("sk_skb", _P.SK_SKB),
    SectionDef("sk_msg", _P.SK_MSG, _A.SK_MSG_VERDICT),
    SectionDef("lirc_mode2", _P.LIRC_MODE2, _A.LIRC_MODE2),
    SectionDef("flow_dissector", _P.FLOW_DISSECTOR, _A.FLOW_DISSECTOR),
    SectionDef("cgroup_skb/ingress", _P.CGROUP_SKB, _A.CGROUP_INET_INGRESS, CGROUP),
    SectionDef("cgroup_skb/egress", _P.CGROUP_SKB, _A.CGROUP_INET_EGRESS, CGROUP),
    SectionDef("cgroup/skb", _P.CGROUP_SKB),
    SectionDef("cgroup/sock_create", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_CREATE, CGROUP),
    SectionDef("cgroup/sock_release", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_RELEASE, CGROUP),
    SectionDef("cgroup/sock", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_CREATE, CGROUP),
    SectionDef("cgroup/post_bind4", _P.CGROUP_SOCK, _A.CGROUP_INET4_POST_BIND, CGROUP),
    SectionDef("cgroup/post_bind6", _P.CGROUP_SOCK, _A.CGROUP_INET6_POST_BIND, CGROUP),
    SectionDef("cgroup/bind4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_BIND, CGROUP),
    SectionDef("cgroup/bind6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_BIND, CGROUP),
    SectionDef("cgroup/connect4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_CONNECT, CGROUP),
    SectionDef("cgroup/connect6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_CONNECT, CGROUP),
    SectionDef("cgroup/connect_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_CONNECT, CGROUP),
    SectionDef("cgroup/sendmsg4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP4_SENDMSG, CGROUP),
    SectionDef("cgroup/sendmsg6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP6_SENDMSG, CGROUP),
    SectionDef("cgroup/sendmsg_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_SENDMSG, CGROUP),
    SectionDef("cgroup/recvmsg4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP4_RECVMSG, CGROUP),
    SectionDef("cgroup/recvmsg6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP6_RECVMSG, CGROUP),
    SectionDef("cgroup/recvmsg_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_RECVMSG, CGROUP),
    SectionDef("cgroup/getpeername4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_GETPEERNAME, CGROUP),
    SectionDef("cgroup/getpeername6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_GETPEERNAME, CGROUP),
    SectionDef("cgroup/getsockname4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_GETSOCKNAME, CGROUP),
    SectionDef("cgroup/getsockname6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_GETSOCKNAME, CGROUP),
    SectionDef("cgroup/getpeername_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_GETPEERNAME, CGROUP),
    SectionDef("cgroup/getsockname_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_GETSOCKNAME, CGROUP),
    SectionDef("cgroup/sysctl", _P.CGROUP_SYSCTL, _A.CGROUP_SYSCTL, CGROUP),
    SectionDef("cgroup/getsockopt", _P.CGROUP_SOCKOPT, _A.CGROUP_GETSOCKOPT, CGROUP),
    SectionDef("cgroup/setsockopt", _P.CGROUP_SOCKOPT, _A.CGROUP_SETSOCKOPT, CGROUP),
    SectionDef("cgroup/dev", _P.CGROUP_DEVICE, _A.CGROUP_DEVICE, CGROUP),
    SectionDef("struct_ops+", _P.STRUCT_OPS),
    SectionDef("struct_ops.s+", _P.STRUCT_OPS, None, "", _SLEEP),
    SectionDef("sk_lookup", _P.SK_LOOKUP, _A.SK_LOOKUP),
    SectionDef("netfilter", _P.NETFILTER, _A.NETFILTER),
)

# libbpf < 1.0 matched these as bare prefixes (SEC_SLOPPY_PFX): "socket1", "xdp_prog", "classifier_x".
_LEGACY_PREFIXES = (
    "socket", "sk_reuseport", "kprobe/", "uprobe/", "kretprobe/", "uretprobe/", "tc", "classifier", "action",
    "tracepoint/", "tp/", "raw_tracepoint/", "raw_tp/", "xdp", "perf_event", "lwt_in", "lwt_out", "lwt_xmit",
    "lwt_seg6local", "cgroup_skb/ingress", "cgroup_skb/egress", "cgroup/skb", "cgroup/sock", "sockops",
    "sk_skb", "sk_msg", "lirc_mode2", "flow_dissector", "cgroup/dev",
)


def _matches(name: str, prefix: str) -> bool:
    if prefix.endswith("+"):
        stem = prefix[:-1]
        return name == stem or name.startswith(stem + "/")
    return name == prefix


def find_section_def(section: str) -> Optional[SectionDef]:
    """The row for ``section`` (exact libbpf 1.x rules first, then libbpf 0.x's sloppy prefixes)."""
    for row in SECTION_DEFS:
        if _matches(section, row.prefix):
            return row
    for legacy in _LEGACY_PREFIXES:
        if section.startswith(legacy):
            stem = legacy.rstrip("/")
            for row in SECTION_DEFS:
                if row.prefix.rstrip("+") == stem:
                    return row
    return None


def parse_section(section: str) -> Optional[SectionInfo]:
    """What ``section`` means, or None when it names no program type libbpf knows."""
    row = find_section_def(section)
    if row is None:
        return None
    stem = row.prefix.rstrip("+")
    target = section[len(stem) + 1:] if section.startswith(stem + "/") else ""
    btf_name = ""
    if row.btf_prefix is not None and target:
        btf_name = row.btf_prefix + target
    return SectionInfo(section, row.type, row.attach_type, row.attach, target, row.flags, btf_name, row.btf_kind)


def split_uprobe_target(target: str) -> tuple[str, str, int]:
    """``/usr/lib/libc.so.6:malloc+0x10`` (libbpf's ``uprobe/PATH:FUNC[+OFF]``) -> (path, function, offset).

    The path ends at the first colon, as libbpf reads it, so a C++ ``ns::func`` stays whole."""
    path, sep, where = target.partition(":")
    if not sep:
        return "", "", 0
    function, plus, offset = where.partition("+")
    if function and not plus:
        try:
            return path, "", int(function, 0)
        except ValueError:
            return path, function, 0
    return path, function, int(offset, 0) if offset else 0


def split_usdt_target(target: str) -> tuple[str, str, str]:
    """libbpf's ``usdt/PATH:PROVIDER:NAME`` -> (path, provider, name); empty strings when it is not that form."""
    parts = target.split(":")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else ("", "", "")


def split_kprobe_target(target: str) -> tuple[str, int]:
    """``do_sys_open+0x10`` -> (function, offset)."""
    function, _, offset = target.partition("+")
    return function, int(offset, 0) if offset else 0


__all__ = [
    "SECTION_DEFS",
    "SectionDef",
    "SectionInfo",
    "find_section_def",
    "parse_section",
    "split_kprobe_target",
    "split_uprobe_target",
    "split_usdt_target",
]
