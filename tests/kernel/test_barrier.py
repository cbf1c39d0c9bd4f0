"""Memory ordering for mmap'ed rings: a no-op on x86 (TSO), a real barrier through glibc elsewhere."""
from __future__ import annotations

import ctypes
import os

from tinybpf.kernel import barrier


def test_positions_are_as_wide_as_the_kernels_unsigned_long() -> None:
    bits = barrier.KERNEL_LONG_BITS
    assert bits == (64 if ctypes.sizeof(ctypes.c_void_p) == 8 or os.uname().machine.endswith("64") else 32)
    assert (1 << bits) - 1 == barrier.POSITION_MASK


def test_x86_needs_no_fence_and_others_get_one() -> None:
    tso = os.uname().machine in ("x86_64", "i686", "i386")
    assert (barrier.fence is barrier._no_fence) == tso


def test_the_spin_lock_fence_leaves_its_lock_free() -> None:
    """Each call ends unlocked, so the next one (from any thread) never waits for a holder."""
    fence = barrier._SpinLockFence()
    for _ in range(1000):
        fence()
    assert fence.lock(fence.address) == 0 and fence.unlock(fence.address) == 0
