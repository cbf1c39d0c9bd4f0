"""Shared test setup: the ``kernel`` marker and the leak check every kernel test passes through.

Kernel tests run for real (never mocked); without root they are skipped with the reason. After each
kernel test nothing it made may remain: no program still held by this process or named with the
test prefix (a leaked link or perf event keeps a program alive in the kernel alone), no uprobe or
kprobe entry in tracefs, no open file descriptor.
"""
from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator

import pytest

IS_ROOT = os.geteuid() == 0

# Programs the attach tests load are named with this prefix, so programs other processes load on
# the same machine meanwhile are not mistaken for leftovers.
PREFIX = "tt_"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root: bpf() requires CAP_BPF/CAP_SYS_ADMIN (run the suite as root)")
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(skip)


def _held_program_ids() -> set[int]:
    """Ids of programs this process still holds a descriptor of."""
    held = set()
    for name in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{name}") as f:
                held.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
        except OSError:
            continue
    return held


def _prefixed(ids: set[int]) -> set[int]:
    from tinybpf.programs import Program

    found = set()
    for prog_id in ids:
        try:
            with Program.from_id(prog_id) as prog:
                if prog.info().name.startswith(PREFIX):
                    found.add(prog_id)
        except Exception:  # unloaded meanwhile
            continue
    return found


def _left_over(before: set[int]) -> set[int]:
    """Our programs loaded since ``before``; the kernel frees detached programs after an RCU grace
    period, which a busy machine stretches to seconds: the wait is a liveness bound, not a speed check
    (it ends as soon as they are gone)."""
    from tinybpf.programs import list_program_ids

    deadline = time.monotonic() + 30
    while True:
        new = set(list_program_ids()) - before
        ours = (new & _held_program_ids()) | _prefixed(new)
        if not ours or time.monotonic() > deadline:
            return ours
        time.sleep(0.05)


def _probes() -> list[str]:
    from tinybpf.kernel import tracefs

    return tracefs.probe_events("uprobe") + tracefs.probe_events("kprobe")


@pytest.fixture(autouse=True)
def nothing_left_attached(request: pytest.FixtureRequest) -> Iterator[None]:
    if not IS_ROOT or "kernel" not in request.keywords:
        yield
        return
    from tinybpf.programs import list_program_ids

    fds = set(os.listdir("/proc/self/fd"))
    programs = set(list_program_ids())
    probes = _probes()
    yield
    gc.collect()
    assert not _left_over(programs), "a test left a program loaded"
    assert _probes() == probes, "a test left a probe in tracefs"
    leaked = set(os.listdir("/proc/self/fd")) - fds
    assert not leaked, f"file descriptors left open: {sorted(leaked)}"
