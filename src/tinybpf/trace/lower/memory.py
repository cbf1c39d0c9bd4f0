"""Code for memory expressions: ``*p``, ``p->f``, ``s.f``, ``a[i]`` and pointer arithmetic.

Every such expression has a *place*: bytes on the BPF stack (a struct held in a variable, a map value
copied out) or at an address outside it. Stack bytes are read with plain loads; other memory goes through
``bpf_probe_read_kernel``/``bpf_probe_read_user`` as the pointer's address space says, into a stack slot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from tinybpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    ALUOp,
    JumpOp,
    Size,
    alu64,
    call,
    jmp,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.backend.regalloc import Value
from tinybpf.errors import CompileError
from tinybpf.trace.lower.compiled import RINGBUF_NAME, Event
from tinybpf.trace.semantics.stype import SType
from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.lower.context import Lowering as ProbeCodegen

_SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


@dataclass
class Place:
    """Where a value's bytes are: ``fp + stack`` when ``address`` is None, else ``address`` in ``space``."""

    stack: int = 0
    address: Optional[Value] = None
    space: str = "kernel"


class MemoryCodegen:
    """The memory half of ``ProbeCodegen``."""

    def __init__(self, gen: ProbeCodegen) -> None:
        self.gen = gen

    def emit(self, item: object) -> None:
        self.gen.emit(item)

    def ctypes(self) -> object:
        return self.gen.analysis.ctypes

    # ----------------------------------------------------------------- places

    def place(self, e: ast.Expression) -> Place:
        gen = self.gen
        if isinstance(e, ast.Unop) and e.op == "*":
            pointer_t = gen.type_of(e.operand)
            return Place(address=gen.ival(e.operand), space=pointer_t.addrspace)
        if isinstance(e, ast.FieldAccess):
            inner_t = gen.type_of(e.expr)
            struct = inner_t.pointee if inner_t.kind == "ptr" else inner_t
            assert struct is not None
            member = self.ctypes().member(struct.tag, e.field)  # type: ignore[attr-defined]
            if member is None:
                raise CompileError(f"no field {e.field} in {struct}")
            if inner_t.kind == "ptr":
                return self.offset(Place(address=gen.ival(e.expr), space=inner_t.addrspace), member.offset)
            return self.offset(self.place(e.expr), member.offset)
        if isinstance(e, ast.ArrayAccess):
            return self.element(e)
        if isinstance(e, ast.Variable):
            return Place(stack=gen.vars[e.name])
        return Place(stack=gen.mval(e))

    def offset(self, place: Place, amount: int) -> Place:
        if place.address is None:
            return Place(stack=place.stack + amount)
        if amount:
            self.add(place.address, amount)
        return place

    def add(self, value: Value, amount: int) -> None:
        if value.const is not None:
            value.const += amount
            return
        reg = self.gen.regs.own(value)
        self.emit(alu64(ALUOp.ADD, reg, amount))

    def element(self, e: ast.ArrayAccess) -> Place:
        gen = self.gen
        inner_t = gen.type_of(e.expr)
        element_t = inner_t.pointee
        step = element_t.size if element_t is not None else 1
        if inner_t.kind == "ptr":
            base = Place(address=gen.ival(e.expr), space=inner_t.addrspace)
        else:
            base = self.place(e.expr)
        const = gen.const_of(e.index)
        if const is not None:
            return self.offset(base, const * step)
        if base.address is None:
            address = Value(signed=False)
            reg = gen.regs.alloc(address)
            self.emit(mov64(reg, FP))
            self.emit(alu64(ALUOp.ADD, reg, base.stack))
            base = Place(address=address, space="kernel")
        index = gen.ival(e.index)
        if inner_t.kind == "array" and step and inner_t.size // step:
            self.bounds_warning(e, index, inner_t.size // step)
        assert base.address is not None
        reg = gen.regs.own(index)
        if step != 1:
            self.emit(alu64(ALUOp.MUL, reg, step))
        target = gen.regs.own(base.address)
        self.emit(alu64(ALUOp.ADD, target, reg))
        gen.release(index)
        return base

    def bounds_warning(self, e: ast.ArrayAccess, index: Value, count: int) -> None:
        """bpftrace's run-time warning for an array index past the end (the access itself still happens)."""
        gen = self.gen
        inside = gen.new_label("in_bounds")
        self.emit(jmp(JumpOp.JLT, gen.operand_reg(index, R1), count, inside))
        message = b"Array access out of bounds. This can lead to unexpected results."
        gen.functions.statement(ast.Call(e.pos, "warnf", [ast.String(e.pos, message)]))
        gen.place(inside)

    # ----------------------------------------------------------------- reads

    def read(self, place: Place, dst: int, size: int, site: Optional[ast.Expression] = None) -> None:
        """Copy ``size`` bytes at ``place`` to ``fp + dst`` (``site``: the pointer read through, for ``-k``)."""
        gen = self.gen
        if place.address is None:
            gen.copy(dst, FP, place.stack, size)
            return
        self.emit(mov64(R1, FP))
        self.emit(alu64(ALUOp.ADD, R1, dst))
        self.emit(mov64(R2, size))
        self.emit(mov64(R3, gen.operand_reg(place.address, R3)))
        helper = "probe_read_user" if place.space == "user" else "probe_read_kernel"
        self.emit(call(helper))
        gen.release(place.address)
        if gen.helper_warning is not None and site is not None:
            self.helper_error(helper, site)

    def helper_error(self, helper: str, site: ast.Expression) -> None:
        """``-k``: a failed read sends its return code, for bpftrace's helper-error warning (or JSON record)
        located at the pointer read through."""
        gen = self.gen
        assert gen.helper_warning is not None
        done = gen.new_label("read_ok")
        self.emit(jmp(JumpOp.JSGE, R0, 0, done))
        text = gen.helper_warning(site.pos, "{msg}", helper, "{retcode}")
        event = gen.event(Event("helper_error", text=text, map=helper, size=16,
                                extra=(site.pos.line, site.pos.column)))
        record = gen.stack.alloc(16)
        self.emit(st(Size.DW, FP, record, event))
        self.emit(stx(Size.DW, FP, R0, record + 8))
        self.emit(ld_map_fd(R1, RINGBUF_NAME))
        self.emit(mov64(R2, FP))
        self.emit(alu64(ALUOp.ADD, R2, record))
        self.emit(mov64(R3, 16))
        self.emit(mov64(R4, 0))
        self.emit(call("ringbuf_output"))
        gen.place(done)

    def int_value(self, e: ast.Expression, source: Optional[ast.Expression] = None) -> Value:
        """An integer, bool or pointer read from memory (sign-extended as its type says); from the bytes of
        ``source`` when given (a cast of an array to an integer)."""
        gen = self.gen
        t = gen.type_of(e)
        place = self.place(source or e)
        bits = self.bitfield(e)
        size = t.size if t.size in _SIZES else 8
        value = Value(signed=t.signed)
        if place.address is None:
            reg = gen.regs.alloc(value)
            self.emit(ldx(_SIZES[size], reg, FP, place.stack))
        else:
            slot = gen.stack.alloc(8)
            self.read(place, slot, size, _pointer_of(source or e))
            reg = gen.regs.alloc(value)
            self.emit(ldx(_SIZES[size], reg, FP, slot))
        if bits is not None:
            width, shift = bits
            if shift:
                self.emit(alu64(ALUOp.RSH, reg, shift))
            if width < 32:
                self.emit(alu64(ALUOp.AND, reg, (1 << width) - 1))
            elif width < 64:
                self.emit(alu64(ALUOp.LSH, reg, 64 - width))
                self.emit(alu64(ALUOp.RSH, reg, 64 - width))
            return value
        gen.extend(reg, size, t.signed)
        return value

    def bitfield(self, e: ast.Expression) -> Optional[tuple[int, int]]:
        if not isinstance(e, ast.FieldAccess):
            return None
        inner_t = self.gen.type_of(e.expr)
        struct = inner_t.pointee if inner_t.kind == "ptr" else inner_t
        if struct is None or struct.kind != "struct":
            return None
        member = self.ctypes().member(struct.tag, e.field)  # type: ignore[attr-defined]
        if member is None or not member.bits:
            return None
        return member.bits, member.bit_shift

    def write(self, e: ast.Expression, t: SType, dst: int, size: int) -> None:
        """A struct/array/string value read from memory into ``fp + dst``, zero padded to ``size``."""
        gen = self.gen
        place = self.place(e)
        if size > t.size:
            gen.zero(dst + t.size, size - t.size)
        if place.address is None:
            if place.stack != dst:
                gen.copy(dst, FP, place.stack, min(size, t.size))
            return
        self.read(place, dst, min(size, t.size), _pointer_of(e))

    # ----------------------------------------------------------------- pointer arithmetic

    def scale(self, e: ast.Binop, right: Value) -> Value:
        """``p + n`` moves by ``n`` elements: the integer operand times the pointee size."""
        left_t = self.gen.type_of(e.left)
        step = left_t.pointee.size if left_t.pointee is not None else 1
        if step in (0, 1):
            return right
        if right.const is not None:
            return Value(const=right.const * step, signed=right.signed)
        reg = self.gen.regs.own(right)
        self.emit(alu64(ALUOp.MUL, reg, step))
        return right


def _pointer_of(e: ast.Expression) -> ast.Expression:
    """The expression whose pointer a read of ``e`` goes through: bpftrace locates a failed read there."""
    if isinstance(e, (ast.FieldAccess, ast.ArrayAccess)):
        return e.expr
    if isinstance(e, ast.Unop):
        return e.operand
    return e


def is_memory_read(gen: ProbeCodegen, e: ast.Expression) -> bool:
    """Whether ``e`` is read through a place (not a tracepoint ``args`` field or a tuple element)."""
    if isinstance(e, ast.Unop):
        return e.op == "*"
    if isinstance(e, ast.FieldAccess):
        return gen.type_of(e.expr).kind in ("struct", "ptr")
    return isinstance(e, ast.ArrayAccess)

