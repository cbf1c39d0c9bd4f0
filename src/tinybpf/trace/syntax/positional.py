"""Positional parameters become literals before type checking, as bpftrace folds them.

``$N`` is an integer literal when its text reads as one (``123``, ``0775``, ``0x1f``, ``-5``), a string
literal otherwise, and 0 when it was not given; ``$#`` is the parameter count. ``str($N)`` is always the
text as given (so ``str($1)`` of ``1`` is ``"1"``, and of nothing ``""``), and ``str($N + K)`` is that text
from byte ``K`` on; ``str($N, LEN)`` keeps at most ``LEN`` bytes of it.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Optional

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.lexer import parse_int


def resolve_positional(program: ast.Program, params: Sequence[str]) -> None:
    """Replace every ``$N``, ``$#`` and foldable ``str(...)`` in ``program``'s probes, in place."""
    resolver = _Resolver(params)
    for probe in program.probes:
        resolver.children(probe)


def argv_bytes(text: str) -> bytes:
    """A parameter's bytes: the command line keeps bytes that are not UTF-8 as surrogates."""
    return text.encode("utf-8", "surrogateescape")


def param_value(text: str) -> Optional[int]:
    """The integer a parameter's text means, or None when it is a string."""
    negative = text.startswith("-")
    try:
        value = parse_int(text[1:] if negative else text)
    except ValueError:
        return None
    return -value if negative else value


class _Resolver:
    def __init__(self, params: Sequence[str]) -> None:
        self.params = params

    def text(self, index: int) -> str:
        return self.params[index - 1] if 0 < index <= len(self.params) else ""

    def children(self, node: ast.Node) -> None:
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, ast.Node):
                setattr(node, f.name, self.node(value))
            elif isinstance(value, list):
                setattr(node, f.name, [self.node(item) if isinstance(item, ast.Node) else item for item in value])

    def node(self, node: ast.Node) -> ast.Node:
        if isinstance(node, ast.PositionalParameter):
            text = self.text(node.index)
            if not text:
                return ast.Integer(pos=node.pos, value=0)
            value = param_value(text)
            if value is None:
                return ast.String(pos=node.pos, value=argv_bytes(text))
            return ast.Integer(pos=node.pos, value=value)
        if isinstance(node, ast.PositionalParameterCount):
            return ast.Integer(pos=node.pos, value=len(self.params))
        if isinstance(node, ast.Call) and node.name == "str" and node.args:
            return self.str_call(node)
        self.children(node)
        return node

    def str_call(self, call: ast.Call) -> ast.Node:
        """``str()`` of a parameter (or of a parameter plus an offset) folds to a string literal of its text."""
        first = call.args[0]
        folding = True
        if isinstance(first, ast.PositionalParameter):
            call.args[0] = ast.String(pos=first.pos, value=argv_bytes(self.text(first.index)))
        elif isinstance(first, ast.Binop) and first.op == "+" and isinstance(first.left, ast.PositionalParameter):
            first.left = ast.String(pos=first.left.pos, value=argv_bytes(self.text(first.left.index)))
        else:
            folding = False
        self.children(call)
        folded = _literal_bytes(call.args[0]) if folding else None
        if folded is None:
            return call
        if len(call.args) > 1:
            if not isinstance(call.args[1], ast.Integer):
                return call
            folded = folded[:max(call.args[1].value, 0)]
        return ast.String(pos=call.pos, value=folded)


def _literal_bytes(e: ast.Expression) -> Optional[bytes]:
    """What ``str(e)`` is when ``e`` is a literal: a string, or a string from an offset."""
    if isinstance(e, ast.String):
        return e.value
    if isinstance(e, ast.Binop) and e.op == "+" and isinstance(e.left, ast.String) and isinstance(e.right, ast.Integer):
        return e.left.value[max(e.right.value, 0):]
    return None
