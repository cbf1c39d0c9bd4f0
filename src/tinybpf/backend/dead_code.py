"""Dead-code elimination over virtual registers: an instruction whose only effect is a value nobody reads
goes, and so, in turn, do the instructions that fed only it."""
from __future__ import annotations

from tinybpf.asm import Instruction
from tinybpf.asm.opcodes import LD_IMM64, VIRTUAL_BASE, Class
from tinybpf.backend.cfg import Item, defs_uses, liveness

_PURE = (Class.ALU, Class.ALU64, Class.LDX)  # writes its destination register and nothing else


def eliminate(code: list[Item]) -> tuple[list[Item], list[int], list[int]]:
    """The live code, with the liveness of what is left (``cfg.liveness``)."""
    while True:
        live_in, live_out = liveness(code)
        kept = [item for i, item in enumerate(code) if not _dead(item, live_out[i])]
        if len(kept) == len(code):
            return code, live_in, live_out
        code = kept


def _dead(item: Item, live_out: int) -> bool:
    if not isinstance(item, Instruction) or item.dst < VIRTUAL_BASE:
        return False
    if item.opcode != LD_IMM64 and item.opcode & 0x07 not in _PURE:
        return False
    written, _ = defs_uses(item)
    return not written & live_out
