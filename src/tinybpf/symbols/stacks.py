"""Stack trace maps (BPF_MAP_TYPE_STACK_TRACE): stack ids from bpf_get_stackid -> symbolised frames.

A program calls ``bpf_get_stackid(ctx, &stacks, flags)`` and stores the id; user space reads the
map's value for that id, an array of up to ``value_size / 8`` u64 instruction pointers ending at the
first zero, and symbolises them with /proc/kallsyms (kernel stacks) or the process's mappings
(user stacks, ``BPF_F_USER_STACK``). Requires Linux 4.6.
"""
from __future__ import annotations

import struct
from typing import Any, Optional

from ..errors import TinyBPFError
from ..kernel.constants import MapType
from .frame import Frame
from .kallsyms import KernelSymbols, kernel_symbols
from .user import ProcessSymbols

BPF_F_USER_STACK = 1 << 8
BPF_F_FAST_STACK_CMP = 1 << 9
BPF_F_REUSE_STACKID = 1 << 10


class StackTraces:
    """Read and symbolise the stacks of a stack trace map."""

    def __init__(self, stack_map: Any, kernel: Optional[KernelSymbols] = None) -> None:
        if getattr(stack_map, "type", MapType.STACK_TRACE) != MapType.STACK_TRACE:
            raise TinyBPFError(f"{stack_map!r} is not a BPF_MAP_TYPE_STACK_TRACE map")
        self._map = stack_map
        self._kernel = kernel
        self._processes: dict[int, ProcessSymbols] = {}

    def addresses(self, stack_id: int) -> list[int]:
        """The instruction pointers of stack ``stack_id``, innermost first (empty when the id is unknown).

        A negative id is bpf_get_stackid's error (-EFAULT: no stack, -EEXIST: hash collision).
        """
        if stack_id < 0:
            return []
        value = self._map.get(stack_id)
        if value is None:
            return []
        if isinstance(value, (bytes, bytearray)):  # a map opened with value=bytes
            value = struct.unpack_from(f"={len(value) // 8}Q", value)
        out: list[int] = []
        for ip in value:
            if not ip:
                break
            out.append(int(ip))
        return out

    def kernel_stack(self, stack_id: int) -> list[Frame]:
        """Frames of a kernel stack, symbolised with /proc/kallsyms."""
        symbols = self._kernel or kernel_symbols()
        return [symbols.resolve(ip) for ip in self.addresses(stack_id)]

    def user_stack(self, stack_id: int, pid: int) -> list[Frame]:
        """Frames of a user stack of process ``pid`` (which must still be running to read its mappings)."""
        process = self._processes.get(pid)
        if process is None:
            process = self._processes[pid] = ProcessSymbols(pid)
        return process.resolve_all(self.addresses(stack_id))

    def close(self) -> None:
        for process in self._processes.values():
            process.close()
        self._processes.clear()

    def __enter__(self) -> StackTraces:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
