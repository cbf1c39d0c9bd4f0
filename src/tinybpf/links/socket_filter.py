"""Socket filter programs (BPF_PROG_TYPE_SOCKET_FILTER) on a socket, with SO_ATTACH_BPF.

``attach_raw_socket`` is BCC's ``attach_raw_socket``: a raw AF_PACKET socket bound to an interface
that sees every packet crossing it, with the program attached. Requires Linux 3.19.
"""
from __future__ import annotations

import socket
from typing import Any, Union

from .link import Link, program_fd

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27  # SO_DETACH_FILTER
ETH_P_ALL = 0x0003


class SocketFilterLink(Link):
    """A program on a socket. ``socket`` is the filtered socket; closing the link detaches the program
    and closes the socket when the link opened it."""

    def __init__(self, sock: socket.socket, target: str, owns_socket: bool) -> None:
        super().__init__([], target, on_close=self._detach)
        self.socket = sock
        self._owns_socket = owns_socket
        self._attached = True

    @property
    def fd(self) -> int:
        return self.socket.fileno()

    @property
    def closed(self) -> bool:
        return not self._attached

    def _detach(self) -> None:
        self._attached = False
        if self._owns_socket:
            self.socket.close()
        elif self.socket.fileno() >= 0:
            self.socket.setsockopt(socket.SOL_SOCKET, SO_DETACH_BPF, 0)


def attach_socket_filter(program: Any, sock: Union[socket.socket, int]) -> SocketFilterLink:
    """Filter ``sock`` (a socket or its fd) with ``program``; the socket stays open after close()."""
    if isinstance(sock, int):
        sock = socket.socket(fileno=sock)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, program_fd(program))
    return SocketFilterLink(sock, f"socket fd {sock.fileno()}", owns_socket=False)


def attach_raw_socket(program: Any, interface: str, blocking: bool = False) -> SocketFilterLink:
    """Open a raw AF_PACKET socket on ``interface`` (``lo``, ``eth0``) that ``program`` filters.

    Receive on ``link.socket``: the program's return value is how many bytes of each packet the
    socket gets (0 drops it).
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.htons(ETH_P_ALL))
    try:
        sock.setblocking(blocking)
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, program_fd(program))
        sock.bind((interface, ETH_P_ALL))
    except BaseException:
        sock.close()
        raise
    return SocketFilterLink(sock, f"raw socket on {interface}", owns_socket=True)
