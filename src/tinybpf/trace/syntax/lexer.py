"""Turn bpftrace source into tokens, with the same token boundaries as bpftrace's flex lexer.

Some of bpftrace's lexing decides how scripts parse, so it is reproduced on purpose:

* ``:`` followed by path characters is one ``PATH`` token (``kprobe:vfs_read`` is ``kprobe`` + ``:vfs_read``),
  which is also why ``a ? b:c`` is a syntax error in bpftrace.
* ``/`` is ``ENDPRED`` (the end of a predicate) when the next non-space character is ``/`` or ``{``.
* ``struct``/``union``/``enum`` swallow the type name into one ``IDENT`` (``struct task_struct``) up to
  ``*``, ``)`` or ``,``, or a whole ``{ ... }`` body into one ``STRUCT_DEFN``.
* builtins (``pid``), functions (``printf``) and stack modes (``perf``) are distinct token kinds.
* ``#`` starts a preprocessor line (``CPREPROC``) that is kept, ``#!`` at a line start is skipped.

Errors (bad character, bad escape, bad number, unterminated string or comment) do not stop the lexer, as in
bpftrace; they are collected in ``Lexer.errors`` and the parser reports them before its own.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Union

from tinybpf.trace.syntax.ast import Pos
from tinybpf.trace.syntax.diagnostics import Diagnostic

BUILTINS = frozenset([
    *(f"arg{i}" for i in range(10)), *(f"sarg{i}" for i in range(10)),
    "args", "cgroup", "comm", "cpid", "numaid", "cpu", "ctx", "curtask", "elapsed", "func", "gid", "jiffies",
    "pid", "probe", "rand", "retval", "tid", "uid", "username",
])
CALLS = frozenset([
    "avg", "buf", "cat", "cgroupid", "clear", "count", "delete", "exit", "hist", "join", "kaddr", "kptr",
    "ksym", "len", "lhist", "macaddr", "max", "min", "ntop", "override", "print", "printf", "cgroup_path",
    "reg", "signal", "sizeof", "offsetof", "stats", "str", "strerror", "strftime", "strncmp", "strcontains",
    "sum", "system", "time", "uaddr", "uptr", "usym", "zero", "path", "unwatch", "bswap", "skboutput", "pton",
    "debugf", "has_key", "percpu_kaddr", "errorf", "warnf", "getopt", "syscall_name", "tseries",
])
_NUMBERED_ARG = re.compile(r"s?arg[0-9]+")  # arg10 and up exist for usdt probes
CALL_BUILTINS = frozenset(["kstack", "ustack", "nsecs"])
STACK_MODES = frozenset(["bpftrace", "perf"])
KEYWORDS = frozenset(["if", "else", "unroll", "while", "for", "return", "continue", "break"])

# What bison calls each token kind in "unexpected X, expecting Y"; punctuation and keywords show as text.
DISPLAY_NAMES: dict[str, str] = {
    "END": "end of file",
    "INT": "integer",
    "STRING": "string",
    "IDENT": "identifier",
    "BUILTIN": "builtin",
    "CALL": "call",
    "CALL_BUILTIN": "call_builtin",
    "STACK_MODE": "stack_mode",
    "MAP": "map",
    "VAR": "variable",
    "PARAM": "positional parameter",
    "PARAMCOUNT": "$#",
    "PATH": "path",
    "CPREPROC": "preprocessor directive",
    "STRUCT_DEFN": "struct definition",
    "ENDPRED": "end predicate",
    ",": '","',
}

_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_INT = r"[0-9](?:[0-9_]*[0-9])?(?:[num]s|[smhd]|[uU]?[lL]?[lL]|[uU])?"
# Spaces then one common token, in one regex call; ``other`` (empty) leaves ``: " / $ @ #`` and bad
# characters to the slower paths. Operators are listed longest first, as flex matches the longest.
_COMMON = re.compile(
    r"(?P<space>[ \t\r]*)(?:(?P<newline>\n)|(?P<word>[_a-zA-Z][_a-zA-Z0-9]*)"
    rf"|(?P<number>0[xX][0-9a-fA-F]+|{_INT}(?:[eE]{_INT})?)"
    r"|(?P<op><<=|>>=|\+\+|--|->|==|!=|<=|>=|<<|>>|&&|\|\||[-+*%&|^]=|[-+*%&|^!~.,;(){}\[\]?=<>])"
    r"|(?P<other>))"
)
_PATH = re.compile(r":(?:\\.|[-_./a-zA-Z0-9#*])+")
_ENDPRED = re.compile(r"/[ \t\r\n]*[/{]")
_STRING_RUN = re.compile(r'[^\\\n"]+')
_ESCAPE = re.compile(r"[0-7]{1,3}|[xX][0-9a-fA-F]{1,2}")
_SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "\\": b"\\"}
_STOULL = re.compile(r"[ \t\n]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_INT_SUFFIX = re.compile(r"u|u?l?l", re.IGNORECASE)
_U64 = (1 << 64) - 1
# Duration suffixes (``100ms``): the literal is that many nanoseconds.
_DURATION = re.compile(r"([0-9_]+)(ns|us|ms|s|m|h|d)")
_DURATION_NS = {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
                "d": 86400 * 10**9}

TokenValue = Union[None, int, bytes]


class Token(NamedTuple):
    """``kind`` is a name from ``DISPLAY_NAMES``, a keyword or the operator text; ``text`` is as written.

    ``value`` is the integer of an ``INT`` and the bytes of a ``STRING``.
    """

    kind: str
    text: str
    value: TokenValue
    pos: Pos


def parse_int(text: str) -> int:
    """An integer literal's value the way bpftrace reads it (``1_000``, ``0x10``, ``010``, ``1e6``, ``5ul``).

    Raises ``ValueError`` with bpftrace's message when the text is not a number it accepts.
    """
    duration = _DURATION.fullmatch(text)
    if duration:
        value = parse_int(duration[1]) * _DURATION_NS[duration[2]]
        if value > _U64:
            raise ValueError("Found trailing non-numeric characters")
        return value
    digits = text.replace("_", "")
    if digits[:2] in ("0x", "0X"):
        return _stoull_with_suffix(digits)
    exp_at = max(digits.find("e"), digits.find("E"))
    if exp_at < 0:
        return _stoull_with_suffix(digits)
    coeff, exp = digits[:exp_at], digits[exp_at + 1 :]
    c = _scientific_part("Coefficient", coeff)
    e = _scientific_part("Exponent", exp)
    if c > 9:
        raise ValueError(f"Coefficient part of scientific literal must be in range (0,9), got: {coeff}")
    if e > 16:
        raise ValueError(f"Exponent will overflow integer range: {exp}")
    return c * 10**e


def _scientific_part(what: str, text: str) -> int:
    try:
        return _stoull_with_suffix(text)
    except ValueError as exc:
        raise ValueError(f"{what} part of scientific literal is not a valid number: {text}: {exc}") from None


def _stoull_with_suffix(text: str) -> int:
    """C's ``stoull(text, 0)``, then only an integer-size suffix (``u``, ``ll``...) may follow."""
    match = _STOULL.match(text)
    if match is None:
        raise ValueError("stoull")
    sign, digits = match.groups()
    if digits[:2] in ("0x", "0X"):
        value = int(digits, 16)
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits, 8)
    else:
        value = int(digits)
    if value > _U64:
        raise ValueError("stoull")
    trail = text[match.end() :]
    if trail and not _INT_SUFFIX.fullmatch(trail):
        raise ValueError("Found trailing non-numeric characters")
    return (-value) & _U64 if sign == "-" else value


class Lexer:
    """Scans a whole script at once; ``tokenize()`` returns the tokens, ending with one ``END``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[Diagnostic] = []
        self.tokens: list[Token] = []
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.lead = 1

    def tokenize(self) -> list[Token]:
        src = self.source
        n = len(src)
        match_common = _COMMON.match
        tokens = self.tokens
        while self.i < n:
            match = match_common(src, self.i)
            start, end = match.span(match.lastindex)  # type: ignore[union-attr, arg-type]
            if start > self.i:
                self.lead = start - self.line_start + 1
            self.i = start
            kind = match.lastgroup  # type: ignore[union-attr]
            if kind == "other":
                if start < n:
                    self.punctuation(src[start])
            elif kind == "newline":
                self.newline(end)
            elif kind == "op":
                line, line_start = self.line, self.line_start
                pos = Pos(line, start - line_start + 1, line, end - line_start + 1, line, self.lead)
                tokens.append(Token(src[start:end], src[start:end], None, pos))
                self.i = end
            elif kind == "word":
                self.word(start, end)
            else:
                self.number(start, end)
        col = self.col(n)
        self.tokens.append(Token("END", "", None, Pos(self.line, col, self.line, col, self.line, self.lead)))
        return self.tokens

    def col(self, index: int) -> int:
        return index - self.line_start + 1

    def newline(self, after: int) -> None:
        """Move past a newline ending just before ``after``; bpftrace restarts its location there."""
        self.line += 1
        self.line_start = after
        self.i = after
        self.lead = 1

    def pos(self, start: int, end: int) -> Pos:
        return Pos(self.line, self.col(start), self.line, self.col(end), self.line, self.lead)

    def emit(self, kind: str, start: int, end: int, value: TokenValue = None) -> None:
        self.tokens.append(Token(kind, self.source[start:end], value, self.pos(start, end)))
        self.i = end

    def error(self, message: str, start: int, end: int) -> None:
        self.errors.append(Diagnostic(message, self.pos(start, end)))

    def word(self, start: int, end: int) -> None:
        text = self.source[start:end]
        if text in ("struct", "union", "enum"):
            self.struct(start, end)
        elif text in KEYWORDS:
            self.emit(text, start, end)
        else:
            self.emit(_word_kind(text), start, end)

    def number(self, start: int, end: int) -> None:
        try:
            value = parse_int(self.source[start:end])
        except ValueError as exc:
            self.error(str(exc), start, end)
            self.i = end
            return
        self.emit("INT", start, end, value)

    def punctuation(self, char: str) -> None:
        """Tokens that depend on what follows them: paths, strings, comments, sigils; or a bad character."""
        src, start = self.source, self.i
        if char == ":":
            path = _PATH.match(src, start)
            self.emit("PATH" if path else ":", start, path.end() if path else start + 1)
        elif char == '"':
            self.string()
        elif char == "/":
            if not self.slash():
                op = "/=" if src.startswith("/=", start) else "/"
                self.emit(op, start, start + len(op))
        elif char in "$@#":
            self.sigil(char)
        else:
            self.error(f"invalid character '{char}'", start, start + 1)
            self.i = start + 1

    def slash(self) -> bool:
        """Comments and the end of a predicate; False when the ``/`` is an operator."""
        src, start = self.source, self.i
        if src.startswith("//", start):
            end = src.find("\n", start)
            self.i = len(src) if end < 0 else end
            return True
        if src.startswith("/*", start):
            self.block_comment()
            return True
        if _ENDPRED.match(src, start):
            self.emit("ENDPRED", start, start + 1)
            return True
        return False

    def block_comment(self) -> None:
        src, start = self.source, self.i
        end = src.find("*/", start + 2)
        stop = len(src) if end < 0 else end + 2
        newline = src.rfind("\n", start, stop)
        if newline >= 0:
            self.line += src.count("\n", start, stop)
            self.line_start = newline + 1
            self.lead = 1
        if end < 0:
            self.error("end of file during comment", max(start, self.line_start), stop)
        self.i = stop

    def sigil(self, char: str) -> None:
        src, start = self.source, self.i
        rest = start + 1
        if char == "@":
            ident = _IDENT.match(src, rest)
            self.emit("MAP", start, ident.end() if ident else rest)
        elif char == "$":
            if src.startswith("#", rest):
                self.emit("PARAMCOUNT", start, rest + 1)
            elif rest < len(src) and src[rest].isascii() and src[rest].isdigit():
                end = rest
                while end < len(src) and src[end].isascii() and src[end].isdigit():
                    end += 1
                self.emit("PARAM", start, end)
            elif _IDENT.match(src, rest):
                self.emit("VAR", start, _IDENT.match(src, rest).end())  # type: ignore[union-attr]
            else:
                self.error("invalid character '$'", start, rest)
                self.i = rest
        elif src.startswith("!", rest) and start == self.line_start:
            end = src.find("\n", start)
            self.i = len(src) if end < 0 else end
        elif rest < len(src) and src[rest] not in "!\n":
            end = src.find("\n", start)
            self.emit("CPREPROC", start, len(src) if end < 0 else end)
        else:
            self.error("invalid character '#'", start, rest)
            self.i = rest

    def string(self) -> None:
        src, start = self.source, self.i
        data = bytearray()
        i = start + 1
        while True:
            if i >= len(src):
                self.error("unterminated string", start, i)
                self.i = i
                return
            char = src[i]
            if char == '"':
                self.emit("STRING", start, i + 1, bytes(data))
                return
            if char == "\n":
                self.error("unterminated string", start, i + 1)
                self.newline(i + 1)
                return
            if char == "\\":
                i = self.escape(data, start, i)
                if i < 0:
                    self.i = -i
                    return
            else:
                run = _STRING_RUN.match(src, i)
                end = run.end()  # type: ignore[union-attr]
                data += src[i:end].encode("utf-8", "surrogateescape")
                i = end

    def escape(self, data: bytearray, start: int, i: int) -> int:
        """Append the escape at ``src[i]`` (a backslash) to ``data``; returns the index after it.

        A backslash ending the line ends the string (negative index after it), as in bpftrace.
        """
        src = self.source
        nxt = src[i + 1 : i + 2]
        if nxt in _SIMPLE_ESCAPES:
            data += _SIMPLE_ESCAPES[nxt]
            return i + 2
        match = _ESCAPE.match(src, i + 1)
        if match:
            text = match.group()
            value = int(text[1:], 16) if text[0] in "xX" else int(text, 8)
            if value > 0xFF:
                self.error(f"octal escape sequence out of range '\\{text}'", start, match.end())
            data.append(value & 0xFF)
            return match.end()
        if nxt in ("", "\n"):
            self.error("invalid character", start, i + 1)
            return -(i + 1)
        self.error(f"invalid escape character '\\{nxt}'", start, i + 2)
        return i + 2

    def struct(self, start: int, keyword_end: int) -> None:
        """``struct name`` up to ``*``/``)``/``,`` becomes an IDENT; a ``{ ... }`` body a STRUCT_DEFN."""
        src = self.source
        i = keyword_end
        while i < len(src) and src[i] not in "*),{;[=":
            i += 1
        if i < len(src) and src[i] == "{":
            self.struct_definition(start, i)
            return
        if i >= len(src):
            self.multiline_token(None, start, i, "")
            return
        name = src[start:keyword_end] + " " + src[keyword_end:i].strip()
        self.multiline_token("IDENT", start, i, name)

    def struct_definition(self, start: int, brace: int) -> None:
        src = self.source
        depth = 0
        i = brace
        while i < len(src):
            if src[i] == "{":
                depth += 1
            elif src[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        end = _after_attributes(src, min(i + 1, len(src)))
        if src.startswith(";", end):
            end += 1
        if i >= len(src):
            self.multiline_token(None, start, end, "")
            return
        self.multiline_token("STRUCT_DEFN", start, end, src[start:end])

    def multiline_token(self, kind: Union[str, None], start: int, end: int, text: str) -> None:
        """A token that may span lines: it ends on the line where bpftrace's location ends."""
        pos = self.pos(start, end)
        newlines = self.source.count("\n", start, end)
        if newlines:
            self.line += newlines
            self.line_start = self.source.rfind("\n", start, end) + 1
            self.lead = 1
            pos = Pos(pos.line, pos.column, self.line, self.col(end), pos.lead_line, pos.lead_column)
        if kind is not None:
            self.tokens.append(Token(kind, text, None, pos))
        self.i = end


_GAP = re.compile(r"(?:\s+|/\*.*?\*/|//[^\n]*)*", re.S)


def _after_attributes(src: str, end: int) -> int:
    """The end of ``__attribute__((...))`` clauses (comments allowed between) after a struct body."""
    while True:
        at = _GAP.match(src, end).end()  # type: ignore[union-attr]
        if not src.startswith("__attribute__", at):
            return end
        at = _GAP.match(src, at + len("__attribute__")).end()  # type: ignore[union-attr]
        if not src.startswith("(", at):
            return end
        depth = 0
        while at < len(src):
            depth += {"(": 1, ")": -1}.get(src[at], 0)
            at += 1
            if depth == 0:
                break
        end = at


def _word_kind(text: str) -> str:
    if text in BUILTINS or _NUMBERED_ARG.fullmatch(text):
        return "BUILTIN"
    if text in CALLS:
        return "CALL"
    if text in CALL_BUILTINS:
        return "CALL_BUILTIN"
    if text in STACK_MODES:
        return "STACK_MODE"
    return "IDENT"


def tokenize(source: str) -> tuple[list[Token], list[Diagnostic]]:
    """All tokens of ``source`` (ending with ``END``) and the lexical errors met on the way."""
    lexer = Lexer(source)
    return lexer.tokenize(), lexer.errors
