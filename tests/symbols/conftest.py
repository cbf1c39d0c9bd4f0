"""Links, event buffers and symbols tests: after each kernel test nothing may stay attached or open.

Stricter than the suite-wide check in tests/conftest.py: programs are found by name even when only
the kernel holds them (a leaked link or perf event), probe entries in tracefs must not accumulate,
and no file descriptor may leak.
"""
from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator

import pytest

from tinybpf.kernel import tracefs
from tinybpf.programs import Program, list_program_ids

# Every program these tests load is named with this prefix, so programs other processes load on the
# same machine meanwhile are not mistaken for leftovers.
PREFIX = "tt_"


def _ours(ids: set[int]) -> set[str]:
    names = set()
    for prog_id in ids:
        try:
            with Program.from_id(prog_id) as prog:
                name = prog.info().name
        except Exception:  # unloaded meanwhile
            continue
        if name.startswith(PREFIX):
            names.add(name)
    return names


def _left_over(before: set[int]) -> set[str]:
    """Our programs loaded since ``before``; the kernel frees detached programs after an RCU grace
    period, so give it a moment."""
    deadline = time.monotonic() + 3
    while True:
        names = _ours(set(list_program_ids()) - before)
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.05)


def _probes() -> list[str]:
    return tracefs.probe_events("uprobe") + tracefs.probe_events("kprobe")


@pytest.fixture(autouse=True)
def nothing_left_attached(request: pytest.FixtureRequest) -> Iterator[None]:
    if "kernel" not in request.keywords:
        yield
        return
    fds = set(os.listdir("/proc/self/fd"))
    programs = set(list_program_ids())
    probes = _probes()
    yield
    gc.collect()
    assert not _left_over(programs), "a test left a program loaded"
    assert _probes() == probes, "a test left a probe in tracefs"
    leaked = set(os.listdir("/proc/self/fd")) - fds
    assert not leaked, f"file descriptors left open: {sorted(leaked)}"
