#!/usr/bin/env python3
"""How small tinybpf is: installed core package and wheel bytes, and the seed one-liner's start-up and peak RSS.

The claim tinybpf exists for is that eBPF tooling fits small boards. This measures, in one run and beside the
reference tool (bpftrace, when installed):

- installed size: the files ``pip install --no-deps`` puts in site-packages, without ``__pycache__``, next to
  the bpftrace binary plus the shared libraries it loads (``ldd``), which is what a board must carry;
- wheel size;
- the seed one-liner ``tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }`` traced around
  ``/bin/true``: wall time from start to exit (start-up, compile, load, attach, run, print) and peak RSS of
  the tracer process (``wait4``'s ru_maxrss), the median of ``--runs``.

    sudo python3 benchmarks/size.py [--runs 3] [--no-package]     (run from the checkout)

In the armhf guest the platform test runs ``--no-package`` (no pip there, and no bpftrace).
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
ONE_LINER = "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }"


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def package_sizes() -> tuple[int, int]:
    """(installed core package bytes without __pycache__, wheel bytes), built from this checkout."""
    with tempfile.TemporaryDirectory() as tmp:
        wheels, target = Path(tmp, "wheels"), Path(tmp, "site")
        pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)],
                       check=True, capture_output=True)
        wheel = next(wheels.glob("tinybpf-*.whl"))
        subprocess.run([*pip, "install", "--no-deps", "--no-compile", "--target", str(target), str(wheel)],
                       check=True, capture_output=True)
        return tree_bytes(target / "tinybpf"), wheel.stat().st_size


def bpftrace_bytes(binary: str) -> int:
    """The bpftrace executable plus every shared library it loads."""
    files = {os.path.realpath(binary)}
    listing = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        parts = line.split("=>")
        path = (parts[1] if len(parts) > 1 else parts[0]).split("(")[0].strip()
        if path.startswith("/"):
            files.add(os.path.realpath(path))
    return sum(os.path.getsize(f) for f in files)


def one_liner(command: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one run of ``command`` tracing ``/bin/true``."""
    started = time.perf_counter()
    proc = subprocess.Popen([*command, "-e", ONE_LINER, "-c", "/bin/true"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {proc.stderr.read().decode(errors='replace') if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss


def measure(command: list[str], runs: int) -> tuple[float, int]:
    samples = [one_liner(command) for _ in range(runs)]
    return statistics.median(s for s, _ in samples), int(statistics.median(r for _, r in samples))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-package", action="store_true", help="skip the wheel build (no pip in the guest)")
    args = parser.parse_args()
    machine = os.uname().machine
    bpftrace = shutil.which("bpftrace")
    if not args.no_package:
        installed, wheel = package_sizes()
        print(f"tinybpf installed (no __pycache__): {installed:>12,} bytes")
        print(f"tinybpf wheel:                      {wheel:>12,} bytes")
        if bpftrace:
            reference = bpftrace_bytes(bpftrace)
            print(f"bpftrace + shared libraries:        {reference:>12,} bytes   ({reference / installed:.0f}x tinybpf)")
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep + env_path if env_path else ''}"
    seconds, rss = measure([sys.executable, "-m", "tinybpf", "trace"], args.runs)
    print(f"seed one-liner on {machine}: tinybpf  {seconds:6.2f} s  peak RSS {rss / 1024:6.1f} MiB")
    if bpftrace:
        ref_seconds, ref_rss = measure([bpftrace], args.runs)
        print(f"seed one-liner on {machine}: bpftrace {ref_seconds:6.2f} s  peak RSS {ref_rss / 1024:6.1f} MiB   "
              f"(tinybpf/bpftrace: time {seconds / ref_seconds:.2f}x, RSS {rss / ref_rss:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
