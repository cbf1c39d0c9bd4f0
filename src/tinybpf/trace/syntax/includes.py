"""``#include`` lines: a header must exist on the include path, as clang's preprocessor demands.

Headers are not read (the types come from kernel BTF and the script's own definitions), but a header that
exists nowhere is the same fatal error bpftrace reports from clang, located in the ``definitions.h`` bpftrace
builds from the script's C lines. Kernel-internal headers (``linux/``, ``net/``, ``asm/``...) count as found:
tinybpf answers them from BTF, so they need no kernel headers package.
"""
from __future__ import annotations

import os
import platform
import re
from collections.abc import Sequence

from tinybpf.errors import TinyBPFError
from tinybpf.trace.syntax import ast

_INCLUDE = re.compile(r"#\s*include\s*([<\"])([^>\"]*)[>\"]")
_KERNEL_PREFIXES = ("linux/", "net/", "asm/", "asm-generic/", "uapi/", "trace/", "vdso/")
_SYSTEM_DIRS = ("/usr/local/include", f"/usr/include/{platform.machine()}-linux-gnu", "/usr/include")


class MissingHeader(TinyBPFError):
    """An ``#include`` names a header found nowhere on the include path."""


def check_includes(program: ast.Program, include_dirs: Sequence[str] = ()) -> None:
    """Raise ``MissingHeader`` (clang's message) for the first ``#include`` that names no existing file."""
    for line, definition in enumerate(program.c_definitions, start=2):
        match = _INCLUDE.match(definition.text.strip())
        if match is None or match.group(2).startswith(_KERNEL_PREFIXES):
            continue
        header = match.group(2)
        if not any(os.path.isfile(os.path.join(directory, header)) for directory in (*include_dirs, *_SYSTEM_DIRS)):
            column = definition.text.index(match.group(1)) + 1
            raise MissingHeader(f"definitions.h:{line}:{column}: fatal error: '{header}' file not found")
