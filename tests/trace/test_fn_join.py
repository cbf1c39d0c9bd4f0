"""``join(char **arr [, delim])``: the strings of a pointer array, read in BPF and printed joined."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tinybpf.trace.runtime.output import join
from tinybpf.trace.semantics.analyser import analyse
from tinybpf.trace.syntax.diagnostics import TraceError
from tinybpf.trace.syntax.parser import parse

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
EXECVE = "tracepoint:syscalls:sys_enter_execve /pid == cpid/ "


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=60)


def test_join_stops_at_the_first_empty_string() -> None:
    assert join(["a", "b", "", "c"]) == "a b"
    assert join(["a", "b"], ",") == "a,b"
    assert join([]) == ""


@pytest.mark.parametrize(("program", "message"), [
    ("BEGIN { join(); }", "join() requires at least 1 argument"),
    ('BEGIN { join("x"); }', "join() only supports int or pointer arguments"),
    ('BEGIN { $d = ","; join(0, $d); }', "join() expects a string literal as its second argument"),
])
def test_join_checks(program: str, message: str) -> None:
    with pytest.raises(TraceError) as info:
        analyse(parse(program), program)
    assert message in str(info.value)


@pytest.mark.kernel
def test_join_argv() -> None:
    out = run("-e", EXECVE + "{ join(args.argv); exit(); }", "-c", "/bin/echo a b c")
    assert out.returncode == 0, out.stderr
    assert "/bin/echo a b c\n" in out.stdout.splitlines(keepends=True)


@pytest.mark.kernel
def test_join_delimiter() -> None:
    out = run("-e", EXECVE + '{ join(args.argv, ","); exit(); }', "-c", "/bin/echo a b c")
    assert out.returncode == 0, out.stderr
    assert "/bin/echo,a,b,c" in out.stdout.splitlines()


@pytest.mark.kernel
def test_join_json_and_quotes_kept() -> None:
    # bpftrace splits -c at spaces and keeps quotes, so echo sees 'A'
    out = run("-f", "json", "-e", EXECVE + '{ join(args.argv, ","); exit(); }', "-c", "/bin/echo 'A'")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert {"type": "join", "data": "/bin/echo,'A'"} in records
