"""``tinybpf daemon``: a foreground process serving the REST API, SSE events, /metrics and the web UI.

It listens on a unix socket (mode 0660, group configurable) where file permissions are the access
control, and on TCP only when asked and then only with a bearer token or mutual TLS (client certificates
signed by a given CA). On start it adopts what is
still pinned and re-applies what a reboot lost; killed (even with SIGKILL) it detaches nothing, since
every program and link is held by its bpffs pin, not by this process.
"""
from __future__ import annotations

import grp
import hmac
import http.server
import json
import os
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from importlib import resources
from typing import Any, Optional

from .. import __version__
from . import api, metrics, pins, script
from .errors import ModuleError
from .fleet import Follower
from .node import Node
from .settings import Settings

_UI_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
             ".svg": "image/svg+xml"}
_PEERCRED = struct.Struct("3i")


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Daemon:
    def __init__(self, settings: Settings, *, tcp: str = "", token: str = "", group: str = "",
                 follow: Optional[dict[str, Any]] = None, tls: Optional[ssl.SSLContext] = None) -> None:
        if tcp and not token and tls is None:
            raise ModuleError("refusing to listen on TCP without a bearer token or mutual TLS",
                              "pass --token-file FILE or --tls-cert/--tls-key/--tls-client-ca (or use the unix socket)")
        self.tls = tls
        self.settings = settings
        self.token = token
        self.group = group
        self.tcp = tcp
        self.node = Node(settings, "daemon")
        self.lock = threading.Lock()
        self.servers: list[socketserver.BaseServer] = []
        self.stopping = threading.Event()
        self._stats: Any = None
        self.follow = follow
        self.follower: Optional[Follower] = None

    # ----- lifetime -----

    def start(self) -> list[str]:
        from ..programs import enable_run_stats

        with self.lock:
            lines = self.node.adopt()
        try:
            self._stats = enable_run_stats()
        except Exception:  # kernels before 5.8: run counts stay 0
            self._stats = None
        self.servers.append(self._unix_server())
        if self.tcp:
            host, _, port = self.tcp.rpartition(":")
            tcp_server = _TCPServer((host or "127.0.0.1", int(port)), self._handler(tcp=True))
            if self.tls is not None:
                tcp_server.socket = self.tls.wrap_socket(tcp_server.socket, server_side=True)
            self.servers.append(tcp_server)
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True, name="tinybpf-http").start()
        if self.follow:
            options = dict(self.follow)
            interval = float(options.pop("interval", 5.0))
            self.follower = Follower(self.node, options.pop("reference"), lock=self.lock, **options)
            threading.Thread(target=self.follower.run, args=(self.stopping, interval), daemon=True,
                             name="tinybpf-follow").start()
        self.node.state.audit("daemon start", self.settings.socket, result="; ".join(lines) or "nothing to adopt",
                              who="daemon")
        return lines

    def _unix_server(self) -> _UnixServer:
        path = self.settings.socket
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(path)
                probe.close()
                raise ModuleError(f"a daemon already listens on {path}", "stop it first")
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)
            finally:
                probe.close()
        old = os.umask(0o117)
        try:
            server = _UnixServer(path, self._handler(tcp=False))
        finally:
            os.umask(old)
        os.chmod(path, 0o660)
        if self.group:
            try:
                os.chown(path, -1, grp.getgrnam(self.group).gr_gid)
            except KeyError:
                server.server_close()
                raise ModuleError(f"no group {self.group!r} for the socket", "create it or pass another --group") \
                    from None
        return server

    @property
    def tcp_address(self) -> tuple[str, int]:
        server = self.servers[1]
        assert isinstance(server, _TCPServer)
        host, port = server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self.stopping.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()
        if os.path.exists(self.settings.socket):
            os.unlink(self.settings.socket)
        if self._stats is not None:
            self._stats.close()
        self.node.state.audit("daemon stop", self.settings.socket, who="daemon")
        self.node.close()

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; what is attached stays attached."""
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        for line in self.start():
            sys.stderr.write(f"tinybpf daemon: {line}\n")
        sys.stderr.write(f"tinybpf daemon: listening on {self.settings.socket}"
                         + (f" and {self.tcp}" if self.tcp else "") + "\n")
        try:
            while not self.stopping.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        self.stop()
        return 0

    # ----- requests -----

    def metrics_text(self) -> str:
        out = metrics.Exposition()
        with self.lock:
            running: list[tuple[str, dict[str, str], dict[str, Any]]] = []
            records = self.node.state.modules()
            for record in records:
                if record.kind == "bpftrace":
                    metrics.collect_script(record.name, script.printed_maps(self.node.log_path(record.name)), out)
                    continue
                if record.kind == "pinned":
                    adopted = {n: pin for n, (pin, _) in pins.foreign_programs(record.pin_dir).items()}
                    running.append((record.name, adopted, {}))
                    continue
                held = pins.pinned(record.pin_dir)
                try:
                    views = self.node.maps(record.name)
                except ModuleError:
                    views = {}
                running.append((record.name, held.programs, views))
            metrics.collect(running, out)
        out.add("tinybpf_modules", "gauge", "Modules loaded on this node.", {}, len(records))
        return out.text()

    def _handler(self, tcp: bool) -> type[http.server.BaseHTTPRequestHandler]:
        daemon = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = f"tinybpf/{__version__}"
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def address_string(self) -> str:
                return "unix" if not tcp else str(self.client_address[0])

            def _who(self) -> str:
                if tcp:
                    subject = _peer_subject(self.request)
                    return f"{subject}@{self.client_address[0]}" if subject else f"token@{self.client_address[0]}"
                try:
                    pid, uid, _ = _PEERCRED.unpack(self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                           _PEERCRED.size))
                    return f"uid {uid} (pid {pid})"
                except OSError:
                    return "unix"

            def _authorized(self) -> bool:
                if not tcp or _peer_subject(self.request):
                    return True  # unix socket: file permissions; TLS: the CA vouched for the client
                if not daemon.token:
                    return False
                sent = self.headers.get("Authorization", "")
                cookie = self.headers.get("Cookie", "")
                token = sent[7:] if sent.startswith("Bearer ") else ""
                if not token and "tinybpf_token=" in cookie:
                    token = cookie.split("tinybpf_token=", 1)[1].split(";", 1)[0]
                return hmac.compare_digest(token.encode(), daemon.token.encode())

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer realm="tinybpf"')
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, value: Any) -> None:
                self._send(status, json.dumps(value, default=str).encode() + b"\n")

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                if not length:
                    return {}
                value = json.loads(self.rfile.read(length))
                if not isinstance(value, dict):
                    raise ValueError("the body must be a JSON object")
                return value

            def _route(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                if path in ("/", "/ui") or path.startswith("/ui/"):
                    return self._ui(path)
                if not self._authorized():
                    return self._json(401, {"error": "missing or wrong bearer token"})
                if method == "GET" and path == "/openapi.json":
                    return self._json(200, api.openapi(__version__))
                if method == "GET" and path == "/metrics":
                    return self._send(200, daemon.metrics_text().encode(), "text/plain; version=0.0.4")
                if method == "GET" and path == "/v1/follow":
                    return self._json(200, daemon.follower.status.to_dict() if daemon.follower else None)
                if method == "GET" and path == "/v1/events":
                    return self._events()
                if method == "GET" and path.startswith("/v1/modules/") and path.endswith("/events"):
                    return self._ring(path.split("/")[3], path.split("/")[5])
                try:
                    body = self._body()
                except ValueError as exc:
                    return self._json(400, {"error": f"malformed JSON body: {exc}"})
                if method == "GET":
                    body = {**dict(p.split("=", 1) for p in query.split("&") if "=" in p), **body}
                with daemon.lock:
                    daemon.node.who = self._who()
                    status, value = api.dispatch(daemon.node, method, path, body)
                self._json(status, value)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PUT(self) -> None:
                self._route("PUT")

            def do_DELETE(self) -> None:
                self._route("DELETE")

            def _ui(self, path: str) -> None:
                name = path[len("/ui/"):] if path.startswith("/ui/") else ""
                name = name or "index.html"
                if "/" in name or name.startswith("."):
                    return self._json(404, {"error": "no such file"})
                try:
                    data = resources.files("tinybpf.modules").joinpath("ui", name).read_bytes()
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                    return self._json(404, {"error": "no such file"})
                self._send(200, data, _UI_TYPES.get(os.path.splitext(name)[1], "application/octet-stream"))

            def _stream_start(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            def _events(self) -> None:
                """The audit log as it grows, one SSE ``change`` event per row."""
                self._stream_start()
                last = 0
                try:
                    while not daemon.stopping.is_set():
                        with daemon.lock:
                            rows = [r for r in daemon.node.state.audit_log(50) if r["id"] > last]
                        for row in rows:
                            last = row["id"]
                            self.wfile.write(f"id: {last}\nevent: change\ndata: {json.dumps(row)}\n\n".encode())
                        self.wfile.write(b": keep-alive\n\n")
                        self.wfile.flush()
                        time.sleep(0.5)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def _ring(self, module: str, map_name: str) -> None:
                """A module's ring buffer map, each record an SSE ``record`` event (hex)."""
                from ..events.ringbuf import RingBuffer

                try:
                    with daemon.lock:
                        view = daemon.node.map_view(module, map_name)
                    ring_map = view.open()
                    ring = RingBuffer(ring_map)
                except Exception as exc:
                    return self._json(400, {"error": str(exc)})
                self._stream_start()
                try:
                    while not daemon.stopping.is_set():
                        for record in ring.records(timeout=0.5):
                            self.wfile.write(f"event: record\ndata: {bytes(record).hex()}\n\n".encode())
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    ring.close()
                    ring_map.close()

        return Handler


def _peer_subject(connection: Any) -> str:
    """The CN of a verified TLS client certificate ("" without one)."""
    if not isinstance(connection, ssl.SSLSocket):
        return ""
    certificate: Any = connection.getpeercert() or {}
    for rdn in certificate.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return f"cn={value}"
    return "cn=?" if certificate else ""


def tls_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    """A server context that demands a client certificate signed by ``client_ca`` (mutual TLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
        context.load_verify_locations(client_ca)
    except (OSError, ssl.SSLError) as exc:
        raise ModuleError(f"TLS set-up failed: {exc}", "check --tls-cert, --tls-key and --tls-client-ca") from None
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def read_token(path: Optional[str]) -> str:
    if not path:
        return ""
    try:
        with open(path) as f:
            token = f.read().strip()
    except OSError as exc:
        raise ModuleError(f"{path}: cannot read the token ({exc.strerror})") from None
    if len(token) < 16:
        raise ModuleError(f"{path}: the token is too short (at least 16 characters)")
    return token
