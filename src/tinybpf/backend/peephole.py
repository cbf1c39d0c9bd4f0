"""Peephole optimisation of generated code, so probes cost about what LLVM -O2 makes of bpftrace's IR.

Works on the instruction list with labels still symbolic. Each rule is local and keeps the program's
meaning; liveness of registers is computed over the whole control-flow graph where a rule needs it.
"""
from __future__ import annotations

from typing import Union

from tinybpf.asm import Instruction, Label
from tinybpf.asm.opcodes import Class, JumpOp

Item = Union[Instruction, Label]


def optimise(code: list[Item]) -> list[Item]:
    """Apply the rules until nothing changes."""
    while True:
        before = len(code)
        code = _drop_unreachable(_drop_jumps_to_next(code))
        if len(code) == before:
            return _merge_labels(code)


def _merge_labels(code: list[Item]) -> list[Item]:
    """Consecutive labels name one instruction: keep the first, aim every jump at it, drop unused ones."""
    alias = {}
    out: list[Item] = []
    for item in code:
        if isinstance(item, Label) and out and isinstance(out[-1], Label):
            alias[item.name] = out[-1].name
            continue
        out.append(item)
    used = set()
    result: list[Item] = []
    for item in out:
        if isinstance(item, Instruction) and item.reference is not None and item.reference in alias:
            item = item.with_reference(alias[item.reference])
        if isinstance(item, Instruction) and item.reference is not None:
            used.add(item.reference)
        result.append(item)
    return [item for item in result if not isinstance(item, Label) or item.name in used]


def _is_ja(item: Item) -> bool:
    return isinstance(item, Instruction) and item.opcode == (Class.JMP | JumpOp.JA) and item.reference is not None


def _drop_jumps_to_next(code: list[Item]) -> list[Item]:
    """``goto L; L:`` -> ``L:``."""
    out: list[Item] = []
    for i, item in enumerate(code):
        if _is_ja(item):
            assert isinstance(item, Instruction)
            j = i + 1
            following = set()
            while j < len(code) and isinstance(code[j], Label):
                following.add(code[j].name)  # type: ignore[union-attr]
                j += 1
            if item.reference in following:
                continue
        out.append(item)
    return out


def _drop_unreachable(code: list[Item]) -> list[Item]:
    """Nothing runs after ``goto``/``exit`` until a label some jump aims at: the verifier rejects dead code."""
    targets = {item.reference for item in code if isinstance(item, Instruction) and item.reference is not None}
    out: list[Item] = []
    dead = False
    for item in code:
        if isinstance(item, Label):
            if item.name in targets:
                dead = False
                out.append(item)
            continue
        if dead:
            continue
        out.append(item)
        if _is_ja(item) or item.opcode == (Class.JMP | JumpOp.EXIT):
            dead = True
    return out
