"""Probes whose strings and tuples outgrow the 512-byte BPF stack keep their frame in a scratch map.

Current bpftrace stores values larger than ``on_stack_limit`` in pre-allocated memory instead of the stack.
Here the whole frame moves: a probe that does not fit is generated again with a frame of up to
``SCRATCH_LIMIT`` bytes, then every frame-pointer access of its main body is rebased on r9, which the
prologue points at the end of this CPU's slot of the ``scratch`` array map (one slot per possible CPU; a
tracing program does not migrate while it runs). Offsets below r9 stay what they were below r10.
"""
from __future__ import annotations

from typing import Union

from tinybpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R9,
    ALUOp,
    Instruction,
    JumpOp,
    Label,
    Size,
    alu64,
    call,
    jmp,
    ld_map_fd,
    mov64,
    stx,
)

SCRATCH_MAP = "scratch"
SCRATCH_LIMIT = 32760
"""The deepest frame: the largest multiple of 8 a signed 16-bit instruction offset reaches."""

BASE = R9
_KEY = -4

Item = Union[Instruction, Label]


def prologue(missing: str) -> list[Item]:
    """Point r9 at the end of this CPU's scratch slot (``frame_size`` is patched in by ``rebase``);
    jump to ``missing`` if the lookup fails."""
    return [
        call("get_smp_processor_id"),
        stx(Size.W, FP, R0, _KEY),
        ld_map_fd(R1, SCRATCH_MAP),
        mov64(R2, FP),
        alu64(ALUOp.ADD, R2, _KEY),
        call("map_lookup_elem"),
        jmp(JumpOp.JEQ, R0, 0, missing),
        mov64(BASE, R0),
        alu64(ALUOp.ADD, BASE, 0),
    ]


def rebase(code: list[Item], start: int, end: int, frame_size: int) -> None:
    """Rebase ``code[start:end]`` (the body after the prologue) from r10 onto r9; set the frame size in the
    prologue's last instruction, just before ``start``."""
    code[start - 1] = alu64(ALUOp.ADD, BASE, frame_size)
    for index in range(start, end):
        insn = code[index]
        if isinstance(insn, Instruction) and FP in (insn.dst, insn.src):
            code[index] = insn.replace(dst=BASE if insn.dst == FP else insn.dst,
                                       src=BASE if insn.src == FP else insn.src)
