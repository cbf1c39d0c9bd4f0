"""Memory ordering for readers of the rings the kernel shares through mmap, and the width of their positions.

The kernel publishes a ring buffer record with ``smp_store_release(producer_pos)`` after writing its header,
clears the header's BUSY bit with ``xchg`` after writing the data, and reads ``consumer_pos`` with
``smp_load_acquire`` before reusing space; a perf ring's ``data_head`` is written after an ``smp_wmb()``.
libbpf pairs these with ``smp_load_acquire`` of the position and the header and ``smp_store_release`` of
the consumer position.  Python cannot issue those instructions, so a reader calls ``fence()`` between the
loads (and before the store) that the C reader would order.  On x86 (TSO: loads are not reordered with
loads, nor stores with earlier loads) acquire and release are free, and ``fence`` does nothing.  Elsewhere
(ARM's weak model) it goes through glibc's spin lock, whose release and acquire are real barriers:
``unlock`` (release), ``lock`` (acquire, ordered after that release) and ``unlock`` again, so every load or
store before the call is ordered before every one after it, on ARMv7 (``dmb ish``) and ARMv8 (RCsc
``stlr``/``ldaxr``) alike, and the lock is never held between calls, so threads cannot block each other.
"""
from __future__ import annotations

import ctypes
import os
from typing import Callable

_TSO_MACHINES = frozenset({"x86_64", "amd64", "i386", "i486", "i586", "i686"})
_64BIT_MACHINES = frozenset({"x86_64", "amd64", "aarch64", "arm64", "riscv64", "ppc64", "ppc64le", "s390x",
                             "loongarch64", "mips64"})

# Positions are the kernel's ``unsigned long``: 32-bit on a 32-bit kernel, 64-bit on a 64-bit one even under a
# 32-bit process (uname reports the kernel's machine).
KERNEL_LONG_BITS = 64 if ctypes.sizeof(ctypes.c_void_p) == 8 or os.uname().machine in _64BIT_MACHINES else 32
POSITION_MASK = (1 << KERNEL_LONG_BITS) - 1


def _no_fence() -> None:
    return None


class _SpinLockFence:
    """``fence()`` through an otherwise unused ``pthread_spinlock_t`` (an int)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        self.word = ctypes.c_int(0)
        self.lock, self.unlock = libc.pthread_spin_lock, libc.pthread_spin_unlock
        self.lock.argtypes = self.unlock.argtypes = (ctypes.c_void_p,)
        self.address = ctypes.addressof(self.word)
        libc.pthread_spin_init(ctypes.c_void_p(self.address), 0)  # PTHREAD_PROCESS_PRIVATE

    def __call__(self) -> None:
        self.unlock(self.address)
        self.lock(self.address)
        self.unlock(self.address)


fence: Callable[[], None] = _no_fence if os.uname().machine in _TSO_MACHINES else _SpinLockFence()
