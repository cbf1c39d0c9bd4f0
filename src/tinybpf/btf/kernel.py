"""The running kernel's BTF, parsed once per process and shared (CO-RE, ``render_c``, attach-point checks)."""
from __future__ import annotations

import functools

from tinybpf.btf.reader import BTF
from tinybpf.kernel import btf_files


@functools.cache
def kernel_btf() -> BTF:
    """``/sys/kernel/btf/vmlinux``: ~5 MB, indexed in a few tens of milliseconds, types decoded on demand."""
    return BTF(btf_files.read_vmlinux_btf(), name="vmlinux")


@functools.cache
def module_btf(module: str) -> BTF:
    """A module's split BTF on top of :func:`kernel_btf` (``module_btf("nf_tables")``)."""
    return BTF(btf_files.read_module_btf(module), base=kernel_btf(), name=module)
