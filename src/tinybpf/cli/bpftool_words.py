"""bpftool's command grammar: ``prog show id 3``, ``map update id 5 key 1 0 0 0 value hex 0a 00``, ``-j`` anywhere.

bpftool reads its arguments as a stream of words with keywords (``id``, ``name``, ``key``...) rather than
options, so these commands parse the words themselves; every mistake is one line naming the word and a hint.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Optional

from tinybpf.errors import TinyBPFError


class UsageError(TinyBPFError):
    """A command line bpftool's grammar does not accept; exits 2 like argparse's usage errors."""

    exit_code = 2


OUTPUT_FLAGS = {"-j": "json", "--json": "json", "-p": "pretty", "--pretty": "pretty"}
MAX_ID = 0xFFFFFFFF


def split_output_flags(argv: list[str]) -> tuple[list[str], bool, bool]:
    """Remove ``-j/--json/-p/--pretty`` from anywhere on the line: (rest, json, pretty). ``-h/--help``
    become the ``help`` verb."""
    rest = ["help" if a in ("-h", "--help") else a for a in argv if a not in OUTPUT_FLAGS]
    found = {OUTPUT_FLAGS[a] for a in argv if a in OUTPUT_FLAGS}
    return rest, bool(found), "pretty" in found


class Words:
    """The words after the noun, consumed left to right."""

    def __init__(self, noun: str, words: list[str]) -> None:
        self.noun = noun
        self.words = list(words)

    def __bool__(self) -> bool:
        return bool(self.words)

    def fail(self, message: str, hint: str = "") -> UsageError:
        return UsageError(f"{self.noun}: {message}", hint or f"see `tinybpf {self.noun} help`")

    def peek(self) -> Optional[str]:
        return self.words[0] if self.words else None

    def verb(self, usage: str) -> Optional[str]:
        """The verb, or None after printing ``usage`` for ``help`` or a bare noun (bpftool's ``do_help``)."""
        if not self.words or self.words[0] == "help":
            sys.stdout.write(usage.strip("\n") + "\n")
            return None
        return self.words.pop(0)

    def take(self, what: str) -> str:
        if not self.words:
            raise self.fail(f"expected {what}")
        return self.words.pop(0)

    def accept(self, *keywords: str) -> Optional[str]:
        if self.words and self.words[0] in keywords:
            return self.words.pop(0)
        return None

    def number(self, what: str, limit: int = MAX_ID) -> int:
        word = self.take(what)
        try:
            value = int(word, 0)
        except ValueError:
            raise self.fail(f"invalid {what} {word!r}", f"{what} is a number like 3") from None
        if not 0 < value <= limit:
            raise self.fail(f"invalid {what} {word!r}", f"{what} is between 1 and {limit}")
        return value

    def done(self) -> None:
        if self.words:
            raise self.fail(f"unexpected {' '.join(self.words)!r}")

    def hex_bytes(self, what: str, size: int, stop: tuple[str, ...] = ()) -> bytes:
        """``[hex] B B B...`` as bpftool reads a key or value: decimal bytes, or hex after ``hex``."""
        base = 16 if self.accept("hex") else 0
        out = bytearray()
        while self.words and self.words[0] not in stop and len(out) < size:
            word = self.words.pop(0)
            try:
                byte = int(word, 16 if base == 16 else 0)
            except ValueError:
                raise self.fail(f"invalid byte {word!r} in {what}", "bytes are like 0x0a, 10 or (after hex) 0a") \
                    from None
            if not 0 <= byte <= 255:
                raise self.fail(f"byte {word!r} of {what} is out of range", "each byte is 0..255")
            out.append(byte)
        if len(out) != size:
            raise self.fail(f"{what} has {len(out)} bytes, the map expects {size}", f"give {size} bytes")
        return bytes(out)


def emit_json(doc: Any, pretty: bool) -> None:
    """bpftool's JSON: compact by default, four-space indentation with ``-p``."""
    if pretty:
        sys.stdout.write(json.dumps(doc, indent=4) + "\n")
    else:
        sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")


def pretty_text(value: Any) -> str:
    """``value`` as bpftool's json_writer prints it in pretty mode (its plain map dumps): every object field
    on a new line four spaces deeper, array elements inline, a closing bracket on its own line after
    content. A :class:`tinybpf.btf.value_dump.Raw` is written unquoted."""
    out: list[str] = []
    _pretty(value, out, 0)
    return "".join(out)


def _pretty(value: Any, out: list[str], depth: int) -> None:
    from tinybpf.btf.value_dump import Raw

    if isinstance(value, dict):
        out.append("{")
        for i, (name, item) in enumerate(value.items()):
            out.append(("," if i else "") + "\n" + "    " * (depth + 1) + json.dumps(name) + ": ")
            _pretty(item, out, depth + 1)
        out.append(("\n" + "    " * depth if value else "") + "}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _pretty(item, out, depth + 1)
        out.append(("\n" + "    " * depth if value else "") + "]")
    elif isinstance(value, Raw):
        out.append(str(value))
    else:
        out.append(json.dumps(value))


__all__ = ["OUTPUT_FLAGS", "UsageError", "Words", "emit_json", "pretty_text", "split_output_flags"]
