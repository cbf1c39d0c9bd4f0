"""Code generation: one probe's AST (typed by ``semantics``) to eBPF instructions.

A direct tree walk with the register pool of ``regalloc``: integers are computed in r6-r9 (spilled to the
stack when those run out), strings, tuples and keys are built in stack memory, conditions compile to
branches rather than 0/1 values. Map updates, aggregations and events are in ``codegen_calls``; the
``peephole`` pass then tidies the result.

The context pointer (r1 at entry) is kept in r6 only when the probe reads it (``args``, ``argN``,
``retval``).
"""
from __future__ import annotations

import dataclasses
import os
import platform
from typing import Any, Callable, Optional, Union, cast

from tinybpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R9,
    ALUOp,
    Instruction,
    Instructions,
    JumpOp,
    Label,
    Register,
    Size,
    alu64,
    call,
    exit_,
    ja,
    jmp,
    jmp32,
    label,
    ld_imm64,
    ldx,
    mov32,
    mov64,
    st,
    stx,
)
from tinybpf.backend import scratch
from tinybpf.backend.fold import fits_imm, fold, wrap64
from tinybpf.backend.regalloc import ACCESS_SIZES as _SIZES
from tinybpf.backend.regalloc import STACK_LIMIT, Registers, Stack, Value, allocate, chunk_size, main_end
from tinybpf.backend.scratch import SCRATCH_LIMIT
from tinybpf.errors import CompileError
from tinybpf.kernel import pt_regs
from tinybpf.trace.lower.compiled import CompiledTrace, Event, MapLayout
from tinybpf.trace.lower.exit_flag import TIMER_PROVIDERS
from tinybpf.trace.lower.loops import MapLoops
from tinybpf.trace.lower.memory import MemoryCodegen, is_memory_read
from tinybpf.trace.semantics.analysis import Analysis
from tinybpf.trace.semantics.stype import SType, compared_as_bytes
from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

PROC_PID_INIT_INO = 0xEFFFFFFC  # the kernel's fixed inode of the initial pid namespace
_JUMPS = {
    "==": (JumpOp.JEQ, JumpOp.JEQ), "!=": (JumpOp.JNE, JumpOp.JNE),
    "<": (JumpOp.JLT, JumpOp.JSLT), "<=": (JumpOp.JLE, JumpOp.JSLE),
    ">": (JumpOp.JGT, JumpOp.JSGT), ">=": (JumpOp.JGE, JumpOp.JSGE),
}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", "<=": ">", ">": "<="}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_ALU = {"+": ALUOp.ADD, "-": ALUOp.SUB, "*": ALUOp.MUL, "/": ALUOp.DIV, "%": ALUOp.MOD, "&": ALUOp.AND,
        "|": ALUOp.OR, "^": ALUOp.XOR, "<<": ALUOp.LSH, ">>": ALUOp.RSH}
MAX_INSNS = 1_000_000  # BPF_COMPLEXITY_LIMIT_INSNS


class ProbeCodegen:
    """Instructions for one probe on one group of attach points."""

    def __init__(self, analysis: Analysis, probe: ast.Probe, trace: CompiledTrace, *,
                 attach_name: str = "", func_name: str = "", field_offsets: Optional[dict[str, int]] = None,
                 pid_filter: int = 0, string_space: str = "kernel", scratch: bool = False) -> None:
        from tinybpf.trace.lower import calls as codegen_calls
        from tinybpf.trace.lower import functions as codegen_functions

        self.analysis = analysis
        self.probe = probe
        self.trace = trace
        self.attach_name = attach_name
        self.func_name = func_name
        self.field_offsets = field_offsets or {}
        self.pid_filter = pid_filter
        self.string_space = string_space
        # -k: (pos, message, helper, retcode) -> the warning text a failed helper call sends
        self.helper_warning: Optional[Callable[..., str]] = None
        self.code: list[Union[Instruction, Label]] = []
        self.scratch = scratch
        self.stack = Stack(SCRATCH_LIMIT if scratch else STACK_LIMIT)
        self.labels = 0
        uses = analysis.uses.get(id(probe), set())
        self.uses_ctx = bool(uses & {"args", "retval"} or any(u.startswith("arg") for u in uses)
                             or codegen_functions.needs_ctx(probe))
        self.regs = Registers(self.emit, self.stack, ([R6] if self.uses_ctx else []) + ([R9] if scratch else []))
        self.vars: dict[str, int] = {}
        self.loops: list[tuple] = []
        self.calls = codegen_calls.CallCodegen(self)
        self.memory = MemoryCodegen(self)
        self.map_loops = MapLoops(self)
        self.return_label = "out"
        self.functions = codegen_functions.FunctionCodegen(self)
        self.target: Optional[Any] = None  # the probes.Target this program is for (set by the compiler)
        self.unroll_factor = 1  # how many times the enclosing unrolls repeat the code being generated
        self.pt_regs = pt_regs.RUNNING

    # ----------------------------------------------------------------- plumbing

    def emit(self, item: object) -> None:
        self.code.append(item)  # type: ignore[arg-type]
        if len(self.code) > MAX_INSNS:
            raise CompileError(f"the probe needs more than {MAX_INSNS} instructions (unroll less)")

    def new_label(self, hint: str) -> str:
        self.labels += 1
        return f"{hint}_{self.labels}"

    def place(self, name: str) -> None:
        self.emit(label(name))

    def type_of(self, node: ast.Node) -> SType:
        return self.analysis.type_of(node)

    def layout(self, name: str) -> MapLayout:
        return self.trace.maps[name]

    def event(self, event: Event) -> int:
        self.trace.events.append(event)
        return len(self.trace.events) - 1

    # ----------------------------------------------------------------- probe

    def generate(self) -> Instructions:
        if self.uses_ctx:
            self.emit(mov64(R6, R1))
        if self.scratch:
            for item in scratch.prologue("out"):
                self.emit(item)
        body = len(self.code)
        if self.pid_filter:
            self.emit(call("get_current_pid_tgid"))
            self.emit(alu64(ALUOp.RSH, R0, 32))
            self.emit(jmp(JumpOp.JNE, R0, self.pid_filter, "out"))
        for name, t in sorted(self.analysis.variables.get(id(self.probe), {}).items()):
            self.vars[name] = self.stack.alloc(max(t.size, 8))
        if "exit" in self.analysis.uses.get(id(self.probe), ()) and self.target is not None \
                and self.target.provider in TIMER_PROVIDERS:
            from tinybpf.trace.lower.exit_flag import emit_check

            emit_check(self.emit, self.stack.alloc(8), "out")
        if self.probe.predicate is not None:
            self.branch(self.probe.predicate.expr, "out", when=False)
        self.block(self.probe.block)
        self.place("out")
        self.emit(mov64(R0, 0))
        self.emit(exit_())
        self.map_loops.emit_callbacks()
        self.code = allocate(self.code, self.regs.pool, self.stack)
        if self.scratch:
            scratch.rebase(self.code, body, main_end(self.code), self.stack.deepest)
        from tinybpf.backend.peephole import optimise

        return Instructions(optimise(self.code))

    # ----------------------------------------------------------------- statements

    def block(self, block: ast.Block) -> None:
        for stmt in block.statements:
            mark = self.stack.mark()
            self.statement(stmt)
            self.stack.release(mark)

    def unroll(self, stmt: ast.Unroll) -> None:
        """The body ``count`` times. Its first copy tells how many instructions all need, with the copies the
        enclosing unrolls make: nested unrolls that cannot fit the kernel's limit fail at that first copy of
        the innermost one, not after generating them all."""
        count = self.const_of(stmt.count) or 1
        outer = self.unroll_factor
        self.unroll_factor = outer * count
        start = len(self.code)
        self.block(stmt.body)
        if start + (len(self.code) - start) * count * outer > MAX_INSNS:
            copies = f"{count * outer} copies of this body (unrolls within unrolls)" if outer > 1 else \
                f"{count} copies of this body"
            analysis = self.analysis
            raise TraceError([Diagnostic(f"unroll: {copies} need more than {MAX_INSNS} instructions, the "
                                         "kernel's limit", stmt.pos)], analysis.source, analysis.filename)
        for _ in range(count - 1):
            self.block(stmt.body)
        self.unroll_factor = outer

    def statement(self, stmt: ast.Statement) -> None:
        if isinstance(stmt, ast.ExprStatement):
            self.expr_statement(stmt.expr)
        elif isinstance(stmt, ast.AssignMapStatement):
            self.calls.assign_map(stmt)
        elif isinstance(stmt, ast.AssignVarStatement):
            self.assign_var(stmt.var.name, stmt.expr)
        elif isinstance(stmt, ast.If):
            self.if_statement(stmt)
        elif isinstance(stmt, ast.Unroll):
            self.unroll(stmt)
        elif isinstance(stmt, ast.While):
            self.while_loop(stmt)
        elif isinstance(stmt, ast.Jump):
            self.jump(stmt)
        elif isinstance(stmt, ast.VarDeclStatement):
            slot = self.vars.get(stmt.var.name)
            if slot is not None:
                self.zero(slot, max(self.analysis.variables[id(self.probe)][stmt.var.name].size, 8))
        elif isinstance(stmt, ast.For) and isinstance(stmt.iterable, ast.Map):
            self.map_loops.loop(stmt)
        elif isinstance(stmt, ast.For) and isinstance(stmt.iterable, ast.Range):
            self.range_loop(stmt, stmt.iterable)
        else:
            raise CompileError(f"cannot generate code for {type(stmt).__name__}")

    def range_loop(self, stmt: ast.For, bounds: ast.Range) -> None:
        """``for ($i : a..b)``: the end is evaluated once; ``continue`` goes to the increment."""
        slot = self.vars[stmt.var.name]
        start = self.ival(bounds.start)
        self.store_int(slot, start, 8)
        self.release(start)
        end = self.ival(bounds.end)
        end_slot = self.stack.alloc(8)
        self.store_int(end_slot, end, 8)
        self.release(end)
        if self.const_of(bounds.start) is None or self.const_of(bounds.end) is None:
            self.map_loops.range_loop(stmt, slot, end_slot)
            return
        top, step, done = self.new_label("for"), self.new_label("fornext"), self.new_label("forend")
        self.place(top)
        self.emit(ldx(Size.DW, R1, FP, slot))
        self.emit(ldx(Size.DW, R2, FP, end_slot))
        self.emit(jmp(JumpOp.JSGE, R1, R2, done))
        self.loops.append((step, done))
        self.block(stmt.body)
        self.loops.pop()
        self.place(step)
        self.emit(ldx(Size.DW, R1, FP, slot))
        self.emit(alu64(ALUOp.ADD, R1, 1))
        self.emit(stx(Size.DW, FP, R1, slot))
        self.emit(ja(top))
        self.place(done)

    def expr_statement(self, e: ast.Expression) -> None:
        if isinstance(e, ast.Call):
            self.calls.call_statement(e)
        elif isinstance(e, ast.Unop) and e.op in ("++", "--"):
            self.release(self.increment(e))
        elif isinstance(e, ast.Ternary):
            otherwise, done = self.new_label("else"), self.new_label("endif")
            self.branch(e.cond, otherwise, when=False)
            self.expr_statement(e.then)
            self.emit(ja(done))
            self.place(otherwise)
            self.expr_statement(e.otherwise)
            self.place(done)
        else:
            t = self.type_of(e)
            if t.is_int:
                self.release(self.ival(e))
            elif t.in_memory:
                self.mval(e)

    def if_statement(self, stmt: ast.If) -> None:
        otherwise = self.new_label("else")
        self.branch(stmt.cond, otherwise, when=False)
        self.block(stmt.then)
        if stmt.otherwise is None:
            self.place(otherwise)
            return
        done = self.new_label("endif")
        self.emit(ja(done))
        self.place(otherwise)
        self.block(stmt.otherwise)
        self.place(done)

    def while_loop(self, stmt: ast.While) -> None:
        top, done = self.new_label("while"), self.new_label("wend")
        self.place(top)
        self.branch(stmt.cond, done, when=False)
        self.loops.append((top, done))
        self.block(stmt.body)
        self.loops.pop()
        self.emit(ja(top))
        self.place(done)

    def jump(self, stmt: ast.Jump) -> None:
        if stmt.kind == "return":
            if stmt.value is not None:
                self.release(self.ival(stmt.value))
            self.emit(ja(self.return_label))
        elif self.loops:
            top, done = self.loops[-1]
            self.emit(ja(done if stmt.kind == "break" else top))

    def assign_var(self, name: str, expr: ast.Expression) -> None:
        t = self.analysis.variables[id(self.probe)][name]
        slot = self.vars[name]
        if t.in_memory:
            if t.kind == "tuple":
                self.calls.write_element(expr, t, slot)
            else:
                self.mval(expr, slot, t.size)
            return
        value = self.ival(expr)
        self.store_int(slot, value, 8)
        self.release(value)

    def store_int(self, offset: int, value: Value, size: int, base: Register = FP) -> None:
        """``*(size *)(base + offset) = value``."""
        if value.const is not None and fits_imm(value.const):
            self.emit(st(_SIZES[size], base, offset, value.const))
            return
        self.emit(stx(_SIZES[size], base, self.operand_reg(value, R1), offset))

    # ----------------------------------------------------------------- integer values

    def release(self, value: Value) -> None:
        self.regs.release(value)

    def operand_reg(self, value: Value, scratch: Register) -> Register:
        """A register holding ``value`` for one instruction: its own, or ``scratch`` loaded with it."""
        if value.reg is not None:
            return value.reg
        if value.slot is not None:
            self.emit(ldx(Size.DW, scratch, FP, value.slot))
        else:
            const = value.const or 0
            self.emit(mov64(scratch, const) if fits_imm(const) else ld_imm64(scratch, const))
        return scratch

    def operand(self, value: Value, scratch: Register) -> Union[Register, int]:
        if value.const is not None and fits_imm(value.const):
            return value.const
        return self.operand_reg(value, scratch)

    def from_r0(self, signed: bool = False) -> Value:
        value = Value(signed=signed)
        self.emit(mov64(self.regs.alloc(value), R0))
        return value

    def const_of(self, e: ast.Expression) -> Optional[int]:
        if isinstance(e, ast.Integer):
            return wrap64(e.value)
        if isinstance(e, ast.Sizeof):
            return self.sizeof(e)
        if isinstance(e, ast.Identifier):
            return self.identifier_value(e.name)
        if isinstance(e, ast.Offsetof):
            return self.offsetof(e)
        if isinstance(e, ast.Binop):
            left, right = self.const_of(e.left), self.const_of(e.right)
            if left is None or right is None:
                return None
            signed = self.type_of(e.left).signed and self.type_of(e.right).signed
            return fold(e.op, left, right, signed)
        if isinstance(e, ast.Unop) and e.op in ("-", "~", "!"):
            inner = self.const_of(e.operand)
            if inner is None:
                return None
            return wrap64(-inner if e.op == "-" else ~inner if e.op == "~" else int(not inner))
        return None

    def identifier_value(self, name: str) -> Optional[int]:
        """``true``/``false`` and enum constants."""
        if name in ("true", "false"):
            return int(name == "true")
        ctypes = self.analysis.ctypes
        return None if ctypes is None else ctypes.enum_value(name)

    def offsetof(self, e: ast.Offsetof) -> int:
        from tinybpf.trace.semantics import memory as sema_memory

        struct = (self.analysis.ctypes.named_type(e.target.name) if isinstance(e.target, ast.TypeName)
                  else self.type_of(e.target))
        return sema_memory.offset_of(self.analysis.ctypes, struct, e.field) or 0

    def sizeof(self, e: ast.Sizeof) -> int:
        if isinstance(e.target, ast.TypeName) and e.target.array_length:  # ``T[N]``: N of them
            element = ast.Sizeof(pos=e.pos, target=dataclasses.replace(e.target, array_length=None))
            return self.sizeof(element) * e.target.array_length
        if isinstance(e.target, ast.TypeName) and self.analysis.ctypes is not None:
            found = self.analysis.ctypes.named_type(e.target.name)
            if found is not None and not e.target.pointer_depth:
                return int(found.size)
        if isinstance(e.target, ast.TypeName):
            if e.target.pointer_depth:
                return 8
            sizes = {"int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "uint16": 2, "uint32": 4,
                     "uint64": 8, "char": 1, "short": 2, "int": 4, "long": 8}
            return sizes.get(e.target.name, 8)
        return self.type_of(e.target).size

    def ival(self, e: ast.Expression) -> Value:
        """Evaluate an integer expression."""
        const = self.const_of(e)
        if const is not None:
            return Value(const=const, signed=self.type_of(e).signed)
        method = getattr(self, "int_" + type(e).__name__, None)
        if method is None:
            raise CompileError(f"cannot generate code for {type(e).__name__} as an integer")
        value: Value = method(e)
        return value

    def int_Variable(self, e: ast.Variable) -> Value:
        value = Value(signed=self.type_of(e).signed)
        self.emit(ldx(Size.DW, self.regs.alloc(value), FP, self.vars[e.name]))
        return value

    def int_Builtin(self, e: ast.Builtin) -> Value:
        name = e.name
        if name in ("pid", "tid") and os.stat("/proc/self/ns/pid").st_ino != PROC_PID_INIT_INO:
            return self.namespaced_id(name == "pid")
        if name in ("pid", "tid", "pid_init", "tid_init"):
            self.emit(call("get_current_pid_tgid"))
            value = self.from_r0()
            assert value.reg is not None
            if name.startswith("pid"):
                self.emit(alu64(ALUOp.RSH, value.reg, 32))
            else:
                self.emit(mov32(value.reg, value.reg))
            return value
        if name in ("uid", "gid"):
            self.emit(call("get_current_uid_gid"))
            value = self.from_r0()
            assert value.reg is not None
            self.emit(alu64(ALUOp.RSH, value.reg, 32) if name == "gid" else mov32(value.reg, value.reg))
            return value
        helpers = {"nsecs": "ktime_get_ns", "cpu": "get_smp_processor_id", "rand": "get_prandom_u32",
                   "curtask": "get_current_task", "cgroup": "get_current_cgroup_id", "numaid": "get_numa_node_id",
                   "jiffies": "jiffies64"}
        if name in helpers:
            self.emit(call(helpers[name]))
            return self.from_r0()
        if name == "elapsed":
            self.trace.needs_start_time = True
            self.emit(call("ktime_get_ns"))
            self.emit(Instruction(0x18, R1, reference="__start_ns"))
            self.emit(alu64(ALUOp.SUB, R0, R1))
            return self.from_r0()
        if name in ("pid_curr_ns", "tid_curr_ns"):
            return self.namespaced_id(name == "pid_curr_ns")
        if name == "ctx":
            value = Value(signed=False)
            self.emit(mov64(self.regs.alloc(value), R6))
            return value
        if name == "cpid":
            self.trace.uses_cpid = True
            value = Value(signed=False)
            self.emit(Instruction(0x18, self.regs.alloc(value), reference="__cpid"))
            return value
        if name.startswith("arg") and self.attach_name.startswith("usdt:"):
            return self.functions.usdt_argument(int(name[3:]))
        if name == "retval" or name.startswith("arg"):
            return self.ctx_load(self.pt_offset(name), self.ctx_word(name), False)
        raise CompileError(f"cannot generate code for builtin {name}")

    def namespaced_id(self, pid: bool) -> Value:
        """``bpf_get_ns_current_pid_tgid`` for the pid namespace tinybpf runs in: ``{u32 pid; u32 tgid}``."""
        ns = os.stat("/proc/self/ns/pid")
        slot = self.stack.alloc(8)
        self.emit(ld_imm64(R1, ns.st_dev))
        self.emit(ld_imm64(R2, ns.st_ino))
        self.emit(mov64(R3, FP))
        self.emit(alu64(ALUOp.ADD, R3, slot))
        self.emit(mov64(R4, 8))
        self.emit(call("get_ns_current_pid_tgid"))
        value = Value(signed=False)
        self.emit(ldx(Size.W, self.regs.alloc(value), FP, slot + (4 if pid else 0)))
        return value

    def pt_offset(self, name: str) -> int:
        if self.attach_name.startswith("rawtracepoint:") and name.startswith("arg"):
            return 8 * int(name[3:])  # a raw tracepoint's context is its u64 arguments
        if self.pt_regs is None:
            raise CompileError(f"{name} is not supported on {platform.machine()}")
        if name == "retval":
            return self.pt_regs.ret
        offset = self.pt_regs.arg(int(name[3:]))
        if offset is None:
            raise CompileError(f"{name} is not passed in a register on {self.pt_regs.machine} "
                               f"(arg0-arg{len(self.pt_regs.args) - 1} are)")
        return offset

    def ctx_word(self, name: str) -> int:
        """Bytes of one context word: a raw tracepoint's u64 arguments, else a pt_regs register."""
        if self.attach_name.startswith("rawtracepoint:") or self.pt_regs is None:
            return 8
        return self.pt_regs.word

    def ctx_load(self, offset: int, size: int, signed: bool) -> Value:
        value = Value(signed=signed)
        reg = self.regs.alloc(value)
        self.emit(ldx(_SIZES[size], reg, R6, offset))
        if signed and size < 8:
            shift = 64 - size * 8
            self.emit(alu64(ALUOp.LSH, reg, shift))
            self.emit(alu64(ALUOp.ARSH, reg, shift))
        return value

    def int_FieldAccess(self, e: ast.FieldAccess) -> Value:
        if is_memory_read(self, e):
            return self.memory.int_value(e)
        record = self.type_of(e.expr)
        if record.kind == "record":
            return self.int_TupleAccess(ast.TupleAccess(e.pos, e.expr, record.names.index(e.field)))
        t = self.type_of(e)
        offset = self.field_offsets[e.field]
        if t.tag == "__data_loc":
            return self.data_loc_pointer(offset)
        return self.ctx_load(offset, t.size, t.signed)

    def data_loc_pointer(self, offset: int) -> Value:
        """A ``__data_loc`` field's data: its low 16 bits are the data's offset from the record start."""
        value = self.ctx_load(offset, 4, False)
        reg = self.regs.own(value)
        self.emit(alu64(ALUOp.AND, reg, 0xFFFF))
        self.emit(alu64(ALUOp.ADD, reg, R6))
        return value

    def int_Map(self, e: ast.Map) -> Value:
        return self.calls.read_map_int(e)

    def int_Call(self, e: ast.Call) -> Value:
        return self.calls.int_call(e)

    def int_TupleAccess(self, e: ast.TupleAccess) -> Value:
        tuple_t = self.type_of(e.expr)
        base = self.mval(e.expr)
        element = tuple_t.elements[e.index]
        value = Value(signed=element.signed)
        reg = self.regs.alloc(value)
        self.emit(ldx(_SIZES[element.size], reg, FP, base + tuple_t.offsets[e.index]))
        self.extend(reg, element.size, element.signed)
        return value

    def extend(self, reg: Register, size: int, signed: bool) -> None:
        if size >= 8:
            return
        if signed:
            shift = 64 - size * 8
            self.emit(alu64(ALUOp.LSH, reg, shift))
            self.emit(alu64(ALUOp.ARSH, reg, shift))
        elif size == 4:
            self.emit(mov32(reg, reg))
        else:
            self.emit(alu64(ALUOp.AND, reg, (1 << (size * 8)) - 1))

    def int_ArrayAccess(self, e: ast.ArrayAccess) -> Value:
        if self.type_of(e.expr).kind == "tuple":
            return self.int_TupleAccess(ast.TupleAccess(e.pos, e.expr, self.const_of(e.index) or 0))
        return self.memory.int_value(e)

    def int_Cast(self, e: ast.Cast) -> Value:
        t = self.type_of(e)
        if t.kind == "bool":
            return self.materialise(ast.Binop(e.pos, "!=", e.expr, ast.Integer(e.pos, 0)))
        if self.type_of(e.expr).in_memory:
            return self.memory.int_value(e, e.expr)
        value = self.ival(e.expr)
        if value.const is not None:
            masked = value.const & ((1 << (t.size * 8)) - 1)
            if t.signed and masked >> (t.size * 8 - 1):
                masked -= 1 << (t.size * 8)
            return Value(const=wrap64(masked), signed=t.signed)
        reg = self.regs.own(value)
        self.extend(reg, t.size, t.signed)
        value.signed = t.signed
        return value

    def int_Unop(self, e: ast.Unop) -> Value:
        if e.op in ("++", "--"):
            return self.increment(e)
        if e.op == "!":
            return self.materialise(e)
        if e.op == "*" and is_memory_read(self, e) and self.type_of(e.operand).kind == "ptr":
            return self.memory.int_value(e)
        if e.op == "&" and isinstance(e.operand, ast.Variable):
            address = Value(signed=False)
            reg = self.regs.alloc(address)
            self.emit(mov64(reg, FP))
            self.emit(alu64(ALUOp.ADD, reg, self.vars[e.operand.name]))
            return address
        value = self.ival(e.operand)
        if value.const is not None:
            result = -value.const if e.op == "-" else ~value.const if e.op == "~" else value.const
            return Value(const=wrap64(result), signed=value.signed)
        reg = self.regs.own(value)
        if e.op == "-":
            self.emit(Instruction(0x87, reg))
        elif e.op == "~":
            self.emit(alu64(ALUOp.XOR, reg, -1))
        elif e.op == "*":
            raise CompileError("dereferencing pointers is not supported by tinybpf trace yet")
        return value

    def increment(self, e: ast.Unop) -> Value:
        delta = 1 if e.op == "++" else -1
        target = e.operand
        pointer = self.type_of(target)
        if pointer.kind == "ptr" and pointer.pointee is not None and pointer.pointee.size:
            delta *= pointer.pointee.size
        if isinstance(target, ast.Map):
            return self.calls.increment_map(target, delta, e.postfix)
        assert isinstance(target, ast.Variable)
        slot = self.vars[target.name]
        value = Value(signed=True)
        reg = self.regs.alloc(value)
        self.emit(ldx(Size.DW, reg, FP, slot))
        self.emit(alu64(ALUOp.ADD, reg, delta))
        self.emit(stx(Size.DW, FP, reg, slot))
        if e.postfix:
            self.emit(alu64(ALUOp.SUB, reg, delta))
        return value

    def int_Binop(self, e: ast.Binop) -> Value:
        if e.op in _JUMPS or e.op in ("&&", "||"):
            return self.materialise(e)
        if e.op in ("+", "-") and self.type_of(e.right).kind == "ptr" and self.type_of(e.left).kind != "ptr":
            e = ast.Binop(e.pos, e.op, e.right, e.left)
        left, right = self.ival(e.left), self.ival(e.right)
        if e.op in ("+", "-") and self.type_of(e.left).kind == "ptr" and self.type_of(e.right).kind != "ptr":
            right = self.memory.scale(e, right)
        signed = left.signed and right.signed
        if left.const is not None and right.const is not None:
            return Value(const=fold(e.op, left.const, right.const, signed), signed=signed)
        if e.op in ("<<", ">>") and right.const is not None and not 0 <= right.const < 64:
            self.release(left)
            return Value(const=0, signed=signed)
        reg = self.regs.own(left)
        src = self.operand(right, R1)
        op = _ALU[e.op]
        if e.op == ">>" and left.signed:
            op = ALUOp.ARSH
        if e.op in ("/", "%"):
            if isinstance(src, int) and src == 0:
                src = self.operand_reg(Value(const=0), R1)
            done = self.new_label("divided")
            if right.const is None:
                self.divide_by_zero(e, reg, cast(Register, src), done)
            self.emit(alu64(op, reg, src, signed=signed))
            self.place(done)
        else:
            self.emit(alu64(op, reg, src))
        self.release(right)
        left.signed = signed
        return left

    def runtime_warning(self, message: str, pos: ast.Pos) -> None:
        """Send a warning about ``pos`` for user space to print when this point is reached."""
        analysis = self.analysis
        text = Diagnostic(message, pos, "WARNING").render(analysis.source, analysis.filename)
        self.calls.send(self.event(Event("warning", text=text)), [], 8)

    def divide_by_zero(self, e: ast.Binop, reg: Register, divisor: Register, done: str) -> None:
        """bpftrace's rule for a zero divisor: the result is 1, with a warning at run time."""
        divide = self.new_label("divide")
        self.emit(jmp(JumpOp.JNE, divisor, 0, divide))
        self.emit(mov64(reg, 1))
        self.runtime_warning("Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used "
                             "as the result.", e.pos)
        self.emit(ja(done))
        self.place(divide)

    def materialise(self, e: ast.Expression) -> Value:
        """A condition as a 0/1 value (kept in a stack slot: both branches must agree on registers)."""
        slot = self.stack.alloc(8)
        done = self.new_label("bool")
        self.emit(st(Size.DW, FP, slot, 0))
        self.branch(e, done, when=False)
        self.emit(st(Size.DW, FP, slot, 1))
        self.place(done)
        return Value(slot=slot, signed=True)

    def int_Ternary(self, e: ast.Ternary) -> Value:
        result = Value(signed=self.type_of(e).signed)
        slot = self.stack.alloc(8)
        otherwise, done = self.new_label("tern_else"), self.new_label("tern_end")
        self.branch(e.cond, otherwise, when=False)
        self.store_arm(e.then, slot)
        self.emit(ja(done))
        self.place(otherwise)
        self.store_arm(e.otherwise, slot)
        self.place(done)
        result.slot = slot
        return result

    def store_arm(self, e: ast.Expression, slot: int) -> None:
        value = self.ival(e)
        self.store_int(slot, value, 8)
        self.release(value)

    # ----------------------------------------------------------------- conditions

    def branch(self, e: ast.Expression, target: str, when: bool) -> None:
        """Jump to ``target`` when ``e``'s truth is ``when``; fall through otherwise."""
        if isinstance(e, ast.Unop) and e.op == "!":
            self.branch(e.operand, target, not when)
            return
        if isinstance(e, ast.Binop) and e.op in ("&&", "||"):
            if (e.op == "&&") != when:
                self.branch(e.left, target, when)
                self.branch(e.right, target, when)
            else:
                skip = self.new_label("sc")
                self.branch(e.left, skip, not when)
                self.branch(e.right, target, when)
                self.place(skip)
            return
        if isinstance(e, ast.Binop) and e.op in _JUMPS:
            left_t, right_t = self.type_of(e.left), self.type_of(e.right)
            if compared_as_bytes(left_t, right_t):
                self.calls.string_compare(e, target, when)
                return
            self.compare(e.op if when else _NEGATE[e.op], e.left, e.right, target)
            return
        value = self.ival(e)
        if value.const is not None:
            if bool(value.const) == when:
                self.emit(ja(target))
            return
        reg = self.operand_reg(value, R1)
        self.emit(jmp(JumpOp.JNE if when else JumpOp.JEQ, reg, 0, target))
        self.release(value)

    def compare(self, op: str, left_e: ast.Expression, right_e: ast.Expression, target: str) -> None:
        left, right = self.ival(left_e), self.ival(right_e)
        signed = left.signed and right.signed
        if left.const is not None and right.const is not None:
            if fold(op, left.const, right.const, signed):
                self.emit(ja(target))
            return
        if left.const is not None:
            left, right, op = right, left, _MIRROR[op]
        reg = self.operand_reg(left, R1)
        src = self.operand(right, R2)
        self.emit(jmp(_JUMPS[op][1 if signed else 0], reg, src, target))
        self.release(left)
        self.release(right)

    # ----------------------------------------------------------------- memory values

    def mval(self, e: ast.Expression, dst: Optional[int] = None, size: int = 0) -> int:
        """Write a string/tuple value into the stack at ``dst`` (allocated when None); returns its offset."""
        t = self.type_of(e)
        size = size or t.size
        if dst is None:
            if isinstance(e, ast.Variable):
                return self.vars[e.name]
            dst = self.stack.alloc(size)
        self.calls.write_memory(e, t, dst, size)
        return dst

    def zero(self, dst: int, size: int, base: Register = FP) -> None:
        offset = 0
        while offset < size:
            chunk = chunk_size(dst + offset, size - offset)
            self.emit(st(_SIZES[chunk], base, dst + offset, 0))
            offset += chunk

    def copy(self, dst: int, src_base: Register, src: int, size: int) -> None:
        """Copy ``size`` bytes from ``src_base + src`` to ``fp + dst`` through r1 (alignment-safe chunks)."""
        offset = 0
        while offset < size:
            chunk = min(chunk_size(dst + offset, size - offset), chunk_size(src + offset, size - offset))
            self.emit(ldx(_SIZES[chunk], R3, src_base, src + offset))
            self.emit(stx(_SIZES[chunk], FP, R3, dst + offset))
            offset += chunk

    def write_bytes(self, dst: int, data: bytes, size: int) -> None:
        """Store the constant ``data`` (zero padded to ``size``) at ``fp + dst``."""
        data = data[:size].ljust(size, b"\0")
        offset = 0
        while offset < size:
            chunk = chunk_size(dst + offset, size - offset)
            piece = data[offset:offset + chunk]
            number = int.from_bytes(piece, "little", signed=True)
            if chunk == 8 and not fits_imm(number):
                low = int.from_bytes(piece[:4], "little", signed=True)
                high = int.from_bytes(piece[4:], "little", signed=True)
                self.emit(st(Size.W, FP, dst + offset, low))
                self.emit(st(Size.W, FP, dst + offset + 4, high))
            else:
                self.emit(st(_SIZES[chunk], FP, dst + offset, number))
            offset += chunk


__all__ = ["R2", "ProbeCodegen", "jmp32"]
