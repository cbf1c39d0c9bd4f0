"""The trace compiler's pipeline: source -> AST -> attach points -> types -> maps -> programs.

``compile_trace`` runs the passes in order and returns an ``ir.CompiledTrace``: plain data the runtime
loads. Tracepoint formats are read from tracefs only for the tracepoints the script names (never all of
them), and nothing here touches BPF.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Optional

from tinybpf.errors import CompileError, TinyBPFError
from tinybpf.kernel import tracefs
from tinybpf.kernel.constants import MapType
from tinybpf.trace import ast, config
from tinybpf.trace.diagnostics import Diagnostic, TraceError
from tinybpf.trace.ir import MAP_KEYS_MAX, CompiledTrace, MapLayout, ProbeProgram
from tinybpf.trace.probes import Target, expand
from tinybpf.trace.semantics import (
    INT32,
    NONE,
    UINT64,
    Analysis,
    MapInfo,
    SType,
    analyse,
    int_type,
    string_type,
)

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
    helper_warnings: bool = False  # -k: warn when a map lookup finds nothing


def compile_trace(source: str, filename: str = "stdin", options: Optional[Options] = None) -> CompiledTrace:
    """Compile a bpftrace script; raises ``TraceError`` for script errors, ``TinyBPFError`` for system ones."""
    from tinybpf.trace.parser import parse

    options = options or Options()
    program = parse(source, filename, list(options.params))
    config.load(program, source, filename)
    from tinybpf.trace import program_options

    program_options.bind(program, dict(options.named or {}))
    if not options.unsafe:
        from tinybpf.trace.functions import check_safe

        check_safe(program, source, filename)
    warnings: list[str] = []
    targets = _expand_all(program, source, filename, options, warnings)
    if options.probe_filter is not None:
        from tinybpf.trace.probe_filter import filter_probes

        filter_probes(program, targets, options.probe_filter)
    fields = _FieldCache()
    names = {key: [t.name for t in found] for key, found in targets.items()}
    try:
        analysis = analyse(program, source, filename, list(options.params), fields.resolve, options.has_child,
                           names)
        trace = CompiledTrace(maps=build_layouts(analysis.maps), events=[], programs=[], analysis=analysis,
                          warnings=warnings)
        _check_maps(analysis, source, filename)
        warn = functools.partial(_helper_warning, source, filename) if options.helper_warnings else None
        for index, probe in enumerate(program.probes):
            trace.programs.extend(_probe_programs(analysis, probe, index, targets[id(probe)], trace, fields,
                                                  options, warn))
    except (TinyBPFError, KeyboardInterrupt):
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, AssertionError,
            RecursionError) as exc:
        # a construct the passes do not handle yet: report it as a script error, never crash
        raise TraceError([Diagnostic(f"this program uses a construct tinybpf trace cannot compile yet "
                                     f"({type(exc).__name__}: {exc})", program.pos)], source, filename) from exc
    return trace


def program_probe_names(source: str, filename: str = "stdin", params: Sequence[str] = (),
                        pid: int = 0) -> list[str]:
    """The concrete probes a script attaches to (``-l`` with a program), in script order."""
    from tinybpf.trace.parser import parse

    program = parse(source, filename, list(params))
    targets = _expand_all(program, source, filename, Options(params=params, pid=pid))
    return [t.name for probe in program.probes for t in targets[id(probe)] if t.provider not in ("BEGIN", "END")]


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
                targets.extend(expand(ap, options.pid or -1) if options.expand_probes else [Target(ap.provider,
                                                                                                  ap.name())])
            except TinyBPFError as exc:
                message = exc.message if hasattr(exc, "message") else str(exc)
                if missing == "error" or not message.startswith("No matches"):
                    raise TraceError([Diagnostic(message, ap.pos)], source, filename) from None
                if missing == "warn" and warnings is not None:
                    warnings.append(Diagnostic(message + " Skipping.", ap.pos, "WARNING").render(source, filename))
        if not targets and probe.attach_points:
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
        self.cache: dict[tuple[str, str], dict[str, tuple[SType, int]]] = {}

    def resolve(self, category: str, name: str) -> dict[str, tuple[SType, int]]:
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
            self.cache[key] = {f.name: (field_type(f), f.offset) for f in fmt.fields}
        return self.cache[key]


def field_type(f: tracefs.Field) -> SType:
    """A tracefs field as bpftrace types it: char arrays are strings, pointers 64-bit integers."""
    ctype: str = f.type
    size: int = f.size
    if f.data_loc:
        return INT32
    if f.array_length is not None:
        if "char" in ctype:
            return string_type(size)
        return NONE
    if "*" in ctype:
        return UINT64
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
        from tinybpf.trace.output import hist_bucket_count

        value_size = _VALUE_SIZES[value.kind]
        buckets = hist_bucket_count(info.hist_bits) + 1 if value.kind == "hist" else (info.lhist[1] - info.lhist[0]) // max(info.lhist[2], 1) + 2
        if key.kind == "none" and value.kind in _ARRAY_AGGREGATES:
            entries = buckets if value.kind in ("hist", "lhist") else 1
            return MapLayout(name, bpf_name, MapType.PERCPU_ARRAY, 4, value_size, entries, key, value, info.lhist,
                             info.hist_bits)
        if value.kind in ("hist", "lhist", "tseries"):
            key_size += 8
        return MapLayout(name, bpf_name, MapType.PERCPU_HASH, max(key_size, 8), value_size, _keys_max(), key,
                         value, info.lhist, info.hist_bits, info.tseries)
    return MapLayout(name, bpf_name, MapType.HASH, max(key_size, 8), value.size, _keys_max(), key, value)


def _keys_max() -> int:
    """``max_map_keys`` / BPFTRACE_MAP_KEYS_MAX: the entries of every keyed map."""
    return max(1, config.lookup_int("max_map_keys", MAP_KEYS_MAX))


def _check_maps(analysis: Analysis, source: str, filename: str) -> None:
    for info in analysis.maps.values():
        if info.value is None and info.pos is not None:
            raise TraceError([Diagnostic(f"Undefined map: {info.name}", info.pos)], source, filename)


def _helper_warning(source: str, filename: str, pos: ast.Pos, message: str, helper: str, retcode: int) -> str:
    """bpftrace's runtime warning for a failed helper: the located message, the helper, then the source."""
    header, *context = Diagnostic(message, pos, "WARNING").render(source, filename).split("\n")
    return "\n".join([header, f"Additional Info - helper: {helper}, retcode: {retcode}", *context])


def _probe_programs(analysis: Analysis, probe: ast.Probe, index: int, targets: list[Target],
                    trace: CompiledTrace, fields: _FieldCache, options: Options,
                    warn: Optional[Callable[..., str]] = None) -> list[ProbeProgram]:
    from tinybpf.trace.codegen import ProbeCodegen

    uses = analysis.uses.get(id(probe), set())
    per_target = len(targets) > 1 and (bool(uses & {"probe", "func", "args"}) or targets[0].provider == "usdt")
    groups = [[t] for t in targets] if per_target else [targets]
    programs = []
    provider = targets[0].provider
    for number, group in enumerate(groups):
        first = group[0]
        offsets: dict[str, int] = {}
        if provider == "tracepoint" and "args" in uses:
            offsets = {name: off for name, (_, off) in fields.resolve(first.target, first.func).items()}
        user = provider in ("uprobe", "uretprobe") or (provider == "tracepoint" and first.target == "syscalls")
        gen = ProbeCodegen(analysis, probe, trace, attach_name=first.name, func_name=first.func,
                           field_offsets=offsets, pid_filter=options.pid if provider not in SPECIAL_PROVIDERS else 0,
                           string_space="user" if user else "kernel")
        gen.target = first
        gen.helper_warning = warn
        try:
            insns = gen.generate()
        except CompileError:
            raise
        name = _program_name(first, index, number)
        special = provider if provider in SPECIAL_PROVIDERS else ""
        programs.append(ProbeProgram(name, first.prog_type, insns, group, special, gen.stack.deepest))
    return programs


# probes the runtime runs itself (BPF_PROG_TEST_RUN) instead of attaching them
SPECIAL_PROVIDERS = ("BEGIN", "END", "bench")


def _program_name(target: Target, index: int, number: int) -> str:
    base = target.func or target.provider
    return "".join(c if c.isalnum() or c == "_" else "_" for c in base)[:10] + f"_{index}_{number}"
