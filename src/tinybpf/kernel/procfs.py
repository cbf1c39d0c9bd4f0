"""The /proc files symbolisation and probes read: kallsyms, a process's maps, comm, the library cache."""
from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterable
from typing import Optional


@dataclasses.dataclass(frozen=True)
class Mapping:
    """One line of /proc/PID/maps: ``start-end perms offset dev inode path``."""

    start: int
    end: int
    perms: str
    offset: int
    inode: int
    path: str

    @property
    def executable(self) -> bool:
        return "x" in self.perms

    @property
    def is_file(self) -> bool:
        return self.inode != 0 and self.path.startswith("/")


def parse_maps(text: str) -> list[Mapping]:
    mappings: list[Mapping] = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        start, _, end = parts[0].partition("-")
        path = parts[5].strip() if len(parts) > 5 else ""
        mappings.append(Mapping(int(start, 16), int(end, 16), parts[1], int(parts[2], 16), int(parts[4]), path))
    return mappings


def process_maps(pid: int) -> list[Mapping]:
    """The memory mappings of ``pid`` (``0`` or ``"self"`` for this process), in address order."""
    with open(f"/proc/{pid or 'self'}/maps") as f:
        return parse_maps(f.read())


def process_root(pid: int) -> str:
    """Where ``pid``'s file paths resolve (its mount namespace root), for paths from its maps."""
    return f"/proc/{pid or 'self'}/root"


def process_comm(pid: int) -> str:
    """The command name of ``pid`` (``comm``), or ``""`` when it has exited."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def process_threads(pid: int) -> list[int]:
    """The thread ids of process ``pid`` (``/proc/PID/task``), in ascending order."""
    return sorted(int(name) for name in os.listdir(f"/proc/{pid}/task") if name.isdigit())


def set_own_comm(name: str) -> None:
    """Rename this process's main thread (``comm``, what ``ps`` and the ``comm`` builtin show)."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name[:15])
    except OSError:
        pass


def set_own_argv0(name: str) -> None:
    """Make ``/proc/self/cmdline`` start with ``name``, so ``pidof NAME`` finds this process (it matches
    argv[0]); the other arguments follow it in the same bytes of the process's argument area, as many as fit."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: stat fields 48 and 49
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            area = mem.read(end - start)
            renamed = name.encode() + b"\0"
            for argument in area.rstrip(b"\0").split(b"\0")[1:]:
                if len(renamed) + len(argument) + 1 > len(area):
                    break
                renamed += argument + b"\0"
            if len(renamed) <= len(area):
                mem.seek(start)
                mem.write(renamed.ljust(len(area), b"\0"))
    except (OSError, ValueError, IndexError):
        pass


def kallsyms_addresses(names: Iterable[str]) -> dict[str, int]:
    """The /proc/kallsyms address of each of ``names`` that the kernel lists (0 when kptr_restrict hides it).

    One read of the file and a search per name: parsing all ~100k lines would cost far more than
    the few symbols an object needs.
    """
    wanted = [name for name in names if name]
    if not wanted:
        return {}
    with open("/proc/kallsyms", "rb") as f:
        text = f.read()
    found: dict[str, int] = {}
    for name in wanted:
        encoded = name.encode()
        for ending in (b"\n", b"\t"):
            at = text.find(b" " + encoded + ending)
            if at >= 0:
                start = text.rfind(b"\n", 0, at) + 1
                found[name] = int(text[start:text.index(b" ", start)], 16)
                break
    return found


class KallsymsText:
    """/proc/kallsyms read once and searched as bytes, for the few exact lookups a listing needs.

    ``prog dump`` names a handful of call targets; parsing all ~120k lines would cost more than the dump.
    """

    def __init__(self) -> None:
        with open("/proc/kallsyms", "rb") as f:
            self._text = b"\n" + f.read()

    def address(self, name: str) -> int:
        """The address of ``name`` (0 when it is not listed or kptr_restrict hides it)."""
        for ending in (b"\n", b"\t"):
            at = self._text.find(b" " + name.encode() + ending)
            if at >= 0:
                start = self._text.rfind(b"\n", 0, at) + 1
                return int(self._text[start:self._text.index(b" ", start)], 16)
        return 0

    def name_at(self, address: int) -> str:
        """The first symbol listed at exactly ``address``, "" when none is."""
        if not address:
            return ""
        at = self._text.find(b"\n%016x " % address)
        if at < 0:
            return ""
        start = at + 20  # newline, 16 hex digits, space, type letter, space
        end = start
        while end < len(self._text) and self._text[end] not in b"\t\n":
            end += 1
        return self._text[start:end].decode(errors="replace")


def kallsyms() -> tuple[list[int], list[str], list[str]]:
    """/proc/kallsyms as parallel (addresses, names, modules) lists, in file order.

    Addresses read as zero when kptr_restrict hides them from this user.
    """
    addresses: list[int] = []
    names: list[str] = []
    modules: list[str] = []
    with open("/proc/kallsyms", "rb") as f:
        data = f.read().decode(errors="replace")
    for line in data.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        addresses.append(int(parts[0], 16))
        names.append(parts[2])
        modules.append(parts[3][1:-1] if len(parts) > 3 else "")
    return addresses, names, modules


def ldconfig_cache() -> dict[str, str]:
    """Library soname -> path from ``ldconfig -p`` for this process's word size ({} when unavailable)."""
    import subprocess  # only uprobes on a library given by name need it

    try:
        output = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False,
                                env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "") + ":/sbin:/usr/sbin"}).stdout
    except OSError:
        return {}
    is64 = sys.maxsize > 2**32
    libraries: dict[str, str] = {}
    for line in output.splitlines()[1:]:
        name, arrow, path = line.strip().partition(" => ")
        if not arrow:
            continue
        soname, _, flags = name.partition(" (")
        if is64 != ("64" in flags):  # "(libc6,x86-64)", "(libc6,AArch64)" vs "(libc6,hard-float)"
            continue
        libraries.setdefault(soname, path)
    return libraries


def read_text(path: str) -> Optional[str]:
    """A small /proc or /sys file's text, None when it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None




def fdinfo(fd: int) -> dict[str, str]:
    """``/proc/self/fdinfo/FD`` as key -> value: a bpf object's ``memlock``, ``frozen``, ``owner_prog_type``."""
    fields: dict[str, str] = {}
    for line in (read_text(f"/proc/self/fdinfo/{fd}") or "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def cgroup2_mount() -> Optional[str]:
    """Where the unified (v2) cgroup hierarchy is mounted, None without one."""
    text = read_text("/proc/mounts") or ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return fields[1]
    return None


__all__ = [
    "KallsymsText",
    "Mapping",
    "cgroup2_mount",
    "fdinfo",
    "kallsyms",
    "ldconfig_cache",
    "parse_maps",
    "process_comm",
    "process_maps",
    "process_root",
    "read_text",
    "set_own_comm",
]
