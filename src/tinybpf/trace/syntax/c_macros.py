"""The integer ``#define``s of a script's C lines, which scripts use as constants (``TASK_RUNNING``), and the
syscall numbers (``__NR_openat``) that ``#include <syscall.h>`` brings in.

bpftrace runs clang's preprocessor over the definitions; without one, the syscall headers are answered from
this machine's ``asm/unistd_64.h``, the one file the x86_64 headers end up including for them.

Only what bpftrace scripts rely on is evaluated: ``#define NAME INTEGER`` (also parenthesised or negative),
``#undef``, and the conditionals ``#ifdef``/``#ifndef``/``#if``/``#elif``/``#else``/``#endif``, in which
``BPFTRACE_HAVE_BTF`` is defined (tinybpf always reads kernel types from BTF), so the branch a tool writes
for BTF kernels is the one taken. ``#if`` understands an integer, a defined name and ``defined(NAME)``;
anything else counts as false. Headers are not read: an ``#include`` in a taken branch brings in the
kernel constants ``btf.defines`` lists for that header (``AF_INET`` from ``<linux/socket.h>``).
"""
from __future__ import annotations

import os
import re
from typing import Optional

from tinybpf.btf.defines import header_defines
from tinybpf.trace.syntax.lexer import parse_int

_DIRECTIVE = re.compile(r"\s*#\s*(\w+)\s*(.*?)\s*$")
_DEFINED = re.compile(r"!?\s*defined\s*\(?\s*(\w+)\s*\)?")
PREDEFINED = {"BPFTRACE_HAVE_BTF": 1}
_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]", re.M)
_SYSCALL_HEADERS = ("syscall.h", "sys/syscall.h", "unistd.h", "asm/unistd.h", "linux/unistd.h")


def macro_constants(c_source: str) -> dict[str, int]:
    """NAME -> value for the integer macros ``c_source`` defines or includes."""
    constants: dict[str, int] = {}
    if any(header in _SYSCALL_HEADERS for header in _INCLUDE.findall(c_source)):
        constants.update(defined_constants(_read(_syscall_header())))
    constants.update(defined_constants(c_source))
    return constants


def defined_constants(c_source: str) -> dict[str, int]:
    """Every macro defined (and not undefined) in the taken branches whose body is an integer."""
    return _preprocess(c_source)[0]


def active_source(c_source: str) -> str:
    """``c_source`` without the lines of branches not taken (blank lines keep the line numbers), so a
    struct a tool defines only ``#ifndef BPFTRACE_HAVE_BTF`` is not defined."""
    return "\n".join(_preprocess(c_source)[1])


def _preprocess(c_source: str) -> tuple[dict[str, int], list[str]]:
    macros: dict[str, Optional[int]] = dict(PREDEFINED)
    taking: list[bool] = []  # per open conditional: is its current branch taken
    decided: list[bool] = []  # per open conditional: has one of its branches been taken
    lines: list[str] = []
    for line in c_source.splitlines():
        match = _DIRECTIVE.match(line)
        if match is None:
            lines.append(line if all(taking) else "")
            continue
        lines.append("")
        directive, rest = match.groups()
        outer = all(taking)
        if directive in ("ifdef", "ifndef", "if"):
            value = _condition(directive, rest, macros)
            taking.append(value)
            decided.append(value)
        elif directive == "elif" and taking:
            taking[-1] = not decided[-1] and _condition("if", rest, macros)
            decided[-1] = decided[-1] or taking[-1]
        elif directive == "else" and taking:
            taking[-1] = not decided[-1]
            decided[-1] = True
        elif directive == "endif" and taking:
            taking.pop()
            decided.pop()
        elif not outer:
            continue
        elif directive == "define":
            name, _, body = rest.partition(" ")
            if name.isidentifier():
                macros[name] = _integer(body)
        elif directive == "undef":
            macros.pop(rest, None)
        elif directive == "include":
            macros.update(header_defines(rest.strip("<>\" ")))
    return {name: value for name, value in macros.items() if value is not None and name not in PREDEFINED}, lines


def _condition(directive: str, rest: str, macros: dict[str, Optional[int]]) -> bool:
    if directive == "ifdef":
        return rest in macros
    if directive == "ifndef":
        return rest not in macros
    found = _DEFINED.fullmatch(rest)
    if found is not None:
        return (found.group(1) in macros) != rest.startswith("!")
    value = macros.get(rest) if rest.isidentifier() else _integer(rest)
    return bool(value)


def _integer(body: str) -> Optional[int]:
    text = body.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    negative = text.startswith("-")
    try:
        value = parse_int(text[1:].strip() if negative else text)
    except (ValueError, IndexError):
        return None
    return -value if negative else value


def _syscall_header() -> str:
    machine = os.uname().machine
    for folder in (f"/usr/include/{machine}-linux-gnu/asm", "/usr/include/asm"):
        path = os.path.join(folder, "unistd_64.h")
        if os.path.exists(path):
            return path
    return ""


def _read(path: str) -> str:
    if not path:
        return ""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
