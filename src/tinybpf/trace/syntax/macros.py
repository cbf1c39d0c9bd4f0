"""Macros: ``macro name($var, @map, expr) { statements; value }`` expanded into the probes that call them.

bpftrace expands macros on the AST before any other pass, hygienically: a ``$var`` parameter names the
caller's variable (the macro may change it), an ``@map`` parameter the caller's map, a bare ``name`` parameter
stands for the argument expression itself (evaluated wherever the body uses it); every other variable of the
body is private to one expansion. A call used as a value runs the body's statements first, then yields the
body's last expression; a call used as a statement runs them all.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

MAX_DEPTH = 32


@dataclass(eq=False)
class MacroDefinition(ast.Node):
    """``macro name(params) { body }``: each parameter keeps its sigil (``$x``, ``@x`` or ``x``)."""

    name: str
    params: list[str]
    body: ast.Block


class _Expander:
    def __init__(self, macros: dict[str, MacroDefinition], source: str, filename: str,
                 library: dict[tuple[str, int], MacroDefinition]) -> None:
        self.macros = macros
        self.library = library
        self.probe: ast.Probe | None = None
        self.site: ast.Pos | None = None  # the script's call of the library macro being expanded
        self.source = source
        self.filename = filename
        self.count = 0
        self.depth = 0

    def fail(self, message: str, pos: ast.Pos) -> None:
        """Stop with ``message``; inside the library, at the script's call (library positions are not its)."""
        raise TraceError([Diagnostic(message, self.site or pos)], self.source, self.filename)

    # ----------------------------------------------------------------- blocks and statements

    def block(self, block: ast.Block) -> None:
        out: list[ast.Statement] = []
        for stmt in block.statements:
            out.extend(self.statement(stmt))
        block.statements = out

    def statement(self, stmt: ast.Statement) -> list[ast.Statement]:
        if isinstance(stmt, ast.ExprStatement) and self.is_macro_call(stmt.expr):
            return self.expand(stmt.expr)
        prelude: list[ast.Statement] = []
        for f in dataclasses.fields(stmt):
            value = getattr(stmt, f.name)
            if isinstance(value, ast.Block):
                self.block(value)
            elif isinstance(value, ast.Expression) and not (isinstance(stmt, ast.While) and f.name == "cond"):
                setattr(stmt, f.name, self.expression(value, prelude))
        return [*prelude, stmt]

    def expression(self, e: ast.Expression, prelude: list[ast.Statement]) -> ast.Expression:
        """``e`` with its macro calls replaced by their values; their statements are added to ``prelude``."""
        library = self.library_value(e, prelude)
        if library is not None:
            return library
        if self.is_macro_call(e):
            statements = self.expand(e)
            if not statements or not isinstance(statements[-1], ast.ExprStatement):
                what = "Block expression" if isinstance(e, ast.BlockExpr) else f"Macro '{_name(e)}'"
                self.fail(f"{what} does not return a value", e.pos)
            last = statements.pop()
            assert isinstance(last, ast.ExprStatement)
            prelude.extend(statements)
            return last.expr
        for f in dataclasses.fields(e):
            value = getattr(e, f.name)
            if isinstance(value, ast.Expression):
                setattr(e, f.name, self.expression(value, prelude))
            elif isinstance(value, list):
                setattr(e, f.name, [self.expression(v, prelude) if isinstance(v, ast.Expression) else v
                                    for v in value])
        return e

    def note_expansion(self, body: ast.Node, pos: ast.Pos) -> None:
        """Like bpftrace, an ``errorf``/``warnf`` from a macro also names the call the macro expanded from."""
        from tinybpf.trace.syntax.diagnostics import source_line

        where = f"{self.filename}:{pos.end_line}:{pos.lead_column}-{pos.end_column}: ERROR: expanded from\n"
        note = "\n" + where + source_line(self.source, pos.line)
        for node in ast.walk(body):
            if isinstance(node, ast.Call) and node.name in ("errorf", "warnf") and node.args and \
                    isinstance(node.args[0], ast.String):
                text = node.args[0].value.rstrip(b"\n")
                node.args[0].value = text + note.replace("%", "%%").encode()

    def library_value(self, e: ast.Expression, prelude: list[ast.Statement]) -> ast.Expression | None:
        """What a ``__builtin_*`` name, ``config.FIELD`` or a foldable library call stands for, if anything."""
        from tinybpf.trace.syntax import stdlib

        if isinstance(e, ast.Identifier) and e.name.startswith("__builtin_"):
            name = e.name[len("__builtin_"):]
            value = stdlib.builtin(name, self.probe, e.pos)
            if value is None:
                self.fail(f"the {name} builtin is not supported by tinybpf trace here yet", e.pos)
            return value
        if isinstance(e, ast.FieldAccess) and _is_config(e.expr):
            value = stdlib.config_field(e.field, e.pos)
            if value is None:
                self.fail(f"config has no field named '{e.field}'", e.pos)
            return value
        if isinstance(e, ast.Call) and e.name == "fail" and "fail" not in self.macros:
            first = e.args[0] if e.args else None
            self.fail(first.text if isinstance(first, ast.String) else "fail() called", e.pos)
        if isinstance(e, ast.Call) and e.name in ("pid", "tid") and len(e.args) == 1:
            value = stdlib.namespaced(e)
            if value is None:
                self.fail(f"{e.name}() only supports curr_ns and init as the argument", e.pos)
            return value
        if isinstance(e, ast.Call) and e.name in stdlib.FOLDED and (e.name, len(e.args)) not in self.library:
            e.args = [self.expression(arg, prelude) for arg in e.args]
            return stdlib.fold(e)
        return None

    def definition(self, e: ast.Expression) -> MacroDefinition | None:
        """The macro a call names: the script's own, unless only the library has one taking that many
        arguments."""
        name = _name(e)
        if not name:
            return None
        nargs = len(e.args) if isinstance(e, ast.Call) else 0
        user = self.macros.get(name)
        if user is not None and (len(user.params) == nargs or (name, nargs) not in self.library):
            return user if isinstance(e, ast.Call) or not user.params else None
        return self.library.get((name, nargs))

    def is_macro_call(self, e: ast.Expression) -> bool:
        """A macro call or a block expression: both stand for statements and a final value."""
        if isinstance(e, ast.BlockExpr):
            return True
        return self.definition(e) is not None

    # ----------------------------------------------------------------- one expansion

    def expand(self, call: ast.Expression) -> list[ast.Statement]:
        if isinstance(call, ast.BlockExpr):
            self.block(call.block)
            return call.block.statements
        macro = self.definition(call)
        assert macro is not None
        args = call.args if isinstance(call, ast.Call) else []
        if len(args) != len(macro.params):
            self.fail(f"Call to {macro.name}() has the wrong number of arguments", call.pos)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"Macro '{macro.name}' expands recursively", call.pos)
        self.count += 1
        body = copy.deepcopy(macro.body)
        renames: dict[str, str] = {}
        exprs: dict[str, ast.Expression] = {}
        for param, arg in zip(macro.params, args):
            if param.startswith("$"):
                if not isinstance(arg, ast.Variable):
                    self.fail(f"Macro '{macro.name}' expects a variable for {param}", arg.pos)
                assert isinstance(arg, ast.Variable)
                renames[param] = arg.name
            elif param.startswith("@"):
                if not isinstance(arg, ast.Map) or arg.keys:
                    self.fail(f"Macro '{macro.name}' expects a map for {param}", arg.pos)
                assert isinstance(arg, ast.Map)
                renames[param] = arg.name
            else:
                exprs[param] = arg
        suffix = f"__{macro.name}_{self.count}"
        _substitute(body, lambda name: renames.get(name, name + suffix if name.startswith("$") else name), exprs,
                    set())
        outer = self.site
        if macro is self.library.get((macro.name, len(macro.params))):
            _mark_origin(body)
            self.site = outer or call.pos
        else:
            self.note_expansion(body, call.pos)
        self.block(body)
        self.site = outer
        self.depth -= 1
        return body.statements


def _name(e: ast.Expression) -> str:
    return e.name if isinstance(e, (ast.Call, ast.Identifier)) else ""


def _mark_origin(body: ast.Node) -> None:
    """Make the library's ``errorf``/``warnf`` report their location in the library's file."""
    from tinybpf.trace.syntax import stdlib

    for node in ast.walk(body):
        if isinstance(node, ast.Call) and node.name in ("errorf", "warnf"):
            node.origin = stdlib.FILENAME


def _is_config(e: ast.Expression) -> bool:
    if isinstance(e, ast.Call):
        return e.name == "config" and not e.args
    return isinstance(e, ast.Identifier) and e.name in ("__builtin_config", "config")


def _substitute(node: ast.Node, rename: Callable[[str], str], exprs: dict[str, ast.Expression],
                seen: set[int]) -> None:
    """Rename variables/maps and put copies of argument expressions in place of ``name`` parameters.

    ``seen`` keeps a node shared by two parents (``$x += 1`` reads the node it assigns) renamed once.
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, ast.Offsetof):
        first, dot, rest = node.field.partition(".")
        member = exprs.get(first)
        if isinstance(member, ast.Identifier):  # offsetof(type, member) with the member's name passed in
            node.field = member.name + dot + rest
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        typed = _typed(value, exprs)
        if typed is not None:
            setattr(node, f.name, typed)
        elif isinstance(value, ast.Identifier) and value.name in exprs:
            setattr(node, f.name, copy.deepcopy(exprs[value.name]))
        elif isinstance(value, ast.Node):
            _substitute(value, rename, exprs, seen)
        elif isinstance(value, list):
            replaced = []
            for item in value:
                if isinstance(item, ast.Identifier) and item.name in exprs:
                    item = copy.deepcopy(exprs[item.name])
                elif isinstance(item, ast.Node):
                    _substitute(item, rename, exprs, seen)
                replaced.append(item)
            setattr(node, f.name, replaced)
    if isinstance(node, (ast.Variable, ast.Map)):
        node.name = rename(node.name)


def _typed(value: object, exprs: dict[str, ast.Expression]) -> ast.TypeName | None:
    """The type a ``typeof(T)`` argument puts where its parameter names a type: ``p*`` in a cast or
    ``sizeof``, or ``p[N]`` (an array of N), with the pointer levels and array length added."""
    if isinstance(value, ast.ArrayAccess) and isinstance(value.expr, ast.Identifier) and \
            isinstance(value.index, ast.Integer):
        base = _type_argument(exprs.get(value.expr.name))
        if base is None:
            return None
        return dataclasses.replace(base, pos=value.pos, array_length=value.index.value)
    if not isinstance(value, ast.TypeName):
        return None
    base = _type_argument(exprs.get(value.name))
    if base is None:
        return None
    return dataclasses.replace(base, pos=value.pos, pointer_depth=base.pointer_depth + value.pointer_depth,
                               array_length=value.array_length if value.array_length is not None
                               else base.array_length)


def _type_argument(arg: ast.Expression | None) -> ast.TypeName | None:
    """The type of a ``typeof(...)`` macro argument, when it names a type rather than an expression."""
    while isinstance(arg, ast.Typeof) and isinstance(arg.target, ast.Typeof):
        arg = arg.target
    if isinstance(arg, ast.Typeof) and isinstance(arg.target, ast.TypeName):
        return arg.target
    if isinstance(arg, ast.Typeof) and isinstance(arg.target, ast.Identifier):
        return ast.TypeName(pos=arg.pos, name=arg.target.name)  # typeof(struct Foo): the name is the type
    return None


def expand(program: ast.Program, macros: list[MacroDefinition], source: str, filename: str,
           library: Sequence[MacroDefinition] = ()) -> None:
    """Expand every macro call in ``program``'s probes, in place (``library``: the stdlib's macros)."""
    table: dict[str, MacroDefinition] = {}
    for macro in macros:
        if macro.name in table:
            raise TraceError([Diagnostic(f"Redefinition of macro: {macro.name}", macro.pos)], source, filename)
        table[macro.name] = macro
    expander = _Expander(table, source, filename, {(m.name, len(m.params)): m for m in library})
    for probe in program.probes:
        expander.probe = probe
        if probe.predicate is not None:
            prelude: list[ast.Statement] = []
            probe.predicate.expr = expander.expression(probe.predicate.expr, prelude)
            if prelude:
                expander.fail("Macros with statements cannot be used in a predicate", probe.predicate.pos)
        expander.block(probe.block)
