"""Addresses -> names: kernel symbols (/proc/kallsyms), user symbols (ELF + /proc/PID/maps), stack maps."""
from __future__ import annotations

from .frame import Frame
from .kallsyms import KernelSymbols, kernel_symbols, resolve_kernel
from .stacks import BPF_F_USER_STACK, StackTraces
from .user import ProcessSymbols, binary_symbols, find_binary, uprobe_offset

__all__ = [
    "BPF_F_USER_STACK",
    "Frame",
    "KernelSymbols",
    "ProcessSymbols",
    "StackTraces",
    "binary_symbols",
    "find_binary",
    "kernel_symbols",
    "resolve_kernel",
    "uprobe_offset",
]
