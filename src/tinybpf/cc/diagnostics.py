"""Errors, warnings and notes about C source, collected per run and rendered as clang renders them.

clang prints a diagnostic as ``file:LINE:COL: error: message``, the source line and a caret under the
column, then a ``note: expanded from macro 'NAME'`` (with its own line and caret) for every macro the
offending token came through. A run keeps going after an error so the user sees several at once; the
stage that finds errors raises ``CCError`` at its end, carrying all of them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Optional

from tinybpf.errors import CompileError

MAX_ERRORS = 20  # clang's -ferror-limit default; past it the run stops


class Loc(NamedTuple):
    """A position in a source file (1-based line and column); a tuple, as every token has one.
    ``macro`` marks the position of code that came out of a macro expansion."""

    file: str
    line: int
    column: int
    macro: bool = False


@dataclass(frozen=True)
class Expansion:
    """A macro invocation a token came through: the macro's name, where it was invoked, and the invocation
    that one came through in turn."""

    macro: str
    loc: Loc
    parent: Optional[Expansion] = None


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error", "warning", "note" or "fatal error"
    message: str
    loc: Optional[Loc]
    expansion: Optional[Expansion] = None
    notes: tuple[tuple[str, Loc], ...] = ()  # further "note:" lines, e.g. where a macro was defined


class SourceLines:
    """The text of every file a run read, so a diagnostic can quote its line."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}
        self._included_from: dict[str, Loc] = {}

    def add(self, name: str, text: str, included_from: Optional[Loc] = None) -> None:
        self._files[name] = text.split("\n")
        if included_from is not None:
            self._included_from.setdefault(name, included_from)

    def include_chain(self, file: str) -> list[Loc]:
        """The ``#include`` lines that brought ``file`` in, innermost first."""
        chain: list[Loc] = []
        loc = self._included_from.get(file)
        while loc is not None and len(chain) < 200:
            chain.append(loc)
            loc = self._included_from.get(loc.file)
        return chain

    def line(self, loc: Loc) -> str:
        lines = self._files.get(loc.file)
        if lines is None or not 0 < loc.line <= len(lines):
            return ""
        return lines[loc.line - 1].rstrip("\r")


class Diagnostics:
    """Collects the diagnostics of one run; ``check()`` raises when any error was reported."""

    def __init__(self, sources: SourceLines) -> None:
        self.sources = sources
        self.items: list[Diagnostic] = []
        self.errors = 0

    def error(
        self,
        message: str,
        loc: Optional[Loc],
        expansion: Optional[Expansion] = None,
        notes: tuple[tuple[str, Loc], ...] = (),
    ) -> None:
        self._add(Diagnostic("error", message, loc, expansion, notes))
        self.errors += 1
        if self.errors >= MAX_ERRORS:
            raise CCError(self.items, self.sources, "too many errors emitted, stopping now")

    def warning(self, message: str, loc: Optional[Loc], expansion: Optional[Expansion] = None) -> None:
        self._add(Diagnostic("warning", message, loc, expansion))

    def fatal(self, message: str, loc: Optional[Loc], expansion: Optional[Expansion] = None) -> CCError:
        """An error the run cannot continue after (a missing include): the caller raises what it returns."""
        self._add(Diagnostic("fatal error", message, loc, expansion))
        self.errors += 1
        return CCError(self.items, self.sources)

    def check(self) -> None:
        if self.errors:
            raise CCError(self.items, self.sources)

    def _add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def render_warnings(self) -> str:
        return render([d for d in self.items if d.severity == "warning"], self.sources)


def render(diagnostics: Sequence[Diagnostic], sources: SourceLines) -> str:
    """The multi-line text clang prints for these diagnostics, with macro-expansion notes."""
    out: list[str] = []
    for diagnostic in diagnostics:
        primary = primary_loc(diagnostic)
        if primary is not None:
            out.extend(f"In file included from {loc.file}:{loc.line}:"
                       for loc in reversed(sources.include_chain(primary.file)))
        out.extend(_render_one(diagnostic.severity, diagnostic.message, primary, sources))
        spelled, expansion = diagnostic.loc, diagnostic.expansion
        while expansion is not None:
            out.extend(_render_one("note", f"expanded from macro '{expansion.macro}'", spelled, sources))
            spelled, expansion = expansion.loc, expansion.parent
        for note, loc in diagnostic.notes:
            out.extend(_render_one("note", note, loc, sources))
    return "\n".join(out)


def primary_loc(diagnostic: Diagnostic) -> Optional[Loc]:
    """Where clang points first: for a token out of a macro, the outermost invocation in the file."""
    expansion = diagnostic.expansion
    if expansion is None:
        return diagnostic.loc
    while expansion.parent is not None:
        expansion = expansion.parent
    return expansion.loc


def _render_one(severity: str, message: str, loc: Optional[Loc], sources: SourceLines) -> list[str]:
    if loc is None:
        return [f"{severity}: {message}"]
    lines = [f"{loc.file}:{loc.line}:{loc.column}: {severity}: {message}"]
    text = sources.line(loc)
    if text:
        lines.append(text)
        lines.append("".join("\t" if c == "\t" else " " for c in text[: loc.column - 1]) + "^")
    return lines


class CCError(CompileError):
    """C source failed to compile. ``str()`` is the first error on one line; ``render()`` is everything
    clang would print (every diagnostic with its source line, caret and macro notes)."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: SourceLines, stopped: str = "") -> None:
        self.diagnostics = list(diagnostics)
        self.sources = sources
        self.stopped = stopped
        first = next((d for d in self.diagnostics if d.severity in ("error", "fatal error")), None)
        loc = primary_loc(first) if first else None
        errors = sum(d.severity in ("error", "fatal error") for d in self.diagnostics)
        message = first.message if first else "compilation failed"
        if errors > 1:
            message += f" (and {errors - 1} more error{'s' if errors > 2 else ''})"
        super().__init__(
            f"error: {message}",
            file=loc.file if loc else "<command line>",
            line=loc.line if loc else 1,
            column=loc.column if loc else 1,
            source_line=sources.line(loc) if loc else "",
        )

    def render(self) -> str:
        text = render(self.diagnostics, self.sources)
        errors = sum(d.severity in ("error", "fatal error") for d in self.diagnostics)
        if self.stopped:
            text += f"\nfatal error: {self.stopped}"
        return f"{text}\n{errors} error{'s' if errors != 1 else ''} generated."
