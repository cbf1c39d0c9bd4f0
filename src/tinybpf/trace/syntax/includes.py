"""``#include`` lines: a header must exist on the include path, as clang's preprocessor demands.

Headers are not read (the types come from kernel BTF and the script's own definitions), but a header that
exists nowhere is the same fatal error bpftrace reports from clang, located in the ``definitions.h`` bpftrace
builds from the script's C lines. ``--include FILE`` comes before them, as clang's ``-include``: a file of the
user's own (beside the script or on ``-I``) is read, so its ``#define``s and struct definitions count as the
script's; a system header stands as an ``#include "FILE"`` line. Kernel-internal headers (``linux/``, ``net/``, ``asm/``...) count as found:
tinybpf answers them from BTF, so they need no kernel headers package.
"""
from __future__ import annotations

import os
import platform
import re
from collections.abc import Sequence

from tinybpf.btf.defines import known_header
from tinybpf.errors import TinyBPFError
from tinybpf.trace.syntax import ast

_INCLUDE = re.compile(r"#\s*include\s*([<\"])([^>\"]*)[>\"]")
_KERNEL_PREFIXES = ("linux/", "net/", "asm/", "asm-generic/", "uapi/", "trace/", "vdso/")
_SYSTEM_DIRS = ("/usr/local/include", f"/usr/include/{platform.machine()}-linux-gnu", "/usr/include")


MAX_INCLUDED_BYTES = 1 << 20
"""A ``--include`` file larger than this is no header (refused rather than read)."""


class MissingHeader(TinyBPFError):
    """An ``#include`` names a header found nowhere on the include path."""


def included_definitions(names: Sequence[str], include_dirs: Sequence[str], pos: ast.Pos) -> list[ast.CDefinition]:
    """The C definitions ``--include NAME...`` put before the script's own."""
    definitions = []
    for name in names:
        local = next((path for path in (os.path.join(d, name) for d in (".", *include_dirs)) if os.path.isfile(path)),
                     None)
        text = f'#include "{name}"' if local is None else _read_header(local)
        definitions.append(ast.CDefinition(pos=pos, kind="preprocessor", text=text))
    return definitions


def _read_header(path: str) -> str:
    if os.path.getsize(path) > MAX_INCLUDED_BYTES:
        raise TinyBPFError(f"--include {path}: larger than {MAX_INCLUDED_BYTES} bytes, not a header")
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").rstrip("\n")


def check_includes(program: ast.Program, include_dirs: Sequence[str] = ()) -> None:
    """Raise ``MissingHeader`` (clang's message) for the first ``#include`` that names no existing file."""
    for line, definition in enumerate(program.c_definitions, start=2):
        match = _INCLUDE.match(definition.text.strip())
        if match is None or match.group(2).startswith(_KERNEL_PREFIXES) or known_header(match.group(2)):
            continue
        header = match.group(2)
        local = (".",) if match.group(1) == '"' else ()  # a quoted header is looked for beside the script first
        if not any(os.path.isfile(os.path.join(directory, header))
                   for directory in (*local, *include_dirs, *_SYSTEM_DIRS)):
            column = definition.text.index(match.group(1)) + 1
            raise MissingHeader(f"definitions.h:{line}:{column}: fatal error: '{header}' file not found")
