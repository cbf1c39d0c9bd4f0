"""RingBuffer: consume BPF_MAP_TYPE_RINGBUF maps (bpf_ringbuf_output / reserve+submit). Requires Linux 5.8.

The kernel exposes a ring buffer as two mappings of the map fd: the consumer page (read-write,
``consumer_pos`` at offset 0) and, one page further, the producer page (``producer_pos``) followed by
the data area mapped twice in a row, so a record that wraps around the end reads as one contiguous
slice. Each record is an 8-byte header (``u32 len`` with BUSY and DISCARD flag bits, ``u32 pg_off``)
and its data, padded to 8 bytes.

Consumption is batched: read ``producer_pos`` once, walk every committed record through a
memoryview, deliver them, then publish the new ``consumer_pos`` once. Views handed to callbacks are
valid only during the call (the space is reused after it); copy with ``bytes(view)`` to keep one.
"""
from __future__ import annotations

import mmap
import select
import struct
from collections.abc import Iterator
from typing import Any, Callable, Optional

from ..errors import TinyBPFError
from ..kernel.barrier import KERNEL_LONG_BITS, POSITION_MASK, fence
from ..kernel.constants import MapType
from ..kernel.perf_event import page_size

RINGBUF_BUSY_BIT = 1 << 31
RINGBUF_DISCARD_BIT = 1 << 30
RINGBUF_HDR_SZ = 8

# consumer_pos and producer_pos are the kernel's unsigned long: on a 32-bit kernel the word after
# producer_pos (pending_pos) is not part of it. Native formats: one aligned load or store, never torn.
_POS = struct.Struct("@Q" if KERNEL_LONG_BITS == 64 else "@I")
_U32 = struct.Struct("@I")

RecordCallback = Callable[[memoryview], Any]
BatchCallback = Callable[[list[memoryview]], Any]


class _Ring:
    """One mapped ring buffer map and what to do with its records."""

    def __init__(self, map_fd: int, size: int, callback: Optional[RecordCallback],
                 batch: Optional[BatchCallback]) -> None:
        page = page_size()
        self.map_fd = map_fd
        self.mask = size - 1
        self.callback = callback
        self.batch = batch
        self.consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        try:
            self.producer = mmap.mmap(map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        except BaseException:
            self.consumer.close()
            raise
        self.data_offset = page
        self.view: Optional[memoryview] = memoryview(self.producer)
        self.pending = 0

    def records(self) -> list[memoryview]:
        """Views of the committed records after ``consumer_pos``; ``release()`` then frees their space."""
        view = self.view
        assert view is not None
        cons = _POS.unpack_from(self.consumer, 0)[0]
        prod = _POS.unpack_from(self.producer, 0)[0]
        fence()  # smp_load_acquire(producer_pos): the headers below are at least as new as prod
        out: list[memoryview] = []
        mask, base, unpack = self.mask, self.data_offset, _U32.unpack_from
        end = cons + ((prod - cons) & POSITION_MASK)  # positions wrap at 2**32 on a 32-bit kernel
        while cons < end:
            start = base + (cons & mask)
            length = unpack(view, start)[0]
            if length & RINGBUF_BUSY_BIT:
                break
            data_len = length & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)
            if not length & RINGBUF_DISCARD_BIT:
                out.append(view[start + RINGBUF_HDR_SZ:start + RINGBUF_HDR_SZ + data_len])
            cons += (data_len + RINGBUF_HDR_SZ + 7) & ~7
        fence()  # smp_load_acquire(header): the data is at least as new as the cleared BUSY bit
        self.pending = cons & POSITION_MASK
        return out

    def release(self) -> None:
        """Hand the space of the records returned by ``records()`` back to the producer."""
        fence()  # smp_store_release(consumer_pos): the records were read before their space is reused
        _POS.pack_into(self.consumer, 0, self.pending)

    def consume(self) -> int:
        records = self.records()
        if not records:
            self.release()
            return 0
        try:
            if self.batch is not None:
                self.batch(records)
            elif self.callback is not None:
                callback = self.callback
                for record in records:
                    callback(record)
        finally:
            self.release()
        return len(records)

    def close(self) -> None:
        if self.view is not None:
            self.view.release()
            self.view = None
        for mapping in (self.producer, self.consumer):
            try:
                mapping.close()
            except BufferError:  # a caller kept a record view; the mapping goes when it does
                pass


class RingBuffer:
    """Consume one or more ring buffer maps, waiting on all of them with one epoll.

    ``RingBuffer(map, callback)`` calls ``callback(view)`` per record; ``batch=fn`` calls ``fn(views)``
    once per poll with every record available (the fast path); with neither, iterate ``records()``.
    """

    def __init__(self, ring_map: Any = None, callback: Optional[RecordCallback] = None, *,
                 batch: Optional[BatchCallback] = None) -> None:
        self._rings: list[_Ring] = []
        self._epoll: Optional[select.epoll] = select.epoll()
        if ring_map is not None:
            self.add(ring_map, callback, batch=batch)

    def add(self, ring_map: Any, callback: Optional[RecordCallback] = None, *,
            batch: Optional[BatchCallback] = None) -> None:
        """Also consume ``ring_map`` (a ``Map`` of type RINGBUF) in this buffer's polls."""
        if getattr(ring_map, "type", MapType.RINGBUF) != MapType.RINGBUF:
            raise TinyBPFError(f"{ring_map!r} is not a BPF_MAP_TYPE_RINGBUF map")
        size = int(ring_map.max_entries)
        ring = _Ring(int(ring_map.fd), size, callback, batch)
        self._rings.append(ring)
        self._poller().register(ring.map_fd, select.EPOLLIN)

    def _poller(self) -> select.epoll:
        if self._epoll is None:
            raise TinyBPFError("the ring buffer is closed")
        return self._epoll

    def fileno(self) -> int:
        """The epoll fd: readable when any ring has data (for a caller's own event loop)."""
        return self._poller().fileno()

    def poll(self, timeout: Optional[float] = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever) for records, deliver them; returns how many."""
        ready = self._poller().poll(-1 if timeout is None else timeout)
        if not ready:
            return 0
        return self.consume()

    def consume(self) -> int:
        """Deliver every record available now, without waiting."""
        return sum(ring.consume() for ring in self._rings)

    def records(self, timeout: Optional[float] = None) -> Iterator[bytes]:
        """Yield copies of the records available now; when there are none, wait up to ``timeout`` first."""
        copies = self._copy_all()
        if not copies and timeout is not None and self._poller().poll(timeout):
            copies = self._copy_all()
        yield from copies

    def _copy_all(self) -> list[bytes]:
        copies: list[bytes] = []
        for ring in self._rings:
            copies.extend(bytes(view) for view in ring.records())
            ring.release()
        return copies

    def close(self) -> None:
        for ring in self._rings:
            ring.close()
        self._rings = []
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
