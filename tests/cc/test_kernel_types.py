"""vmlinux.h as a virtual header: kernel types declared on demand from BTF (the kernel's or --btf FILE)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.btf import BTF, BTFBuilder, Int, Member, Struct, Typedef, kernel_btf
from tinybpf.btf.kinds import Kind
from tinybpf.cc.diagnostics import CCError
from tinybpf.cc.frontend import check
from tinybpf.cc.preprocess import Options
from tinybpf.cc.semantics import ctypes as ct

HAS_BTF = os.path.exists("/sys/kernel/btf/vmlinux")
needs_btf = pytest.mark.skipif(not HAS_BTF, reason="no kernel BTF (/sys/kernel/btf/vmlinux)")

PROGRAM = """#include "vmlinux.h"
struct event { pid_t pid; u32 ppid; char comm[TASK_COMM_LEN]; struct task_struct *task; };
int pid_offset = __builtin_offsetof(struct task_struct, pid);
int slots[BPF_MAP_TYPE_HASH + 1];
"""


def _record(checked: object, tag: str) -> ct.Record:
    found = checked.types.scope.tag(tag) or checked.types.external_tag("struct", tag)  # type: ignore[attr-defined]
    assert isinstance(found, ct.Record)
    return found


@needs_btf
def test_kernel_structs_have_btfs_layout_and_preserve_access_index() -> None:
    checked = check(PROGRAM, "p.c", Options())
    btf = kernel_btf()
    task = _record(checked, "task_struct")
    assert task.size == btf.sizeof(btf.find("task_struct", Kind.STRUCT))
    assert task.member("pid") is not None
    assert task.member("pid")[1] == btf.member(btf.find("task_struct", Kind.STRUCT), "pid").byte_offset  # type: ignore[index]
    assert "preserve_access_index" in task.attributes
    event = _record(checked, "event")
    assert [(f.name, f.offset) for f in event.definition().fields or ()] == [("pid", 0), ("ppid", 4), ("comm", 8), ("task", 24)]
    assert event.size == 32 and "preserve_access_index" not in event.attributes


@needs_btf
def test_only_named_types_are_built() -> None:
    checked = check('#include "vmlinux.h"\nstruct x { struct sk_buff *skb; u64 v; };\n', "p.c", Options())
    kernel = checked.types.external_tag.__self__  # type: ignore[union-attr]
    assert 0 < len(kernel._types) < 20  # not the 130,000 types of the whole kernel


def test_kernel_typedefs_are_types_only_after_the_include() -> None:
    with pytest.raises(CCError) as info:
        check("u32 x;\n", "p.c", Options())
    assert str(info.value).startswith("p.c:1:1: error: unknown type name 'u32'")


def test_types_of_another_kernel_through_btf_file(tmp_path: Path) -> None:
    """``--btf`` points at another kernel's types: its own offsets, not the running kernel's."""
    builder = BTFBuilder()
    u32 = builder.add(Int("unsigned int", 4, 0, 32))
    builder.add(Typedef("u32", u32))
    builder.add(Struct("task_struct", 64, (Member("state", u32, 0), Member("pid", u32, 8 * 40))))
    path = tmp_path / "other.btf"
    path.write_bytes(builder.encode())
    checked = check(PROGRAM.replace("TASK_COMM_LEN", "16").replace("pid_t", "u32").replace("BPF_MAP_TYPE_HASH", "1"),
                    "p.c", Options(), str(path))
    task = _record(checked, "task_struct")
    assert task.size == 64 and task.member("pid")[1] == 40  # type: ignore[index]
    assert BTF(path.read_bytes()).find("task_struct").name == "task_struct"


def test_missing_btf_is_one_error_at_the_include(tmp_path: Path) -> None:
    with pytest.raises(CCError) as info:
        check('int a;\n#include "vmlinux.h"\n', "p.c", Options(), str(tmp_path / "nope.btf"))
    message = str(info.value)
    assert message.startswith("p.c:2:2: error: vmlinux.h declares the kernel's types from BTF")
    assert "--btf FILE" in message


@needs_btf
def test_cc_syntax_only_and_emit_vmlinux_h(tmp_path: Path) -> None:
    source = tmp_path / "p.c"
    source.write_text(PROGRAM)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run([sys.executable, "-m", "tinybpf", "cc", "-fsyntax-only", str(source)], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    header = tmp_path / "vmlinux.h"
    done = subprocess.run([sys.executable, "-m", "tinybpf", "cc", "--emit-vmlinux-h", "-o", str(header)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "struct task_struct {" in header.read_text()


@needs_btf
def test_uapi_headers_give_btf_types_and_the_kernel_defines() -> None:
    """``<linux/if_ether.h>`` without headers on disk: ``struct ethhdr`` from BTF, ``ETH_P_IP`` from the
    shared table of kernel #defines (the one the trace language reads)."""
    source = ("#include <linux/bpf.h>\n#include <linux/if_ether.h>\n#include <linux/pkt_cls.h>\n"
              "int f(struct __sk_buff *skb) { struct ethhdr eth; return ETH_P_IP + ETH_HLEN + TC_ACT_OK"
              " + sizeof(eth) + BPF_ANY; }\n")
    checked = check(source, "p.c", Options())
    assert "f" in checked.types.scope.names
