"""Facts about the running system that tinybpf reads from /sys and /proc."""
from __future__ import annotations

import functools
import os
from typing import Optional


def parse_cpu_list(text: str) -> list[int]:
    """``0-3,5,7-8`` -> ``[0, 1, 2, 3, 5, 7, 8]`` (the kernel's cpulist format)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


@functools.cache
def possible_cpus() -> list[int]:
    """CPUs per-CPU maps have a slot for (/sys/devices/system/cpu/possible)."""
    with open("/sys/devices/system/cpu/possible") as f:
        return parse_cpu_list(f.read())


@functools.cache
def online_cpus() -> list[int]:
    """CPUs perf events and ring buffers can be opened on."""
    with open("/sys/devices/system/cpu/online") as f:
        return parse_cpu_list(f.read())


def num_possible_cpus() -> int:
    return max(possible_cpus()) + 1


def kernel_release() -> str:
    return os.uname().release


def kernel_version_code() -> int:
    """LINUX_VERSION_CODE of the running kernel (``KERNEL_VERSION(a, b, c)``), patch clamped to 255."""
    parts = kernel_release().split("-")[0].split(".")
    numbers = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts[:3]]
    while len(numbers) < 3:
        numbers.append(0)
    return (numbers[0] << 16) + (numbers[1] << 8) + min(numbers[2], 255)


PMU_DIR = "/sys/bus/event_source/devices"


def pmu_type(name: str) -> Optional[int]:
    """The perf ``type`` of a PMU (``kprobe``, ``uprobe``, ``cpu``...), None when the kernel lacks it."""
    try:
        with open(f"{PMU_DIR}/{name}/type") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def is_root() -> bool:
    return os.geteuid() == 0


# capability bits (include/uapi/linux/capability.h)
CAP_DAC_READ_SEARCH = 2
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39


def effective_capabilities() -> int:
    """This process's effective capability set (``CapEff`` of /proc/self/status); all of them for root
    when /proc cannot say."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return -1 if is_root() else 0


def _has(caps: int, *bits: int) -> bool:
    return all(caps >> bit & 1 for bit in bits)


def can_load_bpf() -> bool:
    """May create maps and load programs: CAP_BPF, or CAP_SYS_ADMIN as before Linux 5.8."""
    caps = effective_capabilities()
    return _has(caps, CAP_BPF) or _has(caps, CAP_SYS_ADMIN)


def can_trace() -> bool:
    """May load tracing programs and read tracefs: CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN), and
    CAP_DAC_READ_SEARCH for tracefs and bpffs, which are root's alone."""
    caps = effective_capabilities()
    return (_has(caps, CAP_BPF, CAP_PERFMON) or _has(caps, CAP_SYS_ADMIN)) and (
        is_root() or _has(caps, CAP_DAC_READ_SEARCH))


def boot_time() -> float:
    """Wall-clock time of boot, to turn the kernel's boot-relative ``load_time`` into a date."""
    import time

    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def available_memory_kb() -> Optional[int]:
    """``MemAvailable`` of /proc/meminfo (None when the kernel does not say)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
