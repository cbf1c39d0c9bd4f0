"""Aggregations and map printing: hist(v, bits), BEGIN-only programs ending by themselves, full maps, and
decoding/printing big maps quickly."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import time

import pytest

from tinybpf.trace.runtime.output import format_map, text_map
from tinybpf.trace.runtime.session import decoder
from tinybpf.trace.runtime.types import IntType, TupleType
from tinybpf.trace.semantics.histogram import hist_bucket
from tinybpf.trace.semantics.stype import SType, string_type, tuple_type

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def trace(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, "-e", script], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, **env))


def test_tuple_key_decoder_reads_ints_and_strings_at_their_offsets() -> None:
    key = tuple_type([SType("int", 4, True), SType("int", 8, False), string_type(4), SType("int", 1, True)])
    raw = bytearray(key.size)
    offsets = key.offsets
    struct.pack_into("<i", raw, offsets[0], -5)
    struct.pack_into("<Q", raw, offsets[1], 2**63)
    raw[offsets[2]:offsets[2] + 3] = b"ab\0"
    struct.pack_into("<b", raw, offsets[3], -1)
    assert decoder(key)(bytes(raw)) == (-5, 2**63, "ab", -1)


def test_printing_100k_tuple_keys_is_fast() -> None:
    key = tuple_type([SType("int", 8, True), SType("int", 8, True)])
    decode = decoder(key)
    raws = [struct.pack("<qq", i, i) for i in range(100_000)]
    start = time.process_time()
    entries = [(decode(raw), i) for i, raw in enumerate(raws)]
    value = format_map(TupleType((IntType(64, True), IntType(64, True))), IntType(64, True), entries)
    printed = text_map("@", value)
    assert time.process_time() - start < 2.0
    assert printed.startswith("@[0, 0]: 0\n") and printed.endswith("@[99999, 99999]: 99999\n")


@pytest.mark.kernel
def test_fine_grained_hist_counts_like_the_reference_buckets() -> None:
    result = trace("BEGIN { $i = 0; while ($i < 300) { @ = hist($i, 2); $i++; } @c = hist(100, 2); }")
    assert result.returncode == 0, result.stderr
    counts: dict[int, int] = {}
    for i in range(300):
        counts[hist_bucket(i, 2)] = counts.get(hist_bucket(i, 2), 0) + 1
    assert counts[hist_bucket(130, 2)] == 32
    assert "[128, 160)            32 |" in result.stdout
    assert "[96, 112)              1 |" in result.stdout


@pytest.mark.kernel
def test_begin_only_program_ends_without_exit() -> None:
    result = trace('BEGIN { printf("hi\\n"); @x = 1; }')
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n\n\n@x: 1\n"


@pytest.mark.kernel
def test_full_map_warns_once() -> None:
    result = trace("BEGIN { $i = 0; while ($i < 20) { @m[$i] = $i; $i++; } exit(); }", BPFTRACE_MAP_KEYS_MAX="10")
    assert result.returncode == 0
    assert result.stderr.count("WARNING: Map full") == 1
    assert "@m holds 10 keys" in result.stderr
    assert result.stdout.count("@m[") == 10


def test_invalid_license_is_one_error_line_and_the_source() -> None:
    result = trace('config = { license = "Potato" } BEGIN { exit(); }')
    assert result.returncode == 1
    assert "ERROR: Invalid value for license. Found: Potato. Valid values: Dual MIT/GPL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.kernel
def test_bench_mode_prints_a_row_per_bench_probe() -> None:
    result = subprocess.run([*TRACE, "--mode", "bench", "-e", "bench:a { @a = count(); } bench:bb { @b++; }"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Benchmark", "Time(ns)", "Iterations"]
    assert [line.split()[0] for line in lines[2:4]] == ["a", "bb"]
    assert all(part.isdigit() for line in lines[2:4] for part in line.split()[1:])


@pytest.mark.kernel
def test_helper_warnings_report_a_missing_key() -> None:
    result = subprocess.run([*TRACE, "-k", "-e", 'BEGIN { @[1] = 1; printf("%d\\n", @[2]); }'],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert ("stdin:1:34-38: WARNING: Can't lookup map element because it does not exist.\n"
            "Additional Info - helper: map_lookup_elem, retcode: 0\n") in result.stderr


@pytest.mark.kernel
def test_clearing_a_keyless_aggregation() -> None:
    result = trace("BEGIN { @c = count(); @h = hist(3); clear(@c); clear(@h); @x = 1; }")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n\n@x: 1\n"
