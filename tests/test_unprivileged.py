"""Without privileges every command says what it needs (root, CAP_BPF), not a symptom of lacking it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

OBJECTS = Path(__file__).resolve().parent / "data" / "objects"
SRC = str(Path(__file__).resolve().parent.parent / "src")


def unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    """``tinybpf ARGS`` as uid 65534 (dropped from root with setpriv, or as we already are)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is not installed: cannot drop root")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": "/nonexistent"}
    probe = subprocess.run([*prefix, sys.executable, "-c", "import tinybpf"], capture_output=True, env=env,
                           timeout=60, check=False)
    if probe.returncode != 0:
        pytest.skip("uid 65534 cannot run this checkout's Python (its directory is private)")
    return subprocess.run([*prefix, sys.executable, "-m", "tinybpf", *args], capture_output=True, text=True,
                          timeout=60, check=False, env=env)


@pytest.mark.parametrize("args", [("-e", "tracepoint:syscalls:sys_enter_openat { exit(); }"),
                                  ("-e", "BEGIN { exit(); }"), ("-l", "tracepoint:syscalls:*")])
def test_trace_says_it_needs_root(args: tuple[str, ...]) -> None:
    result = unprivileged("trace", *args)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: tinybpf trace needs root: run it as the root user")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["load", "run"])
def test_load_and_run_say_they_need_root_or_cap_bpf(command: str) -> None:
    result = unprivileged(command, str(sorted(OBJECTS.glob("*.bpf.o"))[0]))
    assert result.returncode == 1
    assert f"tinybpf {command} needs root or CAP_BPF" in result.stderr
    assert "Object(" not in result.stderr
