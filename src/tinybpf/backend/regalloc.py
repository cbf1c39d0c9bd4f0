"""Registers and stack slots for a code generator.

A front end gives every value its own virtual register (``Registers.alloc``) and emits instructions over
them, with r0-r5 and r10 named directly where the helper-call ABI fixes them. ``allocate`` then computes
liveness over the control-flow graph of each function and maps the virtual registers onto the callee-saved
r6-r9, so values survive helper calls (dead values are dropped first, and a copy between values that do
not overlap vanishes). When more values are live at once than the pool holds, the ones with the longest
ranges per use live in 8-byte stack slots below the whole frame, loaded into a free register when used and
stored back when that register is needed or the block ends. A value keeps one place for its whole life,
so every path into a label agrees where it is. The stack is a bump allocator below the frame pointer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, cast

from tinybpf.asm import FP, Instruction, Label, Register, Size, ldx, stx
from tinybpf.asm.opcodes import (
    LD_IMM64,
    VIRTUAL_BASE,
    ALUOp,
    Class,
    JumpOp,
    PseudoCall,
    PseudoLoad,
    Source,
    VirtualRegister,
)
from tinybpf.backend import dead_code
from tinybpf.backend.cfg import Item, defs_uses, label_offsets
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
    """Virtual registers for a function's values, over the pool of physical ones ``allocate`` maps them to."""

    def __init__(self, emit: Callable[[object], None], stack: Stack, reserved: list[Register]) -> None:
        self.emit = emit
        self.stack = stack
        self.pool = [r for r in (Register.R6, Register.R7, Register.R8, Register.R9) if r not in reserved]
        self.count = 0

    def alloc(self, value: Value) -> Register:
        """A new virtual register for ``value``."""
        reg = cast(Register, VirtualRegister(VIRTUAL_BASE + self.count))
        self.count += 1
        value.reg = reg
        value.slot = None
        value.const = None
        return reg

    def release(self, value: Value) -> None:
        """``value`` is no longer used (liveness finds where its register is free)."""
        value.reg = None

    def own(self, value: Value) -> Register:
        """``value`` in a register it may overwrite (loading a constant or a stack slot)."""
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


def function_entries(code: list[Item]) -> set[str]:
    """Labels that start a bpf-to-bpf function: callees of ``call`` and callbacks loaded by ``ld_imm64``."""
    entries = set()
    for item in code:
        if not isinstance(item, Instruction) or item.reference is None:
            continue
        called = item.opcode == (Class.JMP | JumpOp.CALL) and item.src == PseudoCall.CALL
        if called or (item.opcode == LD_IMM64 and item.src == PseudoLoad.FUNC):
            entries.add(item.reference)
    return entries


def main_end(code: list[Item]) -> int:
    """Where the first function after the main program starts (the end of ``code`` without one)."""
    entries = function_entries(code)
    return next((i for i, item in enumerate(code) if isinstance(item, Label) and item.name in entries), len(code))


def allocate(code: list[Item], pool: list[Register], stack: Stack) -> list[Item]:
    """``code`` with its virtual registers mapped onto ``pool`` (and stack slots), function by function."""
    if not any(isinstance(item, Instruction) and (item.dst >= VIRTUAL_BASE or item.src >= VIRTUAL_BASE)
               for item in code):
        return code
    code = label_offsets(code)
    entries = function_entries(code)
    starts = [0] + [i for i, item in enumerate(code) if isinstance(item, Label) and item.name in entries]
    out: list[Item] = []
    for start, end in zip(starts, [*starts[1:], len(code)]):
        out += _allocate_function(code[start:end], pool, stack)
    return out


def _bits(mask: int) -> list[int]:
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


_PHYSICAL = (1 << VIRTUAL_BASE) - 1


def _allocate_function(code: list[Item], pool: list[Register], stack: Stack) -> list[Item]:
    code, live_in, live_out = dead_code.eliminate(code)
    # interference: a register written at i conflicts with everything live after i
    neighbours: dict[int, int] = {}
    first: dict[int, int] = {}
    uses: dict[int, int] = {}
    span: dict[int, int] = {}
    copies: dict[int, int] = {}  # virtual register -> one it is copied from or to
    for i, item in enumerate(code):
        if not isinstance(item, Instruction):
            continue
        written, read = defs_uses(item)
        for reg in _bits((written | read | live_out[i]) >> VIRTUAL_BASE):
            reg += VIRTUAL_BASE
            first.setdefault(reg, i)
            span[reg] = span.get(reg, 0) + (live_out[i] >> reg & 1)
        for reg in _bits((written | read) >> VIRTUAL_BASE):
            uses[reg + VIRTUAL_BASE] = uses.get(reg + VIRTUAL_BASE, 0) + 1
        if _is_copy(item) and item.dst >= VIRTUAL_BASE and item.src >= VIRTUAL_BASE:
            copies.setdefault(item.dst, item.src)
            copies.setdefault(item.src, item.dst)
        virtual_out = live_out[i] & ~_PHYSICAL
        for reg in _bits(written >> VIRTUAL_BASE):
            reg += VIRTUAL_BASE
            others = virtual_out & ~(1 << reg)
            neighbours[reg] = neighbours.get(reg, 0) | others
            for other in _bits(others >> VIRTUAL_BASE):
                other += VIRTUAL_BASE
                neighbours[other] = neighbours.get(other, 0) | 1 << reg
    colour: dict[int, int] = {}
    spilled: set[int] = set()
    for reg in sorted(first, key=first.__getitem__):
        coloured = [n for n in _bits(neighbours.get(reg, 0)) if n in colour]
        taken = {colour[n] for n in coloured}
        free = [p for p in pool if p not in taken]
        partner = copies.get(reg)
        if partner is not None and colour.get(partner) in free:
            colour[reg] = colour[partner]  # the copy between them disappears
        elif free:
            colour[reg] = free[0]
        else:
            holders = [colour[n] for n in coloured]
            rivals = [n for n in coloured if holders.count(colour[n]) == 1]  # their colour frees for reg
            victim = max([reg, *rivals], key=lambda r: span.get(r, 0) / uses.get(r, 1))
            if victim != reg:
                colour[reg] = colour.pop(victim)
            spilled.add(victim)
    stack.top = stack.deepest  # below every slot the code used, released or not
    slots = {reg: stack.alloc(8) for reg in sorted(spilled)}
    return _Rewriter(colour, slots, pool, live_in, live_out).run(code)


class _Rewriter:
    """Virtual registers replaced by their colours; a spilled one is loaded into a free register before a use
    and stays there while nothing overwrites it within the block, and is stored back only when that register
    is needed again or the block ends (and only if the value is still live then)."""

    def __init__(self, colour: dict[int, int], slots: dict[int, int], pool: list[Register],
                 live_in: list[int], live_out: list[int]) -> None:
        self.colour, self.slots, self.pool = colour, slots, pool
        self.live_in, self.live_out = live_in, live_out
        self.cache: dict[int, int] = {}  # spilled virtual register -> the register holding it
        self.dirty: set[int] = set()
        self.out: list[Item] = []

    def run(self, code: list[Item]) -> list[Item]:
        if not self.slots:
            return [self.renamed(item) for item in code if not self.vanishes(item)]
        for i, item in enumerate(code):
            if isinstance(item, Label):
                self.flush_all(self.live_in[i])
                self.cache.clear()
                self.out.append(item)
            else:
                self.instruction(i, item)
        return self.out

    def renamed(self, item: Item) -> Item:
        if not isinstance(item, Instruction) or (item.dst < VIRTUAL_BASE and item.src < VIRTUAL_BASE):
            return item
        return item.replace(dst=self.colour.get(item.dst, item.dst), src=self.colour.get(item.src, item.src))

    def vanishes(self, item: Item) -> bool:
        """A copy between two values that got one register."""
        return (isinstance(item, Instruction) and _is_copy(item) and item.dst >= VIRTUAL_BASE
                and self.colour.get(item.dst) == self.colour.get(item.src, -1))

    def flush(self, reg: int, live: int) -> None:
        if reg in self.dirty:
            self.dirty.discard(reg)
            if live >> reg & 1:
                self.out.append(stx(Size.DW, FP, cast(Register, self.cache[reg]), self.slots[reg]))

    def flush_all(self, live: int) -> None:
        for reg in sorted(self.dirty):
            self.flush(reg, live)

    def evict(self, physical: int, live: int, keep: int = -1) -> None:
        for reg, held in list(self.cache.items()):
            if held == physical and reg != keep:
                self.flush(reg, live)
                del self.cache[reg]

    def instruction(self, i: int, item: Instruction) -> None:
        written, read = defs_uses(item)
        live = self.live_in[i]
        busy = (live | self.live_out[i] | written | read) & _PHYSICAL
        for reg in _bits((live | self.live_out[i] | written | read) & ~_PHYSICAL):
            if reg in self.colour:
                busy |= 1 << self.colour[reg]
        place = dict(self.colour)
        for reg in sorted({item.dst, item.src} & self.slots.keys()):
            held = self.cache.get(reg)
            if held is None:
                held = self.free_register(busy | self.cached_by(item))
                self.evict(held, live)
                if read >> reg & 1:
                    self.out.append(ldx(Size.DW, cast(Register, held), FP, self.slots[reg]))
                self.cache[reg] = held
            busy |= 1 << held
            place[reg] = held
        insn = item.replace(dst=place.get(item.dst, item.dst), src=place.get(item.src, item.src))
        clobbered, _ = defs_uses(insn)
        for physical in _bits(clobbered):
            target = item.dst if insn.dst == physical else -1
            self.evict(physical, live, keep=target if target in self.slots else -1)
        if _is_copy(insn) and insn.dst == insn.src:
            return
        if _ends_block(insn):
            self.flush_all(live)
        self.out.append(insn)
        for reg in _bits(written >> VIRTUAL_BASE):
            if reg + VIRTUAL_BASE in self.slots:
                self.dirty.add(reg + VIRTUAL_BASE)

    def cached_by(self, item: Instruction) -> int:
        """Registers caching a spilled value this instruction itself reads or writes."""
        mask = 0
        for reg in (item.dst, item.src):
            if reg in self.cache:
                mask |= 1 << self.cache[reg]
        return mask

    def free_register(self, busy: int) -> int:
        for candidate in (*self.pool, 0, 1, 2, 3, 4, 5):
            if not busy >> candidate & 1 and candidate not in self.cache.values():
                return int(candidate)
        for candidate in (*self.pool, 0, 1, 2, 3, 4, 5):
            if not busy >> candidate & 1:
                return int(candidate)
        raise CompileError("out of registers: too many values are live at once")


def _is_copy(insn: Instruction) -> bool:
    """``dst = src`` on 64 bits (the 32-bit move also clears the upper half, so it is never a no-op)."""
    return insn.opcode == (Class.ALU64 | ALUOp.MOV | Source.X) and insn.off == 0


def _ends_block(insn: Instruction) -> bool:
    return insn.opcode & 0x07 in (Class.JMP, Class.JMP32)


def chunk_size(offset: int, remaining: int) -> int:
    """The widest access (8, 4, 2, 1) that is aligned at ``offset`` and fits in ``remaining``."""
    for size in (8, 4, 2, 1):
        if remaining >= size and offset % size == 0:
            return size
    return 1
