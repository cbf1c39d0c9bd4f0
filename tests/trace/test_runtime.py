"""The runtime for real: attach, events, signals, -c/-p, output files; nothing may stay attached."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tinybpf.trace.runtime.session import NOTIFY_ENV

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def program_ids() -> set[int]:
    from tinybpf.programs import list_program_ids

    return set(list_program_ids())


def left_loaded(before: set[int], prefixes: tuple[str, ...]) -> list[str]:
    """Names of programs loaded since ``before`` whose names say they are ours."""
    from tinybpf.programs import Program

    names = []
    for prog_id in program_ids() - before:
        try:
            with Program.from_id(prog_id) as program:
                names.append(program.name)
        except Exception:  # gone meanwhile
            continue
    return [name for name in names if name.startswith(prefixes)]


def start(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, **{NOTIFY_ENV: "1"})
    proc = subprocess.Popen([*TRACE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == NOTIFY_ENV + "\n", (line, proc.stderr.read() if proc.stderr else "")
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_runs_end_prints_maps_and_detaches(sig: int) -> None:
    before = program_ids()
    proc = start("-e", "tracepoint:raw_syscalls:sys_enter { @calls = count(); } "
                       "END { printf(\"end\\n\"); }")
    during = program_ids() - before
    assert during, "the probe is loaded while the trace runs"
    os.getppid()
    time.sleep(0.2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("end\n")
    assert "@calls: " in out
    assert not (program_ids() & during), "nothing stays loaded or attached"
    assert "Attached 2 probes" in err


def test_exit_from_interval_probe() -> None:
    out = subprocess.run([*TRACE, "-e", "interval:ms:100 { @ticks = count(); exit(); }"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "@ticks: 1" in out.stdout


def test_pid_filter_ends_with_the_process() -> None:
    worker = subprocess.Popen([sys.executable, "-c", "import os, time\nfor _ in range(30):\n os.getppid()\n "
                                                     "time.sleep(0.05)"])
    try:
        out = subprocess.run([*TRACE, "-p", str(worker.pid), "-e",
                              "tracepoint:raw_syscalls:sys_enter { @[pid] = count(); }"],
                             capture_output=True, text=True, timeout=30)
    finally:
        worker.wait()
    assert out.returncode == 0, out.stderr
    keys = [line.split("]")[0] for line in out.stdout.splitlines() if line.startswith("@[")]
    assert keys == [f"@[{worker.pid}"]


def test_child_command_gets_cpid_and_ends_the_trace() -> None:
    out = subprocess.run([*TRACE, "-c", "/bin/sleep 0.2", "-e",
                          "tracepoint:sched:sched_process_exit /pid == cpid/ { printf(\"bye %d\\n\", cpid > 0); }"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "bye 1"


def test_json_output_and_output_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out.json"
    out = subprocess.run([*TRACE, "-f", "json", "-o", str(target), "-e",
                          'BEGIN { printf("hi\\n"); @a[1] = 2; exit(); }'], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert {"type": "printf", "data": "hi\n"} in lines
    assert {"type": "map", "data": {"@a": {"1": 2}}} in lines


def test_script_errors_exit_1_in_bpftrace_shape() -> None:
    out = subprocess.run([*TRACE, "-e", "BEGIN { foo(); }"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert out.stderr == "stdin:1:9-12: ERROR: Unknown function: foo\nBEGIN { foo(); }\n        ~~~\n"


def test_verifier_rejection_leaves_nothing_loaded() -> None:
    before = program_ids()
    out = subprocess.run([*TRACE, "-e", "BEGIN { @x = 1; } tracepoint:sched:sched_switch { $i = 0; "
                                        "while (1) { $i++; } }"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "ERROR" in out.stderr or "error" in out.stderr
    assert not left_loaded(before, ("BEGIN_", "sched_swit"))


def test_in_process_runtime(capsys) -> None:  # type: ignore[no-untyped-def]
    import io

    from tinybpf.trace.compiler import compile_trace
    from tinybpf.trace.runtime.session import run_trace

    before = program_ids()
    out, err = io.StringIO(), io.StringIO()
    code = run_trace(compile_trace('BEGIN { @s = "abc"; printf("%s-%d\\n", @s, 7); exit(); }'), out, err)
    assert code == 0
    assert out.getvalue() == "abc-7\n\n\n@s: abc\n"
    assert not left_loaded(before, ("BEGIN_",))
