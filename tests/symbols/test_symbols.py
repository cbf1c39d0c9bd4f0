"""Kernel and user stacks from bpf_get_stackid name the functions that were running."""
from __future__ import annotations

import ctypes
import os
import shutil
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
    R7,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    call,
    exit_,
    jmp,
    label,
    ld_map_fd,
    mov64,
    st,
    stx,
)
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.links import attach_tracepoint, attach_uprobe
from tinybpf.maps import Map
from tinybpf.programs import Program
from tinybpf.symbols import (
    BPF_F_USER_STACK,
    Frame,
    KernelSymbols,
    ProcessSymbols,
    StackTraces,
    kernel_symbols,
)

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long leaf(long a) { return a * 3; }
__attribute__((noinline)) long middle(long a) { return leaf(a) + 1; }
int main(void) {
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 1;
    printf("%ld\n", middle(7));
    fflush(stdout);
    return fgets(line, sizeof line, stdin) ? 0 : 2;  /* stay alive until told, so maps can be read */
}
"""


def save_stack_id(stacks: Map, ids: Map, flags: int, pid: int) -> Instructions:
    """ids[0] = bpf_get_stackid(ctx, stacks, flags) when the current process is ``pid``."""
    return Instructions([
        mov64(R6, R1),
        call("get_current_pid_tgid"), alu64(ALUOp.RSH, R0, 32), jmp(JumpOp.JNE, R0, pid, "out"),
        mov64(R1, R6), ld_map_fd(R2, stacks), mov64(R3, flags), call("get_stackid"), mov64(R7, R0),
        st(Size.W, R10, -4, 0), stx(Size.DW, R10, R7, -16),
        ld_map_fd(R1, ids), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), mov64(R3, R10), alu64(ALUOp.ADD, R3, -16),
        mov64(R4, 0), call("map_update_elem"),
        label("out"), mov64(R0, 0), exit_(),
    ])


def kallsyms_names_at() -> dict[int, set[str]]:
    names: dict[int, set[str]] = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            address, _, name = line.split()[:3]
            names.setdefault(int(address, 16), set()).add(name)
    return names


def test_kernel_symbols_bisect_between_symbols() -> None:
    symbols = KernelSymbols([0x3000, 0x1000, 0x2000], ["c", "a", "b"], ["", "", "mod"])
    assert symbols.format(0x1000) == "a+0x0"
    assert symbols.format(0x2fff) == "b+0xfff [mod]"
    assert symbols.format(0x10) == "0x10"
    assert symbols.resolve(0x3004) == Frame(0x3004, "c", 4, "")
    assert symbols.address("b") == 0x2000


def test_process_symbols_name_a_libc_function_in_this_process() -> None:
    address = ctypes.cast(ctypes.CDLL(None).getpid, ctypes.c_void_p).value
    assert address is not None
    with ProcessSymbols(os.getpid()) as symbols:
        frame = symbols.resolve(address + 1)
    assert frame.symbol.endswith("getpid") and frame.offset == 1
    assert "libc" in frame.module


@pytest.mark.kernel
def test_kernel_stack_of_a_syscall_names_kallsyms_functions() -> None:
    code = "import os, sys\nsys.stdin.readline()\nos.getppid()\n"
    with Map.create(MapType.STACK_TRACE, 4, 127 * 8, 64) as stacks, \
         Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as ids:
        ids[0] = -1 & (2**64 - 1)
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
        with Program.load(ProgType.TRACEPOINT, save_stack_id(stacks, ids, 0, child.pid), name="tt_kstack") as prog, \
             attach_tracepoint(prog, "syscalls:sys_enter_getppid"):
            child.communicate(b"go\n", timeout=30)
        stack_id = ids[0]
        assert stack_id < 2**63, "bpf_get_stackid failed"
        frames = StackTraces(stacks).kernel_stack(stack_id)
    assert len(frames) >= 3
    names_at = kallsyms_names_at()
    for frame in frames:
        assert frame.symbol in names_at[frame.address - frame.offset]
    names = [frame.symbol for frame in frames]
    assert any(name in ("do_syscall_64", "x64_sys_call", "el0_svc", "invoke_syscall") for name in names), names


@pytest.mark.kernel
def test_user_stack_in_a_built_binary_names_leaf_middle_main(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the probed binary")
    (tmp_path / "stack.c").write_text(SOURCE)
    binary = tmp_path / "stack"
    subprocess.run(["gcc", "-O0", "-fno-omit-frame-pointer", "-o", str(binary), str(tmp_path / "stack.c")],
                   check=True)
    with Map.create(MapType.STACK_TRACE, 4, 127 * 8, 64) as stacks, \
         Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as ids:
        child = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            with Program.load(ProgType.KPROBE, save_stack_id(stacks, ids, BPF_F_USER_STACK, child.pid),
                              name="tt_ustack") as prog, \
                 attach_uprobe(prog, str(binary), "leaf", pid=child.pid):
                assert child.stdin is not None and child.stdout is not None
                child.stdin.write(b"go\n")
                child.stdin.flush()
                assert child.stdout.readline() == b"22\n"
            with StackTraces(stacks) as traces:
                frames = traces.user_stack(ids[0], child.pid)
        finally:
            child.communicate(b"done\n", timeout=30)
    names = [frame.symbol for frame in frames]
    assert names[:3] == ["leaf", "middle", "main"], [str(f) for f in frames]
    assert frames[0].module.endswith("/stack") and frames[0].offset == 0


def test_kernel_symbols_are_cached() -> None:
    if not kernel_symbols().visible:
        pytest.skip("kptr_restrict hides kernel addresses from this user")
    assert kernel_symbols() is kernel_symbols()


