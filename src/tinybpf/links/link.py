"""The attachment every link kind returns: a closable object that detaches its program on close.

A link owns the file descriptors that keep a program attached (a BPF link, perf events, a socket);
closing them detaches it. ``close()`` is idempotent, ``with`` closes, and the descriptors' finalizers
close whatever the user forgot when the process exits, so nothing stays attached after it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional, TypeVar

from ..errors import TinyBPFError
from ..kernel import commands
from ..kernel.fd import FD

L = TypeVar("L", bound="Link")


class Link:
    """A program attached somewhere; ``target`` says where (``tracepoint raw_syscalls:sys_enter``)."""

    def __init__(self, fds: Sequence[FD], target: str, *, bpf_link: bool = False,
                 on_close: Optional[Callable[[], None]] = None) -> None:
        self._fds: list[FD] = list(fds)
        self.target = target
        self.bpf_link = bpf_link
        self._on_close = on_close

    @property
    def fd(self) -> int:
        """The descriptor that holds the attachment: the BPF link when there is one, else the first event."""
        return self._fds[0].fd

    @property
    def fds(self) -> list[int]:
        return [fd.fd for fd in self._fds]

    @property
    def closed(self) -> bool:
        return all(fd.closed for fd in self._fds)

    def detach(self) -> None:
        """BPF_LINK_DETACH: detach now even if another process holds a copy of the link (pinned)."""
        if self.bpf_link and not self.closed:
            commands.link_detach(self.fd)
        self.close()

    def pin(self, path: str) -> None:
        """Pin a BPF link on bpffs so the program stays attached after this process exits."""
        if not self.bpf_link:
            raise TinyBPFError(f"{self.target}: only BPF links can be pinned", "this attachment has no link fd")
        commands.obj_pin(self.fd, path)

    def close(self) -> None:
        for fd in reversed(self._fds):
            fd.close()
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback()

    def __enter__(self: L) -> L:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "attached"
        return f"{type(self).__name__}({self.target!r}, {state})"


def program_fd(program: Any) -> int:
    """The descriptor of a ``Program`` or a raw program fd."""
    return program if isinstance(program, int) else int(program.fd)
