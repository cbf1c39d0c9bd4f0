"""``import "path";``: what other files add to a script before its probes are parsed.

A ``.bt`` script adds its macros, map declarations and probes (and may import in turn); a ``.h`` header adds
its C definitions; a directory imports every such file in it (not recursively). ``stdlib/NAME`` names a
module of bpftrace's built-in C library: tinybpf implements those functions natively, so such a module adds
the few functions scripts call by name (``__always_true`` of ``stdlib/test``) as macros. BPF C sources
(``.bpf.c``) need a C compiler linked into the program, which the trace compiler does not have yet.

Paths are relative to the importing script's folder (the working directory for ``-e``); like bpftrace,
files in a world-writable folder are refused, and each path is imported once.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from tinybpf.errors import TinyBPFError

STDLIB_PREFIX = "stdlib/"
# the C library modules bpftrace ships and the functions of each that scripts call directly
STDLIB_MODULES: dict[str, str] = {
    "base": "", "internal": "", "kfunc": "", "map": "", "meta": "", "process": "", "stack": "", "strings": "",
    "system": "", "task": "", "usdt": "",
    "test": "macro __always_true() { 1 }\n",
}
_SUFFIXES = (".bt", ".h")


@dataclass(frozen=True)
class ImportedFile:
    """One file an ``import`` brings in: its text, the name diagnostics give it, and what it is."""

    text: str
    filename: str
    kind: str  # "script" (.bt and stdlib modules) or "header" (.h)


def resolve(name: str, importer: str, seen: set[str]) -> list[ImportedFile]:
    """The files ``import "name"`` in the script ``importer`` brings in, skipping those in ``seen`` (which
    grows). Raises ``TinyBPFError`` for a file that cannot be imported."""
    if name.startswith(STDLIB_PREFIX):
        module = name[len(STDLIB_PREFIX):].strip("/")
        if module not in STDLIB_MODULES:
            raise TinyBPFError(f"import \"{name}\": bpftrace's standard library has no module '{module}'",
                               f"its modules are {', '.join(sorted(STDLIB_MODULES))}")
        if name in seen:
            return []
        seen.add(name)
        return [ImportedFile(STDLIB_MODULES[module], name, "script")]
    folder = os.path.dirname(os.path.abspath(importer)) if importer not in ("stdin", "") else os.getcwd()
    path = os.path.normpath(os.path.join(folder, name))
    if os.path.isdir(path):
        _check_folder(path, name)
        entries = sorted(os.path.join(path, entry) for entry in os.listdir(path))
        return [f for entry in entries if os.path.isfile(entry) and entry.endswith(_SUFFIXES)
                for f in _one(entry, name, seen)]
    return _one(path, name, seen)


def _one(path: str, name: str, seen: set[str]) -> list[ImportedFile]:
    if path in seen:
        return []
    if path.endswith(".bpf.c"):
        raise TinyBPFError(f"import \"{name}\": BPF C sources cannot be linked into trace programs yet",
                           "import .bt scripts and .h headers")
    if not path.endswith(_SUFFIXES):
        raise TinyBPFError(f"import \"{name}\": unsupported file type", "import .bt, .h or a folder of them")
    _check_folder(os.path.dirname(path), name)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as exc:
        raise TinyBPFError(f"import \"{name}\": cannot read {path}: {exc.strerror}") from None
    seen.add(path)
    return [ImportedFile(text, path, "script" if path.endswith(".bt") else "header")]


def _check_folder(folder: str, name: str) -> None:
    """Refuse a folder anyone may write to: another user could put code in the traced program."""
    try:
        mode = os.stat(folder).st_mode
    except OSError as exc:
        raise TinyBPFError(f"import \"{name}\": cannot read {folder}: {exc.strerror}") from None
    if mode & stat.S_IWOTH:
        raise TinyBPFError(f"import \"{name}\": {folder} is world-writable", "move the file to a private folder")
