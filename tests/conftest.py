"""Shared test setup: the ``kernel`` marker and leak checks.

Kernel tests run for real (never mocked); without root they are skipped with the reason. After
every kernel test no program created by the test may remain loaded.
"""
from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

IS_ROOT = os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:  # type: ignore[type-arg]
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root: bpf() requires CAP_BPF/CAP_SYS_ADMIN (run the suite as root)")
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(skip)


def _program_ids() -> set:  # type: ignore[type-arg]
    from tinybpf.programs import list_program_ids

    return set(list_program_ids())


@pytest.fixture(autouse=True)
def no_leftover_programs(request: pytest.FixtureRequest) -> Iterator[None]:
    """A kernel test must not leave programs loaded once its objects are gone."""
    if not IS_ROOT or "kernel" not in request.keywords:
        yield
        return
    before = _program_ids()
    yield
    gc.collect()
    leftover = _program_ids() - before
    # programs of other processes may appear meanwhile; only ours (same uid, still ours) matter
    assert not _ours(leftover), f"programs left loaded: {sorted(_ours(leftover))}"


def _ours(ids: set) -> set:  # type: ignore[type-arg]
    """Program ids whose descriptor this process still holds (others belong to other processes)."""
    held = set()
    fd_dir = "/proc/self/fdinfo"
    for name in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, name)) as f:
                for line in f:
                    if line.startswith("prog_id:") and int(line.split()[1]) in ids:
                        held.add(int(line.split()[1]))
        except OSError:
            continue
    return held
