"""Memory ordering for mmap'ed rings: a no-op on x86 (TSO), a real barrier through glibc elsewhere."""
from __future__ import annotations

import ctypes
import os
import threading

from tinybpf.kernel import barrier


def test_positions_are_as_wide_as_the_kernels_unsigned_long() -> None:
    bits = barrier.KERNEL_LONG_BITS
    assert bits == (64 if ctypes.sizeof(ctypes.c_void_p) == 8 or os.uname().machine.endswith("64") else 32)
    assert (1 << bits) - 1 == barrier.POSITION_MASK


def test_x86_needs_no_fence_and_others_get_one() -> None:
    tso = os.uname().machine in ("x86_64", "i686", "i386")
    assert (barrier.fence is barrier._no_fence) == tso


def test_the_spin_lock_fence_never_blocks_other_threads() -> None:
    """The lock is free between calls: many threads fencing at once all finish."""
    fence = barrier._SpinLockFence()
    threads = [threading.Thread(target=lambda: [fence() for _ in range(200)]) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
