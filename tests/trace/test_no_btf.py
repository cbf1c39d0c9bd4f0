"""On a kernel without BTF (Debian's armhf kernels), what needs kernel types says so in one line."""
from __future__ import annotations

import os
import subprocess
import sys


def test_curtask_fields_name_the_missing_btf_and_the_way_out() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tinybpf", "trace", "--btf", "/nonexistent/vmlinux", "-e",
         'BEGIN { printf("%d\\n", curtask->pid); exit(); }'],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TINYBPF_NO_CACHE": "1"},
    )
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert "curtask->pid needs the kernel's BTF" in first and "/nonexistent/vmlinux" in first
    assert "--btf FILE" in first and "Traceback" not in done.stderr
