"""The examples run for real, print what they promise, and leave nothing attached when stopped."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinybpf.programs import Program, list_program_ids

pytestmark = pytest.mark.kernel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNT_LINE = re.compile(r"^TCP \d+ UDP \d+ ICMP \d+ bytes$")


def example(name: str, *args: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / name), *args]


def programs_named(name: str) -> set[int]:
    found = set()
    for prog_id in list_program_ids():
        try:
            with Program.from_id(prog_id) as prog:
                if prog.info().name == name:
                    found.add(prog_id)
        except Exception:  # unloaded meanwhile
            continue
    return found


def assert_unloaded(name: str) -> None:
    deadline = time.monotonic() + 30  # a liveness bound: RCU frees programs late on a busy machine
    while programs_named(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not programs_named(name), f"{name} is still loaded"


def test_sock_example_counts_its_own_pings() -> None:
    if shutil.which("ping") is None:
        pytest.skip("ping is not installed")
    done = subprocess.run(example("sock_example.py", "--seconds", "2"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(COUNT_LINE.match(line) for line in lines), lines
    icmp = int(lines[-1].split()[5])
    assert icmp >= 5 * 4 * 98  # 5 pings: request and reply, each seen leaving and arriving on lo
    assert_unloaded("sock_example")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sock_example_cleans_up_on_signals(signum: int) -> None:
    process = subprocess.Popen(example("sock_example.py", "--seconds", "60"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert COUNT_LINE.match(first.strip()), first
    assert programs_named("sock_example")
    process.send_signal(signum)
    _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err
    assert_unloaded("sock_example")


def test_syscount_counts_every_call_of_a_process() -> None:
    """A process makes a known number of system calls while syscount runs; it is listed with at least that
    many, whatever else the machine does meanwhile (every process is listed: --top covers them all)."""
    calls = 20_000
    process = subprocess.Popen(example("syscount.py", "--seconds", "600", "--top", "100000"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().startswith("Tracing syscalls")
    busy = subprocess.run([sys.executable, "-c", f"import os\nfor _ in range({calls}): os.getppid()\nprint(os.getpid())"],
                          capture_output=True, text=True, check=True, timeout=60)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["PID", "COMM", "COUNT"]
    counts = {int(row.split()[0]): int(row.split()[-1]) for row in lines[1:]}
    assert counts[int(busy.stdout)] >= calls
    assert_unloaded("syscount")


def test_syscount_ends_quietly_on_a_closed_pipe() -> None:
    process = subprocess.Popen(example("syscount.py", "--seconds", "1"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("Tracing syscalls")
    process.stdout.close()  # `| head -1`
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == ""
    process.stderr.close()
    assert_unloaded("syscount")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_syscount_prints_and_detaches_on_signals(signum: int) -> None:
    process = subprocess.Popen(example("syscount.py", "--seconds", "60"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().startswith("Tracing syscalls")
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[0].split() == ["PID", "COMM", "COUNT"]
    assert_unloaded("syscount")


@pytest.mark.parametrize("name", ["sock_example.py", "syscount.py"])
def test_examples_say_one_line_when_not_root(name: str) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to drop root")
    done = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                           *example(name, "--seconds", "1")], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(EXAMPLES.parent / "src")})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "must run as root" in done.stderr, done.stderr


def test_sock_example_failure_is_one_line() -> None:
    done = subprocess.run(example("sock_example.py", "--interface", "tt_nosuch0"), capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr == "sock_example: tt_nosuch0: No such device\n"
