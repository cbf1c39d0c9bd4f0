"""tracefs: tracepoint ids and formats, and the legacy ``uprobe_events``/``kprobe_events`` files.

A tracepoint is named ``category:name`` (``raw_syscalls:sys_enter``); its directory
``events/<category>/<name>/`` holds ``id`` (``perf_event_attr.config`` for PERF_TYPE_TRACEPOINT) and
``format``, which lays out the record a tracepoint program receives as its context.
"""
from __future__ import annotations

import ctypes
import dataclasses
import fnmatch
import functools
import os
import re
from typing import Optional

from ..errors import FormatError, TinyBPFError

MOUNT_POINTS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


@dataclasses.dataclass(frozen=True)
class Field:
    """One ``field:`` line of a tracepoint ``format`` file.

    ``type`` is the C type without the array suffix; ``array_length`` is the element count of a fixed
    array (``char comm[16]`` -> 16), None for scalars. ``data_loc`` marks a ``__data_loc`` field: a
    u32 whose low half is the offset of variable-length data in the record and high half its length.
    """

    name: str
    type: str
    offset: int
    size: int
    signed: bool
    array_length: Optional[int] = None
    data_loc: bool = False

    @property
    def is_common(self) -> bool:
        """The ``common_*`` header every record starts with."""
        return self.name.startswith("common_")


@dataclasses.dataclass(frozen=True)
class EventFormat:
    """A parsed ``events/<category>/<name>/format`` file."""

    category: str
    name: str
    id: int
    fields: tuple[Field, ...]
    print_fmt: str = ""

    def field(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(f"{self.category}:{self.name} has no field {name!r}")

    @property
    def size(self) -> int:
        """Bytes up to the end of the last fixed field (variable data of ``__data_loc`` fields follow)."""
        return max((f.offset + f.size for f in self.fields), default=0)


_FIELD = re.compile(r"\s*field:(?P<decl>[^;]+);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);"
                    r"(?:\s*signed:(?P<signed>\d+);)?")
_DECL = re.compile(r"^(?P<type>.*?)\s*(?P<name>[A-Za-z_]\w*)\s*(?:\[(?P<len>[^\]]*)\])?$")


def parse_field(line: str) -> Optional[Field]:
    """A ``field:`` line as a Field; None for lines that are not fields."""
    match = _FIELD.match(line)
    if not match:
        return None
    decl = match.group("decl").strip()
    data_loc = decl.startswith("__data_loc ")
    if data_loc:
        decl = decl[len("__data_loc "):]
    size = int(match.group("size"))
    length: Optional[int] = None
    if data_loc:
        # "__data_loc char[] name": the brackets belong to the type
        type_part, _, name_part = decl.rpartition(" ")
        type_part = type_part.replace("[]", "").strip()
    else:
        decl_match = _DECL.match(decl)
        if not decl_match:
            raise FormatError(f"cannot parse tracepoint field declaration {decl!r}")
        type_part, name_part = decl_match.group("type").strip(), decl_match.group("name")
        if decl_match.group("len") is not None:
            length = _array_length(decl_match.group("len"), type_part, size)
    return Field(
        name=name_part, type=type_part, offset=int(match.group("offset")), size=size,
        signed=match.group("signed") == "1", array_length=length, data_loc=data_loc,
    )


def _array_length(text: str, ctype: str, size: int) -> int:
    """``[16]`` -> 16; a symbolic or empty length is worked out from the field size."""
    if text.strip().isdigit():
        return int(text)
    element = _element_size(ctype)
    return size // element if element else 0


def _element_size(ctype: str) -> int:
    if "*" in ctype:
        return ctypes.sizeof(ctypes.c_void_p)
    sizes = {"char": 1, "short": 2, "int": 4, "long": ctypes.sizeof(ctypes.c_long), "long long": 8}
    words = ctype.replace("unsigned", "").replace("signed", "").replace("const", "").split()
    for name in ("long long", "long", "int", "short", "char"):
        if " ".join(words) == name:
            return sizes[name]
    match = re.search(r"(\d+)", ctype)
    return int(match.group(1)) // 8 if match else 0


def parse_format(text: str, category: str = "", name: str = "") -> EventFormat:
    """Parse the contents of a tracepoint ``format`` file."""
    event_id = -1
    fields: list[Field] = []
    print_fmt = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("name:") and not name:
            name = stripped[5:].strip()
        elif stripped.startswith("ID:"):
            event_id = int(stripped[3:])
        elif stripped.startswith("field:"):
            field = parse_field(stripped)
            if field is not None:
                fields.append(field)
        elif stripped.startswith("print fmt:"):
            print_fmt = stripped[len("print fmt:"):].strip()
    if event_id < 0:
        raise FormatError(f"tracepoint format of {category}:{name} has no ID line")
    return EventFormat(category, name, event_id, tuple(fields), print_fmt)


def find_tracefs() -> Optional[str]:
    """A mounted tracefs (or debugfs/tracing) directory, if there is one."""
    try:
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "tracefs":
                    return fields[1]
    except OSError:
        return None
    for path in MOUNT_POINTS:
        if os.path.isfile(os.path.join(path, "available_events")):
            return path
    return None


@functools.cache
def tracefs_root() -> str:
    """The tracefs directory, mounting tracefs at /sys/kernel/tracing when none is mounted."""
    found = find_tracefs()
    if found:
        return found
    target = MOUNT_POINTS[0]
    from .syscall import mount

    try:
        mount("nodev", target, "tracefs")
    except OSError as e:
        raise TinyBPFError(
            f"cannot mount tracefs at {target}: {e.strerror}",
            f"run as root, or mount it yourself: mount -t tracefs nodev {target}",
        ) from None
    return target


def split_tracepoint(spec: str) -> tuple[str, str]:
    """``"sched:sched_switch"`` or ``"sched/sched_switch"`` -> ``("sched", "sched_switch")``."""
    category, sep, name = spec.replace("/", ":").partition(":")
    if not sep or not category or not name:
        raise TinyBPFError(f"tracepoint {spec!r} is not category:name", "e.g. raw_syscalls:sys_enter")
    return category, name


def event_dir(category: str, name: str) -> str:
    return os.path.join(tracefs_root(), "events", category, name)


def event_id(category: str, name: str) -> int:
    """The tracepoint's id, ``perf_event_attr.config`` for PERF_TYPE_TRACEPOINT."""
    try:
        with open(os.path.join(event_dir(category, name), "id")) as f:
            return int(f.read())
    except FileNotFoundError:
        raise TinyBPFError(f"no tracepoint {category}:{name}",
                           "list them with tinybpf.kernel.tracefs.list_events('category:*')") from None


def event_format(category: str, name: str) -> EventFormat:
    try:
        with open(os.path.join(event_dir(category, name), "format")) as f:
            return parse_format(f.read(), category, name)
    except FileNotFoundError:
        raise TinyBPFError(f"no tracepoint {category}:{name}") from None


def list_events(pattern: str = "*:*") -> list[str]:
    """Tracepoints matching a shell-style ``category:name`` pattern (``syscalls:sys_enter_open*``), sorted.

    A pattern without a colon matches categories or names: ``sched`` lists ``sched:*``, ``sched_switch``
    finds ``sched:sched_switch``.
    """
    patterns = [pattern] if ":" in pattern else [pattern + ":*", "*:" + pattern]
    with open(os.path.join(tracefs_root(), "available_events")) as f:
        names = [line.strip() for line in f if line.strip()]
    return sorted(name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns))


def probe_events(kind: str) -> list[str]:
    """The lines of ``uprobe_events`` or ``kprobe_events`` (``kind`` is ``uprobe`` or ``kprobe``)."""
    path = os.path.join(tracefs_root(), f"{kind}_events")
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def add_probe_event(kind: str, definition: str) -> None:
    """Append a definition (``p:tinybpf/name /bin/true:0x1040``) to ``<kind>_events``."""
    _write_probe_events(kind, definition)


def remove_probe_event(kind: str, group: str, name: str) -> None:
    """Delete ``group/name`` from ``<kind>_events`` (``-:group/name``)."""
    _write_probe_events(kind, f"-:{group}/{name}")


def _write_probe_events(kind: str, line: str) -> None:
    path = os.path.join(tracefs_root(), f"{kind}_events")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        raise TinyBPFError(f"this kernel has no {path}") from None
    try:
        os.write(fd, line.encode() + b"\n")
    except OSError as exc:
        raise TinyBPFError(f"writing {line!r} to {path} failed: {exc.strerror}") from None
    finally:
        os.close(fd)


__all__ = [
    "EventFormat",
    "Field",
    "add_probe_event",
    "event_dir",
    "event_format",
    "event_id",
    "find_tracefs",
    "list_events",
    "parse_field",
    "parse_format",
    "probe_events",
    "remove_probe_event",
    "split_tracepoint",
    "tracefs_root",
]
