"""Differential test: our disassembly and assembly agree with llvm-objdump 14 on clang-built objects.

The objects are committed (tests/data/asm, rebuilt by build.sh); only llvm-objdump is needed here.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tinybpf.asm import Instructions, assemble
from tinybpf.asm.text import format_instruction

DATA = Path(__file__).parent.parent / "data" / "asm"
OBJECTS = sorted(DATA.glob("*.o"))
LLVM_OBJDUMP = shutil.which("llvm-objdump-14") or shutil.which("llvm-objdump")
SHF_EXECINSTR = 0x4

pytestmark = pytest.mark.skipif(LLVM_OBJDUMP is None, reason="llvm-objdump is not installed")


def code_sections(path: Path) -> tuple[str, dict[str, bytes]]:
    """(byteorder, {name: bytes}) of the executable sections: just enough ELF64 for this test."""
    data = path.read_bytes()
    byteorder = {1: "little", 2: "big"}[data[5]]
    endian = "<" if byteorder == "little" else ">"
    shoff, = struct.unpack_from(endian + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", data, 0x3A)
    header = struct.Struct(endian + "IIQQQQIIQQ")
    sections = [header.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    strtab = sections[shstrndx][4]

    def name(offset: int) -> str:
        start = strtab + offset
        return data[start : data.index(b"\0", start)].decode()

    return byteorder, {
        name(s[0]): data[s[4] : s[4] + s[5]] for s in sections if s[2] & SHF_EXECINSTR and s[5]
    }


def objdump(path: Path, *options: str) -> dict[str, dict[int, str]]:
    """{section: {slot: text}} from ``llvm-objdump -d --no-show-raw-insn``, symbol annotations removed."""
    assert LLVM_OBJDUMP is not None
    out = subprocess.run(
        [LLVM_OBJDUMP, "-d", "--no-show-raw-insn", *options, str(path)], capture_output=True, text=True, check=True
    ).stdout
    listing: dict[str, dict[int, str]] = {}
    section: dict[int, str] = {}
    for line in out.splitlines():
        header = re.match(r"Disassembly of section (.*):$", line)
        if header:
            section = listing.setdefault(header.group(1), {})
            continue
        insn = re.match(r"\s*(\d+):\t(.*)$", line)
        if insn:
            section[int(insn.group(1))] = re.sub(r" <[^<>\s]*>$", "", insn.group(2))
    return listing


def reference_listing(path: Path) -> dict[str, dict[int, str]]:
    """llvm-objdump's default output, with ``--mattr=+alu32`` where the default says ``<unknown>``.

    The default decoder knows only the 32-bit atomic add; the other 32-bit atomics need alu32.
    """
    default, alu32 = objdump(path), objdump(path, "--mattr=+alu32")
    return {
        section: {slot: alu32[section][slot] if text == "<unknown>" else text for slot, text in lines.items()}
        for section, lines in default.items()
    }


def test_objects_are_present() -> None:
    assert len(OBJECTS) >= 8, "run tests/data/asm/build.sh"


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_disassembly_matches_llvm_objdump(path: Path) -> None:
    byteorder, sections = code_sections(path)
    expected = reference_listing(path)
    assert set(sections) == set(expected)
    for name, code in sections.items():
        ours = {slot: format_instruction(insn) for slot, insn in Instructions.decode(code, byteorder).iter_slots()}
        assert ours == expected[name], name


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_llvm_objdump_listing_assembles_to_the_same_bytes(path: Path) -> None:
    byteorder, sections = code_sections(path)
    for name, lines in reference_listing(path).items():
        listing = "\n".join(f"{slot:8}:\t{text}" for slot, text in lines.items())
        assert assemble(listing).encode(byteorder) == sections[name], name
