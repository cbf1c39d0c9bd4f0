"""Function bodies: scopes, statements and their constraints (C11 6.8), every expression typed.

What a statement needs is checked here (a ``break`` inside a loop or switch, ``case`` values constant
and distinct, a ``return`` that matches the function, labels defined once and used ones defined);
expression rules are ``Typer``'s. Errors are reported per statement and checking goes on, so one run
lists them all. Warned about: integer constants that an implicit conversion changes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from tinybpf.cc.diagnostics import Diagnostics, Loc
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics.constants import ConstantError, evaluate
from tinybpf.cc.semantics.declarations import TypeResolver
from tinybpf.cc.semantics.expressions import TypeError_, Typer, is_integer, is_scalar
from tinybpf.cc.semantics.scopes import Ordinary, Scope
from tinybpf.cc.syntax import ast


class BodyChecker:
    def __init__(self, resolver: TypeResolver, diagnostics: Diagnostics, typer: Typer) -> None:
        self.resolver = resolver
        self.diagnostics = diagnostics
        self.typer = typer
        typer.statement_expression = self._statement_expression
        self.function_name = ""
        self.returns: ct.CType = ct.Void()
        self.loops = 0
        self.switches: list[set[int]] = []
        self.labels: dict[str, Loc] = {}
        self.gotos: list[tuple[str, Loc]] = []

    def function(self, definition: ast.FunctionDef, ftype: ct.Function) -> None:
        self.function_name = definition.declarator.name or ""
        self.returns = ftype.returns
        self.labels, self.gotos = {}, []
        outer = self.resolver.scope
        self.resolver.scope = Scope(parent=outer)
        for name, ptype in ftype.params:
            if name:
                self.resolver.scope.names[name] = Ordinary(ptype, loc=definition.loc)
        try:
            for item in definition.body.items:
                self.statement(item)
        finally:
            self.resolver.scope = outer
        for label, loc in self.gotos:
            if label not in self.labels:
                self.diagnostics.error(f"use of undeclared label '{label}'", loc)

    # ----- statements

    def statement(self, stmt: ast.Stmt) -> None:
        try:
            handler = _STATEMENTS.get(type(stmt))
            if handler is not None:
                handler(self, stmt)
        except TypeError_ as exc:
            self.diagnostics.error(str(exc), exc.loc)

    def _compound(self, stmt: ast.Compound) -> None:
        outer = self.resolver.scope
        self.resolver.scope = Scope(parent=outer)
        try:
            for item in stmt.items:
                self.statement(item)
        finally:
            self.resolver.scope = outer

    def _declaration(self, decl: ast.Declaration) -> None:
        declared = self.resolver.declaration(decl)
        by_name = dict(declared)
        for init_declarator in decl.declarators:
            name = init_declarator.declarator.name
            if name is None or name not in by_name or "typedef" in decl.specs.storage:
                continue
            target = by_name[name]
            if init_declarator.init is not None:
                self._initializer(target, init_declarator.init, init_declarator.declarator.loc)

    def _initializer(self, target: ct.CType, init: ast.Initializer, loc: Loc) -> None:
        if isinstance(init, ast.InitList):
            for _designators, item in init.items:
                if isinstance(item, ast.InitList):
                    self._initializer(ct.Void(), item, item.loc)
                else:
                    self.typer.value(item)
            return
        value = self.typer.value(init)
        plain = ct.strip_typedefs(target)
        if isinstance(plain, ct.Array) and isinstance(init, ast.StringLit):
            return
        if isinstance(plain, (ct.Void, ct.Array)):
            return
        self.typer.check_assignable(target, value, init, init.loc, "initializing")
        self._constant_conversion(target, value, init)

    def _constant_conversion(self, target: ct.CType, value: ct.CType, expr: ast.Expr) -> None:
        """clang's -Wconstant-conversion: an integer constant that does not survive the conversion."""
        plain = ct.strip_typedefs(target)
        if not isinstance(plain, ct.Int) or not is_integer(value) or plain.name == "_Bool":
            return
        try:
            constant = evaluate(expr, self.resolver)
        except ConstantError:
            return
        bits = plain.bits
        converted = constant & ((1 << bits) - 1)
        if plain.signed and converted >> (bits - 1):
            converted -= 1 << bits
        if converted != constant and not (not plain.signed and constant < 0 and isinstance(expr, ast.Unary)):
            self.diagnostics.warning(f"implicit conversion from '{value}' to '{target}' changes value from "
                                     f"{constant} to {converted}", expr.loc)

    def _expression(self, stmt: ast.ExprStmt) -> None:
        if stmt.expr is not None:
            self.typer.type(stmt.expr)

    def _condition(self, expr: ast.Expr) -> None:
        ctype = self.typer.value(expr)
        if not is_scalar(ctype):
            raise TypeError_(f"statement requires expression of scalar type ('{ctype}' invalid)", expr.loc)

    def _if(self, stmt: ast.If) -> None:
        self._condition(stmt.condition)
        self.statement(stmt.then)
        if stmt.otherwise is not None:
            self.statement(stmt.otherwise)

    def _loop(self, stmt: ast.Loop) -> None:
        outer = self.resolver.scope
        self.resolver.scope = Scope(parent=outer)
        try:
            if isinstance(stmt.init, ast.Declaration):
                self._declaration(stmt.init)
            elif stmt.init is not None:
                self.typer.type(stmt.init)
            if stmt.condition is not None:
                self._condition(stmt.condition)
            if stmt.step is not None:
                self.typer.type(stmt.step)
            self.loops += 1
            try:
                self.statement(stmt.body)
            finally:
                self.loops -= 1
        finally:
            self.resolver.scope = outer

    def _switch(self, stmt: ast.Switch) -> None:
        value = self.typer.value(stmt.value)
        if not is_integer(value):
            raise TypeError_(f"statement requires expression of integer type ('{value}' invalid)", stmt.value.loc)
        self.switches.append(set())
        try:
            self.statement(stmt.body)
        finally:
            self.switches.pop()

    def _case(self, stmt: ast.Case) -> None:
        kind = "case" if stmt.value is not None else "default"
        if not self.switches:
            self.diagnostics.error(f"'{kind}' statement not in switch statement", stmt.loc)
        elif stmt.value is not None:
            low = self.resolver.constant(stmt.value)
            high = self.resolver.constant(stmt.last) if stmt.last is not None else low
            seen = self.switches[-1]
            for value in range(low, min(high, low + 4096) + 1):
                if value in seen:
                    self.diagnostics.error(f"duplicate case value '{value}'", stmt.value.loc)
                    break
                seen.add(value)
        self.statement(stmt.body)

    def _jump(self, stmt: ast.Jump) -> None:
        if stmt.kind == "break" and not (self.loops or self.switches):
            self.diagnostics.error("'break' statement not in loop or switch statement", stmt.loc)
        elif stmt.kind == "continue" and not self.loops:
            self.diagnostics.error("'continue' statement not in loop statement", stmt.loc)
        elif stmt.kind == "goto":
            if stmt.label is not None:
                self.gotos.append((stmt.label, stmt.loc))
            elif stmt.value is not None:
                self.typer.type(stmt.value)
        elif stmt.kind == "return":
            self._return(stmt)

    def _return(self, stmt: ast.Jump) -> None:
        void = isinstance(ct.strip_typedefs(self.returns), ct.Void)
        if stmt.value is None:
            if not void:
                self.diagnostics.error(f"non-void function '{self.function_name}' should return a value", stmt.loc)
            return
        value = self.typer.value(stmt.value)
        if void:
            if not isinstance(ct.strip_typedefs(value), ct.Void):
                self.diagnostics.error(f"void function '{self.function_name}' should not return a value", stmt.loc)
            return
        self.typer.check_assignable(self.returns, value, stmt.value, stmt.value.loc, "returning")
        self._constant_conversion(self.returns, value, stmt.value)

    def _labeled(self, stmt: ast.Labeled) -> None:
        if stmt.label in self.labels:
            self.diagnostics.error(f"redefinition of label '{stmt.label}'", stmt.loc)
        self.labels[stmt.label] = stmt.loc
        self.statement(stmt.body)

    def _asm(self, stmt: ast.Asm) -> None:
        for operand in (*stmt.outputs, *stmt.inputs):
            self.typer.type(operand.expr)

    def _static_assert(self, stmt: ast.StaticAssert) -> None:
        if not self.resolver.constant(stmt.condition):
            message = f": {stmt.message.value.decode(errors='replace')}" if stmt.message else ""
            self.diagnostics.error(f"static assertion failed{message}", stmt.loc)

    def _statement_expression(self, expr: ast.StmtExpr) -> ct.CType:
        """GNU ``({ ... })``: checked as a block; its type is its last expression statement's."""
        outer = self.resolver.scope
        self.resolver.scope = Scope(parent=outer)
        try:
            items = expr.body.items
            for item in items[:-1]:
                self.statement(item)
            last: Optional[ast.Stmt] = items[-1] if items else None
            if isinstance(last, ast.ExprStmt) and last.expr is not None:
                return self.typer.value(last.expr)
            if last is not None:
                self.statement(last)
            return ct.Void()
        finally:
            self.resolver.scope = outer


_STATEMENTS: dict[type, Callable[[BodyChecker, Any], None]] = {
    ast.Compound: BodyChecker._compound,
    ast.Declaration: BodyChecker._declaration,
    ast.ExprStmt: BodyChecker._expression,
    ast.If: BodyChecker._if,
    ast.Loop: BodyChecker._loop,
    ast.Switch: BodyChecker._switch,
    ast.Case: BodyChecker._case,
    ast.Jump: BodyChecker._jump,
    ast.Labeled: BodyChecker._labeled,
    ast.Asm: BodyChecker._asm,
    ast.StaticAssert: BodyChecker._static_assert,
}
