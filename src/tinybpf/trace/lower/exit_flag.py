"""A one-word array that ``exit()`` sets, so the probe that called it stops updating maps at once.

``exit()`` only asks user space to stop; until the probes are detached they keep firing (every
millisecond for ``interval:ms:1``) and would change maps after the script meant to end. Timer probes that
call ``exit()`` check the flag first and return while it is set. Other probes keep running until they are
detached, as bpftrace's do: a uretprobe that calls ``exit()`` still counts the calls that follow it
(the suite's ``Sum casted retval`` counts all 221).
"""
from __future__ import annotations

from typing import Callable

from tinybpf.asm import FP, R0, R1, R2, ALUOp, JumpOp, Size, alu64, call, jmp, ld_map_fd, ldx, mov64, st

EXIT_FLAG_MAP = "exit_flag"
TIMER_PROVIDERS = ("interval", "profile")


def _lookup(emit: Callable[[object], None], key_slot: int) -> None:
    emit(st(Size.W, FP, key_slot, 0))
    emit(ld_map_fd(R1, EXIT_FLAG_MAP))
    emit(mov64(R2, FP))
    emit(alu64(ALUOp.ADD, R2, key_slot))
    emit(call("map_lookup_elem"))


def emit_set(emit: Callable[[object], None], key_slot: int, skip: str) -> None:
    """flag = 1 (``skip`` is a fresh label placed by the caller after this code)."""
    _lookup(emit, key_slot)
    emit(jmp(JumpOp.JEQ, R0, 0, skip))
    emit(st(Size.DW, R0, 0, 1))


def emit_check(emit: Callable[[object], None], key_slot: int, out: str) -> None:
    """Jump to ``out`` when the flag is set."""
    _lookup(emit, key_slot)
    emit(jmp(JumpOp.JEQ, R0, 0, out))
    emit(ldx(Size.DW, R1, R0, 0))
    emit(jmp(JumpOp.JNE, R1, 0, out))
