"""``for ($kv : @map) { }`` and ``for ($i : a..b)`` with bounds known only at run time: the body becomes a
callback sub-program of ``bpf_for_each_map_elem`` or ``bpf_loop``.

The callback runs in its own stack frame; the probe passes its frame pointer as the callback context. The
callback's frame mirrors the probe's variable slots: on entry it copies every scratch variable in from the
probe's frame, fills ``$kv`` with ``(key, value)`` (or ``$i`` with ``a + index``), runs the body, and copies
the variables back before it returns 0 (next element) or 1 (``break``). ``return`` in the body also sets a
flag in the caller's frame, which then returns too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tinybpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    ALUOp,
    Instruction,
    JumpOp,
    Register,
    Size,
    alu64,
    call,
    exit_,
    jmp,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.asm.opcodes import LD_IMM64, PseudoLoad
from tinybpf.errors import CompileError
from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.lower.context import Lowering as ProbeCodegen


class MapLoops:
    """Callbacks of the probe's map loops, emitted after the probe's own code."""

    def __init__(self, gen: ProbeCodegen) -> None:
        self.gen = gen
        self.pending: list[tuple[str, ast.For, int]] = []

    def loop(self, stmt: ast.For) -> None:
        gen = self.gen
        assert isinstance(stmt.iterable, ast.Map)
        layout = gen.layout(stmt.iterable.name)
        returned = self.prepare(stmt)
        gen.emit(ld_map_fd(R1, layout.bpf_name))
        self.call_with_callback(stmt, returned, "for_each_map_elem")

    def range_loop(self, stmt: ast.For, start_slot: int, end_slot: int) -> None:
        """``bpf_loop(max(end - start, 0), callback, fp)``; ``$i`` in the probe's frame holds ``start``."""
        gen = self.gen
        returned = self.prepare(stmt)
        gen.emit(ldx(Size.DW, R1, FP, end_slot))
        gen.emit(ldx(Size.DW, R2, FP, start_slot))
        gen.emit(alu64(ALUOp.SUB, R1, R2))
        gen.emit(jmp(JumpOp.JSGT, R1, 0, 1))
        gen.emit(mov64(R1, 0))
        self.call_with_callback(stmt, returned, "loop")

    def prepare(self, stmt: ast.For) -> int:
        """The slot of the caller's "body returned" flag, cleared. The callback has no context register: a
        body that reads the probe's context cannot be a callback (the rest of the probe may)."""
        gen = self.gen
        if gen.uses_ctx and _reads_context(stmt.body):
            raise CompileError("a for loop over a map or a run-time range cannot read args/argN/retval in "
                               "tinybpf trace yet")
        returned = gen.stack.alloc(8)
        gen.emit(st(Size.DW, FP, returned, 0))
        return returned

    def call_with_callback(self, stmt: ast.For, returned: int, helper: str) -> None:
        """Call ``helper`` with the callback in r2 and the frame pointer as context; return if the body did."""
        gen = self.gen
        callback = gen.new_label("for_each")
        gen.emit(Instruction(LD_IMM64, R2, src=PseudoLoad.FUNC, reference=callback))
        gen.emit(mov64(R3, FP))
        gen.emit(mov64(R4, 0))
        gen.emit(call(helper))
        gen.emit(ldx(Size.DW, R0, FP, returned))
        gen.emit(jmp(JumpOp.JNE, R0, 0, gen.return_label))
        self.pending.append((callback, stmt, returned))

    def emit_callbacks(self) -> None:
        """After the probe's ``exit``: one sub-program per loop (loops inside loops add theirs as they go)."""
        gen = self.gen
        while self.pending:
            callback, stmt, returned = self.pending.pop(0)
            self.callback(gen, callback, stmt, returned)

    def callback(self, gen: ProbeCodegen, name: str, stmt: ast.For, returned: int) -> None:
        variables = gen.analysis.variables[id(gen.probe)]
        kv_t = variables[stmt.var.name]
        kv = gen.vars[stmt.var.name]
        mark = gen.stack.mark()
        parent = gen.stack.alloc(8)
        gen.place(name)
        if isinstance(stmt.iterable, ast.Map):
            layout = gen.layout(stmt.iterable.name)
            gen.emit(stx(Size.DW, FP, R4, parent))
            key_size = kv_t.elements[0].size
            value_size = kv_t.elements[1].size
            self.copy(kv + kv_t.offsets[0], R2, 0, min(key_size, layout.key_size or key_size), to_parent=False)
            self.copy(kv + kv_t.offsets[1], R3, 0, min(value_size, 8 if layout.value.is_aggregate
                                                       else layout.value_size), to_parent=False)
        else:
            gen.emit(mov64(R4, R2))
            gen.emit(stx(Size.DW, FP, R4, parent))
            gen.emit(ldx(Size.DW, R0, R4, kv))
            gen.emit(alu64(ALUOp.ADD, R0, R1))
            gen.emit(stx(Size.DW, FP, R0, kv))
        for var, slot in gen.vars.items():
            if var != stmt.var.name:
                self.copy(slot, R4, slot, max(variables[var].size, 8), to_parent=False)
        step, stop, ret = gen.new_label("each_next"), gen.new_label("each_stop"), gen.new_label("each_return")
        saved_loops, saved_return = gen.loops, gen.return_label
        gen.loops, gen.return_label = [(step, stop)], ret
        gen.block(stmt.body)
        gen.loops, gen.return_label = saved_loops, saved_return
        self.epilogue(step, parent, stmt, 0)
        gen.place(ret)
        gen.emit(ldx(Size.DW, R4, FP, parent))
        gen.emit(st(Size.DW, R4, returned, 1))
        self.epilogue(stop, parent, stmt, 1)
        gen.stack.release(mark)

    def epilogue(self, label: str, parent: int, stmt: ast.For, result: int) -> None:
        """Copy the variables back to the caller's frame and return ``result`` to the helper."""
        gen = self.gen
        variables = gen.analysis.variables[id(gen.probe)]
        gen.place(label)
        gen.emit(ldx(Size.DW, R4, FP, parent))
        for var, slot in gen.vars.items():
            if var != stmt.var.name:
                self.copy(slot, R4, slot, max(variables[var].size, 8), to_parent=True)
        gen.emit(mov64(R0, result))
        gen.emit(exit_())

    def copy(self, local: int, base: Register, offset: int, size: int, to_parent: bool) -> None:
        """Copy ``size`` bytes between ``fp + local`` and ``base + offset`` through r0, 8/4/2/1 at a time."""
        from tinybpf.backend.regalloc import ACCESS_SIZES as _SIZES
        from tinybpf.backend.regalloc import chunk_size

        done = 0
        while done < size:
            chunk = min(chunk_size(local + done, size - done), chunk_size(offset + done, size - done))
            width = _SIZES[chunk]
            if to_parent:
                self.gen.emit(ldx(width, R0, FP, local + done))
                self.gen.emit(stx(width, base, R0, offset + done))
            else:
                self.gen.emit(ldx(width, R0, base, offset + done))
                self.gen.emit(stx(width, FP, R0, local + done))
            done += chunk


def _reads_context(body: ast.Node) -> bool:
    """Whether ``body`` uses the probe's context: ``args``, ``argN``, ``retval``, stacks, ``ctx``..."""
    from tinybpf.trace.lower.functions import CTX_NAMES

    for node in ast.walk(body):
        if isinstance(node, (ast.Builtin, ast.Call)) and (node.name in ("args", "retval", *CTX_NAMES)
                                                          or (node.name.startswith("arg") and node.name[3:].isdigit())):
            return True
    return False
