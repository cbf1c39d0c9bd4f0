"""Watchpoints: a hardware breakpoint on a variable of a test process fires on every write to it."""
from __future__ import annotations

import platform
import subprocess
from pathlib import Path

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
    mov64,
    st,
)
from tinybpf.errors import NotSupported, TinyBPFError
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.links.watchpoint import BreakpointType, attach_watchpoint, breakpoint_type
from tinybpf.maps import Map
from tinybpf.programs import Program

BINARY = Path(__file__).resolve().parent.parent / "data" / "usdt" / "usdt_target"


def count_program(counter: Map) -> Instructions:
    return Instructions([
        st(Size.W, R10, -4, 0), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), ld_map_fd(R1, counter),
        call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "out"), mov64(R1, 1), atomic_add(Size.DW, R0, R1),
        label("out"), mov64(R0, 0), exit_(),
    ])


def test_modes_follow_bpftrace() -> None:
    assert breakpoint_type("w") == BreakpointType.W
    assert breakpoint_type("wr") == BreakpointType.RW
    assert breakpoint_type("x") == BreakpointType.X
    for bad in ("", "q", "ww"):
        with pytest.raises(TinyBPFError, match="watchpoint mode"):
            breakpoint_type(bad)
    with pytest.raises(TinyBPFError, match="invalid watchpoint mode: wx"):
        breakpoint_type("xw")


@pytest.mark.kernel
def test_watchpoint_counts_writes_to_a_variable() -> None:
    if platform.machine() != "x86_64":
        pytest.skip("the committed test binary is x86_64")
    iterations = 64
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.PERF_EVENT, count_program(counter), name="tt_watchpoint") as prog:
        child = subprocess.Popen([str(BINARY), str(iterations)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        try:
            assert child.stdout is not None and child.stdin is not None
            watched = int(child.stdout.readline().split()[0], 16)
            try:
                link = attach_watchpoint(prog, watched, 8, "w", pid=child.pid)
            except NotSupported as exc:
                pytest.skip(f"the breakpoint PMU refuses: {exc}")
            with link:
                child.stdin.write("go\n")
                child.stdin.flush()
                child.stdout.readline()
            child.communicate("bye\n", timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
        assert counter[0] == iterations


@pytest.mark.kernel
def test_bad_watchpoints_are_clear_errors() -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.PERF_EVENT, count_program(counter), name="tt_watchpoint_bad") as prog:
        with pytest.raises(TinyBPFError, match="non-zero address"):
            attach_watchpoint(prog, 0, 8, "w", pid=1)
        with pytest.raises(TinyBPFError, match="length 3"):
            attach_watchpoint(prog, 0x1000, 3, "w", pid=1)
