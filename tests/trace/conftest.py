"""Fixtures for the trace tests: running the reference bpftrace for differential tests."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Callable

import pytest

BpftraceRunner = Callable[..., str]


@pytest.fixture(scope="session")
def reference_bpftrace() -> BpftraceRunner:
    """Run the installed bpftrace (Debian's 0.17) on a BEGIN-only script; returns its stdout.

    Skips unless bpftrace is installed and we are root (it loads programs).
    """
    path = shutil.which("bpftrace")
    if path is None:
        pytest.skip("bpftrace is not installed: no reference to compare with")
    if os.geteuid() != 0:
        pytest.skip("bpftrace needs root to load its programs")

    def run(script: str, *options: str) -> str:
        result = subprocess.run([path, *options, "-e", script], capture_output=True, text=True, timeout=120,
                                check=False)
        if result.returncode != 0:
            raise AssertionError(f"bpftrace failed ({result.returncode}): {result.stderr}")
        return result.stdout

    return run
