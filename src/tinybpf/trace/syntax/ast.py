"""The bpftrace AST: what the parser builds and every later pass reads.

Node kinds and their source locations follow bpftrace's own AST (``src/ast/ast.h``) so that a pass reporting
"at this node" points where bpftrace would: a binary operation is located at its operator, an array access
at its brackets, a cast at its parenthesised type. ``a->b`` is kept as bpftrace keeps it: a field access on a
dereference. Compound assignments (``@x += 1``) are kept desugared as ``@x = @x + 1`` with ``compound=True``.

``dump`` renders a program the way ``bpftrace -d`` prints its AST.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Union


class Pos(NamedTuple):
    """A source range: 1-based ``line``/``column`` of the first character, ``end_column`` one past the last.

    ``lead_line``/``lead_column`` is where bpftrace's own location of the same range begins. bpftrace's lexer
    moves the start of a location only at whitespace, so a token glued to the previous one (``printf(``)
    carries a location reaching back over it, and an attach point's location starts where the previous
    token ended, possibly on an earlier line. Diagnostics draw from the lead to match bpftrace's output.

    A named tuple rather than a dataclass: the lexer makes one per token, so it must be cheap to build.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    lead_line: int
    lead_column: int

    def to(self, last: Pos) -> Pos:
        """The range from the start of ``self`` to the end of ``last``."""
        return Pos(self.line, self.column, last.end_line, last.end_column, self.lead_line, self.lead_column)


@dataclass(eq=False)
class Node:
    """Every node knows where it came from.

    Nodes compare and hash by identity, so later passes can keep per-node facts (types, resolved
    symbols) in dictionaries keyed by node; compare trees with ``dump``.
    """

    pos: Pos


class Expression(Node):
    """Anything that has a value."""


@dataclass(eq=False)
class Integer(Expression):
    """An integer literal; ``value`` is as written (``-1``, ``0xffffffffffffffff``), not wrapped to 64 bits."""

    value: int


@dataclass(eq=False)
class String(Expression):
    """A string literal: ``value`` holds the bytes the script means (UTF-8 text, escapes as raw bytes)."""

    value: bytes

    @property
    def text(self) -> str:
        """The literal as text, for format strings and messages."""
        return self.value.decode("utf-8", "backslashreplace")


@dataclass(eq=False)
class StackMode(Expression):
    """``bpftrace`` or ``perf``: the output mode argument of ``kstack()``/``ustack()``."""

    mode: str


@dataclass(eq=False)
class Builtin(Expression):
    """A builtin variable: ``pid``, ``comm``, ``args``, ``arg0``, ``retval``, ``kstack``..."""

    name: str


@dataclass(eq=False)
class Identifier(Expression):
    """A bare name: a type name in ``sizeof``, an enum value, a field of ``args``..."""

    name: str


@dataclass(eq=False)
class PositionalParameter(Expression):
    """``$1``, ``$2``...: a command-line argument of the script."""

    index: int


@dataclass(eq=False)
class PositionalParameterCount(Expression):
    """``$#``: how many command-line arguments the script got."""


@dataclass(eq=False)
class Map(Expression):
    """``@name`` or ``@name[key, ...]``; ``name`` keeps its ``@`` (``@`` alone is the anonymous map)."""

    name: str
    keys: list[Expression] = field(default_factory=list)


@dataclass(eq=False)
class Variable(Expression):
    """A scratch variable ``$name``; ``name`` keeps its ``$``."""

    name: str


@dataclass(eq=False)
class Call(Expression):
    """A function call: ``printf(...)``, ``count()``, ``hist($x)``."""

    name: str
    args: list[Expression] = field(default_factory=list)
    origin: str = ""  # the file a library macro's call comes from, when not the script


@dataclass(eq=False)
class TypeName(Node):
    """A type as written in a cast or ``sizeof``: ``uint8``, ``struct task_struct`` and its pointer depth."""

    name: str
    pointer_depth: int = 0
    array_length: Optional[int] = None
    """``int8[4]`` -> 4, ``int8[]`` -> 0 (the size of what is cast), None when not an array."""
    of: Optional[Expression] = None  # ``typeof(expr)``: the type of an expression, never evaluated

    def __str__(self) -> str:
        suffix = "" if self.array_length is None else f"[{self.array_length or ''}]"
        return self.name + "*" * self.pointer_depth + suffix


@dataclass(eq=False)
class Typeof(Expression):
    """``typeof(type)`` or ``typeof(expr)`` given where an expression goes: a macro's argument that stands
    for a type. Macro expansion puts the type in place of the parameter; it is never a value."""

    target: Union[TypeName, Expression]


@dataclass(eq=False)
class Sizeof(Expression):
    """``sizeof(type)`` or ``sizeof(expr)``."""

    target: Union[TypeName, Expression]


@dataclass(eq=False)
class Offsetof(Expression):
    """``offsetof(struct Foo, field)`` or ``offsetof(expr, field)``."""

    target: Union[TypeName, Expression]
    field: str


@dataclass(eq=False)
class Binop(Expression):
    """``left op right``; ``op`` is the C operator text (``+``, ``<<``, ``&&``...). Located at the operator."""

    op: str
    left: Expression
    right: Expression


@dataclass(eq=False)
class Unop(Expression):
    """``-x``, ``!x``, ``~x``, ``*x`` (dereference), ``++x``/``x++``, ``--x``/``x--``. Located at the operator."""

    op: str
    operand: Expression
    postfix: bool = False


@dataclass(eq=False)
class Ternary(Expression):
    """``cond ? then : otherwise``."""

    cond: Expression
    then: Expression
    otherwise: Expression


@dataclass(eq=False)
class FieldAccess(Expression):
    """``expr.field``; ``expr->field`` is ``FieldAccess(Unop("*", expr), field)`` as in bpftrace."""

    expr: Expression
    field: str


@dataclass(eq=False)
class TupleAccess(Expression):
    """``tuple.0``: the element ``index`` of a tuple."""

    expr: Expression
    index: int


@dataclass(eq=False)
class ArrayAccess(Expression):
    """``expr[index]``."""

    expr: Expression
    index: Expression


@dataclass(eq=False)
class Cast(Expression):
    """``(type)expr``."""

    type: TypeName
    expr: Expression


@dataclass(eq=False)
class Tuple(Expression):
    """``(a, b, ...)``: at least two elements; a record ``(a=1, b=2)`` names each one in ``names``."""

    elements: list[Expression]
    names: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Range(Expression):
    """``start..end`` in ``for ($i : start..end)``."""

    start: Expression
    end: Expression


class Statement(Node):
    """Anything that can stand in a block."""


@dataclass(eq=False)
class BlockExpr(Expression):
    """``{ statement; ...; value }`` used as an expression: the parser's form, lowered by ``macros`` into
    statements run before the enclosing statement and the value left in place."""

    block: Block


@dataclass(eq=False)
class Block(Node):
    """``{ statement; ... }``."""

    statements: list[Statement]


@dataclass(eq=False)
class ExprStatement(Statement):
    """An expression evaluated for its effect (usually a call)."""

    expr: Expression


@dataclass(eq=False)
class AssignMapStatement(Statement):
    """``@map[keys] = expr``; for ``@map op= rhs``, ``expr`` is ``Binop(op, map, rhs)`` and ``compound`` is set."""

    map: Map
    expr: Expression
    compound: bool = False


@dataclass(eq=False)
class AssignVarStatement(Statement):
    """``$var = expr``; compound forms as for maps."""

    var: Variable
    expr: Expression
    compound: bool = False


@dataclass(eq=False)
class AssignConfigStatement(Statement):
    """``name = value`` inside a ``config = { ... }`` block."""

    name: str
    expr: Expression


@dataclass(eq=False)
class If(Statement):
    """``if (cond) { } else { }``; ``else if`` is an ``otherwise`` block holding one ``If``."""

    cond: Expression
    then: Block
    otherwise: Optional[Block] = None


@dataclass(eq=False)
class Unroll(Statement):
    """``unroll (n) { }``: ``count`` is an ``Integer`` or a ``PositionalParameter``."""

    count: Expression
    body: Block


@dataclass(eq=False)
class While(Statement):
    """``while (cond) { }``."""

    cond: Expression
    body: Block


@dataclass(eq=False)
class For(Statement):
    """``for ($kv : @map) { }`` or ``for ($i : start..end) { }``."""

    var: Variable
    iterable: Expression
    body: Block


@dataclass(eq=False)
class Jump(Statement):
    """``break``, ``continue`` or ``return`` (which may carry a value)."""

    kind: str
    value: Optional[Expression] = None


@dataclass(eq=False)
class VarDeclStatement(Statement):
    """``let $x;`` or ``let $x: type;`` (``let $x = e;`` is parsed as a plain assignment)."""

    var: Variable
    type: Optional[TypeName] = None


@dataclass(eq=False)
class Predicate(Node):
    """``/expr/``: the probe body runs only when ``expr`` is non-zero."""

    expr: Expression


@dataclass(eq=False)
class AttachPoint(Node):
    """One probe attachment, e.g. ``kprobe:vfs_read+16``, split into the parts its provider defines.

    ``raw`` is the text as bpftrace reassembles it from tokens. The other fields use bpftrace's names:
    ``target`` is the binary/category/unit (``/bin/bash``, ``syscalls``, ``hz``), ``ns`` the USDT provider,
    ``func`` the function/event, ``offset`` a ``+N`` function offset, ``freq`` a rate/period/count,
    ``length``/``mode`` a watchpoint's size and ``rwx`` mode, ``pin`` an iterator's pin path.
    ``need_expansion`` says a wildcard must be matched against the system before attaching.
    """

    raw: str
    provider: str = ""
    target: str = ""
    ns: str = ""
    func: str = ""
    offset: int = 0
    address: int = 0
    freq: int = 0
    length: int = 0
    mode: str = ""
    pin: str = ""
    need_expansion: bool = False
    source: str = ""  # ``FILE:LINE`` of ``uprobe:BIN@FILE:LINE``

    @property
    def unit(self) -> str:
        """The time unit of ``profile``/``interval`` probes (``hz``, ``s``, ``ms``, ``us``...)."""
        return self.target

    def name(self) -> str:
        """The canonical spelling bpftrace shows for this attach point (``i:s:1`` → ``interval:s:1``)."""
        text = self.provider
        for part in (self.target, self.ns):
            if part:
                text += ":" + part
        if self.func:
            text += ":" + self.func
            if self.offset:
                text += f"+{self.offset}"
        for number in (self.address, self.freq, self.length):
            if number:
                text += f":{number}"
        if self.mode:
            text += ":" + self.mode
        return text


@dataclass(eq=False)
class Probe(Node):
    """``attach_point, ... /predicate/ { block }``."""

    attach_points: list[AttachPoint]
    predicate: Optional[Predicate]
    block: Block


@dataclass(eq=False)
class CDefinition(Node):
    """A ``#include``/``#define`` line (``kind="preprocessor"``) or ``struct``/``union``/``enum`` definition.

    Kept as text: bpftrace hands these to a C parser to learn the types the script uses.
    """

    kind: str
    text: str


@dataclass(eq=False)
class Config(Node):
    """``config = { name = value; ... }`` before the probes."""

    statements: list[AssignConfigStatement]


@dataclass(eq=False)
class MapDecl(Node):
    """``let @name = kind(max_entries);`` before the probes: the BPF map type (``hash``, ``lruhash``,
    ``percpuhash``, ``percpulruhash``) and size of one map."""

    name: str
    kind: str
    max_entries: int


@dataclass(eq=False)
class Program(Node):
    """A whole script."""

    c_definitions: list[CDefinition]
    config: Optional[Config]
    probes: list[Probe]
    debug_types: Any = None  # the traced binaries' C types (``uprobe_args.DebugTypes``), set after expansion
    map_decls: list[MapDecl] = field(default_factory=list)

    @property
    def c_source(self) -> str:
        """The C definitions as one text, joined the way bpftrace passes them to its C parser."""
        return "".join(d.text + ("\n" if d.kind == "preprocessor" else ";\n") for d in self.c_definitions)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def children(node: Node) -> Iterator[Node]:
    """The direct children of ``node`` in source order, for passes that walk the tree."""
    names = _FIELD_NAMES.get(type(node))
    if names is None:
        names = _FIELD_NAMES[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    for name in names:
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, Node))


def walk(node: Node) -> Iterator[Node]:
    """``node`` and all its descendants, depth first, without recursion (scripts may nest deeply)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


TypeOf = Callable[[Expression], str]


def dump(program: Program, type_of: Optional[TypeOf] = None) -> str:
    """The AST as ``bpftrace -d`` prints it; ``type_of`` adds `` :: type[...]`` where bpftrace shows types.

    For the parser stage bpftrace prints ``type[none, ctx: 0]``: pass ``lambda e: "none, ctx: 0"``.
    """
    return _Printer(type_of).program(program)


def _string_repr(data: bytes) -> str:
    out = []
    for byte in data:
        char = chr(byte)
        if char in "\\\"":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append({10: "\\n", 9: "\\t", 13: "\\r"}.get(byte, f"\\x{byte:02x}"))
    return "".join(out)


def signed64(value: int) -> int:
    """``value`` as a C ``int64_t`` holds it: how bpftrace 0.17 stores and prints integer literals."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


class _Printer:
    """One line per node, one space of indent per level, like bpftrace's ``Printer`` pass.

    bpftrace 0.17's printer leaves everything after a ``while`` loop indented two levels deeper; ``drift``
    reproduces that so ``-d`` output can be compared line for line.
    """

    def __init__(self, type_of: Optional[TypeOf]) -> None:
        self.type_of = type_of
        self.lines: list[str] = []
        self.drift = 0

    def program(self, program: Program) -> str:
        if program.c_definitions:
            self.lines.append(program.c_source)
        self.lines.append("Program")
        if program.config is not None:
            self.line(1, "config")
            for stmt in program.config.statements:
                self.line(2, "=")
                self.line(3, "config var: " + stmt.name)
                self.expr(stmt.expr, 3)
        for probe in program.probes:
            for ap in probe.attach_points:
                self.line(1, ap.name())
            if probe.predicate is not None:
                self.line(2, "pred")
                self.expr(probe.predicate.expr, 3)
            self.block(probe.block, 2)
        return "\n".join(self.lines) + "\n"

    def line(self, depth: int, text: str) -> None:
        self.lines.append(" " * (depth + self.drift) + text)

    def typed(self, depth: int, text: str, expr: Expression) -> None:
        suffix = f" :: type[{self.type_of(expr)}]" if self.type_of else ""
        self.line(depth, text + suffix)

    def block(self, block: Block, depth: int) -> None:
        for stmt in block.statements:
            self.stmt(stmt, depth)

    def stmt(self, stmt: Statement, depth: int) -> None:
        if isinstance(stmt, ExprStatement):
            self.expr(stmt.expr, depth)
        elif isinstance(stmt, (AssignMapStatement, AssignVarStatement)):
            self.line(depth, "=")
            self.expr(stmt.map if isinstance(stmt, AssignMapStatement) else stmt.var, depth + 1)
            self.expr(stmt.expr, depth + 1)
        elif isinstance(stmt, If):
            self.line(depth, "if")
            self.expr(stmt.cond, depth + 1)
            self.line(depth + 1, "then")
            self.block(stmt.then, depth + 2)
            if stmt.otherwise is not None:
                self.line(depth + 1, "else")
                self.block(stmt.otherwise, depth + 2)
        elif isinstance(stmt, Unroll):
            self.line(depth, "unroll")
            self.expr(stmt.count, depth + 1)
            self.line(depth + 1, "block")
            self.block(stmt.body, depth + 2)
        elif isinstance(stmt, While):
            self.line(depth, "while(")
            self.expr(stmt.cond, depth + 1)
            self.line(depth + 1, ")")
            self.block(stmt.body, depth + 2)
            self.drift += 2
        elif isinstance(stmt, For):
            self.line(depth, "for")
            self.line(depth + 1, "decl")
            self.expr(stmt.var, depth + 1)
            self.line(depth + 1, "expr")
            self.expr(stmt.iterable, depth + 1)
            self.line(depth + 1, "stmts")
            self.block(stmt.body, depth + 1)
        elif isinstance(stmt, Jump):
            self.line(depth, stmt.kind)
            if stmt.value is not None:
                self.expr(stmt.value, depth + 1)

    def expr(self, expr: Expression, depth: int) -> None:
        leaf = self._leaf_text(expr)
        if leaf is not None:
            self.typed(depth, leaf, expr)
            return
        if isinstance(expr, (Map, Call)):
            self.typed(depth, f"map: {expr.name}" if isinstance(expr, Map) else f"call: {expr.name}", expr)
            for arg in expr.keys if isinstance(expr, Map) else expr.args:
                self.expr(arg, depth + 1)
        elif isinstance(expr, Binop):
            self.typed(depth, expr.op, expr)
            self.expr(expr.left, depth + 1)
            self.expr(expr.right, depth + 1)
        elif isinstance(expr, Unop):
            self.unop(expr, depth)
        else:
            self.compound(expr, depth)

    def unop(self, expr: Unop, depth: int) -> None:
        text = "dereference" if expr.op == "*" else expr.op
        if expr.postfix:
            self.expr(expr.operand, depth)
            self.line(depth + 1, text)
        else:
            self.line(depth, text)
            self.expr(expr.operand, depth + 1)

    def compound(self, expr: Expression, depth: int) -> None:
        if isinstance(expr, Ternary):
            self.line(depth, "?:")
            for part in (expr.cond, expr.then, expr.otherwise):
                self.expr(part, depth + 1)
        elif isinstance(expr, (FieldAccess, TupleAccess)):
            self.line(depth, ".")
            self.expr(expr.expr, depth + 1)
            self.line(depth + 1, expr.field if isinstance(expr, FieldAccess) else str(expr.index))
        elif isinstance(expr, ArrayAccess):
            self.line(depth, "[]")
            self.expr(expr.expr, depth + 1)
            self.expr(expr.index, depth + 1)
        elif isinstance(expr, Cast):
            self.line(depth, f"({expr.type})")
            self.expr(expr.expr, depth + 1)
        elif isinstance(expr, Tuple):
            self.line(depth, "tuple:")
            for element in expr.elements:
                self.expr(element, depth + 1)
        elif isinstance(expr, Sizeof):
            self.typed(depth, "call: sizeof", expr)
            self.operand(expr.target, depth + 1)
        elif isinstance(expr, Offsetof):
            self.typed(depth, "offsetof: ", expr)
            if isinstance(expr.target, TypeName):
                self.line(depth + 1, str(expr.target))
            else:
                self.expr(expr.target, depth + 1)
            self.line(depth + 1, expr.field)
        elif isinstance(expr, Range):
            self.line(depth, "range")
            self.expr(expr.start, depth + 1)
            self.expr(expr.end, depth + 1)

    def operand(self, target: Union[TypeName, Expression], depth: int) -> None:
        if isinstance(target, TypeName):
            self.line(depth, f"identifier: {target}")
        else:
            self.expr(target, depth)

    @staticmethod
    def _leaf_text(expr: Expression) -> Optional[str]:
        if isinstance(expr, Integer):
            return f"int: {signed64(expr.value)}"
        if isinstance(expr, String):
            return f"string: {_string_repr(expr.value)}"
        if isinstance(expr, StackMode):
            return f"stack_mode: {expr.mode}"
        if isinstance(expr, Builtin):
            return f"builtin: {expr.name}"
        if isinstance(expr, Identifier):
            return f"identifier: {expr.name}"
        if isinstance(expr, Variable):
            return f"variable: {expr.name}"
        if isinstance(expr, PositionalParameter):
            return f"param: ${expr.index}"
        if isinstance(expr, PositionalParameterCount):
            return "param: $#"
        return None
