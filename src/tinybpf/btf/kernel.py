"""The running kernel's BTF, parsed once per process and shared (CO-RE, ``render_c``, attach-point checks)."""
from __future__ import annotations

import functools
from typing import Callable

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
    if saved is not None and len(saved) % 4:
        saved = None  # an index is whole u32 offsets
    btf = BTF(data, name="vmlinux", type_index=saved)
    if directory is not None and (saved is None or btf.type_index() != saved):
        index_cache.write(directory, name, btf.type_index())
    return btf


def kernel_header() -> str:
    """The whole running kernel as a ``vmlinux.h`` (what ``btf dump format c`` prints)."""
    from tinybpf.btf.c_render import render_c

    return _kept(".h", lambda: render_c(kernel_btf()))


def kernel_raw_listing() -> str:
    """The whole running kernel in bpftool's raw format (what ``btf dump`` prints)."""
    from tinybpf.btf.raw_listing import raw_lines

    return _kept(".raw", lambda: "\n".join(raw_lines(kernel_btf())) + "\n")


def _kept(suffix: str, render: Callable[[], str]) -> str:
    """A listing of the whole kernel, rendered once per kernel and kept beside the index (through the same
    trusted cache), since the text depends only on the blob (``TINYBPF_NO_CACHE=1`` renders every time)."""
    directory = index_cache.cache_dir()
    name = index_cache.cache_name(btf_files.read_vmlinux_btf()).replace(".index", suffix)
    saved = index_cache.read(directory, name) if directory is not None else None
    if saved is not None:
        return saved.decode()
    text = render()
    if directory is not None:
        index_cache.write(directory, name, text.encode())
    return text


@functools.cache
def module_btf(module: str) -> BTF:
    """A module's split BTF on top of :func:`kernel_btf` (``module_btf("nf_tables")``)."""
    return BTF(btf_files.read_module_btf(module), base=kernel_btf(), name=module)
