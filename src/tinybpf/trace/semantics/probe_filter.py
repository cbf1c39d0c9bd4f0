"""``--probe-filter REGEX``: keep only the probes whose attach point names match; BEGIN and END always stay."""
from __future__ import annotations

import re

from tinybpf.errors import TinyBPFError
from tinybpf.trace.syntax import ast

_SPECIAL = ("BEGIN", "END", "begin", "end")


def filter_probes(program: ast.Program, targets: dict[int, list], pattern: str) -> None:
    """Drop the targets (and probes left without any) that ``pattern`` does not search-match, in place."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise TinyBPFError(f"Invalid --probe-filter regex '{pattern}': {exc}") from None
    kept = []
    for probe in program.probes:
        found = targets[id(probe)]
        if any(t.provider in _SPECIAL for t in found):
            kept.append(probe)
            continue
        matching = [t for t in found if regex.search(t.name)]
        if matching:
            targets[id(probe)] = matching
            kept.append(probe)
    if all(any(t.provider in _SPECIAL for t in targets[id(p)]) for p in kept):
        raise TinyBPFError(f"No probes to attach: none matches --probe-filter '{pattern}'")
    program.probes[:] = kept
