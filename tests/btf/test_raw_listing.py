"""The raw listing equals ``bpftool btf dump ... format raw`` byte for byte, for vmlinux and test objects."""
from __future__ import annotations

import glob
from pathlib import Path

import pytest

from tinybpf.btf import BTF, kernel_btf
from tinybpf.btf.raw_listing import raw_lines

from .conftest import bpftool_raw, needs_bpftool, needs_kernel_btf, section_bytes

OBJECTS = sorted(glob.glob(str(Path(__file__).parent.parent / "data" / "*" / "*.bpf.o")))


@needs_bpftool
@needs_kernel_btf
def test_vmlinux_listing_is_bpftools() -> None:
    assert "\n".join(raw_lines(kernel_btf())) + "\n" == bpftool_raw("/sys/kernel/btf/vmlinux")


@needs_bpftool
@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: Path(p).name)
def test_object_listing_is_bpftools(path: str) -> None:
    btf = BTF(section_bytes(Path(path), ".BTF"), name=path)
    assert "\n".join(raw_lines(btf)) + "\n" == bpftool_raw(path)


@needs_kernel_btf
def test_selected_ids_list_in_the_order_given() -> None:
    btf = kernel_btf()
    task = btf.find("task_struct").id
    lines = list(raw_lines(btf, [task, 1]))
    assert lines[0].startswith(f"[{task}] STRUCT 'task_struct' size=") and lines[1].startswith("[1] ")
