"""``--mode bench``: run each ``bench:NAME`` probe repeatedly and print its average time.

The kernel runs raw tracepoint programs through BPF_PROG_TEST_RUN one at a time (no ``repeat``), so
the time is measured here around a batch of runs, which includes the syscall. The batch grows until it
takes a millisecond, as bpftrace grows its ``repeat``. Whatever the probes print is dropped.
"""
from __future__ import annotations

import time
from typing import Any, Protocol


class TraceRuntime(Protocol):
    """What the benchmark needs of ``session.TraceRuntime``: its loaded programs, ring buffer and printer."""

    programs: list[tuple[Any, Any]]
    ring: Any
    printer: Any
    finished: bool

_GOAL_NS = 1_000_000
_CONTEXT = bytes(8)


def run_benchmarks(runtime: TraceRuntime) -> None:
    """Run the bench probes in the order of the script and print one result each."""
    runtime.ring.consume()  # BEGIN's output first
    benches = [(program, loaded) for program, loaded in runtime.programs if program.special == "bench"]
    names = [program.targets[0].func for program, _ in benches]
    for index, (_, loaded) in enumerate(benches):
        average, iterations = _measure(loaded, runtime)
        runtime.printer.benchmark_result(names, index, average, iterations)


def _measure(loaded: object, runtime: TraceRuntime) -> tuple[int, int]:
    test_run = loaded.test_run  # type: ignore[attr-defined]
    iterations = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            test_run(ctx=_CONTEXT, repeat=0)
        elapsed = time.perf_counter_ns() - start
        runtime.finished = True  # drop the records the runs made
        runtime.ring.consume()
        runtime.finished = False
        if elapsed >= _GOAL_NS or iterations >= 1 << 20:
            return elapsed // iterations, iterations
        iterations *= 10 if elapsed < _GOAL_NS // 100 else 2
