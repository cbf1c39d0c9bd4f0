"""User stacks and ``uaddr()`` against a small compiled target: build-id frames, symbols of a process that
has already exited, and globals of PIE and non-PIE executables."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
DATA = Path(__file__).parent / "data"


def build(tmp_path: Path, *flags: str, source: str = "uprobe_target.c") -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out = tmp_path / f"target{len(list(tmp_path.iterdir()))}"
    subprocess.run(["gcc", "-O1", *flags, "-o", str(out), str(DATA / source)], check=True)
    return str(out)


def run(program: str, binary: str) -> list[str]:
    result = subprocess.run([*TRACE, "-q", "-e", program.replace("BIN", binary), "-c", binary],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("flags", [("-no-pie",), ("-pie", "-fPIE")])
def test_uaddr_reads_a_global(tmp_path: Path, flags: tuple[str, ...]) -> None:
    binary = build(tmp_path, *flags, source="uaddr_target.c")
    assert run('uprobe:BIN:peek { printf("%d\\n", *uaddr("answer")); exit() }', binary) == ["42"]


def test_ustack_names_frames_of_an_exited_process(tmp_path: Path) -> None:
    binary = build(tmp_path, "-no-pie", "-fno-omit-frame-pointer")
    frames = run("uprobe:BIN:add { print(ustack); exit() }", binary)
    assert re.fullmatch(r"add\+\d+", frames[0])
    assert not any(frame.startswith("_end") for frame in frames), "libc frames are not named from the executable"


def test_ustack_build_id(tmp_path: Path) -> None:
    binary = build(tmp_path, "-no-pie", "-Wl,--build-id")
    frames = run("uprobe:BIN:add { print(ustack(build_id)); exit() }", binary)
    assert frames and all(re.fullmatch(r"[0-9a-f]+ 0x[0-9a-f]+|[0-9a-f]+", frame) for frame in frames)
    assert re.fullmatch(r"[0-9a-f]{40} 0x[0-9a-f]+", frames[0])
