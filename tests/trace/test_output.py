"""What ``tinybpf trace`` prints: maps, histograms, values and events, in text and JSON, as bpftrace."""
from __future__ import annotations

import io
import json
import re
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybpf.trace.runtime import types as t
from tinybpf.trace.runtime.output import (
    Buffer,
    Histogram,
    JsonPrinter,
    OrderedMap,
    Record,
    Stats,
    Symbolic,
    TextPrinter,
    Value,
    build_histogram,
    build_linear_histogram,
    decode_string,
    format_inet,
    format_mac,
    format_map,
    format_print_map,
    format_stack,
    format_timestamp,
    join,
    json_string,
    json_value,
    make_printer,
    reduce_avg,
    reduce_buckets,
    reduce_sum,
    text,
    text_map,
)
from tinybpf.trace.semantics.histogram import hist_bucket, hist_bucket_count, lhist_bucket, lhist_bucket_count

from .conftest import BpftraceRunner


def hist_counts(values: list[int], bits: int = 0) -> list[int]:
    counts = [0] * hist_bucket_count(bits)
    for v in values:
        counts[hist_bucket(v, bits)] += 1
    return counts


def lhist_counts(values: list[int], lo: int, hi: int, step: int) -> list[int]:
    counts = [0] * lhist_bucket_count(lo, hi, step)
    for v in values:
        counts[lhist_bucket(v, lo, hi, step)] += 1
    return counts


def number(label: Any) -> int:
    return label.number if isinstance(label, Symbolic) else int(label)


# --- bucket functions: the reference codegen must match --------------------------------------------------


def test_hist_buckets_of_bpftrace() -> None:
    assert [hist_bucket(v) for v in (-5, 0, 1, 2, 3, 4, 7, 8, 1023, 1024)] == [0, 1, 2, 3, 3, 4, 4, 5, 11, 12]
    assert hist_bucket(2**63 - 1) == hist_bucket_count() - 1
    assert hist_bucket(2**64 - 1) == 0  # an unsigned value past int64 counts as negative, as in bpftrace


def test_hist_bucket_with_bits_follows_the_documented_example() -> None:
    # bpftrace's comment: VAL = 225 (0b11100001), K = 2 gives 1 + 0b11011 = 28.
    assert hist_bucket(225, 2) == 28


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=0, max_value=5))
def test_hist_bucket_agrees_with_its_labels(value: int, bits: int) -> None:
    """The printed range of the bucket a value lands in contains the value."""
    index = hist_bucket(value, bits)
    assert 0 <= index < hist_bucket_count(bits)
    counts = [0] * (index + 1)
    counts[index] = 1
    hist = build_histogram(counts, bits)
    if index == 0:
        assert hist.lower_bound is None and value < number(hist.labels[0]) == 0
        return
    assert number(hist.lower_bound) <= value < number(hist.labels[0])


@given(st.integers(min_value=-(2**63), max_value=2**63 - 2), st.integers(min_value=0, max_value=5))
def test_hist_bucket_is_monotonic(value: int, bits: int) -> None:
    assert hist_bucket(value, bits) <= hist_bucket(value + 1, bits)


@given(st.integers(min_value=-1000, max_value=3000), st.integers(min_value=0, max_value=500),
       st.integers(min_value=1, max_value=1000), st.integers(min_value=1, max_value=300))
def test_lhist_bucket_agrees_with_its_labels(value: int, lo: int, width: int, step: int) -> None:
    hi = lo + width
    index = lhist_bucket(value, lo, hi, step)
    assert 0 <= index < lhist_bucket_count(lo, hi, step)
    assert lhist_bucket(value, lo, hi, step) <= lhist_bucket(value + 1, lo, hi, step)
    counts = [0] * (index + 1)
    counts[index] = 1
    hist = build_linear_histogram(counts, lo, hi, step)
    if index == 0:
        assert hist.lower_bound is None and value < number(hist.labels[0]) == lo
        return
    assert number(hist.lower_bound) <= value
    if hist.labels:
        assert value < number(hist.labels[0])


# --- histograms --------------------------------------------------------------------------------------------


def test_hist_text_matches_current_bpftrace_runtime_test() -> None:
    """bpftrace's tests/runtime/outputs/hist.txt: values -1, 2, 3, 4, 16."""
    value = format_map(None, t.HistType(), [((), hist_counts([-1, 2, 3, 4, 16]))])
    assert text_map("@", value) == (
        "@:\n"
        "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
        "[0]                    0 |                                                    |\n"
        "[1]                    0 |                                                    |\n"
        "[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        "[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
        "[8, 16)                0 |                                                    |\n"
        "[16, 32)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
        "\n"
    )


def test_lhist_text_matches_current_bpftrace_runtime_test() -> None:
    """bpftrace's tests/runtime/outputs/lhist.txt: lhist(_, 0, 10, 2) of -1, 2, 3, 6, 10."""
    value = format_map(None, t.LhistType(0, 10, 2), [((), lhist_counts([-1, 2, 3, 6, 10], 0, 10, 2))])
    lines = text_map("@", value).splitlines()
    assert [line[:24] for line in lines[1:-1]] == [
        "(..., 0)               1", "[0, 2)                 0", "[2, 4)                 2",
        "[4, 6)                 0", "[6, 8)                 1", "[8, 10)                0",
        "[10, ...)              1"]


def test_hist_with_bits_matches_current_bpftrace_json() -> None:
    """tests/runtime/outputs/hist_2args.json: hist(n, 3) of n = 0..1023 starts with single values."""
    value = format_map(None, t.HistType(3), [((), hist_counts(list(range(1024)), 3))])
    buckets = json.loads(json_value(value))
    assert buckets[:2] == [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 1}]
    assert buckets[16] == {"min": 16, "max": 17, "count": 2}
    assert buckets[-1] == {"min": 960, "max": 1023, "count": 64}
    text_lines = text_map("@", value).splitlines()
    assert text_lines[1].startswith("[0] ") and text_lines[17].startswith("[16, 18) ")


def test_single_value_buckets_print_as_one_number() -> None:
    value = format_map(None, t.LhistType(0, 10, 1), [((), lhist_counts([3, 4], 0, 10, 1))])
    assert text_map("@k", value).splitlines()[1:-1] == [
        "[3]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
        "[4]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"]


def test_big_values_get_unit_suffixes() -> None:
    value = build_histogram(hist_counts([1 << 40, 10 * 2**30]))
    assert text(value.lower_bound) == "8G"
    assert [text(x) for x in value.labels][:1] == ["16G"]
    assert text(value.labels[-1]) == "2T"


def test_lhist_labels_in_kibibytes_when_the_step_is() -> None:
    value = build_linear_histogram(lhist_counts([1024, 5000], 0, 4096, 1024), 0, 4096, 1024)
    assert [text(x) for x in (value.lower_bound, *value.labels)] == ["1K", "2K", "3K", "4K"]


def test_lhist_last_bucket_starts_at_the_last_step() -> None:
    value = build_linear_histogram(lhist_counts([96], 0, 95, 10), 0, 95, 10)
    assert text_map("@", format_map(None, t.LhistType(0, 95, 10), [((), lhist_counts([96], 0, 95, 10))])) \
        .splitlines()[1].startswith("[90, ...)")
    assert value.labels == ()


def test_bar_is_scaled_in_single_precision() -> None:
    counts = [0, 3, 1, 2]
    value = format_map(None, t.HistType(), [((), counts)])
    bars = [line.split("|")[1].count("@") for line in text_map("@", value).splitlines()[1:-1]]
    assert bars == [52, 17, 34]


def test_empty_histogram_after_zero() -> None:
    value = format_map(None, t.HistType(), [((), [0] * 10)])
    assert value == Histogram(None, (), ())
    assert text_map("@h", value) == "@h:\n\n"
    assert json_value(value) == "[]"


def test_hist_div_divides_counts() -> None:
    value = format_map(None, t.HistType(), [((), hist_counts([5] * 10))], div=3)
    assert isinstance(value, Histogram) and value.counts == (3,)


# --- maps --------------------------------------------------------------------------------------------------


def test_counters_sort_by_value_and_top_keeps_the_largest() -> None:
    entries = [("a", 5), ("b", 1), ("c", 3)]
    value = format_map(t.StringType(2), t.CountType(), entries)
    assert text_map("@", value) == "@[b]: 1\n@[c]: 3\n@[a]: 5\n"
    assert text_map("@", format_map(t.StringType(2), t.CountType(), entries, top=2)) == "@[c]: 3\n@[a]: 5\n"
    assert text_map("@", format_map(t.StringType(2), t.CountType(), entries, div=2)) == "@[b]: 0\n@[c]: 1\n@[a]: 2\n"


def test_signed_sums_sort_and_divide_like_c() -> None:
    value = format_map(t.INT64, t.SumType(True), [(1, 7), (2, -7)], div=2)
    assert text_map("@s", value) == "@s[2]: -3\n@s[1]: 3\n"


def test_other_maps_sort_by_key_integers_signed() -> None:
    entries = [(10, "ten"), (-1, "neg"), (2, "two")]
    value = format_map(t.INT64, t.StringType(4), entries)
    assert text_map("@str", value) == "@str[-1]: neg\n@str[2]: two\n@str[10]: ten\n"


def test_tuple_keys_sort_field_by_field_and_print_without_parentheses() -> None:
    key = t.TupleType((t.INT64, t.StringType(4), t.KsymType()))
    entries = [((2, "a", "f"), "x"), ((1, "b", "g"), "y"), ((1, "a", "h"), "z")]
    value = format_map(key, t.StringType(2), entries)
    assert text_map("@", value) == "@[1, a, h]: z\n@[1, b, g]: y\n@[2, a, f]: x\n"


def test_min_max_combine_cpus_and_sort_as_unsigned() -> None:
    """bpftrace sorts min/max maps by the CPUs combined as unsigned numbers: -1 sorts last."""
    entries = [("neg", [(-1, 1), (99, 0)]), ("pos", [(3, 1), (1, 1)])]
    value = format_map(t.StringType(4), t.MaxType(True), entries)
    assert text_map("@m", value) == "@m[pos]: 3\n@m[neg]: -1\n"
    low = format_map(t.StringType(4), t.MinType(True), [("pos", [(3, 1), (1, 1), (0, 0)])])
    assert text_map("@m", low) == "@m[pos]: 1\n"


def test_avg_and_stats() -> None:
    assert text_map("@a", format_map(None, t.AvgType(True), [((), (-7, 2))])) == "@a: -3\n"
    stats = format_map(t.INT64, t.StatsType(True), [(1, (12, 2)), (2, (3, 3))])
    assert text_map("@s", stats) == (
        "@s[2]: { .count = 3, .average = 1, .total = 3 }\n@s[1]: { .count = 2, .average = 6, .total = 12 }\n")
    assert json_value(stats) == '{"2": {"count": 3, "average": 1, "total": 3}, "1": {"count": 2, "average": 6, "total": 12}}'


def test_empty_maps_print_nothing_but_print_shows_a_scalar_zero() -> None:
    assert text_map("@c", format_map(None, t.CountType(), [])) == ""
    assert text_map("@c", format_map(t.INT64, t.CountType(), [])) == ""
    assert text_map("@c", format_print_map(None, t.CountType(), [])) == "@c: 0\n"
    assert text_map("@s", format_print_map(None, t.StatsType(True), [])) == \
        "@s: { .count = 0, .average = 0, .total = 0 }\n"
    assert text_map("@a", format_print_map(None, t.AvgType(True), [])) == "@a: 0\n"
    assert text_map("@h", format_print_map(None, t.HistType(), [])) == ""


def test_keys_of_every_kind() -> None:
    pointer = format_map(t.PointerType(t.INT8), t.CountType(), [(0xFFFF8880, 1)])
    assert text_map("@", pointer) == "@[0xffff8880]: 1\n"
    record = format_map(t.RecordType(("a", "b"), (t.INT64, t.StringType(3))), t.CountType(), [((1, "xy"), 2)])
    assert text_map("@", record) == "@[{ .a = 1, .b = xy }]: 2\n"
    stack = format_stack([0x10, 0x20], lambda a: [f"f{a:x}+0"])
    assert text_map("@", format_map(t.StackType(), t.CountType(), [(stack, 3)])) == \
        "@[\n        f10+0\n        f20+0\n]: 3\n"


def test_keyed_histograms_sort_by_total_with_a_blank_line_after_each() -> None:
    value = format_map(t.INT64, t.HistType(), [(1, hist_counts([2, 3])), (3, hist_counts([100]))])
    assert text_map("@hk", value) == (
        "@hk[3]:\n[64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n"
        "@hk[1]:\n[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n")


def test_reduce_helpers() -> None:
    assert reduce_sum([1, 2, 3]) == 6
    assert reduce_sum([2**64 - 1, 2]) == 1
    assert reduce_sum([-1, -1], signed=True) == -2
    assert reduce_avg([(10, 2), (5, 1)]) == (15, 3)
    assert reduce_buckets([[1, 2], [0, 1, 5], []]) == [1, 3, 5]


# --- primitives and helpers --------------------------------------------------------------------------------


def test_text_of_primitives() -> None:
    assert text((1, "a", (True, None))) == "(1, a, (true, null))"
    assert text([1, 2, 3]) == "[1,2,3]"
    assert text(Record(())) == "{}"
    assert text(Buffer(b"ab\x01\x7f")) == "ab\\x01\\x7f"
    with pytest.raises(TypeError):
        text(1.5)


def test_decode_string_marks_truncation() -> None:
    assert decode_string(b"abc\0\0\0") == "abc"
    assert decode_string(b"abcdef") == "abcdef.."
    assert decode_string(b"\xff\0").encode("utf-8", "surrogateescape") == b"\xff"


def test_inet_mac_join_and_time() -> None:
    assert format_inet(2, bytes([127, 0, 0, 1]) + bytes(12)) == "127.0.0.1"
    assert format_inet(10, bytes(15) + b"\x01") == "::1"
    assert format_inet(99, b"") == ""
    assert format_mac(bytes([0, 0x1B, 0x2C, 0x7F, 1, 2])) == "00:1B:2C:7F:01:02"
    assert format_mac(bytes([0x80, 0, 0, 0, 0, 0])).startswith("FFFFFF80:")
    assert join(["a", "b", "", "c"]) == "a b"
    assert join(["a", "b"], ",") == "a,b"
    assert format_timestamp("%Y %f %l %k", 86400 * 365 * 10**9 + 123456789, utc=True) == \
        "1971 123456 123 123456789"
    assert format_timestamp("%H", 5) == "(?)"


def test_stack_modes() -> None:
    resolve = {0x10: ["inlined", "outer"], 0x20: ["f2"]}.__getitem__
    assert format_stack([0x10, 0x20], resolve) == "\n        inlined\n        outer\n        f2\n"
    assert format_stack([0x10], resolve, t.StackMode.PERF) == "\n\t10 inlined\n\t10 outer\n"
    assert format_stack([0x10, 2**64 - 1, 0x20], resolve, t.StackMode.RAW) == "\n10\n        <unwind failure>\n"


# --- JSON --------------------------------------------------------------------------------------------------


def test_json_strings_escape_like_bpftrace() -> None:
    assert json_string('a"b\\c\n\t\r\x01') == '"a\\"b\\\\c\\n\\t\\r\\u0001"'
    assert json_string("é") == '"\\uffffffc3\\uffffffa9"'  # bytes >= 0x80 are escaped as signed chars


def test_json_numbers_beyond_a_double_are_strings() -> None:
    assert json_value(2**53) == "9007199254740992"
    assert json_value(2**53 + 1) == '"9007199254740993"'
    assert json_value(2**64 - 1) == '"18446744073709551615"'
    assert json_value(Symbolic("0x10", 16)) == "16"


def test_json_keys_lose_parentheses_and_spaces() -> None:
    value = OrderedMap((((1, "a b"), 2), ("x y", 3)))
    assert json_value(value) == '{"1,ab": 2, "xy": 3}'


def test_json_composites() -> None:
    assert json_value((1, "two", [3, 4])) == '[1,"two",[3,4]]'
    assert json_value(Record((("a", 1), ("b", None)))) == '{"a": 1, "b": null}'
    assert json_value(Buffer(b"A\xff")) == "[65,-1]"
    assert json_value(True) == "true"


def _printed(printer_class: type, *calls: tuple[str, tuple[Any, ...]]) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    printer = printer_class(out, err)
    for method, args in calls:
        getattr(printer, method)(*args)
    return out.getvalue(), err.getvalue()


def test_text_printer_events() -> None:
    out, err = _printed(
        TextPrinter, ("attached_probes", (2,)), ("printf", ("x\n",)), ("time", ("12:00:00\n",)),
        ("join", ("a b",)), ("syscall", ("done",)), ("cat", ("file",)), ("value", ((1, "a"),)),
        ("lost_events", (3,)), ("end", ()))
    assert out == "x\n12:00:00\na b\ndone\nfile(1, a)\n\n\n"
    assert err == "Attached 2 probes\nLost 3 events\n"


def test_json_printer_events() -> None:
    out, err = _printed(
        JsonPrinter, ("attached_probes", (1,)), ("printf", ("x\n",)), ("time", ("12:00:00\n",)),
        ("join", ("a b",)), ("value", ((1, "a"),)), ("lost_events", (3,)), ("end", ()),
        ("map", ("@e", OrderedMap(()))), ("map", ("@x", 5)))
    assert out.splitlines() == [
        '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}',
        '{"type": "printf", "data": "x\\n"}',
        '{"type": "time", "data": "12:00:00\\n"}',
        '{"type": "join", "data": "a b"}',
        '{"type": "value", "data": [1,"a"]}',
        '{"type": "lost_events", "count": 3, "data": {"events": 3}}',
        '{"type": "map", "data": {"@x": 5}}',
    ]
    assert err == ""


def test_make_printer() -> None:
    assert isinstance(make_printer("json", io.StringIO(), io.StringIO()), JsonPrinter)
    assert isinstance(make_printer("text", io.StringIO(), io.StringIO()), TextPrinter)
    with pytest.raises(ValueError, match="unknown output format"):
        make_printer("xml", io.StringIO(), io.StringIO())


def test_big_maps_print_every_key_in_value_order() -> None:
    """100,000 keys print, sorted by value, in text and JSON (how fast: benchmarks/printing.py)."""
    entries = [((i, f"k{i}"), (i * 7919) % 100_003) for i in range(100_000)]
    key = t.TupleType((t.INT64, t.StringType(8)))
    value = format_map(key, t.CountType(), entries)
    rendered = text_map("@m", value).splitlines()
    counts = [int(line.rsplit(" ", 1)[1]) for line in rendered if line]
    assert len(counts) == 100_000 and counts == sorted(counts)
    assert json_value(value).startswith("{")


# --- against bpftrace 0.17 ---------------------------------------------------------------------------------

_SCRIPT = (
    'BEGIN { @h = hist(0); @h = hist(1); @h = hist(5); @h = hist(1 << 20); @h = hist(-1); '
    '@l = lhist(17, 0, 100, 10); @l = lhist(170, 0, 100, 10); @l = lhist(-4, 0, 100, 10); '
    '@s = stats(4); @s = stats(8); @a = avg(3); @a = avg(4); '
    '@c[2, "y"] = count(); @c[1, "x"] = count(); @c[2, "y"] = count(); '
    '@sum["b"] = sum(5); @sum["a"] = sum(-3); @mx[3] = max(7); @mn[4] = min(-2); '
    '@str[10] = "ten"; @str[2] = "two"; @t = (1, "two"); @x = 5; '
    '@hk[3] = hist(100); @hk[1] = hist(2); @hk[1] = hist(3); @e[1] = 1; delete(@e[1]); '
    'print((1, "a")); print(@x); print(@t); exit(); }'
)

_TUPLE = t.TupleType((t.INT64, t.StringType(4)))

# The same maps as tinybpf's runtime would hand them over: (key type, value type, entries).
_MAPS: dict[str, tuple[Optional[t.BpfType], t.BpfType, list[tuple[Any, Any]]]] = {
    "@a": (None, t.AvgType(True), [((), (7, 2))]),
    "@c": (t.TupleType((t.INT64, t.StringType(2))), t.CountType(), [((2, "y"), 2), ((1, "x"), 1)]),
    "@e": (t.INT64, t.INT64, []),
    "@h": (None, t.HistType(), [((), hist_counts([0, 1, 5, 1 << 20, -1]))]),
    "@hk": (t.INT64, t.HistType(), [(1, hist_counts([2, 3])), (3, hist_counts([100]))]),
    "@l": (None, t.LhistType(0, 100, 10), [((), lhist_counts([17, 170, -4], 0, 100, 10))]),
    "@mn": (t.INT64, t.MinType(True), [(4, [(-2, 1), (0, 0)])]),
    "@mx": (t.INT64, t.MaxType(True), [(3, [(7, 1)])]),
    "@s": (None, t.StatsType(True), [((), (12, 2))]),
    "@str": (t.INT64, t.StringType(4), [(10, "ten"), (2, "two")]),
    "@sum": (t.StringType(2), t.SumType(True), [("b", 5), ("a", -3)]),
    "@t": (None, _TUPLE, [((), (1, "two"))]),
    "@x": (None, t.INT64, [((), 5)]),
}


def _run_printer(printer_class: type) -> str:
    out = io.StringIO()
    printer = printer_class(out, io.StringIO())
    printer.value((1, "a"))
    printer.map("@x", format_print_map(None, t.INT64, [((), 5)]))
    printer.map("@t", format_print_map(None, _TUPLE, [((), (1, "two"))]))
    printer.end()
    for name in sorted(_MAPS):
        printer.map(name, format_map(*_MAPS[name]))
    return out.getvalue()


def _text_as_017(name: str, value_type: t.BpfType, current: str) -> str:
    """What bpftrace 0.17 printed instead of current bpftrace's ``current``: the known differences."""
    if not current:
        return "\n"  # 0.17 printed a blank line for an empty map
    if isinstance(value_type, (t.HistType, t.LhistType)):
        return re.sub(r"^(@[^\n]*):$", r"\1: ", current, flags=re.M)  # header had a trailing space
    if isinstance(value_type, t.StatsType):
        current = re.sub(r"\{ \.count = (-?\d+), \.average = (-?\d+), \.total = (-?\d+) \}",
                         r"count \1, average \2, total \3", current)
    if isinstance(value_type, (t.AvgType, t.StatsType)):
        return current + "\n"  # and a blank line after avg/stats maps
    return current


def test_text_output_matches_bpftrace_017(reference_bpftrace: BpftraceRunner) -> None:
    reference = reference_bpftrace(_SCRIPT)
    ours = _run_printer(TextPrinter)
    head, maps = ours.split("\n\n\n", 1)
    expected = "Attaching 1 probe...\n" + head + "\n\n\n"  # 0.17's banner went to stdout
    position = len(head) + 3
    for name in sorted(_MAPS):
        printed = text_map(name, format_map(*_MAPS[name]))
        assert maps.startswith(printed, position - len(head) - 3)
        position += len(printed)
        expected += _text_as_017(name, _MAPS[name][1], printed)
    assert reference == expected


def test_json_output_matches_bpftrace_017(reference_bpftrace: BpftraceRunner) -> None:
    reference = reference_bpftrace(_SCRIPT, "-f", "json").splitlines()
    ours = _run_printer(JsonPrinter).splitlines()
    # 0.17: no "count" in the banner, two blank lines at the end of the main loop, ", " between buckets.
    assert reference[0] == '{"type": "attached_probes", "data": {"probes": 1}}'
    assert reference[4:6] == ["", ""]
    del reference[4:6]
    assert [line.replace("}, {", "},{") for line in reference[1:]] == ours
    for line in ours:
        json.loads(line)


def test_unsigned_key_order_and_big_hist_labels_differ_from_017(reference_bpftrace: BpftraceRunner) -> None:
    """0.17 sorted integer keys as unsigned and mislabelled buckets from 2**31 up; current bpftrace does not."""
    reference = reference_bpftrace('BEGIN { @s[-1] = "n"; @s[2] = "t"; @b = hist(1 << 40); exit(); }')
    assert "@s[2]: t\n@s[-1]: n\n" in reference
    assert "[2G, 4G)" in reference
    assert text_map("@s", format_map(t.INT64, t.StringType(2), [(2, "t"), (-1, "n")])) == "@s[-1]: n\n@s[2]: t\n"
    big = format_map(None, t.HistType(), [((), hist_counts([1 << 40]))])
    assert text_map("@b", big).splitlines()[1].startswith("[1T, 2T) ")


def test_values_are_the_types_values() -> None:
    value: Value = format_map(None, t.AvgType(True), [((), (7, 2))])
    assert value == Stats(3)
