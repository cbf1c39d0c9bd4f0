"""An OCI distribution API client on ``http.client``: push, pull, tag, list, delete, inspect.

Blobs are pushed whole (POST for an upload URL, one PUT with ``?digest=``) after a HEAD shows the
registry lacks them; every blob and manifest pulled is checked against its digest before anyone sees it.
Plain HTTP only with ``insecure`` (for loopback test registries); Basic and Bearer-token auth answer the
registry's ``WWW-Authenticate`` challenge.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.parse
from typing import Any, Optional

from .auth import Credentials, docker_config_credentials, parse_challenge
from .errors import ModuleError, RegistryError
from .manifest import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Image, sha256_digest, verify
from .reference import Reference
from .settings import Settings

ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX))


class Registry:
    """One registry host; keeps one connection alive and the bearer token of each scope it was granted."""

    def __init__(self, host: str, *, insecure: bool = False, credentials: Optional[Credentials] = None,
                 timeout: float = 30.0) -> None:
        self.host = host
        self.insecure = insecure
        self.credentials = credentials
        self.timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None
        self._tokens: dict[str, str] = {}
        self._basic = False

    @classmethod
    def for_reference(cls, ref: Reference, settings: Settings, insecure: bool = False) -> Registry:
        credentials = settings.auth.get(ref.registry) or docker_config_credentials(ref.registry)
        return cls(ref.registry, insecure=insecure or ref.registry in settings.insecure, credentials=credentials)

    # ----- transport -----

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.insecure:
                self._conn = http.client.HTTPConnection(self.host, timeout=self.timeout)
            else:
                self._conn = http.client.HTTPSConnection(self.host, timeout=self.timeout,
                                                         context=ssl.create_default_context())
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send(self, method: str, url: str, body: Optional[bytes], headers: dict[str, str]
              ) -> http.client.HTTPResponse:
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
            except ssl.SSLError as exc:
                self.close()
                raise RegistryError(f"registry {self.host}: TLS failed ({exc.reason})",
                                    "use --insecure for a plain-HTTP loopback registry") from None
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, scope: str, body: Optional[bytes] = None,
                headers: Optional[dict[str, str]] = None, ok: tuple[int, ...] = (200,)) -> tuple[int, dict[str, str], bytes]:
        """One call, answering a 401 challenge once; returns status, lower-cased headers and body."""
        sent = dict(headers or {})
        for attempt in (0, 1):
            auth = self._authorization(scope)
            if auth:
                sent["Authorization"] = auth
            try:
                response = self._send(method, path, body, sent)
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise RegistryError(f"registry {self.host} unreachable: {_reason(exc)}",
                                    "is it running? (plain HTTP needs --insecure)") from None
            found = {k.lower(): v for k, v in response.getheaders()}
            if response.status == 401 and attempt == 0 and self._answer(found.get("www-authenticate", ""), scope):
                continue
            if response.status not in ok:
                raise RegistryError(f"registry {self.host}: {method} {path.split('?')[0]}: "
                                    f"{response.status} {_error_text(data) or response.reason}",
                                    _status_hint(response.status), response.status)
            return response.status, found, data
        raise AssertionError("unreachable")

    def _authorization(self, scope: str) -> str:
        if scope in self._tokens:
            return "Bearer " + self._tokens[scope]
        if self._basic and self.credentials:
            return self.credentials.basic()
        return ""

    def _answer(self, header: str, scope: str) -> bool:
        challenge = parse_challenge(header)
        if challenge is None or (self.credentials is None and challenge.scheme == "basic"):
            return False
        if challenge.scheme == "basic":
            self._basic = True
            return True
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            return False
        if self.credentials is not None and self.credentials.token:
            self._tokens[scope] = self.credentials.token
            return True
        self._tokens[scope] = self._fetch_token(challenge.params, scope)
        return True

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        realm = urllib.parse.urlsplit(params["realm"])
        query = {"service": params.get("service", ""), "scope": scope}
        conn_type = http.client.HTTPSConnection if realm.scheme == "https" else http.client.HTTPConnection
        conn = conn_type(realm.netloc, timeout=self.timeout)
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        try:
            conn.request("GET", f"{realm.path}?{urllib.parse.urlencode(query)}", headers=headers)
            response = conn.getresponse()
            body = response.read()
        except OSError as exc:
            raise RegistryError(f"token service {realm.netloc} unreachable: {_reason(exc)}") from None
        finally:
            conn.close()
        if response.status != 200:
            raise RegistryError(f"token service {realm.netloc}: {response.status} {response.reason}",
                                "check the registry credentials", response.status)
        try:
            answer = json.loads(body)
            return str(answer.get("token") or answer["access_token"])
        except (ValueError, KeyError):
            raise RegistryError(f"token service {realm.netloc}: answer has no token") from None

    # ----- blobs -----

    def blob_exists(self, repository: str, digest: str) -> bool:
        status, _, _ = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", _pull(repository), ok=(200, 404))
        return status == 200

    def push_blob(self, repository: str, data: bytes) -> bool:
        """Upload ``data`` unless the registry has it (HEAD); True when it was sent."""
        digest = sha256_digest(data)
        if self.blob_exists(repository, digest):
            return False
        scope = _push(repository)
        _, headers, _ = self.request("POST", f"/v2/{repository}/blobs/uploads/", scope, b"",
                                     {"Content-Length": "0"}, ok=(202,))
        location = headers.get("location", "")
        if not location:
            raise RegistryError(f"registry {self.host}: upload started without a Location")
        parts = urllib.parse.urlsplit(location)
        query = f"{parts.query}&" if parts.query else ""
        url = f"{parts.path}?{query}digest={urllib.parse.quote(digest)}"
        self.request("PUT", url, scope, data, {"Content-Type": "application/octet-stream",
                                                "Content-Length": str(len(data))}, ok=(201, 204))
        return True

    def get_blob(self, repository: str, digest: str, size: int = -1) -> bytes:
        _, _, data = self.request("GET", f"/v2/{repository}/blobs/{digest}", _pull(repository))
        verify(data, digest, f"{self.host}/{repository}@{digest}", size)
        return data

    # ----- manifests -----

    def put_manifest(self, repository: str, reference: str, manifest: bytes, media_type: str = OCI_MANIFEST) -> str:
        self.request("PUT", f"/v2/{repository}/manifests/{reference}", _push(repository), manifest,
                     {"Content-Type": media_type}, ok=(201, 200))
        return sha256_digest(manifest)

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The manifest bytes and media type; checked against the digest asked for or the one announced."""
        _, headers, data = self.request("GET", f"/v2/{repository}/manifests/{reference}", _pull(repository),
                                        headers={"Accept": ACCEPT})
        expected = reference if reference.startswith("sha256:") else headers.get("docker-content-digest", "")
        if expected:
            verify(data, expected, f"{self.host}/{repository}:{reference}")
        return data, headers.get("content-type", OCI_MANIFEST).split(";")[0]

    def manifest_digest(self, repository: str, reference: str) -> Optional[str]:
        """HEAD of a manifest: its digest, or None when the tag does not exist."""
        status, headers, _ = self.request("HEAD", f"/v2/{repository}/manifests/{reference}", _pull(repository),
                                          headers={"Accept": ACCEPT}, ok=(200, 404))
        return headers.get("docker-content-digest") if status == 200 else None

    def delete_manifest(self, repository: str, digest: str) -> None:
        self.request("DELETE", f"/v2/{repository}/manifests/{digest}", f"repository:{repository}:delete",
                     ok=(202, 200))

    def tags(self, repository: str) -> list[str]:
        _, _, data = self.request("GET", f"/v2/{repository}/tags/list", _pull(repository), ok=(200,))
        return sorted(json.loads(data).get("tags") or [])

    def catalog(self) -> list[str]:
        _, _, data = self.request("GET", "/v2/_catalog", "registry:catalog:*")
        return sorted(json.loads(data).get("repositories") or [])

    # ----- whole images -----

    def push(self, repository: str, tag: str, image: Image) -> tuple[str, int]:
        """Blobs first (skipping those present), then the manifest; the digest and how many blobs were sent."""
        sent = 0
        for child in image.children:
            sent += self.push(repository, child.digest, child)[1]
        sent += sum(self.push_blob(repository, data) for data in image.blobs.values())
        return self.put_manifest(repository, tag, image.manifest, image.media_type), sent

    def pull(self, repository: str, reference: str) -> Image:
        """A manifest and its blobs, or an index and each of its manifests; every digest checked."""
        manifest, media_type = self.get_manifest(repository, reference)
        if media_type == OCI_INDEX:
            try:
                entries = json.loads(manifest)["manifests"]
                children = tuple(self.pull(repository, str(e["digest"])) for e in entries)
            except (ValueError, KeyError, TypeError):
                raise ModuleError(f"{self.host}/{repository}:{reference}: malformed image index") from None
            return Image(manifest, {}, OCI_INDEX, children)
        try:
            parsed = json.loads(manifest)
            descriptors = [parsed["config"], *parsed["layers"]]
        except (ValueError, KeyError, TypeError):
            raise ModuleError(f"{self.host}/{repository}:{reference}: malformed manifest") from None
        blobs = {d["digest"]: self.get_blob(repository, d["digest"], int(d.get("size", -1))) for d in descriptors}
        return Image(manifest, blobs, media_type)


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _error_text(body: bytes) -> str:
    try:
        errors: Any = json.loads(body).get("errors") or []
        return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errors)
    except (ValueError, AttributeError):
        return ""


def _status_hint(status: int) -> str:
    return {401: "log in: set credentials for this registry in the module settings",
            403: "these credentials may not do this",
            404: "check the name and tag (`tinybpf module list REGISTRY/NAME`)",
            405: "the registry does not allow this (deletes need storage.delete.enabled)"}.get(
        status, "the registry failed; try again")
