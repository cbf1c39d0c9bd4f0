"""Registers and stack slots for the code generator.

Values that must survive a helper call live in the callee-saved registers r6-r9 (r6 is the saved context
when a probe reads it); r0-r5 are scratch within one emitted sequence. When the pool runs dry the oldest
live value is spilled to an 8-byte stack slot and reloaded when next used, so expressions of any depth
compile. The stack is a bump allocator below the frame pointer: variables get slots for the whole
probe, temporaries are released after each statement.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from tinybpf.asm import FP, Register, Size, ldx, stx
from tinybpf.errors import CompileError

STACK_LIMIT = 512
ACCESS_SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


@dataclass(eq=False)
class Value:
    """An integer value: a constant, a register, or a spilled stack slot (``slot`` is an fp offset)."""

    const: Optional[int] = None
    reg: Optional[Register] = None
    slot: Optional[int] = None
    signed: bool = True

    @property
    def is_const(self) -> bool:
        return self.const is not None


class StackTooDeep(CompileError):
    """The frame outgrew its limit (the compiler then tries a scratch-map frame, see ``scratch``)."""


class Stack:
    """Stack offsets (negative, from r10) handed out downwards, 8-byte aligned."""

    def __init__(self, limit: int = STACK_LIMIT) -> None:
        self.top = 0
        self.deepest = 0
        self.limit = limit

    def alloc(self, size: int) -> int:
        self.top += (size + 7) // 8 * 8
        if self.top > self.limit:
            raise StackTooDeep(f"the probe needs more than {self.limit} bytes of BPF stack "
                               "(fewer or shorter strings and tuples, or a smaller BPFTRACE_STRLEN)")
        self.deepest = max(self.deepest, self.top)
        return -self.top

    def mark(self) -> int:
        return self.top

    def release(self, mark: int) -> None:
        self.top = mark


class Registers:
    """The callee-saved register pool with spilling."""

    def __init__(self, emit: Callable[[object], None], stack: Stack, reserved: list[Register]) -> None:
        self.emit = emit
        self.stack = stack
        self.free = [r for r in (Register.R9, Register.R8, Register.R7, Register.R6) if r not in reserved]
        self.live: list[Value] = []

    def alloc(self, value: Value) -> Register:
        """A free register for ``value``, spilling the oldest live value if none is free."""
        if not self.free:
            self.spill(self.live[0])
        reg = self.free.pop()
        value.reg = reg
        value.slot = None
        value.const = None
        self.live.append(value)
        return reg

    def spill(self, value: Value) -> None:
        assert value.reg is not None
        slot = self.stack.alloc(8)
        self.emit(stx(Size.DW, FP, value.reg, slot))
        self.release_reg(value)
        value.slot = slot

    def spill_all(self) -> None:
        for value in list(self.live):
            self.spill(value)

    def release_reg(self, value: Value) -> None:
        if value.reg is not None and value in self.live:
            self.live.remove(value)
            self.free.append(value.reg)
        value.reg = None

    def release(self, value: Value) -> None:
        self.release_reg(value)

    def own(self, value: Value) -> Register:
        """``value`` in a pool register it may overwrite (loading a constant or a spilled slot)."""
        from tinybpf.asm import ld_imm64, mov64

        if value.reg is not None:
            return value.reg
        const, slot = value.const, value.slot
        reg = self.alloc(value)
        if slot is not None:
            self.emit(ldx(Size.DW, reg, FP, slot))
        elif const is not None:
            self.emit(mov64(reg, const) if -(1 << 31) <= const < (1 << 31) else ld_imm64(reg, const))
        return reg


def chunk_size(offset: int, remaining: int) -> int:
    """The widest access (8, 4, 2, 1) that is aligned at ``offset`` and fits in ``remaining``."""
    for size in (8, 4, 2, 1):
        if remaining >= size and offset % size == 0:
            return size
    return 1
