"""Attach-point and type-name patterns: ``*`` and ``?`` wildcards, as bpftrace matches them."""
from __future__ import annotations

import re


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def wildcard_match(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters (``:`` too), ``?`` one character; the rest is literal."""
    return wildcard_regex(pattern).fullmatch(text) is not None


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    found = _REGEX_CACHE.get(pattern)
    if found is None:
        text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        found = _REGEX_CACHE[pattern] = re.compile(text, re.DOTALL)
    return found
