"""``SEC("uprobe.multi/PATH:PATTERN")``: one uprobe_multi link on every function of PATH matching a glob.

A program loaded with expected attach type BPF_TRACE_UPROBE_MULTI attaches only this way (Linux 6.6).
Functions match like libbpf's: shell wildcards over the binary's function symbols.
"""
from __future__ import annotations

import fnmatch
from typing import Any

from ..elf.constants import SymbolType
from ..errors import TinyBPFError
from ..kernel import commands
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from ..symbols.user import archive_member_offset, binary_symbols, find_binary
from .link import Link, program_fd

BPF_F_UPROBE_MULTI_RETURN = 1


class UprobeMultiLink(Link):
    """One link holding uprobes at ``offsets`` (file offsets) of ``path``."""


def uprobe_multi_offsets(path: str, pattern: str) -> dict[str, int]:
    """File offsets of the functions of ``path`` whose names match ``pattern`` (``*``, ``?``, ``[...]``)."""
    index = binary_symbols(path)
    base = archive_member_offset(path)
    found: dict[str, int] = {}
    for name in fnmatch.filter(index.names(), pattern):
        for symbol in index.by_name(name):
            offset = index.elf.symbol_offset(symbol) if symbol.type in (SymbolType.FUNC, SymbolType.GNU_IFUNC) \
                else None
            if offset is not None:
                found.setdefault(name, base + offset)
    return found


def attach_uprobe_multi(program: Any, binary: str, pattern: str, *, retprobe: bool = False,
                        pid: int = -1) -> UprobeMultiLink:
    """Attach to every function of ``binary`` matching ``pattern`` with one uprobe_multi link."""
    path = find_binary(binary, pid)
    offsets = uprobe_multi_offsets(path, pattern)
    if not offsets:
        raise TinyBPFError(f"no function of {path} matches {pattern!r}", "check the pattern against nm -D")
    fd = FD(commands.link_create_uprobe_multi(program_fd(program), AttachType.TRACE_UPROBE_MULTI, path,
                                              sorted(set(offsets.values())),
                                              BPF_F_UPROBE_MULTI_RETURN if retprobe else 0, pid))
    kind = "uretprobe.multi" if retprobe else "uprobe.multi"
    return UprobeMultiLink([fd], f"{kind} {path}:{pattern} ({len(offsets)} functions)", bpf_link=True)
