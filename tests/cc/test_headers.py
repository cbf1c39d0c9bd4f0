"""tinybpf's bundled headers: clang compiles a program against them (and nothing else), the object
loads and computes what /proc says, and tinybpf's own front end accepts the same program."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tinybpf.cc.frontend import check
from tinybpf.cc.headers import INCLUDE_DIR, helper_defs
from tinybpf.cc.preprocess import Options

PROGRAM = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

const volatile int target_tid = 0;
int seen_tgid, parent_tgid, pid_exists, comm_len, swapped, narg;
long printed;
char comm[16];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

static __always_inline int count_args(void)
{
	return ___bpf_narg(1, 2, 3, 4, 5);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 one = 1, *old;

	if (tid != target_tid)
		return 0;
	seen_tgid = BPF_CORE_READ(task, tgid);
	parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	pid_exists = bpf_core_field_exists(task->pid);
	comm_len = BPF_CORE_READ_STR_INTO(&comm, task, comm);
	swapped = bpf_htons(0x1234);
	narg = count_args();
	printed = bpf_printk("tinybpf %d %d %d %d", 1, 2, 3, 4);
	old = bpf_map_lookup_elem(&counts, &tid);
	if (old)
		__sync_fetch_and_add(old, 1);
	else
		bpf_map_update_elem(&counts, &tid, &one, BPF_ANY);
	return 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(on_unlinkat, int dfd, struct filename *name)
{
	return dfd + (long)BPF_CORE_READ(name, name);
}

SEC("kprobe/__x64_sys_getpid")
int BPF_KSYSCALL(on_getpid_syscall)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


def _tools() -> None:
    for tool in ("clang", "bpftool"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (a test-time reference only)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no kernel BTF (/sys/kernel/btf/vmlinux)")


def _build(tmp_path: Path) -> Path:
    """clang with -nostdinc: tinybpf's headers are the only ones it sees."""
    include = tmp_path / "include"
    shutil.copytree(INCLUDE_DIR, include)
    (include / "bpf" / "bpf_helper_defs.h").write_text(helper_defs())
    vmlinux = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
                             capture_output=True, text=True, check=True).stdout
    (include / "vmlinux.h").write_text(vmlinux)
    source = tmp_path / "prog.bpf.c"
    source.write_text(PROGRAM)
    obj = tmp_path / "prog.bpf.o"
    done = subprocess.run(["clang", "-target", "bpf", "-O2", "-g", "-nostdinc", "-D__TARGET_ARCH_x86",
                           f"-I{include}", "-c", str(source), "-o", str(obj)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return obj


def test_tinybpf_front_end_accepts_the_program() -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no kernel BTF (/sys/kernel/btf/vmlinux)")
    checked = check(PROGRAM, "prog.bpf.c", Options(defines=[("__TARGET_ARCH_x86", "1")]))
    assert {"on_getppid", "on_unlinkat", "____on_unlinkat", "on_getpid_syscall"} <= set(checked.types.scope.names)


def test_helper_defs_declare_every_helper_as_its_id() -> None:
    text = helper_defs()
    assert "static void *(* const bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;" in text
    assert "static long (* const bpf_trace_vprintk)(" in text


@pytest.mark.kernel
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the program's kprobes name x86-64 syscalls")
def test_clang_compiles_against_tinybpf_headers_and_the_object_works(tmp_path: Path) -> None:
    _tools()
    from tinybpf.objects import Object

    obj = Object.open(_build(tmp_path))
    obj.rodata.target_tid = threading.get_native_id()  # only this thread's calls count
    with obj.load(programs=["on_getppid"]):
        obj.attach_program("on_getppid")
        os.getppid()
        os.getppid()
        bss = obj.bss
        assert bss.seen_tgid == os.getpid() and bss.parent_tgid == os.getppid()
        assert bss.pid_exists == 1 and bss.swapped == 0x3412 and bss.narg == 5 and bss.printed > 0
        with open(f"/proc/{os.getpid()}/comm", "rb") as f:
            name = f.read().strip()[:15]
        assert bss.comm == name and bss.comm_len == len(name) + 1
        counts = obj.maps["counts"]
        before = counts[threading.get_native_id()]
        for _ in range(5):
            os.getppid()
        assert counts[threading.get_native_id()] == before + 5
