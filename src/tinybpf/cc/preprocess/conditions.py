"""The integer constant expression of ``#if``/``#elif`` (C11 6.10.1), evaluated in intmax_t/uintmax_t.

The caller has already replaced ``defined X`` and expanded macros; identifiers left over are 0. The
usual arithmetic conversions apply (a signed operand meets an unsigned one: both unsigned), ``&&``,
``||`` and ``?:`` short-circuit, so a division by zero in the branch not taken is no error.
"""
from __future__ import annotations

from typing import Optional

from tinybpf.cc.diagnostics import Diagnostics
from tinybpf.cc.preprocess.lexer import CHAR, IDENT, NUMBER, Token

MASK = (1 << 64) - 1

_BINARY = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}
_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27,
            "\\": 92, "'": 39, '"': 34, "?": 63}


class ExpressionError(Exception):
    def __init__(self, message: str, token: Optional[Token]) -> None:
        super().__init__(message)
        self.token = token


class Value:
    __slots__ = ("unsigned", "value")

    def __init__(self, value: int, unsigned: bool = False) -> None:
        self.value = value & MASK if unsigned else _signed(value)
        self.unsigned = unsigned

    def __bool__(self) -> bool:
        return self.value != 0


def _signed(value: int) -> int:
    value &= MASK
    return value - (1 << 64) if value >> 63 else value


def parse_integer(text: str) -> tuple[int, bool]:
    """The value of an integer pp-number and whether its type is unsigned; ValueError when it is not one."""
    body = text.replace("'", "").lower()
    suffix_start = len(body)
    while suffix_start and body[suffix_start - 1] in "ulz":
        suffix_start -= 1
    digits, suffix = body[:suffix_start], body[suffix_start:]
    if suffix not in ("", "u", "l", "ul", "lu", "ll", "ull", "llu", "z", "uz", "zu"):
        raise ValueError(text)
    if digits.startswith(("0x", "0b")):
        value = int(digits[2:], 16 if digits[1] == "x" else 2)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits[1:], 8)
    else:
        value = int(digits, 10)
    if value > MASK:
        raise OverflowError(text)
    return value, "u" in suffix or value > (MASK >> 1)


def char_value(text: str) -> int:
    """The int value of a character constant: one char, an escape, or GCC's multi-char packing."""
    body = text[text.index("'") + 1:-1]
    values = []
    i = 0
    while i < len(body):
        if body[i] != "\\":
            values.append(ord(body[i]))
            i += 1
            continue
        escape = body[i + 1:i + 2]
        if escape == "x":
            j = i + 2
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            values.append(int(body[i + 2:j], 16))
            i = j
        elif escape and escape in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            values.append(int(body[i + 1:j], 8))
            i = j
        else:
            values.append(_ESCAPES.get(escape, ord(escape or "\\")))
            i += 2
    if not values:
        raise ValueError(text)
    if len(values) == 1 and not text.startswith(("L", "u", "U")):
        return values[0] - 256 if values[0] > 127 else values[0]  # plain char is signed on BPF
    result = 0
    for value in values:
        result = (result << 8) | (value & 0xFF)
    return _signed(result & 0xFFFFFFFF) if result >> 31 else result


class Evaluator:
    def __init__(self, tokens: list[Token], diagnostics: Diagnostics) -> None:
        self.tokens = tokens
        self.pos = 0
        self.diagnostics = diagnostics

    def evaluate(self) -> bool:
        if not self.tokens:
            raise ExpressionError("expected value in expression", None)
        value = self._conditional(True)
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            raise ExpressionError("token is not a valid binary operator in a preprocessor subexpression", token)
        return bool(value)

    def _peek(self) -> Optional[Token]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> Token:
        token = self._peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else None
            raise ExpressionError("expected value in expression", last)
        self.pos += 1
        return token

    def _conditional(self, live: bool) -> Value:
        condition = self._binary(1, live)
        token = self._peek()
        if token is None or token.text != "?":
            return condition
        self.pos += 1
        yes = self._conditional(live and bool(condition))
        colon = self._peek()
        if colon is None or colon.text != ":":
            raise ExpressionError("expected ':'", colon or token)
        self.pos += 1
        no = self._conditional(live and not condition)
        unsigned = yes.unsigned or no.unsigned
        return Value((yes if condition else no).value, unsigned)

    def _binary(self, level: int, live: bool) -> Value:
        left = self._unary(live)
        while True:
            token = self._peek()
            precedence = _BINARY.get(token.text) if token is not None and token.kind != CHAR else None
            if precedence is None or precedence < level:
                return left
            self.pos += 1
            op = token.text  # type: ignore[union-attr]
            if op == "&&":
                right = self._binary(precedence + 1, live and bool(left))
                left = Value(int(bool(left) and bool(right)))
            elif op == "||":
                right = self._binary(precedence + 1, live and not left)
                left = Value(int(bool(left) or bool(right)))
            else:
                right = self._binary(precedence + 1, live)
                left = self._apply(op, left, right, live, token)  # type: ignore[arg-type]

    def _apply(self, op: str, left: Value, right: Value, live: bool, token: Token) -> Value:
        unsigned = left.unsigned or right.unsigned
        a, b = (left.value & MASK, right.value & MASK) if unsigned else (left.value, right.value)
        if op in ("/", "%") and b == 0:
            if live:
                raise ExpressionError(f"{'division' if op == '/' else 'remainder'} by zero in preprocessor expression", token)
            return Value(0, unsigned)
        if op == "/":
            return Value(abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1), unsigned)
        if op == "%":
            return Value(a - b * (abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)), unsigned)
        if op in ("<<", ">>"):
            shift = right.value & 63 if right.value >= 0 else 0
            value = left.value & MASK if left.unsigned else left.value
            return Value(value << shift if op == "<<" else value >> shift, left.unsigned)
        if op in ("==", "!=", "<", ">", "<=", ">="):
            truth = {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
            return Value(int(truth))
        return Value({"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b}[op], unsigned)

    def _unary(self, live: bool) -> Value:
        token = self._take()
        text = token.text
        if text == "(":
            inner = self._conditional(live)
            close = self._peek()
            if close is None or close.text != ")":
                raise ExpressionError("expected ')' in preprocessor expression", close or token)
            self.pos += 1
            return inner
        if text in ("+", "-", "~", "!") and token.kind != CHAR:
            operand = self._unary(live)
            if text == "+":
                return operand
            if text == "-":
                return Value(-operand.value, operand.unsigned)
            if text == "~":
                return Value(~operand.value, operand.unsigned)
            return Value(int(not operand))
        if token.kind == NUMBER:
            try:
                value, unsigned = parse_integer(text)
            except OverflowError:
                raise ExpressionError("integer literal is too large to be represented in any integer type", token) from None
            except ValueError:
                if any(c in text.lower() for c in ".ep") and not text.lower().startswith("0x"):
                    raise ExpressionError("floating point literal in preprocessor expression", token) from None
                raise ExpressionError(f"invalid integer constant '{text}' in preprocessor expression", token) from None
            return Value(value, unsigned)
        if token.kind == CHAR:
            try:
                return Value(char_value(text))
            except ValueError:
                raise ExpressionError("empty character constant", token) from None
        if token.kind == IDENT:
            return Value(0)  # C17: an identifier that is not a macro (true and false included)
        raise ExpressionError("invalid token at start of a preprocessor expression", token)
