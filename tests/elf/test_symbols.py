"""Symbol lookup for uprobes (name -> file offset) and stack traces (address -> name+offset)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tinybpf.elf import ElfFile, SymbolIndex

from .conftest import OBJECTS_DIR, SYSTEM_BINARIES

LIBC = next((p for p in SYSTEM_BINARIES if p.name == "libc.so.6"), None)


@pytest.mark.skipif(LIBC is None, reason="no libc.so.6 found")
def test_libc_malloc_offset_and_reverse_lookup() -> None:
    assert LIBC is not None
    elf = ElfFile.from_path(LIBC)
    index = SymbolIndex(elf)
    (malloc, *_) = index.by_name("malloc")
    offset = index.file_offset("malloc")
    section = next(s for s in elf.sections if s.addr <= malloc.value < s.addr + s.size and s.addr)
    assert offset == section.offset + (malloc.value - section.addr)
    assert index.resolve(malloc.value + 5) == ("malloc", 5)
    assert index.at(malloc.value + malloc.size - 1) == malloc
    resolved = index.resolve(malloc.value + malloc.size)
    assert resolved is None or resolved[0] != "malloc"
    assert index.file_offset("no_such_symbol_here") is None


def test_relocatable_object_offsets_are_section_relative() -> None:
    elf = ElfFile.from_path(OBJECTS_DIR / "subprogs-el.bpf.o")
    index = SymbolIndex(elf)
    (scale,) = index.by_name("scale")
    text = elf.section(".text")
    assert text is not None
    assert index.file_offset("scale") == text.offset + scale.value
    bss_symbol = next(s for s in elf.symbols() if s.name == "global_counter")
    assert elf.symbol_offset(bss_symbol) is None  # .bss has no file bytes


def test_every_symbol_resolves_to_itself() -> None:
    path = SYSTEM_BINARIES[0] if SYSTEM_BINARIES else OBJECTS_DIR / "maps-el.bpf.o"
    index = SymbolIndex(ElfFile.from_path(Path(path)))
    assert len(index) > 0
    for symbols in (index.by_name(name) for name in ("main", "free", "pass_all")):
        for symbol in symbols:
            found = index.at(symbol.value)
            assert found is not None and found.value == symbol.value
