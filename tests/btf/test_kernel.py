"""The running kernel's BTF: known facts checked against bpftool, and the cold-lookup budget."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

from tinybpf.btf import Enum, Kind, Struct, kernel_btf

from .conftest import VMLINUX, bpftool_raw, needs_bpftool, needs_kernel_btf
from .test_reader import RAW_LINE

pytestmark = needs_kernel_btf


@pytest.fixture(scope="module")
def raw_dump() -> str:
    return bpftool_raw(VMLINUX)


def raw_struct(dump: str, name: str) -> dict[str, int]:
    """``size`` and each member's ``bits_offset`` of ``STRUCT name`` in bpftool's raw dump."""
    block = re.search(rf"^\[\d+\] STRUCT '{name}' size=(\d+) vlen=\d+\n((?:\t.*\n)*)", dump, re.M)
    assert block is not None
    found = {"size": int(block.group(1))}
    for member in re.finditer(r"'(\w+)' type_id=\d+ bits_offset=(\d+)", block.group(2)):
        found[member.group(1)] = int(member.group(2))
    return found


@needs_bpftool
def test_task_struct_layout_matches_bpftool(raw_dump: str) -> None:
    btf = kernel_btf()
    task = btf.find("task_struct", Kind.STRUCT)
    assert isinstance(task, Struct)
    expected = raw_struct(raw_dump, "task_struct")
    assert btf.sizeof(task) == expected["size"]
    for name in ("pid", "tgid", "comm", "flags", "real_parent"):
        assert btf.member(task, name).bit_offset == expected[name], name
    assert btf.c_name(btf.member(task, "comm").type) == "char[16]"
    assert btf.c_name(btf.member(task, "real_parent").type) == "struct task_struct *"


def test_bpf_map_type_values() -> None:
    btf = kernel_btf()
    map_type = btf.find("bpf_map_type", Kind.ENUM)
    assert isinstance(map_type, Enum)
    values = {v.name: v.value for v in map_type.values}
    assert values["BPF_MAP_TYPE_HASH"] == 1
    assert values["BPF_MAP_TYPE_ARRAY"] == 2
    assert values["BPF_MAP_TYPE_RINGBUF"] == 27


@needs_bpftool
def test_every_kind_and_name_matches_bpftool(raw_dump: str) -> None:
    btf = kernel_btf()
    expected = [m.groups() for m in map(RAW_LINE.match, raw_dump.splitlines()) if m]
    assert len(expected) == btf.count - 1
    ours = [(str(t.id), t.kind.name, t.name or "(anon)") for t in btf.types()]
    assert ours == expected


def test_saved_type_index_is_used_and_a_stale_one_ignored() -> None:
    from tinybpf.btf import BTF

    with open(VMLINUX, "rb") as f:
        data = f.read()
    fresh = BTF(data, name="vmlinux")
    saved = fresh.type_index()
    for index in (saved, saved[:-4], saved[4:], b"\xff" * len(saved)):
        btf = BTF(data, name="vmlinux", type_index=index)
        assert btf.type_index() == saved
        assert btf.member(btf.find("task_struct", Kind.STRUCT), "pid") == fresh.member(
            fresh.find("task_struct", Kind.STRUCT), "pid")


def test_kernel_btf_caches_its_index(tmp_path: pathlib.Path) -> None:
    code = ("from tinybpf.btf import kernel_btf, Kind\n"
            "btf = kernel_btf(); print(btf.member(btf.find('task_struct', Kind.STRUCT), 'pid').bit_offset)\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("TINYBPF_NO_CACHE", None)
    runs = [subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and int(runs[0]) > 0
    assert [p.name.endswith(".index") for p in (tmp_path / "tinybpf").iterdir()] == [True]


def test_module_btf_is_split_on_vmlinux() -> None:
    from tinybpf.btf import module_btf
    from tinybpf.kernel.btf_files import module_btf_names

    modules = module_btf_names()
    if not modules:
        pytest.skip("this kernel publishes no module BTF (/sys/kernel/btf has only vmlinux)")
    btf = module_btf(modules[0])
    assert btf.first_id == kernel_btf().count
    assert btf.base is kernel_btf()
    for t in btf.types():
        btf.c_name(t)
