"""The control-flow graph of an instruction list with symbolic labels, and register liveness over it.

Registers are numbers: r0-r10 and the virtual registers of ``asm.opcodes.VirtualRegister``. Sets of them
are ints used as bit sets (bit n is register n), which keeps the fixed-point iteration cheap in Python.
"""
from __future__ import annotations

from typing import Union

from tinybpf.asm import Instruction, Label
from tinybpf.asm.opcodes import FETCH, LD_IMM64, AtomicOp, Class, JumpOp, Mode, Source

Item = Union[Instruction, Label]

_CALL_USES = 0b111110  # r1-r5: a call may read every argument register
_CALL_DEFS = 0b111111  # r0-r5: it returns in r0 and clobbers the arguments
_R0 = 1


def defs_uses(insn: Instruction) -> tuple[int, int]:
    """The registers ``insn`` writes and reads, as bit sets."""
    cls = insn.opcode & 0x07
    dst, src = 1 << insn.dst, 1 << insn.src
    if insn.opcode == LD_IMM64:
        return dst, 0  # src is the pseudo-load kind, not a register
    if cls in (Class.ALU, Class.ALU64):
        op = insn.opcode & 0xF0
        uses = src if insn.opcode & Source.X and op not in (0x80, 0xD0) else 0  # NEG and END have no src
        return dst, uses | (0 if op == 0xB0 else dst)  # MOV does not read dst
    if cls == Class.LDX:
        return dst, src
    if cls == Class.ST:
        return 0, dst
    if cls == Class.STX:
        if insn.opcode & 0xE0 != Mode.ATOMIC:
            return 0, dst | src
        if insn.imm == AtomicOp.CMPXCHG:
            return _R0, dst | src | _R0
        return (src if insn.imm & FETCH else 0), dst | src
    if cls in (Class.JMP, Class.JMP32):
        op = insn.opcode & 0xF0
        if op == JumpOp.CALL:
            return _CALL_DEFS, _CALL_USES
        if op == JumpOp.EXIT:
            return 0, _R0
        if op in (JumpOp.JA, JumpOp.JCOND):
            return 0, 0
        return 0, dst | (src if insn.opcode & Source.X else 0)
    return _CALL_DEFS, _CALL_USES | dst | src  # legacy packet loads (LD_ABS/LD_IND) act like calls


def is_jump(insn: Instruction) -> bool:
    """A jump within the function (conditional or not), aimed by label or offset."""
    if insn.opcode & 0x07 not in (Class.JMP, Class.JMP32):
        return False
    return insn.opcode & 0xF0 not in (JumpOp.CALL, JumpOp.EXIT)


def falls_through(insn: Instruction) -> bool:
    if insn.opcode & 0x07 not in (Class.JMP, Class.JMP32):
        return True
    return insn.opcode & 0xF0 not in (JumpOp.JA, JumpOp.EXIT)


def _offset(insn: Instruction) -> int:
    return insn.imm if insn.opcode == (Class.JMP32 | JumpOp.JA) else insn.off  # gotol keeps it in imm


def label_offsets(code: list[Item]) -> list[Item]:
    """``code`` with every jump aimed at a label (numeric offsets get one), so instructions can be inserted."""
    slots: list[int] = []
    slot = 0
    for item in code:
        slots.append(slot)
        if isinstance(item, Instruction):
            slot += item.width
    numeric = [isinstance(item, Instruction) and is_jump(item) and item.reference is None for item in code]
    wanted: dict[int, str] = {}
    for index, item in enumerate(code):
        if numeric[index]:
            assert isinstance(item, Instruction)
            wanted.setdefault(slots[index] + item.width + _offset(item), f"_off_{len(wanted)}")
    if not wanted:
        return code
    out: list[Item] = []
    placed = set()
    for index, item in enumerate(code):
        if isinstance(item, Instruction):
            if slots[index] in wanted and slots[index] not in placed:
                out.append(Label(wanted[slots[index]]))
                placed.add(slots[index])
            if numeric[index]:
                target = wanted[slots[index] + item.width + _offset(item)]
                item = item.replace(off=0, imm=0 if item.opcode == (Class.JMP32 | JumpOp.JA) else item.imm,
                                    reference=target)
        out.append(item)
    return out


def liveness(code: list[Item]) -> tuple[list[int], list[int]]:
    """Registers live into and out of each item (labels get their successor's), as bit sets."""
    count = len(code)
    where = {item.name: i for i, item in enumerate(code) if isinstance(item, Label)}
    succ: list[tuple[int, ...]] = []
    defs, uses = [0] * count, [0] * count
    for i, item in enumerate(code):
        if isinstance(item, Label):
            succ.append((i + 1,) if i + 1 < count else ())
            continue
        defs[i], uses[i] = defs_uses(item)
        targets = []
        if falls_through(item) and i + 1 < count:
            targets.append(i + 1)
        if is_jump(item) and item.reference is not None:
            targets.append(where[item.reference])
        succ.append(tuple(targets))
    live_in, live_out = [0] * count, [0] * count
    changed = True
    while changed:
        changed = False
        for i in range(count - 1, -1, -1):
            out = 0
            for s in succ[i]:
                out |= live_in[s]
            new_in = uses[i] | (out & ~defs[i])
            if out != live_out[i] or new_in != live_in[i]:
                live_out[i], live_in[i] = out, new_in
                changed = True
    return live_in, live_out
