"""Expanded tokens back to C text: what ``tinybpf cc -E`` prints.

Tokens stay on the line of the file they were used on (macro expansions on the invocation's line),
with GCC-style line markers (``# 12 "file.c"``) where the file changes or lines were skipped, so the
text compiles to the same positions. A space is kept where the source had one, or where two tokens
would otherwise lex as one.
"""
from __future__ import annotations

from collections.abc import Iterable

from tinybpf.cc.diagnostics import Expansion, Loc
from tinybpf.cc.preprocess.lexer import Token, lex_one
from tinybpf.cc.preprocess.preprocessor import PRAGMA

MAX_BLANK_LINES = 8  # more skipped lines than this get a line marker instead


def _root(token: Token) -> Loc:
    expansion: Expansion | None = token.expansion
    if expansion is None:
        return token.loc
    while expansion.parent is not None:
        expansion = expansion.parent
    return expansion.loc


def preprocessed_text(tokens: Iterable[Token], line_markers: bool = True) -> str:
    out: list[str] = []
    file, line = "", 0
    previous: Token | None = None
    for token in tokens:
        loc = _root(token)
        if loc.file != file or loc.line < line or loc.line - line > MAX_BLANK_LINES:
            if out:
                out.append("\n")
            if line_markers:
                out.append(f'# {loc.line} "{loc.file}"\n')
            file, line, previous = loc.file, loc.line, None
            out.append(" " * (loc.column - 1) if token.bol else "")
        elif loc.line > line:
            out.append("\n" * (loc.line - line) if line_markers else "\n")
            line, previous = loc.line, None
            out.append(" " * (loc.column - 1))
        if token.kind == PRAGMA:
            # On a line of its own; the next token gets a line marker to stay at its source line.
            if out and out[-1].strip():
                out.append("\n")
            elif out:
                out[-1] = out[-1].rstrip(" ")
            out.append(f"#pragma {token.text}")
            file, previous = "", None
            continue
        if previous is not None and (token.space or _would_merge(previous, token)):
            out.append(" ")
        out.append(token.text)
        previous = token
    if out:
        out.append("\n")
    return "".join(out)


def _would_merge(left: Token, right: Token) -> bool:
    return lex_one(left.text + right.text, left.loc) is not None or (left.text[-1:] + right.text[:1]) in ("//", "/*")
