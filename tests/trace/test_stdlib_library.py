"""The standard library: builtin wrappers, library macros, compile-time helpers, and the calls beside them."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tinybpf.trace.syntax import stdlib
from tinybpf.trace.syntax.lexer import tokenize
from tinybpf.trace.syntax.parser import parse

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def trace(program: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, "-q", *flags, "-e", program], capture_output=True, text=True, timeout=60,
                          check=False, env=dict(os.environ))


def lines(program: str) -> list[str]:
    result = trace(program)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_library_is_parsed_only_when_named() -> None:
    assert not stdlib.uses_library(tokenize("BEGIN { print(pid); }")[0])
    assert stdlib.uses_library(tokenize("BEGIN { print(ppid); }")[0])
    program = parse('BEGIN { print(strerror(22)); print(signal_name(2)); print(strlen("hi")); }')
    values = [s.expr.args[0] for s in program.probes[0].block.statements]  # type: ignore[attr-defined]
    assert [v.value for v in values] == [b"Invalid argument", b"Interrupt", 2]


def test_signal_name_out_of_range() -> None:
    assert stdlib.signal_name(0) == "Unknown signal 0"
    assert stdlib.signal_name(1024) == "N/A"


def test_user_macro_replaces_only_its_arity() -> None:
    program = parse('macro cpu(x) { x } BEGIN { print(cpu("hi")); print(cpu()); }')
    first, second = (s.expr.args[0] for s in program.probes[0].block.statements)  # type: ignore[attr-defined]
    assert first.value == b"hi"
    assert second.name == "cpu"


def test_fail_is_a_compile_error() -> None:
    result = trace('BEGIN { fail("boom"); }')
    assert result.returncode != 0
    assert "ERROR: boom" in result.stderr


def test_write_user_needs_unsafe() -> None:
    result = trace('tracepoint:syscalls:sys_enter_openat { write_user(args.filename, "x", 1); }')
    assert "write_user() is unsafe. To use you need the --unsafe flag" in result.stderr


@pytest.mark.kernel
def test_builtin_wrappers_and_compile_time_builtins() -> None:
    out = lines('BEGIN { printf("%d %d %s %d %d %s\\n", cpu() == cpu, ncpus() == ncpus, probetype, usermode, '
                'config().max_strlen, config.stack_mode); exit(); }')
    assert out == ["1 1 special 1 1024 bpftrace"]


@pytest.mark.kernel
def test_exit_code_and_assert() -> None:
    assert trace("BEGIN { exit(69); }").returncode == 69
    result = trace('BEGIN { assert(false, "My error message"); }')
    assert result.returncode == 1
    assert "stdlib/base.bt:6:5-37: ERROR: assert failed: My error message" in result.stderr


@pytest.mark.kernel
def test_task_macros_and_pid_namespaces() -> None:
    out = lines('BEGIN { printf("%d %d %d %s\\n", ppid(curtask) == ppid, pid(init) == pid, '
                'tid(curr_ns) == tid, leader_comm); exit(); }')
    assert out[0].startswith("1 1 1 ")


@pytest.mark.kernel
def test_delete_value_and_clear_of_keyless_map() -> None:
    out = lines('BEGIN { @a[1] = 1; $x = delete(@a, 2); $y = delete(@a, 1); printf("%d %d\\n", $x, $y); '
                '@c = count(); clear(@c); exit(); }')
    assert out == ["0 1"]


@pytest.mark.kernel
def test_strlen_of_values_and_pton() -> None:
    out = lines('BEGIN { $a = "hello"; $e = ""; printf("%d %d %s %s\\n", strlen($a), strlen($e), '
                'ntop(pton("10.0.0.1")), ntop(10, pton("::1"))); exit(); }')
    assert out == ["5 0 10.0.0.1 ::1"]
