"""printf format strings: parsing, compile-time checks and the text each conversion produces."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybpf.trace.runtime import types as t
from tinybpf.trace.runtime.output import Buffer, Record, Symbolic
from tinybpf.trace.runtime.printf import FormatString, PrintfError, gfp_flags

from .conftest import BpftraceRunner


def fmt(fmt_string: str, *args: object) -> str:
    return FormatString.parse(fmt_string).format(list(args))


# --- parsing -----------------------------------------------------------------------------------------------


def test_parse_splits_text_and_conversions() -> None:
    parsed = FormatString.parse("pid %d comm %-16s%%\n")
    assert parsed.fragments == ("pid ", " comm ", "%\n")
    assert [s.conversion for s in parsed.specs] == ["d", "s"]
    spec = parsed.specs[1]
    assert (spec.left_align, spec.width, spec.column, spec.source) == (True, 16, 13, "%-16s")


def test_parse_length_modifiers_and_bpftrace_conversions() -> None:
    parsed = FormatString.parse("%llu %lx %hhd %zd %r %rx %rh %gr")
    assert [(s.length, s.conversion) for s in parsed.specs] == [
        ("ll", "u"), ("l", "x"), ("hh", "d"), ("z", "d"), ("", "r"), ("", "rx"), ("", "rh"), ("", "gr")]


def test_unmatched_percent_is_literal_text() -> None:
    """Current bpftrace matches conversions with a regular expression: what it misses prints as is."""
    parsed = FormatString.parse("%y %0-5d 100%")
    assert parsed.specs == ()
    assert parsed.format([]) == "%y %0-5d 100%"


def test_star_width_takes_no_argument() -> None:
    parsed = FormatString.parse("%*d|%.*s")
    assert len(parsed.specs) == 2
    assert parsed.format([5, "ab"]) == "5|ab"


def test_bytes_format_strings_keep_their_bytes() -> None:
    parsed = FormatString.parse(b"\xff%d")
    assert parsed.format([1]).encode("utf-8", "surrogateescape") == b"\xff1"


# --- checks ------------------------------------------------------------------------------------------------


def test_argument_count_errors_are_bpftraces() -> None:
    with pytest.raises(PrintfError, match=r"^not enough arguments for format string \(1 supplied, 2 expected\)$"):
        FormatString.parse("%d %d\n").check([t.INT64])
    with pytest.raises(PrintfError, match=r"too many arguments for format string \(2 supplied, 1 expected\)"):
        FormatString.parse("%d\n").check([t.INT64, t.INT64])


def test_count_error_points_at_a_percent_that_is_not_a_conversion() -> None:
    with pytest.raises(PrintfError) as info:
        FormatString.parse("x=%y\n").check([t.INT64])
    assert "'%y' at column 3" in info.value.hint


def test_type_mismatch_names_the_type_and_what_is_allowed() -> None:
    with pytest.raises(PrintfError) as info:
        FormatString.parse("a %d").check([t.StringType(4)])
    err = info.value
    assert err.message == "unsupported format specifier for type 'string[4]': d"
    assert (err.column, err.arg_index) == (3, 0)
    assert "integer, bool or pointer" in err.hint


def test_buffer_conversions_take_only_buffers() -> None:
    FormatString.parse("%r %rx %rh").check([t.BufferType(4)] * 3)
    with pytest.raises(PrintfError, match="for type 'int64': rx"):
        FormatString.parse("%rx").check([t.INT64])


def test_float_conversions_are_unsupported() -> None:
    with pytest.raises(PrintfError) as info:
        FormatString.parse("%d %f").check([t.INT64, t.INT64])
    assert info.value.message == "unsupported format specifier: f"
    assert (info.value.column, info.value.arg_index) == (4, 1)


def test_none_arguments_are_rejected() -> None:
    with pytest.raises(PrintfError, match="unable to print none type for specifier: s"):
        FormatString.parse("%s").check([t.VOID])


def test_valid_arguments_pass() -> None:
    FormatString.parse("%d %u %x %c %p %s %s %s").check(
        [t.INT32, t.BOOL, t.UINT8, t.INT8, t.PointerType(t.INT8), t.StringType(), t.INT64,
         t.TupleType((t.INT64,))])


# --- formatting --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format_string", "args", "expected"),
    [
        ("%-5d|%5s|%x|%c", (42, "ab", 255, 65), "42   |   ab|ff|A"),
        ("%d", (1 << 40,), "0"),  # %d is a 32-bit int, like C
        ("%d", (0xFFFFFFFF,), "-1"),
        ("%ld %lld %jd %zd %td", (-1, -1, -1, -1, -1), "-1 -1 -1 -1 -1"),
        ("%x %u", (-1, -1), "ffffffff 4294967295"),
        ("%lx %lu %llu", (-1, -1, -1), "ffffffffffffffff 18446744073709551615 18446744073709551615"),
        ("%hhd %hd %hhu %hu", (257, 65537, 257, -1), "1 1 1 65535"),
        ("%X %#x %#X %#o %o", (255, 255, 255, 8, 8), "FF 0xff 0XFF 010 10"),
        ("%#x %#o", (0, 0), "0 0"),
        ("%+d %+d %+u", (5, 0, 5), "+5 +0 5"),
        ("% d", (5,), "5"),  # the space flag is ignored
        ("%05d|%-05d|%5d", (-5, -5, -5), "000-5|-5000|   -5"),
        ("%5.2s|%.1d", ("abcdef", 123), "abcdef|123"),  # precision is ignored
        ("%p %p %10p", (0, 4096, 4096), "0 0x1000     0x1000"),
        ("%c%c|%3c", (ord("h"), ord("i") + 256, ord("x")), "hi|  x"),
        ("%s %s %s", (-3, True, None), "-3 true null"),
        ("%s|%d", (Symbolic("0xffff0000", 0xFFFF0000), Symbolic("0x10", 16)), "0xffff0000|16"),
        ("%s", ((1, "two", (3,)),), "(1, two, (3))"),
        ("%s", (Record((("a", 1), ("b", "x"))),), "{ .a = 1, .b = x }"),
        ("%s", ([1, 2],), "[1,2]"),
        ("%6s|%-6s|", ((1, 2), (1, 2)), "     (1, 2)|(     1, 2)|"),  # a stream pads the first token only
        ("%+s", ((1, -2),), "(+1, -2)"),
        ("%r|%rx|%rh", (Buffer(b"hi\x00\xff"),) * 3, "hi\\x00\\xff|\\x68\\x69\\x00\\xff|68 69 00 ff"),
        ("%r", ("str",), "str"),
        ("%d", ("abc",), "!{invalid integer conversion: abc}"),
        ("%gr", (0x400 | 0x800 | 0x40 | 0x80,), "GFP_KERNEL"),
        ("100%% %d%%", (7,), "100% 7%"),
        ("%4s|%-4s|", ("é", "é"), "  é|é  |"),  # widths count bytes, as a C++ stream does
    ],
)
def test_formatting_matches_current_bpftrace(format_string: str, args: tuple[object, ...], expected: str) -> None:
    assert fmt(format_string, *args) == expected


def test_gfp_flags() -> None:
    assert gfp_flags(0) == "0"
    assert gfp_flags(0xCC0) == "GFP_KERNEL"
    assert gfp_flags(0xCC0 | 0x100) == "GFP_KERNEL|__GFP_ZERO"
    assert gfp_flags(0xCC0 | (1 << 40)) == "GFP_KERNEL|0x10000000000"
    assert gfp_flags(0x1) == "GFP_DMA"


_widths = st.integers(min_value=0, max_value=24)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), _widths, st.booleans())
def test_signed_matches_python_percent(value: int, width: int, left: bool) -> None:
    """Where C++ streams and printf agree (no zero fill of negatives), %d is Python's %d."""
    flag = "-" if left else ""
    assert fmt(f"%{flag}{width}d", value) == f"%{flag}{width}d" % value


@given(st.integers(min_value=1, max_value=2**32 - 1), _widths, st.sampled_from("xXou"),
       st.sampled_from(["", "-", "0", "#"]))
def test_unsigned_matches_python_percent(value: int, width: int, conversion: str, flag: str) -> None:
    if flag == "#" and conversion in "ou":
        flag = ""  # Python spells the octal prefix 0o
    assert fmt(f"%{flag}{width}{conversion}", value) == f"%{flag}{width}{conversion}" % value


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30), _widths,
       st.booleans())
def test_strings_match_python_percent(value: str, width: int, left: bool) -> None:
    flag = "-" if left else ""
    assert fmt(f"%{flag}{width}s", value) == f"%{flag}{width}s" % value


@given(st.integers(min_value=-(2**63), max_value=2**64 - 1))
def test_long_conversions_wrap_like_c(value: int) -> None:
    assert int(fmt("%ld", value)) == (value + 2**63) % 2**64 - 2**63
    assert int(fmt("%lu", value)) == value % 2**64
    assert int(fmt("%lx", value), 16) == value % 2**64


# --- against bpftrace 0.17 ---------------------------------------------------------------------------------

# (format, arguments as bpftrace source, the same arguments as values). 0.17 used snprintf; these are the
# cases where snprintf and current bpftrace's streams print the same.
_SAME_IN_017 = [
    ("%-5d|%5s|%x|%c", '42, "ab", 255, 65', (42, "ab", 255, 65)),
    ("%d|%x|%u|%lu|%lx|%ld", "1 << 40, -1, -1, -1, -1, -1", (1 << 40, -1, -1, -1, -1, -1)),
    ("%hhd %hd %hhu %llu %zd %jd", "257, 65537, 257, -1, -1, -1", (257, 65537, 257, -1, -1, -1)),
    ("%c%c|%5c|", "65, 66, 67", (65, 66, 67)),
    ("%p", "4096", (4096,)),
    ("%o|%X|%05d|%-3d|", "8, 255, 42, 7", (8, 255, 42, 7)),
    ("%-10s|%10s|%s", '"left", "right", ""', ("left", "right", "")),
    ("100%% %d", "1", (1,)),
]

# Cases where 0.17 differs; the current bpftrace text is what tinybpf prints.
_DIFFERENT_IN_017 = [
    # (format, arguments, values, bpftrace 0.17's text, current bpftrace's text)
    ("%p", "0", (0,), "(nil)", "0"),
    ("%05d", "-5", (-5,), "-0005", "000-5"),
    ("%-05d", "-5", (-5,), "-5   ", "-5000"),
    ("%5.2s|", '"abcdef"', ("abcdef",), "   ab|", "abcdef|"),
]


def _script(cases: list[tuple[str, str]]) -> str:
    body = "".join(f'printf("{f}\\n", {a}); ' for f, a in cases)
    return f"BEGIN {{ {body}exit(); }}"


def _reference_lines(reference_bpftrace: BpftraceRunner, cases: list[tuple[str, str]]) -> list[str]:
    out = reference_bpftrace(_script(cases))
    return out.split("\n")[1:1 + len(cases)]  # after the 0.17 banner "Attaching 1 probe..."


def test_printf_matches_bpftrace_017(reference_bpftrace: BpftraceRunner) -> None:
    lines = _reference_lines(reference_bpftrace, [(f, a) for f, a, _ in _SAME_IN_017])
    assert lines == [fmt(f, *values) for f, _, values in _SAME_IN_017]


def test_printf_known_differences_from_017(reference_bpftrace: BpftraceRunner) -> None:
    lines = _reference_lines(reference_bpftrace, [(f, a) for f, a, *_ in _DIFFERENT_IN_017])
    assert lines == [old for *_, old, _ in _DIFFERENT_IN_017]
    assert [fmt(f, *values) for f, _, values, _, _ in _DIFFERENT_IN_017] == [new for *_, new in _DIFFERENT_IN_017]


@pytest.mark.parametrize("flagged", ["%+d", "%#x", "% d"])
def test_sign_base_and_space_flags_are_new_since_017(reference_bpftrace: BpftraceRunner, flagged: str) -> None:
    """0.17 knew only ``-`` and digits before a conversion; current bpftrace takes ``+``, ``#`` and space."""
    with pytest.raises(AssertionError, match="Too many arguments"):
        reference_bpftrace(f'BEGIN {{ printf("{flagged}\\n", 5); exit(); }}')
    assert len(FormatString.parse(flagged).specs) == 1
