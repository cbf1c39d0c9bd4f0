"""The loader's own error: what it raises when an object cannot load as written."""
from __future__ import annotations

from ..errors import TinyBPFError


class ObjectError(TinyBPFError):
    """An object cannot be loaded as written (unknown section, unresolved extern, incompatible pin...)."""


__all__ = ["ObjectError"]
