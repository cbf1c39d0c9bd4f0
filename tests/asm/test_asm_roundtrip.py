"""Property tests: every instruction survives bytes -> Instruction -> text -> Instruction -> bytes."""
from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from tinybpf.asm import (
    LD_IMM64,
    ALUOp,
    Instruction,
    Instructions,
    JumpOp,
    PseudoLoad,
    Register,
    Size,
    addr_space_cast,
    alu32,
    alu64,
    assemble,
    atomic_add,
    atomic_and,
    atomic_cmpxchg,
    atomic_or,
    atomic_xchg,
    atomic_xor,
    bswap,
    call,
    call_kfunc,
    call_local,
    exit_,
    gotol,
    ja,
    jmp,
    jmp32,
    ld_abs,
    ld_imm64,
    ld_ind,
    ld_map_fd,
    ld_map_value,
    ldx,
    ldxsx,
    load_acquire,
    may_goto,
    mov32,
    mov64,
    movsx32,
    movsx64,
    neg32,
    neg64,
    store_release,
    stx,
    to_be,
    to_le,
)
from tinybpf.asm import (
    st as store_imm,
)
from tinybpf.asm.text import format_instruction

regs = st.sampled_from(list(Register))
imm32 = st.integers(-(1 << 31), (1 << 31) - 1)
imm64 = st.integers(-(1 << 63), (1 << 63) - 1)
off16 = st.integers(-(1 << 15), (1 << 15) - 1)
u32 = st.integers(0, (1 << 32) - 1)
sizes = st.sampled_from(list(Size))
narrow = st.sampled_from([Size.B, Size.H, Size.W])
wide = st.sampled_from([Size.W, Size.DW])
operands = st.one_of(regs, imm32)
alu_ops = st.sampled_from([op for op in ALUOp if op not in (ALUOp.NEG, ALUOp.END)])
jump_ops = st.sampled_from([op for op in JumpOp if op not in (JumpOp.JA, JumpOp.CALL, JumpOp.EXIT, JumpOp.JCOND)])
swaps = st.sampled_from([to_be, to_le, bswap])
atomics = st.sampled_from([atomic_add, atomic_or, atomic_and, atomic_xor])

valid_instructions = st.one_of(
    st.builds(alu64, alu_ops, regs, operands),
    st.builds(alu32, alu_ops, regs, operands),
    st.builds(alu64, st.sampled_from([ALUOp.DIV, ALUOp.MOD]), regs, operands, signed=st.just(True)),
    st.builds(alu32, st.sampled_from([ALUOp.DIV, ALUOp.MOD]), regs, operands, signed=st.just(True)),
    st.builds(mov64, regs, operands),
    st.builds(mov32, regs, operands),
    st.builds(neg64, regs),
    st.builds(neg32, regs),
    st.builds(movsx64, regs, regs, st.sampled_from([8, 16, 32])),
    st.builds(movsx32, regs, regs, st.sampled_from([8, 16])),
    st.builds(lambda swap, dst, bits: swap(dst, bits), swaps, regs, st.sampled_from([16, 32, 64])),
    st.builds(addr_space_cast, regs, regs, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    st.builds(ld_imm64, regs, imm64),
    st.builds(ld_map_fd, regs, st.integers(0, (1 << 31) - 1)),
    st.builds(ld_map_value, regs, st.integers(0, (1 << 31) - 1), u32),
    st.builds(
        lambda dst, src, imm: Instruction(LD_IMM64, dst, src, imm=imm),
        regs,
        st.sampled_from([PseudoLoad.BTF_ID, PseudoLoad.FUNC, PseudoLoad.MAP_IDX, PseudoLoad.MAP_IDX_VALUE]),
        imm64,
    ),
    st.builds(ld_abs, narrow, imm32),
    st.builds(ld_ind, narrow, regs, imm32),
    st.builds(ldx, sizes, regs, regs, off16),
    st.builds(ldxsx, narrow, regs, regs, off16),
    st.builds(stx, sizes, regs, regs, off16),
    st.builds(store_imm, sizes, regs, off16, imm32),
    st.builds(lambda op, *args: op(*args), atomics, wide, regs, regs, off16, st.booleans()),
    st.builds(atomic_xchg, wide, regs, regs, off16),
    st.builds(atomic_cmpxchg, wide, regs, regs, off16),
    st.builds(load_acquire, sizes, regs, regs, off16),
    st.builds(store_release, sizes, regs, regs, off16),
    st.builds(jmp, jump_ops, regs, operands, off16),
    st.builds(jmp32, jump_ops, regs, operands, off16),
    st.builds(ja, off16),
    st.builds(gotol, imm32),
    st.builds(may_goto, off16),
    st.builds(call, st.integers(0, (1 << 31) - 1)),
    st.builds(call_local, imm32),
    st.builds(call_kfunc, st.integers(0, (1 << 31) - 1), off16),
    st.just(exit_()),
)


def encode_one(insn: Instruction, byteorder: str) -> bytes:
    return Instructions([insn]).encode(byteorder)


@given(valid_instructions, st.sampled_from(["little", "big"]))
def test_valid_instructions_round_trip_through_bytes_and_text(insn: Instruction, byteorder: str) -> None:
    data = encode_one(insn, byteorder)
    decoded = Instructions.decode(data, byteorder)
    assert list(decoded) == [insn]
    text = format_instruction(insn)
    assert not text.startswith(".insn"), text
    assert list(assemble(text)) == [insn]
    assert assemble(text).encode(byteorder) == data


single_slot = st.binary(min_size=8, max_size=8).filter(lambda b: b[0] != LD_IMM64)
double_slot = st.tuples(st.binary(min_size=7, max_size=7), st.binary(min_size=4, max_size=4)).map(
    lambda parts: bytes([LD_IMM64]) + parts[0] + bytes(4) + parts[1]
)


@given(st.lists(st.one_of(single_slot, double_slot), max_size=8), st.sampled_from(["little", "big"]))
def test_any_bit_pattern_round_trips(chunks: list[bytes], byteorder: str) -> None:
    """Invalid instructions print as ``.insn`` with every field, so even garbage round-trips."""
    data = b"".join(chunks)
    program = Instructions.decode(data, byteorder)
    assert assemble(str(program)).encode(byteorder) == data


@given(imm64, st.sampled_from(list(Register)))
def test_ld_imm64_halves(value: int, dst: Register) -> None:
    data = encode_one(ld_imm64(dst, value), "little")
    _, _, _, low, code2, regs2, off2, high = struct.unpack("<BBhIBBhi", data)
    assert (code2, regs2, off2) == (0, 0, 0)
    assert high << 32 | low == value
