"""A node following a channel tag (``REGISTRY/NAME:stable``): the registry is the whole control plane.

Each step asks the registry (HEAD) which digest the tag names. A new digest is pulled and verified,
loaded beside the running version (the verifier is the preflight), attached, checked for health, and only
then does the old version go; a digest that fails any of those is remembered as bad and the running
version stays, so a broken push cannot take a fleet down and moving the tag back rolls every node back.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable, Optional

from ..errors import TinyBPFError
from . import pins
from .node import Node
from .registry import Registry


@dataclasses.dataclass
class FollowStatus:
    reference: str
    name: str
    digest: str = ""
    health: str = "starting"
    rejected: dict[str, str] = dataclasses.field(default_factory=dict)
    checked: float = 0.0
    swaps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Follower:
    def __init__(self, node: Node, reference: str, *, name: str = "", insecure: bool = False, verify: bool = True,
                 keys: Iterable[str] = (), lock: Optional[threading.Lock] = None) -> None:
        self.node = node
        self.ref = node.reference(reference)
        self.options: dict[str, Any] = {"insecure": insecure, "verify": verify, "keys": tuple(keys)}
        self.lock = lock or threading.Lock()
        record = node.state.module(name or self.ref.repository.rsplit("/", 1)[-1])
        self.status = FollowStatus(str(self.ref), name or self.ref.repository.rsplit("/", 1)[-1],
                                   record.digest if record else "")

    def step(self) -> FollowStatus:
        """One look at the tag; swap when it names a new, good digest."""
        status = self.status
        status.checked = time.time()
        registry = Registry.for_reference(self.ref, self.node.settings, self.options["insecure"])
        try:
            digest = registry.manifest_digest(self.ref.repository, self.ref.tag)
        except TinyBPFError as exc:
            status.health = f"registry: {exc.message}"
            return status
        finally:
            registry.close()
        if digest is None:
            status.health = f"tag {self.ref.tag} does not exist"
            return status
        if digest == status.digest or digest in status.rejected:
            status.health = "healthy" if self._healthy() else "unhealthy"
            return status
        by_digest = f"{self.ref.registry}/{self.ref.repository}@{digest}"
        try:
            with self.lock:
                self.node.load(by_digest, name=status.name, attach=True, pull=self.options)
                if not self._healthy():
                    raise TinyBPFError("programs or links missing after the swap")
        except TinyBPFError as exc:
            status.rejected[digest] = str(exc)
            self.node.state.audit("follow", status.reference, digest, f"rejected, kept {status.digest[:19]}: {exc}")
            status.health = f"rejected {digest[:19]}...: {exc.message}"
            self._roll_back()
            return status
        status.digest, status.swaps, status.health = digest, status.swaps + 1, "healthy"
        self.node.state.audit("follow", status.reference, digest, "swapped")
        return status

    def _healthy(self) -> bool:
        record = self.node.state.module(self.status.name)
        if record is None:
            return False
        held = pins.pinned(record.pin_dir)
        return bool(held.programs) and (record.status != "attached" or bool(held.links))

    def _roll_back(self) -> None:
        """The previous digest again when the failed swap left the module not running as it was."""
        record = self.node.state.module(self.status.name)
        if record is not None and record.digest == self.status.digest and self._healthy():
            return
        if self.status.digest:
            with self.lock:
                if record is not None:
                    self.node.unload(self.status.name)
                self.node.load(self.status.digest, name=self.status.name, attach=True)
            self.node.state.audit("rollback", self.status.reference, self.status.digest)

    def run(self, stop: threading.Event, interval: float = 5.0,
            report: Callable[[FollowStatus], None] = lambda s: None) -> None:
        while not stop.is_set():
            report(self.step())
            stop.wait(interval)
