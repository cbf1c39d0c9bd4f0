"""eBPF instructions as values: opcodes, a builder, encoding, and llvm-objdump-style text.

Importing this package loads the instruction model and builder only; the assembler, the
disassembler and the helper table load on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tinybpf._lazy import lazy_attributes
from tinybpf.asm.builder import (
    HasFD,
    Operand,
    Target,
    addr_space_cast,
    alu32,
    alu64,
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
    label,
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
    st,
    store_release,
    stx,
    to_be,
    to_le,
)
from tinybpf.asm.instruction import Instruction, Instructions, Label, disassemble
from tinybpf.asm.opcodes import (
    FETCH,
    FP,
    LD_IMM64,
    MAY_GOTO,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    ALUOp,
    AtomicOp,
    Class,
    JumpOp,
    Mode,
    PseudoCall,
    PseudoLoad,
    Register,
    Size,
    Source,
)

if TYPE_CHECKING:
    from tinybpf.asm.assembler import assemble
    from tinybpf.asm.helpers import Helper, helper_id, helper_name
    from tinybpf.asm.text import format_instruction

_LAZY = {
    "assemble": "tinybpf.asm.assembler",
    "format_instruction": "tinybpf.asm.text",
    "Helper": "tinybpf.asm.helpers",
    "helper_id": "tinybpf.asm.helpers",
    "helper_name": "tinybpf.asm.helpers",
}


# the assembler, disassembler and helper table load on first use
__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "FETCH", "FP", "LD_IMM64", "MAY_GOTO",
    "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10",
    "ALUOp", "AtomicOp", "Class", "HasFD", "Helper", "Instruction", "Instructions", "JumpOp", "Label",
    "Mode", "Operand", "PseudoCall", "PseudoLoad", "Register", "Size", "Source", "Target",
    "addr_space_cast", "alu32", "alu64", "assemble", "atomic_add", "atomic_and", "atomic_cmpxchg",
    "atomic_or", "atomic_xchg", "atomic_xor", "bswap", "call", "call_kfunc", "call_local",
    "disassemble", "exit_", "format_instruction", "gotol", "helper_id", "helper_name", "ja", "jmp",
    "jmp32", "label", "ld_abs", "ld_imm64", "ld_ind", "ld_map_fd", "ld_map_value", "ldx", "ldxsx",
    "load_acquire", "may_goto", "mov32", "mov64", "movsx32", "movsx64", "neg32", "neg64", "st",
    "store_release", "stx", "to_be", "to_le",
]
