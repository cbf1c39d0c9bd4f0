"""The instruction-boundary check that keeps a uprobe from splitting an instruction: x86-64 lengths of
known encodings, fixed-width machines, and every instruction of a real binary against objdump."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tinybpf.elf.constants import Machine
from tinybpf.elf.reader import ElfFile
from tinybpf.symbols.boundary import Alignment, check, x86_64_length


@pytest.mark.parametrize(("hex_bytes", "length"), [
    ("4157", 2),                        # push %r15
    ("4889e5", 3),                      # mov %rsp,%rbp
    ("4883ec10", 4),                    # sub $0x10,%rsp
    ("b878563412", 5),                  # mov $0x12345678,%eax
    ("48b88877665544332211", 10),       # movabs $0x1122334455667788,%rax
    ("66b83412", 4),                    # mov $0x1234,%ax
    ("e800000000", 5),                  # call rel32
    ("f30f1efa", 4),                    # endbr64
    ("660f1f440000", 6),                # nopw 0x0(%rax,%rax,1)
    ("488d0500000000", 7),              # lea 0x0(%rip),%rax
    ("8b042500000000", 7),              # mov 0x0,%eax (SIB, no base)
    ("0f8400000000", 6),                # je rel32
    ("f6c101", 3),                      # test $0x1,%cl
    ("f7c000000100", 6),                # test $0x10000,%eax
    ("660f70c01b", 5),                  # pshufd $0x1b,%xmm0,%xmm0
    ("c5fe6f06", 4),                    # vmovdqu (%rsi),%ymm0 (VEX2)
    ("c4e37d18c101", 6),                # vinsertf128 $1 (VEX3, 0F3A map: imm8)
    ("62f1fe486f06", 6),                # vmovdqu64 (%rsi),%zmm0 (EVEX)
    ("c5f877", 3),                      # vzeroupper
    ("c20800", 3),                      # ret $8
    ("c3", 1),                          # ret
])
def test_x86_64_lengths_of_known_encodings(hex_bytes: str, length: int) -> None:
    assert x86_64_length(bytes.fromhex(hex_bytes) + b"\x90" * 16, 0) == length


def test_truncated_or_invalid_code_is_undecodable() -> None:
    assert x86_64_length(bytes.fromhex("48b8112233"), 0) is None
    assert x86_64_length(bytes.fromhex("06"), 0) is None  # push %es: invalid in 64-bit mode
    assert check(Machine.X86_64, bytes.fromhex("06c3"), 1) is Alignment.UNDECODABLE


def test_offsets_inside_and_between_instructions() -> None:
    code = bytes.fromhex("4157" "48b88877665544332211" "c3")
    assert [check(Machine.X86_64, code, offset) for offset in (2, 12)] == [Alignment.OK, Alignment.OK]
    assert all(check(Machine.X86_64, code, offset) is Alignment.INSIDE for offset in (1, 3, 7, 11))


def test_fixed_width_machines_and_unknown_ones() -> None:
    assert check(Machine.AARCH64, b"", 8) is Alignment.OK
    assert check(Machine.AARCH64, b"", 6) is Alignment.INSIDE
    assert check(Machine.RISCV, b"", 6) is Alignment.OK
    assert check(Machine.I386, b"", 4) is Alignment.UNSUPPORTED


def test_every_instruction_of_a_binary_starts_where_objdump_says() -> None:
    objdump, binary = shutil.which("objdump"), "/bin/true"
    if objdump is None or os.uname().machine != "x86_64":
        pytest.skip("needs binutils' objdump and an x86-64 binary to compare with")
    text = ElfFile.from_path(binary).section(".text")
    assert text is not None
    code = bytes(text.data())
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-j", ".text", binary], capture_output=True,
                             text=True, check=True).stdout
    expected = [int(m.group(1), 16) - text.addr for m in re.finditer(r"^\s+([0-9a-f]+):\t", listing, re.M)]
    starts, position = [], 0
    while position < len(code):
        starts.append(position)
        length = x86_64_length(code, position)
        assert length is not None, f"undecodable at {text.addr + position:#x}"
        position += length
    assert starts == expected
