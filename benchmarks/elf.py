"""Read every section, symbol and relocation of a set of ELF files; compare with pyelftools when installed.

Inputs: the committed test objects (tests/data/objects) and a few large system binaries.
Run: python benchmarks/elf.py [ELF files...]
"""
from __future__ import annotations

import glob
import os
import sys
import time
from typing import Callable

from tinybpf.elf import ElfFile, SectionType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3.11", "/bin/ls", "/usr/bin/bpftool"]


def default_inputs() -> list[str]:
    objects = sorted(glob.glob(os.path.join(ROOT, "tests", "data", "objects", "*.o")))
    return objects + [path for path in SYSTEM if os.path.exists(path)]


def read_tinybpf(path: str) -> int:
    elf = ElfFile.from_path(path)
    records = 0
    for section in elf.sections:
        section.data()
        if section.type in (SectionType.SYMTAB, SectionType.DYNSYM):
            records += sum(1 for symbol in elf.read_symbols(section) if symbol.name is not None and symbol.value >= 0)
        elif section.type in (SectionType.REL, SectionType.RELA):
            records += sum(1 for relocation in elf.relocations(section) if relocation.offset >= 0)
    return records


def read_pyelftools(path: str) -> int:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    records = 0
    with open(path, "rb") as file:
        elf = ELFFile(file)
        for section in elf.iter_sections():
            section.data()
            if isinstance(section, SymbolTableSection):
                records += sum(1 for symbol in section.iter_symbols() if symbol.name is not None and symbol["st_value"] >= 0)
            elif isinstance(section, RelocationSection):
                records += sum(1 for relocation in section.iter_relocations() if relocation["r_offset"] >= 0)
    return records


def best_of(reader: Callable[[str], int], paths: list[str], repeat: int) -> tuple[float, int]:
    best, records = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        records = sum(reader(path) for path in paths)
        best = min(best, time.perf_counter() - start)
    return best, records


def main() -> None:
    paths = sys.argv[1:] or default_inputs()
    size = sum(os.path.getsize(path) for path in paths)
    ours, records = best_of(read_tinybpf, paths, 5)
    print(f"{len(paths)} files, {size / 1e6:.1f} MB, {records} symbols+relocations")
    print(f"tinybpf.elf : {ours * 1000:8.1f} ms")
    try:
        import elftools  # noqa: F401
    except ImportError:
        print("pyelftools  : not installed (pip install pyelftools to compare)")
        return
    theirs, their_records = best_of(read_pyelftools, paths, 2)
    assert their_records == records, (their_records, records)
    print(f"pyelftools  : {theirs * 1000:8.1f} ms  ({theirs / ours:.0f}x slower)")


if __name__ == "__main__":
    main()
