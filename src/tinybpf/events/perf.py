"""PerfBuffer: consume a BPF_MAP_TYPE_PERF_EVENT_ARRAY filled with bpf_perf_event_output. Requires Linux 4.4.

One PERF_COUNT_SW_BPF_OUTPUT event per CPU, each with its own mmap'ed ring (a metadata page and
``pages`` data pages), stored in the map at the CPU's index so ``BPF_F_CURRENT_CPU`` finds it.
A ring holds PERF_RECORD_SAMPLE records (``u32 size`` + raw data, padded to 8 bytes) and, when the
program wrote faster than it was read, PERF_RECORD_LOST records counting the samples dropped; the
kernel writes a LOST record when space frees up, before the next sample that fits.
"""
from __future__ import annotations

import mmap
import select
import struct
from collections.abc import Iterable
from typing import Any, Callable, Optional

from ..errors import TinyBPFError
from ..kernel import perf_event as perf
from ..kernel.barrier import POSITION_MASK, fence
from ..kernel.constants import MapType
from ..kernel.fd import FD
from ..kernel.sysinfo import online_cpus

# data_head and data_tail are u64 fields, but the kernel's positions are unsigned long: on a 32-bit kernel the
# high word is always 0, so a read torn into two 32-bit loads still gives the position, which wraps at 2**32.
_U64 = struct.Struct("@Q")
_HEADER = perf.RECORD_HEADER
_SAMPLE_SIZE = struct.Struct("=I")
_LOST = struct.Struct("=QQ")  # { u64 id; u64 lost; } after the header

SampleCallback = Callable[[int, memoryview], Any]
BatchCallback = Callable[[int, list[memoryview]], Any]
LostCallback = Callable[[int, int], Any]


class _CpuRing:
    """The BPF_OUTPUT event of one CPU and its mapped ring."""

    def __init__(self, cpu: int, pages: int, wakeup_events: int) -> None:
        page = perf.page_size()
        attr = perf.PerfEventAttr(type=perf.PerfType.SOFTWARE, config=perf.SoftwareEvent.BPF_OUTPUT,
                                  period=1, sample_type=perf.SampleType.RAW, wakeup_events=wakeup_events)
        self.cpu = cpu
        self.event: FD = perf.open_event(attr, pid=-1, cpu=cpu)
        try:
            self.mapping = mmap.mmap(self.event.fd, page * (pages + 1), mmap.MAP_SHARED,
                                     mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            self.event.close()
            raise
        self.view: Optional[memoryview] = memoryview(self.mapping)
        self.base = page
        self.size = page * pages
        self.tail = 0

    def records(self) -> tuple[list[memoryview], int]:
        """(raw sample views, samples reported lost) between ``data_tail`` and ``data_head``."""
        view = self.view
        assert view is not None
        head = _U64.unpack_from(view, perf.MMAP_DATA_HEAD_OFFSET)[0] & POSITION_MASK
        fence()  # READ_ONCE(data_head); smp_rmb(): pairs with the kernel's smp_wmb() before it wrote head
        tail = _U64.unpack_from(view, perf.MMAP_DATA_TAIL_OFFSET)[0]
        end = tail + ((head - tail) & POSITION_MASK)
        base, size = self.base, self.size
        samples: list[memoryview] = []
        lost = 0
        while tail < end:
            offset = tail % size
            kind, _, length = _HEADER.unpack_from(view, base + offset)
            if offset + length <= size:
                record = view[base + offset:base + offset + length]
            else:  # wraps around the end of the ring: stitch the two halves
                first = size - offset
                record = memoryview(bytes(view[base + offset:base + size]) + bytes(view[base:base + length - first]))
            if kind == perf.RecordType.SAMPLE:
                raw_size = _SAMPLE_SIZE.unpack_from(record, _HEADER.size)[0]
                start = _HEADER.size + _SAMPLE_SIZE.size
                samples.append(record[start:start + raw_size])
            elif kind == perf.RecordType.LOST:
                lost += _LOST.unpack_from(record, _HEADER.size)[1]
            tail += length
        self.tail = tail & POSITION_MASK
        return samples, lost

    def release(self) -> None:
        fence()  # smp_mb() before data_tail: the samples were read before the kernel may overwrite them
        _U64.pack_into(self.mapping, perf.MMAP_DATA_TAIL_OFFSET, self.tail)

    def close(self) -> None:
        if self.view is not None:
            self.view.release()
            self.view = None
        try:
            self.mapping.close()
        except BufferError:
            pass
        self.event.close()


class PerfBuffer:
    """Per-CPU perf rings behind a perf event array map, polled together.

    ``callback(cpu, view)`` runs per sample (or ``batch(cpu, views)`` per ring and poll);
    ``lost(cpu, count)`` runs for every PERF_RECORD_LOST, and ``lost_count`` keeps the total.
    Sample views hold the raw data as the kernel padded it (to a multiple of 8 bytes, minus 4).
    """

    def __init__(self, perf_map: Any, callback: Optional[SampleCallback] = None, *,
                 batch: Optional[BatchCallback] = None, lost: Optional[LostCallback] = None,
                 pages: int = 8, cpus: Optional[Iterable[int]] = None, wakeup_events: int = 1) -> None:
        if getattr(perf_map, "type", MapType.PERF_EVENT_ARRAY) != MapType.PERF_EVENT_ARRAY:
            raise TinyBPFError(f"{perf_map!r} is not a BPF_MAP_TYPE_PERF_EVENT_ARRAY map")
        if pages <= 0 or pages & (pages - 1):
            raise ValueError(f"pages must be a power of two, not {pages}")
        self.callback = callback
        self.batch = batch
        self.lost = lost
        self.lost_count = 0
        self._map = perf_map
        self._rings: dict[int, _CpuRing] = {}
        self._epoll: Optional[select.epoll] = select.epoll()
        try:
            for cpu in (list(cpus) if cpus is not None else online_cpus()):
                ring = _CpuRing(cpu, pages, wakeup_events)
                self._rings[cpu] = ring
                perf_map.update(cpu, ring.event.fd)
                perf.enable(ring.event.fd)
                self._epoll.register(ring.event.fd, select.EPOLLIN)
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        if self._epoll is None:
            raise TinyBPFError("the perf buffer is closed")
        return self._epoll.fileno()

    def poll(self, timeout: Optional[float] = None) -> int:
        """Wait up to ``timeout`` seconds (None: forever), deliver what arrived; returns samples delivered."""
        if self._epoll is None:
            raise TinyBPFError("the perf buffer is closed")
        if not self._epoll.poll(-1 if timeout is None else timeout):
            return 0
        return self.consume()

    def consume(self) -> int:
        """Deliver every sample available now on every CPU, without waiting."""
        return sum(self._consume_ring(ring) for ring in self._rings.values())

    def _consume_ring(self, ring: _CpuRing) -> int:
        samples, lost = ring.records()
        try:
            if lost:
                self.lost_count += lost
                if self.lost is not None:
                    self.lost(ring.cpu, lost)
            if samples and self.batch is not None:
                self.batch(ring.cpu, samples)
            elif samples and self.callback is not None:
                callback, cpu = self.callback, ring.cpu
                for sample in samples:
                    callback(cpu, sample)
        finally:
            ring.release()
        return len(samples)

    def close(self) -> None:
        for cpu, ring in self._rings.items():
            try:
                self._map.delete(cpu)
            except Exception:  # the map may already be closed; the ring goes either way
                pass
            ring.close()
        self._rings = {}
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None

    def __enter__(self) -> PerfBuffer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
