"""What semantic analysis hands code generation (``Analysis``), and the face of the analyser that the
per-construct checkers (``memory``, ``functions``) call back into (``Analyser``)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from tinybpf.trace.semantics.stype import NONE, SType
from tinybpf.trace.syntax import ast


@dataclass
class MapInfo:
    """What the analysis learnt about one map: key and value types, and the aggregation's parameters."""

    name: str
    key: Optional[SType] = None
    value: Optional[SType] = None
    lhist: tuple[int, int, int] = (0, 0, 0)
    pos: Optional[ast.Pos] = None
    hist_bits: int = 0
    tseries: tuple[int, int, str] = (0, 0, "")

    @property
    def keyless(self) -> bool:
        return self.key is not None and self.key.kind == "none"


@dataclass
class ProbeContext:
    """The expanded attach points of one probe: what builtins and ``args`` mean there."""

    provider: str
    tracepoint_fields: Optional[Mapping[str, tuple[SType, int]]] = None
    """A tracepoint's fields -> (type, offset); types from BTF are looked up as fields are used."""
    tracepoint_name: str = ""
    tracepoint_space: str = "kernel"


@dataclass
class Analysis:
    """The result: per-node types, maps, and per-probe facts the code generator needs."""

    program: ast.Program
    types: dict[int, SType] = field(default_factory=dict)
    maps: dict[str, MapInfo] = field(default_factory=dict)
    variables: dict[int, dict[str, SType]] = field(default_factory=dict)
    contexts: dict[int, ProbeContext] = field(default_factory=dict)
    uses: dict[int, set] = field(default_factory=dict)
    string_size: int = 64
    ctypes: Any = None
    source: str = ""  # the script and its name, for warnings the program reports at run time
    filename: str = "stdin"

    def type_of(self, node: ast.Node) -> SType:
        return self.types.get(id(node), NONE)


class Analyser(Protocol):
    """The parts of ``analyser.SemanticAnalyser`` its checkers use."""

    result: Analysis
    probe: Optional[ast.Probe]
    provider: str

    def error(self, message: str, pos: ast.Pos) -> None: ...

    def set(self, node: ast.Node, t: SType) -> SType: ...

    def expr(self, e: ast.Expression, statement: bool = False) -> SType: ...

    def const_int(self, expr: ast.Expression) -> Optional[int]: ...

    def map_keys(self, target: ast.Map) -> SType: ...

    def ctypes(self) -> Any: ...

    def nargs(self, e: ast.Call, low: int, high: Optional[int] = None) -> bool: ...

    def check_format(self, e: ast.Call, fmt: str, args: list[SType]) -> None: ...
