"""Separate debug files of an ELF binary (stripped distribution binaries keep their DWARF there)."""
from __future__ import annotations

import os
import zlib
from typing import Optional

from tinybpf.elf.reader import ElfFile

DEBUG_ROOT = "/usr/lib/debug"


def debug_file(elf: ElfFile, path: str) -> Optional[str]:
    """The separate debug file of ``elf`` (https://sourceware.org/gdb/onlinedocs/gdb/Separate-Debug-Files.html):
    ``/usr/lib/debug/.build-id/ab/cdef....debug`` by build-id, else the ``.gnu_debuglink`` name next to the
    binary, in its ``.debug`` directory or under ``/usr/lib/debug``, when its CRC matches."""
    build_id = elf.build_id()
    if build_id:
        hexid = build_id.hex()
        candidate = os.path.join(DEBUG_ROOT, ".build-id", hexid[:2], hexid[2:] + ".debug")
        if os.path.isfile(candidate):
            return candidate
    link = elf.section(".gnu_debuglink")
    if link is None:
        return None
    data = bytes(link.data())
    name = data.split(b"\0", 1)[0].decode(errors="replace")
    if not name or len(data) < 8:
        return None
    crc = int.from_bytes(data[-4:], "little" if elf.header.byte_order == "little" else "big")
    directory = os.path.dirname(path)
    for candidate in (os.path.join(directory, name), os.path.join(directory, ".debug", name),
                      DEBUG_ROOT + os.path.join(directory, name)):
        if os.path.isfile(candidate) and not _same_file(candidate, path) and _crc32(candidate) == crc:
            return candidate
    return None


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _crc32(path: str) -> int:
    crc = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return crc
