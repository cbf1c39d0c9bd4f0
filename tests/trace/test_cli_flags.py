"""``tinybpf trace``'s command-line flags, run for real: listing, usage, version, info, filters, dry runs."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_help_prints_usage() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("USAGE:")


def test_unknown_flag_prints_error_and_usage() -> None:
    result = run("-e", "BEGIN { exit(); }", "--aa=20")
    assert result.returncode != 0
    assert "ERROR: unrecognized arguments: --aa=20" in result.stderr
    assert "USAGE:" in result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("bpftrace v")


def test_missing_program_prints_usage() -> None:
    result = run()
    assert result.returncode == 1
    assert "USAGE:" in result.stderr


def test_invalid_output_format() -> None:
    result = run("-f", "yaml", "-e", "BEGIN { exit(); }")
    assert result.returncode == 1
    assert 'Invalid output format "yaml"' in result.stderr


@pytest.mark.kernel
def test_info_reports_features() -> None:
    result = run("--info")
    assert result.returncode == 0
    assert "Loop support: yes" in result.stdout
    assert "kprobe:" in result.stdout


@pytest.mark.kernel  # reads tracefs (root-only) or loads programs
def test_list_tracepoints_with_pattern() -> None:
    result = run("-l", "tracepoint:sched:sched_switch")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["tracepoint:sched:sched_switch"]


@pytest.mark.kernel  # reads tracefs (root-only) or loads programs
def test_list_verbose_shows_fields() -> None:
    result = run("-lv", "tracepoint:sched:sched_switch")
    assert result.returncode == 0
    assert "    pid_t prev_pid" in result.stdout


@pytest.mark.kernel  # reads tracefs (root-only) or loads programs
def test_list_with_program_lists_its_probes() -> None:
    result = run("-l", "-e", "tracepoint:sched:sched_sw* { } BEGIN { }")
    assert result.returncode == 0
    assert "tracepoint:sched:sched_switch" in result.stdout.splitlines()
    assert "BEGIN" not in result.stdout


def test_list_process_probes() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        result = run("-l", "uprobe:*", "-p", str(sleeper.pid))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 0
    assert any(line.startswith(f"uprobe:/proc/{sleeper.pid}/root/") for line in result.stdout.splitlines())


@pytest.mark.kernel
def test_dry_run_prints_nothing() -> None:
    result = run("--dry-run", "-e", 'BEGIN { printf("hello\\n"); @ = 0; }')
    assert result.returncode == 0
    assert "hello" not in result.stdout
    assert "@" not in result.stdout


@pytest.mark.kernel
def test_probe_filter_keeps_matching_probes_and_begin_end() -> None:
    result = run("--probe-filter", ":200", "-e", 'BEGIN { printf("begin\\n"); } '
                 'interval:ms:100 { printf("bad\\n"); exit(); } interval:ms:200 { printf("hit\\n"); exit(); } '
                 'END { printf("end\\n"); }')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["begin", "hit", "end"]


def test_probe_filter_invalid_regex() -> None:
    result = run("--probe-filter", "[invalid", "-e", "interval:ms:100 { exit(); }")
    assert result.returncode != 0
    assert "Invalid --probe-filter regex" in result.stderr


@pytest.mark.kernel
def test_output_file(tmp_path: object) -> None:
    import pathlib

    out = pathlib.Path(str(tmp_path)) / "out.txt"
    result = run("--output", str(out), "-e", 'BEGIN { printf("to file\\n"); exit(); }')
    assert result.returncode == 0, result.stderr
    assert "to file" in out.read_text()


@pytest.mark.kernel
def test_config_block_unknown_option() -> None:
    result = run("-e", "config = { bad_config=raw } BEGIN { }")
    assert result.returncode == 1
    assert "stdin:1:12-26: ERROR: bad_config: not a known configuration option" in result.stderr


@pytest.mark.kernel
def test_config_block_disables_map_printing() -> None:
    result = run("-e", "config = { print_maps_on_exit=0 } BEGIN { @test = 1; exit(); }")
    assert result.returncode == 0, result.stderr
    assert "@test" not in result.stdout


@pytest.mark.kernel
def test_config_max_strlen_truncates() -> None:
    result = run("-e", 'config = { max_strlen=4 } BEGIN { print(str("abcdefgh")); exit(); }')
    assert result.returncode == 0, result.stderr
    assert "abcd.." in result.stdout


@pytest.mark.kernel
def test_missing_probes_warn_skips_the_attach_point() -> None:
    result = run("-e", "config = { missing_probes=warn } tracepoint:syscalls:sys_enter_read,"
                       "tracepoint:nonsense:nonsense { exit(); }")
    assert "WARNING: No matches for tracepoint nonsense:nonsense. Skipping." in result.stderr


def test_missing_tracepoint_is_an_error() -> None:
    result = run("-e", "t:syscalls:nonsense { exit(); }")
    assert result.returncode == 1
    assert "ERROR: No matches for tracepoint syscalls:nonsense." in result.stderr
