"""User-space halves of the functions whose values print as text, and of the events that act in user space.

A ``kstack``/``ustack`` value is a stack id into a BPF_MAP_TYPE_STACK_TRACE map (plus the pid for user
stacks); ``ksym``/``usym`` hold an address (and pid); ``strftime`` holds nanoseconds since boot. They are
turned into text only when printed, through the ``Symbolizer`` the runtime installs with ``activate``.
``system``, ``cat``, ``errorf`` and ``warnf`` send their printf arguments; ``run_event`` acts on them.
"""
from __future__ import annotations

import functools
import os
import struct
import subprocess
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, TextIO

from tinybpf.trace.lower.compiled import BUILD_ID_MAP, KSTACK_MAP, USTACK_MAP
from tinybpf.trace.runtime import types as bt

STACK_MAPS = (KSTACK_MAP, USTACK_MAP, BUILD_ID_MAP)
STACK_MAP_ENTRIES = 4096
MAX_FRAMES = 127
EVENT_KINDS = ("system", "cat", "errorf", "warnf")
_U64 = struct.Struct("=Q")
_STACK = struct.Struct("=qQ")
_BUILD_ID_FRAME = struct.Struct("=i20sQ")
_BUILD_ID_VALID, _BUILD_ID_IP = 1, 2


class Symbolizer:
    """Names addresses and reads stacks while a trace runs (the maps are the runtime's)."""

    def __init__(self, maps: dict[str, Any], binaries: Sequence[str] = ()) -> None:
        self.maps = maps
        self.binaries = binaries
        self._kernel: Any = None
        self._processes: dict[int, Any] = {}
        self._executables: Optional[list[Any]] = None

    def kernel(self) -> Any:
        if self._kernel is None:
            from tinybpf.symbols import kernel_symbols

            self._kernel = kernel_symbols()
        return self._kernel

    def process(self, pid: int) -> Any:
        found = self._processes.get(pid)
        if found is None:
            from tinybpf.symbols import ProcessSymbols

            try:
                found = ProcessSymbols(pid)
            except (OSError, Exception):
                found = False
            self._processes[pid] = found
        return found

    def ksym(self, address: int, offset: bool = False) -> str:
        found = self.kernel().lookup(address)
        if found is None:
            return f"0x{address:x}" if offset else f"0x{address:016x}"
        return f"{found[0]}+{found[1]}" if offset else found[0]

    def usym(self, address: int, pid: int, offset: bool = False, module: bool = False) -> str:
        process = self.process(pid)
        frame = process.resolve(address) if process else None
        if frame is None or not frame.symbol:
            return self.probed_symbol(address, offset) or f"0x{address:x}"
        text = f"{frame.symbol}+{frame.offset}" if offset else frame.symbol
        return f"{text} ({frame.module})" if module and frame.module else text

    def user_frames(self, address: int, pid: int, perf: bool) -> list[str]:
        """A ``ustack`` address as bpftrace's ``show_debug_info`` prints it: the functions inlined there
        first (``[inlined] f@file:line``, or ``f (inlined)`` in perf mode), then ``func+off@file:line``."""
        text = self.usym(address, pid, offset=True, module=perf)
        process = self.process(pid)
        frame = process.resolve(address) if process else None
        if frame is None or not frame.symbol or not frame.module:
            return [text]
        from tinybpf.kernel.procfs import process_root
        from tinybpf.trace.runtime.source_lines import symbol_frames

        frames = symbol_frames(process_root(pid) + frame.module, frame.symbol, frame.offset)
        if perf:
            return [f"{name} (inlined)" for name, _ in frames[:-1]] + [text]
        lines = [f"[inlined] {name}@{place}" if place else f"[inlined] {name}" for name, place in frames[:-1]]
        place = frames[-1][1]
        return [*lines, f"{text}@{place}" if place else text]

    def probed_symbol(self, address: int, offset: bool) -> str:
        """``address`` in the symbol table of a probed non-PIE executable (where addresses are fixed): the
        way to name frames of a process that has exited or that lives in another pid namespace."""
        if self._executables is None:
            from tinybpf.elf import ElfType
            from tinybpf.errors import FormatError
            from tinybpf.symbols.user import binary_symbols

            self._executables = []
            for path in self.binaries:
                try:
                    index = binary_symbols(path)
                except (OSError, FormatError):
                    continue
                if index.elf.header.type == ElfType.EXEC:
                    self._executables.append(index)
        for index in self._executables:
            found = index.resolve(address) if index.elf.vaddr_to_offset(address) is not None else None
            if found is not None:
                return f"{found[0]}+{found[1]}" if offset else found[0]
        return ""

    def stack(self, kernel: bool, stack_id: int, pid: int, tag: str) -> str:
        from tinybpf.trace.runtime.output import format_stack

        mode_name, _, limit_text = tag.partition(":")
        mode = bt.StackMode(mode_name) if mode_name in ("bpftrace", "perf", "raw") else bt.StackMode.BPFTRACE
        limit = int(limit_text or MAX_FRAMES)
        if mode_name == "build_id" and not kernel:
            return self.build_id_stack(stack_id, limit)
        addresses = self.addresses(KSTACK_MAP if kernel else USTACK_MAP, stack_id)[:limit]
        perf = mode is bt.StackMode.PERF
        if kernel:
            def resolve(address: int) -> list[str]:
                return [self.ksym(address, offset=True)]
        else:
            from tinybpf.trace.syntax import config

            debug_info = config.flag("show_debug_info", True)

            def resolve(address: int) -> list[str]:
                if debug_info:
                    return self.user_frames(address, pid, perf)
                return [self.usym(address, pid, offset=True, module=perf)]
        return format_stack(addresses, resolve, mode)

    def build_id_stack(self, stack_id: int, limit: int) -> str:
        """``ustack(build_id)``: a line per frame, ``<build id> 0x<file offset>`` or the bare address
        where the kernel found no build id."""
        stack_map = self.maps.get(BUILD_ID_MAP)
        raw = stack_map.get(struct.pack("=I", stack_id)) if stack_map is not None and stack_id >= 0 else None
        lines = ["\n"]
        for status, build_id, offset in _BUILD_ID_FRAME.iter_unpack(bytes(raw or b"")[:limit * 32]):
            if status == _BUILD_ID_VALID:
                lines.append(f"{build_id.hex()} 0x{offset:02x}\n")
            elif status == _BUILD_ID_IP and offset:
                lines.append(f"{offset:x}\n")
        return "".join(lines)

    def addresses(self, name: str, stack_id: int) -> list[int]:
        stack_map = self.maps.get(name)
        if stack_map is None or stack_id < 0:
            return []
        raw = stack_map.get(struct.pack("=I", stack_id))
        if raw is None:
            return []
        out = []
        for (ip,) in struct.iter_unpack("=Q", bytes(raw)):
            if not ip:
                break
            out.append(ip)
        return out


_active: Optional[Symbolizer] = None


def activate(symbolizer: Optional[Symbolizer]) -> None:
    """Install the symbolizer the decoders use (the runtime does, for the length of a run)."""
    global _active
    _active = symbolizer


def _symbolizer() -> Symbolizer:
    return _active if _active is not None else Symbolizer({})


@functools.lru_cache(maxsize=1)
def _boot_time_ns() -> int:
    """The wall-clock time of boot, read once (as bpftrace does) so timestamps of one run are consistent."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def decoder(kind: str, tag: str, size: int) -> Callable[[bytes], Any]:
    """bytes of a blob value -> the text (or bytes, for buffers) the printers take."""
    if kind in ("kstack", "ustack"):
        kernel = kind == "kstack"

        def stack(raw: bytes) -> str:
            stack_id, pid = _STACK.unpack_from(raw.ljust(16, b"\0"))
            return _symbolizer().stack(kernel, stack_id, pid, tag)
        return stack
    if kind == "ksym":
        return lambda raw: _symbolizer().ksym(_U64.unpack_from(raw)[0])
    if kind == "strerror":
        from tinybpf.trace.syntax.stdlib import strerror

        return lambda raw: strerror(int.from_bytes(raw[:8], "little"))
    if kind == "syscall_name":
        return lambda raw: syscall_name(_U64.unpack_from(raw)[0])
    if kind == "usym":
        return lambda raw: _symbolizer().usym(*struct.unpack_from("=QQ", raw))
    if kind == "buffer":
        return lambda raw: bytes(raw[8:8 + min(raw[0], size - 8)])
    if kind == "timestamp":
        fmt = tag

        def timestamp(raw: bytes) -> str:
            from tinybpf.trace.runtime.output import format_timestamp

            boot_ns = _U64.unpack_from(raw)[0]
            return format_timestamp(fmt, boot_ns + _boot_time_ns())
        return timestamp
    if kind == "inet":
        def inet(raw: bytes) -> str:
            from tinybpf.trace.runtime.output import format_inet

            return format_inet(_U64.unpack_from(raw)[0], bytes(raw[8:]))
        return inet
    if kind == "mac":
        from tinybpf.trace.runtime.output import format_mac

        return lambda raw: format_mac(bytes(raw))
    if kind == "cgroup_path":
        return lambda raw: cgroup_path(_U64.unpack_from(raw)[0])
    if kind == "username":
        return lambda raw: username(_U64.unpack_from(raw)[0])
    return lambda raw: None


def printer_type(kind: str, size: int) -> bt.BpfType:
    """The printers' type of a blob: buffers print escaped, everything else as its text."""
    if kind == "buffer":
        return bt.BufferType(size - 8)
    return bt.StringType(size)


def syscall_name(number: int) -> str:
    """The name of syscall ``number`` on this machine (from its ``asm/unistd_64.h``), else the number."""
    return _syscall_names().get(number, str(number))


@functools.cache
def _syscall_names() -> dict[int, str]:
    from tinybpf.trace.syntax.c_macros import macro_constants

    numbers = macro_constants("#include <syscall.h>\n")
    return {value: name[len("__NR_"):] for name, value in numbers.items() if name.startswith("__NR_")}


def username(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid & 0xFFFFFFFF).pw_name
    except KeyError:
        return str(uid & 0xFFFFFFFF)


def cgroup_path(cgroup_id: int) -> str:
    """``hierarchy:path`` of the cgroup whose inode number is ``cgroup_id`` in every mounted hierarchy that
    has it, joined by commas: cgroup v2 mounts first (named ``unified``), then v1 mounts by name."""
    v2, v1 = [], []
    with open("/proc/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) > 2 and fields[2] in ("cgroup", "cgroup2") and os.path.isdir(fields[1]):
                root = fields[1]
                if fields[2] == "cgroup2":
                    v2.append(("unified", root))
                else:
                    v1.append((os.path.basename(root), root))
    found = [(name, _cgroup_path_in(cgroup_id, root)) for name, root in v2 + sorted(v1)]
    return ",".join(f"{name}:{path}" for name, path in found if path)


def _cgroup_path_in(cgroup_id: int, root: str) -> str:
    for directory, _, _ in os.walk(root):
        try:
            if os.stat(directory).st_ino == cgroup_id:
                return directory[len(root):] or "/"
        except OSError:
            return ""
    return ""


def cat_bytes_max() -> int:
    from tinybpf.trace.syntax import config

    return config.lookup_int("max_cat_bytes", 10240)


def run_event(kind: str, text: str, printer: Any, err: TextIO, warnings: bool = True) -> None:
    """Act on a formatted ``system``/``cat``/``errorf``/``warnf`` event (``errorf``/``warnf`` texts start
    with the call's location). ``-f json`` wraps the output of system and cat in their records."""
    from tinybpf.trace.runtime.output import JsonPrinter

    out = printer.out
    as_json = isinstance(printer, JsonPrinter)
    if kind == "system":
        out.flush()
        result = subprocess.run(text, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = result.stdout.decode("utf-8", "replace")
        if as_json:
            printer.syscall(output)
        else:
            out.write(output)
    elif kind == "cat":
        try:
            with open(text, "rb") as f:
                data = f.read(cat_bytes_max())
        except OSError as exc:
            err.write(f"ERROR: failed to open file '{text}' ({exc.strerror})\n")
            return
        content = data.decode("utf-8", "replace")
        if as_json:
            printer.cat(content)
            return
        out.write(content if content.endswith("\n") else content + "\n")
    elif kind == "errorf" or (kind == "warnf" and warnings):
        err.write(text + "\n")
