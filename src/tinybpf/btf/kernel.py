"""The running kernel's BTF, parsed once per process and shared (CO-RE, ``render_c``, attach-point checks)."""
from __future__ import annotations

import functools

from tinybpf.btf import index_cache
from tinybpf.btf.reader import BTF
from tinybpf.kernel import btf_files


@functools.cache
def kernel_btf() -> BTF:
    """``/sys/kernel/btf/vmlinux``: ~5 MB, types decoded on demand.

    Indexing where each of its ~130k type records starts takes ~40 ms of Python; the index is saved in the
    user's cache directory keyed by the blob's CRC (see ``index_cache``), so later runs on the same kernel
    skip that pass.
    """
    data = btf_files.read_vmlinux_btf()
    directory, name = index_cache.cache_dir(), index_cache.cache_name(data)
    saved = index_cache.read(directory, name) if directory is not None else None
    btf = BTF(data, name="vmlinux", type_index=saved)
    if directory is not None and (saved is None or btf.type_index() != saved):
        index_cache.write(directory, name, btf.type_index())
    return btf


@functools.cache
def module_btf(module: str) -> BTF:
    """A module's split BTF on top of :func:`kernel_btf` (``module_btf("nf_tables")``)."""
    return BTF(btf_files.read_module_btf(module), base=kernel_btf(), name=module)
