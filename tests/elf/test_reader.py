"""The ELF reader agrees with llvm-readobj on sections, symbols, relocations and notes."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tinybpf.elf import ElfFile, ElfType, Machine, SectionType, Symbol, SymbolBind, SymbolType
from tinybpf.errors import FormatError

from .conftest import ALL_FILES, BPF_OBJECTS, OBJECTS_DIR, SYSTEM_BINARIES, USER32_OBJECTS

READOBJ = shutil.which("llvm-readobj")
needs_readobj = pytest.mark.skipif(READOBJ is None, reason="llvm-readobj is not installed")


def readobj(path: Path, *flags: str) -> str:
    assert READOBJ is not None
    return subprocess.run([READOBJ, *flags, str(path)], check=True, capture_output=True, text=True).stdout


def blocks(text: str, opener: str) -> list[dict[str, str]]:
    """``Key: value`` lines of each ``opener {`` block of llvm-readobj's LLVM-style output."""
    found: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == f"{opener} {{":
            current = {}
            found.append(current)
        elif ":" in stripped and found and current is found[-1]:
            key, _, value = stripped.partition(":")
            current.setdefault(key, value.strip())
    return found


def name_of(field: str) -> str:
    """``foo (12)`` -> ``foo``; llvm-readobj prints the string-table offset after the name."""
    return re.sub(r"(^| )\(\d+\)$", "", field)


def display_name(elf: ElfFile, symbol: Symbol) -> str:
    """llvm-readobj names section symbols after their section."""
    if not symbol.name and symbol.type == SymbolType.SECTION:
        return elf.section_at(symbol.shndx).name
    return symbol.name


@needs_readobj
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_sections_match_llvm_readobj(path: Path) -> None:
    elf = ElfFile.from_path(path)
    expected = [
        (int(block["Index"]), name_of(block["Name"]), int(block["Offset"], 16), int(block["Size"]))
        for block in blocks(readobj(path, "--sections"), "Section")
    ]
    assert [(s.index, s.name, s.offset, s.size) for s in elf.sections] == expected


@needs_readobj
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_symbols_match_llvm_readobj(path: Path) -> None:
    elf = ElfFile.from_path(path)
    for flag, symbols in (("--symbols", elf.symbols()), ("--dyn-symbols", elf.dynamic_symbols())):
        expected = [
            (name_of(block["Name"]).split("@")[0], int(block["Value"], 16), int(block["Size"]))
            for block in blocks(readobj(path, flag), "Symbol")
        ]
        assert [(display_name(elf, s), s.value, s.size) for s in symbols] == expected, flag


@needs_readobj
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_relocation_counts_match_llvm_readobj(path: Path) -> None:
    elf = ElfFile.from_path(path)
    expected: dict[str, int] = {}
    current = None
    for line in readobj(path, "--relocations").splitlines():
        header = re.match(r"\s*Section \(\d+\) (\S+) \{", line)
        if header:
            current = header.group(1)
            expected[current] = 0
        elif line.strip() == "}":
            current = None
        elif current is not None and line.strip():
            expected[current] += 1
    ours = {s.name: len(elf.relocations(s)) for s in elf.sections if s.type in (SectionType.REL, SectionType.RELA)}
    assert ours == {name: count for name, count in expected.items() if name != ".relr.dyn"}  # SHT_RELR is not read


@needs_readobj
@pytest.mark.parametrize("path", BPF_OBJECTS[:2] + USER32_OBJECTS, ids=lambda p: p.name)
def test_relocation_entries_match_llvm_readobj(path: Path) -> None:
    """Offsets and symbol names of every relocation, which exercises both r_info layouts and byte orders."""
    elf = ElfFile.from_path(path)
    expected: list[tuple[int, str]] = []
    for line in readobj(path, "--relocations").splitlines():
        entry = re.match(r"\s*(0x[0-9A-F]+) (\S+) (\S+)", line)
        if entry:
            expected.append((int(entry.group(1), 16), entry.group(3)))
    ours = []
    for section in elf.sections:
        if section.type in (SectionType.REL, SectionType.RELA):
            symbols = elf.read_symbols(elf.section_at(section.link))
            ours += [(r.offset, display_name(elf, symbols[r.symbol])) for r in elf.relocations(section)]
    assert ours == expected


def test_bpf_object_header_and_both_byte_orders() -> None:
    little = ElfFile.from_path(OBJECTS_DIR / "maps-el.bpf.o")
    big = ElfFile.from_path(OBJECTS_DIR / "maps-eb.bpf.o")
    assert (little.header.bits, little.header.byte_order, little.header.type) == (64, "little", ElfType.REL)
    assert (big.header.byte_order, big.header.machine) == ("big", Machine.BPF)
    assert [s.name for s in little.sections] == [s.name for s in big.sections]
    assert [(s.name, s.value, s.info) for s in little.symbols()] == [(s.name, s.value, s.info) for s in big.symbols()]
    text = little.section("xdp")
    assert text is not None and text.data().nbytes == text.size
    bss = little.section(".maps")
    assert bss is not None and bss.type == SectionType.PROGBITS
    license_ = little.section("license")
    assert license_ is not None and bytes(license_.data()).rstrip(b"\0") == b"Dual BSD/GPL"
    program = next(s for s in little.symbols() if s.name == "on_open")
    assert (program.type, program.bind) == (SymbolType.FUNC, SymbolBind.GLOBAL)


def test_relocations_for_target_section() -> None:
    elf = ElfFile.from_path(OBJECTS_DIR / "minimal-eb.bpf.o")
    program = elf.section("tracepoint/syscalls/sys_enter_openat")
    assert program is not None
    symbols = elf.symbols()
    targets = {symbols[r.symbol].name for r in elf.relocations_for(program)}
    assert {"counter", "target_pid"} <= targets | {symbols[r.symbol].name for r in elf.relocations_for(program)}
    assert all(r.type == 1 for r in elf.relocations_for(program))  # R_BPF_64_64: ld_imm64 map/global loads


def test_elf32_objects() -> None:
    for path in USER32_OBJECTS:
        elf = ElfFile.from_path(path)
        assert elf.header.bits == 32
        bump = next(s for s in elf.symbols() if s.name == "bump")
        assert bump.type == SymbolType.FUNC and bump.size > 0
        assert elf.symbol_offset(bump) == elf.section_at(bump.shndx).offset + bump.value


@pytest.mark.skipif(not SYSTEM_BINARIES, reason="no system ELF binaries found")
def test_build_id_matches_readelf() -> None:
    readelf = shutil.which("readelf") or shutil.which("llvm-readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    for path in SYSTEM_BINARIES:
        out = subprocess.run([readelf, "-n", str(path)], check=True, capture_output=True, text=True).stdout
        match = re.search(r"Build ID: ([0-9a-f]+)", out)
        build_id = ElfFile.from_path(path).build_id()
        assert (build_id.hex() if build_id else None) == (match.group(1) if match else None)


def test_rejects_non_elf() -> None:
    with pytest.raises(FormatError, match="not an ELF file"):
        ElfFile(b"#!/bin/sh\necho hi\n")
    with pytest.raises(FormatError, match="truncated ELF header"):
        ElfFile(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
