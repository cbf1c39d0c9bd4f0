"""Symbol lookup by name and by address, for uprobes (name -> file offset) and stack symbolisation (address -> name).

Built once per binary from ``.symtab`` and ``.dynsym`` together, since stripped libraries keep only the latter.
Addresses are the file's virtual addresses; the caller subtracts the mapping's load bias first. On 32-bit ARM
bit 0 of a function symbol's value marks Thumb code (the ARM ELF ABI), not part of its address: the index clears it,
so a uprobe lands on the function's first instruction and return addresses resolve to the right function.
"""
from __future__ import annotations

import bisect
from typing import Optional

from tinybpf.elf.constants import Machine, SymbolType
from tinybpf.elf.reader import ElfFile, Symbol

_CODE_AND_DATA = (SymbolType.FUNC, SymbolType.OBJECT, SymbolType.GNU_IFUNC, SymbolType.NOTYPE)


class SymbolIndex:
    """Defined function and object symbols of one ELF file, sorted by address."""

    def __init__(self, elf: ElfFile) -> None:
        self.elf = elf
        by_name: dict[str, list[Symbol]] = {}
        seen = set()
        thumb = elf.header.machine == Machine.ARM
        self.thumb: set[str] = set()  # functions in Thumb state, which 32-bit ARM kernels cannot uprobe
        for symbol in elf.symbols() + elf.dynamic_symbols():
            if not symbol.name or not symbol.defined or symbol.type not in _CODE_AND_DATA:
                continue
            if thumb and symbol.type == SymbolType.FUNC and symbol.value & 1:
                symbol = symbol._replace(value=symbol.value & ~1)
                self.thumb.add(symbol.name)
            key = (symbol.name, symbol.value)
            if key in seen:
                continue
            seen.add(key)
            by_name.setdefault(symbol.name, []).append(symbol)
        self._by_name = by_name
        # Prefer sized symbols at equal addresses: an alias with a size answers "does addr fall inside".
        ordered = sorted(
            (symbol for symbols in by_name.values() for symbol in symbols),
            key=lambda symbol: (symbol.value, -symbol.size),
        )
        self._sorted: list[Symbol] = []
        for symbol in ordered:
            if not self._sorted or self._sorted[-1].value != symbol.value:
                self._sorted.append(symbol)
        self._addresses = [symbol.value for symbol in self._sorted]

    def by_name(self, name: str) -> list[Symbol]:
        """Every defined symbol called ``name`` (static functions may repeat across compilation units)."""
        return list(self._by_name.get(name, ()))

    def names(self) -> list[str]:
        """Every defined symbol name, once."""
        return list(self._by_name)

    def at(self, address: int) -> Optional[Symbol]:
        """The symbol covering ``address``: the nearest one at or below it, if its size reaches ``address``.

        Size-0 symbols (hand-written assembly) cover everything up to the next symbol.
        """
        position = bisect.bisect_right(self._addresses, address) - 1
        if position < 0:
            return None
        symbol = self._sorted[position]
        if symbol.size and address >= symbol.value + symbol.size:
            return None
        return symbol

    def resolve(self, address: int) -> Optional[tuple[str, int]]:
        """``(name, offset into the symbol)`` for ``address``, as a stack trace prints it (``main+0x12``)."""
        symbol = self.at(address)
        return None if symbol is None else (symbol.name, address - symbol.value)

    def file_offset(self, name: str) -> Optional[int]:
        """The file offset a uprobe on ``name`` attaches at (first definition), or None if there is none."""
        for symbol in self._by_name.get(name, ()):
            offset = self.elf.symbol_offset(symbol)
            if offset is not None:
                return offset
        return None

    def __len__(self) -> int:
        return len(self._sorted)
