"""A relocatable ELF64 object for BPF (``ET_REL``, ``EM_BPF``), as clang's BPF back end writes them.

Sections in the order added, then one ``.rel<section>`` per relocated section, ``.symtab`` and one
``.strtab`` holding both section and symbol names (LLVM's layout). Symbols are numbered at the end,
locals first as ELF requires, so callers refer to them by the handle ``symbol()`` returns. The result
reads back with ``tinybpf.elf``, ``llvm-objdump``, ``bpftool`` and libbpf.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Optional

from tinybpf.elf.constants import (
    BPFRelocation,
    ElfType,
    Machine,
    SectionFlag,
    SectionType,
    SymbolBind,
    SymbolType,
    SymbolVisibility,
)

_EHDR_SIZE = 64
_SHDR_SIZE = 64
_SYM_SIZE = 24
_REL_SIZE = 16


@dataclass
class _Section:
    name: str
    type: SectionType
    flags: int
    data: bytes
    align: int
    entsize: int = 0
    size: int = 0  # NOBITS sections occupy no file space
    link: int = 0
    info: int = 0
    relocations: list[tuple[int, int, BPFRelocation]] = field(default_factory=list)  # offset, symbol, type


@dataclass
class _Symbol:
    name: str
    section: int  # section index (1-based), 0 for undefined
    value: int
    size: int
    type: SymbolType
    bind: SymbolBind
    visibility: SymbolVisibility


class ObjectWriter:
    def __init__(self, byte_order: str = "little") -> None:
        self.order = "<" if byte_order == "little" else ">"
        self.byte_order = byte_order
        self.sections: list[_Section] = []
        self.symbols: list[_Symbol] = []
        self._section_symbols: dict[int, int] = {}

    def section(self, name: str, data: bytes, *, kind: SectionType = SectionType.PROGBITS,
                flags: int = SectionFlag.ALLOC, align: int = 8, entsize: int = 0) -> int:
        """Add a section with ``data``; returns its index."""
        self.sections.append(_Section(name, kind, flags, bytes(data), align, entsize, len(data)))
        return len(self.sections)

    def nobits(self, name: str, size: int, *, flags: int = SectionFlag.ALLOC | SectionFlag.WRITE,
               align: int = 8) -> int:
        """Add a zero-filled section (``.bss``) of ``size`` bytes that takes no room in the file."""
        self.sections.append(_Section(name, SectionType.NOBITS, flags, b"", align, 0, size))
        return len(self.sections)

    def symbol(self, name: str, section: Optional[int], value: int = 0, size: int = 0, *,
               kind: SymbolType = SymbolType.NOTYPE, bind: SymbolBind = SymbolBind.GLOBAL,
               visibility: SymbolVisibility = SymbolVisibility.DEFAULT) -> int:
        """Add a symbol (``section`` None: undefined, an extern); returns its handle."""
        self.symbols.append(_Symbol(name, section or 0, value, size, kind, bind, visibility))
        return len(self.symbols) - 1

    def section_symbol(self, section: int) -> int:
        """The STT_SECTION symbol of ``section`` (what relocations against static data refer to)."""
        if section not in self._section_symbols:
            self._section_symbols[section] = self.symbol("", section, kind=SymbolType.SECTION, bind=SymbolBind.LOCAL)
        return self._section_symbols[section]

    def relocation(self, section: int, offset: int, symbol: int, kind: BPFRelocation) -> None:
        self.sections[section - 1].relocations.append((offset, symbol, kind))

    def write(self) -> bytes:
        order = self.order
        # Locals first (ELF), each group in the order added.
        ordered = sorted(range(len(self.symbols)), key=lambda i: self.symbols[i].bind != SymbolBind.LOCAL)
        final = {handle: index + 1 for index, handle in enumerate(ordered)}
        first_global = 1 + sum(self.symbols[i].bind == SymbolBind.LOCAL for i in ordered)

        strtab = bytearray(b"\0")
        offsets: dict[str, int] = {"": 0}

        def string(text: str) -> int:
            if text not in offsets:
                offsets[text] = len(strtab)
                strtab.extend(text.encode() + b"\0")
            return offsets[text]

        sections = list(self.sections)
        count = len(sections)
        symtab_index = count + sum(1 for s in sections if s.relocations) + 1
        for index, section in enumerate(self.sections, 1):
            if not section.relocations:
                continue
            rel = bytearray()
            for offset, handle, kind in sorted(section.relocations):
                rel += struct.pack(order + "QQ", offset, (final[handle] << 32) | int(kind))
            sections.append(_Section(".rel" + section.name, SectionType.REL, SectionFlag.INFO_LINK, bytes(rel), 8,
                                     _REL_SIZE, len(rel), link=symtab_index, info=index))
        symbols = bytearray(_SYM_SIZE)
        for handle in ordered:
            sym = self.symbols[handle]
            info = (int(sym.bind) << 4) | int(sym.type)
            symbols += struct.pack(order + "IBBHQQ", string(sym.name), info, int(sym.visibility), sym.section,
                                   sym.value, sym.size)
        sections.append(_Section(".symtab", SectionType.SYMTAB, 0, bytes(symbols), 8, _SYM_SIZE, len(symbols),
                                 link=symtab_index + 1, info=first_global))
        names = [string(s.name) for s in sections]
        strtab_name = string(".strtab")
        sections.append(_Section(".strtab", SectionType.STRTAB, 0, b"", 1))

        body = bytearray()
        placed: list[int] = []
        at = _EHDR_SIZE
        for section in sections[:-1]:
            pad = -at % max(section.align, 1)
            body += b"\0" * pad
            at += pad
            placed.append(at)
            body += section.data
            at += len(section.data)
        placed.append(at)
        body += strtab
        at += len(strtab)
        shoff = at + (-at % 8)
        body += b"\0" * (shoff - at)

        headers = bytearray(_SHDR_SIZE)
        for section, name, offset in zip(sections, [*names, strtab_name], placed):
            size = len(strtab) if section.type == SectionType.STRTAB else section.size
            headers += struct.pack(order + "IIQQQQIIQQ", name, int(section.type), int(section.flags), 0, offset, size,
                                   section.link, section.info, section.align, section.entsize)
        ident = b"\x7fELF" + bytes([2, 1 if order == "<" else 2, 1, 0]) + b"\0" * 8
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", int(ElfType.REL), int(Machine.BPF), 1, 0, 0, shoff, 0,
                                     _EHDR_SIZE, 0, 0, _SHDR_SIZE, len(sections) + 1, len(sections))
        return bytes(header + body + headers)
