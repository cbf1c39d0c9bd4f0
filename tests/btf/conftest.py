"""Inputs shared by the BTF tests: object BTF from the committed test objects, kernel BTF when present."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tinybpf.btf import BTF
from tinybpf.elf import ElfFile

OBJECTS_DIR = Path(__file__).resolve().parent.parent / "data" / "objects"
BPF_OBJECTS: list[Path] = sorted(OBJECTS_DIR.glob("*.bpf.o"))
VMLINUX = "/sys/kernel/btf/vmlinux"
BPFTOOL = shutil.which("bpftool")
CLANG = shutil.which("clang") or shutil.which("clang-14")

needs_kernel_btf = pytest.mark.skipif(not os.path.exists(VMLINUX), reason="kernel has no BTF at " + VMLINUX)
needs_bpftool = pytest.mark.skipif(BPFTOOL is None, reason="bpftool is not installed")
needs_clang = pytest.mark.skipif(CLANG is None, reason="clang is not installed")


def section_bytes(path: Path, name: str) -> bytes:
    section = ElfFile.from_path(path).section(name)
    assert section is not None, f"{path.name} has no {name}"
    return bytes(section.data())


def object_btf(name: str) -> BTF:
    """``object_btf("types-el")``: the .BTF section of a committed test object."""
    return BTF(section_bytes(OBJECTS_DIR / f"{name}.bpf.o", ".BTF"), name=name)


def bpftool_raw(path: str) -> str:
    assert BPFTOOL is not None
    return subprocess.run(
        [BPFTOOL, "btf", "dump", "file", path, "format", "raw"], check=True, capture_output=True, text=True
    ).stdout
