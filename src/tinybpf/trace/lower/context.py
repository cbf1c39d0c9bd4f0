"""The face of ``codegen.ProbeCodegen`` that the per-construct generators (``calls``, ``memory``, ``loops``,
``functions``, ``tseries``) work through, so they depend on this interface and not back on ``codegen``."""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Union

from tinybpf.asm import FP, Register
from tinybpf.backend.regalloc import Registers, Stack, Value
from tinybpf.kernel.pt_regs import PtRegs
from tinybpf.trace.lower.compiled import CompiledTrace, Event, MapLayout
from tinybpf.trace.semantics.analysis import Analysis
from tinybpf.trace.semantics.stype import SType
from tinybpf.trace.syntax import ast


class MapCalls(Protocol):
    """Map access and printing (``calls.CallCodegen``)."""

    @property
    def gen(self) -> Lowering: ...

    def emit(self, item: object) -> None: ...

    def build_key(self, layout: MapLayout, keys: list[ast.Expression], bucket: Optional[Value] = None) -> int: ...

    def lookup(self, layout: MapLayout, key: int) -> None: ...

    def update(self, layout: MapLayout, key: int, value: int) -> None: ...

    def read_map_int(self, e: ast.Map) -> Value: ...

    def printf(self, e: ast.Call) -> None: ...


class FunctionCalls(Protocol):
    """The builtin functions (``functions.FunctionCodegen``)."""

    def statement(self, e: ast.Call) -> None: ...

    def int_call(self, e: ast.Call) -> Value: ...

    def write(self, e: ast.Expression, t: SType, dst: int, size: int) -> None: ...


class MemoryAccess(Protocol):
    """Reads through pointers (``memory.MemoryCodegen``)."""

    def write(self, e: ast.Expression, t: SType, dst: int, size: int) -> None: ...


class Lowering(Protocol):
    """One probe's code generator: its state, the instruction stream and the recursive entry points."""

    analysis: Analysis
    probe: ast.Probe
    trace: CompiledTrace
    regs: Registers
    stack: Stack
    vars: dict[str, int]
    loops: list[tuple]
    return_label: str
    string_space: str
    target: Optional[Any]
    attach_name: str
    func_name: str
    field_offsets: dict[str, int]
    uses_ctx: bool
    pt_regs: Optional[PtRegs]
    helper_warning: Optional[Callable[..., str]]

    @property
    def calls(self) -> MapCalls: ...

    @property
    def functions(self) -> FunctionCalls: ...

    @property
    def memory(self) -> MemoryAccess: ...

    def emit(self, item: object) -> None: ...

    def new_label(self, hint: str) -> str: ...

    def place(self, name: str) -> None: ...

    def type_of(self, node: ast.Node) -> SType: ...

    def layout(self, name: str) -> MapLayout: ...

    def event(self, event: Event) -> int: ...

    def block(self, block: ast.Block) -> None: ...

    def branch(self, e: ast.Expression, target: str, when: bool) -> None: ...

    def ival(self, e: ast.Expression) -> Value: ...

    def mval(self, e: ast.Expression, dst: Optional[int] = None, size: int = 0) -> int: ...

    def const_of(self, e: ast.Expression) -> Optional[int]: ...

    def release(self, value: Value) -> None: ...

    def operand_reg(self, value: Value, scratch: Register) -> Register: ...

    def operand(self, value: Value, scratch: Register) -> Union[Register, int]: ...

    def from_r0(self, signed: bool = False) -> Value: ...

    def extend(self, reg: Register, size: int, signed: bool) -> None: ...

    def ctx_load(self, offset: int, size: int, signed: bool) -> Value: ...

    def store_int(self, offset: int, value: Value, size: int, base: Register = FP) -> None: ...

    def zero(self, dst: int, size: int, base: Register = FP) -> None: ...

    def copy(self, dst: int, src_base: Register, src: int, size: int) -> None: ...

    def write_bytes(self, dst: int, data: bytes, size: int) -> None: ...
