"""BPF code for ``@m[k] = tseries(value, interval, num_intervals[, agg])`` (layout in ``tseries``).

The value, the time and its epoch live in stack slots, so the bucket update after the map lookup only
needs scratch registers; the same update runs on the map's value or, for a new bucket, on a zeroed
stack copy that is then inserted.

``BPFTRACE_DUMMY_TS_MAP=@name`` reads the time from that scalar map instead of the clock, as bpftrace
does for its deterministic tests.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tinybpf.asm import (
    FP,
    R0,
    R1,
    R2,
    ALUOp,
    JumpOp,
    Register,
    Size,
    alu64,
    call,
    ja,
    jmp,
    ld_imm64,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.backend.regalloc import Value
from tinybpf.trace.lower.compiled import MapLayout
from tinybpf.trace.semantics.tseries import VALUE_SIZE
from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.lower.context import MapCalls as CallCodegen

_KEEP = {("min", True): JumpOp.JSLE, ("min", False): JumpOp.JLE,
         ("max", True): JumpOp.JSGE, ("max", False): JumpOp.JGE}


def emit_tseries(calls: CallCodegen, layout: MapLayout, target: ast.Map, e: ast.Call) -> None:
    gen = calls.gen
    interval, count, agg = layout.tseries
    argument = gen.ival(e.args[0])
    signed = argument.signed
    value_slot, now_slot, epoch_slot = gen.stack.alloc(8), gen.stack.alloc(8), gen.stack.alloc(8)
    gen.store_int(value_slot, argument, 8)
    gen.release(argument)
    _now(calls, now_slot, e.pos)
    calls.emit(ldx(Size.DW, R1, FP, now_slot))
    calls.emit(ld_imm64(R2, interval))
    calls.emit(alu64(ALUOp.DIV, R1, R2))
    calls.emit(stx(Size.DW, FP, R1, epoch_slot))
    bucket = Value(signed=False)
    reg = gen.regs.alloc(bucket)
    calls.emit(mov64(reg, R1))
    calls.emit(alu64(ALUOp.MOD, reg, count))
    key = calls.build_key(layout, target.keys, bucket)
    gen.release(bucket)
    calls.lookup(layout, key)
    init, done = gen.new_label("ts_init"), gen.new_label("ts_done")
    calls.emit(jmp(JumpOp.JEQ, R0, 0, init))
    slots = (value_slot, now_slot, epoch_slot)
    _update(calls, agg, signed, slots)
    calls.emit(ja(done))
    gen.place(init)
    fresh = gen.stack.alloc(VALUE_SIZE)
    for offset in range(0, VALUE_SIZE, 8):
        calls.emit(st(Size.DW, FP, fresh + offset, 0))
    calls.emit(mov64(R0, FP))
    calls.emit(alu64(ALUOp.ADD, R0, fresh))
    _update(calls, agg, signed, slots)
    calls.update(layout, key, fresh)
    gen.place(done)


def _now(calls: CallCodegen, dst: int, pos: ast.Pos) -> None:
    """``fp + dst`` = the time: TAI nanoseconds, or the dummy map's value."""
    dummy = os.environ.get("BPFTRACE_DUMMY_TS_MAP")
    if dummy and dummy in calls.gen.trace.maps:
        value = calls.read_map_int(ast.Map(pos, dummy))
        calls.gen.store_int(dst, value, 8)
        calls.gen.release(value)
        return
    calls.emit(call("ktime_get_tai_ns"))
    calls.emit(stx(Size.DW, FP, R0, dst))


def _update(calls: CallCodegen, agg: str, signed: bool, slots: tuple[int, int, int]) -> None:
    """Fold the value into the bucket r0 points to, restarting it when it holds an older epoch."""
    gen = calls.gen
    value_slot, now_slot, epoch_slot = slots
    if agg:
        fresh = gen.new_label("ts_same")
        calls.emit(ldx(Size.DW, R1, R0, 16))
        calls.emit(ldx(Size.DW, R2, FP, epoch_slot))
        calls.emit(jmp(JumpOp.JEQ, R1, R2, fresh))
        calls.emit(st(Size.DW, R0, 0, 0))
        calls.emit(st(Size.DW, R0, 8, 0))
        gen.place(fresh)
    calls.emit(ldx(Size.DW, R2, FP, value_slot))
    if agg in ("min", "max"):
        store, skip = gen.new_label("ts_store"), gen.new_label("ts_keep")
        calls.emit(ldx(Size.DW, R1, R0, 8))
        calls.emit(jmp(JumpOp.JEQ, R1, 0, store))
        calls.emit(ldx(Size.DW, R1, R0, 0))
        calls.emit(jmp(_KEEP[(agg, signed)], R1, R2, skip))
        gen.place(store)
        calls.emit(stx(Size.DW, R0, R2, 0))
        calls.emit(st(Size.DW, R0, 8, 1))
        gen.place(skip)
    elif agg:
        _add(calls, 0, R2)
        if agg == "avg":
            _add(calls, 8, 1)
    else:
        calls.emit(stx(Size.DW, R0, R2, 0))
        calls.emit(ldx(Size.DW, R1, FP, now_slot))
        calls.emit(stx(Size.DW, R0, R1, 8))
    calls.emit(ldx(Size.DW, R1, FP, epoch_slot))
    calls.emit(stx(Size.DW, R0, R1, 16))


def _add(calls: CallCodegen, offset: int, amount: Register | int) -> None:
    calls.emit(ldx(Size.DW, R1, R0, offset))
    calls.emit(alu64(ALUOp.ADD, R1, amount))
    calls.emit(stx(Size.DW, R0, R1, offset))
