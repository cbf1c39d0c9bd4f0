"""tinybpf: the eBPF userspace toolchain in pure Python.

Nothing is imported eagerly: start-up time is a product feature, so the public names are
resolved on first use (PEP 562).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Map": "tinybpf.maps",
    "Program": "tinybpf.programs",
    "BPFError": "tinybpf.errors",
    "VerifierError": "tinybpf.errors",
    "NotSupported": "tinybpf.errors",
    "TinyBPFError": "tinybpf.errors",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tinybpf' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
