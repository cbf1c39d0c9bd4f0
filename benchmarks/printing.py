#!/usr/bin/env python3
"""User-space speed the tests only check for correctness: printing a 100,000-key map (text and JSON) and
decoding 800,000 instructions. Prints seconds, median of ``-n`` runs (no kernel needed).

    python3 benchmarks/printing.py [-n 5]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

from tinybpf.asm import R0, R1, R2, Instructions, Size, exit_, ld_imm64, ldx, mov64
from tinybpf.trace.runtime import types as t
from tinybpf.trace.runtime.output import format_map, json_value, text_map


def big_map() -> None:
    entries = [((i, f"k{i}"), (i * 7919) % 100_003) for i in range(100_000)]
    value = format_map(t.TupleType((t.INT64, t.StringType(8))), t.CountType(), entries)
    text_map("@m", value)
    json_value(value)


def decode() -> None:
    data = Instructions([mov64(R1, 5), ld_imm64(R2, 7), ldx(Size.DW, R0, R1, 8), exit_()]).encode() * 200_000
    Instructions.decode(data)


def median_seconds(work: Callable[[], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5)
    runs = parser.parse_args().n
    print(f"print a 100,000-key map (text + JSON): {median_seconds(big_map, runs):.3f} s (was asserted < 1 s)")
    print(f"decode 800,000 instructions:          {median_seconds(decode, runs):.3f} s (was asserted < 5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
