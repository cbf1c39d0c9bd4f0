"""Kernel addresses -> ``function+offset`` from /proc/kallsyms, sorted once and searched by bisection.

/proc/kallsyms lists ~100k-200k symbols in address order per section but not globally; they are
sorted on first use and cached for the life of the process (``KernelSymbols.load()`` again after
loading modules). Addresses read as zero when kptr_restrict hides them: then nothing resolves.
"""
from __future__ import annotations

import bisect
import threading
from typing import Optional

from ..kernel import procfs
from .frame import Frame


class KernelSymbols:
    """Kernel and module symbols by address."""

    def __init__(self, addresses: list[int], names: list[str], modules: list[str]) -> None:
        order = sorted(range(len(addresses)), key=addresses.__getitem__)
        self._addresses = [addresses[i] for i in order]
        self._names = [names[i] for i in order]
        self._modules = [modules[i] for i in order]
        self._by_name = {name: address for address, name in zip(self._addresses, self._names)}

    @classmethod
    def load(cls) -> KernelSymbols:
        """Read /proc/kallsyms now."""
        addresses, names, modules = procfs.kallsyms()
        return cls(addresses, names, modules)

    def __len__(self) -> int:
        return len(self._addresses)

    @property
    def visible(self) -> bool:
        """False when kptr_restrict zeroes every address for this user."""
        return bool(self._addresses) and self._addresses[-1] != 0

    def lookup(self, address: int) -> Optional[tuple[str, int, str]]:
        """``(name, offset, module)`` of the symbol at or below ``address``; None below the first one."""
        position = bisect.bisect_right(self._addresses, address) - 1
        if position < 0 or not self._addresses[position]:
            return None
        return self._names[position], address - self._addresses[position], self._modules[position]

    def address(self, name: str) -> Optional[int]:
        """The address of symbol ``name`` (the last one listed when names repeat)."""
        return self._by_name.get(name)

    def resolve(self, address: int) -> Frame:
        found = self.lookup(address)
        if found is None:
            return Frame(address)
        name, offset, module = found
        return Frame(address, name, offset, module)

    def format(self, address: int) -> str:
        """``do_syscall_64+0x5c`` (``[module]`` appended for module symbols), or the hex address."""
        found = self.lookup(address)
        if found is None:
            return f"0x{address:x}"
        name, offset, module = found
        return f"{name}+0x{offset:x}" + (f" [{module}]" if module else "")


_cache: Optional[KernelSymbols] = None
_lock = threading.Lock()


def kernel_symbols() -> KernelSymbols:
    """The process-wide KernelSymbols, read on first use."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = KernelSymbols.load()
        return _cache


def resolve_kernel(address: int) -> Frame:
    return kernel_symbols().resolve(address)
