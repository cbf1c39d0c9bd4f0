"""Errors and warnings in a bpftrace script, rendered exactly as bpftrace renders them.

bpftrace prints a diagnostic as a header, the offending source line and a ``~`` marker under the range::

    stdin:1:12-14: ERROR: syntax error, unexpected ;
    BEGIN { @x = ; }
               ~~

The end column in the header is one past the range; tabs count as four columns; a range spanning lines
prints only ``stdin:1-3: ERROR: ...``. A run of the compiler can report several diagnostics (the lexer
keeps going after a bad character), so ``TraceError`` carries a list and ``render()`` prints them all.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tinybpf.errors import CompileError
from tinybpf.trace.syntax.ast import Pos


@dataclass(frozen=True)
class Diagnostic:
    """One message about one source range; ``severity`` is bpftrace's ``ERROR`` or ``WARNING``."""

    message: str
    pos: Pos
    severity: str = "ERROR"

    def render(self, source: str, filename: str = "stdin") -> str:
        """The multi-line form bpftrace prints, without a trailing newline."""
        pos = self.pos
        prefix = f"{filename}:" if filename else ""
        if pos.end_line > pos.lead_line:
            return f"{prefix}{pos.lead_line}-{pos.end_line}: {self.severity}: {self.message}"
        header = f"{prefix}{pos.end_line}:{pos.lead_column}-{pos.end_column}: {self.severity}: {self.message}"
        text = source_line(source, pos.end_line)
        if not text:
            return header
        marker = "".join(
            ("~" if i >= pos.lead_column - 1 else " ") * (4 if char == "\t" else 1)
            for i, char in enumerate(text[: pos.end_column - 1])
        )
        return f"{header}\n{text.replace(chr(9), '    ')}\n{marker}"


def source_line(source: str, line: int) -> str:
    """Line ``line`` (1-based) of ``source`` without its newline; empty past the end."""
    start = 0
    for _ in range(line - 1):
        start = source.find("\n", start) + 1
        if start == 0:
            return ""
    end = source.find("\n", start)
    return source[start:] if end < 0 else source[start:end]


class TraceError(CompileError):
    """A bpftrace script failed to compile: one or more diagnostics, the first being the main one.

    ``str()`` is the one-line form ``stdin:1:12: ERROR: message`` (column of the offending token itself);
    ``render()`` is what bpftrace prints, every diagnostic in its multi-line form.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], source: str, filename: str = "stdin") -> None:
        first = diagnostics[0]
        pos = first.pos
        end_column = pos.end_column - 1 if pos.end_line == pos.line else pos.column
        super().__init__(
            first.message,
            file=filename,
            line=pos.line,
            column=pos.column,
            end_column=max(end_column, pos.column),
            source_line=source_line(source, pos.line),
        )
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        self.source = source

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.diagnostics[0].severity}: {self.message}"

    def render(self) -> str:
        """Every diagnostic as bpftrace prints it, one after the other, newline-terminated."""
        return "".join(d.render(self.source, self.file) + "\n" for d in self.diagnostics)
