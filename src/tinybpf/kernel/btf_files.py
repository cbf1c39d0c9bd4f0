"""Where the running kernel publishes its BTF: ``/sys/kernel/btf/vmlinux`` and one split blob per module.

Requires Linux 5.4 (CONFIG_DEBUG_INFO_BTF) for vmlinux and 5.11 (CONFIG_DEBUG_INFO_BTF_MODULES) for modules.
"""
from __future__ import annotations

import os

from tinybpf.errors import NotSupported

BTF_DIR = "/sys/kernel/btf"
VMLINUX_BTF = os.path.join(BTF_DIR, "vmlinux")


def read_vmlinux_btf() -> bytes:
    """The kernel's own BTF blob."""
    return _read(VMLINUX_BTF, "kernel BTF (/sys/kernel/btf/vmlinux)", "5.4")


def read_module_btf(module: str) -> bytes:
    """The split BTF of a loaded module (its type ids continue after vmlinux's)."""
    if not module or "/" in module or module.startswith("."):
        raise ValueError(f"not a module name: {module!r}")
    return _read(os.path.join(BTF_DIR, module), f"BTF of module {module!r}", "5.11")


def module_btf_names() -> list[str]:
    """Modules that publish BTF, sorted (empty when the kernel has none)."""
    try:
        return sorted(name for name in os.listdir(BTF_DIR) if name != "vmlinux")
    except OSError:
        return []


def _read(path: str, feature: str, min_version: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise NotSupported(feature, f"{path} does not exist", min_version) from None
