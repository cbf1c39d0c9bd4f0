"""Map declarations (``let @a = lruhash(100);``): the BPF map type and size a script chose for a map.

Declared maps keep their usual layout (key and value encoding) but take the declared kind and
``max_entries``; aggregations stay per-CPU. A declared map the probes never use is a warning, as in bpftrace.
"""
from __future__ import annotations

import dataclasses
from typing import NoReturn

from tinybpf.kernel.constants import MapType
from tinybpf.trace.lower.compiled import MapLayout
from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

MAP_FULL = ("WARNING: Map full; can't update element. Try increasing max_map_keys config or manually setting "
            "the max entries in a map declaration e.g. `let @a = hash(5000)`")

# declared kind -> (map type for plain values, map type for per-CPU aggregations)
_KINDS: dict[str, tuple[MapType, MapType]] = {
    "hash": (MapType.HASH, MapType.PERCPU_HASH),
    "lruhash": (MapType.LRU_HASH, MapType.LRU_PERCPU_HASH),
    "percpuhash": (MapType.PERCPU_HASH, MapType.PERCPU_HASH),
    "percpulruhash": (MapType.LRU_PERCPU_HASH, MapType.LRU_PERCPU_HASH),
}


def apply(program: ast.Program, layouts: dict[str, MapLayout], warnings: list[str], source: str,
          filename: str) -> None:
    """Give each declared map its declared type and size; warn about declared maps no probe uses."""
    seen: set[str] = set()
    for decl in program.map_decls:
        if decl.kind not in _KINDS:
            _fail(f"Invalid bpf map type: {decl.kind}", decl, source, filename)
        if decl.name in seen:
            _fail(f"Duplicate map declaration: {decl.name}", decl, source, filename)
        if decl.max_entries < 1:
            _fail("Max entries must be a positive integer", decl, source, filename)
        seen.add(decl.name)
        layout = layouts.get(decl.name)
        if layout is None:
            warnings.append(Diagnostic(f"Unused map: {decl.name}", decl.pos, "WARNING").render(source, filename))
            continue
        plain, percpu = _KINDS[decl.kind]
        if layout.is_array and layout.key.kind == "none":
            continue
        map_type = percpu if layout.value.is_aggregate else plain
        layouts[decl.name] = dataclasses.replace(layout, map_type=map_type, max_entries=decl.max_entries,
                                                   declared=True)


def _fail(message: str, decl: ast.MapDecl, source: str, filename: str) -> NoReturn:
    raise TraceError([Diagnostic(message, decl.pos)], source, filename)
