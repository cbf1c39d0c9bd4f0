"""Ring buffer positions as a 32-bit kernel keeps them: ``unsigned long`` words that wrap at 2**32.

Pure logic over byte buffers laid out like the two mappings (consumer page; producer page, then the data area
twice), with the position format of a 32-bit kernel; the kernel-backed tests in test_ringbuf.py cover the rest.
"""
from __future__ import annotations

import struct

import pytest

from tinybpf.events import ringbuf

PAGE, SIZE = 4096, 4096


def ring_32bit(monkeypatch: pytest.MonkeyPatch, cons: int, prod: int, pending: int,
               records: list[tuple[int, bytes]]) -> ringbuf._Ring:
    monkeypatch.setattr(ringbuf, "_POS", struct.Struct("@I"))
    monkeypatch.setattr(ringbuf, "POSITION_MASK", 0xFFFFFFFF)
    consumer = bytearray(PAGE)
    producer = bytearray(PAGE + 2 * SIZE)
    struct.pack_into("@II", consumer, 0, cons, 0)
    struct.pack_into("@II", producer, 0, prod, pending)  # pending_pos follows producer_pos (6.1.y, 6.9+)
    for position, data in records:
        record = struct.pack("@II", len(data), 0) + data
        for copy in (0, SIZE):  # the data area is mapped twice in a row
            start = PAGE + copy + (position & (SIZE - 1))
            end = min(start + len(record), len(producer))
            producer[start:end] = record[:end - start]
    ring = object.__new__(ringbuf._Ring)
    ring.consumer, ring.producer, ring.view = consumer, producer, memoryview(producer)  # type: ignore[assignment]
    ring.mask, ring.data_offset, ring.pending = SIZE - 1, PAGE, 0
    return ring


def test_the_word_after_producer_pos_is_not_part_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as a u64, producer_pos + pending_pos << 32 put the producer 4 GiB ahead: records() walked for ever."""
    ring = ring_32bit(monkeypatch, 0, 16, pending=16, records=[(0, b"12345678")])
    assert [bytes(r) for r in ring.records()] == [b"12345678"]
    ring.release()
    assert struct.unpack_from("@I", ring.consumer, 0)[0] == 16


def test_positions_wrap_at_2_to_the_32(monkeypatch: pytest.MonkeyPatch) -> None:
    start = 0xFFFFFFF0
    ring = ring_32bit(monkeypatch, start, (start + 32) & 0xFFFFFFFF, pending=0,
                      records=[(start, b"abcdefgh"), (start + 16, b"ijklmnop")])
    assert [bytes(r) for r in ring.records()] == [b"abcdefgh", b"ijklmnop"]
    ring.release()
    assert struct.unpack_from("@I", ring.consumer, 0)[0] == 0x10
