"""Where the running kernel publishes its BTF: ``/sys/kernel/btf/vmlinux`` and one split blob per module.

Requires Linux 5.4 (CONFIG_DEBUG_INFO_BTF) for vmlinux and 5.11 (CONFIG_DEBUG_INFO_BTF_MODULES) for modules.
Kernels built without it (Debian's 32-bit ARM kernels, most embedded boards) can be given the raw BTF of the
same build from a file: ``--btf FILE`` or bpftrace's ``BPFTRACE_BTF`` variable.
"""
from __future__ import annotations

import os

from tinybpf.errors import NotSupported

BTF_DIR = "/sys/kernel/btf"
VMLINUX_BTF = os.path.join(BTF_DIR, "vmlinux")
NO_BTF_HINT = ("a kernel built without CONFIG_DEBUG_INFO_BTF needs the raw BTF of its build: "
               "--btf FILE (or BPFTRACE_BTF=FILE)")


def vmlinux_btf_path() -> str:
    """Where the kernel's BTF is read from: ``BPFTRACE_BTF`` when set, else the kernel's own file."""
    return os.environ.get("BPFTRACE_BTF") or VMLINUX_BTF


def has_vmlinux_btf() -> bool:
    return os.path.exists(vmlinux_btf_path())


def read_vmlinux_btf() -> bytes:
    """The kernel's own BTF blob (or the file standing in for it)."""
    path = vmlinux_btf_path()
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise NotSupported("kernel BTF", f"{path} does not exist; {NO_BTF_HINT}") from None


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
