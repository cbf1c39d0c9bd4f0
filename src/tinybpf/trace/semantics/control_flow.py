"""Control flow checks on the parsed program: statements after ``exit()``, ``return``, ``break`` or
``continue`` in the same block never run, which bpftrace reports with a warning."""
from __future__ import annotations

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import Diagnostic


def unreachable_warnings(program: ast.Program, source: str, filename: str) -> list[str]:
    """One rendered warning for the first unreachable statement of each block."""
    found: list[ast.Statement] = []
    for probe in program.probes:
        _block(probe.block, found)
    return [Diagnostic("Unreachable statement.", stmt.pos, "WARNING").render(source, filename) for stmt in found]


def _block(block: ast.Block, found: list[ast.Statement]) -> bool:
    """Whether ``block`` always jumps away; records its first dead statement in ``found``."""
    for i, stmt in enumerate(block.statements):
        if _terminates(stmt, found):
            if i + 1 < len(block.statements):
                found.append(block.statements[i + 1])
            return True
    return False


def _terminates(stmt: ast.Statement, found: list[ast.Statement]) -> bool:
    if isinstance(stmt, ast.Jump):
        return True
    if isinstance(stmt, ast.ExprStatement):
        return isinstance(stmt.expr, ast.Call) and stmt.expr.name == "exit"
    if isinstance(stmt, ast.If):
        then = _block(stmt.then, found)
        otherwise = _block(stmt.otherwise, found) if stmt.otherwise is not None else False
        return then and otherwise
    if isinstance(stmt, (ast.Unroll, ast.While, ast.For)):
        _block(stmt.body, found)
    return False
