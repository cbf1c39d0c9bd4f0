"""Where a node keeps modules and which registries it talks to: one JSON file, overridable by environment.

``TINYBPF_MODULES_ROOT`` moves the state directory (store, SQLite DB, audit log, trust store),
``TINYBPF_PIN_ROOT`` the bpffs directory, ``TINYBPF_SOCKET`` the daemon's socket; the file
(``$TINYBPF_MODULES_ROOT/config.json``) names the default registry, mirrors, insecure hosts and credentials.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from .auth import Credentials
from .errors import ModuleError

DEFAULT_ROOT = "/var/lib/tinybpf"
DEFAULT_PIN_ROOT = "/sys/fs/bpf/tinybpf"
DEFAULT_SOCKET = "/run/tinybpf/daemon.sock"


@dataclasses.dataclass
class Settings:
    root: str = DEFAULT_ROOT
    pin_root: str = DEFAULT_PIN_ROOT
    socket: str = DEFAULT_SOCKET
    default_registry: str = ""
    mirrors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    insecure: list[str] = dataclasses.field(default_factory=list)
    auth: dict[str, Credentials] = dataclasses.field(default_factory=dict)

    @property
    def store(self) -> str:
        return os.path.join(self.root, "store")

    @property
    def database(self) -> str:
        return os.path.join(self.root, "state.db")

    @property
    def trust(self) -> str:
        return os.path.join(self.root, "trusted-keys")

    @classmethod
    def load(cls) -> Settings:
        root = os.environ.get("TINYBPF_MODULES_ROOT", DEFAULT_ROOT)
        path = os.path.join(root, "config.json")
        raw: dict[str, Any] = {}
        if os.path.exists(path):
            try:
                with open(path) as f:
                    raw = json.load(f)
            except (OSError, ValueError) as exc:
                raise ModuleError(f"{path}: cannot read module settings ({exc})") from None
        auth = {host: Credentials(**entry) for host, entry in raw.get("auth", {}).items()}
        return cls(root=root,
                   pin_root=os.environ.get("TINYBPF_PIN_ROOT", raw.get("pin_root", DEFAULT_PIN_ROOT)),
                   socket=os.environ.get("TINYBPF_SOCKET", raw.get("socket", DEFAULT_SOCKET)),
                   default_registry=raw.get("default_registry", ""), mirrors=raw.get("mirrors", {}),
                   insecure=list(raw.get("insecure", [])), auth=auth)
