"""Keyed module signatures stored the way cosign does without the referrers API.

The signature of manifest ``sha256:HEX`` is an OCI image tagged ``sha256-HEX.sig`` in the same
repository; each layer is a "simple signing" JSON payload naming that digest, with the Ed25519
signature of the payload in the layer's ``dev.cosignproject.cosign/signature`` annotation (base64).
Verification accepts a module when one layer's payload names its digest and its signature checks
against a key of the trust store (a directory of ``*.pub`` PEM files).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from . import ed25519
from .errors import ModuleError
from .manifest import OCI_CONFIG, OCI_MANIFEST, Image, canonical_json, descriptor, sha256_digest

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
KEY_ANNOTATION = "dev.tinybpf.signature.key"
_EMPTY_CONFIG = b"{}"


def signature_tag(digest: str) -> str:
    """cosign's tag-fallback name: ``sha256:HEX`` -> ``sha256-HEX.sig``."""
    return digest.replace(":", "-", 1) + ".sig"


def key_id(public: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public).hexdigest()[:16]


def read_key(path: str, want: str) -> bytes:
    """The seed (``want="private"``) or public key in an Ed25519 PEM file; one line when it is not one."""
    try:
        with open(path) as f:
            kind, key = ed25519.read_pem(f.read())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModuleError(f"{path}: cannot read an Ed25519 key ({exc})",
                          "make one with `tinybpf module keygen NAME`") from None
    if kind == "private" and want == "public":
        return ed25519.public_key(key)
    if kind != want:
        raise ModuleError(f"{path}: is a {kind} key, a {want} key is needed")
    return key


def generate(prefix: str) -> tuple[str, str]:
    """Write ``PREFIX.key`` (0600) and ``PREFIX.pub``; the paths."""
    seed = ed25519.generate_seed()
    private, public = prefix + ".key", prefix + ".pub"
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ed25519.private_pem(seed))
    with open(public, "w") as f:
        f.write(ed25519.public_pem(ed25519.public_key(seed)))
    return private, public


def payload(reference: str, digest: str) -> bytes:
    return canonical_json({"critical": {"identity": {"docker-reference": reference},
                                        "image": {"docker-manifest-digest": digest},
                                        "type": "cosign container image signature"},
                           "optional": None})


def sign(digest: str, reference: str, seed: bytes, existing: Optional[Image] = None) -> Image:
    """The signature image for ``digest``, adding a layer to ``existing`` signatures when given."""
    body = payload(reference, digest)
    public = ed25519.public_key(seed)
    annotations = {SIGNATURE_ANNOTATION: base64.b64encode(ed25519.sign(seed, body)).decode(),
                   KEY_ANNOTATION: key_id(public)}
    layers: list[dict[str, Any]] = []
    blobs: dict[str, bytes] = {sha256_digest(_EMPTY_CONFIG): _EMPTY_CONFIG, sha256_digest(body): body}
    if existing is not None:
        for layer in existing.parsed().get("layers", []):
            if layer.get("annotations", {}).get(KEY_ANNOTATION) != key_id(public):
                layers.append(layer)
                blobs[layer["digest"]] = existing.blobs[layer["digest"]]
    layers.append(descriptor(SIMPLE_SIGNING, body, annotations))
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, _EMPTY_CONFIG),
                "layers": layers}
    return Image(canonical_json(manifest), blobs)


def trust(directory: str, key_path: str) -> str:
    """Add the public key of ``key_path`` (public or private PEM) to the trust store; its key id."""
    public = read_key(key_path, "public")
    kid = key_id(public)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, kid.replace(":", "-") + ".pub"), "w") as f:
        f.write(ed25519.public_pem(public))
    return kid


def trusted_keys(directory: str, extra: Iterable[str] = ()) -> dict[str, bytes]:
    """Key id -> public key for every ``*.pub`` in the trust store, plus ``extra`` key files."""
    paths = [os.path.join(directory, n) for n in sorted(os.listdir(directory)) if n.endswith(".pub")] \
        if os.path.isdir(directory) else []
    keys = {}
    for path in [*paths, *extra]:
        public = read_key(path, "public")
        keys[key_id(public)] = public
    return keys


def verify(digest: str, signatures: Optional[Image], keys: Mapping[str, bytes], where: str) -> str:
    """The id of the trusted key that signed ``digest``; ModuleError (one line) when none did."""
    if not keys:
        raise ModuleError(f"{where}: no trusted keys to verify against",
                          "add a public key to the trust store (`tinybpf module trust KEY.pub`) or pass --no-verify")
    if signatures is None:
        raise ModuleError(f"{where}: unsigned module ({signature_tag(digest)} not found), nothing loaded",
                          "sign it with `tinybpf module sign`, or pass --no-verify to trust it anyway")
    for layer in signatures.parsed().get("layers", []):
        body = signatures.blobs.get(layer.get("digest", ""))
        annotation = layer.get("annotations", {}).get(SIGNATURE_ANNOTATION)
        if body is None or not annotation:
            continue
        try:
            named = json.loads(body)["critical"]["image"]["docker-manifest-digest"]
            signature = base64.b64decode(annotation)
        except (ValueError, KeyError, TypeError):
            continue
        if named != digest:
            continue
        for kid, public in keys.items():
            if ed25519.verify(public, body, signature):
                return kid
    raise ModuleError(f"{where}: signature check failed for {digest[:19]}... (tampered, or signed by an "
                      "untrusted key), nothing loaded", "trust the signer's key or re-sign the module")
