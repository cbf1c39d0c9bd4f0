"""File descriptors as objects that close themselves.

Maps, programs, links and perf events all own an ``FD``: ``close()`` is idempotent, ``with`` closes,
and a finalizer closes what the user forgot, so nothing stays attached after the process exits.
"""
from __future__ import annotations

import os
import weakref
from typing import Any


class FD:
    """An owned file descriptor."""

    __slots__ = ("__weakref__", "_fd", "_finalizer")

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        self._fd = fd
        self._finalizer = weakref.finalize(self, _close_quietly, fd)

    @property
    def fd(self) -> int:
        if self._fd < 0:
            raise ValueError("file descriptor is closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self._fd >= 0:
            self._fd = -1
            self._finalizer()

    def detach(self) -> int:
        """Give up ownership: the caller now closes the returned raw descriptor."""
        fd = self.fd
        self._finalizer.detach()
        self._fd = -1
        return fd

    def __enter__(self) -> FD:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __int__(self) -> int:
        return self.fd

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
