"""The trace compiler's pipeline: source -> AST -> attach points -> types -> maps -> programs.

``compile_trace`` runs the passes in order and returns an ``ir.CompiledTrace``: plain data the runtime
loads. Tracepoint formats are read from tracefs only for the tracepoints the script names (never all of
them), and nothing here touches BPF.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from tinybpf.backend.regalloc import StackTooDeep
from tinybpf.errors import TinyBPFError
from tinybpf.kernel import tracefs
from tinybpf.kernel.constants import MapType
from tinybpf.trace.lower.compiled import MAP_KEYS_MAX, CompiledTrace, MapLayout, ProbeProgram
from tinybpf.trace.runtime.probes import AttachRefused, Target, expand
from tinybpf.trace.semantics.analyser import analyse
from tinybpf.trace.semantics.analysis import Analysis, MapInfo
from tinybpf.trace.semantics.c_types import pointer_type
from tinybpf.trace.semantics.stype import NONE, SType, int_type, string_type
from tinybpf.trace.syntax import ast, config
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

# aggregations kept in a per-CPU array when the map has no keys (lookups cannot fail)
_ARRAY_AGGREGATES = ("count", "min", "max", "avg", "stats", "hist", "lhist")
_VALUE_SIZES = {"count": 8, "sum": 8, "min": 16, "max": 16, "avg": 16, "stats": 16, "hist": 8, "lhist": 8,
                "tseries": 24}


@dataclass
class Options:
    """What the command line adds to the script."""

    params: Sequence[str] = ()
    pid: int = 0
    has_child: bool = False
    expand_probes: bool = True
    probe_filter: Optional[str] = None
    unsafe: bool = False
    named: Optional[dict[str, Optional[str]]] = None
    include_dirs: Sequence[str] = ()
    helper_warnings: bool = False  # -k: warn when a map lookup finds nothing
    includes: Sequence[str] = ()  # --include FILE: read before the script's own C lines (``included_definitions``)


_RECURSION_LIMIT = 25_000
"""Python frames the passes may need: a few per AST level, for the parser's ``MAX_NESTING`` levels plus its
``MAX_CHAIN`` links (each ``->`` is two levels)."""


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """Let the passes recurse as deep as the parser lets a script nest, then restore the old limit."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def compile_trace(source: str, filename: str = "stdin", options: Optional[Options] = None) -> CompiledTrace:
    """Compile a bpftrace script; raises ``TraceError`` for script errors, ``TinyBPFError`` for system ones."""
    with deep_recursion():
        return _compile(source, filename, options or Options())


def _compile(source: str, filename: str, options: Options) -> CompiledTrace:
    from tinybpf.trace.syntax.parser import parse
    from tinybpf.trace.syntax.positional import resolve_positional

    program = parse(source, filename, list(options.params))
    resolve_positional(program, options.params)
    config.load(program, source, filename)
    from tinybpf.trace.semantics import program_options
    from tinybpf.trace.syntax.includes import check_includes, included_definitions

    program.c_definitions[:0] = included_definitions(options.includes, options.include_dirs, program.pos)
    check_includes(program, options.include_dirs)

    program_options.bind(program, dict(options.named or {}))
    if not options.unsafe:
        from tinybpf.trace.semantics.functions import check_safe

        check_safe(program, source, filename)
    from tinybpf.trace.semantics.control_flow import unreachable_warnings

    warnings: list[str] = unreachable_warnings(program, source, filename)
    targets = _expand_all(program, source, filename, options, warnings)
    if options.probe_filter is not None:
        from tinybpf.trace.semantics.probe_filter import filter_probes

        filter_probes(program, targets, options.probe_filter)
    if any(t.provider in ("uprobe", "uretprobe", "rawtracepoint") for found in targets.values() for t in found):
        from tinybpf.trace.semantics import uprobe_args

        uprobe_args.bind(program, targets)
    fields = _FieldCache()
    names = {key: [t.name for t in found] for key, found in targets.items()}
    try:
        analysis = analyse(program, source, filename, fields.resolve, options.has_child, names)
        trace = CompiledTrace(maps=build_layouts(analysis.maps), events=[], programs=[], analysis=analysis,
                          warnings=warnings)
        _check_maps(analysis, source, filename)
        warn = functools.partial(_helper_warning, source, filename) if options.helper_warnings else None
        if program.map_decls:
            from tinybpf.trace.lower import map_decls

            map_decls.apply(program, trace.maps, warnings, source, filename)
        for index, probe in enumerate(program.probes):
            trace.programs.extend(_probe_programs(analysis, probe, index, targets[id(probe)], trace, fields,
                                                  options, warn))
    except (TinyBPFError, KeyboardInterrupt):
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, AssertionError,
            RecursionError) as exc:
        # a construct the passes do not handle yet: a script error that names no Python internals, never a
        # crash; the traceback is there for whoever debugs it
        if os.environ.get("TINYBPF_DEBUG"):
            raise
        raise TraceError([Diagnostic("this program uses a construct tinybpf trace cannot compile yet (set "
                                     "TINYBPF_DEBUG=1 for the details and report it)", program.pos)],
                         source, filename) from exc
    return trace


def program_probe_names(source: str, filename: str = "stdin", params: Sequence[str] = (),
                        pid: int = 0) -> list[str]:
    """The concrete probes a script attaches to (``-l`` with a program), in script order."""
    from tinybpf.trace.syntax.parser import parse

    with deep_recursion():
        program = parse(source, filename, list(params))
    targets = _expand_all(program, source, filename, Options(params=params, pid=pid))
    return [_listed_name(t) for probe in program.probes for t in targets[id(probe)]
            if t.provider not in ("BEGIN", "END", "self")]


def _listed_name(target: Target) -> str:
    """How ``-l`` shows a target: timers and watchpoints without their period or address (``interval:ms:``)."""
    if target.provider in ("interval", "profile", "watchpoint", "asyncwatchpoint"):
        return ":".join(target.name.split(":")[:2]) + ":"
    return target.name


def _expand_all(program: ast.Program, source: str, filename: str, options: Options,
                warnings: Optional[list[str]] = None) -> dict[int, list[Target]]:
    """Each probe's targets. With ``config = { missing_probes = "warn" | "ignore" }`` an attach point that
    matches nothing is skipped (with a warning in ``warnings``), and a probe left without any is removed."""
    found: dict[int, list[Target]] = {}
    missing = config.lookup("missing_probes", "error")
    kept = []
    for probe in program.probes:
        targets: list[Target] = []
        for ap in probe.attach_points:
            try:
                targets.extend(expand(ap, options.pid or -1, options.unsafe) if options.expand_probes else [Target(ap.provider,
                                                                                                  ap.name())])
            except AttachRefused:
                raise
            except TinyBPFError as exc:
                message = exc.message if hasattr(exc, "message") else str(exc)
                if message.startswith("No probes to attach for"):
                    continue  # a wildcard that matches nothing drops out of a list silently, as in bpftrace
                if missing == "error" or not message.startswith("No matches"):
                    raise TraceError([Diagnostic(message, ap.pos)], source, filename) from None
                if missing == "warn" and warnings is not None:
                    warnings.append(Diagnostic(message + " Skipping.", ap.pos, "WARNING").render(source, filename))
        if not targets and probe.attach_points:
            if missing == "error":
                raise TraceError([Diagnostic("Probe has no valid attach points. If this is expected, set the "
                                             "'missing_probes' config variable to 'warn'.", probe.pos)],
                                 source, filename)
            if missing == "warn" and warnings is not None:
                warnings.append(Diagnostic("Probe has no valid attach points. It is being removed which may "
                                           "cause issues with program behavior.", probe.pos, "WARNING")
                                .render(source, filename))
            continue
        kept.append(probe)
        found[id(probe)] = targets
    program.probes[:] = kept
    return found


class _FieldCache:
    """Tracepoint record fields as bpftrace types, read from tracefs once per tracepoint."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], _TracepointFields] = {}
        self.kernel_types: Any = None

    def resolve(self, category: str, name: str) -> _TracepointFields:
        if "*" in category or "*" in name:
            matches = tracefs.list_events(f"{category}:{name}")
            if not matches:
                raise LookupError(f"No probes to attach for tracepoint:{category}:{name}")
            category, name = matches[0].split(":", 1)
        key = (category, name)
        if key not in self.cache:
            try:
                fmt = tracefs.event_format(category, name)
            except TinyBPFError:
                raise LookupError(f"tracepoint not found: {category}:{name}") from None
            space = "user" if category == "syscalls" else "kernel"
            self.cache[key] = _TracepointFields(fmt.fields, self.btf_type, space)
        return self.cache[key]

    def btf_type(self, f: tracefs.Field, space: str) -> Optional[SType]:
        """The kernel's type of a field that points to a struct (or is ``void *``) or holds an enum, as
        bpftrace resolves the format file's C type in BTF; None for the rest (other pointers stay integers)."""
        words = [w for w in f.type.replace("*", " * ").split() if w not in ("const", "volatile")]
        if f.data_loc or f.array_length is not None or not words:
            return None
        depth = words.count("*")
        base = " ".join(w for w in words if w != "*")
        if not (base.startswith(("struct ", "union ")) and depth) and base != "void" and not (
                base.startswith("enum ") and not depth):
            return None
        if self.kernel_types is None:
            from tinybpf.trace.semantics.c_types import CTypes

            self.kernel_types = CTypes()
        t = self.kernel_types.named_type(base)
        if t is None:
            return None
        for _ in range(depth):
            t = SType("ptr", 8, pointee=None if t.kind == "void" else t, addrspace=space)
        return None if t.kind == "void" else t


class _TracepointFields(Mapping[str, tuple[SType, int]]):
    """One tracepoint's fields -> (type, offset); BTF is opened only for the fields a script uses."""

    def __init__(self, fields: Sequence[tracefs.Field], btf_type: Callable[[tracefs.Field, str], Optional[SType]],
                 space: str):
        self.fields = {f.name: f for f in fields}
        self.types: dict[str, SType] = {}
        self.btf_type = btf_type
        self.space = space  # where pointer fields point: user memory for the syscalls tracepoints

    def __getitem__(self, name: str) -> tuple[SType, int]:
        f = self.fields[name]
        if name not in self.types:
            self.types[name] = self.btf_type(f, self.space) or field_type(f, self.space)
        return self.types[name], f.offset

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def offsets(self) -> dict[str, int]:
        return {name: f.offset for name, f in self.fields.items()}


DATA_LOC = SType("ptr", 8, pointee=int_type(1, True), tag="__data_loc")
"""A ``__data_loc`` field: bpftrace reads it as a pointer to the variable-length data inside the record."""


def field_type(f: tracefs.Field, space: str = "kernel") -> SType:
    """A tracefs field as bpftrace types it: char arrays are strings, pointers point into ``space``
    (user memory for the ``syscalls`` tracepoints)."""
    ctype: str = f.type
    size: int = f.size
    if f.data_loc:
        return DATA_LOC
    if f.array_length is not None:
        if "char" in ctype:
            return string_type(size)
        return NONE
    if "*" in ctype:
        return pointer_type(ctype, space)
    if size not in (1, 2, 4, 8):
        return NONE
    return int_type(size, bool(f.signed))


def build_layouts(maps: dict[str, MapInfo]) -> dict[str, MapLayout]:
    """How each map is kept in the kernel (see ``ir.MapLayout``)."""
    layouts: dict[str, MapLayout] = {}
    for number, (name, info) in enumerate(sorted(maps.items())):
        if info.value is None or info.key is None:
            continue
        layouts[name] = _layout(name, info, number)
    return layouts


def _layout(name: str, info: MapInfo, number: int) -> MapLayout:
    assert info.key is not None and info.value is not None
    value, key = info.value, info.key
    bpf_name = "AT_" + (name[1:] or "") if name != "@" else "AT_"
    bpf_name = f"{bpf_name[:12]}_{number}" if len(bpf_name) > 12 else bpf_name
    key_size = 0 if key.kind == "none" else (key.size + 7) // 8 * 8
    if value.is_aggregate:
        from tinybpf.trace.semantics.histogram import hist_bucket_count

        value_size = _VALUE_SIZES[value.kind]
        buckets = hist_bucket_count(info.hist_bits) + 1 if value.kind == "hist" else (info.lhist[1] - info.lhist[0]) // max(info.lhist[2], 1) + 2
        if key.kind == "none" and value.kind in _ARRAY_AGGREGATES:
            entries = buckets if value.kind in ("hist", "lhist") else 1
            return MapLayout(name, bpf_name, MapType.PERCPU_ARRAY, 4, value_size, entries, key, value, info.lhist,
                             info.hist_bits)
        if value.kind in ("hist", "lhist", "tseries"):
            key_size += 8
        return MapLayout(name, bpf_name, MapType.PERCPU_HASH, max(key_size, 8), value_size, _keys_max(), key,
                         value, info.lhist, info.hist_bits, tseries=info.tseries)
    return MapLayout(name, bpf_name, MapType.HASH, max(key_size, 8), value.size, _keys_max(), key, value)


def _keys_max() -> int:
    """``max_map_keys`` / BPFTRACE_MAP_KEYS_MAX: the entries of every keyed map."""
    return max(1, config.lookup_int("max_map_keys", MAP_KEYS_MAX))


def _check_maps(analysis: Analysis, source: str, filename: str) -> None:
    for info in analysis.maps.values():
        if info.value is None and info.pos is not None:
            raise TraceError([Diagnostic(f"Undefined map: {info.name}", info.pos)], source, filename)


def _helper_warning(source: str, filename: str, pos: ast.Pos, message: str, helper: str,
                    retcode: Union[int, str]) -> str:
    """bpftrace's runtime warning for a failed helper: the located message, the helper, then the source."""
    header, *context = Diagnostic(message, pos, "WARNING").render(source, filename).split("\n")
    return "\n".join([header, f"Additional Info - helper: {helper}, retcode: {retcode}", *context])


def _probe_programs(analysis: Analysis, probe: ast.Probe, index: int, targets: list[Target],
                    trace: CompiledTrace, fields: _FieldCache, options: Options,
                    warn: Optional[Callable[..., str]] = None) -> list[ProbeProgram]:
    from tinybpf.trace.lower.codegen import ProbeCodegen

    uses = analysis.uses.get(id(probe), set())
    per_target = len(targets) > 1 and (bool(uses & {"probe", "func", "args"}) or targets[0].provider == "usdt")
    groups = [[t] for t in targets] if per_target else _by_provider(targets)
    programs = []
    for number, group in enumerate(groups):
        first = group[0]
        provider = first.provider
        offsets: dict[str, int] = {}
        if provider == "tracepoint" and "args" in uses:
            offsets = fields.resolve(first.target, first.func).offsets()
        user = provider in ("uprobe", "uretprobe", "usdt") or (provider == "tracepoint" and first.target == "syscalls")
        events = len(trace.events)
        for scratch in (False, True):  # a probe that outgrows the stack is generated again on scratch memory
            gen = ProbeCodegen(analysis, probe, trace, attach_name=first.name, func_name=first.func,
                               field_offsets=offsets,
                               pid_filter=options.pid if provider not in SPECIAL_PROVIDERS else 0,
                               string_space="user" if user else "kernel", scratch=scratch)
            gen.target = first
            gen.helper_warning = warn
            try:
                insns = gen.generate()
                break
            except StackTooDeep:
                if scratch:
                    raise
                del trace.events[events:]
        name = _program_name(first, index, number)
        special = first.name if provider == "self" else provider if provider in SPECIAL_PROVIDERS else ""
        programs.append(ProbeProgram(name, first.prog_type, insns, group, special, gen.stack.deepest))
    return programs


SPECIAL_PROVIDERS = ("BEGIN", "END", "self", "bench")
"""Probes the runtime runs itself (BPF_PROG_TEST_RUN), never attached, never filtered by ``-p``."""


def _by_provider(targets: list[Target]) -> list[list[Target]]:
    """One group per probe type, in order: ``begin, end`` or ``begin, interval:s:1`` need a program each."""
    groups: dict[str, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.provider, []).append(target)
    return list(groups.values())


def _program_name(target: Target, index: int, number: int) -> str:
    base = target.func or target.provider
    return "".join(c if c.isalnum() or c == "_" else "_" for c in base)[:10] + f"_{index}_{number}"
