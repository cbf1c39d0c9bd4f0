"""The committed armhf test binary read on any host: ELF32 ARM symbols (Thumb bit 0) and arm32 USDT notes."""
from __future__ import annotations

from pathlib import Path

import pytest

from tinybpf.elf import ElfFile, Machine
from tinybpf.elf.usdt import ArgKind, find_probes
from tinybpf.errors import NotSupported
from tinybpf.symbols.user import binary_symbols, uprobe_offset

TARGET = Path(__file__).resolve().parent / "data" / "uprobe_target"


def test_it_is_a_32_bit_arm_executable() -> None:
    header = ElfFile.from_path(str(TARGET)).header
    assert (header.bits, header.machine) == (32, Machine.ARM)


def test_thumb_functions_resolve_at_their_first_instruction_and_refuse_uprobes() -> None:
    """thumb_mul's st_value is odd (Thumb state): its code is at the even address, and a 32-bit ARM kernel
    cannot uprobe it (arch/arm decodes ARM instructions only), which is said before the kernel is asked."""
    elf = ElfFile.from_path(str(TARGET))
    raw = {s.name: s.value for s in elf.symbols() if s.name in ("arm_add", "thumb_mul")}
    assert raw["thumb_mul"] & 1 and not raw["arm_add"] & 1
    index = binary_symbols(str(TARGET))
    assert index.by_name("thumb_mul")[0].value == raw["thumb_mul"] - 1
    assert index.file_offset("thumb_mul") % 2 == 0
    with pytest.raises(NotSupported, match="Thumb function 'thumb_mul'"):
        uprobe_offset(str(TARGET), "thumb_mul")
    assert uprobe_offset(str(TARGET), "arm_add") % 4 == 0
    assert index.resolve(raw["thumb_mul"] + 1) == ("thumb_mul", 2)


def test_usdt_arguments_are_arm_registers() -> None:
    (probe,) = find_probes(str(TARGET), "tinybpf", "pair")
    args = probe.arguments
    assert [a.kind for a in args] == [ArgKind.REGISTER] * 3
    assert all(a.register.startswith("r") and a.pt_regs_offset == 4 * int(a.register[1:]) for a in args)
    assert [(a.size, a.signed) for a in args] == [(4, True), (4, True), (4, False)]
