"""Software perf events fire programs at the requested rate; missing PMUs give one-line errors."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
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
    mov64,
    st,
)
from tinybpf.errors import NotSupported
from tinybpf.kernel import perf_event as perf
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.kernel.sysinfo import online_cpus
from tinybpf.links import attach_interval, attach_kprobe, attach_kretprobe, attach_perf_event, attach_profile
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel


def counting(counter: Map) -> Instructions:
    return Instructions([
        st(Size.W, R10, -4, 0), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), ld_map_fd(R1, counter),
        call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "out"), mov64(R1, 1), atomic_add(Size.DW, R0, R1),
        label("out"), mov64(R0, 0), exit_(),
    ])


def count_for(seconds: float, attach, prog_type: ProgType = ProgType.PERF_EVENT) -> int:  # type: ignore[no-untyped-def]
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(prog_type, counting(counter), name="tt_perf_count") as prog:
        with attach(prog):
            time.sleep(seconds)
        return int(counter[0])


@contextlib.contextmanager
def busy_cpus() -> Iterator[None]:
    """Keep every CPU running: in VMs whose host parks idle vCPUs (this firecracker one), a sleeping
    CPU's clock events are delayed or coalesced, so rates are only meaningful on busy CPUs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in online_cpus()]
    try:
        time.sleep(0.2)
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_profile_samples_every_cpu_at_the_given_frequency() -> None:
    hz, seconds = 99, 2.0
    with busy_cpus():
        count = count_for(seconds, lambda prog: attach_profile(prog, hz))
    expected = hz * seconds * len(online_cpus())
    assert 0.8 * expected <= count <= 1.2 * expected, (count, expected)


def test_interval_fires_once_per_period_on_one_cpu() -> None:
    period_ms, seconds = 10, 1.5
    with busy_cpus():
        count = count_for(seconds, lambda prog: attach_interval(prog, period_ms * 1_000_000))
    expected = seconds * 1000 / period_ms
    assert 0.8 * expected <= count <= 1.2 * expected, (count, expected)


def test_software_event_with_sample_period_counts_page_faults() -> None:
    def attach(prog: Program):  # type: ignore[no-untyped-def]
        link = attach_perf_event(prog, perf.SoftwareEvent.PAGE_FAULTS, sample_period=1)
        bytearray(64 << 20)  # touch 16k pages
        return link

    assert count_for(0.1, attach) >= 1000


def test_perf_event_link_has_one_event_per_cpu() -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1) as counter, \
         Program.load(ProgType.PERF_EVENT, counting(counter), name="tt_perf_fds") as prog, \
         attach_profile(prog, 49) as link:
        assert len(link.fds) == 2 * len(online_cpus())  # a BPF link and a perf event each
    assert link.closed


def test_hardware_events_without_a_pmu_are_not_supported() -> None:
    if perf.pmu_exists("cpu"):
        pytest.skip("this machine has a CPU PMU")
    with Map.create(MapType.ARRAY, 4, 8, 1) as counter, \
         Program.load(ProgType.PERF_EVENT, counting(counter), name="tt_perf_hw") as prog, \
         pytest.raises(NotSupported, match="hardware perf event cpu-cycles is not supported"):
        attach_perf_event(prog, perf.HardwareEvent.CPU_CYCLES, sample_freq=99)


def test_period_or_frequency_is_required() -> None:
    with pytest.raises(ValueError):
        attach_perf_event(0, perf.SoftwareEvent.CPU_CLOCK)


def test_kprobe_without_the_pmu_is_one_clear_line() -> None:
    if perf.pmu_exists("kprobe"):
        pytest.skip("this kernel has kprobes")
    with Map.create(MapType.ARRAY, 4, 8, 1) as counter, \
         Program.load(ProgType.KPROBE, counting(counter), name="tt_kprobe") as prog:
        for attach in (attach_kprobe, attach_kretprobe):
            with pytest.raises(NotSupported) as info:
                attach(prog, "do_sys_openat2")
            assert str(info.value) == "kprobes is not supported on this kernel: no kprobe PMU: CONFIG_KPROBES is off"
            assert "\n" not in str(info.value)
