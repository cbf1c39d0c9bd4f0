#!/usr/bin/env python3
"""How fast RingBuffer and PerfBuffer move records into Python, and whether they lose any.

A forked producer runs a socket filter program with BPF_PROG_TEST_RUN (``repeat`` = a chunk of
records per call), each run writing one 32-byte record {seq, 0, 0, 0} with bpf_ringbuf_output or
bpf_perf_event_output and counting failed writes in a map. The producer is paced to a target rate,
then runs flat out ("max"); the parent consumes and reports records/s and records lost. The ring
buffer is 64 MiB, so a flat-out run measures how fast Python drains it. For the perf buffer (4 MiB
per CPU), "lost" is the sum of PERF_RECORD_LOST counts, checked against the failures the program
itself counted; since the kernel writes a LOST record only before the next sample that fits, one
more sample is sent on every CPU at the end (hence records + CPUs received + lost).

    sudo python3 benchmarks/events.py [--records 2000000] [--rate 500000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    atomic_add,
    call,
    exit_,
    jmp,
    label,
    ld_imm64,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.events import PerfBuffer, RingBuffer
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.kernel.sysinfo import online_cpus
from tinybpf.maps import Map
from tinybpf.programs import Program

PACKET = bytes(64)
CHUNK = 1000
BPF_F_CURRENT_CPU = 0xFFFFFFFF


def producer_program(counters: Map, out: Map, perf: bool) -> Instructions:
    """seq = counters[0]++; emit {seq, 0, 0, 0}; counters[1] += 1 when the write fails."""
    lookup: list[Any] = [mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), mov64(R1, R6), call("map_lookup_elem"),
              jmp(JumpOp.JEQ, R0, 0, "out")]
    insns: list[Any] = [mov64(R8, R1), ld_map_fd(R6, counters), st(Size.W, R10, -4, 0), *lookup,
             ldx(Size.DW, R7, R0, 0), mov64(R1, R7), alu64(ALUOp.ADD, R1, 1), stx(Size.DW, R0, R1, 0),
             stx(Size.DW, R10, R7, -40), st(Size.DW, R10, -32, 0), st(Size.DW, R10, -24, 0), st(Size.DW, R10, -16, 0)]
    if perf:  # bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, data, 32)
        insns += [mov64(R1, R8), ld_map_fd(R2, out), ld_imm64(R3, BPF_F_CURRENT_CPU), mov64(R4, R10),
                  alu64(ALUOp.ADD, R4, -40), mov64(R5, 32), call("perf_event_output")]
    else:  # bpf_ringbuf_output(map, data, 32, 0)
        insns += [ld_map_fd(R1, out), mov64(R2, R10), alu64(ALUOp.ADD, R2, -40), mov64(R3, 32), mov64(R4, 0),
                  call("ringbuf_output")]
    insns += [jmp(JumpOp.JEQ, R0, 0, "done"), st(Size.W, R10, -4, 1), *lookup, mov64(R1, 1),
              atomic_add(Size.DW, R0, R1), label("done"), mov64(R0, 0), exit_(), label("out"), mov64(R0, 0), exit_()]
    return Instructions(insns)


def produce(prog: Program, records: int, rate: int) -> int:
    """Fork a producer emitting ``records`` at ``rate``/s (0: flat out); returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    try:
        start = time.perf_counter()
        for done in range(0, records, CHUNK):
            prog.test_run(PACKET, repeat=min(CHUNK, records - done))
            if rate:
                delay = start + (done + CHUNK) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
    finally:
        os._exit(0)


def emit_on_every_cpu(prog: Program) -> None:
    affinity = os.sched_getaffinity(0)
    try:
        for cpu in online_cpus():
            os.sched_setaffinity(0, {cpu})
            prog.test_run(PACKET)
    finally:
        os.sched_setaffinity(0, affinity)


def measure(kind: str, style: str, records: int, rate: int) -> tuple[int, int, float, int]:
    """(records consumed, records lost, seconds, failures the program counted)."""
    perf = kind == "perf"
    received = [0]

    def per_record(*args: Any) -> None:
        received[0] += 1

    def batch(*args: Any) -> None:
        received[0] += len(args[-1])

    lost = [0]
    with Map.create(MapType.ARRAY, 4, 8, 2, key=int, value=int) as counters, \
         (Map.create(MapType.PERF_EVENT_ARRAY) if perf else Map.create(MapType.RINGBUF, 0, 0, 64 << 20)) as out, \
         Program.load(ProgType.SOCKET_FILTER, producer_program(counters, out, perf), name="bench_events") as prog:
        callbacks: dict = {"batch": batch} if style == "batch" else {"callback": per_record}
        if perf:
            buffer: Any = PerfBuffer(out, pages=1024, wakeup_events=64, **callbacks)
        else:
            buffer = RingBuffer(out, **callbacks)
        with buffer:
            start = time.perf_counter()
            pid = produce(prog, records, rate)
            while os.waitpid(pid, os.WNOHANG) == (0, 0):
                buffer.poll(timeout=0.05)
            buffer.consume()
            if perf:  # a PERF_RECORD_LOST is written before the next sample that fits: one more per CPU
                emit_on_every_cpu(prog)
                buffer.consume()
                lost[0] = buffer.lost_count
            elapsed = time.perf_counter() - start
            failures = int(counters[1])
            if not perf:
                lost[0] = failures
    return received[0], lost[0], elapsed, failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--rate", type=int, default=500_000, help="paced producer rate, records/s")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("events benchmark: must run as root", file=sys.stderr)
        return 1
    runs: list[tuple[str, str, int]] = [
        ("ringbuf", "batch", args.rate), ("ringbuf", "callback", args.rate), ("ringbuf", "batch", 0),
        ("ringbuf", "callback", 0), ("perf", "batch", args.rate), ("perf", "callback", args.rate),
        ("perf", "batch", 0), ("perf", "callback", 0),
    ]
    print(f"{args.records} records of 32 bytes per run; producer paced at {args.rate}/s, or flat out (max)")
    for kind, style, rate in runs:
        received, lost, elapsed, failures = measure(kind, style, args.records, rate)
        check = ""
        if kind == "perf":
            check = f" (program saw {failures} failed writes: {'exact' if failures == lost else 'MISMATCH'})"
        expected = args.records + (len(online_cpus()) if kind == "perf" else 0)
        total = "" if received + lost == expected else "  TOTAL MISMATCH"
        print(f"{kind:8} {style:9} rate {rate or 'max':>7}: {received / elapsed:>12,.0f} records/s consumed, "
              f"{received:>9} received, {lost:>9} lost{check}{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
