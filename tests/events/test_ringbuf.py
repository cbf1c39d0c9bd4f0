"""RingBuffer delivers every record of a known sequence, in order, and skips discarded ones."""
from __future__ import annotations

import struct

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R7,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    call,
    exit_,
    ja,
    jmp,
    label,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.events import RingBuffer
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel

PACKET = bytes(64)
RECORD = struct.Struct("<QQQQ")  # seq, tag, 0, 0: 32 bytes


def next_seq() -> list:
    """r7 = counters[0]++ (counters is the map loaded into r6 by the caller); r0 = 0 -> exit."""
    return [
        st(Size.W, R10, -4, 0), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), mov64(R1, R6),
        call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "out"),
        ldx(Size.DW, R7, R0, 0), mov64(R1, R7), alu64(ALUOp.ADD, R1, 1), stx(Size.DW, R0, R1, 0),
    ]


def output_program(counters: Map, rings: list[Map], tag: int = 0) -> Instructions:
    """Each run writes {seq, tag} to every ring in ``rings``; failed writes count in counters[1]."""
    insns = [ld_map_fd(R6, counters), *next_seq(), stx(Size.DW, R10, R7, -40), st(Size.DW, R10, -32, tag),
             st(Size.DW, R10, -24, 0), st(Size.DW, R10, -16, 0)]
    for ring in rings:
        insns += [ld_map_fd(R1, ring), mov64(R2, R10), alu64(ALUOp.ADD, R2, -40), mov64(R3, 32), mov64(R4, 0),
                  call("ringbuf_output"), jmp(JumpOp.JEQ, R0, 0, f"ok{ring.fd}"),
                  st(Size.W, R10, -4, 1), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), mov64(R1, R6),
                  call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "out"), ldx(Size.DW, R1, R0, 0), alu64(ALUOp.ADD, R1, 1), stx(Size.DW, R0, R1, 0),
                  label(f"ok{ring.fd}")]
    insns += [mov64(R0, 0), exit_(), label("out"), mov64(R0, 0), exit_()]
    return Instructions(insns)


def reserve_program(counters: Map, ring: Map) -> Instructions:
    """bpf_ringbuf_reserve a record {seq}; submit even sequence numbers, discard odd ones."""
    return Instructions([
        ld_map_fd(R6, counters), *next_seq(),
        ld_map_fd(R1, ring), mov64(R2, 32), mov64(R3, 0), call("ringbuf_reserve"),
        jmp(JumpOp.JEQ, R0, 0, "out"),
        stx(Size.DW, R0, R7, 0), st(Size.DW, R0, 8, 0), st(Size.DW, R0, 16, 0), st(Size.DW, R0, 24, 0),
        mov64(R1, R0), mov64(R2, 0), alu64(ALUOp.AND, R7, 1), jmp(JumpOp.JNE, R7, 0, "discard"),
        call("ringbuf_submit"), ja("out"),
        label("discard"), call("ringbuf_discard"),
        label("out"), mov64(R0, 0), exit_(),
    ])


def counters_map() -> Map:
    return Map.create(MapType.ARRAY, 4, 8, 2, key=int, value=int)


def test_every_record_arrives_in_order_through_the_callback() -> None:
    count = 20000
    seen: list[int] = []
    with counters_map() as counters, Map.create(MapType.RINGBUF, 0, 0, 1 << 20) as ringmap, \
         Program.load(ProgType.SOCKET_FILTER, output_program(counters, [ringmap]), name="tt_rb_out") as prog, \
         RingBuffer(ringmap, lambda view: seen.append(RECORD.unpack(view)[0])) as ring:
        prog.test_run(PACKET, repeat=count)
        assert ring.poll(timeout=1) == count
        assert counters[1] == 0
    assert seen == list(range(count))


def test_batches_and_wraparound_keep_the_sequence() -> None:
    seen: list[int] = []

    def batch(views: list[memoryview]) -> None:
        seen.extend(RECORD.unpack_from(view)[0] for view in views)

    # 4 KiB of 40-byte slots: records straddle the end of the data area on most laps
    with counters_map() as counters, Map.create(MapType.RINGBUF, 0, 0, 4096) as ringmap, \
         Program.load(ProgType.SOCKET_FILTER, output_program(counters, [ringmap]), name="tt_rb_wrap") as prog, \
         RingBuffer(ringmap, batch=batch) as ring:
        for _ in range(200):
            prog.test_run(PACKET, repeat=77)
            ring.consume()
        assert counters[1] == 0
    assert seen == list(range(200 * 77))


def test_discarded_records_are_skipped() -> None:
    with counters_map() as counters, Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ringmap, \
         Program.load(ProgType.SOCKET_FILTER, reserve_program(counters, ringmap), name="tt_rb_discard") as prog, \
         RingBuffer(ringmap) as ring:
        prog.test_run(PACKET, repeat=100)
        records = [RECORD.unpack(record)[0] for record in ring.records()]
    assert records == list(range(0, 100, 2))


def test_two_ring_buffers_in_one_poll() -> None:
    got = {"a": [], "b": []}  # type: ignore[var-annotated]
    with counters_map() as counters, Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ring_a, \
         Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ring_b, \
         Program.load(ProgType.SOCKET_FILTER, output_program(counters, [ring_a, ring_b]), name="tt_rb_two") as prog, \
         RingBuffer() as ring:
        ring.add(ring_a, lambda view: got["a"].append(RECORD.unpack(view)[0]))
        ring.add(ring_b, lambda view: got["b"].append(RECORD.unpack(view)[0]))
        prog.test_run(PACKET, repeat=500)
        assert ring.poll(timeout=1) == 1000
    assert got["a"] == got["b"] == list(range(500))


def test_poll_times_out_when_nothing_arrives() -> None:
    with Map.create(MapType.RINGBUF, 0, 0, 4096) as ringmap, RingBuffer(ringmap, print) as ring:
        assert ring.poll(timeout=0.05) == 0
        assert list(ring.records(timeout=0.01)) == []


def test_full_ring_drops_are_reported_by_the_program() -> None:
    with counters_map() as counters, Map.create(MapType.RINGBUF, 0, 0, 4096) as ringmap, \
         Program.load(ProgType.SOCKET_FILTER, output_program(counters, [ringmap]), name="tt_rb_full") as prog, \
         RingBuffer(ringmap) as ring:
        prog.test_run(PACKET, repeat=1000)
        delivered = len(list(ring.records()))
        assert delivered == 4096 // 40
        assert delivered + counters[1] == 1000
