"""``uaddr()``: a global of the probed binary, found in its ELF symbol table when the script compiles.

The result points at the symbol's object, so its size gives the pointee width (1, 2, 4 bytes, else 8).
An executable (ET_EXEC) is loaded at its link addresses; a PIE or shared library is not, so on a uprobe the
load bias is worked out in the program from the probed instruction's address (``regs->ip``) minus its link
address.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class UserSymbol:
    address: int
    size: int
    relocated: bool
    """True when the binary is position independent: the address needs the load bias added."""


def find(binary: str, name: str) -> Optional[UserSymbol]:
    """The defined symbol ``name`` of ``binary``, None when there is none (or the file is no ELF)."""
    from tinybpf.elf import ElfType
    from tinybpf.errors import FormatError
    from tinybpf.symbols.user import binary_symbols

    try:
        index = binary_symbols(binary)
    except (OSError, FormatError):
        return None
    for symbol in index.elf.symbols() + index.elf.dynamic_symbols():
        if symbol.name == name and symbol.defined:
            return UserSymbol(int(symbol.value), int(symbol.size), index.elf.header.type != ElfType.EXEC)
    return None


def pointee_bytes(symbol: Optional[UserSymbol]) -> int:
    """The integer width ``*uaddr(...)`` reads, as bpftrace sizes it from the symbol."""
    return symbol.size if symbol is not None and symbol.size in (1, 2, 4) else 8
