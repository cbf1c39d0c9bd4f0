"""Tracepoint and raw tracepoint links count exactly the syscalls a known child makes."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    atomic_add,
    call,
    exit_,
    jmp,
    label,
    ld_map_fd,
    ldx,
    mov64,
    stx,
)
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.links import attach_raw_tracepoint, attach_tracepoint
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel

CALLS = 1234
NR_GETPPID = {"x86_64": 110, "aarch64": 173}


def count_for_pid(counter: Map, pid: int, check_syscall: int = -1) -> Instructions:
    """Add 1 to counter[0] when the current process is ``pid`` (and, for raw sys_enter, the syscall matches)."""
    insns: list[Any] = []
    if check_syscall >= 0:  # raw_tracepoint sys_enter: ctx->args[1] is the syscall number
        insns += [ldx(Size.DW, R2, R1, 8), jmp(JumpOp.JNE, R2, check_syscall, "out")]
    insns += [
        call("get_current_pid_tgid"),
        alu64(ALUOp.RSH, R0, 32),
        jmp(JumpOp.JNE, R0, pid, "out"),
        mov64(R1, 0),
        stx(Size.W, R10, R1, -4),
        mov64(R2, R10),
        alu64(ALUOp.ADD, R2, -4),
        ld_map_fd(R1, counter),
        call("map_lookup_elem"),
        jmp(JumpOp.JEQ, R0, 0, "out"),
        mov64(R1, 1),
        atomic_add(Size.DW, R0, R1, 0),
        label("out"),
        mov64(R0, 0),
        exit_(),
    ]
    return Instructions(insns)


def spawn_caller(calls: int) -> subprocess.Popen:
    """A child that waits for a line on stdin, then calls getppid() ``calls`` times."""
    code = f"import os, sys\nsys.stdin.readline()\nfor _ in range({calls}): os.getppid()\n"
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)


def run_child(calls: int, attach) -> int:  # type: ignore[no-untyped-def]
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter:
        child = spawn_caller(calls)
        try:
            with attach(counter, child.pid):
                child.communicate(b"go\n", timeout=30)
            return int(counter[0])
        finally:
            child.kill()
            child.wait()


def test_tracepoint_counts_every_getppid_of_a_child() -> None:
    def attach(counter: Map, pid: int):  # type: ignore[no-untyped-def]
        prog = Program.load(ProgType.TRACEPOINT, count_for_pid(counter, pid), name="tt_tp_count")
        link = attach_tracepoint(prog, "syscalls:sys_enter_getppid")
        prog.close()  # the link keeps the program alive
        return link

    assert run_child(CALLS, attach) == CALLS


def test_raw_tracepoint_counts_every_getppid_of_a_child() -> None:
    import platform

    nr = NR_GETPPID.get(platform.machine())
    if nr is None:
        pytest.skip(f"getppid syscall number unknown on {platform.machine()}")

    def attach(counter: Map, pid: int):  # type: ignore[no-untyped-def]
        prog = Program.load(ProgType.RAW_TRACEPOINT, count_for_pid(counter, pid, nr), name="tt_rawtp_count")
        link = attach_raw_tracepoint(prog, "sys_enter")
        prog.close()
        return link

    assert run_child(CALLS, attach) == CALLS


def test_closed_tracepoint_link_stops_counting() -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter:
        child = spawn_caller(CALLS)
        with Program.load(ProgType.TRACEPOINT, count_for_pid(counter, child.pid), name="tt_tp_closed") as prog:
            link = attach_tracepoint(prog, "syscalls/sys_enter_getppid")
            assert "attached" in repr(link)
            link.close()
            link.close()  # idempotent
            assert link.closed
            child.communicate(b"go\n", timeout=30)
        assert counter[0] == 0


def test_tracepoint_link_is_a_bpf_link_on_this_kernel() -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.TRACEPOINT, count_for_pid(counter, 1), name="tt_tp_kind") as prog, \
         attach_tracepoint(prog, "raw_syscalls:sys_enter") as link:
        assert link.bpf_link
        assert len(link.fds) == 2


def test_unknown_tracepoint_is_a_clear_error() -> None:
    from tinybpf.errors import TinyBPFError

    with Map.create(MapType.ARRAY, 4, 8, 1) as counter, \
         Program.load(ProgType.TRACEPOINT, count_for_pid(counter, 1), name="tt_tp_unknown") as prog, \
         pytest.raises(TinyBPFError, match="no tracepoint nosuch:event"):
        attach_tracepoint(prog, "nosuch:event")


