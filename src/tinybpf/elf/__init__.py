"""ELF objects: sections, symbols, relocations and notes of BPF objects and user binaries (no kernel calls)."""
from __future__ import annotations

from tinybpf.elf.constants import (
    ElfType,
    Machine,
    SectionFlag,
    SectionType,
    SegmentFlag,
    SegmentType,
    SymbolBind,
    SymbolType,
    SymbolVisibility,
)
from tinybpf.elf.reader import ElfFile, ElfHeader, Note, Relocation, Section, Segment, Symbol
from tinybpf.elf.symbols import SymbolIndex

__all__ = [
    "ElfFile",
    "ElfHeader",
    "ElfType",
    "Machine",
    "Note",
    "Relocation",
    "Section",
    "SectionFlag",
    "SectionType",
    "Segment",
    "SegmentFlag",
    "SegmentType",
    "Symbol",
    "SymbolBind",
    "SymbolIndex",
    "SymbolType",
    "SymbolVisibility",
]
