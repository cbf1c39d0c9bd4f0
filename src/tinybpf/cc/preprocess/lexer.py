"""C source text -> preprocessing tokens (C11 6.4), with exact positions.

Line splices (backslash-newline) and comments disappear here; every token remembers where it was
spelled, whether whitespace came before it (``space``, for ``#`` stringizing and for ``-E`` output) and
whether it starts a line (``bol``, which is what makes a ``#`` a directive).
"""
from __future__ import annotations

import bisect
import re
from typing import Optional

from tinybpf.cc.diagnostics import Expansion, Loc

IDENT, NUMBER, CHAR, STRING, PUNCT, OTHER, BAD = "ident", "number", "char", "string", "punct", "other", "bad"
PLACEMARKER = "placemarker"  # what an empty argument becomes next to ``##`` (C11 6.10.3.3)

_PUNCTUATORS = [  # longest first, so the regex takes ``<<=`` before ``<<`` before ``<``
    "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=",
    "+=", "-=", "&=", "^=", "|=", "##", "<:", ":>", "<%", "%>", *"[](){}.&*+-~!/%<>^|?:;=,#",
]
_DIGRAPHS = {"<:": "[", ":>": "]", "<%": "{", "%>": "}"}

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\f\v\r]+)
  | (?P<nl>\n)
  | (?P<lc>//[^\n]*)
  | (?P<bc>/\*.*?(?:\*/|\Z))
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[0-9A-Za-z_.']|\\u[0-9A-Fa-f]{4})*)
  | (?P<string>(?:u8|u|U|L)?"(?:[^"\\\n]|\\.)*")
  | (?P<char>(?:u8|u|U|L)?'(?:[^'\\\n]|\\.)*')
  | (?P<bad>(?:u8|u|U|L)?["'][^\n]*)
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>"""
    + "|".join(re.escape(p) for p in _PUNCTUATORS)
    + r""")
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token:
    """One preprocessing token. ``hide`` holds the macros that must not expand this token again (the
    hide set of C's rescanning rule); ``expansion`` the macro invocation it came from, for notes."""

    __slots__ = ("bol", "expansion", "hide", "kind", "loc", "space", "text")

    def __init__(
        self,
        kind: str,
        text: str,
        loc: Loc,
        space: bool = False,
        bol: bool = False,
        hide: frozenset[str] = frozenset(),
        expansion: Optional[Expansion] = None,
    ) -> None:
        self.kind = kind
        self.text = text
        self.loc = loc
        self.space = space
        self.bol = bol
        self.hide = hide
        self.expansion = expansion

    def copy(self, **changes: object) -> Token:
        token = Token(self.kind, self.text, self.loc, self.space, self.bol, self.hide, self.expansion)
        for name, value in changes.items():
            setattr(token, name, value)
        return token

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r}, {self.loc.line}:{self.loc.column})"


class LexError(Exception):
    """An unterminated literal or comment; ``loc`` says where it starts."""

    def __init__(self, message: str, loc: Loc) -> None:
        super().__init__(message)
        self.loc = loc


def _splice(text: str) -> tuple[str, list[int]]:
    """``text`` without backslash-newlines, and the offsets (in the result) where each one was."""
    if "\\" not in text:
        return text, []
    pieces = re.split(r"\\[ \t]*\r?\n", text)
    if len(pieces) == 1:
        return text, []
    offsets = []
    at = 0
    for piece in pieces[:-1]:
        at += len(piece)
        offsets.append(at)
    return "".join(pieces), offsets


def tokenize(text: str, file: str, first_line: int = 1) -> list[Token]:
    """All tokens of one file. A quote without its closing partner becomes a ``bad`` token holding the rest
    of the line (an error only where it is not skipped by ``#if``); an unterminated comment raises."""
    text, splices = _splice(text)
    tokens: list[Token] = []
    newlines = 0
    line_start = 0  # offset just past the last newline
    space = False
    bol = True
    pos = 0
    match = _TOKEN.match
    while pos < len(text):
        m = match(text, pos)
        assert m is not None  # the last alternative matches any character
        kind = m.lastgroup
        end = m.end()
        if kind == "ws" or kind == "lc":
            space = True
        elif kind == "nl":
            newlines += 1
            line_start = end
            bol, space = True, False
        elif kind == "bc":
            body = m.group()
            if len(body) < 4 or not body.endswith("*/"):
                raise LexError("unterminated /* comment", _loc(file, first_line + newlines, line_start, pos, splices))
            if "\n" in body:
                newlines += body.count("\n")
                line_start = pos + body.rfind("\n") + 1
            space = True
        else:
            spelling = m.group()
            if kind == "punct":
                spelling = _DIGRAPHS.get(spelling, spelling)
            if splices:
                loc = _loc(file, first_line + newlines, line_start, pos, splices)
            else:
                loc = Loc(file, first_line + newlines, pos - line_start + 1)
            tokens.append(Token(kind or OTHER, spelling, loc, space, bol))
            space = bol = False
        pos = end
    return tokens


def _loc(file: str, line: int, line_start: int, pos: int, splices: list[int]) -> Loc:
    """Physical line and column of offset ``pos`` of the spliced text (``line`` counts real newlines only;
    every splice before ``pos`` was one more physical line)."""
    if not splices:
        return Loc(file, line, pos - line_start + 1)
    before = bisect.bisect_right(splices, pos)
    start = max(line_start, splices[before - 1]) if before else line_start
    return Loc(file, line + before, pos - start + 1)


def spell(tokens: list[Token]) -> str:
    """Tokens as text, one space where the source had whitespace (how ``#`` stringizes an argument)."""
    out = []
    for i, token in enumerate(tokens):
        if i and token.space:
            out.append(" ")
        out.append(token.text)
    return "".join(out)


def lex_one(text: str, loc: Loc) -> Optional[Token]:
    """``text`` as exactly one token, or None when it is not one (``##`` must form a valid token)."""
    try:
        tokens = tokenize(text, loc.file)
    except LexError:
        return None
    if len(tokens) != 1 or tokens[0].text != text:
        return None
    token = tokens[0]
    token.loc = loc
    return token
