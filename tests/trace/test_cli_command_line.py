"""``tinybpf trace``'s command line as current bpftrace reads it: pids, script files, listing, positional
parameters, signal probes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.parser import parse
from tinybpf.trace.syntax.positional import param_value, resolve_positional

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def run(*args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.mark.parametrize(("pid", "message"), [
    ("a1111", "ERROR: Failed to parse pid: invalid integer: a1111"),
    ("111a1", "ERROR: Failed to parse pid: invalid trailing bytes: 111a1"),
    ("5000000", "ERROR: Pid out of range: 5000000"),
])
def test_bad_pid_is_one_error_line(pid: str, message: str) -> None:
    result = run("-p", pid, "-e", "begin { exit(); }")
    assert result.returncode == 1
    assert result.stderr == message + "\n"


def test_missing_script_file() -> None:
    result = run("no_such_script.bt")
    assert result.returncode == 1
    assert result.stderr == "ERROR: failed to open file 'no_such_script.bt': No such file or directory\n"


def test_listing_a_missing_file_warns_and_searches() -> None:
    result = run("-l", "no_such_script.bt")
    assert result.stderr.startswith("WARNING: It appears that 'no_such_script.bt' is a filename")


def test_listing_the_probes_of_a_script_file(tmp_path: object) -> None:
    script = os.path.join(str(tmp_path), "timers.bt")
    with open(script, "w") as f:
        f.write("interval:ms:100 { } begin { } profile:hz:99 { }\n")
    result = run("-l", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["interval:ms:", "profile:hz:"]


def test_listing_struct_names_and_definitions() -> None:
    assert run("-l", "struct fd").stdout == "struct fd\n"
    verbose = run("-lv", "struct fd,struct file").stdout
    assert verbose.startswith("vmlinux: struct fd {\n")
    assert "vmlinux: struct file {\n" in verbose


def test_missing_include_is_clangs_fatal_error() -> None:
    result = run("--dry-run", "-e", "#include <no/such_header.h>\nbegin { }")
    assert result.returncode == 1
    assert result.stderr == "definitions.h:2:10: fatal error: 'no/such_header.h' file not found\n"


@pytest.mark.kernel  # reads tracefs (root-only) or loads programs
def test_kernel_headers_need_no_headers_package() -> None:
    assert run("--dry-run", "-e", "#include <net/sock.h>\nbegin { }").returncode == 0


@pytest.mark.parametrize(("text", "value"), [("123", 123), ("0775", 0o775), ("0x123", 0x123), ("-5", -5),
                                              ("hello", None), ("1_000", 1000)])
def test_parameter_numbers_read_in_any_base(text: str, value: object) -> None:
    assert param_value(text) == value


def _resolved(source: str, *params: str) -> ast.Expression:
    program = parse(source, "stdin", list(params))
    resolve_positional(program, params)
    statement = program.probes[0].block.statements[0]
    assert isinstance(statement, ast.AssignMapStatement)
    return statement.expr


@pytest.mark.parametrize(("source", "params", "expected"), [
    ("begin { @ = str($1); }", ("1",), b"1"),
    ("begin { @ = str($1); }", (), b""),
    ("begin { @ = str($1 + 1); }", ("hello",), b"ello"),
    ("begin { @ = str($1, 2); }", ("hello",), b"he"),
    ("begin { @ = $1; }", ("hello",), b"hello"),
])
def test_str_of_a_parameter_is_its_text(source: str, params: tuple[str, ...], expected: bytes) -> None:
    value = _resolved(source, *params)
    assert isinstance(value, ast.String) and value.value == expected


@pytest.mark.parametrize(("source", "params", "expected"), [
    ("begin { @ = $1; }", (), 0),
    ("begin { @ = $1; }", ("0x10",), 16),
    ("begin { @ = $#; }", ("a", "b"), 2),
])
def test_integer_parameters(source: str, params: tuple[str, ...], expected: int) -> None:
    value = _resolved(source, *params)
    assert isinstance(value, ast.Integer) and value.value == expected


def test_parameter_as_whole_attach_point() -> None:
    program = parse("$1 { }", "stdin", ["i:ms:1"])
    ap = program.probes[0].attach_points[0]
    assert (ap.provider, ap.target, ap.freq) == ("interval", "ms", 1)


def test_interval_with_one_duration() -> None:
    ap = parse("interval:1s { }").probes[0].attach_points[0]
    assert (ap.provider, ap.target, ap.freq) == ("interval", "us", 1_000_000)


def test_if_without_parentheses() -> None:
    statement = parse("begin { if 1 { } }").probes[0].block.statements[0]
    assert isinstance(statement, ast.If) and isinstance(statement.cond, ast.Integer)


@pytest.mark.kernel
def test_script_from_stdin() -> None:
    result = run("-", stdin='begin { printf("hi\\n"); exit(); }')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hi\n")


@pytest.mark.kernel
def test_flags_after_the_script_file(tmp_path: object) -> None:
    script = os.path.join(str(tmp_path), "quiet.bt")
    with open(script, "w") as f:
        f.write("begin { exit(); }\n")
    result = run(script, "-q")
    assert result.returncode == 0, result.stderr
    assert "Attached" not in result.stderr


@pytest.mark.kernel
def test_begin_and_end_in_one_probe_run_both() -> None:
    result = run("-e", 'begin,end { printf("%s\\n", probe); exit(); }')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["begin", "end"]


@pytest.mark.kernel
def test_self_signal_probes_run_in_order_on_the_signal() -> None:
    process = subprocess.Popen([*TRACE, "-e", 'self:signal:SIGUSR1 { printf("first "); } '
                                'self:signal:SIGUSR1 { printf("second\\n"); exit(); }'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith("Attached")
        time.sleep(0.2)
        assert subprocess.run(["pidof", "tinybpf"], capture_output=True, text=True,
                              check=False).stdout.split().count(str(process.pid)) == 1
        os.kill(process.pid, signal.SIGUSR1)
        out, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    assert out.startswith("first second\n")


def test_integer_defines_in_the_btf_branch() -> None:
    from tinybpf.trace.syntax.c_macros import defined_constants

    source = ("#define A 314\n#ifndef BPFTRACE_HAVE_BTF\n#define B 1\n#else\n#define B 2\n#endif\n"
              "#define C (-5)\n#define D\n#if defined(E)\n#define F 1\n#elif 1\n#define F 3\n#endif\n")
    assert defined_constants(source) == {"A": 314, "B": 2, "C": -5, "F": 3}
