"""The errors a tinybpf user can see.

Every class renders as one line (``str(exc)``): what failed, where, and a hint. The CLI prints that
line and exits non-zero; libraries never print. Details (full verifier log, source excerpt) stay on
the exception for whoever wants them.
"""
from __future__ import annotations

import errno as _errno
import os
from typing import Optional


class TinyBPFError(Exception):
    """Base of every tinybpf error; ``hint`` says what the user can do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


# Kernel-internal errnos that bpf() leaks to user space; libc has no names for them.
_KERNEL_ERRNOS = {512: ("ERESTARTSYS", "Interrupted"), 524: ("ENOTSUPP", "Operation not supported")}


def errno_name(code: int) -> str:
    """``EPERM`` for 1; ``E<code>`` when neither libc nor the kernel list has a name for it."""
    if code in _KERNEL_ERRNOS:
        return _KERNEL_ERRNOS[code][0]
    return _errno.errorcode.get(code, f"E{code}")


def errno_text(code: int) -> str:
    return _KERNEL_ERRNOS[code][1] if code in _KERNEL_ERRNOS else os.strerror(code)


class BPFError(TinyBPFError):
    """A kernel call failed: ``op`` is the command (``BPF_MAP_CREATE``), ``errno`` the kernel's answer."""

    def __init__(self, op: str, code: int, hint: str = "", detail: str = "") -> None:
        name = errno_name(code)
        what = f"{op} failed: {name} ({errno_text(code)})"
        if detail:
            what = f"{what}: {detail}"
        super().__init__(what, hint)
        self.op = op
        self.errno = code
        self.errno_name = name


class VerifierError(BPFError):
    """The verifier rejected a program.

    ``str()`` summarises (the verifier's last meaningful line and the failing instruction);
    ``log`` holds the whole verifier output.
    """

    def __init__(
        self,
        program: str,
        code: int,
        log: str,
        insn_index: Optional[int] = None,
        summary: str = "",
        source_line: str = "",
    ) -> None:
        where = f"program {program!r}" if program else "program"
        detail = f"verifier rejected {where}"
        if insn_index is not None:
            detail += f" at instruction {insn_index}"
        if summary:
            detail += f": {summary}"
        if source_line:
            detail += f" [{source_line}]"
        super().__init__("BPF_PROG_LOAD", code, "run with -v for the full verifier log", detail)
        self.program = program
        self.log = log
        self.insn_index = insn_index
        self.summary = summary
        self.source_line = source_line


class NotSupported(TinyBPFError):
    """The running kernel lacks a feature (a program type, map type, PMU, helper...)."""

    def __init__(self, feature: str, reason: str = "", min_version: str = "") -> None:
        message = f"{feature} is not supported on this kernel"
        if reason:
            message += f": {reason}"
        hint = f"requires Linux >= {min_version}" if min_version else ""
        super().__init__(message, hint)
        self.feature = feature
        self.reason = reason
        self.min_version = min_version


class FormatError(TinyBPFError):
    """Bytes that should hold an ELF object, BTF blob, instruction stream or record do not."""


class CompileError(TinyBPFError):
    """An error in user source (assembly text, a trace script), with its position.

    Positions are 1-based; ``end_column`` is inclusive and may equal ``column``.
    """

    def __init__(
        self,
        message: str,
        file: str = "stdin",
        line: int = 1,
        column: int = 1,
        end_column: Optional[int] = None,
        source_line: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.file = file
        self.line = line
        self.column = column
        self.end_column = end_column if end_column is not None else column
        self.source_line = source_line

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text
