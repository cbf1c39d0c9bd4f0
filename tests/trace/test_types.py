"""bpftrace's type model: names, sizes, alignment and the tuple/record layout maps are built with."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybpf.trace.runtime import types as t


@pytest.mark.parametrize(
    ("ty", "name"),
    [
        (t.UINT64, "uint64"),
        (t.INT32, "int32"),
        (t.StringType(64), "string[64]"),
        (t.StringType(0), "string"),
        (t.TupleType((t.INT64, t.StringType(16))), "(int64,string[16])"),
        (t.RecordType(("a", "b"), (t.INT64, t.StringType(3))), "record { .a = int64, .b = string[3] }"),
        (t.PointerType(t.INT32, t.AddrSpace.KERNEL), "int32 *"),
        (t.PointerType(t.StructType("struct task_struct")), "struct task_struct *"),
        (t.ArrayType(t.INT32, 4), "int32[4]"),
        (t.BufferType(8), "buffer[12]"),
        (t.CountType(), "count_t"),
        (t.SumType(True), "sum_t"),
        (t.SumType(False), "usum_t"),
        (t.MinType(True), "min_t"),
        (t.MaxType(False), "umax_t"),
        (t.AvgType(True), "avg_t"),
        (t.StatsType(False), "ustats_t"),
        (t.HistType(2), "hist_t"),
        (t.LhistType(0, 100, 10), "lhist_t"),
        (t.StackType(), "kstack_bpftrace_127"),
        (t.StackType(kernel=False, mode=t.StackMode.PERF, limit=5), "ustack_perf_5"),
        (t.KsymType(), "ksym_t"),
        (t.UsymType(), "usym_t"),
        (t.InetType(), "inet[24]"),
        (t.TimestampType(), "timestamp"),
        (t.MacAddressType(), "mac_address"),
        (t.CgroupPathType(), "cgroup_path_t"),
        (t.UsernameType(), "username_t"),
        (t.NONE, "none"),
        (t.VOID, "void"),
        (t.BOOL, "bool"),
    ],
)
def test_type_names_are_bpftraces(ty: t.BpfType, name: str) -> None:
    assert str(ty) == name


def test_sizes_follow_bpftrace() -> None:
    assert [i.size for i in (t.INT8, t.UINT16, t.INT32, t.UINT64)] == [1, 2, 4, 8]
    assert t.StringType().size == 64 == t.BPFTRACE_STRLEN
    assert t.PointerType(t.INT8).size == 8
    assert t.ArrayType(t.INT16, 3).size == 6
    assert t.StackType(limit=127).size == 127 * 8 + 8
    assert t.StackType(kernel=False, limit=10).size == 10 * 8 + 16
    assert t.StackType(mode=t.StackMode.BUILD_ID, limit=2).size == 2 * 32 + 8
    assert t.UsymType().size == 16 and t.TimestampType().size == 16 and t.MacAddressType().size == 6
    assert all(a.size == 8 for a in (t.CountType(), t.AvgType(), t.HistType(), t.LhistType(0, 1, 1)))


def test_signedness() -> None:
    assert t.INT64.is_signed and not t.UINT64.is_signed
    assert t.SumType(True).is_signed and not t.SumType(False).is_signed
    assert not t.CountType().is_signed and not t.StringType().is_signed


def test_equal_types_compare_equal_and_hash() -> None:
    a = t.TupleType((t.INT64, t.StringType(8)))
    b = t.TupleType((t.INT64, t.StringType(8)))
    assert a == b and hash(a) == hash(b)
    assert t.SumType(True) != t.MinType(True)


@pytest.mark.parametrize(
    ("elements", "offsets", "size", "align"),
    [
        # Byte arrays align to 1 whatever their size; the struct pads to its widest member.
        ((t.INT8, t.StringType(3), t.INT64), (0, 1, 8), 16, 8),
        ((t.StringType(3), t.INT16), (0, 4), 6, 2),
        ((t.INT64, t.StringType(16)), (0, 8), 24, 8),
        ((t.INT32, t.INT64), (0, 8), 16, 8),
        ((t.INT8, t.INT16, t.INT32), (0, 2, 4), 8, 4),
        ((t.StringType(5),), (0,), 5, 1),
        ((t.BOOL, t.UsymType(), t.INT8), (0, 1, 17), 18, 1),
        ((t.INT8, t.TupleType((t.INT8, t.INT32))), (0, 4), 12, 4),
        ((t.INT8, t.ArrayType(t.INT32, 2)), (0, 4), 12, 4),
        ((t.INT8, t.KsymType()), (0, 8), 16, 8),
    ],
)
def test_tuple_layout_matches_bpftrace(elements: tuple[t.BpfType, ...], offsets: tuple[int, ...],
                                       size: int, align: int) -> None:
    tup = t.TupleType(elements)
    assert tup.offsets == offsets
    assert (tup.size, tup.align) == (size, align)
    assert [f.offset for f in tup.fields] == list(offsets)


def test_record_layout_is_the_tuple_layout() -> None:
    rec = t.RecordType(("a", "b"), (t.INT8, t.INT64))
    assert [(f.name, f.offset) for f in rec.fields] == [("a", 0), ("b", 8)]
    assert rec.size == 16


def test_layout_reports_padding() -> None:
    assert t.layout((t.INT8, t.INT64)).padded
    assert not t.layout((t.INT64, t.INT8)).padded


_scalars = st.sampled_from([t.INT8, t.INT16, t.INT32, t.INT64, t.BOOL, t.StringType(3), t.StringType(16),
                            t.UsymType(), t.KsymType(), t.PointerType(t.INT8)])


@given(st.lists(_scalars, min_size=1, max_size=8))
def test_layout_invariants(elements: list[t.BpfType]) -> None:
    """Fields are aligned, do not overlap, and the size is a multiple of the alignment."""
    lay = t.layout(elements)
    end = 0
    for ty, offset in zip(elements, lay.offsets):
        assert offset % ty.align == 0 and offset >= end
        end = offset + ty.size
    assert lay.size >= end and lay.size % lay.align == 0


def test_builtin_type_names() -> None:
    assert t.builtin_type("uint8") == t.UINT8
    assert t.builtin_type("ustats_t") == t.StatsType(False)
    assert t.builtin_type("nope") is None


def test_bad_integer_width_is_rejected() -> None:
    with pytest.raises(ValueError, match="8, 16, 32 or 64"):
        t.IntType(12)


def test_aggregates_need_percpu_maps() -> None:
    assert t.needs_percpu_map(t.HistType()) and t.needs_percpu_map(t.CountType())
    assert not t.needs_percpu_map(t.INT64)
