"""The per-CPU count of output records the ring buffer had no room for, so no loss goes unreported.

``bpf_ringbuf_output`` fails (a negative return) and ``bpf_ringbuf_reserve`` returns NULL when the
consumer has fallen a full buffer behind. Either way the record is gone; the probe adds one to its CPU's
slot of a one-element per-CPU array, and user space prints the growth of the sum as bpftrace does
(``Lost N events``). Per-CPU slots need no atomics: a program does not migrate while it runs.
"""
from __future__ import annotations

from typing import Callable

from tinybpf.asm import FP, R0, R1, R2, ALUOp, JumpOp, Size, alu64, call, jmp, ld_map_fd, ldx, mov64, st, stx

EVENT_LOSS_MAP = "event_loss"


def emit_count(emit: Callable[[object], None], key_slot: int, done: str) -> None:
    """Add one to this CPU's counter; ``key_slot`` is a free 8-byte stack slot, ``done`` the label that
    the caller places right after this code."""
    emit(st(Size.W, FP, key_slot, 0))
    emit(ld_map_fd(R1, EVENT_LOSS_MAP))
    emit(mov64(R2, FP))
    emit(alu64(ALUOp.ADD, R2, key_slot))
    emit(call("map_lookup_elem"))
    emit(jmp(JumpOp.JEQ, R0, 0, done))
    emit(ldx(Size.DW, R1, R0, 0))
    emit(alu64(ALUOp.ADD, R1, 1))
    emit(stx(Size.DW, R0, R1, 0))


def emit_output_check(emit: Callable[[object], None], key_slot: int, done: str) -> None:
    """After ``bpf_ringbuf_output``: count the record when the helper failed."""
    emit(jmp(JumpOp.JSGE, R0, 0, done))
    emit_count(emit, key_slot, done)
