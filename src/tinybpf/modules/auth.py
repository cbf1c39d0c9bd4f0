"""Registry credentials and the two challenges of the distribution API: Basic and Bearer (token service).

Credentials come from the module settings (``auth`` by registry host), then Docker's ``config.json``
(``auths``, base64 ``user:password``), so a ``docker login`` or ``skopeo login`` done before is reused.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
from typing import Optional

_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    token: str = ""

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclasses.dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate``: ``scheme`` is ``basic`` or ``bearer``; bearer has realm/service/scope."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Optional[Challenge]:
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    return Challenge(scheme.lower(), dict(_PARAM.findall(rest)))


def docker_config_credentials(host: str, path: str = "") -> Optional[Credentials]:
    """``user:password`` for ``host`` from a Docker/containers auth file, if one names it."""
    candidates = [path] if path else [
        os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/run"), "containers", "auth.json"),
        os.path.expanduser("~/.docker/config.json"),
    ]
    for candidate in candidates:
        try:
            with open(candidate) as f:
                auths = json.load(f).get("auths", {})
        except (OSError, ValueError, AttributeError):
            continue
        entry = auths.get(host) or auths.get(f"https://{host}")
        if isinstance(entry, dict) and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode(errors="replace").partition(":")
            return Credentials(user, password)
    return None
