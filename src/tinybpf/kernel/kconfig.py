"""What BPF objects' externs resolve against: the kernel's build configuration and symbol addresses.

``extern ... __kconfig`` variables: libbpf reads ``/proc/config.gz`` (CONFIG_IKCONFIG_PROC) and falls back
to ``/boot/config-$(uname -r)``; so does this. Values stay strings as the file spells them (``y``, ``m``,
``250``, ``"quoted"``). Untyped ``extern const void sym __ksym`` variables take their /proc/kallsyms address.
"""
from __future__ import annotations

import functools
import gzip
import os
from typing import Optional

PROC_CONFIG = "/proc/config.gz"


def parse_kconfig(text: str) -> dict[str, str]:
    """``CONFIG_X=value`` lines -> {``CONFIG_X``: ``value``}; ``# CONFIG_X is not set`` lines are skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("CONFIG_"):
            continue
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def _read_config() -> Optional[str]:
    try:
        with gzip.open(PROC_CONFIG, "rt", errors="replace") as f:
            return f.read()
    except (OSError, EOFError):
        pass
    try:
        with open(f"/boot/config-{os.uname().release}", errors="replace") as f:
            return f.read()
    except OSError:
        return None


@functools.cache
def kernel_config() -> Optional[dict[str, str]]:
    """The kernel's CONFIG_* values, or None when neither file exists (read once per process)."""
    text = _read_config()
    return parse_kconfig(text) if text is not None else None


__all__ = ["kernel_config", "parse_kconfig"]
