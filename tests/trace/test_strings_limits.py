"""Strings at their limits: explicit and max_strlen truncation, the truncation trailer, strings bigger than
the BPF stack, ``__data_loc`` fields, script char arrays, and a verifier log that does not fit."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.asm import FP, R9, Size, ldx, mov64
from tinybpf.backend import scratch
from tinybpf.trace.semantics.c_types import CTypes, pointer_type

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
EXEC = "t:syscalls:sys_enter_execve /pid == cpid/ "


def trace(program: str, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *flags, "-e", program], capture_output=True, text=True, timeout=60,
                          check=False, env=dict(os.environ, **(env or {})))


def first_line(program: str, command: str, env: dict[str, str] | None = None) -> str:
    result = trace(program, "-q", "-c", command, env=env)
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line)


# ----------------------------------------------------------------- compile-time pieces

def test_tracepoint_pointer_fields_are_typed() -> None:
    argv = pointer_type("const char *const *", "user")
    assert str(argv) == "int8 **"
    assert argv.addrspace == "user" and argv.pointee is not None and argv.pointee.addrspace == "user"
    assert str(pointer_type("struct file *")) == "struct file *"
    assert pointer_type("void *").pointee is None


def test_script_char_array_keeps_a_byte_for_the_nul() -> None:
    types = CTypes("struct F { char s[5]; int x; };")
    record = types.record("struct F")
    assert record is not None and record.size == 12
    s, x = record.members
    assert str(s.type) == "string[6]" and x.offset == 8


def test_scratch_rebase_moves_frame_accesses_onto_r9() -> None:
    code = [*scratch.prologue("out"), ldx(Size.DW, 1, FP, -8), mov64(2, FP)]
    body = len(code) - 2
    scratch.rebase(code, body, len(code), 1024)
    assert code[body - 1].imm == 1024
    assert (code[body].src, code[body].off) == (R9, -8)
    assert code[body + 1].src == R9
    assert code[1].dst == FP  # the prologue's key stays on the real stack


# ----------------------------------------------------------------- in the kernel

@pytest.mark.kernel
def test_explicit_length_counts_the_nul() -> None:
    assert first_line(EXEC + "{ print(str(args.argv[1], 5)); exit() }", "/bin/true zztest") == "zzte"


@pytest.mark.kernel
def test_runtime_length() -> None:
    assert first_line(EXEC + "{ $n = 1; print(str(args.argv[1], $n + 4)); exit() }", "/bin/true zztest") == "zzte"


@pytest.mark.kernel
@pytest.mark.parametrize(("env", "suffix"), [({}, ".."), ({"BPFTRACE_STR_TRUNC_TRAILER": "_x"}, "_x")])
def test_truncated_string_ends_in_the_trailer(env: dict[str, str], suffix: str) -> None:
    line = first_line(EXEC + '{ printf("%s\\n", str(args.filename)); exit() }', "/bin/true",
                      env={"BPFTRACE_MAX_STRLEN": "5", **env})
    assert line == "/bin/" + suffix  # string[5] holds five characters and no NUL


@pytest.mark.kernel
def test_string_that_fits_has_no_trailer() -> None:
    line = first_line(EXEC + '{ printf("%s\\n", str(args.filename)); exit() }', "/bin/true",
                      env={"BPFTRACE_MAX_STRLEN": "10"})
    assert line == "/bin/true"


@pytest.mark.kernel
def test_data_loc_field_reads_its_data() -> None:
    line = first_line('t:sched:sched_process_exec /pid == cpid/ { print(str(args.filename)); exit() }', "/bin/true")
    assert line == "/bin/true"


@pytest.mark.kernel
def test_string_bigger_than_the_stack(tmp_path: Path) -> None:
    directory = tmp_path
    for _ in range(12):
        directory = directory / ("X" * 250)
    directory.mkdir(parents=True)
    link = directory / "t"
    link.symlink_to("/bin/true")
    program = EXEC + "{ @[str(args.filename)] = count(); print((1, str(args.filename))); exit() }"
    result = trace(program, "-q", "-c", str(link), env={"BPFTRACE_MAX_STRLEN": "9999"})
    assert result.returncode == 0, result.stderr
    assert f"(1, {link})" in result.stdout
    assert f"@[{link}]: 1" in result.stdout


@pytest.mark.kernel
def test_log_size_too_small_for_the_verifier_log() -> None:
    result = subprocess.run([*TRACE, "-v", "-e", 'BEGIN { printf("%s\\n", str($1)); exit() }', "hello"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env=dict(os.environ, BPFTRACE_LOG_SIZE="2"))
    assert result.returncode != 0
    assert "ERROR: Error loading BPF program for begin_1. Error code: -28 (No space left on device)." \
        in result.stderr.splitlines()
    assert any(line.startswith("WARNING: Kernel log seems to be trimmed") for line in result.stderr.splitlines())
