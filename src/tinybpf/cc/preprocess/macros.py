"""Macro definitions and the substitution of a macro's body (C11 6.10.3, with GNU's extensions).

Rescanning follows Prosser's algorithm: every token carries a hide set, the macros whose expansion
produced it, and a name in its own token's hide set is never expanded again. Substitution handles ``#``
(stringize), ``##`` (paste, through placemarkers for empty arguments), ``__VA_ARGS__``, ``__VA_OPT__``,
GNU named variadics (``args...``) and GNU's comma elision in ``, ## __VA_ARGS__``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from tinybpf.cc.diagnostics import Diagnostics, Expansion, Loc
from tinybpf.cc.preprocess.lexer import IDENT, PLACEMARKER, STRING, Token, lex_one

# A builtin macro (``__LINE__``, ``__has_include``...) computes its tokens from the invoking token and,
# for function-like builtins, the raw argument tokens.
Builtin = Callable[[Token, Optional[list[Token]]], list[Token]]


@dataclass
class Macro:
    name: str
    body: list[Token]
    params: Optional[list[str]] = None  # None: object-like
    variadic: bool = False  # the last parameter collects the rest (``__VA_ARGS__`` or GNU ``name...``)
    loc: Optional[Loc] = None
    builtin: Optional[Builtin] = field(default=None, repr=False)

    @property
    def function_like(self) -> bool:
        return self.params is not None

    def same_as(self, other: Macro) -> bool:
        """C11 6.10.3p2: a redefinition is allowed only when it is spelled the same."""
        if (self.params, self.variadic, len(self.body)) != (other.params, other.variadic, len(other.body)):
            return False
        return all(
            a.text == b.text and (i == 0 or a.space == b.space)
            for i, (a, b) in enumerate(zip(self.body, other.body))
        )


def stringize(arg: list[Token], loc: Loc) -> Token:
    """``#x``: the argument's spelling as a string literal, quotes and backslashes of literals escaped."""
    parts: list[str] = []
    for token in arg:
        if token.kind == PLACEMARKER:
            continue
        piece = token.text
        if token.kind in (STRING, "char"):
            piece = piece.replace("\\", "\\\\").replace('"', '\\"')
        parts.append((" " if parts and token.space else "") + piece)
    text = "".join(parts)
    return Token(STRING, f'"{text}"', loc)


class Substitution:
    """Substitutes the arguments of one invocation into a macro's body (the ``subst`` of Prosser)."""

    def __init__(
        self,
        macro: Macro,
        args: Optional[list[list[Token]]],
        expand: Callable[[list[Token]], list[Token]],
        diagnostics: Diagnostics,
        expansion: Expansion,
    ) -> None:
        self.macro = macro
        self.expansion = expansion
        self.args = args or []
        self.expand = expand
        self.diagnostics = diagnostics
        self.index = {name: i for i, name in enumerate(macro.params or ())}
        self._expanded: dict[int, list[Token]] = {}

    def _param(self, token: Token) -> Optional[int]:
        return self.index.get(token.text) if token.kind == IDENT else None

    def _arg(self, i: int) -> list[Token]:
        return self.args[i] if i < len(self.args) else []

    def _expanded_arg(self, i: int) -> list[Token]:
        if i not in self._expanded:
            self._expanded[i] = self.expand(self._arg(i))
        return self._expanded[i]

    def _va_present(self) -> bool:
        return bool(self.macro.variadic and self._expanded_arg(len(self.macro.params or ()) - 1))

    def run(self, body: list[Token]) -> list[Token]:
        out: list[Token] = []
        i = 0
        function_like = self.macro.function_like
        while i < len(body):
            token = body[i]
            following = body[i + 1] if i + 1 < len(body) else None
            if function_like and token.text == "#" and token.kind != STRING and following is not None:
                index = self._param(following)
                if index is not None:
                    out.append(stringize(self._arg(index), token.loc).copy(space=token.space, expansion=self.expansion))
                    i += 2
                    continue
            if token.text == "__VA_OPT__" and self.macro.variadic and following is not None and following.text == "(":
                end = _matching_paren(body, i + 1)
                inner = self.run(body[i + 2:end]) if self._va_present() else []
                out.extend(inner or [Token(PLACEMARKER, "", token.loc)])
                i = end + 1
                continue
            if token.text == "##" and out:
                i = self._paste(out, body, i)
                continue
            index = self._param(token) if function_like else None
            if index is not None:
                pasted = following is not None and following.text == "##"
                arg = self._arg(index) if pasted else self._expanded_arg(index)
                if not arg:
                    out.append(Token(PLACEMARKER, "", token.loc))
                else:
                    out.extend(arg)
                    out[len(out) - len(arg)] = out[len(out) - len(arg)].copy(space=token.space)
                i += 1
                continue
            out.append(token.copy(expansion=self.expansion))
            i += 1
        return out

    def _paste(self, out: list[Token], body: list[Token], i: int) -> int:
        """``left ## right``: glue the last output token to the first token of the right operand."""
        hash_token = body[i]
        if i + 1 >= len(body):
            return i + 1  # rejected when the macro was defined
        right_token = body[i + 1]
        index = self._param(right_token) if self.macro.function_like else None
        if index is not None:
            right = list(self._arg(index))
            is_va = self.macro.variadic and index == len(self.macro.params or ()) - 1
            if is_va and out[-1].text == ",":
                # GNU: `, ## __VA_ARGS__` drops the comma when there are no variable arguments, and
                # is a plain comma followed by the arguments otherwise.
                if not right:
                    out.pop()
                    return i + 2
                out.extend(right)
                return i + 2
        else:
            right = [right_token.copy(expansion=self.expansion)]
        if not right:
            return i + 2  # left ## placemarker = left
        left = out.pop()
        out.append(right[0] if left.kind == PLACEMARKER else self._glue(left, right[0], hash_token))
        out.extend(right[1:])
        return i + 2

    def _glue(self, left: Token, right: Token, where: Token) -> Token:
        if right.kind == PLACEMARKER:
            return left
        text = left.text + right.text
        token = lex_one(text, left.loc)
        if token is None:
            self.diagnostics.error(
                f"pasting formed '{text}', an invalid preprocessing token", where.loc, where.expansion
            )
            return left
        token.space = left.space
        token.hide = left.hide & right.hide
        token.expansion = self.expansion
        return token


def _matching_paren(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for i in range(open_index, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def finish(tokens: list[Token], hide: frozenset[str], first_space: bool) -> list[Token]:
    """The substituted body ready for rescanning: placemarkers gone, the invocation's hide set added."""
    out = []
    for token in tokens:
        if token.kind == PLACEMARKER:
            continue
        out.append(token.copy(hide=token.hide | hide))
    if out:
        out[0] = out[0].copy(space=first_space)
    return out
