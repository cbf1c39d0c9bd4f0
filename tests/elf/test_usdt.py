"""USDT notes: the committed test binary's probes read as readelf shows them; argument specs parse per arch."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybpf.elf import ElfFile, Machine
from tinybpf.elf.usdt import (
    AARCH64_PT_REGS,
    X86_64_PT_REGS,
    ArgKind,
    UsdtArgument,
    find_probes,
    parse_argument,
    parse_arguments,
    read_probes,
)
from tinybpf.errors import FormatError

BINARY = Path(__file__).resolve().parent.parent / "data" / "usdt" / "usdt_target"


def readelf_probes(path: Path) -> list[tuple[str, str, int, int, int, str]]:
    output = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True, check=True).stdout
    pattern = re.compile(
        r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), "
        r"Semaphore: (0x[0-9a-f]+)\s+Arguments: ?([^\n]*)")
    return [(p, n, int(pc, 16), int(base, 16), int(sem, 16), args.strip())
            for p, n, pc, base, sem, args in pattern.findall(output)]


def test_notes_match_readelf() -> None:
    if shutil.which("readelf") is None:
        pytest.skip("binutils' readelf is not installed")
    probes = find_probes(str(BINARY))
    assert [(p.provider, p.name, p.pc, p.base, p.semaphore, p.args) for p in probes] == readelf_probes(BINARY)


def test_test_binary_probes() -> None:
    elf = ElfFile.from_path(BINARY)
    probes = read_probes(elf)
    assert [probe.name for probe in probes] == ["tick", "twice", "twice", "done", "guarded"]
    by_name = {probe.name: probe for probe in probes}
    tick, guarded = by_name["tick"], by_name["guarded"]
    assert str(tick) == f"usdt:{BINARY}:tinybpf:tick"
    assert tick.offset == elf.vaddr_to_offset(tick.pc) and tick.semaphore == 0 and tick.semaphore_offset == 0
    assert bytes(elf._slice(tick.offset, 1, "probe site")) == b"\x90"  # sdt.h puts a nop at every site
    assert [(a.kind, a.size, a.signed) for a in tick.arguments] == [
        (ArgKind.REGISTER, 8, True), (ArgKind.REGISTER, 4, True), (ArgKind.REGISTER, 1, False),
        (ArgKind.CONSTANT, 4, True)]
    assert tick.arguments[3].constant == 5
    semaphore = elf.symbols()
    (symbol,) = [s for s in semaphore if s.name == "tinybpf_guarded_semaphore"]
    assert guarded.semaphore == symbol.value
    assert guarded.semaphore_offset == elf.symbol_offset(symbol)
    (arg,) = guarded.arguments
    assert (arg.kind, arg.register, arg.pt_regs_offset, arg.offset, arg.size) == (ArgKind.MEMORY, "rbp", 32, -8, 8)
    assert find_probes(str(BINARY), "tinybpf", "guarded") == [guarded]
    assert find_probes(str(BINARY), "other") == []
    assert find_probes(str(BINARY), name="done") == [by_name["done"]]
    first, second = find_probes(str(BINARY), "tinybpf", "twice")
    assert first.pc != second.pc and first.args != second.args  # one probe, two sites, each with its own spec


def test_prelinked_binary_shifts_pc_and_semaphore(tmp_path: Path) -> None:
    """A binary whose ``.stapsdt.base`` moved after the notes were written (prelink) gets its sites moved too."""
    data = bytearray(BINARY.read_bytes())
    (guarded,) = find_probes(str(BINARY), "tinybpf", "guarded")
    recorded = struct.pack("<QQQ", guarded.pc, guarded.base, guarded.semaphore)
    at = data.index(recorded)
    data[at:at + 24] = struct.pack("<QQQ", guarded.pc - 0x10, guarded.base - 0x10, guarded.semaphore - 0x10)
    copy = tmp_path / "prelinked"
    copy.write_bytes(bytes(data))
    (moved,) = find_probes(str(copy), "tinybpf", "guarded")
    assert (moved.pc, moved.offset, moved.semaphore, moved.semaphore_offset) == (
        guarded.pc, guarded.offset, guarded.semaphore, guarded.semaphore_offset)


def test_binary_without_notes_has_no_probes() -> None:
    assert find_probes("/bin/true") == []


@pytest.mark.parametrize(("spec", "expected"), [
    ("-4@%edi", UsdtArgument("-4@%edi", ArgKind.REGISTER, 4, True, "edi", 112)),
    ("8@%r12", UsdtArgument("8@%r12", ArgKind.REGISTER, 8, False, "r12", 24)),
    ("2@%r9w", UsdtArgument("2@%r9w", ArgKind.REGISTER, 2, False, "r9w", 64)),
    ("8@-8(%rbp)", UsdtArgument("8@-8(%rbp)", ArgKind.MEMORY, 8, False, "rbp", 32, -8)),
    ("-1@(%rax)", UsdtArgument("-1@(%rax)", ArgKind.MEMORY, 1, True, "rax", 80, 0)),
    ("4@0x10(%rsp)", UsdtArgument("4@0x10(%rsp)", ArgKind.MEMORY, 4, False, "rsp", 152, 16)),
    ("4@$5", UsdtArgument("4@$5", ArgKind.CONSTANT, 4, False, constant=5)),
    ("-8@$-1", UsdtArgument("-8@$-1", ArgKind.CONSTANT, 8, True, constant=-1)),
    ("8@counter+4(%rip)", UsdtArgument("8@counter+4(%rip)", ArgKind.MEMORY, 8, False, "rip", 128, 4,
                                       symbol="counter")),
    ("%rsi", UsdtArgument("%rsi", ArgKind.REGISTER, 8, True, "rsi", 104)),
])
def test_x86_64_argument_specs(spec: str, expected: UsdtArgument) -> None:
    assert parse_argument(spec, Machine.X86_64) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    ("8@x1", UsdtArgument("8@x1", ArgKind.REGISTER, 8, False, "x1", 8)),
    ("-4@w30", UsdtArgument("-4@w30", ArgKind.REGISTER, 4, True, "w30", 240)),
    ("-4@[sp, 12]", UsdtArgument("-4@[sp, 12]", ArgKind.MEMORY, 4, True, "sp", 248, 12)),
    ("8@[x29, -16]", UsdtArgument("8@[x29, -16]", ArgKind.MEMORY, 8, False, "x29", 232, -16)),
    ("8@[x0]", UsdtArgument("8@[x0]", ArgKind.MEMORY, 8, False, "x0", 0, 0)),
    ("4@5", UsdtArgument("4@5", ArgKind.CONSTANT, 4, False, constant=5)),
    ("-4@#-3", UsdtArgument("-4@#-3", ArgKind.CONSTANT, 4, True, constant=-3)),
])
def test_aarch64_argument_specs(spec: str, expected: UsdtArgument) -> None:
    assert parse_argument(spec, Machine.AARCH64) == expected


@pytest.mark.parametrize("spec", ["3@%eax", "8@%xmm0", "8@(%rax,%rbx,8)", "4@", "8@[x1, x2]"])
def test_unsupported_specs_are_format_errors(spec: str) -> None:
    machine = Machine.AARCH64 if "[" in spec else Machine.X86_64
    with pytest.raises(FormatError, match="USDT argument"):
        parse_argument(spec, machine)


def test_unsupported_machine() -> None:
    with pytest.raises(FormatError, match="not supported"):
        parse_arguments("8@a0", Machine.RISCV)
    assert parse_arguments("", Machine.X86_64) == ()


SIZES = st.sampled_from([1, 2, 4, 8])


@given(SIZES, st.booleans(), st.sampled_from(sorted(X86_64_PT_REGS)), st.integers(-4096, 4096),
       st.sampled_from(["register", "memory", "constant"]))
def test_x86_64_specs_round_trip(size: int, signed: bool, register: str, number: int, kind: str) -> None:
    prefix = f"{'-' if signed else ''}{size}@"
    operand = {"register": f"%{register}", "memory": f"{number}(%{register})", "constant": f"${number}"}[kind]
    arg = parse_argument(prefix + operand, Machine.X86_64)
    assert (arg.size, arg.signed, arg.kind.value) == (size, signed, kind)
    if kind == "constant":
        assert arg.constant == number
    else:
        assert (arg.register, arg.pt_regs_offset) == (register, X86_64_PT_REGS[register])
        assert arg.offset == (number if kind == "memory" else 0)


@given(SIZES, st.booleans(), st.sampled_from(sorted(AARCH64_PT_REGS)), st.integers(-4096, 4096))
def test_aarch64_memory_specs_round_trip(size: int, signed: bool, register: str, number: int) -> None:
    if register == "pc":
        return  # not an addressing base gcc emits
    arg = parse_argument(f"{'-' if signed else ''}{size}@[{register}, {number}]", Machine.AARCH64)
    assert (arg.kind, arg.size, arg.signed, arg.register, arg.offset) == (ArgKind.MEMORY, size, signed, register,
                                                                          number)
    assert arg.pt_regs_offset == AARCH64_PT_REGS[register]


def test_arm32_operands_with_spaces_inside_brackets() -> None:
    """gcc for armhf writes ``-4@[r0, #8]``: the space inside the brackets does not split the spec."""
    args = parse_arguments("-4@[r0, #8] 4@r3 -4@[fp, #-12] 4@#5", Machine.ARM)
    assert [(a.kind, a.register, a.pt_regs_offset, a.offset, a.size, a.signed) for a in args[:3]] == [
        (ArgKind.MEMORY, "r0", 0, 8, 4, True),
        (ArgKind.REGISTER, "r3", 12, 0, 4, False),
        (ArgKind.MEMORY, "fp", 44, -12, 4, True),
    ]
    assert (args[3].kind, args[3].constant) == (ArgKind.CONSTANT, 5)


def test_arm32_rejects_aarch64_registers() -> None:
    with pytest.raises(FormatError, match="unknown register"):
        parse_arguments("8@x1", Machine.ARM)
