"""printf-style format strings: the conversions they hold, as both the type checker and the printer read them.

One pattern, here, so the compile-time check and the run-time printer always count the same conversions.
"""
from __future__ import annotations

import re
from typing import NamedTuple

SPEC = re.compile(
    r"%(-?)(\+?)( ?)(#?)(0?)(\*|\d+)?(?:\.(\*|\d+))?([hlLjzt]*)([diouxXeEfFGaAcspn%]|gr|g|rh|rx|r)"
)
"""One conversion: flags, width, precision, length modifier, conversion (group 9; ``%`` for ``%%``)."""

SUPPORTED_CONVERSIONS = ("d", "i", "u", "o", "x", "X", "c", "s", "p", "r", "rx", "rh", "gr")


class Conversion(NamedTuple):
    length: str
    conversion: str
    width: int
    precision: int  # -1 when none is given


def conversions(fmt: str) -> list[Conversion]:
    """The conversions of ``fmt`` in order, ``%%`` left out."""
    found = []
    for match in SPEC.finditer(fmt):
        if match.group(9) == "%":
            continue
        width, precision = match.group(6), match.group(7)
        found.append(Conversion(match.group(8), match.group(9), int(width) if width and width != "*" else 0,
                                int(precision) if precision and precision != "*" else -1))
    return found
