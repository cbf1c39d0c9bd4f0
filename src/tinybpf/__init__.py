"""tinybpf: the eBPF userspace toolchain in pure Python.

Nothing is imported eagerly: start-up time is a product feature, so the public names are
resolved on first use (PEP 562).
"""
from __future__ import annotations

from ._lazy import lazy_attributes

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

__getattr__ = lazy_attributes(__name__, _LAZY)
