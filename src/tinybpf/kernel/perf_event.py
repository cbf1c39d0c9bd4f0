"""perf_event_open(2) for BPF: ``struct perf_event_attr``, PMU lookup, the perf ioctls, the mmap page.

Tracepoints, uprobes, kprobes and software events are all perf events; a BPF program is attached to
one with BPF_LINK_CREATE (attach type BPF_PERF_EVENT, Linux 5.15) or, before that, with the
PERF_EVENT_IOC_SET_BPF ioctl. Dynamic PMUs (``uprobe``, ``kprobe``) publish their type number and
config bits under /sys/bus/event_source/devices/<pmu>/.
"""
from __future__ import annotations

import ctypes
import dataclasses
import enum
import functools
import os
import struct
from typing import Optional

from ..errors import NotSupported
from .fd import FD
from .syscall import ioctl, perf_event_open

PMU_ROOT = "/sys/bus/event_source/devices"


class PerfType(enum.IntEnum):
    """``enum perf_type_id``: ``perf_event_attr.type`` for the fixed PMUs."""

    HARDWARE = 0
    SOFTWARE = 1
    TRACEPOINT = 2
    HW_CACHE = 3
    RAW = 4
    BREAKPOINT = 5


class SoftwareEvent(enum.IntEnum):
    """``enum perf_sw_ids`` (PERF_COUNT_SW_*): the kernel's own counters, present on every machine."""

    CPU_CLOCK = 0
    TASK_CLOCK = 1
    PAGE_FAULTS = 2
    CONTEXT_SWITCHES = 3
    CPU_MIGRATIONS = 4
    PAGE_FAULTS_MIN = 5
    PAGE_FAULTS_MAJ = 6
    ALIGNMENT_FAULTS = 7
    EMULATION_FAULTS = 8
    DUMMY = 9
    BPF_OUTPUT = 10
    CGROUP_SWITCHES = 11


class HardwareEvent(enum.IntEnum):
    """``enum perf_hw_id`` (PERF_COUNT_HW_*): need a CPU PMU, absent in most VMs."""

    CPU_CYCLES = 0
    INSTRUCTIONS = 1
    CACHE_REFERENCES = 2
    CACHE_MISSES = 3
    BRANCH_INSTRUCTIONS = 4
    BRANCH_MISSES = 5
    BUS_CYCLES = 6
    STALLED_CYCLES_FRONTEND = 7
    STALLED_CYCLES_BACKEND = 8
    REF_CPU_CYCLES = 9


class SampleType(enum.IntFlag):
    """``enum perf_event_sample_format`` (PERF_SAMPLE_*): what a sample record carries."""

    IP = 1 << 0
    TID = 1 << 1
    TIME = 1 << 2
    ADDR = 1 << 3
    READ = 1 << 4
    CALLCHAIN = 1 << 5
    ID = 1 << 6
    CPU = 1 << 7
    PERIOD = 1 << 8
    STREAM_ID = 1 << 9
    RAW = 1 << 10


class AttrFlag(enum.IntFlag):
    """The bitfield word of ``perf_event_attr`` (``disabled:1, inherit:1, ...``)."""

    DISABLED = 1 << 0
    INHERIT = 1 << 1
    PINNED = 1 << 2
    EXCLUSIVE = 1 << 3
    EXCLUDE_USER = 1 << 4
    EXCLUDE_KERNEL = 1 << 5
    EXCLUDE_HV = 1 << 6
    EXCLUDE_IDLE = 1 << 7
    MMAP = 1 << 8
    COMM = 1 << 9
    FREQ = 1 << 10
    INHERIT_STAT = 1 << 11
    ENABLE_ON_EXEC = 1 << 12
    TASK = 1 << 13
    WATERMARK = 1 << 14
    SAMPLE_ID_ALL = 1 << 18


class RecordType(enum.IntEnum):
    """``enum perf_event_type`` (PERF_RECORD_*) of the records in a perf ring."""

    MMAP = 1
    LOST = 2
    COMM = 3
    EXIT = 4
    THROTTLE = 5
    UNTHROTTLE = 6
    FORK = 7
    READ = 8
    SAMPLE = 9


PERF_FLAG_FD_CLOEXEC = 1 << 3

# _IO('$', 0), _IO('$', 1), _IOW('$', 8, __u32) with the asm-generic ioctl encoding
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408

# struct perf_event_attr up to sig_data (PERF_ATTR_SIZE_VER7, Linux 5.13); older kernels accept it as long
# as the fields they do not know are zero.
#   u32 type, size; u64 config; u64 sample_period /* or sample_freq */; u64 sample_type, read_format;
#   u64 flags (bitfield); u32 wakeup_events /* or wakeup_watermark */, bp_type;
#   u64 config1 /* bp_addr, kprobe_func, uprobe_path */, config2 /* bp_len, kprobe_addr, probe_offset */;
#   u64 branch_sample_type, sample_regs_user; u32 sample_stack_user; s32 clockid; u64 sample_regs_intr;
#   u32 aux_watermark; u16 sample_max_stack, reserved; u32 aux_sample_size, reserved; u64 sig_data;
PERF_EVENT_ATTR = struct.Struct("=IIQQQQQIIQQQQIiQIHHIIQ")

# struct perf_event_mmap_page: data_head, data_tail, data_offset, data_size live at 1024.
MMAP_DATA_HEAD_OFFSET = 1024
MMAP_DATA_TAIL_OFFSET = 1032
# struct perf_event_header { u32 type; u16 misc; u16 size; }
RECORD_HEADER = struct.Struct("=IHH")


@dataclasses.dataclass(frozen=True)
class PerfEventAttr:
    """The fields of ``struct perf_event_attr`` tinybpf sets; the rest stay zero.

    ``period`` is a sample period, or a frequency in Hz when ``flags`` has ``AttrFlag.FREQ``.
    ``config1``/``config2`` carry a probe's path/function pointer and offset for the probe PMUs, and a
    breakpoint's address and length (with ``bp_type``) for PERF_TYPE_BREAKPOINT.
    """

    type: int
    config: int = 0
    period: int = 0
    sample_type: int = 0
    flags: int = 0
    wakeup_events: int = 0
    config1: int = 0
    config2: int = 0
    bp_type: int = 0

    def pack(self) -> ctypes.Array[ctypes.c_char]:
        buf = ctypes.create_string_buffer(PERF_EVENT_ATTR.size)
        PERF_EVENT_ATTR.pack_into(
            buf, 0, self.type, PERF_EVENT_ATTR.size, self.config, self.period, self.sample_type, 0,
            self.flags, self.wakeup_events, self.bp_type, self.config1, self.config2,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        )
        return buf


def open_event(attr: PerfEventAttr, pid: int = -1, cpu: int = 0, group_fd: int = -1) -> FD:
    """perf_event_open(2) with FD_CLOEXEC; ``pid=-1, cpu=N`` counts everything on CPU N."""
    return FD(perf_event_open(attr.pack(), pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC))


def open_probe(pmu: str, target: bytes, offset: int, config: int, pid: int = -1, cpu: int = 0) -> FD:
    """Open a ``uprobe``/``kprobe`` PMU event: ``target`` is the binary path or kernel function name.

    The kernel reads the NUL-terminated ``target`` through the pointer in ``config1`` during the call.
    """
    path = ctypes.create_string_buffer(target)
    attr = PerfEventAttr(type=pmu_type(pmu), config=config, config1=ctypes.addressof(path), config2=offset,
                         period=1, flags=AttrFlag.DISABLED)
    return open_event(attr, pid, cpu)


def enable(fd: int) -> None:
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)


def disable(fd: int) -> None:
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)


def set_bpf(fd: int, prog_fd: int) -> None:
    """PERF_EVENT_IOC_SET_BPF: the pre-5.15 way to attach a program to a perf event."""
    ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd)


def pmu_exists(name: str) -> bool:
    return os.path.isdir(os.path.join(PMU_ROOT, name))


@functools.cache
def pmu_type(name: str) -> int:
    """``perf_event_attr.type`` of a dynamic PMU, from /sys/bus/event_source/devices/<name>/type.

    Raises ``NotSupported`` when the PMU does not exist (``kprobe`` without CONFIG_KPROBES).
    """
    try:
        with open(os.path.join(PMU_ROOT, name, "type")) as f:
            return int(f.read())
    except FileNotFoundError:
        raise NotSupported(f"{name} PMU", f"no {PMU_ROOT}/{name}") from None


@functools.cache
def pmu_format_bit(pmu: str, field: str) -> Optional[int]:
    """The config bit a PMU format field names (``retprobe`` -> 0 for ``config:0``), None if absent."""
    try:
        with open(os.path.join(PMU_ROOT, pmu, "format", field)) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return parse_format_bit(text)


def parse_format_bit(text: str) -> int:
    """``config:0`` -> 0, ``config:32-63`` -> 32: the first bit of a PMU format spec."""
    _, _, bits = text.partition(":")
    return int(bits.split("-")[0])


def page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


__all__ = [
    "MMAP_DATA_HEAD_OFFSET",
    "MMAP_DATA_TAIL_OFFSET",
    "PERF_EVENT_ATTR",
    "PERF_EVENT_IOC_DISABLE",
    "PERF_EVENT_IOC_ENABLE",
    "PERF_EVENT_IOC_SET_BPF",
    "RECORD_HEADER",
    "AttrFlag",
    "HardwareEvent",
    "PerfEventAttr",
    "PerfType",
    "RecordType",
    "SampleType",
    "SoftwareEvent",
    "disable",
    "enable",
    "open_event",
    "open_probe",
    "page_size",
    "parse_format_bit",
    "pmu_exists",
    "pmu_type",
    "set_bpf",
]
