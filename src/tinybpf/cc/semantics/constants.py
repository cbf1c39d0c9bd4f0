"""Integer constant expressions (C11 6.6) in declarations: array lengths, bitfield widths, enumerator
values, alignments, ``_Static_assert``.

Arithmetic is done on the value's C type: the result of each operation wraps to the width and
signedness the usual arithmetic conversions give it, as clang folds it.
"""
from __future__ import annotations

from typing import Optional

from tinybpf.cc.diagnostics import Loc
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics.expressions import TypeError_, literal_type, type_of
from tinybpf.cc.semantics.scopes import Names
from tinybpf.cc.syntax import ast


class ConstantError(Exception):
    def __init__(self, message: str, loc: Optional[Loc]) -> None:
        super().__init__(message)
        self.loc = loc


def _wrap(value: int, size: int, signed: bool) -> int:
    bits = 8 * size
    value &= (1 << bits) - 1
    return value - (1 << bits) if signed and value >> (bits - 1) else value


def evaluate(expr: ast.Expr, resolver: Names) -> int:
    return _Evaluator(resolver).value(expr)[0]


class _Evaluator:
    def __init__(self, resolver: Names) -> None:
        self.resolver = resolver

    def value(self, expr: ast.Expr) -> tuple[int, int, bool]:
        """(value, size, signed)."""
        if isinstance(expr, ast.IntLit):
            size, signed = literal_type(expr)
            return _wrap(expr.value, size, signed), size, signed
        if isinstance(expr, ast.CharLit):
            return expr.value, 4, True
        if isinstance(expr, ast.Ident):
            found = self.resolver.lookup_name(expr.name)
            if found is not None and found.value is not None:
                return found.value, 4, True
            raise ConstantError("expression is not an integer constant expression", expr.loc)
        if isinstance(expr, ast.Unary):
            return self._unary(expr)
        if isinstance(expr, ast.Binary):
            return self._binary(expr)
        if isinstance(expr, ast.Conditional):
            condition = self.value(expr.condition)[0]
            if expr.then is None:
                return self.value(expr.condition) if condition else self.value(expr.otherwise)
            return self.value(expr.then if condition else expr.otherwise)
        if isinstance(expr, ast.Cast):
            target = ct.strip_typedefs(self.resolver.type_name(expr.type))
            value = self.value(expr.operand)[0]
            if isinstance(target, ct.Int):
                if target.name == "_Bool":
                    return int(value != 0), 1, False
                return _wrap(value, target.size, target.signed), target.size, target.signed
            if isinstance(target, (ct.Pointer, ct.Enum)):
                size = target.size
                return _wrap(value, size, False), size, False
            raise ConstantError("expression is not an integer constant expression", expr.loc)
        if isinstance(expr, ast.SizeofType):
            ctype = self.resolver.type_name(expr.type)
            result = ct.size_of(ctype) if expr.op == "sizeof" else ct.align_of(ctype)
            return result, 8, False
        if isinstance(expr, ast.Offsetof):
            return self._offsetof(expr), 8, False
        raise ConstantError("expression is not an integer constant expression", getattr(expr, "loc", None))

    def _unary(self, expr: ast.Unary) -> tuple[int, int, bool]:
        if expr.op in ("sizeof", "_Alignof"):
            try:
                operand = type_of(expr.operand, self.resolver)
            except TypeError_ as exc:
                raise ConstantError(str(exc), exc.loc) from None
            return (ct.size_of(operand) if expr.op == "sizeof" else ct.align_of(operand)), 8, False
        value, size, signed = self.value(expr.operand)
        size, signed = _promote(size, signed)
        if expr.op == "-":
            return _wrap(-value, size, signed), size, signed
        if expr.op == "+":
            return value, size, signed
        if expr.op == "~":
            return _wrap(~value, size, signed), size, signed
        if expr.op == "!":
            return int(value == 0), 4, True
        raise ConstantError("expression is not an integer constant expression", expr.loc)

    def _binary(self, expr: ast.Binary) -> tuple[int, int, bool]:
        op = expr.op
        left, lsize, lsigned = self.value(expr.left)
        if op == "&&":
            return int(bool(left) and bool(self.value(expr.right)[0])), 4, True
        if op == "||":
            return int(bool(left) or bool(self.value(expr.right)[0])), 4, True
        right, rsize, rsigned = self.value(expr.right)
        if op in ("<<", ">>"):
            size, signed = _promote(lsize, lsigned)
            if right < 0 or right >= 8 * size:
                raise ConstantError(f"shift count is {'negative' if right < 0 else '>= width of type'}", expr.loc)
            return _wrap(left << right if op == "<<" else left >> right, size, signed), size, signed
        size, signed = _usual(lsize, lsigned, rsize, rsigned)
        a, b = _wrap(left, size, signed), _wrap(right, size, signed)
        if op in ("/", "%"):
            if b == 0:
                raise ConstantError("division by zero", expr.loc)
            quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
            return _wrap(quotient if op == "/" else a - b * quotient, size, signed), size, signed
        compare = {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}.get(op)
        if compare is not None:
            return int(compare), 4, True
        result = {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b}[op]
        return _wrap(result, size, signed), size, signed

    def _offsetof(self, expr: ast.Offsetof) -> int:
        current = self.resolver.type_name(expr.type)
        offset = 0
        for step in expr.path:
            plain = ct.strip_typedefs(current)
            if isinstance(step, str):
                found = plain.member(step) if isinstance(plain, ct.Record) else None
                if found is None:
                    raise ConstantError(f"no member named '{step}' in '{plain}'", expr.loc)
                member, at = found
                offset += at
                current = member.type
            else:
                if not isinstance(plain, ct.Array):
                    raise ConstantError("subscripted value is not an array", expr.loc)
                offset += self.value(step)[0] * ct.size_of(plain.element)
                current = plain.element
        return offset


def _promote(size: int, signed: bool) -> tuple[int, bool]:
    return (4, True) if size < 4 else (size, signed)


def _usual(lsize: int, lsigned: bool, rsize: int, rsigned: bool) -> tuple[int, bool]:
    """C11 6.3.1.8 for the integer types: promote, then the wider one; at equal width unsigned wins."""
    lsize, lsigned = _promote(lsize, lsigned)
    rsize, rsigned = _promote(rsize, rsigned)
    if lsize != rsize:
        return (lsize, lsigned) if lsize > rsize else (rsize, rsigned)
    return lsize, lsigned and rsigned
