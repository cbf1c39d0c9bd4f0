"""One symbolised address of a stack trace."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Frame:
    """``address`` resolved to ``symbol+offset`` in ``module`` (a kernel module, a binary or library path).

    ``symbol`` is empty when no symbol covers the address.
    """

    address: int
    symbol: str = ""
    offset: int = 0
    module: str = ""

    def __str__(self) -> str:
        where = f"{self.symbol}+0x{self.offset:x}" if self.symbol else f"0x{self.address:x}"
        return f"{where} ({self.module})" if self.module else where
