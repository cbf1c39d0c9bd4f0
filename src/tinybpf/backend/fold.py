"""64-bit integer arithmetic as the kernel computes it, for constant folding in any front end."""
from __future__ import annotations

MASK64 = (1 << 64) - 1
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def wrap64(value: int) -> int:
    """``value`` as the signed 64-bit number a register holds."""
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def fits_imm(value: int) -> bool:
    return -(1 << 31) <= value < (1 << 31)


def fold(op: str, a: int, b: int, signed: bool) -> int:
    """Constant-fold ``a op b`` on 64-bit values as the kernel would compute it."""
    ua, ub = a & MASK64, b & MASK64
    x, y = (a, b) if signed else (ua, ub)
    if op in _COMPARISONS:
        return int({"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])
    if op in ("/", "%"):
        if y == 0:
            return 0 if op == "/" else wrap64(x)
        quotient = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        return wrap64(quotient if op == "/" else x - quotient * y)
    if op in ("<<", ">>"):
        if not 0 <= ub < 64:
            return 0
        return wrap64(ua << ub) if op == "<<" else wrap64((a if signed else ua) >> ub)
    results = {"+": x + y, "-": x - y, "*": x * y, "&": ua & ub, "|": ua | ub, "^": ua ^ ub,
               "&&": int(bool(a) and bool(b)), "||": int(bool(a) or bool(b))}
    return wrap64(results[op])
