#!/usr/bin/env python3
"""`tinybpf trace` vs bpftrace, same run: start-up, peak RSS and in-kernel cost per event.

Scripts cover the seed one-liner and BTF kernel-struct access (``curtask->real_parent->pid``), which
exercises type resolution from /sys/kernel/btf/vmlinux at compile time and probe reads at run time.

- ``startup``: wall seconds and peak RSS of ``-e '<script> BEGIN { exit(); }'`` (parse, compile, load,
  attach, detach), median of ``-n`` alternating runs. The interpreter's own start is printed too
  (``python3 -c pass`` in the same environment) so site-packages hooks can be told apart.
- ``kernel``: ns per event (the kernel's bpf_stats run_time_ns / run_cnt) and translated instruction
  count of the program on tracepoint:raw_syscalls:sys_enter under the same getppid() load.

Targets (issue 6): start-up <= 0.33x, RSS <= 0.33x, ns/event <= 1.0x. Needs root and bpftrace.

    sudo python3 benchmarks/trace.py [-n 5] [--cand "python3 -m tinybpf trace"]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from typing import Optional

STRUCT = "tracepoint:raw_syscalls:sys_enter { @[curtask->real_parent->pid] = count(); }"
STARTUP = {
    "seed_oneliner": "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }",
    "struct_access": STRUCT,
    "struct_chain": ("tracepoint:sched:sched_switch { @[((struct task_struct *)curtask)->real_parent->comm,"
                     " curtask->mm->map_count] = count(); }"),
}
KERNEL = {
    "count_pid_comm": "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }",
    "struct_access": STRUCT,
    "struct_filter": "tracepoint:raw_syscalls:sys_enter /curtask->real_parent->pid > 1/ { @ = count(); }",
}


def timed(cmd: list[str]) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def bpf_progs() -> dict[int, dict]:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True).stdout
    return {p["id"]: p for p in json.loads(out or "[]")}


def syscall_load(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        for _ in range(5000):
            os.getppid()


def kernel_cost(cmd: list[str], script: str) -> Optional[tuple[float, int]]:
    before = set(bpf_progs())
    p = subprocess.Popen([*cmd, "-e", script + " interval:s:4 { exit(); }"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    syscall_load(2.0)
    progs = bpf_progs()
    p.wait(timeout=30)
    new = [v for k, v in progs.items() if k not in before and v.get("type") == "tracepoint"]
    if not new:
        return None
    best = max(new, key=lambda v: v.get("run_cnt", 0))
    count = best.get("run_cnt", 0)
    return (best.get("run_time_ns", 0) / count, best.get("bytes_xlated", 0) // 8) if count else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cand", default=f"{sys.executable} -m tinybpf trace")
    ap.add_argument("--ref", default="bpftrace")
    ap.add_argument("-n", type=int, default=5)
    a = ap.parse_args()
    cand, ref = shlex.split(a.cand), shlex.split(a.ref)
    bare = statistics.median(timed([sys.executable, "-c", "pass"])[0] for _ in range(5))
    print(f"python3 -c pass: {bare:.3f}s (interpreter + site-packages hooks, paid by every Python tool)")
    for name, script in STARTUP.items():
        rows: dict[str, list[tuple[float, float]]] = {"ref": [], "cand": []}
        for i in range(a.n + 1):
            for who, cmd in (("ref", ref), ("cand", cand)):
                wall, rss, rc = timed([*cmd, "-e", script + " BEGIN { exit(); }"])
                if i and rc == 0:
                    rows[who].append((wall, rss))
        if not rows["cand"] or not rows["ref"]:
            print(f"startup {name}: failed (ref {len(rows['ref'])} ok, cand {len(rows['cand'])} ok)")
            continue
        rw, cw = (statistics.median(r[0] for r in rows[w]) for w in ("ref", "cand"))
        rm, cm = (statistics.median(r[1] for r in rows[w]) for w in ("ref", "cand"))
        print(f"startup {name}: wall ref {rw:.3f}s cand {cw:.3f}s ratio {cw / rw:.2f} | "
              f"peak RSS ref {rm:.1f}MiB cand {cm:.1f}MiB ratio {cm / rm:.2f}")
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=False)
    try:
        for name, script in KERNEL.items():
            r, c = kernel_cost(ref, script), kernel_cost(cand, script)
            if not r or not c:
                print(f"kernel {name}: ref {r} cand {c} (not measured)")
                continue
            print(f"kernel {name}: ns/event ref {r[0]:.1f} cand {c[0]:.1f} ratio {c[0] / r[0]:.2f} | "
                  f"insns ref {r[1]} cand {c[1]} ratio {c[1] / max(r[1], 1):.2f}")
    finally:
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
