"""The C type of an expression (C11 6.5), as declarations need it for ``typeof(expr)`` and ``sizeof``.

Integer promotions and the usual arithmetic conversions decide arithmetic results; arrays and functions
decay to pointers where C says they do; member access looks through anonymous members.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tinybpf.cc.diagnostics import Loc
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.syntax import ast

if TYPE_CHECKING:
    from tinybpf.cc.semantics.declarations import TypeResolver

INT = ct.INT_TYPES["int"]
_COMPARISONS = {"==", "!=", "<", ">", "<=", ">=", "&&", "||"}


class TypeError_(Exception):
    """An expression whose type C does not define; ``loc`` is where."""

    def __init__(self, message: str, loc: Loc) -> None:
        super().__init__(message)
        self.loc = loc


def promote(ctype: ct.CType) -> ct.CType:
    """Integer promotion: types narrower than int become int."""
    plain = ct.strip_typedefs(ctype)
    if isinstance(plain, ct.Enum):
        return ct.INT_TYPES["unsigned int" if not plain.signed and plain.size == 4 else "int"] if plain.size <= 4 \
            else ct.INT_TYPES["long" if plain.signed else "unsigned long"]
    if isinstance(plain, ct.Int) and plain.size < 4:
        return INT
    return plain


def usual_arithmetic(left: ct.CType, right: ct.CType) -> ct.CType:
    """C11 6.3.1.8 for integers: the wider type; at equal width the unsigned one."""
    a, b = promote(left), promote(right)
    if not isinstance(a, ct.Int) or not isinstance(b, ct.Int):
        return a if isinstance(a, ct.Float) else b
    if a.size != b.size:
        return a if a.size > b.size else b
    if a.signed == b.signed:
        return a
    return a if not a.signed else b


def decay(ctype: ct.CType) -> ct.CType:
    plain = ct.strip_typedefs(ctype)
    if isinstance(plain, ct.Array):
        return ct.Pointer(plain.element)
    if isinstance(plain, ct.Function):
        return ct.Pointer(plain)
    return ctype


def literal_type(literal: ast.IntLit) -> tuple[int, bool]:
    """(size, signed) of an integer literal: the first of int, long, long long (and their unsigned
    forms for hexadecimal/octal) that holds it, as C11 6.4.4.1 says."""
    unsigned = "u" in literal.suffix
    longs = literal.suffix.count("l")
    value = literal.value
    candidates = [(4, False), (8, False)] if longs == 0 else [(8, False)]
    for size, _ in candidates:
        if not unsigned and value < (1 << (8 * size - 1)):
            return size, True
        if (unsigned or literal.base != 10) and value < (1 << (8 * size)):
            return size, False
    return 8, False


def type_of(expr: ast.Expr, resolver: TypeResolver) -> ct.CType:
    """The type of ``expr`` without decay (what ``typeof`` and ``sizeof`` see)."""
    if isinstance(expr, ast.IntLit):
        size, signed = literal_type(expr)
        return ct.INT_TYPES[{(4, True): "int", (4, False): "unsigned int", (8, True): "long",
                             (8, False): "unsigned long"}[(size, signed)]]
    if isinstance(expr, ast.CharLit):
        return INT
    if isinstance(expr, ast.StringLit):
        return ct.Array(ct.INT_TYPES["char"], len(expr.value) + 1)
    if isinstance(expr, ast.FloatLit):
        return ct.Float("double", 8)
    if isinstance(expr, ast.Ident):
        found = resolver.lookup_name(expr.name)
        if found is None or found.type is None or found.typedef:
            raise TypeError_(f"use of undeclared identifier '{expr.name}'", expr.loc)
        return INT if found.value is not None else found.type
    if isinstance(expr, ast.Cast):
        return resolver.type_name(expr.type)
    if isinstance(expr, ast.CompoundLiteral):
        return resolver.type_name(expr.type)
    if isinstance(expr, (ast.SizeofType, ast.Offsetof)):
        return ct.INT_TYPES["unsigned long"]
    if isinstance(expr, ast.Unary):
        return _unary(expr, resolver)
    if isinstance(expr, ast.Postfix):
        return type_of(expr.operand, resolver)
    if isinstance(expr, ast.Binary):
        return _binary(expr, resolver)
    if isinstance(expr, ast.Assign):
        return type_of(expr.target, resolver)
    if isinstance(expr, ast.Comma):
        return type_of(expr.right, resolver)
    if isinstance(expr, ast.Conditional):
        then = type_of(expr.then if expr.then is not None else expr.condition, resolver)
        other = type_of(expr.otherwise, resolver)
        if isinstance(ct.strip_typedefs(then), (ct.Int, ct.Enum)) and isinstance(ct.strip_typedefs(other), (ct.Int, ct.Enum)):
            return usual_arithmetic(then, other)
        return decay(then)
    if isinstance(expr, ast.Call):
        callee = ct.strip_typedefs(decay(type_of(expr.function, resolver)))
        target = ct.strip_typedefs(callee.target) if isinstance(callee, ct.Pointer) else callee
        if not isinstance(target, ct.Function):
            raise TypeError_("called object is not a function or function pointer", expr.loc)
        return target.returns
    if isinstance(expr, ast.Index):
        base = ct.strip_typedefs(decay(type_of(expr.base, resolver)))
        if not isinstance(base, ct.Pointer):
            base = ct.strip_typedefs(decay(type_of(expr.index, resolver)))
        if not isinstance(base, ct.Pointer):
            raise TypeError_("subscripted value is not an array or pointer", expr.loc)
        return base.target
    if isinstance(expr, ast.Member):
        return _member(expr, resolver)
    if isinstance(expr, ast.StmtExpr):
        last = expr.body.items[-1] if expr.body.items else None
        if isinstance(last, ast.ExprStmt) and last.expr is not None:
            return type_of(last.expr, resolver)
        return ct.Void()
    if isinstance(expr, ast.TypeArgBuiltin):
        return INT
    raise TypeError_("cannot determine the type of this expression here", expr.loc)


def _unary(expr: ast.Unary, resolver: TypeResolver) -> ct.CType:
    if expr.op in ("sizeof", "_Alignof"):
        return ct.INT_TYPES["unsigned long"]
    operand = type_of(expr.operand, resolver)
    if expr.op == "&":
        return ct.Pointer(operand)
    if expr.op == "*":
        pointer = ct.strip_typedefs(decay(operand))
        if not isinstance(pointer, ct.Pointer):
            raise TypeError_(f"indirection requires pointer operand ('{operand}' invalid)", expr.loc)
        return pointer.target
    if expr.op == "!":
        return INT
    if expr.op in ("++", "--"):
        return operand
    return promote(operand)


def _binary(expr: ast.Binary, resolver: TypeResolver) -> ct.CType:
    if expr.op in _COMPARISONS:
        return INT
    left = decay(type_of(expr.left, resolver))
    right = decay(type_of(expr.right, resolver))
    lp, rp = ct.strip_typedefs(left), ct.strip_typedefs(right)
    if expr.op in ("<<", ">>"):
        return promote(left)
    if isinstance(lp, ct.Pointer) and isinstance(rp, ct.Pointer) and expr.op == "-":
        return ct.INT_TYPES["long"]
    if isinstance(lp, ct.Pointer):
        return left
    if isinstance(rp, ct.Pointer) and expr.op == "+":
        return right
    return usual_arithmetic(left, right)


def _member(expr: ast.Member, resolver: TypeResolver) -> ct.CType:
    base = ct.strip_typedefs(type_of(expr.base, resolver))
    if expr.arrow:
        base = ct.strip_typedefs(decay(base))
        if not isinstance(base, ct.Pointer):
            raise TypeError_(f"member reference type '{base}' is not a pointer", expr.loc)
        base = ct.strip_typedefs(base.target)
    if not isinstance(base, ct.Record):
        raise TypeError_(f"member reference base type '{base}' is not a structure or union", expr.loc)
    found = base.member(expr.name)
    if found is None:
        raise TypeError_(f"no member named '{expr.name}' in '{base}'", expr.loc)
    member_type = found[0].type
    return ct.qualified(member_type, base.const, base.volatile)
