"""The running kernel's BTF, parsed once per process and shared (CO-RE, ``render_c``, attach-point checks)."""
from __future__ import annotations

import functools
import os
import zlib
from typing import Callable, Optional

from tinybpf.btf.reader import BTF
from tinybpf.kernel import btf_files


@functools.cache
def kernel_btf() -> BTF:
    """``/sys/kernel/btf/vmlinux``: ~5 MB, types decoded on demand.

    Indexing where each of its ~130k type records starts takes ~40 ms of Python; the index is saved in the
    user's cache directory keyed by the blob's CRC, so later runs on the same kernel skip that pass.
    """
    data = btf_files.read_vmlinux_btf()
    path = _index_path(data)
    saved = _read(path)
    btf = BTF(data, name="vmlinux", type_index=saved)
    if saved is None and path is not None:
        _write(path, btf.type_index())
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
    """A listing of the whole kernel, rendered once per kernel and kept beside the index.

    Listing ~125k types takes from a third of a second to seconds of Python; the text depends only on
    the blob, so later calls on the same kernel read it back (``TINYBPF_NO_CACHE=1`` renders every time).
    """
    index = _index_path(btf_files.read_vmlinux_btf())
    path = index[: -len(".index")] + suffix if index else None
    saved = _read(path)
    if saved is not None:
        return saved.decode()
    text = render()
    if path is not None:
        _write(path, text.encode())
    return text


@functools.cache
def module_btf(module: str) -> BTF:
    """A module's split BTF on top of :func:`kernel_btf` (``module_btf("nf_tables")``)."""
    return BTF(btf_files.read_module_btf(module), base=kernel_btf(), name=module)


def _index_path(data: bytes) -> Optional[str]:
    if os.environ.get("TINYBPF_NO_CACHE"):
        return None
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "tinybpf", f"vmlinux-{len(data)}-{zlib.crc32(data):08x}.index")


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _write(path: str, index: bytes) -> None:
    """Best effort: a read-only home only costs the work again next time."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}"
        with open(temporary, "wb") as f:
            f.write(index)
        os.replace(temporary, path)
    except OSError:
        pass
