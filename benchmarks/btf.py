"""Cold kernel BTF lookup: offsetof(struct task_struct, pid) in a fresh interpreter, beside bpftool.

The number that matters is what a new ``tinybpf`` process pays before its first CO-RE answer, so each run is a
subprocess and the timer covers importing tinybpf.btf, reading /sys/kernel/btf/vmlinux, indexing it and the
lookup. Run: python benchmarks/btf.py
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

RUNS = 7
COLD = """
import time
start = time.perf_counter()
from tinybpf.btf import Kind, kernel_btf
btf = kernel_btf()
offset = btf.member(btf.find("task_struct", Kind.STRUCT), "pid").byte_offset
print((time.perf_counter() - start) * 1000, offset)
"""


def cold_lookups() -> list[float]:
    timings = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", COLD], check=True, capture_output=True, text=True).stdout
        milliseconds, offset = out.split()
        timings.append(float(milliseconds))
    print(f"offsetof(struct task_struct, pid) = {offset}")
    return timings


def process_times(command: list[str]) -> list[float]:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def report(label: str, timings: list[float]) -> None:
    print(f"{label:<52} median {statistics.median(timings):6.1f} ms  min {min(timings):6.1f} ms")


def main() -> None:
    report("tinybpf cold lookup (in-process timer)", cold_lookups())
    report("python -c 'import tinybpf.btf; lookup' (wall, whole process)",
           process_times([sys.executable, "-c", COLD]))
    report("python -c pass (interpreter start-up, wall)", process_times([sys.executable, "-c", "pass"]))
    bpftool = shutil.which("bpftool")
    if bpftool is None:
        print("bpftool: not installed")
        return
    print("bpftool 7.x cannot dump one type of a BTF file, so it is timed dumping all of vmlinux:")
    report("bpftool btf dump file vmlinux format raw (wall)",
           process_times([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"]))
    report("bpftool btf dump file vmlinux format c (wall)",
           process_times([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"]))


if __name__ == "__main__":
    main()
