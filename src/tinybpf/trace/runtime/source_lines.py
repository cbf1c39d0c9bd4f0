"""The source file and line of a user-space code address, for ``ustack`` frames printed as bpftrace does
with ``show_debug_info`` (its default): ``func+off@file.c:line``.

The binary's DWARF line table (``.debug_line``, in the binary or its separate debug file) answers: the line
is the one of the last statement row at or before the address.
"""
from __future__ import annotations

import bisect
from functools import cache
from typing import Optional


@cache
def _table(path: str) -> tuple[list[int], list[str]]:
    """Row addresses (ascending) and their ``file:line``, for the binary at ``path``; empty without DWARF."""
    from tinybpf.elf.dwarf_lines import line_rows
    from tinybpf.errors import FormatError
    from tinybpf.trace.semantics.uprobe_args import debug_info

    info = debug_info(path)
    if info is None:
        return [], []
    try:
        rows = sorted(line_rows(info))
    except (FormatError, IndexError, KeyError, ValueError):
        return [], []
    return [row.address for row in rows], [f"{row.file}:{row.line}" for row in rows]


def source_line(path: str, vaddr: int) -> Optional[str]:
    """``file:line`` of the code at virtual address ``vaddr`` of the binary at ``path``, or None."""
    addresses, places = _table(path)
    position = bisect.bisect_right(addresses, vaddr) - 1
    return places[position] if position >= 0 else None


def symbol_line(path: str, symbol: str, offset: int) -> Optional[str]:
    """``file:line`` of ``symbol+offset`` in the binary at ``path``, or None when it has no line table."""
    return symbol_frames(path, symbol, offset)[-1][1]


_TAG_SUBPROGRAM = 0x2E
_TAG_INLINED = 0x1D
_AT_LOW_PC, _AT_HIGH_PC, _AT_ABSTRACT_ORIGIN, _AT_CALL_LINE = 0x11, 0x12, 0x31, 0x59


class _Scope:
    """A function's code, or code inlined into it: ``[low, high)``, the name, the line it was called
    from (inlined code) and the inlined code within it."""

    def __init__(self, low: int, high: int, name: str, call_line: int) -> None:
        self.low, self.high, self.name, self.call_line = low, high, name, call_line
        self.inner: list[_Scope] = []


@cache
def _scopes(path: str) -> list[_Scope]:
    """The binary's functions that have inlined code in them (contiguous ranges only)."""
    from tinybpf.trace.semantics.uprobe_args import debug_info

    info = debug_info(path)
    if info is None:
        return []
    found: list[_Scope] = []

    def origin_name(die: object) -> str:
        origin = info.die(die.attrs.get(_AT_ABSTRACT_ORIGIN))  # type: ignore[attr-defined]
        return origin.name if origin is not None else ""

    def walk(die: object, scope: _Scope) -> None:
        for child in die.children:  # type: ignore[attr-defined]
            bounds = _bounds(child.attrs)
            if child.tag == _TAG_INLINED and bounds is not None:
                inner = _Scope(*bounds, origin_name(child), int(child.attrs.get(_AT_CALL_LINE, 0) or 0))
                scope.inner.append(inner)
                walk(child, inner)
            elif child.tag != _TAG_SUBPROGRAM:
                walk(child, scope)  # lexical blocks

    def functions(die: object) -> None:
        for child in die.children:  # type: ignore[attr-defined]
            bounds = _bounds(child.attrs)
            if child.tag == _TAG_SUBPROGRAM and bounds is not None:
                scope = _Scope(*bounds, child.name, 0)
                walk(child, scope)
                if scope.inner:
                    found.append(scope)
            elif child.tag != _TAG_SUBPROGRAM:
                functions(child)

    for unit in info.units:
        functions(unit.root)
    return found


def _bounds(attrs: dict) -> Optional[tuple[int, int]]:
    low, high = attrs.get(_AT_LOW_PC), attrs.get(_AT_HIGH_PC)
    if not isinstance(low, int) or not isinstance(high, int):
        return None
    return low, high if high > low else low + high  # DWARF 4+: a constant high_pc is the length


def inlined_at(path: str, vaddr: int) -> list[tuple[str, int]]:
    """The functions inlined at ``vaddr``, innermost first, each with the line of the call that inlined the
    next one in (the innermost one's own line is the line table's); empty when nothing is inlined there."""
    for scope in _scopes(path):
        if not scope.low <= vaddr < scope.high:
            continue
        chain: list[_Scope] = []
        current = scope
        while True:
            inner = next((s for s in current.inner if s.low <= vaddr < s.high), None)
            if inner is None:
                break
            chain.append(inner)
            current = inner
        return [(s.name, s.call_line) for s in reversed(chain)]
    return []


def symbol_frames(path: str, symbol: str, offset: int) -> list[tuple[str, Optional[str]]]:
    """``symbol+offset`` of the binary at ``path`` as bpftrace's ``show_debug_info`` frames, innermost
    first: (name of an inlined function, its ``file:line``) pairs, then ("", ``file:line``) of the
    symbol itself."""
    from tinybpf.errors import FormatError
    from tinybpf.symbols.user import binary_symbols

    try:
        found = binary_symbols(path).by_name(symbol)
    except (OSError, FormatError):
        return [("", None)]
    if not found:
        return [("", None)]
    vaddr = found[0].value + offset
    place = source_line(path, vaddr)
    frames: list[tuple[str, Optional[str]]] = []
    file = place.rpartition(":")[0] if place else ""
    for name, call_line in inlined_at(path, vaddr):
        frames.append((name, place))
        place = f"{file}:{call_line}" if file and call_line else place
    frames.append(("", place))
    return frames
