"""Probe types beyond tracepoints and uprobes, run for real: USDT sites, raw tracepoints, kprobes here."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def usdt_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("usdt") / "usdt_tick"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(DATA / "usdt_tick.c")], check=True)
    return str(out)


def test_usdt_arguments_constant_and_register(usdt_binary: str) -> None:
    target = subprocess.Popen([usdt_binary])
    try:
        time.sleep(0.1)
        result = subprocess.run([*TRACE, "-q", "-e", f'usdt:{usdt_binary}:tinyprov:tick {{ printf("%d %d %s\\n", '
                                 'arg0, arg1 > 0, probe); exit(); }'], capture_output=True, text=True, timeout=60,
                                check=False)
    finally:
        target.kill()
        target.wait()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == f"7 1 usdt:{usdt_binary}:tinyprov:tick"


def test_usdt_listing(usdt_binary: str) -> None:
    result = subprocess.run([*TRACE, "-l", f"usdt:{usdt_binary}:*"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.stdout.split() == [f"usdt:{usdt_binary}:tinyprov:tick"]


def test_usdt_missing_probe(usdt_binary: str) -> None:
    result = subprocess.run([*TRACE, "-e", f"usdt:{usdt_binary}:tinyprov:nope {{ exit(); }}"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "No matches for usdt" in result.stderr


def test_kprobe_fails_to_attach_with_one_line() -> None:
    from tinybpf import features

    if features.attach_kind("kprobe"):
        pytest.skip("this kernel has kprobes")
    result = subprocess.run([*TRACE, "-e", 'kprobe:do_nanosleep { printf("%d\\n", arg0); exit(); }'],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "tinybpf: error: kprobe:do_nanosleep is not supported on this kernel: kprobes are not available on this "
        "kernel"]


def test_watchpoint_on_a_child_write(tmp_path: pathlib.Path) -> None:
    from tinybpf.kernel import perf_event

    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    if not perf_event.pmu_exists("breakpoint"):
        pytest.skip("no breakpoint PMU")
    binary = tmp_path / "watch_target"
    subprocess.run(["gcc", "-O1", "-o", str(binary), str(DATA / "watch_target.c")], check=True)
    result = subprocess.run([*TRACE, "-q", "-e", 'watchpoint:0x10000000:1:w { printf("hit!\\n"); exit(); }',
                             "-c", str(binary)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "hit!"
