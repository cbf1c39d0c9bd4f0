"""Inputs shared by the ELF tests: the committed test objects and a few system binaries."""
from __future__ import annotations

import os
from pathlib import Path

OBJECTS_DIR = Path(__file__).resolve().parent.parent / "data" / "objects"
BPF_OBJECTS: list[Path] = sorted(OBJECTS_DIR.glob("*.bpf.o"))
USER32_OBJECTS: list[Path] = sorted(OBJECTS_DIR.glob("user32-*.o"))
SYSTEM_BINARIES: list[Path] = [
    Path(path)
    for path in ("/bin/ls", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6")
    if os.path.exists(path)
]
ALL_FILES: list[Path] = BPF_OBJECTS + USER32_OBJECTS + SYSTEM_BINARIES
