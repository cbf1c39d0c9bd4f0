"""The C type of every expression (C11 6.5), with the checks C makes on the way.

Integer promotions and the usual arithmetic conversions decide arithmetic results; arrays and functions
decay to pointers where C says they do; member access looks through anonymous members; assignments,
``&``, ``++`` need modifiable lvalues; calls check argument counts against prototypes. ``Typer`` records
each expression's type for the stages after it; a rule C breaks raises ``TypeError_`` at the node.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from tinybpf.cc.diagnostics import Diagnostics, Loc
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics.scopes import Names
from tinybpf.cc.syntax import ast

INT = ct.INT_TYPES["int"]
LONG = ct.INT_TYPES["long"]
ULONG = ct.INT_TYPES["unsigned long"]
_COMPARISONS = {"==", "!=", "<", ">", "<=", ">=", "&&", "||"}
_INTEGER_ONLY = {"%", "&", "|", "^", "<<", ">>"}


class TypeError_(Exception):
    """An expression whose type C does not define; ``loc`` is where."""

    def __init__(self, message: str, loc: Loc) -> None:
        super().__init__(message)
        self.loc = loc


def literal_type(literal: ast.IntLit) -> tuple[int, bool]:
    """(size, signed) of an integer literal: the first of int, long, long long (and their unsigned
    forms for hexadecimal/octal or a ``u`` suffix) that holds it (C11 6.4.4.1)."""
    unsigned = "u" in literal.suffix
    value = literal.value
    sizes = (4, 8) if "l" not in literal.suffix else (8,)
    for size in sizes:
        if not unsigned and value < (1 << (8 * size - 1)):
            return size, True
        if (unsigned or literal.base != 10) and value < (1 << (8 * size)):
            return size, False
    return 8, False


def is_integer(ctype: ct.CType) -> bool:
    return isinstance(ct.strip_typedefs(ctype), (ct.Int, ct.Enum))


def is_pointer(ctype: ct.CType) -> bool:
    return isinstance(ct.strip_typedefs(decay(ctype)), ct.Pointer)


def is_scalar(ctype: ct.CType) -> bool:
    return is_integer(ctype) or is_pointer(ctype) or isinstance(ct.strip_typedefs(ctype), ct.Float)


def promote(ctype: ct.CType) -> ct.CType:
    """Integer promotion: types narrower than int become int; enums their underlying type."""
    plain = ct.strip_typedefs(ctype)
    if isinstance(plain, ct.Enum):
        if plain.size <= 4:
            return ct.INT_TYPES["unsigned int" if not plain.signed and plain.size == 4 else "int"]
        return LONG if plain.signed else ULONG
    if isinstance(plain, ct.Int) and plain.size < 4:
        return INT
    return ct.qualified(plain) if isinstance(plain, ct.Int) and (plain.const or plain.volatile) else plain


def usual_arithmetic(left: ct.CType, right: ct.CType) -> ct.CType:
    """C11 6.3.1.8 for integers: the wider type; at equal width the unsigned one."""
    a, b = _unqualified(promote(left)), _unqualified(promote(right))
    if not isinstance(a, ct.Int) or not isinstance(b, ct.Int):
        return a if isinstance(a, ct.Float) else b
    if a.size != b.size:
        return a if a.size > b.size else b
    if a.signed == b.signed:
        return a
    return a if not a.signed else b


def _unqualified(ctype: ct.CType) -> ct.CType:
    if isinstance(ctype, ct.Int) and (ctype.const or ctype.volatile):
        return ct.INT_TYPES.get(ctype.name, ct.Int(ctype.name, ctype.size, ctype.signed))
    return ctype


def decay(ctype: ct.CType) -> ct.CType:
    plain = ct.strip_typedefs(ctype)
    if isinstance(plain, ct.Array):
        return ct.Pointer(plain.element)
    if isinstance(plain, ct.Function):
        return ct.Pointer(plain)
    return ctype


class Typer:
    """Types expressions in the resolver's current scope; ``types`` maps ``id(node)`` to its type."""

    def __init__(self, resolver: Names, diagnostics: Optional[Diagnostics] = None) -> None:
        self.resolver = resolver
        self.diagnostics = diagnostics
        self.types: dict[int, ct.CType] = {}
        self.statement_expression: Optional[Callable[[ast.StmtExpr], ct.CType]] = None  # the body checker's

    def type(self, expr: ast.Expr) -> ct.CType:
        ctype = self._type(expr)
        self.types[id(expr)] = ctype
        return ctype

    def value(self, expr: ast.Expr) -> ct.CType:
        """The type of ``expr`` used as a value: arrays and functions decay, qualifiers drop."""
        return decay(self.type(expr))

    def _type(self, expr: ast.Expr) -> ct.CType:
        handler = _HANDLERS.get(type(expr))
        if handler is None:
            raise TypeError_("cannot determine the type of this expression", expr.loc)
        return handler(self, expr)

    # ----- leaves

    def _int(self, expr: ast.IntLit) -> ct.CType:
        size, signed = literal_type(expr)
        return ct.INT_TYPES[{(4, True): "int", (4, False): "unsigned int", (8, True): "long",
                             (8, False): "unsigned long"}[(size, signed)]]

    def _char(self, expr: ast.CharLit) -> ct.CType:
        return INT

    def _string(self, expr: ast.StringLit) -> ct.CType:
        return ct.Array(ct.INT_TYPES["char"], len(expr.value) + 1)

    def _float(self, expr: ast.FloatLit) -> ct.CType:
        return ct.Float("double", 8)

    def _ident(self, expr: ast.Ident) -> ct.CType:
        found = self.resolver.lookup_name(expr.name)
        if found is None or found.type is None:
            if expr.name.startswith("__builtin_") or expr.name.startswith(("__sync_", "__atomic_")):
                return ct.Function(LONG, (), variadic=True, prototype=False)
            raise TypeError_(f"use of undeclared identifier '{expr.name}'", expr.loc)
        if found.typedef:
            raise TypeError_(f"unexpected type name '{expr.name}': expected expression", expr.loc)
        return INT if found.value is not None else found.type

    def _cast(self, expr: ast.Cast) -> ct.CType:
        target = self.resolver.type_name(expr.type)
        operand = self.value(expr.operand)
        plain = ct.strip_typedefs(target)
        if not isinstance(plain, ct.Void) and not is_scalar(target):
            raise TypeError_(f"used type '{target}' where arithmetic or pointer type is required", expr.loc)
        if isinstance(ct.strip_typedefs(operand), ct.Record):
            raise TypeError_(f"operand of type '{operand}' where arithmetic or pointer type is required", expr.loc)
        return target

    def _compound_literal(self, expr: ast.CompoundLiteral) -> ct.CType:
        return self.resolver.type_name(expr.type)

    def _sizeof_type(self, expr: ast.SizeofType) -> ct.CType:
        ctype = self.resolver.type_name(expr.type)
        if isinstance(ct.strip_typedefs(ctype), ct.Record) and not ct.strip_typedefs(ctype).complete:  # type: ignore[union-attr]
            raise TypeError_(f"invalid application of '{expr.op}' to an incomplete type '{ctype}'", expr.loc)
        return ULONG

    def _offsetof(self, expr: ast.Offsetof) -> ct.CType:
        return ULONG

    # ----- operators

    def _unary(self, expr: ast.Unary) -> ct.CType:
        op = expr.op
        if op in ("sizeof", "_Alignof"):
            self.type(expr.operand)
            return ULONG
        if op == "&":
            operand = self.type(expr.operand)
            if not self._is_lvalue(expr.operand) and not isinstance(ct.strip_typedefs(operand), ct.Function):
                raise TypeError_("cannot take the address of an rvalue", expr.loc)
            return ct.Pointer(operand)
        if op == "*":
            operand = self.value(expr.operand)
            pointer = ct.strip_typedefs(operand)
            if not isinstance(pointer, ct.Pointer):
                raise TypeError_(f"indirection requires pointer operand ('{operand}' invalid)", expr.loc)
            return pointer.target
        if op in ("++", "--"):
            return self._modifiable(expr.operand, expr.loc, "increment" if op == "++" else "decrement")
        operand = self.value(expr.operand)
        if op == "!":
            if not is_scalar(operand):
                raise TypeError_(f"invalid argument type '{operand}' to unary expression", expr.loc)
            return INT
        if op == "~" and not is_integer(operand):
            raise TypeError_(f"invalid argument type '{operand}' to unary expression", expr.loc)
        if op in ("-", "+") and not (is_integer(operand) or isinstance(ct.strip_typedefs(operand), ct.Float)):
            raise TypeError_(f"invalid argument type '{operand}' to unary expression", expr.loc)
        return promote(operand)

    def _postfix(self, expr: ast.Postfix) -> ct.CType:
        return self._modifiable(expr.operand, expr.loc, "increment" if expr.op == "++" else "decrement")

    def _binary(self, expr: ast.Binary) -> ct.CType:
        op = expr.op
        left, right = self.value(expr.left), self.value(expr.right)
        lp, rp = ct.strip_typedefs(left), ct.strip_typedefs(right)
        if op in ("&&", "||"):
            for side, operand in ((expr.left, left), (expr.right, right)):
                if not is_scalar(operand):
                    raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", side.loc)
            return INT
        pointers = isinstance(lp, ct.Pointer), isinstance(rp, ct.Pointer)
        if op in _COMPARISONS:
            if any(pointers) and not all(pointers) and not (is_integer(left) or is_integer(right)):
                raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", expr.loc)
            if not (is_scalar(left) and is_scalar(right)):
                raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", expr.loc)
            return INT
        if op in ("+", "-") and any(pointers):
            if all(pointers):
                if op == "+":
                    raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", expr.loc)
                return LONG
            pointer, other = (left, right) if pointers[0] else (right, left)
            if not is_integer(other) or (op == "-" and pointers[1]):
                raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", expr.loc)
            return pointer
        if not (is_integer(left) or isinstance(lp, ct.Float)) or not (is_integer(right) or isinstance(rp, ct.Float)):
            raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", expr.loc)
        if op in _INTEGER_ONLY and not (is_integer(left) and is_integer(right)):
            raise TypeError_(f"invalid operands to binary expression ('{left}' and '{right}')", expr.loc)
        if op in ("<<", ">>"):
            return promote(left)
        return usual_arithmetic(left, right)

    def _assign(self, expr: ast.Assign) -> ct.CType:
        target = self._modifiable(expr.target, expr.loc, "assign to")
        value = self.value(expr.value)
        if expr.op == "=":
            self.check_assignable(target, value, expr.value, expr.loc)
        elif expr.op in ("+=", "-=") and is_pointer(target):
            if not is_integer(value):
                raise TypeError_(f"invalid operands to binary expression ('{target}' and '{value}')", expr.loc)
        elif not (is_scalar(target) and is_scalar(value)):
            raise TypeError_(f"invalid operands to binary expression ('{target}' and '{value}')", expr.loc)
        return target

    def _comma(self, expr: ast.Comma) -> ct.CType:
        self.type(expr.left)
        return self.value(expr.right)

    def _conditional(self, expr: ast.Conditional) -> ct.CType:
        condition = self.value(expr.condition)
        if not is_scalar(condition):
            raise TypeError_(f"used type '{condition}' where arithmetic or pointer type is required", expr.loc)
        then = condition if expr.then is None else self.value(expr.then)
        other = self.value(expr.otherwise)
        if is_integer(then) and is_integer(other):
            return usual_arithmetic(then, other)
        if isinstance(ct.strip_typedefs(then), ct.Void) or isinstance(ct.strip_typedefs(other), ct.Void):
            return ct.Void()
        if is_pointer(then) and is_integer(other):
            return then
        if is_pointer(other) and is_integer(then):
            return other
        return then

    def _call(self, expr: ast.Call) -> ct.CType:
        callee = ct.strip_typedefs(self.value(expr.function))
        target = ct.strip_typedefs(callee.target) if isinstance(callee, ct.Pointer) else callee
        if not isinstance(target, ct.Function):
            raise TypeError_(f"called object type '{callee}' is not a function or function pointer", expr.loc)
        args = [self.value(arg) for arg in expr.args]
        if target.prototype:
            wanted = len(target.params)
            if len(args) < wanted or (len(args) > wanted and not target.variadic):
                many = len(args) > wanted
                raise TypeError_(f"too {'many' if many else 'few'} arguments to function call, expected "
                                 f"{'at least ' if target.variadic else ''}{wanted}, have {len(args)}", expr.loc)
            for (_, param), arg, node in zip(target.params, args, expr.args):
                self.check_assignable(param, arg, node, node.loc, "passing")
        return target.returns

    def _index(self, expr: ast.Index) -> ct.CType:
        base, index = self.value(expr.base), self.value(expr.index)
        if not is_pointer(base) and is_pointer(index):
            base, index = index, base
        pointer = ct.strip_typedefs(base)
        if not isinstance(pointer, ct.Pointer):
            raise TypeError_("subscripted value is not an array, pointer, or vector", expr.loc)
        if not is_integer(index):
            raise TypeError_("array subscript is not an integer", expr.index.loc)
        return pointer.target

    def _member(self, expr: ast.Member) -> ct.CType:
        base = self.type(expr.base)
        plain = ct.strip_typedefs(decay(base) if expr.arrow else base)
        if expr.arrow:
            if not isinstance(plain, ct.Pointer):
                raise TypeError_(f"member reference type '{base}' is not a pointer; did you mean to use '.'?",
                                 expr.loc)
            plain = ct.strip_typedefs(plain.target)
        elif isinstance(plain, ct.Pointer):
            raise TypeError_(f"member reference type '{base}' is a pointer; did you mean to use '->'?", expr.loc)
        if not isinstance(plain, ct.Record):
            raise TypeError_(f"member reference base type '{base}' is not a structure or union", expr.loc)
        if not plain.complete:
            raise TypeError_(f"incomplete definition of type '{plain}'", expr.loc)
        found = plain.member(expr.name)
        if found is None:
            raise TypeError_(f"no member named '{expr.name}' in '{plain}'", expr.loc)
        return ct.qualified(found[0].type, plain.const, plain.volatile)

    def _stmt_expr(self, expr: ast.StmtExpr) -> ct.CType:
        if self.statement_expression is None:
            last = expr.body.items[-1] if expr.body.items else None
            if isinstance(last, ast.ExprStmt) and last.expr is not None:
                return self.value(last.expr)
            return ct.Void()
        return self.statement_expression(expr)

    def _type_builtin(self, expr: ast.TypeArgBuiltin) -> ct.CType:
        if expr.name == "__builtin_va_arg" and len(expr.args) == 2 and isinstance(expr.args[1], ast.TypeName):
            return self.resolver.type_name(expr.args[1])
        return INT

    def _generic(self, expr: ast.Generic) -> ct.CType:
        control = self.value(expr.control)
        default = None
        for type_name, value in expr.associations:
            if type_name is None:
                default = value
            elif _compatible(self.resolver.type_name(type_name), control):
                return self.value(value)
        if default is None:
            raise TypeError_(f"controlling expression type '{control}' not compatible with any generic association type",
                             expr.loc)
        return self.value(default)

    def _label_address(self, expr: ast.LabelAddress) -> ct.CType:
        return ct.Pointer(ct.Void())

    # ----- rules

    def _is_lvalue(self, expr: ast.Expr) -> bool:
        if isinstance(expr, ast.Ident):
            found = self.resolver.lookup_name(expr.name)
            return found is not None and found.value is None and not isinstance(ct.strip_typedefs(found.type or INT),
                                                                                  ct.Function)
        if isinstance(expr, ast.Unary):
            return expr.op == "*"
        if isinstance(expr, (ast.Index, ast.CompoundLiteral, ast.StringLit)):
            return True
        if isinstance(expr, ast.Member):
            return expr.arrow or self._is_lvalue(expr.base)
        return False

    def _modifiable(self, expr: ast.Expr, loc: Loc, what: str) -> ct.CType:
        ctype = self.type(expr)
        if not self._is_lvalue(expr):
            raise TypeError_("expression is not assignable", loc)
        plain = ct.strip_typedefs(ctype)
        if plain.const or (isinstance(ctype, ct.Typedef) and ctype.const):
            raise TypeError_(f"cannot {what} a read-only variable of type '{ctype}'" if what == "assign to"
                             else f"cannot {what} value of type '{ctype}' (read-only)", loc)
        if isinstance(plain, ct.Array):
            raise TypeError_(f"array type '{ctype}' is not assignable", loc)
        return ctype

    def check_assignable(self, target: ct.CType, value: ct.CType, node: ast.Expr, loc: Loc,
                         action: str = "assigning to") -> None:
        """C11 6.5.16.1: the simple-assignment constraints (also for arguments and initializers)."""
        t, v = ct.strip_typedefs(target), ct.strip_typedefs(value)
        if isinstance(t, ct.Record) or isinstance(v, ct.Record):
            if not (isinstance(t, ct.Record) and isinstance(v, ct.Record) and t.definition() is v.definition()):
                raise TypeError_(f"{action} '{target}' from incompatible type '{value}'", loc)
            return
        # Pointer <-> integer: clang's -Wint-conversion. Macros of the libbpf API pass u64 registers as
        # pointers and back on purpose (libbpf silences the warning there with GCC diagnostic pragmas),
        # so code out of macro expansions is not warned about.
        if is_pointer(t) and is_integer(v):
            if not _is_null_constant(node) and not loc.macro:
                self._warn(f"incompatible integer to pointer conversion {action} '{target}' from '{value}'", loc)
            return
        if is_integer(t) and is_pointer(v):
            if not loc.macro:
                self._warn(f"incompatible pointer to integer conversion {action} '{target}' from '{value}'", loc)
            return
        if is_scalar(t) and is_scalar(v):
            return
        if isinstance(t, ct.Void):
            raise TypeError_(f"{action} 'void' from incompatible type '{value}'", loc)
        if isinstance(v, ct.Void):
            raise TypeError_(f"{action} '{target}' from incompatible type 'void'", loc)

    def _warn(self, message: str, loc: Loc) -> None:
        if self.diagnostics is not None:
            self.diagnostics.warning(message, loc)


def _is_null_constant(node: ast.Expr) -> bool:
    while isinstance(node, ast.Cast):
        node = node.operand
    return isinstance(node, ast.IntLit) and node.value == 0


def _compatible(a: ct.CType, b: ct.CType) -> bool:
    a, b = _unqualified(ct.strip_typedefs(a)), _unqualified(ct.strip_typedefs(b))
    if isinstance(a, ct.Record) and isinstance(b, ct.Record):
        return a.definition() is b.definition()
    if isinstance(a, ct.Pointer) and isinstance(b, ct.Pointer):
        return _compatible(a.target, b.target)
    return a == b


def type_of(expr: ast.Expr, resolver: Names) -> ct.CType:
    """The type of ``expr`` without decay (what ``typeof`` and ``sizeof`` see)."""
    return Typer(resolver).type(expr)


_HANDLERS: dict[type, Callable[[Typer, Any], ct.CType]] = {
    ast.IntLit: Typer._int, ast.CharLit: Typer._char, ast.StringLit: Typer._string, ast.FloatLit: Typer._float,
    ast.Ident: Typer._ident, ast.Cast: Typer._cast, ast.CompoundLiteral: Typer._compound_literal,
    ast.SizeofType: Typer._sizeof_type, ast.Offsetof: Typer._offsetof, ast.Unary: Typer._unary,
    ast.Postfix: Typer._postfix, ast.Binary: Typer._binary, ast.Assign: Typer._assign, ast.Comma: Typer._comma,
    ast.Conditional: Typer._conditional, ast.Call: Typer._call, ast.Index: Typer._index, ast.Member: Typer._member,
    ast.StmtExpr: Typer._stmt_expr, ast.TypeArgBuiltin: Typer._type_builtin, ast.Generic: Typer._generic,
    ast.LabelAddress: Typer._label_address,
}
