"""``for ($kv : @map) { }``: the body becomes a ``bpf_for_each_map_elem`` callback sub-program.

The callback runs in its own stack frame; the probe passes its frame pointer as the callback context. The
callback's frame mirrors the probe's variable slots: on entry it copies every scratch variable in from the
probe's frame, fills ``$kv`` with ``(key, value)``, runs the body, and copies the variables back before it
returns 0 (next element) or 1 (``break``). ``return`` in the body ends the iteration as bpftrace does.
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
    Instruction,
    Register,
    Size,
    call,
    exit_,
    ld_map_fd,
    ldx,
    mov64,
    stx,
)
from tinybpf.asm.opcodes import LD_IMM64, PseudoLoad
from tinybpf.errors import CompileError
from tinybpf.trace import ast

if TYPE_CHECKING:
    from tinybpf.trace.codegen import ProbeCodegen


class MapLoops:
    """Callbacks of the probe's map loops, emitted after the probe's own code."""

    def __init__(self, gen: ProbeCodegen) -> None:
        self.gen = gen
        self.pending: list[tuple[str, ast.For]] = []

    def loop(self, stmt: ast.For) -> None:
        gen = self.gen
        assert isinstance(stmt.iterable, ast.Map)
        if gen.uses_ctx:
            raise CompileError("a for loop over a map cannot read args/argN/retval in tinybpf trace yet")
        layout = gen.layout(stmt.iterable.name)
        callback = gen.new_label("for_each")
        gen.regs.spill_all()
        gen.emit(ld_map_fd(R1, layout.bpf_name))
        gen.emit(Instruction(LD_IMM64, R2, src=PseudoLoad.FUNC, reference=callback))
        gen.emit(mov64(R3, FP))
        gen.emit(mov64(R4, 0))
        gen.emit(call("for_each_map_elem"))
        self.pending.append((callback, stmt))

    def emit_callbacks(self) -> None:
        """After the probe's ``exit``: one sub-program per loop (loops inside loops add theirs as they go)."""
        gen = self.gen
        while self.pending:
            callback, stmt = self.pending.pop(0)
            self.callback(gen, callback, stmt)

    def callback(self, gen: ProbeCodegen, name: str, stmt: ast.For) -> None:
        assert isinstance(stmt.iterable, ast.Map)
        layout = gen.layout(stmt.iterable.name)
        variables = gen.analysis.variables[id(gen.probe)]
        kv_t = variables[stmt.var.name]
        kv = gen.vars[stmt.var.name]
        mark = gen.stack.mark()
        parent = gen.stack.alloc(8)
        gen.place(name)
        gen.emit(stx(Size.DW, FP, R4, parent))
        key_size = kv_t.elements[0].size
        value_size = kv_t.elements[1].size
        self.copy(kv + kv_t.offsets[0], R2, 0, min(key_size, layout.key_size or key_size), to_parent=False)
        self.copy(kv + kv_t.offsets[1], R3, 0, min(value_size, 8 if layout.value.is_aggregate
                                                   else layout.value_size), to_parent=False)
        for var, slot in gen.vars.items():
            if var != stmt.var.name:
                self.copy(slot, R4, slot, max(variables[var].size, 8), to_parent=False)
        step, stop = gen.new_label("each_next"), gen.new_label("each_stop")
        saved_loops, saved_return = gen.loops, gen.return_label
        gen.loops, gen.return_label = [(step, stop)], stop
        gen.block(stmt.body)
        gen.loops, gen.return_label = saved_loops, saved_return
        gen.regs.spill_all()
        for label_name, result in ((step, 0), (stop, 1)):
            gen.place(label_name)
            gen.emit(ldx(Size.DW, R4, FP, parent))
            for var, slot in gen.vars.items():
                if var != stmt.var.name:
                    self.copy(slot, R4, slot, max(variables[var].size, 8), to_parent=True)
            gen.emit(mov64(R0, result))
            gen.emit(exit_())
        gen.stack.release(mark)

    def copy(self, local: int, base: Register, offset: int, size: int, to_parent: bool) -> None:
        """Copy ``size`` bytes between ``fp + local`` and ``base + offset`` through r0, 8/4/2/1 at a time."""
        from tinybpf.trace.codegen import _SIZES, chunk_size

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

