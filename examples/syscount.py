#!/usr/bin/env python3
"""Count system calls per process for a few seconds and print the top ten, like BCC's ``syscount -P``.

A BPF_PROG_TYPE_TRACEPOINT program, written with tinybpf's instruction builder, runs on
``raw_syscalls:sys_enter`` and increments a hash map keyed by the caller's pid (u32 -> u64 count).

    sudo python3 examples/syscount.py [--seconds 5] [--top 10]
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any, Optional

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    atomic_add,
    call,
    exit_,
    ja,
    jmp,
    label,
    ld_map_fd,
    mov64,
    st,
    stx,
)
from tinybpf.errors import TinyBPFError
from tinybpf.kernel.constants import MapType, ProgType, UpdateFlags
from tinybpf.kernel.procfs import process_comm
from tinybpf.links import attach_tracepoint
from tinybpf.maps import Map
from tinybpf.programs import Program

MAX_PROCESSES = 10240


class Stop(Exception):
    """SIGTERM: stop counting, print what was counted, detach."""


def count_by_pid(counts: Map) -> Instructions:
    """counts[pid] += 1, creating the entry with 1 on a process's first syscall."""
    return Instructions([
        call("get_current_pid_tgid"),
        alu64(ALUOp.RSH, R0, 32),                       # r0 = tgid: the process id user space sees
        stx(Size.W, R10, R0, -4),                       # key = pid at fp - 4
        ld_map_fd(R1, counts),
        mov64(R2, R10),
        alu64(ALUOp.ADD, R2, -4),
        call("map_lookup_elem"),
        jmp(JumpOp.JEQ, R0, 0, "first"),
        mov64(R1, 1),
        atomic_add(Size.DW, R0, R1),                    # lock *(u64 *)r0 += 1
        ja("out"),
        label("first"),
        st(Size.DW, R10, -16, 1),                       # value = 1 at fp - 16
        ld_map_fd(R1, counts),
        mov64(R2, R10),
        alu64(ALUOp.ADD, R2, -4),
        mov64(R3, R10),
        alu64(ALUOp.ADD, R3, -16),
        mov64(R4, UpdateFlags.NOEXIST),
        call("map_update_elem"),
        label("out"),
        mov64(R0, 0),
        exit_(),
    ])


def top(counts: Map, n: int) -> list[tuple[int, int]]:
    return sorted(counts.items(), key=lambda item: item[1], reverse=True)[:n]


def run(seconds: float, n: int) -> list[tuple[int, int]]:
    with Map.create(MapType.HASH, 4, 8, MAX_PROCESSES, key=int, value=int, name="syscalls") as counts, \
         Program.load(ProgType.TRACEPOINT, count_by_pid(counts), name="syscount") as prog, \
         attach_tracepoint(prog, "raw_syscalls:sys_enter"):
        try:  # a signal may come as soon as the banner is out
            print(f"Tracing syscalls for {seconds:g} s... Ctrl-C to end early.", flush=True)
            time.sleep(seconds)
        except (KeyboardInterrupt, Stop):
            pass
        return top(counts, n)


def _stop(signum: int, frame: Any) -> None:
    raise Stop


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="how long to count (default 5)")
    parser.add_argument("--top", type=int, default=10, help="how many processes to show (default 10)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("syscount: must run as root (tracepoint programs need CAP_BPF and CAP_PERFMON)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    try:
        rows = run(args.seconds, args.top)
        print(f"{'PID':>7} {'COMM':<16} {'COUNT':>10}")
        for pid, count in rows:
            print(f"{pid:>7} {process_comm(pid) or '[exited]':<16} {count:>10}")
        sys.stdout.flush()
    except (KeyboardInterrupt, Stop):
        return 0
    except BrokenPipeError:  # `| head -1`: the reader is gone, so is the rest of the output, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (TinyBPFError, OSError) as exc:
        print(f"syscount: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
