"""Code generation for maps, aggregations, events and the builtins that write memory.

Aggregations update the current CPU's slot of a per-CPU map in place (look up; if found, read-modify-write;
else build the first value on the stack and insert it): no atomics, and user space sums the CPUs when it
prints. A map without keys that aggregates is a per-CPU array, whose lookup cannot fail.

Events (printf, print, exit, clear...) are records ``{u64 id; packed args}`` copied into the ring buffer
with ``bpf_ringbuf_output``; ``ir.Event`` tells user space how to decode each id. A record the full ring
buffer refuses is counted (``event_loss``).
"""
from __future__ import annotations

import errno
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
    Register,
    Size,
    alu64,
    call,
    ja,
    jmp,
    jmp32,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.backend.regalloc import Value
from tinybpf.errors import CompileError
from tinybpf.trace.lower.compiled import RINGBUF_NAME, Event, MapLayout
from tinybpf.trace.lower.event_loss import emit_count, emit_output_check
from tinybpf.trace.lower.memory import is_memory_read
from tinybpf.trace.semantics.functions import CHECKS, EVENT_CALLS
from tinybpf.trace.semantics.stype import AGGREGATES, BLOB_KINDS, SType
from tinybpf.trace.syntax import ast

JOIN_ARGS = 16  # bpftrace's join_argnum: the pointers join() reads

if TYPE_CHECKING:
    from tinybpf.trace.lower.context import Lowering as ProbeCodegen

_SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


class CallCodegen:
    """The map and call half of one probe's code generator."""

    def __init__(self, gen: ProbeCodegen) -> None:
        self.gen = gen

    def emit(self, item: object) -> None:
        self.gen.emit(item)

    # ----------------------------------------------------------------- keys and lookups

    def build_key(self, layout: MapLayout, keys: list[ast.Expression], bucket: Optional[Value] = None) -> int:
        """The key of ``layout`` on the stack: user keys, then the bucket index of a keyed histogram."""
        gen = self.gen
        dst = gen.stack.alloc(max(layout.key_size, 8))
        if layout.is_array:
            if bucket is None:
                self.emit(st(Size.W, FP, dst, 0))
            else:
                gen.store_int(dst, bucket, 4)
            return dst
        key_t = layout.key
        if key_t.kind == "none":
            if bucket is None:
                self.emit(st(Size.DW, FP, dst, 0))
        elif key_t.kind == "tuple" and len(keys) > 1:
            for element, t, offset in zip(keys, key_t.elements, key_t.offsets):
                self.write_element(element, t, dst + offset)
        else:
            self.write_element(keys[0], key_t, dst)
        if bucket is not None:
            gen.store_int(dst + layout.key_size - 8, bucket, 8)
        return dst

    def write_element(self, e: ast.Expression, t: SType, dst: int) -> None:
        """Write ``e`` at ``fp + dst`` laid out as ``t`` (a tuple may be wider than ``e``'s own type)."""
        gen = self.gen
        own = gen.type_of(e)
        if t.kind == "tuple" and own.kind == "tuple" and own != t:
            if isinstance(e, ast.Tuple):
                self.tuple_literal(e, t, dst, t.size)
            else:
                self.convert_tuple(gen.mval(e), own, dst, t)
            return
        if t.in_memory:
            gen.mval(e, dst, t.size)
            return
        value = gen.ival(e)
        gen.store_int(dst, value, t.size)
        gen.release(value)

    def convert_tuple(self, src: int, src_t: SType, dst: int, dst_t: SType) -> None:
        """Copy a tuple into a wider layout: integers sign/zero-extended, strings zero padded."""
        gen = self.gen
        gen.zero(dst, dst_t.size)
        for s_el, s_off, d_el, d_off in zip(src_t.elements, src_t.offsets, dst_t.elements, dst_t.offsets):
            if s_el.kind == "tuple" and d_el.kind == "tuple":
                self.convert_tuple(src + s_off, s_el, dst + d_off, d_el)
            elif s_el.is_int and d_el.is_int and s_el.size in (1, 2, 4, 8) and d_el.size in (1, 2, 4, 8):
                self.emit(ldx(_SIZES[s_el.size], R1, FP, src + s_off))
                gen.extend(R1, s_el.size, s_el.signed)
                self.emit(stx(_SIZES[d_el.size], FP, R1, dst + d_off))
            else:
                gen.copy(dst + d_off, FP, src + s_off, min(s_el.size, d_el.size))

    def lookup(self, layout: MapLayout, key: int) -> None:
        """r0 = bpf_map_lookup_elem(map, fp + key)."""
        self.emit(ld_map_fd(R1, layout.bpf_name))
        self.emit(mov64(R2, FP))
        self.emit(alu64(ALUOp.ADD, R2, key))
        self.emit(call("map_lookup_elem"))

    def update(self, layout: MapLayout, key: int, value: int) -> None:
        self.emit(ld_map_fd(R1, layout.bpf_name))
        self.emit(mov64(R2, FP))
        self.emit(alu64(ALUOp.ADD, R2, key))
        self.emit(mov64(R3, FP))
        self.emit(alu64(ALUOp.ADD, R3, value))
        self.emit(mov64(R4, 0))
        self.emit(call("map_update_elem"))
        if layout.declared:
            self.report_full(layout)

    def report_full(self, layout: MapLayout) -> None:
        """A declared map's update failing with E2BIG becomes bpftrace's "Map full" warning."""
        from tinybpf.trace.lower.map_decls import MAP_FULL

        gen = self.gen
        stored = gen.new_label("stored")
        self.emit(jmp(JumpOp.JNE, R0, -errno.E2BIG, stored))
        self.send(gen.event(Event("warning", text=MAP_FULL, map=layout.name)), [], 8)
        gen.place(stored)

    # ----------------------------------------------------------------- plain maps

    def assign_map(self, stmt: ast.AssignMapStatement) -> None:
        gen = self.gen
        target = stmt.map
        layout = gen.layout(target.name)
        if isinstance(stmt.expr, ast.Call) and stmt.expr.name in AGGREGATES:
            self.aggregate(layout, target, stmt.expr)
            return
        value_t = layout.value
        if value_t.in_memory:
            value = gen.stack.alloc(layout.value_size)
            if value_t.kind == "tuple":
                gen.zero(value, layout.value_size)
                self.write_element(stmt.expr, value_t, value)
            else:
                gen.mval(stmt.expr, value, layout.value_size)
            key = self.build_key(layout, target.keys)
        else:
            number = gen.ival(stmt.expr)
            key = self.build_key(layout, target.keys)
            value = gen.stack.alloc(8)
            gen.store_int(value, number, 8)
            gen.release(number)
        self.update(layout, key, value)

    def read_map_int(self, e: ast.Map) -> Value:
        gen = self.gen
        layout = gen.layout(e.name)
        key = self.build_key(layout, e.keys)
        self.lookup(layout, key)
        if gen.helper_warning is not None:
            found = gen.new_label("mapfound")
            self.emit(jmp(JumpOp.JNE, R0, 0, found))
            text = gen.helper_warning(e.pos, "Can't lookup map element because it does not exist.",
                                      "map_lookup_elem", 0)
            self.send(gen.event(Event("warnf", text=text.replace("%", "%%"), size=8)), [], 8)
            self.emit(mov64(R0, 0))
            gen.place(found)
        value = Value(signed=layout.value.signed)
        reg = gen.regs.alloc(value)
        done = gen.new_label("mapread")
        self.emit(mov64(reg, 0))
        self.emit(jmp(JumpOp.JEQ, R0, 0, done))
        self.emit(ldx(Size.B if layout.value.kind == "bool" else Size.DW, reg, R0, 0))
        gen.place(done)
        return value

    def read_map_memory(self, e: ast.Map, dst: int, size: int) -> None:
        gen = self.gen
        layout = gen.layout(e.name)
        key = self.build_key(layout, e.keys)
        self.lookup(layout, key)
        missing, done = gen.new_label("mapmiss"), gen.new_label("mapread")
        self.emit(jmp(JumpOp.JEQ, R0, 0, missing))
        gen.copy(dst, R0, 0, layout.value_size)
        if size > layout.value_size:
            gen.zero(dst + layout.value_size, size - layout.value_size)
        self.emit(ja(done))
        gen.place(missing)
        gen.zero(dst, size)
        gen.place(done)

    def increment_map(self, target: ast.Map, delta: int, postfix: bool) -> Value:
        gen = self.gen
        layout = gen.layout(target.name)
        old = self.read_map_int(target)
        reg = gen.regs.own(old)
        self.emit(alu64(ALUOp.ADD, reg, delta))
        key = self.build_key(layout, target.keys)
        slot = gen.stack.alloc(8)
        self.emit(stx(Size.DW, FP, reg, slot))
        self.update(layout, key, slot)
        if postfix:
            self.emit(alu64(ALUOp.SUB, reg, delta))
        return old

    # ----------------------------------------------------------------- aggregations

    def aggregate(self, layout: MapLayout, target: ast.Map, e: ast.Call) -> None:
        gen = self.gen
        kind = e.name
        if kind == "tseries":
            from tinybpf.trace.lower.tseries import emit_tseries

            emit_tseries(self, layout, target, e)
            return
        argument = gen.ival(e.args[0]) if e.args and kind != "count" else None
        bucket: Optional[Value] = None
        if kind == "hist":
            assert argument is not None
            bucket = self.log2_bucket(argument, layout.hist_bits)
            argument = None
        elif kind == "lhist":
            assert argument is not None
            bucket = self.linear_bucket(argument, layout.lhist)
            argument = None
        if argument is not None and argument.const is None:
            gen.regs.own(argument)
        key = self.build_key(layout, target.keys, bucket)
        if bucket is not None:
            gen.release(bucket)
        self.lookup(layout, key)
        init, done = gen.new_label("agg_init"), gen.new_label("agg_done")
        self.emit(jmp(JumpOp.JEQ, R0, 0, done if layout.is_array else init))
        self.update_in_place(kind, argument)
        if not layout.is_array:
            self.emit(ja(done))
            gen.place(init)
            value = gen.stack.alloc(layout.value_size)
            self.initial_value(kind, argument, value)
            self.update(layout, key, value)
        gen.place(done)
        if argument is not None:
            gen.release(argument)

    def update_in_place(self, kind: str, argument: Optional[Value]) -> None:
        """Fold one more observation into the value r0 points to (this CPU's slot)."""
        gen = self.gen
        if kind in ("count", "hist", "lhist"):
            self.add_at(0, 1)
        elif kind == "sum":
            assert argument is not None
            self.add_at(0, gen.operand(argument, R2))
        elif kind in ("avg", "stats"):
            assert argument is not None
            self.add_at(0, gen.operand(argument, R2))
            self.add_at(8, 1)
        elif kind in ("min", "max"):
            assert argument is not None
            self.min_max(kind, argument)

    def add_at(self, offset: int, amount: object) -> None:
        self.emit(ldx(Size.DW, R1, R0, offset))
        self.emit(alu64(ALUOp.ADD, R1, amount))  # type: ignore[arg-type]
        self.emit(stx(Size.DW, R0, R1, offset))

    def min_max(self, kind: str, argument: Value) -> None:
        gen = self.gen
        store, skip = gen.new_label("mm_store"), gen.new_label("mm_skip")
        self.emit(ldx(Size.DW, R1, R0, 8))
        self.emit(jmp(JumpOp.JEQ, R1, 0, store))
        self.emit(ldx(Size.DW, R1, R0, 0))
        src = gen.operand(argument, R2)
        signed = argument.signed
        keep = {("min", True): JumpOp.JSLE, ("min", False): JumpOp.JLE,
                ("max", True): JumpOp.JSGE, ("max", False): JumpOp.JGE}[(kind, signed)]
        self.emit(jmp(keep, R1, src, skip))
        gen.place(store)
        gen.store_int(0, argument, 8, base=R0)
        self.emit(st(Size.DW, R0, 8, 1))
        gen.place(skip)

    def initial_value(self, kind: str, argument: Optional[Value], value: int) -> None:
        gen = self.gen
        if kind in ("count", "hist", "lhist"):
            self.emit(st(Size.DW, FP, value, 1))
        elif kind == "sum":
            assert argument is not None
            gen.store_int(value, argument, 8)
        else:
            assert argument is not None
            gen.store_int(value, argument, 8)
            self.emit(st(Size.DW, FP, value + 8, 1))

    def log2_bucket(self, value: Value, bits: int = 0) -> Value:
        """bpftrace's log2 bucket (``histogram.hist_bucket``): 0 for negatives, 1 .. 2**bits for 0 .. 2**bits - 1,
        past that 2**bits buckets for each power of two."""
        gen = self.gen
        bucket = Value(signed=False)
        if value.const is not None:
            from tinybpf.trace.semantics.histogram import hist_bucket

            bucket.const = hist_bucket(value.const, bits)
            return bucket
        src = gen.regs.own(value)
        reg = gen.regs.alloc(bucket)
        done = gen.new_label("log2")
        mask = (1 << bits) - 1
        self.emit(mov64(reg, 0))
        self.emit(jmp(JumpOp.JSLT, src, 0, done))
        self.emit(mov64(reg, src))
        self.emit(alu64(ALUOp.ADD, reg, 1))
        self.emit(jmp(JumpOp.JLE, src, mask, done))
        self.emit(mov64(reg, 0 if bits else 2))
        self.emit(mov64(R1, src))
        self.emit(mov64(R2, R1))
        self.emit(alu64(ALUOp.RSH, R2, 32))
        skip = gen.new_label("log2_32")
        self.emit(jmp(JumpOp.JEQ, R2, 0, skip))
        self.emit(mov64(R1, R2))
        self.emit(alu64(ALUOp.ADD, reg, 32))
        gen.place(skip)
        for shift in (16, 8, 4, 2, 1):
            self.emit(jmp(JumpOp.JLT, R1, 1 << shift, 2))
            self.emit(alu64(ALUOp.RSH, R1, shift))
            self.emit(alu64(ALUOp.ADD, reg, shift))
        if bits:
            # reg = floor(log2 v); the bucket is ((l - bits + 1) << bits) + ((v >> (l - bits)) & mask) + 1
            self.emit(alu64(ALUOp.SUB, reg, bits))
            self.emit(mov64(R1, src))
            self.emit(alu64(ALUOp.RSH, R1, reg))
            self.emit(alu64(ALUOp.AND, R1, mask))
            self.emit(alu64(ALUOp.ADD, reg, 1))
            self.emit(alu64(ALUOp.LSH, reg, bits))
            self.emit(alu64(ALUOp.ADD, reg, R1))
            self.emit(alu64(ALUOp.ADD, reg, 1))
        gen.place(done)
        gen.release(value)
        return bucket

    def linear_bucket(self, value: Value, params: tuple) -> Value:
        gen = self.gen
        low, high, step = params
        last = (high - low) // step + 1
        bucket = Value(signed=False)
        if value.const is not None:
            v = value.const
            bucket.const = 0 if v < low else last if v > high else (v - low) // step + 1
            return bucket
        src = gen.regs.own(value)
        reg = gen.regs.alloc(bucket)
        done = gen.new_label("lin")
        self.emit(mov64(reg, 0))
        self.emit(jmp(JumpOp.JSLT, src, low, done))
        self.emit(mov64(reg, last))
        self.emit(jmp(JumpOp.JSGT, src, high, done))
        self.emit(mov64(reg, src))
        if low:
            self.emit(alu64(ALUOp.SUB, reg, low))
        if step != 1:
            self.emit(alu64(ALUOp.DIV, reg, step))
        self.emit(alu64(ALUOp.ADD, reg, 1))
        gen.place(done)
        gen.release(value)
        return bucket

    # ----------------------------------------------------------------- calls as statements

    def call_statement(self, e: ast.Call) -> None:
        name = e.name
        if name in ("printf", "time"):
            self.printf(e)
        elif name == "print":
            self.print(e)
        elif name == "exit":
            from tinybpf.trace.lower.exit_flag import emit_set

            code = [(arg, (self.gen.type_of(arg), 8)) for arg in e.args]
            size = 8 + 8 * len(code)
            self.send(self.gen.event(Event("exit", args=[t for _, t in code], size=size)), code, size)
            skip = self.gen.new_label("exit_flag")
            emit_set(self.emit, self.gen.stack.alloc(8), skip)
            self.gen.place(skip)
            self.emit(ja(self.gen.return_label))
        elif name in ("clear", "zero"):
            target = e.args[0]
            assert isinstance(target, ast.Map)
            self.send(self.gen.event(Event(name, map=target.name)), [], 8)
        elif name == "delete":
            self.delete(e)
        elif name == "join":
            self.join(e)
        elif name in EVENT_CALLS:
            self.gen.functions.statement(e)
        elif name in AGGREGATES:
            raise CompileError(f"{name}() should be directly assigned to a map")
        else:
            t = self.gen.type_of(e)
            if t.is_int:
                self.gen.release(self.int_call(e))
            elif t.in_memory:
                self.gen.mval(e)

    def delete(self, e: ast.Call) -> None:
        target = e.args[0]
        assert isinstance(target, ast.Map)
        layout = self.gen.layout(target.name)
        key = self.build_key(layout, target.keys)
        self.emit(ld_map_fd(R1, layout.bpf_name))
        self.emit(mov64(R2, FP))
        self.emit(alu64(ALUOp.ADD, R2, key))
        self.emit(call("map_delete_elem"))

    def deleted(self, e: ast.Call) -> Value:
        """``delete(...)`` as a value: true when the element was there."""
        gen = self.gen
        self.delete(e)
        value = Value(signed=False)
        reg = gen.regs.alloc(value)
        done = gen.new_label("deleted")
        self.emit(mov64(reg, 1))
        self.emit(jmp(JumpOp.JEQ, R0, 0, done))
        self.emit(mov64(reg, 0))
        gen.place(done)
        return value

    def printf(self, e: ast.Call) -> None:
        gen = self.gen
        fmt = e.args[0] if e.args else None
        text = fmt.text if isinstance(fmt, ast.String) else ""
        if e.name == "time":
            text = text or "%H:%M:%S\n"
        layout_args = []
        offset = 8
        for arg in e.args[1:]:
            t = gen.type_of(arg)
            if t.is_int:
                t = SType("int", 8, t.signed, tag=t.tag, enumerators=t.enumerators)
            layout_args.append((t, offset))
            offset += (t.size + 7) // 8 * 8
        event = gen.event(Event(e.name, text=text, args=layout_args, size=offset))
        self.send(event, list(zip(e.args[1:], layout_args)), offset)

    def print(self, e: ast.Call) -> None:
        gen = self.gen
        first = e.args[0]
        if isinstance(first, ast.Map) and not first.keys:
            extra = tuple(gen.const_of(a) or 0 for a in e.args[1:])
            self.send(gen.event(Event("print", map=first.name, extra=extra)), [], 8)
            return
        t = gen.type_of(first)
        if t.is_int and t.kind != "bool":
            t = SType("int", 8, t.signed, tag=t.tag, enumerators=t.enumerators)
        size = 8 + (t.size + 7) // 8 * 8
        event = gen.event(Event("print_value", args=[(t, 8)], size=size))
        self.send(event, [(first, (t, 8))], size)

    def join(self, e: ast.Call) -> None:
        """``join(arr [, delim])``: reserve ``{id, JOIN_ARGS strings}`` in the ring buffer, read each of the
        first JOIN_ARGS pointers of ``arr`` and the string it points at (a failed read leaves zeros, which
        end the list in user space), then submit."""
        from tinybpf.trace.semantics.stype import strlen

        gen = self.gen
        length = strlen()
        delim = e.args[1].text if len(e.args) > 1 and isinstance(e.args[1], ast.String) else " "
        size = 8 + JOIN_ARGS * length
        event = gen.event(Event("join", text=delim, size=size, extra=(JOIN_ARGS, length)))
        t = gen.type_of(e.args[0])
        space = t.addrspace if t.kind == "ptr" and t.addrspace == "user" else gen.string_space
        read, read_str = ("probe_read_user", "probe_read_user_str") if space == "user" else (
            "probe_read_kernel", "probe_read_kernel_str")
        base, record, pointer = gen.stack.alloc(8), gen.stack.alloc(8), gen.stack.alloc(8)
        value = gen.ival(e.args[0])
        gen.store_int(base, value, 8)
        gen.release(value)
        done = gen.new_label("join_end")
        self.emit(ld_map_fd(R1, RINGBUF_NAME))
        self.emit(mov64(R2, size))
        self.emit(mov64(R3, 0))
        self.emit(call("ringbuf_reserve"))
        reserved = gen.new_label("join_reserved")
        self.emit(jmp(JumpOp.JNE, R0, 0, reserved))
        emit_count(self.emit, base, done)
        self.emit(ja(done))
        gen.place(reserved)
        self.emit(stx(Size.DW, FP, R0, record))
        self.emit(st(Size.DW, R0, 0, event))
        for i in range(JOIN_ARGS):
            self.emit(mov64(R1, FP))
            self.emit(alu64(ALUOp.ADD, R1, pointer))
            self.emit(mov64(R2, 8))
            self.emit(ldx(Size.DW, R3, FP, base))
            if i:
                self.emit(alu64(ALUOp.ADD, R3, 8 * i))
            self.emit(call(read))
            self.emit(ldx(Size.DW, R1, FP, record))
            self.emit(alu64(ALUOp.ADD, R1, 8 + i * length))
            self.emit(mov64(R2, length))
            self.emit(ldx(Size.DW, R3, FP, pointer))
            self.emit(call(read_str))
        self.emit(ldx(Size.DW, R1, FP, record))
        self.emit(mov64(R2, 0))
        self.emit(call("ringbuf_submit"))
        gen.place(done)

    def send(self, event: int, args: list, size: int) -> None:
        """Build ``{id, args}`` on the stack and copy it into the ring buffer."""
        gen = self.gen
        record = gen.stack.alloc(size)
        for arg, (t, offset) in args:
            if t.in_memory:
                gen.mval(arg, record + offset, t.size)
            else:
                value = gen.ival(arg)
                gen.store_int(record + offset, value, 8)
                gen.release(value)
        self.emit(st(Size.DW, FP, record, event))
        self.emit(ld_map_fd(R1, RINGBUF_NAME))
        self.emit(mov64(R2, FP))
        self.emit(alu64(ALUOp.ADD, R2, record))
        self.emit(mov64(R3, size))
        self.emit(mov64(R4, 0))
        self.emit(call("ringbuf_output"))
        done = gen.new_label("output_done")
        emit_output_check(self.emit, record, done)
        gen.place(done)

    # ----------------------------------------------------------------- integer-valued calls

    def int_call(self, e: ast.Call) -> Value:
        gen = self.gen
        if e.name in CHECKS:
            return gen.functions.int_call(e)
        if e.name == "strncmp":
            return self.strncmp(e)
        if e.name == "sizeof":
            return Value(const=gen.type_of(e.args[0]).size if e.args else 0)
        if e.name == "delete":
            return self.deleted(e)
        raise CompileError(f"{e.name}() has no value")

    def strncmp(self, e: ast.Call) -> Value:
        """strncmp(a, b, n): 0 when the first n bytes (up to a NUL) are equal, else 1."""
        gen = self.gen
        slot = gen.stack.alloc(8)
        limit = gen.const_of(e.args[2]) or 0
        a, b = gen.mval(e.args[0]), gen.mval(e.args[1])
        size = min(limit, gen.type_of(e.args[0]).size, gen.type_of(e.args[1]).size)
        differ, done = gen.new_label("ncmp_ne"), gen.new_label("ncmp_end")
        self.emit(st(Size.DW, FP, slot, 0))
        self.compare_bytes(a, b, size, differ, done)
        self.emit(ja(done))
        gen.place(differ)
        self.emit(st(Size.DW, FP, slot, 1))
        gen.place(done)
        return Value(slot=slot, signed=False)

    def compare_bytes(self, a: int, b: int, size: int, differ: str, equal: str, nul_ends: bool = True) -> None:
        """Jump to ``differ`` at the first differing byte; strings (``nul_ends``) are equal at a common NUL."""
        for i in range(size):
            self.emit(ldx(Size.B, R1, FP, a + i))
            self.emit(ldx(Size.B, R2, FP, b + i))
            self.emit(jmp(JumpOp.JNE, R1, R2, differ))
            if nul_ends:
                self.emit(jmp(JumpOp.JEQ, R1, 0, equal))

    def string_compare(self, e: ast.Binop, target: str, when: bool) -> None:
        """Branch on ``a == b`` / ``a != b`` for strings; a literal side compares in wide chunks."""
        gen = self.gen
        equal_jumps = (e.op == "==") == when
        left, right = e.left, e.right
        if isinstance(left, ast.String) and not isinstance(right, ast.String):
            left, right = right, left
        equal, differ = (target, gen.new_label("streq_no")) if equal_jumps else (gen.new_label("streq_yes"),
                                                                                   target)
        a = gen.mval(left)
        if isinstance(right, ast.String):
            self.compare_literal(a, gen.type_of(left).size, right.value, differ)
        else:
            b = gen.mval(right)
            left_t, right_t = gen.type_of(left), gen.type_of(right)
            if left_t.size != right_t.size and not left_t.is_string:
                self.emit(ja(differ))  # arrays and buffers of different sizes
            self.compare_bytes(a, b, min(left_t.size, right_t.size), differ, equal, left_t.is_string)
        if equal_jumps:
            self.emit(ja(target))
        gen.place(differ if equal_jumps else equal)

    def compare_literal(self, a: int, size: int, literal: bytes, differ: str) -> None:
        """Jump to ``differ`` unless the first bytes at ``fp + a`` equal ``literal`` and its NUL."""
        from tinybpf.asm import ld_imm64

        gen = self.gen
        data = (literal + b"\0")[:size]
        offset = 0
        while offset < len(data):
            from tinybpf.backend.fold import fits_imm
            from tinybpf.backend.regalloc import chunk_size

            chunk = chunk_size(a + offset, len(data) - offset)
            number = int.from_bytes(data[offset:offset + chunk], "little")
            self.emit(ldx(_SIZES[chunk], R1, FP, a + offset))
            if chunk == 8 and not fits_imm(number - (1 << 64) if number >> 63 else number):
                self.emit(ld_imm64(R2, number - (1 << 64) if number >> 63 else number))
                self.emit(jmp(JumpOp.JNE, R1, R2, differ))
            elif chunk == 8:
                self.emit(jmp(JumpOp.JNE, R1, number - (1 << 64) if number >> 63 else number, differ))
            elif chunk == 4:
                self.emit(jmp32(JumpOp.JNE, R1, number - (1 << 32) if number >> 31 else number, differ))
            else:
                self.emit(jmp(JumpOp.JNE, R1, number, differ))
            offset += chunk
        del gen

    # ----------------------------------------------------------------- memory-valued expressions

    def write_memory(self, e: ast.Expression, t: SType, dst: int, size: int) -> None:
        """Write the string or tuple ``e`` into ``fp + dst``, zero-padding it to ``size`` bytes."""
        gen = self.gen
        if isinstance(e, ast.String):
            gen.write_bytes(dst, e.value + b"\0", size)
        elif isinstance(e, (ast.Call, ast.Builtin)) and (t.kind in BLOB_KINDS or e.name in ("getopt", "pton")):
            gen.functions.write(e, t, dst, size)
        elif isinstance(e, ast.Builtin):
            self.builtin_string(e, dst, size)
        elif isinstance(e, ast.Variable):
            src = gen.vars[e.name]
            if src != dst:
                gen.copy(dst, FP, src, min(size, t.size))
                if size > t.size:
                    gen.zero(dst + t.size, size - t.size)
        elif isinstance(e, ast.Map):
            self.read_map_memory(e, dst, size)
        elif isinstance(e, ast.Call) and e.name == "str":
            self.str_call(e, dst, size)
        elif isinstance(e, ast.Tuple):
            self.tuple_literal(e, t, dst, size)
        elif is_memory_read(gen, e):
            gen.memory.write(e, t, dst, size)
        elif isinstance(e, ast.FieldAccess) and gen.type_of(e.expr).kind == "record":
            record = gen.type_of(e.expr)
            self.write_memory(ast.TupleAccess(e.pos, e.expr, record.names.index(e.field)), t, dst, size)
        elif isinstance(e, ast.FieldAccess):
            offset = gen.field_offsets[e.field]
            gen.copy(dst, Register.R6, offset, min(size, t.size))
            if size > t.size:
                gen.zero(dst + t.size, size - t.size)
        elif isinstance(e, ast.Ternary):
            self.ternary_memory(e, dst, size)
        elif isinstance(e, ast.Cast):
            self.array_cast(e, t, dst, size)
        elif isinstance(e, ast.TupleAccess):
            outer = gen.type_of(e.expr)
            base = gen.mval(e.expr)
            gen.copy(dst, FP, base + outer.offsets[e.index], min(size, t.size))
            if size > t.size:
                gen.zero(dst + t.size, size - t.size)
        else:
            raise CompileError(f"cannot generate code for {type(e).__name__} as a {t}")

    def array_cast(self, e: ast.Cast, t: SType, dst: int, size: int) -> None:
        """``(int8[N])x``: the bytes of the integer or string ``x`` at ``fp + dst``."""
        gen = self.gen
        inner = gen.type_of(e.expr)
        if inner.in_memory:
            gen.mval(e.expr, dst, size)
            return
        value = gen.ival(e.expr)
        gen.store_int(dst, value, inner.size)
        gen.release(value)
        if size > t.size:
            gen.zero(dst + t.size, size - t.size)

    def builtin_string(self, e: ast.Builtin, dst: int, size: int) -> None:
        gen = self.gen
        if e.name == "comm":
            # bpf_get_current_comm is strscpy without padding: the bytes after the NUL keep the stack's old
            # contents, which differ from call to call on arm32's JIT and would split one map key into many
            gen.zero(dst, size)
            self.emit(mov64(R1, FP))
            self.emit(alu64(ALUOp.ADD, R1, dst))
            self.emit(mov64(R2, min(size, 16)))
            self.emit(call("get_current_comm"))
        elif e.name == "probe":
            special = gen.attach_name in ("BEGIN", "END")  # current bpftrace names these probes in lower case
            name = gen.attach_name.lower() if special else gen.attach_name
            gen.write_bytes(dst, name.encode() + b"\0", size)
        elif e.name == "func":
            gen.write_bytes(dst, gen.func_name.encode() + b"\0", size)
        else:
            raise CompileError(f"cannot generate code for builtin {e.name} as a string")

    def str_call(self, e: ast.Call, dst: int, size: int) -> None:
        gen = self.gen
        source_t = gen.type_of(e.args[0])
        if source_t.is_string:
            gen.mval(e.args[0], dst, size)
            return
        limit = size
        if len(e.args) > 1:
            const = gen.const_of(e.args[1])
            length: Optional[Value] = None if const is not None else gen.ival(e.args[1])
            if const is not None:
                limit = max(1, min(const, size))
        else:
            length = None
        pointer = gen.ival(e.args[0])
        gen.zero(dst, size)
        if length is not None:
            reg = gen.operand_reg(length, R2)
            self.emit(mov64(R2, reg))
            self.emit(jmp(JumpOp.JLE, R2, size, 1))
            self.emit(mov64(R2, size))
            gen.release(length)
        else:
            self.emit(mov64(R2, limit))
        self.emit(mov64(R3, gen.operand_reg(pointer, R3)))
        self.emit(mov64(R1, FP))
        self.emit(alu64(ALUOp.ADD, R1, dst))
        user = source_t.addrspace == "user" if source_t.kind == "ptr" else gen.string_space == "user"
        helper = "probe_read_user_str" if user else "probe_read_kernel_str"
        self.emit(call(helper))
        if len(e.args) == 1 and size > 1:
            self.mark_truncation(pointer, dst, size)
        gen.release(pointer)

    def mark_truncation(self, pointer: Value, dst: int, size: int) -> None:
        """A string that filled its buffer gets its last source byte in place of the NUL: a longer string
        then has no NUL, which the printers show with bpftrace's truncation trailer (``..``)."""
        gen = self.gen
        done = gen.new_label("str_fits")
        self.emit(jmp(JumpOp.JNE, R0, size, done))
        self.emit(mov64(R3, gen.operand_reg(pointer, R3)))
        self.emit(alu64(ALUOp.ADD, R3, size - 1))
        self.emit(mov64(R1, FP))
        self.emit(alu64(ALUOp.ADD, R1, dst + size - 1))
        self.emit(mov64(R2, 1))
        self.emit(call("probe_read_user" if gen.string_space == "user" else "probe_read_kernel"))
        gen.place(done)

    def tuple_literal(self, e: ast.Tuple, t: SType, dst: int, size: int) -> None:
        gen = self.gen
        if size > t.size or any(x.in_memory for x in t.elements) or _has_padding(t):
            gen.zero(dst, size)
        for element, et, offset in zip(e.elements, t.elements, t.offsets):
            self.write_element(element, et, dst + offset)

    def ternary_memory(self, e: ast.Ternary, dst: int, size: int) -> None:
        gen = self.gen
        otherwise, done = gen.new_label("tern_else"), gen.new_label("tern_end")
        gen.branch(e.cond, otherwise, when=False)
        gen.mval(e.then, dst, size)
        self.emit(ja(done))
        gen.place(otherwise)
        gen.mval(e.otherwise, dst, size)
        gen.place(done)


def _has_padding(t: SType) -> bool:
    end = 0
    for element, offset in zip(t.elements, t.offsets):
        if offset != end:
            return True
        end = offset + element.size
    return end != t.size
