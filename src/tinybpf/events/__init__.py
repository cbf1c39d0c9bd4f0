"""Read what BPF programs send to user space: ring buffers and perf event arrays."""
from __future__ import annotations

from .perf import PerfBuffer
from .ringbuf import RingBuffer

__all__ = ["PerfBuffer", "RingBuffer"]
