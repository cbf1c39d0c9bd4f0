"""Integer macros a script can name: its own ``#define NAME 42`` lines and the syscall numbers
(``__NR_openat``) that ``#include <syscall.h>`` brings in.

bpftrace runs clang's preprocessor over the definitions; without one, the script's simple defines are read
here and the syscall headers are answered from this machine's ``asm/unistd_64.h``, the one file the
x86_64 headers end up including for them.
"""
from __future__ import annotations

import os
import re

_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+\(?[ \t]*(-?(?:0[xX][0-9a-fA-F]+|\d+))[uUlL]*"
                     r"[ \t]*\)?[ \t]*$", re.M)
_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]", re.M)
_SYSCALL_HEADERS = ("syscall.h", "sys/syscall.h", "unistd.h", "asm/unistd.h", "linux/unistd.h")


def macro_constants(c_source: str) -> dict[str, int]:
    """NAME -> value for the integer macros ``c_source`` defines or includes."""
    constants: dict[str, int] = {}
    if any(header in _SYSCALL_HEADERS for header in _INCLUDE.findall(c_source)):
        constants.update(_defines(_read(_syscall_header())))
    constants.update(_defines(c_source))
    return constants


def _defines(text: str) -> dict[str, int]:
    return {name: int(value, 8) if re.match(r"-?0\d", value) else int(value, 0)
            for name, value in _DEFINE.findall(text)}


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
