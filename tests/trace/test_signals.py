"""``-c``, signals and closed pipes: the tracer stops when told, never leaves its child behind, and ends
quietly. Each test is deterministic by construction: it waits for the tracer's attach notification, or
hands the tracer a signal that is already pending when it starts, never a sleep."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest

from tinybpf.trace.runtime.session import NOTIFY_ENV

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
TIMEOUT = 60
"""A liveness bound only: every wait here ends long before it unless something is broken."""


def run(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=TIMEOUT, check=False, **options)


@pytest.mark.parametrize(("command", "message"), [
    ("/nonexistent", "Path '/nonexistent' does not exist or is not executable (No such file or directory)"),
    ("/etc/passwd", "Path '/etc/passwd' does not exist or is not executable (No such file or directory)"),
    ('"x', "Path '\"x' does not exist or is not executable (No such file or directory)"),
    ("", "Empty command (No such file or directory)"),
])
def test_a_command_that_cannot_run_fails_before_attaching(command: str, message: str) -> None:
    result = run("-e", "tracepoint:syscalls:sys_enter_getpid { }", "-c", command)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"ERROR: Failed to fork child: {message}\n"


def test_a_pid_that_does_not_exist_is_an_error() -> None:
    pid = next(p for p in range(0x3FFFFF, 1, -1) if not os.path.exists(f"/proc/{p}"))  # the highest free pid
    result = run("-e", "tracepoint:syscalls:sys_enter_getpid { }", "-p", str(pid))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "ERROR: Failed to attach to pid: Unable to open pidfd (No such process)\n"


def test_ctrl_c_while_modules_import_exits_130_quietly(tmp_path: Any) -> None:
    """The first import of the command line (argparse) is interrupted, as a very early Ctrl-C would."""
    (tmp_path / "argparse.py").write_text("raise KeyboardInterrupt\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = run("-e", "BEGIN { exit(); }", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (130, "", "")


def _pending(signum: int) -> Callable[[], None]:
    """A preexec function: ``signum`` blocked and raised, so it is pending when the tracer starts (a blocked
    mask and pending signals survive exec) — the signal that comes before any handler exists."""
    def preexec() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
        os.kill(os.getpid(), signum)
    return preexec


@pytest.mark.kernel
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_before_the_handlers_is_not_lost(signum: int) -> None:
    """Many probes; the signal stops the attaching at once, END runs, the maps print, exit 0."""
    script = 'tracepoint:syscalls:sys_enter_* { @ = count(); } END { printf("end\\n"); }'
    result = run("-e", script, preexec_fn=_pending(signum))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("end\n")
    assert "Attached" not in result.stderr


@contextmanager
def _traced_child(script: str, command: str = "sleep 600") -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The tracer running ``script`` with ``-c COMMAND``, once attached; yields it and the child's pid
    (the script's BEGIN prints ``cpid``)."""
    env = {**os.environ, NOTIFY_ENV: "1"}
    tracer = subprocess.Popen([*TRACE, "-e", 'BEGIN { printf("%d\\n", cpid); } ' + script, "-c", command],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert tracer.stdout is not None
        assert tracer.stdout.readline() == NOTIFY_ENV + "\n"
        yield tracer, int(tracer.stdout.readline())
    finally:
        if tracer.poll() is None:
            tracer.kill()
        tracer.communicate(timeout=TIMEOUT)


def _exited(pid: int) -> bool:
    """Whether ``pid`` ends (or has ended) within the liveness bound; a zombie has ended."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(TIMEOUT * 1000))
    finally:
        os.close(fd)


@pytest.mark.kernel
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_the_tracer_while_the_child_runs(signum: int) -> None:
    with _traced_child('tracepoint:syscalls:sys_enter_getpid { @ = count(); } END { printf("end\\n"); }') \
            as (tracer, child):
        tracer.send_signal(signum)
        out, err = tracer.communicate(timeout=TIMEOUT)
        assert tracer.returncode == 0, err
        assert out.startswith("end\n")
        assert _exited(child)


@pytest.mark.kernel
def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Any) -> None:
    stubborn = tmp_path / "stubborn.sh"
    stubborn.write_text("#!/bin/sh\ntrap '' TERM\nexec sleep 600\n")  # sleep inherits the ignored SIGTERM
    stubborn.chmod(0o755)
    with _traced_child("tracepoint:syscalls:sys_enter_getpid { }", str(stubborn)) as (tracer, child):
        for _ in range(TIMEOUT * 100):  # the trap is set once the shell has become sleep
            if _comm(child) == "sleep":
                break
            select.select([], [], [], 0.01)
        tracer.send_signal(signal.SIGINT)
        tracer.communicate(timeout=TIMEOUT)
        assert tracer.returncode == 0
        assert _exited(child)


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


@pytest.mark.kernel
def test_a_killed_tracer_takes_its_child_along() -> None:
    with _traced_child("tracepoint:syscalls:sys_enter_getpid { }") as (tracer, child):
        tracer.kill()
        tracer.wait(timeout=TIMEOUT)
        assert _exited(child)


@pytest.mark.kernel
def test_a_closed_pipe_ends_the_trace_quietly() -> None:
    tracer = subprocess.Popen([*TRACE, "-e", 'interval:ms:1 { printf("line\\n"); }'], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert tracer.stdout is not None and tracer.stderr is not None
    assert tracer.stdout.readline() == "line\n"
    tracer.stdout.close()  # `| head -1`
    assert tracer.wait(timeout=TIMEOUT) == 141
    assert tracer.stderr.read() == "Attached 1 probe\n"
    tracer.stderr.close()


@pytest.mark.kernel
def test_dry_run_loads_the_programs() -> None:
    """A program the verifier rejects fails a dry run as it fails a real one; a valid one leaves nothing."""
    rejected = run("--dry-run", "-e", "BEGIN { while (1) { } }")
    assert rejected.returncode == 1
    assert "BPF_PROG_LOAD" in rejected.stderr or "verifier" in rejected.stderr
    accepted = run("--dry-run", "-e", 'BEGIN { printf("x\\n"); } tracepoint:syscalls:sys_enter_getpid { @ = count(); }')
    assert (accepted.returncode, accepted.stdout, accepted.stderr) == (0, "", "")
