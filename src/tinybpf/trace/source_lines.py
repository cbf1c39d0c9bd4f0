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
    from tinybpf.trace.uprobe_args import debug_info

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
    from tinybpf.errors import FormatError
    from tinybpf.symbols.user import binary_symbols

    try:
        found = binary_symbols(path).by_name(symbol)
    except (OSError, FormatError):
        return None
    return source_line(path, found[0].value + offset) if found else None
