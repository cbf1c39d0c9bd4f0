"""``bpftrace -l [PATTERN]`` and ``-lv``: the probes this machine offers, one line each, as bpftrace prints them.

A pattern is a comma-separated list of attach points with ``*`` (and ``?``) wildcards, matched against the
whole ``target:function`` text: ``tracepoint:syscalls:sys_enter_open*``, ``t:sched:*``,
``uprobe:/bin/bash:read*``, ``usdt:/usr/lib/libpython3.so:*``, ``software:*``, or a bare word
(``sched_switch``), which is searched among every kernel probe type. A wildcard probe type expands to the
kernel types available here, or to the user-space ones (uprobe, usdt) when the target is a path. Within each
probe type the lines come sorted by byte value, as bpftrace's ``std::set`` orders them; ``-v`` adds a
tracepoint's fields (from its ``format`` file, without the ``common_`` header), a kfunc's or raw
tracepoint's parameters (from kernel BTF) and an iterator's context.

Where the candidates come from, per probe type:

- tracepoint: tracefs ``available_events``;
- kprobe: ``available_filter_functions`` (without ``[module]`` suffixes and ``.part.N`` clones), only when
  the kernel has kprobes;
- uprobe: the binary's STT_FUNC/STT_GNU_IFUNC symbols (``.symtab``, ``.dynsym`` and a separate debug file
  found by build-id or ``.gnu_debuglink``, as bcc finds it);
- usdt: the binary's ``.note.stapsdt`` probes (``usdt:PATH:PROVIDER:NAME``);
- software/hardware: bpftrace's event tables with their aliases (``cpu-clock``, ``cpu``...);
- kfunc and rawtracepoint: kernel BTF functions (``__probestub_``/``__traceiter_`` ones for raw
  tracepoints), only when fentry programs and raw tracepoints load here;
- iter: ``task`` and ``task_file``.

Deliberate differences from bpftrace 0.17 (Debian's):

- ``software:*`` and ``hardware:*`` list the events (``software:cpu-clock:``), as current bpftrace does;
  0.17 echoes the pattern back (``software:*:``).
- hardware events are listed only when the machine has a CPU PMU (0.17 never lists them; current bpftrace
  lists them even where they cannot be opened).
- rawtracepoint (``rawtracepoint:vmlinux:sched_switch``), interval/profile units and bare words
  (``sched_switch`` meaning ``*:sched_switch``) follow current bpftrace; 0.17 aborts on all three.
- an unknown probe type is an error (``Invalid probe type: foo``) instead of 0.17's abort.
- ``-lv`` shows no uprobe parameters: bpftrace reads them from DWARF, which tinybpf does not parse.
- ``?`` matches one character; bpftrace treats it literally (no symbol or tracepoint name contains one).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from glob import glob
from typing import TYPE_CHECKING, Callable, Optional

from tinybpf.errors import FormatError, TinyBPFError
from tinybpf.trace.runtime.type_listing import is_type_search, list_types
from tinybpf.trace.runtime.wildcards import has_wildcard, wildcard_match, wildcard_regex

if TYPE_CHECKING:  # the ELF readers load only for the user-space probe types that read binaries
    from tinybpf.elf import ElfFile
    from tinybpf.elf.usdt import UsdtProbe

# bpftrace's SW_PROBE_LIST and HW_PROBE_LIST: (event, alias).
SOFTWARE_EVENTS = (
    ("alignment-faults", ""), ("bpf-output", ""), ("context-switches", "cs"), ("cpu-clock", "cpu"),
    ("cpu-migrations", ""), ("dummy", ""), ("emulation-faults", ""), ("major-faults", ""), ("minor-faults", ""),
    ("page-faults", "faults"), ("task-clock", ""),
)
HARDWARE_EVENTS = (
    ("backend-stalls", ""), ("branch-instructions", "branches"), ("branch-misses", ""), ("bus-cycles", ""),
    ("cache-misses", ""), ("cache-references", ""), ("cpu-cycles", "cycles"), ("frontend-stalls", ""),
    ("instructions", ""), ("ref-cycles", ""),
)
TIME_UNITS = ("hz", "ms", "s", "us")
# bpftrace 0.17's two iterators and the context fields -lv shows for them.
ITERATORS = {"task": ("struct task_struct * task",),
             "task_file": ("struct task_struct * task", "int fd", "struct file * file")}
RAW_TRACEPOINT_PREFIXES = ("__probestub_", "__traceiter_")
MAX_ARGS = 6  # a kfunc or raw tracepoint with more arguments than registers cannot be traced

# Every spelling of a probe type -> the name listing prints.
PROVIDERS = {
    "kprobe": "kprobe", "k": "kprobe", "kretprobe": "kretprobe", "kr": "kretprobe",
    "uprobe": "uprobe", "u": "uprobe", "uretprobe": "uretprobe", "ur": "uretprobe",
    "usdt": "usdt", "U": "usdt", "tracepoint": "tracepoint", "t": "tracepoint",
    "rawtracepoint": "rawtracepoint", "rt": "rawtracepoint", "software": "software", "s": "software",
    "hardware": "hardware", "h": "hardware", "kfunc": "kfunc", "f": "kfunc", "fentry": "kfunc",
    "kretfunc": "kretfunc", "fr": "kretfunc", "fexit": "kretfunc", "iter": "iter", "it": "iter",
    "profile": "profile", "p": "profile", "interval": "interval", "i": "interval",
    "watchpoint": "watchpoint", "w": "watchpoint", "asyncwatchpoint": "asyncwatchpoint", "aw": "asyncwatchpoint",
    "BEGIN": "BEGIN", "END": "END", "begin": "BEGIN", "end": "END",
}
USER_PROVIDERS = ("uprobe", "usdt")

Match = tuple[str, tuple[str, ...]]
"""One listed probe without its type (``syscalls:sys_enter_openat``) and its -v parameter lines."""


class _Arity(TinyBPFError):
    """The pattern has the wrong number of parts for a probe type (skipped when the type came from a wildcard)."""


def list_probes(pattern: str = "", verbose: bool = False) -> Iterator[str]:
    """The lines ``bpftrace -l PATTERN`` (``-lv`` when ``verbose``) prints: ``tracepoint:sched:sched_switch``,
    each followed by its parameters indented by four spaces when ``verbose``.

    Raises ``TinyBPFError`` for an unknown probe type, a pattern with the wrong number of parts or a missing
    target binary.
    """
    for search in _searches(pattern):
        if is_type_search(search):
            yield from list_types(search, verbose)
            continue
        for provider, parts in _providers(search):
            for match, params in _matches(provider, parts, verbose):
                yield f"{provider}:{match}"
                for param in params:
                    yield "    " + param


def list_process_probes(pid: int, pattern: str = "") -> Iterator[str]:
    """``-l -p PID``: the uprobes and USDT probes of every file the process has mapped executable, named through
    ``/proc/PID/root`` so that binaries in another mount namespace resolve."""
    provider, _, rest = (pattern or "*").partition(":")
    parts = rest.split(":") if rest else []
    paths = process_files(pid)
    if wildcard_match(provider, "uprobe"):
        function = parts[-1] if parts else "*"
        for path in paths:
            for name in sorted(function_names(path)):
                if wildcard_match(function or "*", name):
                    yield f"uprobe:{path}:{name}"
    if wildcard_match(provider, "usdt"):
        name = parts[-1] if len(parts) >= 2 else "*"
        namespace = parts[-2] if len(parts) >= 3 else "*"
        shown = {str(probe) for probe in process_usdt_probes(paths)
                 if wildcard_match(namespace or "*", probe.provider) and wildcard_match(name or "*", probe.name)}
        yield from sorted(shown)


def process_files(pid: int) -> list[str]:
    """The files ``pid`` maps executable, as ``/proc/PID/root/...`` paths, in mapping order."""
    paths: list[str] = []
    try:
        with open(f"/proc/{pid}/maps") as maps:
            lines = maps.readlines()
    except OSError:
        raise TinyBPFError(f"no process {pid}") from None
    for line in lines:
        fields = line.split(None, 5)
        if len(fields) == 6 and "x" in fields[1] and fields[5].startswith("/"):
            path = f"/proc/{pid}/root{fields[5].strip()}"
            if path not in paths and os.path.isfile(path):
                paths.append(path)
    return paths


def process_usdt_probes(paths: list[str]) -> Iterator[UsdtProbe]:
    """The USDT probe sites of ``paths``, with duplicates (one probe at several sites) kept."""
    from tinybpf.elf.usdt import find_probes

    for path in paths:
        try:
            yield from find_probes(path)
        except FormatError:
            continue


def _searches(pattern: str) -> list[str]:
    searches = [part.strip() for part in pattern.split(",")] if pattern.strip() else ["*:*"]
    return ["*:*" if s in ("", "*") else s if ":" in s or is_type_search(s) else "*:" + s for s in searches]


def _providers(search: str) -> Iterator[tuple[str, list[str]]]:
    """(probe type, the parts after it) for each probe type ``search`` names or its wildcard matches."""
    first, *parts = search.split(":")
    if not has_wildcard(first):
        provider = PROVIDERS.get(first)
        if provider is None:
            raise TinyBPFError(f"Invalid probe type: {first}")
        yield provider, parts
        return
    user = bool(parts) and "/" in parts[0]
    names = sorted(USER_PROVIDERS if user else kernel_providers())
    matching = [name for name in names if wildcard_match(first, name)]
    if not matching:
        raise TinyBPFError(f"No probe type matched for {first}")
    for provider in matching:
        try:
            # The error for a part count that does not fit is raised lazily; check before yielding.
            _check_arity(provider, parts)
        except _Arity:
            continue
        yield provider, parts


def kernel_providers() -> list[str]:
    """The kernel probe types a wildcard expands to: bpftrace's, with kfunc and rawtracepoint only where they load."""
    found = ["tracepoint", "kprobe", "software", "hardware", "iter"]  # bpftrace's; kprobe/hardware may list nothing
    if _loads("fentry"):
        found.append("kfunc")
    if _loads("raw_tracepoint"):
        found.append("rawtracepoint")
    return found


def _loads(kind: str) -> bool:
    from tinybpf import features

    try:
        return bool(features.attach_kind(kind))
    except (TinyBPFError, OSError):
        return False


# ------------------------------------------------------------------------------------------ wildcards


def _select(search: str, candidates: Iterable[Match]) -> list[Match]:
    """The candidates matching ``search``, deduplicated and in bpftrace's (byte) order."""
    regex = wildcard_regex(search)
    # bpftrace skips ".part.N" clones for every probe type: gcc's partial inlining leaves no usable entry
    chosen = {name: params for name, params in candidates if regex.fullmatch(name) and ".part." not in name}
    return [(name, chosen[name]) for name in sorted(chosen, key=lambda name: name.encode())]


# ------------------------------------------------------------------------------------- probe types

_ARITY = {
    "tracepoint": (2,), "kprobe": (1,), "kretprobe": (1,), "uprobe": (2,), "uretprobe": (2,), "usdt": (2, 3),
    "software": (1, 2), "hardware": (1, 2), "kfunc": (1, 2), "kretfunc": (1, 2), "rawtracepoint": (1, 2),
    "iter": (1, 2), "profile": (0, 1, 2), "interval": (0, 1, 2),
}
_ARITY_WORDS = {(1,): "1 argument", (2,): "2 arguments", (2, 3): "2 or 3 arguments", (1, 2): "1 or 2 arguments"}


def _check_arity(provider: str, parts: list[str]) -> None:
    if provider == "tracepoint" and len(parts) == 1 and has_wildcard(parts[0]):
        parts.insert(0, "*")  # bpftrace: "tracepoint:*foo*" looks for the event name in every category
    counts = _ARITY.get(provider)
    if counts is not None and len(parts) not in counts:
        raise _Arity(f"{provider} probe type requires {_ARITY_WORDS.get(counts, 'other arguments')}")


def _matches(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    _check_arity(provider, parts)
    lister = _LISTERS.get(provider)
    return [] if lister is None else lister(provider, parts, verbose)


def _tracepoints(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    from tinybpf.kernel import tracefs

    with open(os.path.join(tracefs.tracefs_root(), "available_events")) as f:
        events = [line.strip() for line in f if line.strip()]
    found = _select(f"{parts[0]}:{parts[1]}", ((event, ()) for event in events))
    if verbose:
        found = [(name, tracepoint_fields(name)) for name, _ in found]
    return found


def tracepoint_fields(event: str) -> tuple[str, ...]:
    """``-lv`` lines of tracepoint ``category:name``: each field declaration after the ``common_`` header,
    as the ``format`` file spells it (``const char * filename``)."""
    from tinybpf.kernel import tracefs

    category, name = tracefs.split_tracepoint(event)
    try:
        with open(os.path.join(tracefs.event_dir(category, name), "format")) as f:
            text = f.read()
    except OSError as exc:
        raise TinyBPFError(f"tracepoint format file not found: {exc.filename}") from None
    _, _, fields = text.partition("\n\n")  # the common_ fields end at the first empty line
    return tuple(line[len("\tfield:"):line.index(";")] for line in fields.splitlines()
                 if line.startswith("\tfield:") and ";" in line)


def _kprobes(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    from tinybpf import features
    from tinybpf.kernel import tracefs

    if not features.attach_kind("kprobe"):
        return []
    try:
        with open(os.path.join(tracefs.tracefs_root(), "available_filter_functions")) as f:
            functions = [line.split()[0] for line in f if line.strip()]
    except OSError:
        return []
    function = parts[0].partition("+")[0]
    return _select(function, ((name, ()) for name in functions))


def _uprobes(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    target, function = parts[0], parts[1].partition("+")[0]
    paths = resolve_binaries(target, provider)
    candidates = ((f"{path}:{name}", ()) for path in paths for name in function_names(path))
    found = _select(f"{_search_target(target, paths)}:{function}", candidates)
    if not verbose:
        return found
    from tinybpf.trace.semantics.uprobe_args import parameters

    return [(match, tuple(f"{kind} {name}" for kind, name in parameters(*match.rsplit(":", 1))))
            for match, _ in found]


def _usdt(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    from tinybpf.elf.usdt import find_probes

    target, namespace, name = parts[0], parts[1] if len(parts) == 3 else "*", parts[-1]
    paths = resolve_binaries(target, provider)
    candidates = []
    for path in paths:
        try:
            candidates += [(f"{path}:{probe.provider}:{probe.name}", ()) for probe in find_probes(path)]
        except FormatError:
            continue
    return _select(f"{_search_target(target, paths)}:{namespace or '*'}:{name}", candidates)


def _events(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    table = SOFTWARE_EVENTS if provider == "software" else HARDWARE_EVENTS
    if provider == "hardware" and not kernel_has_cpu_pmu():
        return []
    names = [name for event in table for name in event if name]
    return _select(parts[0] + ":", ((name + ":", ()) for name in names))


def kernel_has_cpu_pmu() -> bool:
    from tinybpf import features

    return bool(features.attach_kind("hardware"))


def _timers(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    return _select((parts[0] if parts else "*") + ":", ((unit + ":", ()) for unit in TIME_UNITS))


def _iterators(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    return _select(parts[0], ((name, fields if verbose else ()) for name, fields in ITERATORS.items()))


def _kfuncs(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    if not _loads("fentry"):
        return []
    module, function = (parts[0], parts[1]) if len(parts) == 2 else ("*", parts[0])
    traceable = _traceable_functions()
    regex = wildcard_regex(f"{module or '*'}:{function}")
    candidates = []

    def keep(name: str) -> bool:
        return (traceable is None or name in traceable) and bool(regex.fullmatch(f"vmlinux:{name}"))

    for name, params, returns in _btf_functions(verbose, keep):
        if verbose and returns:
            params = (*params, f"{returns} retval")
        candidates.append((f"vmlinux:{name}", params if verbose else ()))
    return _select(f"{module or '*'}:{function}", candidates)


def _raw_tracepoints(provider: str, parts: list[str], verbose: bool) -> list[Match]:
    if not _loads("raw_tracepoint"):
        return []
    module, event = (parts[0], parts[1]) if len(parts) == 2 else ("*", parts[0])
    regex = wildcard_regex(f"{module or '*'}:{event}")

    def keep(name: str) -> bool:
        return any(name.startswith(p) and regex.fullmatch(f"vmlinux:{name[len(p):]}") for p in RAW_TRACEPOINT_PREFIXES)

    candidates = []
    for name, params, _ in _btf_functions(verbose, keep, RAW_TRACEPOINT_PREFIXES):
        for prefix in RAW_TRACEPOINT_PREFIXES:
            if name.startswith(prefix):
                # the first parameter is the tracepoint's private data, not an argument
                candidates.append((f"vmlinux:{name[len(prefix):]}", params[1:] if verbose else ()))
    return _select(f"{module or '*'}:{event}", candidates)


_LISTERS: dict[str, Callable[[str, list[str], bool], list[Match]]] = {
    "tracepoint": _tracepoints, "kprobe": _kprobes, "kretprobe": _kprobes, "uprobe": _uprobes,
    "uretprobe": _uprobes, "usdt": _usdt, "software": _events, "hardware": _events, "kfunc": _kfuncs,
    "kretfunc": _kfuncs, "rawtracepoint": _raw_tracepoints, "iter": _iterators, "profile": _timers,
    "interval": _timers,
}


# ------------------------------------------------------------------------------------ kernel BTF


def _btf_functions(verbose: bool, keep: Callable[[str], bool],
                   prefixes: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...], str]]:
    """(name, ``type name`` parameter lines, return type or "" for void) of the kernel BTF functions named
    with one of ``prefixes`` (any when empty) that ``keep`` accepts and that take at most :data:`MAX_ARGS`
    parameters; types are spelled only for a verbose listing."""
    from tinybpf.btf import kernel_btf
    from tinybpf.btf.types import FuncProto

    btf = kernel_btf()
    for name, proto_id, arity in btf.functions(prefixes):
        if not 0 <= arity <= MAX_ARGS or not keep(name):
            continue
        if not verbose:
            yield name, (), ""
            continue
        proto = btf.type(proto_id)
        assert isinstance(proto, FuncProto)
        params = tuple(f"{btf.c_name(param.type)} {param.name}" for param in proto.params)
        yield name, params, btf.c_name(proto.return_type) if proto.return_type else ""


def _traceable_functions() -> Optional[set[str]]:
    """``available_filter_functions`` names, or None when it cannot be read (then BTF alone decides)."""
    from tinybpf.kernel import tracefs

    try:
        with open(os.path.join(tracefs.tracefs_root(), "available_filter_functions")) as f:
            return {line.split()[0] for line in f if line.strip()}
    except (OSError, TinyBPFError):
        return None


# --------------------------------------------------------------------------------- user binaries


def resolve_binaries(target: str, provider: str) -> list[str]:
    """The files a uprobe/usdt target names, as bpftrace resolves it: a path (globbed when it has wildcards),
    a ``lib...`` name through the linker cache, or a program on ``$PATH``."""
    from tinybpf.symbols.user import find_binary

    if has_wildcard(target):
        return sorted(path for path in glob(target) if _executable(path))
    if "/" not in target:
        if target.startswith("lib"):
            try:
                return [find_binary(target)]
            except TinyBPFError:
                pass
        found = shutil.which(target)
        if found:
            return [found]
    if not os.path.isfile(target):
        raise TinyBPFError(f"{provider} target file '{target}' does not exist or is not executable")
    return [target]


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _search_target(target: str, paths: list[str]) -> str:
    return target if has_wildcard(target) or not paths else paths[0]


def function_names(path: str) -> set[str]:
    """Names of the functions a uprobe can attach to in ``path``, as bcc lists them for bpftrace: non-zero
    STT_FUNC and STT_GNU_IFUNC symbols of ``.symtab`` and ``.dynsym``, and of the separate debug file."""
    from tinybpf.elf import ElfFile
    from tinybpf.elf.debuglink import debug_file

    try:
        elf = ElfFile.from_path(path)
    except (OSError, FormatError):
        return set()
    names = _function_symbols(elf)
    debug = debug_file(elf, path)
    if debug is not None:
        try:
            names |= _function_symbols(ElfFile.from_path(debug))
        except (OSError, FormatError):
            pass
    return names


def _function_symbols(elf: ElfFile) -> set[str]:
    from tinybpf.elf import SymbolType

    kinds = (SymbolType.FUNC, SymbolType.GNU_IFUNC)
    return {symbol.name for symbol in elf.symbols() + elf.dynamic_symbols()
            if symbol.name and symbol.value and symbol.type in kinds}


__all__ = [
    "HARDWARE_EVENTS",
    "PROVIDERS",
    "SOFTWARE_EVENTS",
    "function_names",
    "kernel_providers",
    "list_probes",
    "resolve_binaries",
    "tracepoint_fields",
]
