"""The fast integer path of printf (used for floods of events) writes exactly what ``format`` writes."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tinybpf.trace.runtime.printf import FormatString

FORMATS = ["%d\n", "pid %u comm %x %X %o\n", "%ld %lu %hhd %hu %i%%\n", "100%% %d", "no conversions\n"]
VALUES = st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1)


@given(st.sampled_from(FORMATS), st.lists(VALUES, min_size=5, max_size=5))
def test_integer_formatter_matches_format(fmt: str, values: list[int]) -> None:
    parsed = FormatString.parse(fmt)
    fast = parsed.integer_formatter()
    assert fast is not None
    args = values[:len(parsed.specs)]
    assert fast(args) == parsed.format(args)


def test_flags_widths_and_other_conversions_take_the_general_path() -> None:
    for fmt in ("%5d", "%-d", "%+d", "%#x", "%08x", "%.3d", "%s", "%c", "%p"):
        assert FormatString.parse(fmt).integer_formatter() is None, fmt
