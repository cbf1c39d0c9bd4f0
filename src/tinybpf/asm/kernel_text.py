"""Instructions in the kernel's own syntax: what the verifier log and ``bpftool prog dump xlated`` print.

``(b7) r1 = 1``, ``(85) call bpf_map_lookup_elem#1``, ``(15) if r1 == 0x4 goto pc+1``: the opcode byte in
parentheses, hex immediates in conditions, ``pc+N`` targets. This is a different language from
llvm-objdump's (:mod:`tinybpf.asm.text`), so it has its own formatter. The text follows bpftool 7.1's
copy of the kernel's disassembler, which is what a user compares against; instructions that copy predates
(cpu v4 sign extension, ``may_goto``, load-acquire...) print as the current kernel prints them.

Two things only the caller knows are asked through callbacks, as the kernel's ``bpf_insn_cbs`` does: the
name of a call target (``bpf_get_current_comm``, ``+7#bpf_prog_..._triple``) and the text of a 64-bit
immediate (``map[id:12]``).
"""
from __future__ import annotations

from typing import Callable, Optional

from tinybpf.asm.opcodes import (
    FETCH,
    LD_IMM64,
    MAY_GOTO,
    ALUOp,
    AtomicOp,
    Class,
    JumpOp,
    Mode,
    PseudoCall,
    Size,
    Source,
)
from tinybpf.asm.text import InstructionFields

CallName = Callable[[InstructionFields], Optional[str]]
"""The name of a call's target, or None for the kernel's default (``+3`` / ``unknown``)."""
ImmText = Callable[[InstructionFields], str]
"""The text of an ``ld_imm64``'s value (``insn.imm`` holds the full 64-bit constant)."""

_ALU: dict[int, str] = {ALUOp.ADD: "+=", ALUOp.SUB: "-=", ALUOp.MUL: "*=", ALUOp.DIV: "/=", ALUOp.OR: "|=", ALUOp.AND: "&=",
        ALUOp.LSH: "<<=", ALUOp.RSH: ">>=", ALUOp.NEG: "neg", ALUOp.MOD: "%=", ALUOp.XOR: "^=", ALUOp.MOV: "=",
        ALUOp.ARSH: "s>>=", ALUOp.END: "endian"}
_SIGNED_ALU: dict[int, str] = {ALUOp.DIV: "s/=", ALUOp.MOD: "s%="}
_MOVSX: dict[int, str] = {8: "(s8)", 16: "(s16)", 32: "(s32)"}
_ATOMIC_ALU: dict[int, str] = {AtomicOp.ADD: "add", AtomicOp.AND: "and", AtomicOp.OR: "or", AtomicOp.XOR: "xor"}
_SIZE: dict[int, str] = {Size.W: "u32", Size.H: "u16", Size.B: "u8", Size.DW: "u64"}
_SIGNED_SIZE: dict[int, str] = {Size.W: "s32", Size.H: "s16", Size.B: "s8"}
_JUMP: dict[int, str] = {JumpOp.JA: "jmp", JumpOp.JEQ: "==", JumpOp.JGT: ">", JumpOp.JLT: "<", JumpOp.JGE: ">=",
         JumpOp.JLE: "<=", JumpOp.JSET: "&", JumpOp.JNE: "!=", JumpOp.JSGT: "s>", JumpOp.JSLT: "s<",
         JumpOp.JSGE: "s>=", JumpOp.JSLE: "s<=", JumpOp.CALL: "call", JumpOp.EXIT: "exit"}
_ADDR_SPACE_CAST = 1


def _default_imm(insn: InstructionFields) -> str:
    return f"0x{insn.imm & 0xFFFFFFFFFFFFFFFF:x}"


def kernel_text(insn: InstructionFields, call_name: Optional[CallName] = None, imm_text: ImmText = _default_imm) -> str:
    """One instruction as the kernel prints it, without the ``N: `` index (an ``ld_imm64``'s imm is its
    whole 64-bit constant, as :meth:`tinybpf.asm.Instructions.decode` joins it)."""
    return f"({insn.opcode:02x}) {_FORMAT[insn.opcode & 0x07](insn, call_name, imm_text)}"


def _alu(insn: InstructionFields, call_name: Optional[CallName], imm_text: ImmText) -> str:
    code, op = insn.opcode, insn.opcode & 0xF0
    reg = "w" if code & 0x07 == Class.ALU else "r"
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    if op == ALUOp.END:
        if reg == "r":
            return f"r{dst} = bswap{imm} r{dst}"
        return f"r{dst} = {'be' if code & Source.TO_BE else 'le'}{imm} r{dst}"
    if op == ALUOp.NEG:
        return f"{reg}{dst} = -{reg}{dst}"
    if code == Class.ALU64 | ALUOp.MOV | Source.X and off == _ADDR_SPACE_CAST:
        return f"r{dst} = addr_space_cast(r{src}, {(imm & 0xFFFFFFFF) >> 16}, {imm & 0xFFFF})"
    symbol = _SIGNED_ALU.get(op, "") if off == 1 and op in _SIGNED_ALU else _ALU.get(op, "")
    if code & Source.X:
        sign = _MOVSX.get(off, "") if op == ALUOp.MOV else ""
        return f"{reg}{dst} {symbol} {sign}{reg}{src}"
    return f"{reg}{dst} {symbol} {imm}"


def _stx(insn: InstructionFields, call_name: Optional[CallName], imm_text: ImmText) -> str:
    mode, size = insn.opcode & 0xE0, _SIZE[Size(insn.opcode & 0x18)]
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    wide = "64" if insn.opcode & 0x18 == Size.DW else ""
    if mode == Mode.MEM:
        return f"*({size} *)(r{dst} {off:+d}) = r{src}"
    if mode != Mode.ATOMIC:
        return f"BUG_{insn.opcode:02x}"
    if imm in _ATOMIC_ALU:
        return f"lock *({size} *)(r{dst} {off:+d}) {_ALU[ALUOp(imm)]} r{src}"
    if imm & FETCH and imm & ~FETCH in _ATOMIC_ALU:
        return f"r{src} = atomic{wide}_fetch_{_ATOMIC_ALU[imm & ~FETCH]}(({size} *)(r{dst} {off:+d}), r{src})"
    if imm == AtomicOp.CMPXCHG:
        return f"r0 = atomic{wide}_cmpxchg(({size} *)(r{dst} {off:+d}), r0, r{src})"
    if imm == AtomicOp.XCHG:
        return f"r{src} = atomic{wide}_xchg(({size} *)(r{dst} {off:+d}), r{src})"
    if imm == AtomicOp.LOAD_ACQ:
        return f"r{dst} = load_acquire(({size} *)(r{src} {off:+d}))"
    if imm == AtomicOp.STORE_REL:
        return f"store_release(({size} *)(r{dst} {off:+d}), r{src})"
    return f"BUG_{insn.opcode:02x}"


def _st(insn: InstructionFields, call_name: Optional[CallName], imm_text: ImmText) -> str:
    mode = insn.opcode & 0xE0
    if mode == Mode.MEM:
        return f"*({_SIZE[Size(insn.opcode & 0x18)]} *)(r{insn.dst} {insn.off:+d}) = {insn.imm}"
    if mode == 0xC0:  # BPF_NOSPEC, kernel-internal
        return "nospec"
    return f"BUG_st_{insn.opcode:02x}"


def _ldx(insn: InstructionFields, call_name: Optional[CallName], imm_text: ImmText) -> str:
    mode, size = insn.opcode & 0xE0, Size(insn.opcode & 0x18)
    if mode == Mode.MEM:
        kind = _SIZE[size]
    elif mode == Mode.MEMSX and size in _SIGNED_SIZE:
        kind = _SIGNED_SIZE[size]
    else:
        return f"BUG_ldx_{insn.opcode:02x}"
    return f"r{insn.dst} = *({kind} *)(r{insn.src} {insn.off:+d})"


def _ld(insn: InstructionFields, call_name: Optional[CallName], imm_text: ImmText) -> str:
    mode, size = insn.opcode & 0xE0, _SIZE[Size(insn.opcode & 0x18)]
    if mode == Mode.ABS:
        return f"r0 = *({size} *)skb[{insn.imm}]"
    if mode == Mode.IND:
        return f"r0 = *({size} *)skb[r{insn.src} + {insn.imm}]"
    if insn.opcode == LD_IMM64:
        return f"r{insn.dst} = {imm_text(insn)}"
    return f"BUG_ld_{insn.opcode:02x}"


def _jmp(insn: InstructionFields, call_name: Optional[CallName], imm_text: ImmText) -> str:
    code, op = insn.opcode, insn.opcode & 0xF0
    cls = code & 0x07
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    if op == JumpOp.CALL:
        name = call_name(insn) if call_name else None
        if src == PseudoCall.CALL:
            return f"call pc{name if name is not None else f'{imm:+d}'}"
        if name is None:
            name = "kernel-function" if src == PseudoCall.KFUNC_CALL else "unknown"
        return f"call {name}#{imm}"
    if code == Class.JMP | JumpOp.JA:
        return f"goto pc{off:+d}"
    if code == Class.JMP | JumpOp.JA | Source.X:
        return f"gotox r{dst}"
    if code == Class.JMP | JumpOp.JCOND and src == MAY_GOTO:
        return f"may_goto pc{off:+d}"
    if code == Class.JMP32 | JumpOp.JA:
        return f"gotol pc{imm:+d}"
    if code == Class.JMP | JumpOp.EXIT:
        return "exit"
    reg = "w" if cls == Class.JMP32 else "r"
    symbol = _JUMP.get(op, "")
    if code & Source.X:
        return f"if {reg}{dst} {symbol} {reg}{src} goto pc{off:+d}"
    return f"if {reg}{dst} {symbol} 0x{imm & 0xFFFFFFFF:x} goto pc{off:+d}"


_FORMAT: dict[int, Callable[[InstructionFields, Optional[CallName], ImmText], str]] = {Class.LD: _ld, Class.LDX: _ldx, Class.ST: _st, Class.STX: _stx, Class.ALU: _alu,
           Class.JMP: _jmp, Class.JMP32: _jmp, Class.ALU64: _alu}

__all__ = ["CallName", "ImmText", "kernel_text"]
