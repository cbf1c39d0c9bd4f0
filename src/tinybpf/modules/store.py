"""The node's module store: an OCI image layout directory (``oci-layout``, ``index.json``, ``blobs/sha256``).

Blobs are content-addressed and written to a temporary name then renamed, and ``index.json`` is replaced
only after every blob of an image is in place, so a full disk or a crash never leaves a half image named.
The same layout, as a tar file, is what ``module export``/``import`` carry to air-gapped boards; skopeo
and other OCI tools read it as ``oci:DIR``/``oci-archive:FILE``.
"""
from __future__ import annotations

import errno
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from typing import Any, Optional

from .errors import ModuleError
from .manifest import OCI_INDEX, OCI_MANIFEST, Image, canonical_json, verify

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


class Store:
    def __init__(self, path: str) -> None:
        self.path = path

    def _blob_path(self, digest: str) -> str:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
            raise ModuleError(f"store {self.path}: bad digest {digest!r}")
        return os.path.join(self.path, "blobs", "sha256", hexdigest)

    def _write(self, path: str, data: bytes) -> None:
        directory = os.path.dirname(path)
        try:
            os.makedirs(directory, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        except OSError as exc:
            raise self._disk_error(exc) from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except OSError as exc:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise self._disk_error(exc) from None

    def _disk_error(self, exc: OSError) -> ModuleError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return ModuleError(f"store {self.path}: disk full, nothing stored",
                               "free space there or move the state directory (TINYBPF_MODULES_ROOT)")
        return ModuleError(f"store {self.path}: {exc.strerror or exc}", "check the state directory's permissions")

    # ----- index -----

    def index(self) -> list[dict[str, Any]]:
        try:
            with open(os.path.join(self.path, "index.json"), "rb") as f:
                return list(json.loads(f.read()).get("manifests", []))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ModuleError(f"store {self.path}: index.json unreadable ({exc})") from None

    def _save_index(self, manifests: list[dict[str, Any]]) -> None:
        if not os.path.exists(os.path.join(self.path, "oci-layout")):
            self._write(os.path.join(self.path, "oci-layout"), LAYOUT)
        body = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": sorted(manifests, key=lambda m: m.get("annotations", {}).get(REF_NAME, ""))}
        self._write(os.path.join(self.path, "index.json"), canonical_json(body))

    # ----- images -----

    def put(self, image: Image, names: Iterable[str] = ()) -> str:
        """Store every blob, then name the manifest by each of ``names`` (replacing what they named)."""
        for child in image.children:
            self._put_blobs(child)
        self._put_blobs(image)
        names = list(names)
        kept = [m for m in self.index() if m.get("annotations", {}).get(REF_NAME) not in names]
        entries = [{"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest),
                    "annotations": {REF_NAME: name}} for name in names]
        if not names and not any(m["digest"] == image.digest for m in kept):
            entries = [{"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest)}]
        self._save_index(kept + entries)
        return image.digest

    def _put_blobs(self, image: Image) -> None:
        for digest, data in image.blobs.items():
            path = self._blob_path(digest)
            if not os.path.exists(path):
                self._write(path, data)
        self._write(self._blob_path(image.digest), image.manifest)

    def blob(self, digest: str, size: int = -1) -> bytes:
        try:
            with open(self._blob_path(digest), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise ModuleError(f"store {self.path}: blob {digest} is missing",
                              "pull the module again") from None
        verify(data, digest, f"store {self.path}", size)
        return data

    def resolve(self, name: str) -> Optional[str]:
        """The manifest digest a reference or digest names in the store, if any."""
        for entry in self.index():
            if name in (entry.get("annotations", {}).get(REF_NAME), entry["digest"]):
                return str(entry["digest"])
        if name.startswith("sha256:") and os.path.exists(self._blob_path(name)):
            return name
        return None

    def get(self, name: str) -> Image:
        digest = self.resolve(name)
        if digest is None:
            raise ModuleError(f"{name}: not in the module store", "pull it first (`tinybpf module pull`)")
        manifest = self.blob(digest)
        try:
            parsed = json.loads(manifest)
            if parsed.get("mediaType") == OCI_INDEX:
                return Image(manifest, {}, OCI_INDEX, tuple(self.get(e["digest"]) for e in parsed["manifests"]))
            descriptors = [parsed["config"], *parsed.get("layers", [])]
        except (ValueError, KeyError, TypeError):
            raise ModuleError(f"store {self.path}: manifest {digest} is malformed") from None
        blobs = {d["digest"]: self.blob(d["digest"], int(d.get("size", -1))) for d in descriptors}
        return Image(manifest, blobs, parsed.get("mediaType", OCI_MANIFEST))

    def names(self) -> list[tuple[str, str]]:
        """(reference, digest) of every named manifest."""
        return [(m["annotations"][REF_NAME], m["digest"]) for m in self.index() if REF_NAME in m.get("annotations", {})]

    def untag(self, name: str) -> None:
        self._save_index([m for m in self.index() if m.get("annotations", {}).get(REF_NAME) != name])

    # ----- air-gapped transfer -----

    def export(self, names: Iterable[str], path: str) -> int:
        """An OCI image-layout tar of the named images (and their signatures): what ``import`` reads."""
        wanted = set(names)
        entries = [m for m in self.index() if m.get("annotations", {}).get(REF_NAME) in wanted]
        missing = wanted - {m["annotations"][REF_NAME] for m in entries}
        if missing:
            raise ModuleError(f"{sorted(missing)[0]}: not in the module store", "pull it first")
        files: dict[str, bytes] = {"oci-layout": LAYOUT}
        for entry in entries:
            image = self.get(entry["digest"])
            for part in (image, *image.children):
                for digest, data in [(part.digest, part.manifest), *part.blobs.items()]:
                    files["blobs/sha256/" + digest.split(":", 1)[1]] = data
        files["index.json"] = canonical_json({"schemaVersion": 2, "manifests": entries})
        try:
            with tarfile.open(path, "w") as tar:
                for name in sorted(files):
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(files[name]), 0o644
                    tar.addfile(info, io.BytesIO(files[name]))
        except OSError as exc:
            raise ModuleError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
        return len(entries)

    def import_tar(self, path: str) -> list[str]:
        """Every named image of an OCI image-layout tar, each blob checked against its digest first."""
        try:
            with tarfile.open(path) as tar:
                files = {}
                for member in tar:
                    extracted = tar.extractfile(member) if member.isfile() else None
                    if extracted is not None:
                        files[member.name.lstrip("./")] = extracted.read()
        except (OSError, tarfile.TarError) as exc:
            raise ModuleError(f"{path}: not an OCI image-layout tar ({exc})") from None
        if "index.json" not in files:
            raise ModuleError(f"{path}: not an OCI image-layout tar (no index.json)")
        imported = []
        for entry in json.loads(files["index.json"]).get("manifests", []):
            image = _image_from_files(files, entry, path)
            name = entry.get("annotations", {}).get(REF_NAME, "")
            self.put(image, [name] if name else [])
            imported.append(name or image.digest)
        return imported


def _image_from_files(files: dict[str, bytes], entry: dict[str, Any], where: str) -> Image:
    def blob(digest: str) -> bytes:
        data = files.get("blobs/sha256/" + digest.split(":", 1)[-1])
        if data is None:
            raise ModuleError(f"{where}: blob {digest} is missing")
        verify(data, digest, where)
        return data

    manifest = blob(entry["digest"])
    parsed = json.loads(manifest)
    if parsed.get("mediaType") == OCI_INDEX:
        return Image(manifest, {}, OCI_INDEX, tuple(_image_from_files(files, e, where) for e in parsed["manifests"]))
    blobs = {d["digest"]: blob(d["digest"]) for d in [parsed["config"], *parsed.get("layers", [])]}
    return Image(manifest, blobs, entry.get("mediaType", OCI_MANIFEST))
