"""User-space symbols: a binary's symbol -> file offset (for uprobes), a process's address -> symbol.

The kernel places a uprobe by file offset, so ``main`` becomes the offset of the bytes backing its
virtual address (through the PT_LOAD segment that holds it, which also covers PIE binaries and
shared libraries). The other way round, an address in a process is mapped through /proc/PID/maps to a
file offset, then to the file's virtual address, then to the symbol covering it.
"""
from __future__ import annotations

import bisect
import functools
import os
import shutil
from typing import Optional

from ..elf import ElfFile, SegmentType, SymbolIndex
from ..errors import FormatError, NotSupported, TinyBPFError
from ..kernel import procfs
from .frame import Frame


def binary_symbols(path: str) -> SymbolIndex:
    """The symbol index of the ELF file at ``path`` (which stays mapped while the index lives); a
    ``ARCHIVE.zip!/MEMBER`` path names an ELF stored uncompressed inside a zip archive."""
    archive, member = split_archive(path)
    if not member:
        return SymbolIndex(ElfFile.from_path(path))
    import mmap

    with open(archive, "rb") as file:
        data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return SymbolIndex(ElfFile(memoryview(data)[archive_member_offset(path):], name=path))


def split_archive(path: str) -> tuple[str, str]:
    """``("app.zip", "bin/tool")`` for ``app.zip!/bin/tool``; ``(path, "")`` for a plain file."""
    archive, sep, member = path.partition("!/")
    return (archive, member) if sep and archive.endswith((".zip", ".apk", ".jar")) else (path, "")


def archive_member_offset(path: str) -> int:
    """Where the bytes of ``ARCHIVE!/MEMBER`` start in the archive: the kernel places a uprobe by offset in
    the archive file itself, so the member must be stored, not compressed (as APKs store native libraries)."""
    import zipfile

    archive, member = split_archive(path)
    if not member:
        return 0
    try:
        with zipfile.ZipFile(archive) as bundle:
            info = bundle.getinfo(member)
            with open(archive, "rb") as file:
                file.seek(info.header_offset)
                header = file.read(30)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise TinyBPFError(f"cannot read {member!r} in {archive}: {exc}") from None
    if info.compress_type != zipfile.ZIP_STORED or len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise TinyBPFError(f"{path}: only uncompressed zip members can be probed")
    name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length


@functools.lru_cache(maxsize=1)
def _library_cache() -> dict[str, str]:
    return procfs.ldconfig_cache()


def find_binary(name: str, pid: int = -1) -> str:
    """The path of a binary or library named as a user would: ``/bin/bash``, ``bash``, ``c``, ``libc.so.6``.

    A name with a slash is taken as is (an absolute one through ``pid``'s root, for its mount namespace); otherwise the libraries mapped by ``pid`` are searched first,
    then the ldconfig cache and the usual library directories, then ``$PATH``.
    """
    if split_archive(name)[1]:
        archive_member_offset(name)  # the member exists and can be probed
        return os.path.abspath(split_archive(name)[0]) + "!/" + split_archive(name)[1]
    if "/" in name:
        if pid > 0 and name.startswith("/") and os.path.exists(procfs.process_root(pid) + name):
            return procfs.process_root(pid) + name  # the file as the process sees it, in its mount namespace
        if not os.path.exists(name):
            raise TinyBPFError(f"no such file {name!r}")
        return os.path.abspath(name)
    candidates = [name] if name.startswith("lib") or ".so" in name else [f"lib{name}.so", name]
    if pid > 0:
        for mapping in procfs.process_maps(pid):
            base = os.path.basename(mapping.path)
            if mapping.is_file and any(base == c or base.startswith(c + ".") or base.startswith(c + "-")
                                       for c in candidates):
                return procfs.process_root(pid) + mapping.path
    cache = _library_cache()
    for soname, path in sorted(cache.items()):
        if any(soname == c or soname.startswith(c + ".") for c in candidates):
            return path
    for directory in ("/lib", "/usr/lib", "/lib64", "/usr/lib64", f"/usr/lib/{os.uname().machine}-linux-gnu"):
        for candidate in candidates:
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    found = shutil.which(name)
    if found:
        return os.path.realpath(found)
    raise TinyBPFError(f"cannot find binary or library {name!r}",
                       "give a path, or a library name ldconfig -p knows")


def uprobe_offset(path: str, symbol: str = "", offset: int = 0) -> int:
    """The file offset a uprobe on ``symbol+offset`` of ``path`` attaches at (``offset`` alone if no symbol)."""
    if not symbol:
        return offset
    try:
        index = binary_symbols(path)
        base = index.file_offset(symbol)
    except FormatError as exc:
        raise TinyBPFError(f"{path} is not a readable ELF file: {exc}") from None
    if base is None:
        raise TinyBPFError(f"no symbol {symbol!r} in {path}", "is the binary stripped? give an offset instead")
    if symbol in index.thumb:
        raise NotSupported(f"a uprobe on the Thumb function {symbol!r} of {path}",
                           "32-bit ARM kernels decode only ARM-state instructions at a uprobe")
    return archive_member_offset(path) + base + offset


def offset_to_vaddr(elf: ElfFile, file_offset: int) -> Optional[int]:
    """The virtual address the byte at ``file_offset`` is loaded at (inverse of ``ElfFile.vaddr_to_offset``)."""
    for segment in elf.segments:
        if segment.type == SegmentType.LOAD and segment.offset <= file_offset < segment.offset + segment.filesz:
            return segment.vaddr + (file_offset - segment.offset)
    return None


class ProcessSymbols:
    """Symbolise addresses of one process, from a snapshot of its executable mappings.

    The symbol tables of the files it touches stay loaded (and mapped) until ``close()``.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._mappings = [m for m in procfs.process_maps(pid) if m.executable]
        self._starts = [m.start for m in self._mappings]
        self._root = procfs.process_root(pid)
        self._indexes: dict[str, Optional[SymbolIndex]] = {}

    def resolve(self, address: int) -> Frame:
        position = bisect.bisect_right(self._starts, address) - 1
        if position < 0 or address >= self._mappings[position].end:
            return Frame(address)
        mapping = self._mappings[position]
        if not mapping.is_file:
            return Frame(address, module=mapping.path)
        found = self._lookup(mapping.path, address - mapping.start + mapping.offset)
        if found is None:
            return Frame(address, module=mapping.path)
        return Frame(address, found[0], found[1], mapping.path)

    def _lookup(self, path: str, file_offset: int) -> Optional[tuple[str, int]]:
        if path not in self._indexes:
            try:
                self._indexes[path] = binary_symbols(self._root + path)
            except (OSError, FormatError):
                self._indexes[path] = None
        index = self._indexes[path]
        if index is None:
            return None
        vaddr = offset_to_vaddr(index.elf, file_offset)
        return None if vaddr is None else index.resolve(vaddr)

    def resolve_all(self, addresses: list[int]) -> list[Frame]:
        return [self.resolve(address) for address in addresses]

    def close(self) -> None:
        self._indexes.clear()

    def __enter__(self) -> ProcessSymbols:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
