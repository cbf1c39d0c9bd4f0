"""What the tracer refuses before it attaches: too many probes, uprobe targets that are no files to read
symbols from, uprobe offsets inside an instruction; and ``--include``."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
DATA = Path(__file__).parent / "data"
HINT = "Use --unsafe to force attachment. WARNING: This option could lead to data corruption in the target process."


def run(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_more_probes_than_max_probes_are_refused_before_loading() -> None:
    script = "tracepoint:syscalls:sys_enter_getpid, tracepoint:syscalls:sys_enter_getppid { } BEGIN { exit(); }"
    result = run("-e", script, env={"BPFTRACE_MAX_PROBES": "2"})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("ERROR: Can't attach to 3 probes because it exceeds the current limit of 2 probes.\n"
                             "You can increase the limit through the BPFTRACE_MAX_PROBES environment variable, "
                             "but BE CAREFUL since a high number of probes attached can cause your system to "
                             "crash.\n")
    assert run("-e", "config = { max_probes = 2 } " + script).returncode == 1
    assert run("-e", script, env={"BPFTRACE_MAX_PROBES": "3"}).returncode == 0


def test_the_default_limit_is_bpftraces() -> None:
    result = run("-e", "tracepoint:*:* { }")
    assert result.returncode == 1
    assert "exceeds the current limit of 1024 probes" in result.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "/tmp"])
def test_a_uprobe_target_that_is_no_regular_file_is_one_error(target: str) -> None:
    result = run("-e", f"uprobe:{target}:main {{ }}")
    assert result.returncode == 1
    assert f"ERROR: uprobe target file '{target}' does not exist or is not executable\n" in result.stderr


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("gcc") is None or os.uname().machine != "x86_64":
        pytest.skip("needs gcc and x86-64 (the target is x86-64 assembly)")
    binary = tmp_path_factory.mktemp("boundary") / "known"
    subprocess.run(["gcc", "-O1", "-o", str(binary), str(DATA / "boundary_target.c")], check=True)
    return str(binary)


def test_a_uprobe_inside_an_instruction_is_refused(known: str) -> None:
    result = run("-e", f"uprobe:{known}:known+3 {{ }}", "-c", known)
    assert result.returncode == 1
    assert result.stderr == f"ERROR: Could not add uprobe into middle of instruction: {known}:known+3\n{HINT}\n"


def test_a_uprobe_on_the_next_instruction_fires(known: str) -> None:
    result = run("-q", "-e", f'uprobe:{known}:known+10 {{ printf("ret\\n"); exit(); }}', "-c", known)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ret\n")


def test_unsafe_lets_an_unaligned_uprobe_through(known: str) -> None:
    result = run("--unsafe", "--dry-run", "-e", f"uprobe:{known}:known+3 {{ }}", "-c", known)
    assert result.returncode == 0, result.stderr


def test_include_reads_a_header_of_ones_own_and_checks_the_others(tmp_path: Path) -> None:
    (tmp_path / "mine.h").write_text("#define ANSWER 42\nstruct pair { int a; long b; };\n")
    ok = run("--include", "mine.h", "--include", "sys/syscall.h", "-e",
             'BEGIN { printf("%d %d %d\\n", ANSWER, sizeof(struct pair), __NR_getpid > 0); exit(); }',
             cwd=str(tmp_path))
    assert (ok.returncode, ok.stdout.splitlines()[0]) == (0, "42 16 1"), ok.stderr
    missing = run("--include", "nothere.h", "-e", "BEGIN { exit(); }", cwd=str(tmp_path))
    assert missing.returncode == 1
    assert "fatal error: 'nothere.h' file not found" in missing.stderr
