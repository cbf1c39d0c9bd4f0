"""perf_event_attr packing, PMU lookup, and the enable/disable ioctls on a real counter."""
from __future__ import annotations

import os
import struct
import time

import pytest

from tinybpf.errors import NotSupported
from tinybpf.kernel import perf_event as perf


def test_attr_is_perf_attr_size_ver7() -> None:
    assert perf.PERF_EVENT_ATTR.size == 128
    raw = bytes(perf.PerfEventAttr(type=2, config=443, period=1, flags=perf.AttrFlag.DISABLED,
                                   config1=0x1234, config2=0x40).pack())
    fields = perf.PERF_EVENT_ATTR.unpack(raw)
    assert fields[:4] == (2, 128, 443, 1)
    assert fields[6] == 1 and fields[9:11] == (0x1234, 0x40)


def test_format_bits() -> None:
    assert perf.parse_format_bit("config:0") == 0
    assert perf.parse_format_bit("config:32-63") == 32


@pytest.mark.kernel
def test_uprobe_pmu_type_comes_from_sysfs() -> None:
    if not perf.pmu_exists("uprobe"):
        pytest.skip("no uprobe PMU")
    with open("/sys/bus/event_source/devices/uprobe/type") as f:
        assert perf.pmu_type("uprobe") == int(f.read())
    assert perf.pmu_format_bit("uprobe", "retprobe") == 0
    assert perf.pmu_format_bit("uprobe", "no_such_field") is None


@pytest.mark.kernel
def test_missing_pmu_is_not_supported() -> None:
    with pytest.raises(NotSupported, match="no_such_pmu PMU is not supported"):
        perf.pmu_type("no_such_pmu")


@pytest.mark.kernel
def test_enable_and_disable_a_task_clock_counter() -> None:
    attr = perf.PerfEventAttr(type=perf.PerfType.SOFTWARE, config=perf.SoftwareEvent.TASK_CLOCK,
                              flags=perf.AttrFlag.DISABLED)
    with perf.open_event(attr, pid=0, cpu=-1) as event:
        def read() -> int:
            return int(struct.unpack("=Q", os.read(event.fd, 8))[0])

        assert read() == 0
        perf.enable(event.fd)
        deadline = time.thread_time() + 0.02  # CPU time, not wall time: a busy machine may not run us
        while time.thread_time() < deadline:
            pass
        perf.disable(event.fd)
        counted = read()
        assert counted >= 10_000_000  # ns of CPU time spent spinning
        assert read() == counted
