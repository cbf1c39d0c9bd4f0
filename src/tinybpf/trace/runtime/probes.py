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
from tinybpf.trace.syntax import ast

PROG_TYPES = {
    "BEGIN": ProgType.RAW_TRACEPOINT, "END": ProgType.RAW_TRACEPOINT, "tracepoint": ProgType.TRACEPOINT,
    "uprobe": ProgType.KPROBE, "uretprobe": ProgType.KPROBE, "profile": ProgType.PERF_EVENT,
    "interval": ProgType.PERF_EVENT, "software": ProgType.PERF_EVENT, "rawtracepoint": ProgType.RAW_TRACEPOINT,
    "kprobe": ProgType.KPROBE, "kretprobe": ProgType.KPROBE, "usdt": ProgType.KPROBE,
    "watchpoint": ProgType.PERF_EVENT, "self": ProgType.RAW_TRACEPOINT, "bench": ProgType.RAW_TRACEPOINT,
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


class AttachRefused(TinyBPFError):
    """A probe bpftrace refuses when it attaches (not a source error): printed as ``ERROR: ...`` alone."""


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


def expand(ap: ast.AttachPoint, pid: int = -1, unsafe: bool = False) -> list[Target]:
    """The concrete targets of ``ap``; raises ``TinyBPFError`` when a wildcard matches nothing.

    ``unsafe`` allows uprobes where no symbol vouches for an instruction boundary."""
    check_supported(ap)
    provider = ap.provider
    if provider in ("BEGIN", "END"):
        return [Target(provider, provider)]
    if provider == "self":  # run by the runtime when the signal arrives, like BEGIN
        return [Target(provider, ap.name(), ap.target, ap.func)]
    if provider == "bench":
        return [Target(provider, f"bench:{ap.func}", func=ap.func)]
    if provider == "tracepoint":
        return _tracepoints(ap)
    if provider in ("uprobe", "uretprobe"):
        return _uprobes(ap, pid, unsafe)
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
        return [_timer(ap)]
    event = SOFTWARE_EVENTS.get(ap.target)
    if event is None:
        raise TinyBPFError(f"{ap.name()}: unknown software event {ap.target!r}")
    return [Target(provider, f"software:{ap.target}:{ap.freq or event[1]}" if ap.freq else ap.name(),
                   target=ap.target, freq=ap.freq or event[1])]


def _timer(ap: ast.AttachPoint) -> Target:
    """A ``profile``/``interval`` rate checked as bpftrace checks it: the count is a signed 64-bit number
    (``-1`` and ``18446744073709551615`` are the same, not positive), and the period must fit the kernel's
    64-bit ``sample_period``."""
    provider, unit = ap.provider, ap.unit
    if unit not in _TIMER_UNITS:
        raise TinyBPFError(f"{unit} is not an accepted unit of time")
    freq = ap.freq & _U64
    freq = freq - (1 << 64) if freq >> 63 else freq
    if freq <= 0:
        raise TinyBPFError(f"{provider} frequency should be a positive integer")
    if unit != "hz" and freq * _NS[unit] > _U64:
        raise TinyBPFError(f"{provider} period is too long: {freq}{unit} does not fit in 64 bits of nanoseconds")
    return Target(provider, ap.name(), target=unit, freq=freq)


_TIMER_UNITS = ("hz", "s", "ms", "us")
_U64 = (1 << 64) - 1


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
    from tinybpf.trace.runtime.listing import list_probes

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


def _uprobes(ap: ast.AttachPoint, pid: int, unsafe: bool) -> list[Target]:
    from tinybpf.symbols.user import find_binary, split_archive

    if ap.target == "*" and pid > 0:
        return _process_uprobes(ap, pid)
    path = find_binary(ap.target, pid)
    if not os.path.isfile(split_archive(path)[0]):  # /dev/zero, a FIFO, a directory: nothing to read symbols from
        raise TinyBPFError(f"{ap.provider} target file '{ap.target}' does not exist or is not executable")
    shown = _shown_path(ap.target, path)
    if ap.source:
        from tinybpf.trace.semantics.uprobe_args import source_location

        func, offset = source_location(path, ap.source)
        return [Target(ap.provider, f"{ap.provider}:{shown}:{func}" + (f"+{offset}" if offset else ""), path,
                       func, offset)]
    if not ap.need_expansion and not ap.func:
        return [_uprobe_at_address(ap, path, shown, unsafe)]
    if not ap.need_expansion and ap.func and not _has_function(path, ap.func):
        raise TinyBPFError(f"No matches for {ap.provider} {ap.target}:{ap.func}.")
    if not ap.need_expansion:
        _check_bounds(path, ap.func, ap.offset, unsafe)
        return [Target(ap.provider, f"{ap.provider}:{shown}:{ap.func}" + (f"+{ap.offset}" if ap.offset else ""),
                       path, ap.func, ap.offset)]
    from tinybpf.elf import SymbolType
    from tinybpf.symbols.user import binary_symbols

    index = binary_symbols(path)
    names = sorted({s.name for s in index.elf.symbols() + index.elf.dynamic_symbols()
                    if s.defined and s.type in (SymbolType.FUNC, SymbolType.GNU_IFUNC) and s.name
                    and fnmatch.fnmatchcase(s.name, ap.func)})
    if not names:
        raise TinyBPFError(f"No probes to attach for {ap.name()}")
    return [Target(ap.provider, f"{ap.provider}:{shown}:{name}", path, name) for name in names]


def _uprobe_at_address(ap: ast.AttachPoint, path: str, shown: str, unsafe: bool) -> Target:
    """``uprobe:BIN:ADDRESS``: the function covering the virtual address, so the probe lands on an instruction
    boundary; only ``--unsafe`` attaches at an address no sized function covers, or at the file offset of a
    flat (non-ELF) binary."""
    from tinybpf.elf import SymbolType
    from tinybpf.errors import FormatError
    from tinybpf.symbols.user import binary_symbols

    name = f"{ap.provider}:{shown}:{ap.address}"
    try:
        elf = binary_symbols(path).elf
    except FormatError:
        if not unsafe:
            raise AttachRefused(f"Could not resolve address: {shown}:0x{ap.address:x}") from None
        return Target(ap.provider, name, path, "", ap.address)
    for symbol in elf.symbols() + elf.dynamic_symbols():
        if (symbol.defined and symbol.size and symbol.type in (SymbolType.FUNC, SymbolType.GNU_IFUNC,
                                                                SymbolType.OBJECT)
                and symbol.value <= ap.address < symbol.value + symbol.size):
            if ap.address != symbol.value and not unsafe and symbol.type != SymbolType.OBJECT:
                _check_boundary(path, symbol, ap.address - symbol.value)
            return Target(ap.provider, name, path, symbol.name, ap.address - symbol.value)
    file_offset = elf.vaddr_to_offset(ap.address)
    if not unsafe or file_offset is None:
        raise AttachRefused(f"Could not resolve address: {shown}:0x{ap.address:x}")
    return Target(ap.provider, name, path, "", file_offset)


def _check_bounds(path: str, func: str, offset: int, unsafe: bool) -> None:
    """Refuse a probe past the end of ``func``, or on a size-0 symbol whose end is unknown (unless ``--unsafe``):
    a uprobe off an instruction boundary corrupts the traced process."""
    from tinybpf.symbols.user import binary_symbols

    symbols = binary_symbols(path).by_name(func)
    if not symbols:
        return
    size = symbols[0].size
    if size == 0 and offset == 0:
        if not unsafe:
            raise AttachRefused(f"Could not determine boundary for {func} (symbol has size 0).\nUse --unsafe to "
                               "force attachment. WARNING: This option could lead to data corruption in the target "
                               "process.")
    elif offset >= size:
        raise AttachRefused(f"Offset outside the function bounds ('{func}' size is {size})")
    if offset and not unsafe:
        _check_boundary(path, symbols[0], offset)


_UNSAFE_HINT = "\nUse --unsafe to force attachment. WARNING: This option could lead to data corruption in the target process."
_MISPLACED = {
    "inside": "Could not add uprobe into middle of instruction",
    "undecodable": "Failed to check if uprobe is in proper place",
    "unsupported": "Can't check if uprobe is in proper place (compiled without (k|u)probe offset support)",
}
"""bpftrace's refusals of ``FUNC+OFFSET`` when it is not known to start an instruction."""


def _check_boundary(path: str, symbol: Any, offset: int) -> None:
    """Refuse ``symbol+offset`` unless the function's code, decoded from its start, has an instruction there."""
    from tinybpf.symbols import boundary
    from tinybpf.symbols.user import binary_symbols

    elf = binary_symbols(path).elf
    section = elf.section_at(symbol.shndx)
    start = symbol.value - section.addr
    code = bytes(section.data()[start:start + symbol.size])
    verdict = boundary.check(elf.header.machine, code, offset)
    if verdict is not boundary.Alignment.OK:
        raise AttachRefused(f"{_MISPLACED[verdict.value]}: {path}:{symbol.name}+{offset}{_UNSAFE_HINT}")


def _process_uprobes(ap: ast.AttachPoint, pid: int) -> list[Target]:
    """``uprobe:*:FUNC`` with ``-p PID``: the matching functions of every file the process maps."""
    from tinybpf.trace.runtime.listing import list_process_probes

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

    provider = ap.ns or "*"
    if pid > 0 and (not ap.target or "*" in ap.target):
        from tinybpf.trace.runtime.listing import process_files, process_usdt_probes

        candidates = list(process_usdt_probes(process_files(pid)))
    else:
        candidates = [p for path in _usdt_binaries(ap.target, pid) for p in find_probes(path)]
    sites = [p for p in candidates if fnmatch.fnmatchcase(p.provider, provider)
             and fnmatch.fnmatchcase(p.name, ap.func)]
    if not sites:
        raise TinyBPFError(f"No matches for usdt {ap.target}:{ap.ns + ':' if ap.ns else ''}{ap.func}.")
    return [Target("usdt", f"usdt:{_shown_path(ap.target, p.path)}:{p.provider}:{p.name}", p.path, p.name,
                   p.offset) for p in sites]


def _usdt_binaries(target: str, pid: int) -> list[str]:
    """The files a usdt target names: a glob (``./testprogs/usdt_*``) or one binary."""
    from tinybpf.symbols.user import find_binary

    if "*" not in target:
        return [find_binary(target, pid)]
    from tinybpf.trace.runtime.listing import resolve_binaries

    return resolve_binaries(target, "usdt")


def _shown_path(written: str, path: str) -> str:
    """The binary as the ``probe`` builtin names it: a path as written, a bare name (``bash``, ``libc``) resolved."""
    return written if "/" in written and "*" not in written else path


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
        from tinybpf.trace.semantics.uprobe_args import usdt_site

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
