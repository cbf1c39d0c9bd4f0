"""PerfBuffer delivers every sample in order per CPU and counts lost samples exactly."""
from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator

import pytest

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
from tinybpf.events import PerfBuffer
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.kernel.sysinfo import online_cpus
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel

PACKET = bytes(64)
BPF_F_CURRENT_CPU = 0xFFFFFFFF


def output_program(counters: Map, events: Map) -> Instructions:
    """seq = counters[0]++; perf_event_output {seq, cpu, 0, 0}; counters[1] += 1 on failure."""
    lookup = [mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), mov64(R1, R6), call("map_lookup_elem"),
              jmp(JumpOp.JEQ, R0, 0, "out")]
    return Instructions([
        mov64(R8, R1), ld_map_fd(R6, counters), st(Size.W, R10, -4, 0), *lookup,
        ldx(Size.DW, R7, R0, 0), mov64(R1, R7), alu64(ALUOp.ADD, R1, 1), stx(Size.DW, R0, R1, 0),
        stx(Size.DW, R10, R7, -40), call("get_smp_processor_id"), stx(Size.DW, R10, R0, -32),
        st(Size.DW, R10, -24, 0), st(Size.DW, R10, -16, 0),
        mov64(R1, R8), ld_map_fd(R2, events), ld_imm64(R3, BPF_F_CURRENT_CPU), mov64(R4, R10),
        alu64(ALUOp.ADD, R4, -40), mov64(R5, 32), call("perf_event_output"),
        jmp(JumpOp.JEQ, R0, 0, "done"), st(Size.W, R10, -4, 1), *lookup, ldx(Size.DW, R1, R0, 0), alu64(ALUOp.ADD, R1, 1), stx(Size.DW, R0, R1, 0),
        label("done"), mov64(R0, 0), exit_(),
        label("out"), mov64(R0, 0), exit_(),
    ])


@contextlib.contextmanager
def on_cpu(cpu: int) -> Iterator[None]:
    """Run this thread on ``cpu``: BPF_PROG_TEST_RUN runs the program where the caller runs."""
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, affinity)


@contextlib.contextmanager
def emitter() -> Iterator[tuple]:
    with Map.create(MapType.ARRAY, 4, 8, 2, key=int, value=int) as counters, \
         Map.create(MapType.PERF_EVENT_ARRAY) as events, \
         Program.load(ProgType.SOCKET_FILTER, output_program(counters, events), name="tt_perf_out") as prog:
        yield counters, events, prog


def test_every_sample_arrives_in_order_on_its_cpu() -> None:
    per_cpu: dict[int, list[int]] = {}

    def sample(cpu: int, data: memoryview) -> None:
        seq, where, _, _ = struct.unpack_from("<QQQQ", data)
        assert where == cpu
        per_cpu.setdefault(cpu, []).append(seq)

    cpus = online_cpus()
    with emitter() as (counters, events, prog), PerfBuffer(events, sample, pages=64) as buffer:
        for round_ in range(4):
            cpu = cpus[round_ % len(cpus)]
            with on_cpu(cpu):
                prog.test_run(PACKET, repeat=1000)
            buffer.poll(timeout=1)
        buffer.consume()
        assert counters[1] == 0
        assert buffer.lost_count == 0
    merged = sorted(seq for seqs in per_cpu.values() for seq in seqs)
    assert merged == list(range(4000))
    for seqs in per_cpu.values():
        assert seqs == sorted(seqs)
    assert set(per_cpu) == set(cpus[:4])


def test_samples_keep_their_padded_raw_size() -> None:
    sizes: list[int] = []
    with emitter() as (_, events, prog), PerfBuffer(events, lambda cpu, data: sizes.append(len(data))) as buffer:
        prog.test_run(PACKET, repeat=3)
        buffer.poll(timeout=1)
    assert sizes == [36, 36, 36]  # 32 bytes of data, padded so that u32 size + data is 8-aligned


def test_lost_samples_are_counted_exactly() -> None:
    lost_reports: list[tuple] = []
    received: list[int] = []
    with emitter() as (counters, events, prog), \
         PerfBuffer(events, batch=lambda cpu, views: received.extend(struct.unpack_from("<Q", v)[0] for v in views),
                    lost=lambda cpu, count: lost_reports.append((cpu, count)), pages=1) as buffer, \
         on_cpu(online_cpus()[0]):
        prog.test_run(PACKET, repeat=5000)  # one page holds ~85 samples of 48 bytes
        buffer.consume()
        prog.test_run(PACKET)  # the LOST record is written before the next sample that fits
        buffer.consume()
        failures = counters[1]
    assert failures > 4000
    assert buffer.lost_count == failures == sum(count for _, count in lost_reports)
    assert len(received) + failures == 5001
    assert received == sorted(received) and received[-1] == 5000


def test_wrapping_records_are_stitched() -> None:
    received: list[int] = []
    with emitter() as (counters, events, prog), \
         PerfBuffer(events, lambda cpu, data: received.append(struct.unpack_from("<Q", data)[0]), pages=1) as buffer, \
         on_cpu(online_cpus()[0]):
        for _ in range(100):  # 4096 is not a multiple of 48: records straddle the end of the ring
            prog.test_run(PACKET, repeat=37)
            buffer.consume()
        assert counters[1] == 0
    assert received == list(range(3700))
