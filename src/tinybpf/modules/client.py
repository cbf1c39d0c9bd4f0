"""A client of the daemon's REST API over its unix socket or TCP (with the bearer token)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import stat
from typing import Any, Optional

from .errors import ModuleError


def check_socket(path: str) -> None:
    """Refuse a daemon socket anyone could have replaced or may write: world-writable, or not owned by
    root or by us (what a squatter would leave behind)."""
    try:
        info = os.stat(path)
    except OSError:
        return
    if info.st_mode & 0o002 or info.st_uid not in (0, os.getuid()):
        raise ModuleError(f"daemon socket {path} has unsafe permissions ({stat.filemode(info.st_mode)}, "
                          f"uid {info.st_uid}): refusing to talk to it",
                          "only the daemon (root) may own it; mode 0660")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        check_socket(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class DaemonClient:
    def __init__(self, socket_path: str = "", *, tcp: str = "", token: str = "", timeout: float = 60.0,
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self.socket_path, self.tcp, self.token, self.timeout, self.tls = socket_path, tcp, token, timeout, tls

    def _connection(self) -> http.client.HTTPConnection:
        if self.tcp and self.tls is not None:
            return http.client.HTTPSConnection(self.tcp, timeout=self.timeout, context=self.tls)
        if self.tcp:
            return http.client.HTTPConnection(self.tcp, timeout=self.timeout)
        return _UnixConnection(self.socket_path, self.timeout)

    def request(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> tuple[int, bytes]:
        conn = self._connection()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
            response = conn.getresponse()
            return response.status, response.read()
        except PermissionError:
            raise ModuleError(f"daemon socket {self.socket_path}: permission denied",
                              "join the socket's group or run as root") from None
        except OSError as exc:
            raise ModuleError(f"daemon unreachable: {exc.strerror or exc}", "is `tinybpf daemon` running?") from None
        finally:
            conn.close()

    def call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        """The JSON answer; a one-line ModuleError carrying the daemon's error otherwise."""
        status, data = self.request(method, path, body)
        value = json.loads(data) if data else None
        if status != 200:
            message = value.get("error") if isinstance(value, dict) else data.decode(errors="replace")
            raise ModuleError(f"daemon: {message}")
        return value
