#!/usr/bin/env python3
"""Inspection commands against the C tools, same run: ``btf dump`` (raw and C) against bpftool, ``trace -l``
against bpftrace, ``prog dump xlated`` against bpftool.

Each command runs ``-n`` times alternating with its reference; printed are the medians of wall time and of
CPU time (user + system of the child, from wait4), and tinybpf's ratio to the reference. On a shared,
busy machine the CPU time is the steadier number. ``btf dump format c`` is shown cold (cache disabled:
``TINYBPF_NO_CACHE=1``) and warm (the listing kept per kernel, as the raw one is). Python runs with bytecode
caching on (PYTHONDONTWRITEBYTECODE is dropped), as an installed package does. Target (issue 15): within 2x.

    sudo python3 benchmarks/inspection.py [-n 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

SRC = str(Path(__file__).resolve().parent.parent / "src")
TINYBPF = [sys.executable, "-m", "tinybpf"]


def run(cmd: list[str], env: Optional[dict[str, str]] = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime


def compare(label: str, ours: list[str], theirs: Optional[list[str]], runs: int,
            env: Optional[dict[str, str]] = None) -> None:
    mine: list[tuple[float, float]] = []
    ref: list[tuple[float, float]] = []
    for _ in range(runs):
        mine.append(run(ours, env))
        if theirs:
            ref.append(run(theirs))
    wall, cpu = statistics.median(w for w, _ in mine), statistics.median(c for _, c in mine)
    line = f"{label:<34} tinybpf wall {wall:6.3f}s cpu {cpu:6.3f}s"
    if ref:
        ref_wall, ref_cpu = statistics.median(w for w, _ in ref), statistics.median(c for _, c in ref)
        line += (f" | {theirs[0] if theirs else ''} wall {ref_wall:6.3f}s cpu {ref_cpu:6.3f}s"
                 f" | ratio wall {wall / ref_wall:5.2f}x cpu {cpu / max(ref_cpu, 1e-3):5.2f}x")
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=5, help="runs of each command (default 5)")
    args = parser.parse_args()
    # an installed package runs from compiled bytecode: let the source tree keep its .pyc files too
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = SRC
    cold = {**env, "TINYBPF_NO_CACHE": "1"}
    bpftool, bpftrace = shutil.which("bpftool"), shutil.which("bpftrace")
    vmlinux = "/sys/kernel/btf/vmlinux"
    for fmt in ("c", "raw"):  # fill the per-kernel caches once
        run([*TINYBPF, "btf", "dump", "format", fmt], env)
    compare("btf dump (raw, vmlinux, warm)", [*TINYBPF, "btf", "dump", "file", vmlinux],
            [bpftool, "btf", "dump", "file", vmlinux] if bpftool else None, args.n, env)
    compare("btf dump (raw, vmlinux, cold)", [*TINYBPF, "btf", "dump", "file", vmlinux],
            [bpftool, "btf", "dump", "file", vmlinux] if bpftool else None, args.n, cold)
    compare("btf dump format c (warm)", [*TINYBPF, "btf", "dump", "file", vmlinux, "format", "c"],
            [bpftool, "btf", "dump", "file", vmlinux, "format", "c"] if bpftool else None, args.n, env)
    compare("btf dump format c (cold)", [*TINYBPF, "btf", "dump", "file", vmlinux, "format", "c"],
            [bpftool, "btf", "dump", "file", vmlinux, "format", "c"] if bpftool else None, max(1, args.n // 2),
            cold)
    compare("trace -l", [*TINYBPF, "trace", "-l"], [bpftrace, "-l"] if bpftrace else None, args.n, env)
    compare("python3 -c pass (start-up floor)", [sys.executable, "-c", "pass"], None, args.n, env)
    if bpftool and os.geteuid() == 0:  # a program of our own, so that no other process unloads it meanwhile
        sys.path.insert(0, SRC)
        from tinybpf.objects import Object

        with Object.load_file(Path(__file__).resolve().parent.parent / "tests/data/loader/subprogs.bpf.o") as obj:
            prog_id = str(next(iter(obj)).info().id)
            compare("prog dump xlated (3 functions)", [*TINYBPF, "prog", "dump", "xlated", "id", prog_id],
                    [bpftool, "prog", "dump", "xlated", "id", prog_id], args.n, env)


if __name__ == "__main__":
    main()
