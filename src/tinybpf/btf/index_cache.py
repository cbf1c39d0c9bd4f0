"""The on-disk cache of the kernel BTF's type index (``~/.cache/tinybpf``), safe when the user is root.

A root run with ``sudo -E`` or a shared HOME may be pointed at a directory someone else controls, so the
cache trusts nothing it did not make: the directory must belong to the effective user and be writable by
no one else (otherwise nothing is read or written); files are opened without following symlinks, created
with ``O_EXCL`` under a fresh name and renamed into place; and a file is used only if its SHA-256 over
the whole index matches. Anything else is ignored, and the index is rebuilt and saved again.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import stat
import zlib
from typing import Optional

_MAGIC = b"tinybpf-btf-index-v2\n"
_DIGEST = 32  # SHA-256


def cache_name(data: bytes) -> str:
    """The file that holds the index of the BTF blob ``data``: keyed by its size and CRC (a name of its own:
    older tinybpf read ``.index`` files without a checksum)."""
    return f"vmlinux-{len(data)}-{zlib.crc32(data):08x}.sha256.index"


def cache_dir() -> Optional[str]:
    """``$XDG_CACHE_HOME/tinybpf`` (``~/.cache/tinybpf``); None when ``TINYBPF_NO_CACHE`` is set."""
    if os.environ.get("TINYBPF_NO_CACHE"):
        return None
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "tinybpf")


def read(directory: str, name: str) -> Optional[bytes]:
    """The saved index, or None when there is none or it cannot be trusted."""
    fd = _open_trusted_dir(directory, create=False)
    if fd is None:
        return None
    try:
        file = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    with os.fdopen(file, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        return unpack(f.read())


def write(directory: str, name: str, index: bytes) -> None:
    """Save ``index`` atomically; best effort (an unusable directory only costs the indexing pass)."""
    fd = _open_trusted_dir(directory, create=True)
    if fd is None:
        return
    temporary = f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        file = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                       dir_fd=fd)
        with os.fdopen(file, "wb") as f:
            f.write(pack(index))
        os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
    except OSError:
        try:
            os.unlink(temporary, dir_fd=fd)
        except OSError:
            pass
    finally:
        os.close(fd)


def pack(index: bytes) -> bytes:
    return _MAGIC + hashlib.sha256(index).digest() + index


def unpack(content: bytes) -> Optional[bytes]:
    """The payload inside a cache file's ``content``; None unless the magic and the checksum match."""
    head = len(_MAGIC) + _DIGEST
    if not content.startswith(_MAGIC) or len(content) < head:
        return None
    index = content[head:]
    return index if hashlib.sha256(index).digest() == content[len(_MAGIC):head] else None


def _open_trusted_dir(directory: str, create: bool) -> Optional[int]:
    """An fd of ``directory`` if it is ours and only we may write it (made, mode 0700, when ``create``)."""
    if create:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError:
            return None
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        os.close(fd)
        return None
    return fd
