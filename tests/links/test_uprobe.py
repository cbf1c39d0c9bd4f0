"""Uprobes and uretprobes on a binary built here see every call's arguments and return value."""
from __future__ import annotations

import os
import platform
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
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
    st,
    stx,
)
from tinybpf.errors import TinyBPFError
from tinybpf.events import RingBuffer
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.links import attach_uprobe, attach_uretprobe
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel

# struct pt_regs offsets of the first two arguments and the return value
PT_REGS = {"x86_64": (112, 104, 80), "aarch64": (0, 8, 0)}

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long leaf(long a, long b) { return a * b + 1; }
__attribute__((noinline)) long middle(long a) { return leaf(a, a + 1) * 1; }
int main(int argc, char **argv) {
    char line[8];
    long sum = 0, n = atol(argv[1]);
    if (!fgets(line, sizeof line, stdin)) return 1;
    for (long i = 0; i < n; i++) sum += middle(i);
    printf("%ld\n", sum);
    return 0;
}
"""


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if platform.machine() not in PT_REGS:
        pytest.skip(f"pt_regs layout unknown on {platform.machine()}")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the probed binary")
    directory = tmp_path_factory.mktemp("uprobe")
    (directory / "target.c").write_text(SOURCE)
    out = directory / "target"
    subprocess.run(["gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-o", str(out), str(directory / "target.c")],
                   check=True)
    return out


def emit(ring: Map, kind: int, first: int, second: int = -1) -> Instructions:
    """ringbuf_output {u64 kind; u64 x; u64 y} with x, y read from the pt_regs offsets given."""
    insns = [mov64(R6, R1), st(Size.DW, R10, -24, kind), ldx(Size.DW, R1, R6, first), stx(Size.DW, R10, R1, -16)]
    if second >= 0:
        insns += [ldx(Size.DW, R1, R6, second), stx(Size.DW, R10, R1, -8)]
    else:
        insns += [st(Size.DW, R10, -8, 0)]
    insns += [
        ld_map_fd(R1, ring), mov64(R2, R10), alu64(ALUOp.ADD, R2, -24), mov64(R3, 24), mov64(R4, 0),
        call("ringbuf_output"), mov64(R0, 0), exit_(),
    ]
    return Instructions(insns)


def run(path: Path, calls: int) -> subprocess.Popen:
    return subprocess.Popen([str(path), str(calls)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def collect(ring: RingBuffer) -> list[tuple[int, int, int]]:
    return [struct.unpack("<QQQ", record) for record in ring.records(timeout=0.5)]


def test_uprobe_and_uretprobe_see_arguments_and_return_values(binary: Path) -> None:
    arg0, arg1, ret = PT_REGS[platform.machine()]
    calls = 200
    with Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ringmap, \
         Program.load(ProgType.KPROBE, emit(ringmap, 1, arg0, arg1), name="tt_uprobe") as entry, \
         Program.load(ProgType.KPROBE, emit(ringmap, 2, ret), name="tt_uretprobe") as exit_prog, \
         RingBuffer(ringmap) as ring:
        child = run(binary, calls)
        with attach_uprobe(entry, str(binary), "leaf", pid=child.pid), \
             attach_uretprobe(exit_prog, str(binary), "leaf", pid=child.pid):
            out, _ = child.communicate(b"go\n", timeout=30)
        records = collect(ring)
    expected = []
    for i in range(calls):
        expected += [(1, i, i + 1), (2, i * (i + 1) + 1, 0)]
    assert records == expected
    assert int(out) == sum(i * (i + 1) + 1 for i in range(calls))


def test_uprobe_without_pid_sees_every_process(binary: Path) -> None:
    arg0, arg1, _ = PT_REGS[platform.machine()]
    with Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ringmap, \
         Program.load(ProgType.KPROBE, emit(ringmap, 1, arg0, arg1), name="tt_uprobe_all") as prog, \
         RingBuffer(ringmap) as ring, \
         attach_uprobe(prog, str(binary), "leaf") as link:
        assert "leaf" in link.target
        children = [run(binary, 3), run(binary, 4)]
        for child in children:
            child.communicate(b"go\n", timeout=30)
        records = collect(ring)
    assert len(records) == 7


def count_program(counter: Map) -> Instructions:
    return Instructions([
        st(Size.W, R10, -4, 0), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), ld_map_fd(R1, counter),
        call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "out"), mov64(R1, 1), atomic_add(Size.DW, R0, R1),
        label("out"), mov64(R0, 0), exit_(),
    ])


def test_uprobe_on_a_library_by_name_filtered_by_pid() -> None:
    code = "import os, sys\nsys.stdin.readline()\nfor _ in range(321): os.getppid()\n"
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.KPROBE, count_program(counter), name="tt_uprobe_libc") as prog:
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
        busy = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)  # not counted
        try:
            with attach_uprobe(prog, "c", "getppid", pid=child.pid):
                busy.communicate(b"go\n", timeout=30)
                child.communicate(b"go\n", timeout=30)
            assert counter[0] == 321
        finally:
            for process in (child, busy):
                process.kill()
                process.wait()


def test_unknown_symbol_is_a_clear_error(binary: Path) -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1) as counter, \
         Program.load(ProgType.KPROBE, count_program(counter), name="tt_uprobe_bad") as prog, \
         pytest.raises(TinyBPFError, match="no symbol 'no_such_function'"):
        attach_uprobe(prog, str(binary), "no_such_function")


def test_uprobe_by_offset_matches_symbol(binary: Path) -> None:
    from tinybpf.symbols.user import uprobe_offset

    offset = uprobe_offset(str(binary), "leaf")
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.KPROBE, count_program(counter), name="tt_uprobe_off") as prog:
        child = run(binary, 5)
        with attach_uprobe(prog, str(binary), offset=offset, pid=child.pid):
            child.communicate(b"go\n", timeout=30)
        assert counter[0] == 5
    assert os.path.exists(binary)
