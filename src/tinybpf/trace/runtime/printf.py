"""Format strings of ``printf``, ``system``, ``cat``, ``errorf``/``warnf``: parsed once, applied per event.

Current bpftrace (``src/format_string.cpp``) finds conversions with one regular expression and formats each
argument with C++ streams, not with C's ``printf``. The visible consequences, all kept here:

- flags must come in the order ``-``, ``+``, space, ``#``, ``0``; anything the expression does not match
  (``%y``, ``%0-5d``) is literal text and takes no argument;
- ``%%`` is a literal ``%``; ``*`` as width or precision is accepted and ignored (it takes no argument);
- precision is ignored (it only applies to the floating-point conversions, which are rejected), so ``%5.2s``
  of ``"abcdef"`` prints ``abcdef``;
- the space flag is ignored; ``0`` sets the fill character, so ``%05d`` of -5 prints ``000-5`` and ``%-05d``
  prints ``-5000``; ``#`` adds ``0x``/``0X``/``0`` except to zero; ``+`` signs only signed conversions;
- ``%d``/``%i`` convert to a 32-bit ``int`` unless a length says otherwise (``hh`` 8, ``h`` 16, ``l``/``ll``/
  ``j``/``z``/``t`` 64 bits), ``%u``/``%o``/``%x``/``%X`` to ``unsigned int`` likewise;
- ``%c`` prints one byte; ``%p`` prints ``0x`` and lower-case hex, or ``0`` for a null pointer;
- ``%s`` takes any value and prints it as the map printer would (``(1, abc)``, ``0xffff...`` for pointers);
- ``%r`` prints a buffer with printable ASCII kept and other bytes as ``\\xNN``; ``%rx`` every byte as
  ``\\xNN``; ``%rh`` as space-separated hex pairs; ``%gr`` names GFP flags.

bpftrace 0.17 formatted with ``snprintf`` and knew only ``-`` and digits before a conversion: ``%+d``,
``%#x`` and ``% d`` were no conversions at all, ``%5.2s`` printed ``   ab``, ``%05d`` printed ``-0005``,
``%-05d`` printed ``-5   ``, ``%p`` of 0 printed ``(nil)``, ``%s`` took only strings, and unknown
conversions were errors ("Unknown format string token"). Its messages were capitalised and prefixed by
the function (``printf: Not enough arguments...``); current bpftrace's, used here, are not.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional, Union

from tinybpf.errors import TinyBPFError
from tinybpf.trace.runtime.output import Buffer, Primitive, Record, Symbolic, escape_buffer, text
from tinybpf.trace.runtime.types import (
    BoolType,
    BpfType,
    BufferType,
    IntType,
    NoneType,
    PointerType,
    VoidType,
)
from tinybpf.trace.semantics.formats import SPEC as _SPEC
from tinybpf.trace.semantics.formats import SUPPORTED_CONVERSIONS

_INTEGER_TYPES: tuple[type, ...] = (IntType, BoolType, PointerType)
_INTEGER_CONVERSIONS = frozenset(("d", "i", "u", "o", "x", "X", "c", "p", "gr"))
_BUFFER_CONVERSIONS = frozenset(("r", "rx", "rh"))


class PrintfError(TinyBPFError):
    """A format string that does not fit its arguments; the message is bpftrace's.

    ``column`` is the 1-based column inside the format string of the conversion at fault (``None`` when
    the fault is the argument count), ``arg_index`` the 0-based index of the argument at fault.
    """

    def __init__(self, message: str, hint: str = "", column: Optional[int] = None,
                 arg_index: Optional[int] = None) -> None:
        super().__init__(message, hint)
        self.column = column
        self.arg_index = arg_index


# GFP flag bits (include/linux/gfp_types.h) and the names the kernel's mmflags.h tries first; the order
# matters: compound names match before their parts.
_GFP_BITS = {
    name: 1 << bit
    for bit, name in enumerate((
        "DMA", "HIGHMEM", "DMA32", "MOVABLE", "RECLAIMABLE", "HIGH", "IO", "FS", "ZERO", "UNUSED",
        "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "WRITE", "NOWARN", "RETRY_MAYFAIL", "NOFAIL", "NORETRY", "MEMALLOC",
        "COMP", "NOMEMALLOC", "HARDWALL", "THISNODE", "ACCOUNT", "ZEROTAGS", "SKIP_ZERO", "SKIP_KASAN",
        "NO_OBJ_EXT",
    ))
}


def _gfp_names() -> tuple[tuple[int, str], ...]:
    b = _GFP_BITS
    reclaim = b["DIRECT_RECLAIM"] | b["KSWAPD_RECLAIM"]
    kernel = reclaim | b["IO"] | b["FS"]
    noio = reclaim
    nofs = noio | b["IO"]
    user = nofs | b["FS"] | b["HARDWALL"]
    highuser = user | b["HIGHMEM"]
    movable = highuser | b["MOVABLE"] | b["SKIP_KASAN"]
    transhuge_light = (movable | b["COMP"] | b["NOMEMALLOC"] | b["NOWARN"]) & ~reclaim
    compound = [
        (transhuge_light | b["DIRECT_RECLAIM"], "GFP_TRANSHUGE"),
        (transhuge_light, "GFP_TRANSHUGE_LIGHT"),
        (movable, "GFP_HIGHUSER_MOVABLE"),
        (highuser, "GFP_HIGHUSER"),
        (user, "GFP_USER"),
        (kernel | b["ACCOUNT"], "GFP_KERNEL_ACCOUNT"),
        (kernel, "GFP_KERNEL"),
        (nofs, "GFP_NOFS"),
        (b["HIGH"] | b["KSWAPD_RECLAIM"], "GFP_ATOMIC"),
        (noio, "GFP_NOIO"),
        (b["KSWAPD_RECLAIM"] | b["NOWARN"], "GFP_NOWAIT"),
        (b["DMA"], "GFP_DMA"),
        (b["HIGHMEM"], "__GFP_HIGHMEM"),
        (b["DMA32"], "GFP_DMA32"),
    ]
    single = ("HIGH", "IO", "FS", "ZERO", "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "WRITE", "NOWARN", "RETRY_MAYFAIL",
              "NOFAIL", "NORETRY", "MEMALLOC", "COMP", "NOMEMALLOC", "HARDWALL", "THISNODE", "ACCOUNT",
              "ZEROTAGS", "SKIP_ZERO", "SKIP_KASAN", "NO_OBJ_EXT")
    return tuple(compound + [(b[n], f"__GFP_{n}") for n in single])


_GFP_NAMES = _gfp_names()


def gfp_flags(flags: int) -> str:
    """``%gr``: ``GFP_KERNEL|__GFP_ZERO``, leftover bits as hex."""
    flags &= (1 << 64) - 1
    if not flags:
        return "0"
    names = []
    for mask, name in _GFP_NAMES:
        if flags & mask == mask:
            names.append(name)
            flags &= ~mask
    if flags:
        names.append(f"0x{flags:x}")
    return "|".join(names)


def _wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


# Width of the C type a length modifier names (``int`` without one), for signed and unsigned conversions.
_LENGTH_BITS = {"hh": 8, "h": 16, "l": 64, "ll": 64, "j": 64, "z": 64, "t": 64}
_INT_BITS = 32


@dataclass(frozen=True)
class FormatSpec:
    """One conversion: flags as parsed, ``column`` where its ``%`` is (1-based, within the string)."""

    left_align: bool
    show_sign: bool
    space: bool
    alternate: bool
    zero_pad: bool
    width: int
    precision: int
    length: str
    conversion: str
    column: int
    source: str

    def apply(self, value: Primitive) -> str:
        """The text of ``value`` under this conversion, padded to the width."""
        try:
            body = _CONVERTERS.get(self.conversion, _as_string)(self, value)
        except _ConversionError as exc:
            return f"!{{{exc}}}"
        missing = self.width - _stream_width(body)
        if missing <= 0:
            return body
        pad = ("0" if self.zero_pad else " ") * missing
        return body + pad if self.left_align else pad + body


def _stream_width(body: str) -> int:
    """What a C++ stream counts against the width: bytes, not characters."""
    return len(body) if body.isascii() else len(body.encode("utf-8", "surrogateescape"))


class _ConversionError(Exception):
    """A value that cannot take its conversion; bpftrace embeds ``!{message}`` in the output."""


def _number(value: Primitive) -> int:
    kind = type(value)
    if kind is int or kind is bool:
        return int(value)
    if kind is Symbolic:
        return value.number
    raise _ConversionError(f"invalid integer conversion: {text(value)}")


def _as_signed(spec: FormatSpec, value: Primitive) -> str:
    number = _wrap(_number(value), _LENGTH_BITS.get(spec.length, _INT_BITS), True)
    return f"+{number}" if spec.show_sign and number >= 0 else str(number)


def _as_unsigned(spec: FormatSpec, value: Primitive) -> str:
    bits = _LENGTH_BITS.get(spec.length, _INT_BITS)
    number = _wrap(_number(value), bits, False)
    conversion = spec.conversion
    if conversion == "u":
        return str(number)
    digits = format(number, "o" if conversion == "o" else conversion)
    if not spec.alternate or not number:
        return digits
    if conversion == "o":
        return "0" + digits
    return ("0X" if conversion == "X" else "0x") + digits


def _as_char(spec: FormatSpec, value: Primitive) -> str:
    byte = _number(value) & 0xFF
    return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)


def _as_pointer(spec: FormatSpec, value: Primitive) -> str:
    number = _number(value) & ((1 << 64) - 1)
    return f"0x{number:x}" if number else "0"


def _as_string(spec: FormatSpec, value: Primitive) -> str:
    # A C++ stream pads only the first thing written: a string, number or symbol whole, but only the
    # opening bracket of a tuple, array or record.
    body = text(value, spec.show_sign)
    kind = type(value)
    if spec.width and kind in (tuple, list, Record) and body != "{}":
        opening = 2 if kind is Record else 1
        head = body[:opening]
        fill = "0" if spec.zero_pad else " "
        pad = fill * max(spec.width - opening, 0)
        head = head + pad if spec.left_align else pad + head
        return head + body[opening:]
    return body


def _as_buffer(keep_ascii: bool, escape_hex: bool) -> Callable[[FormatSpec, Primitive], str]:
    def convert(spec: FormatSpec, value: Primitive) -> str:
        if type(value) is Buffer:
            return escape_buffer(value.data, keep_ascii, escape_hex)
        return _as_string(spec, value)

    return convert


def _as_gfp(spec: FormatSpec, value: Primitive) -> str:
    if type(value) is bool:
        raise _ConversionError(f"invalid GFP flags conversion: {text(value)}")
    return gfp_flags(_number(value))


_CONVERTERS: dict[str, Callable[[FormatSpec, Primitive], str]] = {
    "d": _as_signed,
    "i": _as_signed,
    "u": _as_unsigned,
    "o": _as_unsigned,
    "x": _as_unsigned,
    "X": _as_unsigned,
    "c": _as_char,
    "p": _as_pointer,
    "s": _as_string,
    "r": _as_buffer(True, True),
    "rx": _as_buffer(False, True),
    "rh": _as_buffer(False, False),
    "gr": _as_gfp,
}


def _allowed(conversion: str) -> str:
    if conversion in _BUFFER_CONVERSIONS:
        return "a buffer (buf())"
    return "an integer, bool or pointer"


@dataclass(frozen=True)
class FormatString:
    """A parsed format string: ``fragments[0] spec[0] fragments[1] ... spec[n-1] fragments[n]``.

    ``%%`` is already folded into the fragments. Build with ``FormatString.parse``.
    """

    source: str
    fragments: tuple[str, ...]
    specs: tuple[FormatSpec, ...]

    @classmethod
    def parse(cls, fmt: Union[str, bytes]) -> FormatString:
        """Split ``fmt`` (escapes already decoded; bytes are kept byte for byte) into text and conversions."""
        if isinstance(fmt, bytes):
            fmt = fmt.decode("utf-8", "surrogateescape")
        fragments: list[str] = []
        specs: list[FormatSpec] = []
        pending: list[str] = []
        last = 0
        for match in _SPEC.finditer(fmt):
            pending.append(fmt[last:match.start()])
            last = match.end()
            if match.group(9) == "%":
                pending.append("%")
                continue
            fragments.append("".join(pending))
            pending = []
            specs.append(_spec(match))
        pending.append(fmt[last:])
        fragments.append("".join(pending))
        return cls(fmt, tuple(fragments), tuple(specs))

    def check(self, arg_types: Sequence[BpfType]) -> None:
        """Raise ``PrintfError`` unless ``arg_types`` fit the conversions, as bpftrace's type checker does."""
        supplied, expected = len(arg_types), len(self.specs)
        if supplied != expected:
            which = "not enough" if supplied < expected else "too many"
            raise PrintfError(
                f"{which} arguments for format string ({supplied} supplied, {expected} expected)",
                self._count_hint(),
            )
        for index, (spec, arg) in enumerate(zip(self.specs, arg_types)):
            _check_one(spec, arg, index)

    def _count_hint(self) -> str:
        """Point at a ``%`` that is not a conversion: the usual reason for a count that looks wrong."""
        inside: set[int] = set()
        for match in _SPEC.finditer(self.source):
            inside.update(range(match.start(), match.end()))
        for i, char in enumerate(self.source):
            if char == "%" and i not in inside:
                return f"{self.source[i:i + 2]!r} at column {i + 1} is not a conversion and prints as is"
        return ""

    def integer_formatter(self) -> Optional[Callable[[Sequence[int]], str]]:
        """``format`` for plain ``int`` arguments, several times faster (a flood of printf events is formatted
        by the hundred thousand a second), when every conversion is a bare ``%d %i %u %o %x %X``: Python's
        ``%`` writes the same text once each value is wrapped to its conversion's width. None otherwise."""
        wraps: list[tuple[int, int]] = []
        for spec in self.specs:
            flagged = spec.left_align or spec.show_sign or spec.space or spec.alternate or spec.zero_pad
            if spec.conversion not in _PLAIN_INTEGERS or flagged or spec.width or spec.precision >= 0:
                return None
            bits = _LENGTH_BITS.get(spec.length, _INT_BITS)
            wraps.append(((1 << bits) - 1, 1 << (bits - 1) if spec.conversion in "di" else 0))
        return _integer_formatter(self._percent_pattern(), wraps)

    def _percent_pattern(self) -> str:
        """The fragments with ``%%`` escaped and each conversion as Python's ``%`` conversion."""
        parts = [self.fragments[0].replace("%", "%%")]
        for spec, fragment in zip(self.specs, self.fragments[1:]):
            parts.append("%" + ("d" if spec.conversion == "i" else spec.conversion))
            parts.append(fragment.replace("%", "%%"))
        return "".join(parts)

    def format(self, args: Sequence[Primitive]) -> str:
        """The output for one event; ``args`` are printable values in conversion order."""
        fragments = self.fragments
        parts = [fragments[0]]
        for i, (spec, arg) in enumerate(zip(self.specs, args)):
            parts.append(spec.apply(arg))
            parts.append(fragments[i + 1])
        return "".join(parts)


_PLAIN_INTEGERS = frozenset(("d", "i", "u", "o", "x", "X"))


def _integer_formatter(pattern: str, wraps: list[tuple[int, int]]) -> Callable[[Sequence[int]], str]:
    """``pattern % values``, each value first cut to its conversion's bits: (mask, sign bit or 0)."""
    if not wraps:
        return lambda args: pattern % ()
    if all(wrap == wraps[0] for wrap in wraps):
        mask, sign = wraps[0]
        if not sign:
            return lambda args: pattern % tuple([value & mask for value in args])
        return lambda args: pattern % tuple([(value & mask) - ((value & sign) << 1) for value in args])
    return lambda args: pattern % tuple([(value & mask) - ((value & sign) << 1)
                                         for value, (mask, sign) in zip(args, wraps)])


def _spec(match: re.Match) -> FormatSpec:
    width, precision = match.group(6), match.group(7)
    return FormatSpec(
        left_align=bool(match.group(1)),
        show_sign=bool(match.group(2)),
        space=bool(match.group(3)),
        alternate=bool(match.group(4)),
        zero_pad=bool(match.group(5)),
        width=int(width) if width and width != "*" else 0,
        precision=int(precision) if precision and precision != "*" else -1,
        length=match.group(8),
        conversion=match.group(9),
        column=match.start() + 1,
        source=match.group(0),
    )


def _check_one(spec: FormatSpec, arg: BpfType, index: int) -> None:
    conversion = spec.conversion
    if isinstance(arg, (NoneType, VoidType)):
        raise PrintfError(f"unable to print none type for specifier: {conversion}",
                          column=spec.column, arg_index=index)
    if conversion not in SUPPORTED_CONVERSIONS:
        raise PrintfError(
            f"unsupported format specifier: {conversion}",
            "supported: " + " ".join("%" + c for c in SUPPORTED_CONVERSIONS),
            spec.column,
            index,
        )
    if conversion in _INTEGER_CONVERSIONS:
        fits = isinstance(arg, _INTEGER_TYPES)
    elif conversion in _BUFFER_CONVERSIONS:
        fits = isinstance(arg, BufferType)
    else:
        fits = True
    if not fits:
        raise PrintfError(
            f"unsupported format specifier for type '{arg}': {conversion}",
            f"{spec.source} takes {_allowed(conversion)}; %s takes any value",
            spec.column,
            index,
        )
