"""Everything ``tinybpf trace`` prints, in bpftrace's text and ``-f json`` forms, byte for byte.

The model follows current bpftrace's ``src/output/`` and ``src/types_format.cpp``:

- a *primitive* is one printable value: ``int``, ``bool``, ``str``, ``None`` (``null``), ``tuple`` (a
  tuple), ``list`` (an array), ``Buffer``, ``Record`` or ``Symbolic`` (text with a number behind it:
  pointers, histogram labels);
- a *value* is a primitive or what a map prints as: a ``Histogram``, an ``OrderedMap`` (keys in print
  order), ``Stats`` (marks ``avg``/``stats`` maps, which JSON tags ``"stats"``);
- ``format_map`` turns a map's decoded entries into a value, as bpftrace does at exit and for ``print(@m)``:
  sorting, keeping the ``top`` entries, dividing; the ``reduce_*`` helpers combine per-CPU values first;
- ``TextPrinter``/``JsonPrinter`` write values and events (printf, time, join...) to streams.

Histogram buckets are numbered as ``semantics.histogram`` says, the reference codegen also follows.

Differences from bpftrace 0.17 (which the tests pin down), current bpftrace being followed:

- the banner is ``Attached N probes`` on stderr; 0.17 printed ``Attaching N probes...`` on stdout, and its
  JSON form has gained a ``"count"`` field;
- ``stats()`` prints as a record, ``@s: { .count = 2, .average = 6, .total = 12 }``; 0.17 printed
  ``@s: count 2, average 6, total 12``;
- a histogram's header line is ``@h:``; 0.17 printed ``@h: `` (trailing space);
- ``avg``/``stats`` maps are followed by no blank line, an empty map prints nothing; 0.17 printed a blank
  line after ``avg``/``stats`` maps and one for an empty map;
- histogram buckets holding a single value print as ``[3]`` (an ``lhist`` with step 1, or ``hist(n, k)``
  with ``k > 0``); 0.17 printed ``[3, 4)``; and the last ``lhist`` bucket starts at the last step below
  ``max`` (``[90, ...)`` for ``lhist(x, 0, 95, 10)``) where 0.17 printed ``[95, ...)``;
- JSON map keys lose every space (``"1,x"``, and ``"ab"`` for the key ``"a b"``).
"""
from __future__ import annotations

import abc
import re
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional, TextIO, Union

from tinybpf.backend.fold import wrap64
from tinybpf.trace.runtime.types import (
    ArrayType,
    AvgType,
    BoolType,
    BpfType,
    BufferType,
    CountType,
    EnumType,
    HistType,
    IntType,
    LhistType,
    MaxType,
    MinType,
    NoneType,
    PointerType,
    RecordType,
    StackMode,
    StatsType,
    StringType,
    StructType,
    SumType,
    TupleType,
    VoidType,
)
from tinybpf.trace.semantics.tseries import TimeSeries, json_tseries, text_tseries

_U64 = (1 << 64) - 1
STR_TRUNC_TRAILER = ".."
"""What bpftrace appends to a string that filled its whole buffer (config ``str_trunc_trailer``)."""


# --- primitives ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Symbolic:
    """A value printed as text but numeric where a number is wanted: pointers (``0x1000``), enum names,
    histogram labels (``1K``). bpftrace's ``Primitive::Symbolic``; JSON prints ``number``."""

    text: str
    number: int


@dataclass(frozen=True)
class Buffer:
    """Raw bytes from ``buf()``: printed escaped, never decoded as text."""

    data: bytes


@dataclass(frozen=True)
class Record:
    """Named fields in order: a record ``(a=1, b=2)``, a C struct, or a ``stats()`` result."""

    fields: tuple[tuple[str, Any], ...]


Primitive = Any
"""A printable value: ``int``, ``bool``, ``str``, ``None``, ``tuple``, ``list``, ``Buffer``, ``Record`` or
``Symbolic``. Strings that came from the kernel hold undecodable bytes as surrogates (``surrogateescape``):
write them to a stream opened with ``errors="surrogateescape"`` to get the kernel's bytes back."""


def escape_buffer(data: bytes, keep_ascii: bool = True, escape_hex: bool = True) -> str:
    """bpftrace's ``hex_format_buffer``: a buffer value and ``%r``; ``%rx`` (all ``\\xNN``); ``%rh``."""
    if keep_ascii:
        return "".join(chr(b) if 32 <= b <= 126 else f"\\x{b:02x}" for b in data)
    if escape_hex:
        return "".join(f"\\x{b:02x}" for b in data)
    return " ".join(f"{b:02x}" for b in data)


def text(value: Primitive, show_sign: bool = False) -> str:
    """``value`` as bpftrace's text output prints it (a map key or value, ``print()``, a ``%s`` argument).

    ``show_sign`` is the C++ stream's ``showpos``, which ``%+s`` leaves on for every integer inside.
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return f"+{value}" if show_sign and value >= 0 else str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is Symbolic:
        return value.text
    if kind is tuple:
        return "(" + ", ".join([text(v, show_sign) for v in value]) + ")"
    if kind is list:
        return "[" + ",".join([text(v, show_sign) for v in value]) + "]"
    if kind is Record:
        if not value.fields:
            return "{}"
        return "{ " + ", ".join([f".{n} = {text(v, show_sign)}" for n, v in value.fields]) + " }"
    if kind is Buffer:
        return escape_buffer(value.data)
    if value is None:
        return "null"
    raise TypeError(f"cannot print a {kind.__name__}")


# --- map values --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Histogram:
    """Buckets between the first and last non-empty one: ``labels[i]`` is bucket ``i``'s upper bound (none
    for an open last bucket), ``lower_bound`` the first bucket's lower bound (none for ``(..., x)``)."""

    lower_bound: Optional[Primitive]
    labels: tuple[Primitive, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class OrderedMap:
    """A keyed map's entries in the order they print."""

    items: tuple[tuple[Primitive, Any], ...]


@dataclass(frozen=True)
class Stats:
    """An ``avg()`` or ``stats()`` map (or its only value): prints like what it holds, tagged for JSON."""

    value: Union[OrderedMap, Primitive]


Value = Union[Histogram, OrderedMap, Stats, TimeSeries, Primitive]


_SUFFIXES = ("", "K", "M", "G", "T", "P", "E")


def _hist_label(index: int, bits: int) -> Symbolic:
    """The lower bound of bucket ``index + 1`` (so the upper bound of ``index``), ``1K``-style."""
    n = 1 << bits
    interval = index & (n - 1)
    power = (index >> bits) - 1
    decade = power // 10
    return Symbolic(f"{(1 << (power - 10 * decade)) * (n + interval)}{_SUFFIXES[decade]}",
                    ((1 << power) * (n + interval)) & _U64)


def _occupied(counts: Sequence[int]) -> Optional[tuple[int, int]]:
    """First and last non-empty bucket. bpftrace reads each count as a C ``int``, so a bucket of 2**31 or
    more counts as empty; kept for identical output."""
    nonzero = [i for i, c in enumerate(counts) if c and _wrap(c, 32, True) > 0]
    return (nonzero[0], nonzero[-1]) if nonzero else None


def build_histogram(counts: Sequence[int], bits: int = 0, div: int = 1) -> Histogram:
    """A ``hist()`` value from its bucket counts (index as ``hist_bucket``), each divided by ``div``."""
    span = _occupied(counts)
    if span is None:
        return Histogram(None, (), ())
    first, last = span
    small = 2 << bits
    lower: Optional[Primitive] = None
    if first:
        lower = first - 1 if first - 1 <= small else _hist_label(first - 1, bits)
    labels = tuple(i if i <= small else _hist_label(i, bits) for i in range(first, last + 1))
    return Histogram(lower, labels, tuple(c // div for c in counts[first:last + 1]))


def _lhist_label(number: int, step: int) -> Primitive:
    if step % 1024:
        return number
    for unit, suffix in ((1 << 20, "M"), (1 << 10, "K")):
        if number and number % unit == 0:
            return Symbolic(f"{number // unit}{suffix}", number)
    return Symbolic(str(number), number)


def build_linear_histogram(counts: Sequence[int], min: int, max: int, step: int) -> Histogram:
    """An ``lhist()`` value from its bucket counts (index as ``lhist_bucket``); ``div`` does not apply."""
    span = _occupied(counts)
    if span is None:
        return Histogram(None, (), ())
    first, last = span
    lower = _lhist_label(min + (first - 1) * step, step) if first else None
    labels = tuple(_lhist_label(min + i * step, step) for i in range(first, last + 1) if min + i * step <= max)
    return Histogram(lower, labels, tuple(counts[first:last + 1]))


# --- per-CPU values ----------------------------------------------------------------------------------------


def _wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def reduce_sum(per_cpu: Iterable[int], signed: bool = False) -> int:
    """``count()``/``sum()`` (and any per-CPU integer): the CPUs' values added, wrapping at 64 bits."""
    return _wrap(sum(per_cpu), 64, signed)


def reduce_avg(per_cpu: Iterable[tuple[int, int]], signed: bool = False) -> tuple[int, int]:
    """``avg()``/``stats()``: per CPU a (total, count) pair; the totals and counts added."""
    total = count = 0
    for cpu_total, cpu_count in per_cpu:
        total += cpu_total
        count += cpu_count
    return _wrap(total, 64, signed), _wrap(count, 64, signed)


def reduce_buckets(per_cpu: Iterable[Sequence[int]]) -> list[int]:
    """``hist()``/``lhist()``: each bucket's count added over the CPUs."""
    result: list[int] = []
    for counts in per_cpu:
        if len(counts) > len(result):
            result.extend([0] * (len(counts) - len(result)))
        for i, c in enumerate(counts):
            result[i] += c
    return result


def _min_max(per_cpu: Sequence[tuple[int, int]], is_max: bool, signed: bool) -> int:
    """bpftrace's ``min_max_value``: per CPU a (value, is_set) pair; CPUs that never set one are skipped."""
    values = [_wrap(v, 64, signed) for v, is_set in per_cpu if is_set]
    if not values:
        return 0
    return max(values) if is_max else min(values)


# --- converting decoded values to primitives -----------------------------------------------------------------


Converter = Callable[[Any], Primitive]


def primitive_converter(t: BpfType) -> Converter:
    """A function turning a decoded value of type ``t`` into the primitive bpftrace prints.

    Decoded values are: ints for integers and ``ksym``-less numbers, ``bool``, ``str`` for strings and for
    everything the runtime resolves to text (``ksym``, ``usym``, stacks, ``inet``, usernames, timestamps,
    MAC addresses, cgroup paths: see ``decode_string``, ``format_stack``, ``format_inet``...), ``bytes`` for
    buffers, sequences for tuples and arrays, sequences in field order for records and structs. Build the
    converter once per type: printing a big map calls it once per key.
    """
    if isinstance(t, PointerType):
        return lambda v: Symbolic(f"0x{v & _U64:x}", v & _U64)
    if isinstance(t, BoolType):
        return bool
    if isinstance(t, EnumType):
        names = dict(t.enumerators)
        return lambda v: Symbolic(names[v], v) if v in names else v
    if isinstance(t, BufferType):
        return Buffer
    if isinstance(t, TupleType):
        parts = [primitive_converter(e) for e in t.elements]
        if all(c is _identity for c in parts):
            return tuple
        return lambda v: tuple([c(x) for c, x in zip(parts, v)])
    if isinstance(t, (RecordType, StructType)):
        fields = [(f.name, primitive_converter(f.type)) for f in t.fields]
        return lambda v: Record(tuple([(n, c(x)) for (n, c), x in zip(fields, v)]))
    if isinstance(t, ArrayType):
        element = primitive_converter(t.element)
        return lambda v: [element(x) for x in v]
    if isinstance(t, (NoneType, VoidType)):
        return lambda v: None
    return _identity


def _identity(value: Any) -> Any:
    return value


def decode_string(raw: bytes, trailer: str = STR_TRUNC_TRAILER) -> str:
    """A string value from its buffer: up to the first NUL, or all of it plus ``trailer`` when no NUL fits
    (bpftrace's sign that the string was truncated)."""
    end = raw.find(b"\0")
    if end < 0:
        return raw.decode("utf-8", "surrogateescape") + trailer
    return raw[:end].decode("utf-8", "surrogateescape")


def format_inet(family: int, address: bytes) -> str:
    """``ntop()``: dotted IPv4 or IPv6 text; empty for another family, as bpftrace."""
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, address[:4])
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, address[:16])
    return ""


def format_mac(raw: bytes) -> str:
    """``macaddr()``: ``AA:BB:...``. bpftrace passes each byte as a signed ``char`` to ``%02X``, so bytes
    of 0x80 and above print sign-extended (``FFFFFF80``); kept for identical output."""
    return ":".join(f"{b:02X}" if b < 0x80 else f"FFFFFF{b:02X}" for b in raw[:6])


def format_stack(addresses: Sequence[int], resolve: Callable[[int], Sequence[str]],
                 mode: StackMode = StackMode.BPFTRACE, indent: int = 8) -> str:
    """A ``kstack``/``ustack`` value: a newline, then one line per frame (``resolve`` names an address,
    with inlined frames first). An address of all ones means the unwinder gave up."""
    padding = " " * indent
    lines = ["\n"]
    for address in addresses:
        if address & _U64 == _U64:
            lines.append(f"{padding}<unwind failure>\n")
            break
        if mode is StackMode.RAW:
            lines.append(f"{address:x}\n")
            continue
        for symbol in resolve(address):
            if mode is StackMode.PERF:
                lines.append(f"\t{address:x} {symbol}\n")
            else:
                lines.append(f"{padding}{symbol}\n")
    return "".join(lines)


def format_time(fmt: str = "%H:%M:%S\n", when: Optional[float] = None) -> str:
    """``time(fmt)``: local time through ``strftime``."""
    return time.strftime(fmt, time.localtime(when))


_SUBSECOND = re.compile("%[kfl]")


def format_timestamp(fmt: str, ns_since_epoch: int, utc: bool = False) -> str:
    """``strftime(fmt, ns)``: ``strftime`` plus bpftrace's ``%f`` (µs), ``%k`` (ns) and ``%l`` (ms).

    bpftrace prints ``(?)`` for the epoch itself and when ``strftime`` produces nothing.
    """
    seconds, ns = divmod(ns_since_epoch, 1_000_000_000)
    if not seconds:
        return "(?)"
    digits = {"%k": f"{ns:09d}", "%f": f"{ns // 1000:06d}", "%l": f"{ns // 1_000_000:03d}"}
    expanded = _SUBSECOND.sub(lambda m: digits[m.group(0)], fmt)
    result = time.strftime(expanded, time.gmtime(seconds) if utc else time.localtime(seconds))
    return result or "(?)"


def join(parts: Sequence[str], separator: str = " ") -> str:
    """``join(arr, sep)``: the strings up to the first empty one, separated."""
    taken = []
    for part in parts:
        if not part:
            break
        taken.append(part)
    return separator.join(taken)


# --- maps --------------------------------------------------------------------------------------------------


def _cdiv(value: int, div: int) -> int:
    """C integer division, truncating toward zero."""
    quotient = abs(value) // div
    return -quotient if value < 0 else quotient


def _avg(total: int, count: int, signed: bool) -> int:
    if not count:
        return 0
    return _cdiv(total, count) if signed else (total & _U64) // (count & _U64)


def _value_formatter(t: BpfType, div: int) -> Callable[[Any], Primitive]:
    """How a map's decoded value prints (``div`` as in ``print(@m, top, div)``)."""
    if isinstance(t, CountType):
        return lambda v: (v & _U64) // div
    if isinstance(t, EnumType):
        name_of = primitive_converter(t)
        return lambda v: name_of(_wrap(v, t.bits, t.signed))
    if isinstance(t, (IntType, SumType)):
        bits = t.bits if isinstance(t, IntType) else 64
        signed = t.is_signed
        if div == 1:
            return lambda v: _wrap(v, bits, signed)
        return lambda v: _cdiv(_wrap(v, bits, signed), div)
    if isinstance(t, (MinType, MaxType)):
        is_max, signed = isinstance(t, MaxType), t.is_signed
        return lambda v: _cdiv(_min_max(v, is_max, signed), div)
    if isinstance(t, AvgType):
        signed = t.is_signed
        return lambda v: _cdiv(_avg(v[0], v[1], signed), div)
    if isinstance(t, StatsType):
        signed = t.is_signed
        return lambda v: Record((("count", v[1]), ("average", _cdiv(_avg(v[0], v[1], signed), div)),
                                 ("total", v[0])))
    return primitive_converter(t)


def _value_sort_key(t: BpfType) -> Optional[Callable[[Any], Any]]:
    """What bpftrace sorts a map by when the value decides: ``None`` when it sorts by key instead."""
    if isinstance(t, (CountType, IntType, SumType)):
        signed = t.is_signed
        return lambda entry: _wrap(entry[1], 64, signed)
    if isinstance(t, (MinType, MaxType)):
        # bpftrace combines the CPUs as unsigned for sorting, whatever the sign of the values.
        is_max = isinstance(t, MaxType)
        return lambda entry: _min_max(entry[1], is_max, False)
    if isinstance(t, (AvgType, StatsType)):
        signed = t.is_signed
        return lambda entry: _avg(entry[1][0], entry[1][1], signed)
    if isinstance(t, (HistType, LhistType)):
        return lambda entry: sum(entry[1])
    return None


def _key_sort_key(t: Optional[BpfType]) -> Optional[Callable[[Any], Any]]:
    """bpftrace sorts other maps by their integer and string keys (integers as signed), tuple fields
    first to last; keys of other types keep the order they were read in."""
    if isinstance(t, IntType):
        bits = t.bits
        return lambda entry: _wrap(entry[0], bits, True)
    if isinstance(t, StringType):
        return lambda entry: entry[0]
    if not isinstance(t, TupleType):
        return None
    picks = [(i, e.bits if isinstance(e, IntType) else 0) for i, e in enumerate(t.elements)
             if isinstance(e, (IntType, StringType))]
    if not picks:
        return None
    return lambda entry: tuple(_wrap(entry[0][i], bits, True) if bits else entry[0][i] for i, bits in picks)


def format_map(key_type: Optional[BpfType], value_type: BpfType, entries: Iterable[tuple[Any, Any]],
               top: int = 0, div: int = 1) -> Value:
    """A map's printable value, as bpftrace prints it at exit and for ``print(@m, top, div)``.

    ``key_type`` is ``None`` for a map without keys (``@x = 1``). ``entries`` are (key, value) pairs of
    decoded values (see ``primitive_converter``); per value type the value is:

    - ``count_t``/``sum_t`` and integers: the CPUs combined (``reduce_sum``);
    - ``min_t``/``max_t``: the per-CPU (value, is_set) pairs, uncombined: bpftrace sorts and prints them
      combined differently;
    - ``avg_t``/``stats_t``: (total, count), combined (``reduce_avg``);
    - ``hist_t``/``lhist_t``: the bucket counts, combined (``reduce_buckets``).

    Maps of counters sort by value, ascending; histograms by their total count; other maps by key (see
    ``_key_sort_key``). bpftrace's sort is not stable: among equal values this keeps ``entries``' order.
    ``top`` keeps the last ``top`` entries; ``div`` divides values (not ``lhist`` buckets).
    """
    div = div or 1
    items = list(entries)
    sort_key = _value_sort_key(value_type) or _key_sort_key(key_type)
    if sort_key is not None:
        items.sort(key=sort_key)
    if top and len(items) > top:
        items = items[len(items) - top:]
    stats = isinstance(value_type, (AvgType, StatsType))
    value_of = _histogram_formatter(value_type, div) or _value_formatter(value_type, div)
    if key_type is None:
        if not items:
            return Stats(OrderedMap(())) if stats else OrderedMap(())
        value = value_of(items[-1][1])
        return Stats(value) if stats else value
    key_of = primitive_converter(key_type)
    result = OrderedMap(tuple([(key_of(k), value_of(v)) for k, v in items]))
    return Stats(result) if stats else result


def _histogram_formatter(t: BpfType, div: int) -> Optional[Callable[[Sequence[int]], Histogram]]:
    if isinstance(t, HistType):
        bits = t.bits
        return lambda counts: build_histogram(counts, bits, div)
    if isinstance(t, LhistType):
        lo, hi, step = t.min, t.max, t.step
        return lambda counts: build_linear_histogram(counts, lo, hi, step)
    return None


def format_print_map(key_type: Optional[BpfType], value_type: BpfType, entries: Iterable[tuple[Any, Any]],
                     top: int = 0, div: int = 1) -> Value:
    """``print(@m, top, div)``: like ``format_map``, but a map without keys and without a value prints
    its zero value (``@x: 0``) instead of nothing."""
    value = format_map(key_type, value_type, entries, top, div)
    if key_type is not None or isinstance(value_type, (HistType, LhistType)):
        return value
    inner = value.value if isinstance(value, Stats) else value
    if not (isinstance(inner, OrderedMap) and not inner.items):
        return value
    if isinstance(value_type, StatsType):
        return Stats(Record((("count", 0), ("average", 0), ("total", 0))))
    zero = _zero(value_type)
    return Stats(zero) if isinstance(value_type, AvgType) else zero


def _zero(t: BpfType) -> Primitive:
    """What bpftrace prints for an all-zero value of ``t``."""
    if isinstance(t, StringType):
        return ""
    if isinstance(t, TupleType):
        return tuple(_zero(e) for e in t.elements)
    if isinstance(t, (RecordType, StructType)):
        return Record(tuple((f.name, _zero(f.type)) for f in t.fields))
    if isinstance(t, ArrayType):
        return [_zero(t.element) for _ in range(t.count)]
    if isinstance(t, BufferType):
        return Buffer(b"")
    return primitive_converter(t)(0)


# --- text --------------------------------------------------------------------------------------------------


_F32 = struct.Struct("f")


def _f32(x: float) -> float:
    """Round to a C ``float``: bpftrace scales histogram bars in single precision."""
    return _F32.unpack(_F32.pack(x))[0]


_BAR_WIDTH = 52


def _bar(count: int, largest: int) -> int:
    if not largest:
        return 0
    return int(_f32(_f32(_f32(count) / _f32(largest)) * _BAR_WIDTH))


def _single(a: Primitive, b: Primitive) -> bool:
    """Adjacent integer bounds: a bucket holding one value, printed ``[a]``."""
    return type(a) is int and type(b) is int and a + 1 == b


def _bucket_header(hist: Histogram, i: int) -> str:
    labels = hist.labels
    if i == 0:
        lower = hist.lower_bound
        if lower is None:
            return f"(..., {text(labels[0])})"
        if not labels:
            return f"[{text(lower)}, ...)"
        upper = labels[0]
    elif i >= len(labels):
        return f"[{text(labels[i - 1])}, ...)"
    else:
        lower, upper = labels[i - 1], labels[i]
    return f"[{text(lower)}]" if _single(lower, upper) else f"[{text(lower)}, {text(upper)})"


def text_histogram(hist: Histogram) -> str:
    """The bucket lines: label (16 wide), count (8 wide), a bar of ``@`` scaled to the largest count."""
    largest = max(hist.counts, default=0)
    return "".join(
        f"{_bucket_header(hist, i):<16}{count:>8} |{'@' * _bar(count, largest):<{_BAR_WIDTH}}|\n"
        for i, count in enumerate(hist.counts)
    )


def text_value(value: Value) -> str:
    """Any value as text; multi-line values (histograms, nested maps) end with a newline."""
    if isinstance(value, Histogram):
        return text_histogram(value)
    if isinstance(value, OrderedMap):
        return "".join(f"[{text(k)}]: {text_value(v)}\n" for k, v in value.items)
    if isinstance(value, Stats):
        return text_value(value.value)
    if isinstance(value, TimeSeries):
        return text_tseries(value)
    return text(value)


def _strip_parens(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == "(" and key[-1] == ")" else key


def _is_multiline(value: Value) -> bool:
    return type(value) in (Histogram, OrderedMap, Stats, TimeSeries)


def text_map(name: str, value: Value) -> str:
    """A map as printed at exit or by ``print(@m)``: ``@m[key]: value`` lines (a tuple key without its
    parentheses), histograms under a ``@m[key]:`` header and followed by a blank line."""
    if isinstance(value, (Histogram, TimeSeries)):
        return f"{name}:\n{text_value(value)}\n"
    if isinstance(value, Stats):
        value = value.value
    if not isinstance(value, OrderedMap):
        return f"{name}: {text(value)}\n"
    lines = []
    for key, item in value.items:
        shown = _key_text(key)
        if _is_multiline(item):
            lines.append(f"{name}[{shown}]:\n{text_value(item)}\n")
        else:
            lines.append(f"{name}[{shown}]: {str(item) if type(item) is int else text(item)}\n")
    return "".join(lines)


def _key_text(key: Primitive) -> str:
    """A map key inside ``@m[...]``: a tuple without its parentheses (integers fast: big maps print
    their keys by the hundred thousand)."""
    if type(key) is tuple:
        return ", ".join([str(v) if type(v) is int else text(v) for v in key])
    return _strip_parens(text(key))


# --- JSON --------------------------------------------------------------------------------------------------


def _json_escape_table() -> dict[int, str]:
    table = {c: f"\\u{c:04x}" for c in range(0x20)}
    table.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
    # bpftrace tests each byte as a signed char, so bytes >= 0x80 count as control characters and print
    # as the sign-extended int in hex (``\uffffffc3``); kept for identical output.
    table.update({b: f"\\u{b | 0xFFFFFF00:x}" for b in range(0x80, 0x100)})
    return table


_JSON_ESCAPES = _json_escape_table()
_JSON_PLAIN = re.compile(r'[^\x00-\x1f"\\]*\Z')


def json_string(s: str) -> str:
    """A JSON string as bpftrace writes it (byte-wise escaping of the UTF-8 text)."""
    if s.isascii() and _JSON_PLAIN.match(s):
        return f'"{s}"'
    data = s.encode("utf-8", "surrogateescape")
    return '"' + data.decode("latin-1").translate(_JSON_ESCAPES) + '"'


def _json_int(value: int) -> str:
    """Integers a double cannot hold exactly are strings, as RFC 8259 advises and bpftrace does."""
    digits = str(value)
    return digits if int(float(value)) == value else f'"{digits}"'


def json_primitive(value: Primitive) -> str:
    kind = type(value)
    if kind is int:
        return _json_int(value)
    if kind is str:
        return json_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is Symbolic:
        return _json_int(value.number)
    if kind is tuple or kind is list:
        return "[" + ",".join([json_primitive(v) for v in value]) + "]"
    if kind is Record:
        return "{" + ", ".join([f"{json_string(n)}: {json_primitive(v)}" for n, v in value.fields]) + "}"
    if kind is Buffer:
        return "[" + ",".join([str(b - 256 if b >= 0x80 else b) for b in value.data]) + "]"
    if value is None:
        return "null"
    raise TypeError(f"cannot print a {kind.__name__}")


def _one_less(label: Primitive) -> Optional[int]:
    """JSON gives closed bucket ranges: the integer just under an upper bound."""
    if type(label) is Symbolic:
        return wrap64(label.number - 1) if label.number else -1
    if type(label) is int:
        return label - 1
    return None


def json_histogram(hist: Histogram) -> str:
    buckets = []
    labels = hist.labels
    for i, count in enumerate(hist.counts):
        parts = []
        if i == 0 and hist.lower_bound is not None:
            parts.append(f'"min": {json_primitive(hist.lower_bound)}, ')
        elif i > 0:
            parts.append(f'"min": {json_primitive(labels[i - 1])}, ')
        if i < len(labels):
            below = _one_less(labels[i])
            shown = json_primitive(labels[i]) if below is None else _json_int(below)
            parts.append(f'"max": {shown}, ')
        parts.append(f'"count": {count}')
        buckets.append("{" + "".join(parts) + "}")
    return "[" + ",".join(buckets) + "]"


def _json_key(key: Primitive) -> str:
    """Map keys are their text without tuple parentheses and without any space."""
    return json_string(_strip_parens(text(key)).replace(" ", ""))


def json_value(value: Value) -> str:
    if isinstance(value, Histogram):
        return json_histogram(value)
    if isinstance(value, OrderedMap):
        return "{" + ", ".join([f"{_json_key(k)}: {json_value(v)}" for k, v in value.items]) + "}"
    if isinstance(value, Stats):
        return json_value(value.value)
    if isinstance(value, TimeSeries):
        return json_tseries(value)
    return json_primitive(value)


def _json_type(value: Value) -> str:
    """``stats`` for avg/stats maps, ``hist`` for histograms (or maps of them), else ``map``."""
    probe = value
    if type(probe) is OrderedMap and probe.items:
        probe = probe.items[0][1]
    if type(value) is Stats or type(probe) is Stats:
        return "stats"
    if type(probe) is TimeSeries:
        return "tseries"
    return "hist" if type(probe) is Histogram else "map"


# --- printers ----------------------------------------------------------------------------------------------


class Printer(abc.ABC):
    """Where a running script's output goes: one call per event, as bpftrace's ``Output``.

    At exit the runtime calls ``end()``, then ``map()`` for every map that is not internal, in order of
    name (bpftrace keeps maps in a ``std::map``), skipping none: empty maps print nothing by themselves.
    """

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    @abc.abstractmethod
    def map(self, name: str, value: Value) -> None:
        """A map at exit or for ``print(@m)`` (value from ``format_map``/``format_print_map``)."""

    @abc.abstractmethod
    def value(self, value: Value) -> None:
        """``print(expr)`` of anything that is not a map."""

    @abc.abstractmethod
    def _message(self, kind: str, text: str, newline: bool = False) -> None:
        """An event whose payload is already text."""

    def printf(self, text: str) -> None:
        self._message("printf", text)

    def printf_many(self, texts: list[str]) -> None:
        """Several printf events in a row (a flood is written in one piece where the format allows)."""
        for text in texts:
            self.printf(text)

    def time(self, text: str) -> None:
        self._message("time", text)

    def cat(self, text: str) -> None:
        self._message("cat", text)

    def join(self, text: str) -> None:
        self._message("join", text, newline=True)

    def syscall(self, text: str) -> None:
        """The output of ``system()``."""
        self._message("syscall", text, newline=True)

    @abc.abstractmethod
    def end(self) -> None:
        """The main loop is over; maps print next."""

    @abc.abstractmethod
    def lost_events(self, count: int) -> None:
        """The kernel dropped ``count`` output events."""

    @abc.abstractmethod
    def attached_probes(self, count: int) -> None:
        """All probes are attached: the banner."""

    @abc.abstractmethod
    def benchmark_result(self, names: Sequence[str], index: int, average_ns: int, iterations: int) -> None:
        """``--mode bench``: the result of bench probe ``names[index]``."""


class TextPrinter(Printer):
    """bpftrace's default output."""

    def map(self, name: str, value: Value) -> None:
        self.out.write(text_map(name, value))

    def value(self, value: Value) -> None:
        self.out.write(text_value(value) + "\n")

    def _message(self, kind: str, text: str, newline: bool = False) -> None:
        self.out.write(text + "\n" if newline else text)

    def printf_many(self, texts: list[str]) -> None:
        self.out.write("".join(texts))

    def end(self) -> None:
        self.out.write("\n\n")

    def lost_events(self, count: int) -> None:
        self.err.write(f"Lost {count} events\n")

    def attached_probes(self, count: int) -> None:
        self.err.write(f"Attached {count} probe{'' if count == 1 else 's'}\n")

    def benchmark_result(self, names: Sequence[str], index: int, average_ns: int, iterations: int) -> None:
        width = max(40, *(len(name) for name in names)) + 1
        if index == 0:
            self.out.write(f"{'Benchmark':<{width}}{'Time(ns)':<15}Iterations\n{'-' * (width + 25)}\n")
        self.out.write(f"{names[index]:<{width}}{average_ns:<15}{iterations}\n")


class JsonPrinter(Printer):
    """``-f json``: one JSON object per line, ``{"type": ..., "data": ...}``."""

    def _emit(self, kind: str, data: str) -> None:
        self.out.write(f'{{"type": "{kind}", "data": {data}}}\n')

    def map(self, name: str, value: Value) -> None:
        if type(value) is OrderedMap and not value.items:
            return
        self._emit(_json_type(value), f"{{{json_string(name)}: {json_value(value)}}}")

    def value(self, value: Value) -> None:
        self._emit("value", json_value(value))

    def _message(self, kind: str, text: str, newline: bool = False) -> None:
        self._emit(kind, json_string(text))

    def end(self) -> None:
        """JSON marks nothing at the end of the main loop."""

    def lost_events(self, count: int) -> None:
        self.out.write(f'{{"type": "lost_events", "count": {count}, "data": {{"events": {count}}}}}\n')

    def attached_probes(self, count: int) -> None:
        self.out.write(f'{{"type": "attached_probes", "count": {count}, "data": {{"probes": {count}}}}}\n')

    def benchmark_result(self, names: Sequence[str], index: int, average_ns: int, iterations: int) -> None:
        result = f'{{"average": {average_ns}, "iters": {iterations}}}'
        self._emit("benchmark_result", f"{{{json_string(names[index])}: {result}}}")


def make_printer(output_format: str, out: TextIO, err: TextIO) -> Printer:
    """The printer for ``-f text`` or ``-f json``."""
    if output_format == "json":
        return JsonPrinter(out, err)
    if output_format == "text":
        return TextPrinter(out, err)
    raise ValueError(f"unknown output format {output_format!r}: expected text or json")
