#!/usr/bin/env python3
"""A printf flood: how many events reach the output, how many are reported lost, what the tracer costs.

A C child (built here with gcc) calls getpid() N times at a paced RATE per second; the script prints one
line per call of that child (``/pid == cpid/``). For `tinybpf trace` and bpftrace, in the same run:
lines printed, losses reported (``Lost N events``), printed + lost against N, the child's achieved rate,
and the tracer's CPU seconds per million events. On a busy machine the tracer gets less CPU than it
needs and the default buffer must absorb the difference; nothing may go unreported either way.

    sudo python3 benchmarks/event_loss.py [-n 2500000] [--rate 500000] [--pages N]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

LOOP_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    long n = atol(argv[1]), rate = atol(argv[2]);
    double start = now();
    for (long i = 0; i < n; i++) {
        syscall(SYS_getpid);
        if (rate && i % 64 == 0)
            while (now() - start < (double)i / rate)
                ;
    }
    fprintf(stderr, "child: %ld calls in %.3f s\n", n, now() - start);
    return 0;
}
"""
SCRIPT = 'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%d\\n", pid); }'
LOST = re.compile(r"^Lost (\d+) events$", re.M)
CHILD = re.compile(r"child: \d+ calls in ([0-9.]+) s")


def measure(name: str, tracer: list[str], loop: str, count: int, rate: int, env: dict[str, str]) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*tracer, "-e", SCRIPT, "-c", f"{loop} {count} {rate}"], capture_output=True,
                          text=True, env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    printed = sum(1 for line in done.stdout.splitlines() if line.isdigit())
    lost = sum(int(n) for n in LOST.findall(done.stdout + done.stderr))
    child = CHILD.search(done.stderr)
    seconds = float(child.group(1)) if child else float("nan")
    print(f"{name:8} printed {printed:>9}  lost {lost:>9} ({100 * lost / count:5.1f}%)  "
          f"printed+lost {'==' if printed + lost == count else '!='} {count}  child rate {count / seconds:>9.0f}/s  "
          f"CPU (tracer+child) {cpu:6.2f} s = {cpu / count * 1e6:5.2f} s per million  exit {done.returncode}")
    if printed + lost != count:
        print(f"         {name}'s stderr: {done.stderr.strip()[-300:]!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2_500_000, help="events (getpid calls)")
    parser.add_argument("--rate", type=int, default=500_000, help="calls per second (0: unpaced)")
    parser.add_argument("--pages", help="BPFTRACE_PERF_RB_PAGES for both tracers (default: theirs)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.pages:
        env["BPFTRACE_PERF_RB_PAGES"] = args.pages
    with tempfile.TemporaryDirectory() as tmp:
        source, loop = os.path.join(tmp, "loop.c"), os.path.join(tmp, "loop")
        with open(source, "w") as f:
            f.write(LOOP_C)
        subprocess.run(["gcc", "-O2", "-o", loop, source], check=True)
        print(f"{args.n} events at {args.rate or 'max'}/s, load average {os.getloadavg()[0]:.1f}")
        measure("tinybpf", [sys.executable, "-m", "tinybpf", "trace"], loop, args.n, args.rate, env)
        if shutil.which("bpftrace"):
            measure("bpftrace", ["bpftrace"], loop, args.n, args.rate, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
