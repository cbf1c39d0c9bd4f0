"""Histogram buckets: which bucket ``hist()`` and ``lhist()`` count a value in.

The Python reference of what the generated eBPF computes, so codegen (constant values) and the printers
(bucket labels) agree.
"""
from __future__ import annotations

from tinybpf.backend.fold import MASK64, wrap64


def hist_bucket(value: int, bits: int = 0) -> int:
    """The bucket ``hist(value, bits)`` counts ``value`` in, as bpftrace's generated ``log2`` computes it.

    The value is taken as a signed 64-bit integer. Bucket 0 holds negatives, 1 .. 2**bits hold 0 ..
    2**bits - 1 one value each; past that each power of two ``[2**l, 2**(l+1))`` is split into 2**bits
    buckets: ``((l - bits + 1) << bits) + (the bits after the leading one) + 1``.
    """
    value = wrap64(value)
    if value < 0:
        return 0
    mask = (1 << bits) - 1
    if value <= mask:
        return value + 1
    shift = value.bit_length() - 1 - bits
    return ((shift + 1) << bits) + ((value >> shift) & mask) + 1


def hist_bucket_count(bits: int = 0) -> int:
    """How many buckets ``hist(_, bits)`` can use (the largest int64 lands in the last one)."""
    return ((64 - bits) << bits) + 1


def lhist_bucket(value: int, min: int, max: int, step: int) -> int:
    """The bucket ``lhist(value, min, max, step)`` counts ``value`` in, as bpftrace's generated ``linear``.

    0 below ``min``; ``1 + (value - min) / step`` up to ``max``; above ``max`` the last bucket,
    ``1 + (max - min) / step`` (unsigned division, as the generated code does).
    """
    value = wrap64(value)
    if value < min:
        return 0
    if value > max:
        return 1 + ((max - min) & MASK64) // step
    return 1 + ((value - min) & MASK64) // step


def lhist_bucket_count(min: int, max: int, step: int) -> int:
    return (max - min) // step + 2
