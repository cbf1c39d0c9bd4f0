"""The instruction model: encoding, decoding, labels."""
from __future__ import annotations

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    ALUOp,
    Instruction,
    Instructions,
    JumpOp,
    Size,
    alu64,
    call_local,
    exit_,
    gotol,
    ja,
    jmp,
    label,
    ld_imm64,
    ldx,
    mov64,
)
from tinybpf.errors import FormatError


def test_little_and_big_endian_swap_the_register_nibbles() -> None:
    insn = Instructions([ldx(Size.W, R1, R2, -8)])
    assert insn.encode("little") == bytes([0x61, 0x21, 0xF8, 0xFF, 0, 0, 0, 0])
    assert insn.encode("big") == bytes([0x61, 0x12, 0xFF, 0xF8, 0, 0, 0, 0])
    assert Instructions.decode(insn.encode("big"), "big") == insn


def test_ld_imm64_is_one_instruction_of_two_slots() -> None:
    program = Instructions([ld_imm64(R1, 0x1122334455667788), exit_()])
    data = program.encode()
    assert len(data) == 24 and program.slots == 3
    assert data[:16] == bytes.fromhex("1801000088776655 0000000044332211".replace(" ", ""))
    assert [slot for slot, _ in program.iter_slots()] == [0, 2]
    assert Instructions.decode(data)[0].width == 2


def test_immediates_accept_unsigned_spellings_and_store_signed() -> None:
    assert mov64(R1, 0xFFFFFFFF) == mov64(R1, -1)
    assert ld_imm64(R1, 0xFFFFFFFFFFFFFFFF).imm == -1
    with pytest.raises(ValueError, match="does not fit in 32 bits"):
        mov64(R1, 1 << 32)
    with pytest.raises(ValueError, match="register"):
        Instruction(0xB7, dst=16)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x95\0\0\0\0\0\0", "not a multiple of 8"),
        (bytes.fromhex("1801000001000000"), "lacks its second half"),
        (bytes.fromhex("1801000001000000" "0500000000000000"), "second half"),
    ],
)
def test_decoding_rejects_truncated_input(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        Instructions.decode(data)


def test_jumps_resolve_to_labels_counting_ld_imm64_as_two_slots() -> None:
    program = Instructions([
        jmp(JumpOp.JEQ, R1, 0, "out"),
        ld_imm64(R0, 1),
        ja("out"),
        label("out"),
        exit_(),
        jmp(JumpOp.JNE, R1, R2, "out"),
    ])
    resolved = program.resolve()
    assert [insn.off for insn in resolved] == [3, 0, 0, 0, -2]
    assert resolved[3].symbol == "out"
    assert Instructions.decode(program.encode()) == [insn.replace(reference=None, symbol=None) for insn in resolved]


def test_calls_and_gotol_resolve_into_imm() -> None:
    program = Instructions([call_local("f"), gotol("f"), exit_(), label("f"), mov64(R0, 1), exit_()])
    resolved = program.resolve()
    assert (resolved[0].imm, resolved[1].imm) == (2, 1)


def test_unknown_label_and_far_jump_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown label 'nowhere'"):
        Instructions([ja("nowhere"), exit_()]).encode()
    far = Instructions([ja("end"), *[mov64(R0, 0)] * 40000, label("end"), exit_()])
    with pytest.raises(ValueError, match="beyond 16 bits"):
        far.encode()
    assert Instructions([gotol("end"), *far[1:]]).resolve()[0].imm == 40000


def test_label_misuse() -> None:
    with pytest.raises(ValueError, match="not followed"):
        Instructions([exit_(), label("end")])
    with pytest.raises(ValueError, match="same instruction"):
        Instructions([label("a"), label("b"), exit_()])
    with pytest.raises(ValueError, match="defined twice"):
        Instructions([label("a"), exit_(), label("a"), exit_()]).resolve()


def test_instructions_are_immutable_hashable_values() -> None:
    insn = alu64(ALUOp.ADD, R1, 22)
    with pytest.raises(AttributeError):
        insn.imm = 5  # type: ignore[misc]
    assert {insn, alu64(ALUOp.ADD, R1, 22)} == {insn}
    assert insn.replace(imm=23) == alu64(ALUOp.ADD, R1, 23)


def test_decoding_a_million_instructions() -> None:
    """How fast: benchmarks/printing.py."""
    data = Instructions([mov64(R1, 5), ld_imm64(R2, 7), ldx(Size.DW, R0, R1, 8), exit_()]).encode() * 200_000
    program = Instructions.decode(data)
    assert len(program) == 800_000
