"""What issue 16 accepts, checked inside the 32-bit ARM guest (collected only when named: ``guest_*.py``).

Run by ``test_armhf.py`` through ``tools/armhf/guest.py`` on both guest kernels, with the JIT on. Each test runs
the ``tinybpf`` command the way a user on a board would, so the whole stack (syscall numbers, attr layouts,
ring buffer positions, pt_regs, ELF32 symbols) is exercised on the real 32-bit kernel.
"""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.kernel.btf_files import VMLINUX_BTF

pytestmark = pytest.mark.kernel

TARGET = Path(__file__).resolve().parent / "data" / "uprobe_target"
HAS_BTF = os.path.exists(VMLINUX_BTF)


def trace(program: str, *flags: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinybpf", "trace", *flags, "-e", program],
                          capture_output=True, text=True, timeout=timeout)


def test_this_is_a_32_bit_arm_process_with_the_jit_on() -> None:
    assert os.uname().machine.startswith("arm") and ctypes.sizeof(ctypes.c_void_p) == 4
    assert Path("/proc/sys/net/core/bpf_jit_enable").read_text().strip() == "1"


def test_a_script_that_prints_ends() -> None:
    """The ring buffer consumer used to read the 32-bit producer_pos with pending_pos as one u64 and spin."""
    done = trace('BEGIN { printf("hi %d\\n", 42); exit(); }', timeout=300)
    assert done.returncode == 0, done.stderr
    assert "hi 42" in done.stdout.splitlines()


def test_seed_one_liner_counts_a_known_child() -> None:
    """``dd bs=1 count=2000`` makes at least 2000 reads and 2000 writes: its count is at least 4000."""
    done = trace("tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[pid, comm] = count(); }",
                 "-c", "dd if=/dev/zero of=/dev/null bs=1 count=2000 status=none")
    assert done.returncode == 0, done.stderr
    counts = re.findall(r"^@\[(\d+), dd\]: (\d+)$", done.stdout, re.M)
    assert len(counts) == 1, done.stdout
    assert 4000 <= int(counts[0][1]) < 4200, done.stdout


def test_seed_one_liner_counts_every_process() -> None:
    done = trace("tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }", "-c", "/bin/true")
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^@\[(\d+), (.+)\]: (\d+)$", done.stdout, re.M)
    assert any(comm == "true" and int(n) > 10 for _, comm, n in rows), done.stdout


def test_uprobe_and_uretprobe_on_an_arm_function() -> None:
    program = (f'uprobe:{TARGET}:arm_add {{ printf("args %d %d\\n", arg0, arg1); }} '
               f'uretprobe:{TARGET}:arm_add {{ printf("ret %d\\n", retval); }}')
    done = trace(program, "-c", f"{TARGET} 7 8")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "args 7 8" in lines and "ret 15" in lines, done.stdout


def test_a_uprobe_on_a_thumb_function_is_refused_in_one_line() -> None:
    """arch/arm's uprobes decode ARM instructions only: planting one in Thumb code would corrupt it."""
    done = trace(f'uprobe:{TARGET}:thumb_mul {{ printf("%d\\n", arg0); }}', "-c", f"{TARGET} 7 8")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Thumb function 'thumb_mul'" in done.stderr.strip().splitlines()[-1], done.stderr


def test_usdt_arguments_in_arm32_operands() -> None:
    done = trace(f'usdt:{TARGET}:tinybpf:pair {{ printf("usdt %d %d\\n", arg0, arg1); }}', "-c", f"{TARGET} -3 9")
    assert done.returncode == 0, done.stderr
    assert "usdt -3 9" in done.stdout.splitlines(), done.stdout


def test_reg_reads_arm_registers() -> None:
    done = trace(f'uprobe:{TARGET}:arm_add {{ printf("%d %d\\n", reg("r0"), reg("r1")); }}', "-c", f"{TARGET} 5 6")
    assert done.returncode == 0, done.stderr
    assert "5 6" in done.stdout.splitlines()


def test_arguments_past_r3_are_a_clear_error() -> None:
    done = trace(f'uprobe:{TARGET}:arm_add {{ printf("%d\\n", arg4); }}', "--dry-run")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "arg4 is not passed in a register" in done.stderr


def test_kprobe_and_kretprobe_one_liner() -> None:
    done = trace('kprobe:do_sys_openat2 /pid == cpid/ { @opens = count(); } '
                 'kretprobe:do_sys_openat2 /pid == cpid/ { printf("fd %d\\n", retval); }',
                 "-c", "cat /etc/hostname")
    assert done.returncode == 0, done.stderr
    opens = re.search(r"^@opens: (\d+)$", done.stdout, re.M)
    assert opens and int(opens.group(1)) >= 1, done.stdout
    assert any(0 <= int(fd) < 1024 for fd in re.findall(r"^fd (-?\d+)$", done.stdout, re.M)), done.stdout


def test_kprobe_arguments() -> None:
    """do_sys_openat2(int dfd, ...): cat opens relative to the working directory, dfd AT_FDCWD (-100) in r0."""
    done = trace('kprobe:do_sys_openat2 /pid == cpid/ { printf("dfd %d\\n", (int32)arg0); }', "-c", "cat /etc/hostname")
    assert done.returncode == 0, done.stderr
    assert "dfd -100" in done.stdout.splitlines(), done.stdout


@pytest.mark.skipif(HAS_BTF, reason="this guest kernel has BTF")
def test_without_btf_curtask_names_the_missing_btf() -> None:
    done = trace('BEGIN { printf("%d\\n", curtask->pid); exit(); }')
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert "needs the kernel's BTF" in first and "--btf FILE" in first, done.stderr


@pytest.mark.skipif(not HAS_BTF, reason="this guest kernel has no BTF (CONFIG_DEBUG_INFO_BTF unset)")
def test_with_btf_curtask_reads_the_task() -> None:
    done = trace('BEGIN { printf("%d %d\\n", curtask->pid, pid); exit(); }')
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split()[-2:]
    assert first == second
