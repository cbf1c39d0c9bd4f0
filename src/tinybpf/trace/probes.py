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
from dataclasses import dataclass
from typing import Any

from tinybpf.errors import NotSupported, TinyBPFError
from tinybpf.kernel.constants import ProgType
from tinybpf.trace import ast

PROG_TYPES = {
    "BEGIN": ProgType.RAW_TRACEPOINT, "END": ProgType.RAW_TRACEPOINT, "tracepoint": ProgType.TRACEPOINT,
    "uprobe": ProgType.KPROBE, "uretprobe": ProgType.KPROBE, "profile": ProgType.PERF_EVENT,
    "interval": ProgType.PERF_EVENT, "software": ProgType.PERF_EVENT,
}
_UNSUPPORTED = {
    "kprobe": "kprobes are not available on this kernel",
    "kretprobe": "kretprobes are not available on this kernel",
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
    if provider == "tracepoint":
        return _tracepoints(ap)
    if provider in ("uprobe", "uretprobe"):
        return _uprobes(ap, pid)
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
    return [Target("tracepoint", ap.name(), ap.target, ap.func)]


def _uprobes(ap: ast.AttachPoint, pid: int) -> list[Target]:
    from tinybpf.symbols.user import find_binary

    path = find_binary(ap.target, pid)
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


def attach(program: Any, target: Target, pid: int = -1) -> Any:
    """Attach a loaded program to ``target``; returns the link (close it to detach)."""
    from tinybpf import links

    provider = target.provider
    if provider == "tracepoint":
        return links.attach_tracepoint(program, f"{target.target}:{target.func}")
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


def _perf(program: Any, event: str, period: int, all_cpus: bool) -> Any:
    from tinybpf import links
    from tinybpf.kernel import perf_event as perf

    return links.attach_perf_event(program, perf.SoftwareEvent[event], sample_period=period)
