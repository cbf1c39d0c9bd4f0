"""A distribution token service for the test registry: checks Basic credentials and issues ES256 JWTs signed
with a key openssl made, which the real docker-registry (auth: token) verifies against the certificate.
Debian ships no token server; the registry's own verification is what the test exercises."""
from __future__ import annotations

import base64
import http.server
import json
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

SERVICE, ISSUER = "tt-registry", "tt-token-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der_to_raw(signature: bytes) -> bytes:
    """An ECDSA DER signature (SEQUENCE of two INTEGERs) as JWS wants it: r || s, 32 bytes each."""
    pos = 2 if signature[1] < 0x80 else 3
    parts = []
    for _ in range(2):
        length = signature[pos + 1]
        parts.append(int.from_bytes(signature[pos + 2:pos + 2 + length], "big").to_bytes(32, "big"))
        pos += 2 + length
    return b"".join(parts)


class TokenService:
    def __init__(self, directory: Path, user: str, password: str) -> None:
        self.key, self.cert = directory / "token.key", directory / "token.crt"
        subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", str(self.key)],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(self.key), "-subj", "/CN=tt-token",
                        "-days", "2", "-out", str(self.cert)], check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.issued = 0
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != service.expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                body = json.dumps({"token": service.token(query.get("scope", [""])[0])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, scope: str) -> str:
        access = []
        if scope:
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"alg": "ES256", "typ": "JWT", "x5c": [self.x5c]}
        claims = {"iss": ISSUER, "sub": "alice", "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": f"tt-{now}-{self.issued}", "access": access}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing_input.encode(),
                             check=True, capture_output=True).stdout
        self.issued += 1
        return f"{signing_input}.{_b64(_der_to_raw(der))}"

    def registry_auth(self) -> str:
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
                f"    rootcertbundle: {self.cert}\n")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
