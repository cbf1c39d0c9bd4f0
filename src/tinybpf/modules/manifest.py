"""The module format: an OCI image manifest with tinybpf's ``artifactType``, a JSON config and one payload.

A payload is a BPF object, C source (compiled on the node by ``tinybpf cc``) or a bpftrace script
(compiled on the node by the trace compiler). Manifests are canonical JSON with no time stamps, so the
same inputs always give the same digest. Two foreign formats are read too: bpfman's bytecode images
(``io.ebpf.programs``/``io.ebpf.maps`` labels, one tar+gzip layer holding the ``.o``) and BumbleBee's
(a raw object layer of media type ``application/ebpf.oci.image.program.v1+binary``).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
from collections.abc import Mapping
from typing import Any, Callable

from .errors import ModuleError

ARTIFACT_TYPE = "application/vnd.tinybpf.module.v1"
CONFIG_TYPE = "application/vnd.tinybpf.module.config.v1+json"
PAYLOAD_TYPES = {
    "object": "application/vnd.tinybpf.module.object.v1",
    "c": "application/vnd.tinybpf.module.csource.v1",
    "bpftrace": "application/vnd.tinybpf.module.bpftrace.v1",
}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
TAR_GZIP_LAYERS = ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip")
BUMBLEBEE_CONFIG = "application/ebpf.oci.image.config.v1+json"
BUMBLEBEE_PROGRAM = "application/ebpf.oci.image.program.v1+binary"
BPFMAN_LABEL_PREFIX = "io.ebpf."  # io.ebpf.programs / io.ebpf.maps, or the older io.ebpf.program_type...
TITLE = "org.opencontainers.image.title"
SUFFIXES = {".o": "object", ".c": "c", ".bt": "bpftrace"}
MAX_JSON = 4 << 20


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces: the bytes (and so the digest) depend on the content only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, annotations: Mapping[str, str] = {}) -> dict[str, Any]:
    found: dict[str, Any] = {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}
    if annotations:
        found["annotations"] = dict(annotations)
    return found


def verify(data: bytes, digest: str, where: str, size: int = -1) -> None:
    """Refuse bytes whose sha256 (or size) is not what their descriptor says."""
    if not digest.startswith("sha256:"):
        raise ModuleError(f"{where}: unsupported digest algorithm {digest.split(':')[0]!r}")
    if (size >= 0 and len(data) != size) or sha256_digest(data) != digest:
        raise ModuleError(f"{where}: digest mismatch (got {sha256_digest(data)[:19]}..., {len(data)} bytes)",
                          "the registry or the network altered the content; nothing was stored")


@dataclasses.dataclass(frozen=True)
class ProgramDecl:
    """A program the module holds: its kernel type and where it attaches by default (its section)."""

    name: str
    type: str
    attach: str = ""


@dataclasses.dataclass(frozen=True)
class ModuleConfig:
    """What the config blob says about a module; ``kind`` names the payload (object, c, bpftrace)."""

    name: str
    version: str
    kind: str
    description: str = ""
    license: str = ""
    programs: tuple[ProgramDecl, ...] = ()
    maps: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    pin: str = "always"
    arches: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        value = dataclasses.asdict(self)
        value["parameters"] = dict(self.parameters)
        return canonical_json(value)

    @classmethod
    def from_json(cls, data: bytes, where: str) -> ModuleConfig:
        raw = _json(data, where)
        try:
            programs = tuple(ProgramDecl(**p) for p in raw.get("programs", ()))
            config = cls(name=str(raw["name"]), version=str(raw.get("version", "")), kind=str(raw["kind"]),
                         description=str(raw.get("description", "")), license=str(raw.get("license", "")),
                         programs=programs, maps=tuple(raw.get("maps", ())),
                         parameters=dict(raw.get("parameters", {})), pin=str(raw.get("pin", "always")),
                         arches=tuple(raw.get("arches", ())))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModuleError(f"{where}: malformed module config ({exc})",
                              "rebuild it with `tinybpf module build`") from None
        if config.kind not in PAYLOAD_TYPES:
            raise ModuleError(f"{where}: unknown module kind {config.kind!r}",
                              f"known: {', '.join(PAYLOAD_TYPES)}")
        return config


@dataclasses.dataclass(frozen=True)
class Module:
    """A module read from an image: its config, the payload bytes and which format it came in."""

    config: ModuleConfig
    payload: bytes
    digest: str
    source_format: str = "tinybpf"

    @property
    def name(self) -> str:
        return self.config.name


@dataclasses.dataclass(frozen=True)
class Image:
    """A manifest and the blobs it names, as pushed to or pulled from a registry or the store."""

    manifest: bytes
    blobs: Mapping[str, bytes]
    media_type: str = OCI_MANIFEST
    children: tuple[Image, ...] = ()  # an image index's per-arch manifests

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    def for_arch(self, arch: str = "") -> Image:
        """This image, or for an index the manifest of ``arch`` (default: this host's BPF byte order)."""
        if self.media_type != OCI_INDEX:
            return self
        arch = arch or host_arch()
        for entry, child in zip(self.parsed().get("manifests", []), self.children):
            if (entry.get("platform") or {}).get("architecture") == arch:
                return child
        found = ", ".join(str((e.get("platform") or {}).get("architecture")) for e in self.parsed().get("manifests", []))
        raise ModuleError(f"image index {self.digest[:19]}... has no {arch} module (it has: {found})",
                          "build one for this byte order")

    def parsed(self) -> dict[str, Any]:
        return _json(self.manifest, f"manifest {self.digest}")


def host_arch() -> str:
    """The BPF target whose byte order the running kernel expects."""
    return "bpfel" if sys.byteorder == "little" else "bpfeb"


def index(images: list[Image]) -> Image:
    """An image index of per-arch module images (one object per byte order), deterministic like a manifest."""
    entries, seen = [], set()
    for image in images:
        config = ModuleConfig.from_json(image.blobs[image.parsed()["config"]["digest"]], "index entry")
        arch = config.arches[0] if config.arches else ""
        if not arch or arch in seen:
            raise ModuleError(f"an image index needs one object per byte order (got {arch or 'none'} twice)")
        seen.add(arch)
        entries.append({**descriptor(OCI_MANIFEST, image.manifest), "platform": {"architecture": arch, "os": "linux"}})
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": ARTIFACT_TYPE, "manifests": entries}
    return Image(canonical_json(body), {}, OCI_INDEX, tuple(images))


def _json(data: bytes, where: str) -> dict[str, Any]:
    if len(data) > MAX_JSON:
        raise ModuleError(f"{where}: {len(data)} bytes is too large for JSON metadata")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModuleError(f"{where}: malformed JSON ({exc})", "is this an OCI manifest?") from None
    if not isinstance(value, dict):
        raise ModuleError(f"{where}: malformed JSON (expected an object)", "is this an OCI manifest?")
    return value


# ----- building -----------------------------------------------------------------------------------


def compile_c(source: bytes, filename: str) -> bytes:
    """The object ``tinybpf cc`` makes of a C-source module: the one call to switch on when it exists."""
    raise ModuleError(f"{filename}: C-source modules need `tinybpf cc`, which is not built yet",
                      "compile it with clang -target bpf and build the module from the .o")


def kind_of(path: str) -> str:
    for suffix, kind in SUFFIXES.items():
        if path.endswith(suffix):
            return kind
    raise ModuleError(f"{path}: cannot tell the payload kind", "name it *.bpf.o, *.bpf.c or *.bt")


def describe_object(data: bytes, where: str, name: str, kind: str = "object") -> ModuleConfig:
    """The config an object payload implies: programs (type, section), maps, license, arch (bpfel/bpfeb)."""
    from ..elf.objspec import ObjectSpec

    spec = ObjectSpec.from_bytes(data, where)
    programs = tuple(ProgramDecl(p.name or n, p.type.name.lower(), p.section) for n, p in spec.programs.items())
    arch = "bpfeb" if spec.byte_order == "big" else "bpfel"
    return ModuleConfig(name=name, version="", kind=kind, license=spec.license, programs=programs,
                        maps=tuple(spec.maps), arches=(arch,))


def build(path: str, *, name: str = "", version: str = "0.0.0", description: str = "", license: str = "",
          parameters: Mapping[str, Any] = {}) -> Image:
    """A module image from a payload file and metadata; the same inputs give the same manifest digest."""
    try:
        with open(path, "rb") as f:
            payload = f.read()
    except OSError as exc:
        raise ModuleError(f"{path}: cannot read: {exc.strerror}") from None
    kind = kind_of(path)
    base = os.path.basename(path)
    name = name or re.sub(r"[^A-Za-z0-9_-]", "_", base.split(".", 1)[0])[:63]
    if kind == "bpftrace":
        _check_script(payload, path)
        implied = ModuleConfig(name=name, version="", kind=kind)
    else:
        implied = describe_object(compile_c(payload, path) if kind == "c" else payload, path, name, kind)
    config = dataclasses.replace(implied, version=version, description=description,
                                 license=license or implied.license, parameters=dict(parameters))
    return assemble(config, payload, base)


def _check_script(payload: bytes, path: str) -> None:
    from .script import check_at_build

    try:
        source = payload.decode()
    except UnicodeDecodeError:
        raise ModuleError(f"{path}: a bpftrace script must be UTF-8 text") from None
    check_at_build(source, path)


def assemble(config: ModuleConfig, payload: bytes, title: str) -> Image:
    config_bytes = config.to_json()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": descriptor(CONFIG_TYPE, config_bytes),
        "layers": [descriptor(PAYLOAD_TYPES[config.kind], payload, {TITLE: title})],
        "annotations": {"org.opencontainers.image.version": config.version,
                        "org.opencontainers.image.title": config.name},
    }
    blobs = {sha256_digest(config_bytes): config_bytes, sha256_digest(payload): payload}
    return Image(canonical_json(manifest), blobs)


# ----- reading ------------------------------------------------------------------------------------


def read_module(manifest: bytes, blob: Callable[[dict[str, Any]], bytes], where: str) -> Module:
    """The module in ``manifest`` (tinybpf's, bpfman's or BumbleBee's); ``blob(descriptor)`` fetches a blob."""
    digest = sha256_digest(manifest)
    parsed = _json(manifest, where)
    media = parsed.get("mediaType", OCI_MANIFEST)
    if media not in (OCI_MANIFEST, DOCKER_MANIFEST):
        raise ModuleError(f"{where}: wrong media type {media!r} for a module manifest",
                          f"expected {OCI_MANIFEST}")
    config_desc = parsed.get("config")
    layers = parsed.get("layers")
    if not isinstance(config_desc, dict) or not isinstance(layers, list) or not layers:
        raise ModuleError(f"{where}: malformed manifest (no config or no layers)")
    layer_types = [layer.get("mediaType") for layer in layers if isinstance(layer, dict)]
    if parsed.get("artifactType") == ARTIFACT_TYPE or config_desc.get("mediaType") == CONFIG_TYPE:
        config = ModuleConfig.from_json(blob(config_desc), where)
        expected = PAYLOAD_TYPES[config.kind]
        payload_desc = next((layer for layer in layers if layer.get("mediaType") == expected), None)
        if payload_desc is None:
            raise ModuleError(f"{where}: wrong media type: no {expected} layer (found {', '.join(map(str, layer_types))})")
        return Module(config, blob(payload_desc), digest)
    if BUMBLEBEE_PROGRAM in layer_types:
        payload = blob(layers[layer_types.index(BUMBLEBEE_PROGRAM)])
        return Module(describe_object(payload, where, _title(parsed, where)), payload, digest, "bumblebee")
    if config_desc.get("mediaType") in (OCI_CONFIG, DOCKER_CONFIG):
        labels = (_json(blob(config_desc), where).get("config") or {}).get("Labels") or {}
        if any(str(label).startswith(BPFMAN_LABEL_PREFIX) for label in labels):  # v2 io.ebpf.programs or v1 labels
            payload = _object_from_layers(layers, blob, where)
            return Module(describe_object(payload, where, _title(parsed, where)), payload, digest, "bpfman")
    raise ModuleError(f"{where}: wrong media type: not a tinybpf, bpfman or BumbleBee module "
                      f"(layers: {', '.join(map(str, layer_types))})", f"a module's artifactType is {ARTIFACT_TYPE}")


def _title(parsed: dict[str, Any], where: str) -> str:
    annotations = parsed.get("annotations") or {}
    title = str(annotations.get(TITLE) or where.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0])
    return re.sub(r"[^A-Za-z0-9_-]", "_", title.split(".", 1)[0])[:63] or "module"


def _object_from_layers(layers: list[dict[str, Any]], blob: Callable[[dict[str, Any]], bytes], where: str) -> bytes:
    """The first ELF file in a bpfman image's tar(+gzip) layers."""
    for layer in layers:
        data = blob(layer)
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise ModuleError(f"{where}: corrupt gzip layer ({exc})") from None
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member in tar:
                    extracted = tar.extractfile(member) if member.isfile() else None
                    if extracted is not None:
                        content = extracted.read()
                        if content[:4] == b"\x7fELF":
                            return content
        except tarfile.TarError as exc:
            raise ModuleError(f"{where}: corrupt tar layer ({exc})") from None
    raise ModuleError(f"{where}: no BPF object (.o) in the image's layers")
