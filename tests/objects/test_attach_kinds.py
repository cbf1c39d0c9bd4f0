"""Auto-attach by section, run for real: iter/ output as a file, perf_event with a sample period, raw_tp/,
uprobe/BIN:func, uprobe.multi/BIN:pattern, usdt, tp_btf/ and kprobes where this kernel allows them."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinybpf.errors import TinyBPFError
from tinybpf.kernel.bpffs import find_bpffs
from tinybpf.objects import Object

pytestmark = pytest.mark.kernel

DATA = Path(__file__).resolve().parents[1] / "data"
ATTACH = DATA / "loader" / "attach.bpf.o"
USDT_TARGET = DATA / "usdt" / "usdt_target"


@pytest.fixture
def attach_obj() -> Iterator[Object]:
    obj = Object.open(ATTACH)
    obj.rodata.target_tgid = os.getpid()
    with obj.load():
        yield obj


def test_every_section_with_a_target_attaches(attach_obj: Object) -> None:
    made = attach_obj.attach(sample_period=1_000_000)
    assert set(made) == {"list_tasks", "on_sample", "on_syscall", "on_getppid", "on_getpp_multi"}
    assert made["on_getpp_multi"].target.startswith("uprobe.multi ")
    for _ in range(3):
        os.getppid()
    bss = attach_obj.bss
    assert bss.getppid_calls == 3 and bss.multi_calls == 3
    assert bss.syscalls >= 3
    assert attach_obj.auto_attachable("on_tick") is False  # bare SEC("usdt"): needs a target


def test_perf_event_needs_a_sample_period(attach_obj: Object) -> None:
    assert not attach_obj.auto_attachable("on_sample")
    with pytest.raises(TinyBPFError, match="sample"):
        attach_obj.attach_program("on_sample")
    attach_obj.attach_program("on_sample", sample_period=100_000)  # 10 kHz of cpu-clock on every CPU
    deadline = 0
    while attach_obj.bss.samples == 0 and deadline < 10_000_000:  # busy until the first sample: no sleep
        deadline += 1
    assert attach_obj.bss.samples > 0


def test_iterator_output_is_readable_and_its_pinned_link_is_a_file(attach_obj: Object) -> None:
    link = attach_obj.attach_program("list_tasks")
    with open(f"/proc/{os.getpid()}/comm") as f:
        comm = f.read().strip()
    assert link.read_output() == f"task {os.getpid()} {comm}\n"
    root = find_bpffs()
    if root is None:
        pytest.skip("no bpffs mounted")
    directory = tempfile.mkdtemp(prefix="tinybpf-iter-", dir=root)
    try:
        link.pin(os.path.join(directory, "tasks"))
        with open(os.path.join(directory, "tasks")) as f:
            assert f.read() == f"task {os.getpid()} {comm}\n"
    finally:
        shutil.rmtree(directory)


def test_usdt_attaches_with_an_explicit_target(attach_obj: Object) -> None:
    process = subprocess.Popen([str(USDT_TARGET), "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdout.readline()
        link = attach_obj.attach_program("on_tick", f"{USDT_TARGET}:tinybpf:tick")
        assert "tinybpf:tick" in link.target
        process.stdin.write("\n")
        process.stdin.flush()
        process.stdout.readline()  # the loop is over: every tick has fired
        assert attach_obj.bss.ticks == 5
        process.stdin.write("\n")
        process.stdin.flush()
    finally:
        process.communicate(timeout=30)


def test_tracing_programs_load_where_the_kernel_allows_and_fail_attach_in_one_line() -> None:
    with Object.open(DATA / "loader" / "tracing.bpf.o").load(keep_going=True) as obj:
        for name in obj.programs:
            try:
                link = obj.attach_program(name)
            except TinyBPFError as exc:
                assert "\n" not in str(exc) and str(exc)
                continue
            assert not link.closed
        for name, error in obj.errors.items():
            assert "\n" not in str(error), name


def test_libbpf_usdt_arguments_come_from_the_spec_map() -> None:
    """BPF_USDT() (usdt.bpf.h) reads each argument as the site's note describes: register, sign, size."""
    with Object.load_file(DATA / "loader" / "usdt_args.bpf.o") as obj:
        process = subprocess.Popen([str(USDT_TARGET), "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdout.readline()
            obj.attach_program("on_tick_args", f"{USDT_TARGET}:tinybpf:tick")
            process.stdin.write("\n")
            process.stdin.flush()
            process.stdout.readline()
            process.stdin.write("\n")
            process.stdin.flush()
        finally:
            process.communicate(timeout=30)
        bss = obj.bss
        assert (bss.calls, bss.sum, bss.neg_sum, bss.last_u8, bss.fives) == (5, 10, -10, 4, 25)


def _congestion_controls() -> list[str]:
    with open("/proc/sys/net/ipv4/tcp_available_congestion_control") as f:
        return f.read().split()


def test_struct_ops_register_while_attached_and_unregister_on_close() -> None:
    """A .struct_ops.link map registers through a (pinnable) BPF link, a .struct_ops map through its update."""
    with Object.load_file(DATA / "loader" / "struct_ops.bpf.o") as obj:
        assert obj.maps["tinybpf_link"].info.flags & 1 << 13  # BPF_F_LINK
        with pytest.raises(TinyBPFError, match="through its map"):
            obj.attach_program("cc_ssthresh")
        made = obj.attach()
        assert set(made) == {"tinybpf_link", "tinybpf_legacy"} and made["tinybpf_link"].bpf_link
        assert {"tinybpf_link", "tinybpf_legacy"} <= set(_congestion_controls())
    assert not {"tinybpf_link", "tinybpf_legacy"} & set(_congestion_controls())
