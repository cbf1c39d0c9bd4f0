"""No silent loss: every record the full ring buffer refuses is counted in the kernel and reported as
bpftrace reports it, so the printed events plus the reported losses are exactly the events generated."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tinybpf.kernel.sysinfo import num_possible_cpus
from tinybpf.trace.runtime.session import ring_buffer_size
from tinybpf.trace.syntax import config

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
EVENTS = 3000
LOST = re.compile(r"^Lost (\d+) events$", re.M)


def run(*args: str, pages: str = "1") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BPFTRACE_PERF_RB_PAGES": pages}
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=120, check=False, env=env)


def _numbers(stdout: str) -> list[int]:
    return [int(line) for line in stdout.splitlines() if line.isdigit()]


def test_begin_flood_into_a_tiny_buffer_reports_every_loss() -> None:
    script = f'BEGIN {{ $i = 0; while ($i < {EVENTS}) {{ printf("%d\\n", $i); $i++; }} }}'
    result = run("-e", script)
    assert result.returncode == 0, result.stderr
    printed, lost = _numbers(result.stdout), sum(int(n) for n in LOST.findall(result.stderr))
    assert lost > 0
    assert len(printed) + lost == EVENTS
    assert f"WARNING: Total lost event count: {lost}\n" in result.stderr


def test_child_flood_counts_printed_plus_lost_exactly(tmp_path: object) -> None:
    """A child closes a never-open fd a known number of times; only its calls with that fd match."""
    child = os.path.join(str(tmp_path), "closes.py")
    with open(child, "w") as f:
        f.write(f"import os\nfor _ in range({EVENTS}):\n    try:\n        os.close(9999)\n"
                "    except OSError:\n        pass\n")
    script = 'tracepoint:syscalls:sys_enter_close /pid == cpid && args.fd == 9999/ { printf("%d\\n", args.fd); }'
    result = run("-f", "json", "-e", script, "-c", f"{sys.executable} {child}")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    printed = sum(1 for r in records if r["type"] == "printf")
    lost = sum(r["count"] for r in records if r["type"] == "lost_events")
    assert all(r["data"] == {"events": r["count"]} for r in records if r["type"] == "lost_events")
    assert printed + lost == EVENTS


def test_no_loss_no_report() -> None:
    result = run("-e", 'BEGIN { printf("one\\n"); exit(); }', pages="64")
    assert result.stdout.startswith("one\n")
    assert "Lost" not in result.stderr and "lost" not in result.stderr


def test_buffer_size_follows_perf_rb_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    monkeypatch.setenv("BPFTRACE_PERF_RB_PAGES", "3")  # at least a page per CPU, a power of two pages
    assert ring_buffer_size() == (1 << (max(3, num_possible_cpus()) - 1).bit_length()) * page
    monkeypatch.setenv("BPFTRACE_PERF_RB_PAGES", "64")
    assert ring_buffer_size() == 64 * page
    monkeypatch.delenv("BPFTRACE_PERF_RB_PAGES")
    size = ring_buffer_size() // page
    assert 64 <= size <= 4096 and size & (size - 1) == 0
    assert config.lookup_int("perf_rb_pages", 0) == 0
