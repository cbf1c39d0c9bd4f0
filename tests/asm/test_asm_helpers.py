"""The helper table generated from the kernel's ``enum bpf_func_id``."""
from __future__ import annotations

import pytest

from tinybpf.asm import Helper, helper_id, helper_name


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("map_lookup_elem", 1),
        ("trace_printk", 6),
        ("get_current_pid_tgid", 14),
        ("perf_event_output", 25),
        ("probe_read_kernel", 113),
        ("ringbuf_output", 130),
        ("loop", 181),
        ("cgrp_storage_delete", 211),
    ],
)
def test_known_helpers(name: str, number: int) -> None:
    assert helper_id(name) == helper_id(f"bpf_{name}") == number
    assert helper_name(number) == name
    assert Helper[name] == number


def test_table_is_complete_and_dense() -> None:
    assert [int(h) for h in Helper] == list(range(len(Helper)))
    assert len(Helper) >= 212


def test_unknown_helpers() -> None:
    with pytest.raises(ValueError, match="unknown helper 'map_lookup'"):
        helper_id("map_lookup")
    with pytest.raises(ValueError):
        helper_name(100_000)
    assert helper_id(100_000) == 100_000, "an id newer than the table passes through"
