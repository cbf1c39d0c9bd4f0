"""``tseries(value, interval, num_intervals[, agg])``: a value per time interval, printed as a graph.

In the kernel a tseries map is keyed by the map key plus an 8-byte bucket, ``epoch % num_intervals``
where ``epoch = now / interval``; each per-CPU value is ``{value, meta, epoch}`` (``meta`` is the count
for ``avg``, "is set" for ``min``/``max``, the write time when there is no ``agg``: the latest write
wins). Reading combines the CPUs of a bucket, keeps the latest epoch, and prints the last
``num_intervals`` epochs before the newest epoch of the whole map, as bpftrace does.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tinybpf.trace.syntax import ast

AGG_FUNCTIONS = ("avg", "max", "min", "sum")
VALUE_SIZE = 24
_GRAPH_WIDTH = 53
_PADDING = 21


def tseries_params(e: ast.Call, const_int: Callable[[ast.Expression], Optional[int]],
                   error: Callable[[str, ast.Pos], None]) -> tuple[int, int, str]:
    """The checked (interval_ns, num_intervals, agg) of a ``tseries()`` call; agg "" keeps the last value."""
    interval, count = const_int(e.args[1]), const_int(e.args[2])
    if interval is None or interval <= 0:
        error("tseries() interval_ns must be a positive integer literal", e.args[1].pos)
        interval = 1
    if count is None or not 0 < count <= 1000000:
        error("tseries() num_intervals must be a positive integer literal (at most 1000000)", e.args[2].pos)
        count = 1
    agg = ""
    if len(e.args) == 4:
        arg = e.args[3]
        agg = arg.text if isinstance(arg, ast.String) else ""
        if agg not in AGG_FUNCTIONS:
            error(f"tseries() agg must be one of: {', '.join(AGG_FUNCTIONS)}", arg.pos)
    return interval, count, agg


# --- reading the map ----------------------------------------------------------------------------------------


def reduce_bucket(per_cpu: list[bytes], agg: str, signed: bool) -> tuple[int, int]:
    """One bucket's (epoch, value) over the CPUs: only the CPUs that wrote the latest epoch count.

    An epoch of 0 means never written; a bucket nobody wrote is (0, 0), like bpftrace's.
    """
    unpack = struct.Struct("=qqQ" if signed else "=QQQ").unpack_from
    by_epoch: dict[int, list[int]] = {}
    for raw in per_cpu:
        value, meta, epoch = unpack(raw)
        if not epoch:
            continue
        current = by_epoch.get(epoch)
        if current is None:
            by_epoch[epoch] = [value, meta]
        elif agg == "":
            if meta > current[1]:
                by_epoch[epoch] = [value, meta]
        elif agg == "avg":
            current[0] += value
            current[1] += meta
        elif agg in ("min", "max"):
            current[0] = (min if agg == "min" else max)(current[0], value)
        else:
            current[0] += value
    if not by_epoch:
        return 0, 0
    latest = max(by_epoch)
    value, meta = by_epoch[latest]
    if agg == "avg" and meta:
        value = abs(value) // meta * (1 if value >= 0 else -1)
    return latest, value


def collect(raw: list[tuple[bytes, list[bytes]]], agg: str, signed: bool) -> list[tuple[bytes, dict[int, int]]]:
    """Per map key (the bytes before the bucket, in byte order): epoch -> value."""
    groups: dict[bytes, dict[int, int]] = {}
    for key, per_cpu in raw:
        epoch, value = reduce_bucket(per_cpu, agg, signed)
        groups.setdefault(key[:-8], {}).setdefault(epoch, value)
    return sorted(groups.items())


# --- values -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSeries:
    """(interval start in ns since the epoch, value or None when nothing was recorded) per interval."""

    points: tuple[tuple[int, Optional[int]], ...]
    signed: bool = False


def build(series: list[tuple[Any, dict[int, int]]], interval_ns: int, num_intervals: int,
          signed: bool) -> list[tuple[Any, TimeSeries]]:
    """Each key's points over the map's last ``num_intervals`` epochs, from the key's first one."""
    newest = max((max(epochs) for _, epochs in series), default=0)
    first = newest - num_intervals + 1
    out = []
    for key, epochs in series:
        points: tuple[tuple[int, Optional[int]], ...] = ()
        if first >= 0:
            start = min((e for e in epochs if e >= first), default=newest + 1)
            points = tuple((e * interval_ns, epochs.get(e)) for e in range(start, newest + 1))
        out.append((key, TimeSeries(points, signed)))
    return out


# --- text and JSON -------------------------------------------------------------------------------------------


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _scale(numerator: int, denominator: int, width: int) -> int:
    """``(float)width * (float)numerator / (float)denominator`` in C's single precision, truncated."""
    return int(_f32(_f32(float(width) * _f32(numerator)) / _f32(denominator)))


def _unit(interval: int) -> tuple[str, int]:
    """The time column's fraction: its name and digits (none from one second up)."""
    if interval >= 10**9:
        return "", 0
    if interval >= 10**6:
        return "ms", 3
    if interval >= 10**3:
        return "μs", 6
    return "ns", 9


def _bounds(series: TimeSeries) -> tuple[int, int]:
    values = [v for _, v in series.points if v is not None]
    low, high = min(values), max(values)
    if low == high:
        if low > (-(1 << 63) if series.signed else 0):
            low -= 1
        if high < ((1 << 63) - 1 if series.signed else (1 << 64) - 1):
            high += 1
    return low, high


def text_tseries(series: TimeSeries) -> str:
    """bpftrace's sideways graph: one row per interval, a ``*`` at the value between min and max."""
    if not series.points:
        return "<no data>"
    low, high = _bounds(series)
    first, last = series.points[0][0], series.points[-1][0]
    unit, digits = _unit((last - first) // max(len(series.points) - 1, 1))
    time_fmt = "hh:mm:ss" + (f".{unit}" if digits else "")
    time_size = 8 + (1 + digits if digits else 0)
    scale_line = f"{low!s:<{_PADDING}}{high!s:>{_GRAPH_WIDTH - _PADDING}}"
    fmt_pad = " " * max(0, time_size + 1 - len(time_fmt.encode()))
    lines = [" " * (time_size + 1) + scale_line, time_fmt + fmt_pad + "|" + "_" * (_GRAPH_WIDTH - 2) + "|"]
    zero = _scale(-low, high - low, _GRAPH_WIDTH) if low < 0 < high else 0
    for start, value in series.points:
        seconds, ns = divmod(start, 10**9)
        stamp = time.strftime("%H:%M:%S", time.localtime(seconds))
        if digits:
            stamp += f".{ns // 10 ** (9 - digits):0{digits}d}"
        row = ["|"] + [" "] * (_GRAPH_WIDTH - 2) + ["|"]
        if zero > 0:
            row[zero] = "."
        if value is None:
            lines.append(f"{stamp} {''.join(row)} -")
            continue
        at = _GRAPH_WIDTH // 2 if low == high else _scale(value - low, high - low, _GRAPH_WIDTH - 1)
        row[max(0, min(_GRAPH_WIDTH - 1, at))] = "*"
        lines.append(f"{stamp} {''.join(row)} {value}")
    lines.append(" " * time_size + " v" + "_" * (_GRAPH_WIDTH - 2) + "v")
    lines.append(" " * time_size + " " + scale_line)
    return "\n".join(lines) + "\n"


def json_tseries(series: TimeSeries) -> str:
    """``[{"interval_start": "1970-01-01 00:00:00.500000000", "value": 9}, ...]`` (UTC), recorded only."""
    items = []
    for start, value in series.points:
        if value is None:
            continue
        seconds, ns = divmod(start, 10**9)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{ns:09d}"
        items.append(f'{{"interval_start": "{stamp}", "value": {value}}}')
    return "[" + ", ".join(items) + "]"
