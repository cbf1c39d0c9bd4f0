"""What bpftrace's own tools (tools/*.bt) rely on beyond the runtime suite: macros defined after the probes
that use them, and ``strerror``/``syscall_name`` of values only known at run time (opensnoop, syscount)."""
from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from tinybpf.trace.runtime.values import syscall_name
from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.parser import parse

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF programs needs root")


def test_a_macro_may_follow_the_probe_that_uses_it() -> None:
    program = parse("BEGIN { print(twice(2)); } macro twice(x) { x * 2 } END { }")
    assert [p.attach_points[0].provider for p in program.probes] == ["BEGIN", "END"]
    assert not any(isinstance(n, ast.Call) and n.name == "twice" for n in ast.walk(program.probes[0]))


def test_syscall_names_come_from_this_machines_table() -> None:
    assert syscall_name(0) == "read" and syscall_name(59) == "execve"
    assert syscall_name(99999) == "99999"


@needs_root
def test_run_time_strerror_and_syscall_name() -> None:
    script = ("tracepoint:syscalls:sys_exit_openat /pid == cpid && args.ret < 0/ { printf(\"%s\\n\", "
              "strerror(-args.ret)); } tracepoint:raw_syscalls:sys_enter /pid == cpid/ "
              "{ @[syscall_name(args.id)] = count(); }")
    result = subprocess.run([*TRACE, "-e", script, "-c", "cat /nonexistent/file"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert os.strerror(errno.ENOENT) in result.stdout.splitlines()
    assert "@[openat]:" in result.stdout and "@[execve]:" in result.stdout
