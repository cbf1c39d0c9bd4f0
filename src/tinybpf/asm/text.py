"""Disassembly in llvm-objdump's BPF syntax, so listings diff cleanly against ``llvm-objdump -d``.

What llvm-objdump 14 prints is the reference: decimal immediates, ``+N``/``-N`` jump offsets, ``rN``
registers for every load and store. Instructions LLVM 14 cannot decode print as newer LLVM prints
them (cpu v4: ``r1 = (s8)r2``, ``r1 s/= r2``, ``r1 = bswap64 r1``, ``gotol +N``, ``*(s32 *)``, and
``*(u32 *)(r10 - 8) = 5``, 32-bit atomics as with ``--mattr=+alu32``). Three spellings are tinybpf's
own because LLVM's are ambiguous: a bpf-to-bpf call prints its offset signed (``call +3``, which
LLVM prints as ``call 3`` like a helper), a kfunc call is ``call kfunc 77``, and an instruction the
kernel would reject (unknown opcode, non-zero reserved field) prints every field as
``.insn code=0x62 dst=1 src=0 off=3 imm=4``. :func:`tinybpf.asm.assembler.assemble` reads all of it; :func:`tinybpf.asm.disassemble` lists whole programs.
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol

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
    PseudoLoad,
    Size,
    Source,
)

ALU_SYMBOLS: dict[int, str] = {
    ALUOp.ADD: "+=",
    ALUOp.SUB: "-=",
    ALUOp.MUL: "*=",
    ALUOp.DIV: "/=",
    ALUOp.OR: "|=",
    ALUOp.AND: "&=",
    ALUOp.LSH: "<<=",
    ALUOp.RSH: ">>=",
    ALUOp.MOD: "%=",
    ALUOp.XOR: "^=",
    ALUOp.ARSH: "s>>=",
}
SIGNED_ALU_SYMBOLS: dict[int, str] = {ALUOp.DIV: "s/=", ALUOp.MOD: "s%="}
JUMP_SYMBOLS: dict[int, str] = {
    JumpOp.JEQ: "==",
    JumpOp.JGT: ">",
    JumpOp.JGE: ">=",
    JumpOp.JSET: "&",
    JumpOp.JNE: "!=",
    JumpOp.JSGT: "s>",
    JumpOp.JSGE: "s>=",
    JumpOp.JLT: "<",
    JumpOp.JLE: "<=",
    JumpOp.JSLT: "s<",
    JumpOp.JSLE: "s<=",
}
ATOMIC_NAMES: dict[int, str] = {AtomicOp.ADD: "add", AtomicOp.OR: "or", AtomicOp.AND: "and", AtomicOp.XOR: "xor"}
ATOMIC_SYMBOLS: dict[int, str] = {AtomicOp.ADD: "+=", AtomicOp.OR: "|=", AtomicOp.AND: "&=", AtomicOp.XOR: "^="}
SIZE_BITS = {Size.B: 8, Size.H: 16, Size.W: 32, Size.DW: 64}
MOVSX_BITS = (8, 16, 32)
SWAP_BITS = (16, 32, 64)
ADDR_SPACE_CAST = 1
"""The off of ``ALU64 | MOV | X`` that makes it ``addr_space_cast`` (arena pointers, Linux 6.9)."""


class InstructionFields(Protocol):
    """The fields text is made of (:class:`tinybpf.asm.Instruction` has them); kept structural so the
    instruction model can print itself through this module without the two importing each other."""

    @property
    def opcode(self) -> int: ...
    @property
    def dst(self) -> int: ...
    @property
    def src(self) -> int: ...
    @property
    def off(self) -> int: ...
    @property
    def imm(self) -> int: ...
    @property
    def reference(self) -> Optional[str]: ...


def _mem(base: int, off: int) -> str:
    return f"r{base} + {off}" if off >= 0 else f"r{base} - {-off}"


def _alu(insn: InstructionFields) -> Optional[str]:
    reg = "r" if insn.opcode & 0x07 == Class.ALU64 else "w"
    op, by_reg = insn.opcode & 0xF0, insn.opcode & Source.X
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    if op == ALUOp.END:
        if src or off or imm not in SWAP_BITS:
            return None
        if reg == "r":
            return None if by_reg else f"r{dst} = bswap{imm} r{dst}"
        return f"r{dst} = {'be' if by_reg else 'le'}{imm} r{dst}"
    if op == ALUOp.NEG:
        return None if by_reg or src or off or imm else f"{reg}{dst} = -{reg}{dst}"
    if op == ALUOp.MOV:
        if not by_reg:
            return None if src or off else f"{reg}{dst} = {imm}"
        if off == ADDR_SPACE_CAST and reg == "r":
            return f"r{dst} = addr_space_cast(r{src}, {(imm >> 16) & 0xFFFF}, {imm & 0xFFFF})"
        if imm:
            return None
        if off == 0:
            return f"{reg}{dst} = {reg}{src}"
        if off in MOVSX_BITS and not (reg == "w" and off == 32):
            return f"{reg}{dst} = (s{off}){reg}{src}"
        return None
    symbol = SIGNED_ALU_SYMBOLS.get(op) if off == 1 else ALU_SYMBOLS.get(op) if off == 0 else None
    if symbol is None:
        return None
    if by_reg:
        return None if imm else f"{reg}{dst} {symbol} {reg}{src}"
    return None if src else f"{reg}{dst} {symbol} {imm}"


def _jump(insn: InstructionFields) -> Optional[str]:
    jmp64 = insn.opcode & 0x07 == Class.JMP
    op, by_reg = insn.opcode & 0xF0, insn.opcode & Source.X
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    if op in (JumpOp.JA, JumpOp.CALL, JumpOp.EXIT, JumpOp.JCOND):
        if by_reg or dst:
            return None
        if op == JumpOp.JA:
            if src:
                return None
            if jmp64:
                return None if imm else f"goto {off:+d}"
            return None if off else f"gotol {imm:+d}"
        if not jmp64:
            return None
        if op == JumpOp.EXIT:
            return None if src or off or imm else "exit"
        if op == JumpOp.JCOND:
            return None if src != MAY_GOTO or imm else f"may_goto {off:+d}"
        return _call(src, off, imm)
    symbol = JUMP_SYMBOLS.get(op)
    if symbol is None:
        return None
    reg = "r" if jmp64 else "w"
    if by_reg:
        return None if imm else f"if {reg}{dst} {symbol} {reg}{src} goto {off:+d}"
    return None if src else f"if {reg}{dst} {symbol} {imm} goto {off:+d}"


def _call(src: int, off: int, imm: int) -> Optional[str]:
    if src == PseudoCall.KFUNC_CALL:
        if imm < 0:
            return None
        return f"call kfunc {imm}, {off}" if off else f"call kfunc {imm}"
    if off:
        return None
    if src == PseudoCall.CALL:
        return f"call {imm:+d}"
    return f"call {imm}" if src == 0 and imm >= 0 else None


def _ld(insn: InstructionFields) -> Optional[str]:
    dst, src, off, imm = insn.dst, insn.src, insn.off, insn.imm
    if insn.opcode == LD_IMM64:
        if off:
            return None
        if src == 0:
            return f"r{dst} = {imm} ll"
        return f"ld_pseudo\tr{dst}, {src}, {imm}" if src in PseudoLoad._value2member_map_ else None
    mode, size = insn.opcode & 0xE0, Size(insn.opcode & 0x18)
    if size == Size.DW or dst or off:
        return None
    bits = SIZE_BITS[size]
    if mode == Mode.ABS:
        return None if src else f"r0 = *(u{bits} *)skb[{imm}]"
    if mode == Mode.IND:
        index = f"r{src}" if imm == 0 else _mem(src, imm)
        return f"r0 = *(u{bits} *)skb[{index}]"
    return None


def _ldx(insn: InstructionFields) -> Optional[str]:
    mode, size = insn.opcode & 0xE0, Size(insn.opcode & 0x18)
    if insn.imm:
        return None
    bits = SIZE_BITS[size]
    if mode == Mode.MEM:
        kind = "u"
    elif mode == Mode.MEMSX and size != Size.DW:
        kind = "s"
    else:
        return None
    return f"r{insn.dst} = *({kind}{bits} *)({_mem(insn.src, insn.off)})"


def _st(insn: InstructionFields) -> Optional[str]:
    if insn.opcode & 0xE0 != Mode.MEM or insn.src:
        return None
    bits = SIZE_BITS[Size(insn.opcode & 0x18)]
    return f"*(u{bits} *)({_mem(insn.dst, insn.off)}) = {insn.imm}"


def _stx(insn: InstructionFields) -> Optional[str]:
    mode, size = insn.opcode & 0xE0, Size(insn.opcode & 0x18)
    if mode == Mode.MEM:
        return None if insn.imm else f"*(u{SIZE_BITS[size]} *)({_mem(insn.dst, insn.off)}) = r{insn.src}"
    return _atomic(insn, size) if mode == Mode.ATOMIC else None


def _atomic(insn: InstructionFields, size: Size) -> Optional[str]:
    imm, dst, src, bits = insn.imm, insn.dst, insn.src, SIZE_BITS[size]
    reg = "r" if size == Size.DW else "w"
    if imm == AtomicOp.LOAD_ACQ:
        # load-acquire reads from src + off into dst: the only atomic whose base is src.
        return f"{reg}{dst} = load_acquire((u{bits} *)({_mem(src, insn.off)}))"
    addr = _mem(dst, insn.off)
    if imm == AtomicOp.STORE_REL:
        return f"store_release((u{bits} *)({addr}), {reg}{src})"
    if size not in (Size.W, Size.DW):
        return None
    if imm in ATOMIC_SYMBOLS:
        # llvm-objdump decodes the 32-bit add as its pre-alu32 XADDW, with an r register.
        value = "r" if imm == AtomicOp.ADD else reg
        return f"lock *(u{bits} *)({addr}) {ATOMIC_SYMBOLS[imm]} {value}{src}"
    if imm & FETCH and imm & ~FETCH in ATOMIC_NAMES:
        name = ATOMIC_NAMES[imm & ~FETCH]
        return f"{reg}{src} = atomic_fetch_{name}((u{bits} *)({addr}), {reg}{src})"
    wide = size == Size.DW
    if imm == AtomicOp.XCHG:
        return f"{reg}{src} = {'xchg_64' if wide else 'xchg32_32'}({addr}, {reg}{src})"
    if imm == AtomicOp.CMPXCHG:
        return f"{reg}0 = {'cmpxchg_64' if wide else 'cmpxchg32_32'}({addr}, {reg}0, {reg}{src})"
    return None


_FORMATTERS: dict[int, Callable[[InstructionFields], Optional[str]]] = {
    Class.LD: _ld,
    Class.LDX: _ldx,
    Class.ST: _st,
    Class.STX: _stx,
    Class.ALU: _alu,
    Class.JMP: _jump,
    Class.JMP32: _jump,
    Class.ALU64: _alu,
}


def canonical_text(insn: InstructionFields) -> Optional[str]:
    """llvm-objdump's text for an instruction the kernel may accept, None for any other bit pattern."""
    if insn.dst > 10 or insn.src > 10:
        return None
    return _FORMATTERS[insn.opcode & 0x07](insn)


def raw_text(insn: InstructionFields) -> str:
    """Every field spelled out, for an instruction with no canonical text."""
    return f".insn code={insn.opcode:#04x} dst={insn.dst} src={insn.src} off={insn.off} imm={insn.imm}"


def format_instruction(insn: InstructionFields) -> str:
    """One line of disassembly; a reference is appended as ``<name>`` like llvm-objdump's symbols."""
    text = canonical_text(insn) or raw_text(insn)
    return f"{text} <{insn.reference}>" if insn.reference else text
