"""The one error type of the module layer: every failure is one line with a hint, nothing half-done."""
from __future__ import annotations

from ..errors import TinyBPFError


class ModuleError(TinyBPFError):
    """A module cannot be built, fetched, verified, stored or run as asked."""


class RegistryError(ModuleError):
    """A registry refused or failed a request; ``status`` is the HTTP status (0 when unreachable)."""

    def __init__(self, message: str, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint)
        self.status = status
