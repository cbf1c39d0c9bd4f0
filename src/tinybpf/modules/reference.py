"""Image references: ``registry/repository[:tag][@digest]``, parsed and checked the way the distribution
spec names them (no network: what every command needs before it talks to a registry)."""
from __future__ import annotations

import dataclasses
import re

from .errors import ModuleError

_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclasses.dataclass(frozen=True)
class Reference:
    """``registry/repository[:tag][@digest]``; ``reference`` is what the manifest URL ends with."""

    registry: str
    repository: str
    tag: str = "latest"
    digest: str = ""

    @property
    def reference(self) -> str:
        return self.digest or self.tag

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}" + (f"@{self.digest}" if self.digest else f":{self.tag}")

    def with_tag(self, tag: str) -> Reference:
        return dataclasses.replace(self, tag=tag, digest="")

    @classmethod
    def parse(cls, text: str, default_registry: str = "") -> Reference:
        rest, _, digest = text.partition("@")
        first, slash, remainder = rest.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, rest = first, remainder
        elif default_registry:
            registry = default_registry
        else:
            raise ModuleError(f"{text!r} names no registry",
                              "write HOST[:PORT]/NAME[:TAG] or set default_registry in the module settings")
        repository, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
        if not _REPOSITORY.match(repository):
            raise ModuleError(f"{text!r}: {repository!r} is not a valid repository name",
                              "lower-case letters, digits and . _ - separated by /")
        if tag and not _TAG.match(tag):
            raise ModuleError(f"{text!r}: {tag!r} is not a valid tag")
        if digest and not _DIGEST.match(digest):
            raise ModuleError(f"{text!r}: {digest!r} is not a sha256 digest")
        return cls(registry, repository, tag or "latest", digest)
