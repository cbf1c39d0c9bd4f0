#!/usr/bin/env python3
"""Object loading: tinybpf's loader vs libbpf (a tiny C loader built here with ``gcc -lbpf``), same run.

Both load the same set of clang-built objects (BTF maps, map-in-map, global data, sub-programs,
CO-RE against the kernel, kconfig/ksym externs) and close them again. Two measurements:

- ``warm load``: the median time of one round over all objects inside an already running process
  (tinybpf keeps the parsed kernel BTF; libbpf parses vmlinux BTF again for each object);
- ``cold load``: the first round in a fresh process, timed by the process itself (tinybpf parses kernel
  BTF, the kernel config and /proc/kallsyms here);
- ``process``: exec to exit of a fresh process that loads every object once (Python start-up and
  imports included).

The target is tinybpf <= 1.5x libbpf. Then peak RSS and wall time of loading ``big_bss.bpf.o`` (a 5 KB
object whose NOBITS ``.bss`` claims 1 GiB) once in a fresh process: tinybpf, the libbpf loader and
``bpftool prog loadall`` (pins removed after). Needs root, gcc and libbpf-dev (``/usr/include/bpf``).

    sudo python3 benchmarks/objects.py [--rounds 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = [
    ROOT / "tests/data/loader/globals.bpf.o",
    ROOT / "tests/data/loader/maps.bpf.o",
    ROOT / "tests/data/loader/subprogs.bpf.o",
    ROOT / "tests/data/loader/core.bpf.o",
    ROOT / "tests/data/loader/kconfig.bpf.o",
    ROOT / "examples/sockex1/sockex1_kern_btf.o",
]

LOADER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args) { return 0; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int rounds = atoi(argv[1]);
	libbpf_set_print(quiet);
	for (int r = 0; r < rounds; r++) {
		double start = now();
		for (int i = 2; i < argc; i++) {
			struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
			if (!obj || bpf_object__load(obj)) {
				fprintf(stderr, "libbpf failed to load %s\n", argv[i]);
				return 1;
			}
			bpf_object__close(obj);
		}
		printf("%.9f\n", now() - start);
	}
	return 0;
}
"""

TINYBPF_ONCE = """
import sys, time
from tinybpf.objects import Object
start = time.perf_counter()
for path in sys.argv[1:]:
    Object.load_file(path).close()
print(f"{time.perf_counter() - start:.9f}")
"""


def build_loader(directory: str) -> str:
    source = os.path.join(directory, "loader.c")
    binary = os.path.join(directory, "loader")
    with open(source, "w") as f:
        f.write(LOADER_C)
    subprocess.run(["gcc", "-O2", "-o", binary, source, "-lbpf"], check=True)
    return binary


def libbpf_rounds(binary: str, rounds: int) -> list[float]:
    out = subprocess.run([binary, str(rounds), *map(str, OBJECTS)], check=True, capture_output=True, text=True)
    return [float(line) for line in out.stdout.split()]


def tinybpf_rounds(rounds: int) -> list[float]:
    from tinybpf.objects import Object

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for path in OBJECTS:
            Object.load_file(path).close()
        times.append(time.perf_counter() - start)
    return times


def process_time(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall time of the whole process, and median of the loading time it reports itself."""
    walls, loads = [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        walls.append(time.perf_counter() - start)
        loads.append(float(out.split()[0]))
    return statistics.median(walls), statistics.median(loads)


BIG_BSS = ROOT / "tests/data/loader/big_bss.bpf.o"


def peak(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``command``, from the kernel's rusage of that child."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command[0]} failed on {BIG_BSS.name} (exit {process.returncode})")
    return time.perf_counter() - start, usage.ru_maxrss


def big_bss(binary: str) -> str:
    pins = tempfile.mkdtemp(prefix="tinybpf-bench-", dir="/sys/fs/bpf")
    try:
        rows = [("tinybpf", peak([sys.executable, "-c", TINYBPF_ONCE, str(BIG_BSS)])),
                ("libbpf", peak([binary, "1", str(BIG_BSS)]))]
        if shutil.which("bpftool"):
            rows.append(("bpftool", peak(["bpftool", "prog", "loadall", str(BIG_BSS), os.path.join(pins, "p")])))
    finally:
        shutil.rmtree(pins)
    lines = [f"{BIG_BSS.name} (.bss of 1 GiB, file {BIG_BSS.stat().st_size} B): one load in a fresh process"]
    lines += [f"{label:12} {wall:8.2f}s  peak RSS {rss / 1024:8.1f} MiB" for label, (wall, rss) in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("objects benchmark: needs root to load programs", file=sys.stderr)
        return 1
    if shutil.which("gcc") is None or not os.path.exists("/usr/include/bpf/libbpf.h"):
        print("objects benchmark: needs gcc and libbpf-dev", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as directory:
        binary = build_loader(directory)
        big = big_bss(binary)  # first: a child's ru_maxrss includes this process from before its exec
        libbpf_rounds(binary, 2)  # warm the page cache
        tinybpf_rounds(2)
        ours = statistics.median(tinybpf_rounds(args.rounds))
        theirs = statistics.median(libbpf_rounds(binary, args.rounds))
        runs = max(3, args.rounds // 4)
        ours_wall, ours_cold = process_time([sys.executable, "-c", TINYBPF_ONCE, *map(str, OBJECTS)], runs)
        theirs_wall, theirs_cold = process_time([binary, "1", *map(str, OBJECTS)], runs)
    print(f"{len(OBJECTS)} objects: {', '.join(p.name for p in OBJECTS)}")
    print(f"{'':12} {'tinybpf':>10} {'libbpf':>10} {'ratio':>7}")
    for label, mine, libbpf in (("warm load", ours, theirs), ("cold load", ours_cold, theirs_cold),
                                ("process", ours_wall, theirs_wall)):
        print(f"{label:12} {mine * 1e3:8.2f}ms {libbpf * 1e3:8.2f}ms {mine / libbpf:6.2f}x")
    print("warm: a round in a running process; cold: the first round of a fresh process (tinybpf parses")
    print("kernel BTF, kconfig and kallsyms then); process: exec to exit, interpreter start-up included")
    print("target: <= 1.50x")
    print(big)
    return 0


if __name__ == "__main__":
    sys.exit(main())
