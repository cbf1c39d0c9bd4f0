"""Attach points: expand wildcards against the system, pick the program type, attach and detach.

``expand`` turns one parsed attach point into concrete targets (``tracepoint:syscalls:sys_enter_*`` into
every matching tracepoint from tracefs, ``uprobe:/bin/bash:read*`` into every matching function symbol of
the binary); ``attach`` puts a loaded program on one target and returns its ``Link``.

BEGIN and END are raw tracepoint programs that are never attached: the runtime runs them once with
BPF_PROG_TEST_RUN, which raw tracepoint programs support (Linux 5.10) with the same tracing helpers a
tracepoint program has (ring buffer output, pid/comm, probe_read).
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Any

from tinybpf.errors import NotSupported, TinyBPFError
from tinybpf.kernel.constants import ProgType
from tinybpf.trace import ast

PROG_TYPES = {
    "BEGIN": ProgType.RAW_TRACEPOINT, "END": ProgType.RAW_TRACEPOINT, "tracepoint": ProgType.TRACEPOINT,
    "uprobe": ProgType.KPROBE, "uretprobe": ProgType.KPROBE, "profile": ProgType.PERF_EVENT,
    "interval": ProgType.PERF_EVENT, "software": ProgType.PERF_EVENT, "rawtracepoint": ProgType.RAW_TRACEPOINT,
    "kprobe": ProgType.KPROBE, "kretprobe": ProgType.KPROBE, "usdt": ProgType.KPROBE,
    "watchpoint": ProgType.PERF_EVENT, "bench": ProgType.RAW_TRACEPOINT,
}
_UNSUPPORTED = {
    "kfunc": "fentry/kfunc programs are not permitted on this kernel",
    "kretfunc": "fentry/kfunc programs are not permitted on this kernel",
    "fentry": "fentry/kfunc programs are not permitted on this kernel",
    "fexit": "fentry/kfunc programs are not permitted on this kernel",
    "hardware": "hardware perf events need a CPU PMU this machine does not have",
}
# software event aliases and bpftrace's default periods
SOFTWARE_EVENTS: dict[str, tuple[str, int]] = {
    "cpu-clock": ("CPU_CLOCK", 1000000), "cpu": ("CPU_CLOCK", 1000000),
    "task-clock": ("TASK_CLOCK", 1000000),
    "page-faults": ("PAGE_FAULTS", 100), "faults": ("PAGE_FAULTS", 100),
    "context-switches": ("CONTEXT_SWITCHES", 1000), "cs": ("CONTEXT_SWITCHES", 1000),
    "cpu-migrations": ("CPU_MIGRATIONS", 1), "migrations": ("CPU_MIGRATIONS", 1),
    "minor-faults": ("PAGE_FAULTS_MIN", 100), "major-faults": ("PAGE_FAULTS_MAJ", 1),
    "alignment-faults": ("ALIGNMENT_FAULTS", 1), "emulation-faults": ("EMULATION_FAULTS", 1),
    "dummy": ("DUMMY", 1), "bpf-output": ("BPF_OUTPUT", 1),
}
_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@dataclass(frozen=True)
class Target:
    """One concrete place to attach: ``name`` is what the ``probe`` builtin says there."""

    provider: str
    name: str
    target: str = ""
    func: str = ""
    offset: int = 0
    freq: int = 0

    @property
    def prog_type(self) -> ProgType:
        return PROG_TYPES[self.provider]


def check_supported(ap: ast.AttachPoint) -> None:
    if ap.provider in _UNSUPPORTED:
        raise NotSupported(f"{ap.provider} probes", _UNSUPPORTED[ap.provider])
    if ap.provider not in PROG_TYPES:
        raise NotSupported(f"{ap.provider} probes", "tinybpf trace supports BEGIN, END, tracepoint, uprobe, "
                                                    "uretprobe, profile, interval and software")


def expand(ap: ast.AttachPoint, pid: int = -1) -> list[Target]:
    """The concrete targets of ``ap``; raises ``TinyBPFError`` when a wildcard matches nothing."""
    check_supported(ap)
    provider = ap.provider
    if provider in ("BEGIN", "END"):
        return [Target(provider, provider)]
    if provider == "bench":
        return [Target(provider, f"bench:{ap.func}", func=ap.func)]
    if provider == "tracepoint":
        return _tracepoints(ap)
    if provider in ("uprobe", "uretprobe"):
        return _uprobes(ap, pid)
    if provider == "rawtracepoint":
        return _raw_tracepoints(ap)
    if provider == "usdt":
        return _usdt(ap, pid)
    if provider == "watchpoint":
        if ap.func:
            raise NotSupported("watchpoints on function arguments", "give an absolute address")
        # offset = the address, freq = the length, target = the mode; an execution breakpoint covers one
        # instruction, which the kernel wants given as sizeof(long), as bpftrace does
        length = 8 if ap.mode == "x" else ap.length
        return [Target(provider, f"watchpoint:0x{ap.address:x}:{ap.length}:{ap.mode}", ap.mode,
                       offset=ap.address, freq=length)]
    if provider in ("kprobe", "kretprobe"):
        # compiled and loaded like bpftrace's; where the kernel has no kprobes, attaching says so
        return [Target(provider, ap.name(), ap.target, ap.func, ap.offset)]
    if provider in ("profile", "interval"):
        if ap.unit not in ("hz", *_NS) or ap.freq <= 0:
            raise TinyBPFError(f"{ap.name()}: invalid {provider} rate", "use hz, s, ms or us and a positive count")
        return [Target(provider, ap.name(), target=ap.unit, freq=ap.freq)]
    event = SOFTWARE_EVENTS.get(ap.target)
    if event is None:
        raise TinyBPFError(f"{ap.name()}: unknown software event {ap.target!r}")
    return [Target(provider, f"software:{ap.target}:{ap.freq or event[1]}" if ap.freq else ap.name(),
                   target=ap.target, freq=ap.freq or event[1])]


def _tracepoints(ap: ast.AttachPoint) -> list[Target]:
    from tinybpf.kernel import tracefs

    if "*" in ap.target or "*" in ap.func or "?" in ap.target or "?" in ap.func:
        names = tracefs.list_events(f"{ap.target}:{ap.func}")
        if not names:
            raise TinyBPFError(f"No probes to attach for {ap.name()}")
        return [Target("tracepoint", f"tracepoint:{name}", name.split(":", 1)[0], name.split(":", 1)[1])
                for name in names]
    if not os.path.isdir(tracefs.event_dir(ap.target, ap.func)):
        raise TinyBPFError(f"No matches for tracepoint {ap.target}:{ap.func}.")
    return [Target("tracepoint", ap.name(), ap.target, ap.func)]


def _raw_tracepoints(ap: ast.AttachPoint) -> list[Target]:
    """``rawtracepoint:[module:]event``: the kernel's raw tracepoints (from BTF), wildcards expanded."""
    from tinybpf.trace.listing import list_probes

    module = ap.target or "*"
    try:
        names = list(list_probes(f"rawtracepoint:{module}:{ap.func}"))
    except TinyBPFError:
        names = []
    if not names:
        if ap.target and not ap.need_expansion:
            raise TinyBPFError(f"No matches for rawtracepoint {ap.target}:{ap.func}.")
        raise TinyBPFError("Probe has no valid attach points.")
    return [Target("rawtracepoint", name, name.split(":")[1], name.split(":")[2]) for name in names]


def _uprobes(ap: ast.AttachPoint, pid: int) -> list[Target]:
    from tinybpf.symbols.user import find_binary

    if ap.target == "*" and pid > 0:
        return _process_uprobes(ap, pid)
    path = find_binary(ap.target, pid)
    if not ap.need_expansion and ap.func and not _has_function(path, ap.func):
        raise TinyBPFError(f"No matches for {ap.provider} {ap.target}:{ap.func}.")
    if not ap.need_expansion:
        return [Target(ap.provider, f"{ap.provider}:{path}:{ap.func}" + (f"+{ap.offset}" if ap.offset else ""),
                       path, ap.func, ap.offset)]
    from tinybpf.elf import SymbolType
    from tinybpf.symbols.user import binary_symbols

    index = binary_symbols(path)
    names = sorted({s.name for s in index.elf.symbols() + index.elf.dynamic_symbols()
                    if s.defined and s.type in (SymbolType.FUNC, SymbolType.GNU_IFUNC) and s.name
                    and fnmatch.fnmatchcase(s.name, ap.func)})
    if not names:
        raise TinyBPFError(f"No probes to attach for {ap.name()}")
    return [Target(ap.provider, f"{ap.provider}:{path}:{name}", path, name) for name in names]


def _process_uprobes(ap: ast.AttachPoint, pid: int) -> list[Target]:
    """``uprobe:*:FUNC`` with ``-p PID``: the matching functions of every file the process maps."""
    from tinybpf.trace.listing import list_process_probes

    targets = []
    for line in list_process_probes(pid, f"uprobe:*:{ap.func}"):
        path, _, func = line[len("uprobe:"):].rpartition(":")
        targets.append(Target(ap.provider, f"{ap.provider}:{path}:{func}", path, func))
    if not targets:
        raise TinyBPFError(f"No matches for {ap.provider} *:{ap.func} in process {pid}.")
    return targets


def _usdt(ap: ast.AttachPoint, pid: int) -> list[Target]:
    """``usdt:BINARY:[PROVIDER:]NAME``: one target per probe site (each site has its own argument specs);
    ``offset`` is the site's file offset."""
    from tinybpf.elf.usdt import find_probes
    from tinybpf.symbols.user import find_binary

    path = find_binary(ap.target, pid)
    provider = ap.ns or "*"
    sites = [p for p in find_probes(path) if fnmatch.fnmatchcase(p.provider, provider)
             and fnmatch.fnmatchcase(p.name, ap.func)]
    if not sites:
        raise TinyBPFError(f"No matches for usdt {ap.target}:{ap.ns + ':' if ap.ns else ''}{ap.func}.")
    return [Target("usdt", f"usdt:{path}:{p.provider}:{p.name}", path, p.name, p.offset) for p in sites]


def usdt_site(target: Target) -> Any:
    """The ``elf.usdt.UsdtProbe`` a usdt target stands for."""
    from tinybpf.elf.usdt import find_probes

    for probe in find_probes(target.target):
        if probe.offset == target.offset and probe.name == target.func:
            return probe
    raise TinyBPFError(f"{target.name}: the probe site at 0x{target.offset:x} is gone")


def _has_function(path: str, name: str) -> bool:
    from tinybpf.symbols.user import binary_symbols

    index = binary_symbols(path)
    return any(s.name == name and s.defined for s in index.elf.symbols() + index.elf.dynamic_symbols())


def attach(program: Any, target: Target, pid: int = -1) -> Any:
    """Attach a loaded program to ``target``; returns the link (close it to detach)."""
    from tinybpf import links

    provider = target.provider
    if provider == "tracepoint":
        return links.attach_tracepoint(program, f"{target.target}:{target.func}")
    if provider == "rawtracepoint":
        return links.attach_raw_tracepoint(program, target.func)
    if provider == "watchpoint":
        return links.attach_watchpoint(program, target.offset, target.freq, target.target, pid=pid)
    if provider == "usdt":
        from tinybpf.links.usdt import attach_usdt_probe

        return attach_usdt_probe(program, usdt_site(target), pid)
    if provider in ("kprobe", "kretprobe"):
        return _kprobe(program, target)
    if provider in ("uprobe", "uretprobe"):
        return links.attach_uprobe(program, target.target, target.func, target.offset, pid=pid,
                                   retprobe=provider == "uretprobe")
    if provider == "profile":
        if target.target == "hz":
            return links.attach_profile(program, target.freq)
        return _perf(program, "CPU_CLOCK", period=target.freq * _NS[target.target], all_cpus=True)
    if provider == "interval":
        if target.target == "hz":
            return links.attach_interval(program, 1_000_000_000 // max(target.freq, 1))
        return links.attach_interval(program, target.freq * _NS[target.target])
    event, _ = SOFTWARE_EVENTS[target.target]
    return _perf(program, event, period=target.freq, all_cpus=True)


def _kprobe(program: Any, target: Target) -> Any:
    from tinybpf import links
    from tinybpf.kernel import tracefs

    if not os.path.exists(os.path.join(tracefs.tracefs_root(), "kprobe_events")):
        raise NotSupported(f"{target.name}", "kprobes are not available on this kernel")
    return links.attach_kprobe(program, target.func, target.offset, retprobe=target.provider == "kretprobe")


def _perf(program: Any, event: str, period: int, all_cpus: bool) -> Any:
    from tinybpf import links
    from tinybpf.kernel import perf_event as perf

    return links.attach_perf_event(program, perf.SoftwareEvent[event], sample_period=period)
