"""bpftrace's helper functions run for real: strings, stacks, symbols, buffers, user-space events."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def trace(program: str, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, "-q", *flags, "-e", program], capture_output=True, text=True, timeout=60,
                          check=False, env=dict(os.environ, **(env or {})))


def lines(program: str, *flags: str) -> list[str]:
    result = trace(program, *flags)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(("haystack", "needle", "expected"), [
    ("hello-test-world", "test", "true"), ("hello-test-world", "world", "true"), ("abc", "", "true"),
    ("", "a", "false"), ("abc", "abcd", "false"), ("Hello", "hello", "false"), ("", "", "true"),
])
def test_strcontains_literals(haystack: str, needle: str, expected: str) -> None:
    assert lines(f'BEGIN {{ print(strcontains("{haystack}", "{needle}")); exit(); }}') == [expected]


def test_strcontains_variables() -> None:
    program = 'BEGIN { $h = "xxhello"; $n = "llo"; $m = "lol"; print(strcontains($h, $n)); ' \
              'print(strcontains($h, $m)); exit(); }'
    assert lines(program) == ["true", "false"]


def test_bswap_widths() -> None:
    program = 'BEGIN { printf("%x %x %llx\\n", bswap((uint16)0x1234), bswap((int32)0x12345678), ' \
              'bswap((uint64)0x1122334455667788)); exit(); }'
    assert lines(program) == ["3412 78563412 8877665544332211"]


def test_nsecs_with_clocks() -> None:
    values = lines('BEGIN { printf("%llu %llu %llu\\n", nsecs(), nsecs(monotonic), nsecs(boot)); exit(); }')
    assert all(int(v) > 0 for v in values[0].split())


def test_strftime_formats_in_user_space() -> None:
    import re

    out = lines('BEGIN { printf("%s\\n", strftime("%m/%d/%y", nsecs)); exit(); }')
    assert re.fullmatch(r"\d\d/\d\d/\d\d", out[0])


def test_delete_with_key_argument_and_has_key() -> None:
    out = lines('BEGIN { @[1] = 1; @[2] = 2; delete(@, 1); printf("%d %d\\n", has_key(@, 2), has_key(@, 1)); '
                'exit(); }')
    assert out == ["1 0", "@[2]: 2"]


def test_kaddr_and_ksym_round_trip() -> None:
    assert lines('BEGIN { printf("%s\\n", ksym(kaddr("do_nanosleep"))); exit(); }') == ["do_nanosleep"]


def test_buf_prints_escaped_with_r() -> None:
    assert lines('BEGIN { printf("%r|%rx\\n", buf("ok_key", 6), buf("Hi", 2)); exit(); }') == ["ok_key|\\x48\\x69"]


def test_ntop_ipv4() -> None:
    assert lines('BEGIN { printf("%s\\n", ntop(0x0100007f)); exit(); }') == ["127.0.0.1"]


def test_username_builtin() -> None:
    import pwd

    assert lines("BEGIN { print(username); exit(); }") == [pwd.getpwuid(os.getuid()).pw_name]


def test_cat_prints_a_file_and_reports_a_missing_one() -> None:
    result = trace('BEGIN { cat("/proc/%s", "loadavg"); cat("/does/not/exist"); exit(); }')
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) >= 3
    assert "ERROR: failed to open file '/does/not/exist' (No such file or directory)" in result.stderr


def test_cat_honours_max_cat_bytes() -> None:
    result = trace('BEGIN { cat("/proc/loadavg"); exit(); }', env={"BPFTRACE_MAX_CAT_BYTES": "1"})
    assert result.stdout.strip().isdigit() and len(result.stdout.strip()) == 1


def test_system_needs_unsafe() -> None:
    result = trace('BEGIN { system("echo hi %d", 5); exit(); }')
    assert result.returncode == 1
    assert "system() is an unsafe function being used in safe mode" in result.stderr
    assert lines('BEGIN { system("echo hi %d", 5); exit(); }', "--unsafe") == ["hi 5"]


def test_errorf_and_warnf_carry_the_location() -> None:
    result = trace('BEGIN { errorf("bad %d", 1); warnf("meh %s", "x"); exit(); }')
    assert "stdin:1:9-28: ERROR: bad 1" in result.stderr
    assert "stdin:1:30-50: WARNING: meh x" in result.stderr
    quiet = trace('BEGIN { warnf("meh"); exit(); }', "--no-warnings")
    assert "meh" not in quiet.stderr


def test_kernel_and_user_stacks_symbolise() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.01)"])
    program = ('tracepoint:syscalls:sys_enter_clock_nanosleep /pid == $1/ { @k[kstack(3)] = count(); '
               '@u[ustack(perf, 2)] = count(); exit(); }')
    try:
        result = subprocess.run([*TRACE, "-q", "-e", program, str(sleeper.pid)], capture_output=True, text=True,
                                timeout=60, check=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "@k[\n        " in out
    assert "syscall" in out
    assert "clock_nanosleep" in out  # libc's frame, resolved through the live process's mappings


def test_stack_mode_raw_from_config() -> None:
    program = ('config = { stack_mode=raw } tracepoint:syscalls:sys_enter_clock_nanosleep /comm == "sleep"/ '
               '{ printf("%s", kstack(1)); exit(); }')
    proc = subprocess.Popen([*TRACE, "-q", "-e", program], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1"))
    assert proc.stdout is not None
    proc.stdout.readline()
    subprocess.run(["sleep", "0.01"], check=True)
    out, _ = proc.communicate(timeout=30)
    frames = [line for line in out.splitlines() if line.strip()]
    assert len(frames) == 1 and int(frames[0], 16) > 0


def test_rawtracepoint_arguments() -> None:
    # one single-threaded process: its next system call starts after exit() has stopped the probe, so
    # exactly one line prints (system-wide, two CPUs could both print before either exits)
    out = lines('rawtracepoint:sys_exit /pid == cpid/ { printf("%d\\n", arg1 >= 0 || arg1 < 0); exit(); }',
                "-c", "/bin/true")
    assert out == ["1"]


def test_rawtracepoint_wildcard_names_the_probe() -> None:
    out = lines('rt:vmlinu*:sys_exit /pid == cpid/ { printf("%s\\n", probe); exit(); }', "-c", "/bin/true")
    assert out == ["rawtracepoint:vmlinux:sys_exit"]
