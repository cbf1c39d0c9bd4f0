"""tseries(): duration literals, reading the per-CPU buckets, the text graph and JSON, and real runs with
the time taken from a map (BPFTRACE_DUMMY_TS_MAP) so the intervals are known."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest

from tinybpf.trace.runtime.output import text_map
from tinybpf.trace.semantics.tseries import TimeSeries, build, json_tseries, reduce_bucket
from tinybpf.trace.syntax.lexer import parse_int

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
MS = 1_000_000
# 100 samples 10ms apart, the value cycling 0..9: ten 100ms intervals, the last five printed.
CYCLE = ("BEGIN { @ts = (uint64)0; } i:ms:1 { $i = (uint64)0; while ($i < 100) { "
         "@a = tseries($i % 10, 100ms, 5{agg}); @ts += 10ms; $i++; } clear(@ts); exit(); }")


def test_duration_literals_are_nanoseconds() -> None:
    assert [parse_int(t) for t in ("100ns", "3us", "100ms", "1s", "2m", "1h", "1d", "1_0ms")] == [
        100, 3000, 100 * MS, 10**9, 120 * 10**9, 3600 * 10**9, 86400 * 10**9, 10 * MS]
    assert parse_int("0x1d") == 29


def _cpu(value: int, meta: int, epoch: int) -> bytes:
    return struct.pack("=qqQ", value, meta, epoch)


def test_a_bucket_keeps_only_its_latest_epoch_over_the_cpus() -> None:
    cpus = [_cpu(10, 2, 7), _cpu(5, 3, 7), _cpu(100, 1, 6), _cpu(0, 0, 0)]
    assert reduce_bucket(cpus, "avg", True) == (7, 3)
    assert reduce_bucket(cpus, "max", True) == (7, 10)
    assert reduce_bucket(cpus, "sum", True) == (7, 15)
    assert reduce_bucket(cpus, "", True) == (7, 5)  # no agg: the latest write (largest time in meta) wins
    assert reduce_bucket([_cpu(-7, 2, 3)], "avg", True) == (3, -3)  # C division truncates toward zero
    assert reduce_bucket([_cpu(0, 0, 0)], "", False) == (0, 0)


def test_graph_marks_zero_gaps_and_scale() -> None:
    epochs = {1: -2, 2: 0, 4: 2}
    [(_, series)] = build([(None, epochs)], 100 * MS, 4, True)
    assert series.points == ((100 * MS, -2), (200 * MS, 0), (300 * MS, None), (400 * MS, 2))
    header, *lines = text_map("@", series).splitlines()
    assert header == "@:"
    assert lines[0] == " " * 13 + "-2".ljust(21) + "2".rjust(32)
    assert lines[1] == "hh:mm:ss.ms  |" + "_" * 51 + "|"
    assert lines[2].endswith("*" + " " * 25 + "." + " " * 25 + "| -2")
    assert lines[3].endswith("|" + " " * 25 + "*" + " " * 25 + "| 0")
    assert lines[4].endswith("|" + " " * 25 + "." + " " * 25 + "| -")
    assert lines[5].endswith("|" + " " * 25 + "." + " " * 25 + "* 2")
    assert lines[6] == " " * 13 + "v" + "_" * 51 + "v"
    assert lines[-1] == ""


def test_json_lists_recorded_intervals_in_utc() -> None:
    series = TimeSeries(((500 * MS, 9), (600 * MS, None)), False)
    assert json.loads(json_tseries(series)) == [{"interval_start": "1970-01-01 00:00:00.500000000", "value": 9}]
    assert text_map("@", TimeSeries(())) == "@:\n<no data>\n"


def _run(script: str, *options: str) -> str:
    env = dict(os.environ, BPFTRACE_DUMMY_TS_MAP="@ts", TZ="UTC")
    result = subprocess.run([*TRACE, *options, "-e", script], capture_output=True, text=True, timeout=60,
                            check=False, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.kernel
@pytest.mark.parametrize(("agg", "value"), [("", 9), (', "avg"', 4), (', "min"', 0), (', "max"', 9)])
def test_each_interval_folds_its_values(agg: str, value: int) -> None:
    out = _run(CYCLE.replace("{agg}", agg), "-f", "json")
    data = next(json.loads(line) for line in out.splitlines() if '"tseries"' in line)["data"]["@a"]
    assert [p["interval_start"][-12:] for p in data] == [f"00.{n}00000000" for n in range(5, 10)]
    assert {p["value"] for p in data} == {value}


@pytest.mark.kernel
def test_keyed_series_share_the_map_range_and_print_as_graphs() -> None:
    out = _run("BEGIN { @ts = (uint64)10s; } i:ms:1 { @a[\"x\"] = tseries(-3, 1s, 3); @ts += 1s; "
               "@a[\"y\"] = tseries(4, 1s, 3); clear(@ts); exit(); }")
    assert "@a[x]:\n" in out and "@a[y]:\n" in out
    assert "00:00:10 |" in out and "| -3\n00:00:11 |" in out and "| -\n" in out and "| 4\n" in out


@pytest.mark.kernel
def test_a_cleared_tseries_prints_nothing() -> None:
    out = _run("BEGIN { @[1] = tseries(1, 1ms, 5); clear(@); exit() }")
    assert "@" not in out
