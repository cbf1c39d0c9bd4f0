"""``bpftrace -l`` listing: the same lines as the reference bpftrace for the patterns users type."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tinybpf.errors import TinyBPFError
from tinybpf.trace.runtime.listing import (
    SOFTWARE_EVENTS,
    function_names,
    list_probes,
    resolve_binaries,
)
from tinybpf.trace.runtime.wildcards import wildcard_match

BINARY = str(Path(__file__).resolve().parent.parent / "data" / "usdt" / "usdt_target")
TEST_FUNCTIONS = ["__do_global_dtors_aux", "_fini", "_init", "_start", "deregister_tm_clones", "fire_guarded",
                  "frame_dummy", "main", "register_tm_clones", "tick"]

Lister = Callable[[str, bool], list[str]]


@pytest.fixture(scope="session")
def bpftrace_list() -> Lister:
    """``bpftrace -l[v] PATTERN``'s stdout lines; skips without bpftrace or root."""
    path = shutil.which("bpftrace")
    if path is None:
        pytest.skip("bpftrace is not installed: no reference to compare with")
    if os.geteuid() != 0:
        pytest.skip("bpftrace -l needs root")

    def run(pattern: str, verbose: bool = False) -> list[str]:
        result = subprocess.run([path, "-lv" if verbose else "-l", pattern], capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    return run


def ours(pattern: str, verbose: bool = False) -> list[str]:
    return list(list_probes(pattern, verbose))


@pytest.mark.kernel
@pytest.mark.parametrize(("pattern", "verbose"), [
    ("tracepoint:syscalls:sys_enter_open*", False),
    ("tracepoint:sched:*", False),
    ("t:sched:sched_sw*", False),
    ("tracepoint:sched*", False),  # a lone wildcard part is the event name, in every category
    ("tracepoint:syscalls:sys_enter_openat", True),
    ("tracepoint:syscalls:sys_enter_open*", True),
    ("tracepoint:sched:sched_switch,tracepoint:sched:sched_wakeup", False),
    ("tracepoint:sched:no_such_event", False),
    ("iter:*", True),
    ("k*:*", False),  # no kprobes on the test machine: nothing, not an error
    (f"uprobe:{BINARY}:*", False),
    (f"uretprobe:{BINARY}:ma*", False),
    (f"usdt:{BINARY}:*", False),
    (f"usdt:{BINARY}:tinybpf:*", False),
    (f"usdt:{BINARY}:*ick", False),
    (f"*:{BINARY}:*", False),
    ("uprobe:libc:mallo*", False),
])
def test_same_lines_as_bpftrace(bpftrace_list: Lister, pattern: str, verbose: bool) -> None:
    assert ours(pattern, verbose) == bpftrace_list(pattern, verbose)


@pytest.mark.kernel
def test_every_tracepoint_and_a_large_binary_match_bpftrace(bpftrace_list: Lister) -> None:
    assert ours("tracepoint:*") == bpftrace_list("tracepoint:*")
    assert ours("uprobe:/bin/bash:*") == bpftrace_list("uprobe:/bin/bash:*")


@pytest.mark.kernel
def test_software_events_are_listed_where_bpftrace_017_echoes_the_pattern(bpftrace_list: Lister) -> None:
    """Deliberate difference: current bpftrace lists each event with its aliases, 0.17 prints ``software:*:``."""
    expected = sorted(f"software:{name}:" for event in SOFTWARE_EVENTS for name in event if name)
    assert ours("software:*") == expected
    assert ours("s:*:*") == expected
    assert ours("software:cpu*") == ["software:cpu-clock:", "software:cpu-migrations:", "software:cpu:"]
    assert bpftrace_list("software:*") in (["software:*:"], expected)


@pytest.mark.kernel
def test_tracepoint_fields_skip_the_common_header() -> None:
    lines = ours("tracepoint:syscalls:sys_enter_openat", True)
    assert lines == ["tracepoint:syscalls:sys_enter_openat", "    int __syscall_nr", "    int dfd",
                     "    const char * filename", "    int flags", "    umode_t mode"]


@pytest.mark.kernel
def test_raw_tracepoints_come_from_btf_without_their_private_data_argument() -> None:
    lines = ours("rawtracepoint:sched_switch", True)
    assert lines[0] == "rawtracepoint:vmlinux:sched_switch"
    assert "    struct task_struct * prev" in lines[1:]
    assert not any("__data" in line for line in lines)


def test_user_binaries_need_no_kernel() -> None:
    assert ours(f"uprobe:{BINARY}:*") == [f"uprobe:{BINARY}:{name}" for name in TEST_FUNCTIONS]
    assert ours(f"u:{BINARY}:t?ck") == [f"uprobe:{BINARY}:tick"]
    assert ours(f"usdt:{BINARY}:*") == [f"usdt:{BINARY}:tinybpf:{name}" for name in ("done", "guarded", "tick", "twice")]
    assert ours(f"U:{BINARY}:*:guarded", True) == [f"usdt:{BINARY}:tinybpf:guarded"]
    assert ours(f"usdt:{BINARY}:other:*") == []
    assert function_names(BINARY) == set(TEST_FUNCTIONS)


def test_bad_patterns_are_errors() -> None:
    for pattern, message in [
        ("foo:bar", "Invalid probe type: foo"),
        ("zz*:x", "No probe type matched for zz\\*"),
        ("uprobe:/nonexistent:*", "uprobe target file '/nonexistent' does not exist or is not executable"),
        ("usdt:*", "usdt probe type requires 2 or 3 arguments"),
        (f"uprobe:{BINARY}", "uprobe probe type requires 2 arguments"),
    ]:
        with pytest.raises(TinyBPFError, match=message):
            ours(pattern)


def test_nothing_is_listed_for_begin_end_and_watchpoints() -> None:
    assert ours("BEGIN") == ours("END") == ours("watchpoint:0x1000:8:w") == []


def test_binaries_resolve_like_bpftrace() -> None:
    assert resolve_binaries(BINARY, "uprobe") == [BINARY]
    assert resolve_binaries(str(Path(BINARY).parent / "usdt_*"), "usdt") == [BINARY]
    assert resolve_binaries("sh", "uprobe") == [shutil.which("sh")]


def test_wildcards() -> None:
    assert wildcard_match("sys_enter_open*", "sys_enter_openat")
    assert wildcard_match("*:sched_*", "sched:sched_switch")
    assert wildcard_match("a*b", "abab")
    assert wildcard_match("t?ck", "tick")
    assert not wildcard_match("sys_enter_open", "sys_enter_openat")
    assert not wildcard_match("t.ck", "tick")
