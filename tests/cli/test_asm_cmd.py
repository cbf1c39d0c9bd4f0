"""`tinybpf asm` and `tinybpf disasm` from the command line."""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "asm"

SOURCE = """\
; return 1 for UDP packets
r6 = r1
r0 = *(u8 *)skb[23]
if r0 != 17 goto other
r0 = 1
exit
other:
r0 = 0
exit
"""


def run(*args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run([sys.executable, "-m", "tinybpf", *args], capture_output=True, text=True, timeout=60)


def test_assemble_then_disassemble(tmp_path: pathlib.Path) -> None:
    (tmp_path / "p.s").write_text(SOURCE)
    assert run("asm", str(tmp_path / "p.s"), "-o", str(tmp_path / "p.bin")).returncode == 0
    assert (tmp_path / "p.bin").stat().st_size == 7 * 8
    out = run("disasm", str(tmp_path / "p.bin")).stdout
    texts = [line.split(":", 1)[1].strip() for line in out.splitlines()]
    assert texts == ["r6 = r1", "r0 = *(u8 *)skb[23]", "if r0 != 17 goto +2", "r0 = 1", "exit", "r0 = 0", "exit"]


def test_assembly_errors_name_file_line_and_column(tmp_path: pathlib.Path) -> None:
    (tmp_path / "bad.s").write_text("r0 = 0\nr0 += \nexit\n")
    proc = run("asm", str(tmp_path / "bad.s"), "-o", str(tmp_path / "bad.bin"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert re.match(rf"tinybpf: error: {re.escape(str(tmp_path / 'bad.s'))}:2:\d+: ", proc.stderr)


def test_disassembly_of_an_object_matches_llvm_objdump() -> None:
    if not shutil.which("llvm-objdump"):
        pytest.skip("llvm-objdump is not installed (apt-get install llvm)")
    obj = str(DATA / "maps-v3-el.o")
    ours = [line.split(":", 1)[1].strip() for line in run("disasm", obj).stdout.splitlines()
            if re.match(r"\s+\d+:", line)]
    ref = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", obj], capture_output=True, text=True).stdout
    # llvm-objdump annotates jumps with the label symbol (<LBB0_2>); the instruction text is what counts
    theirs = [re.sub(r"\s+", " ", re.sub(r" <\w+>$", "", line.split(":", 1)[1].strip())) for line in ref.splitlines()
              if re.match(r"\s+\d+:", line)]
    assert ours == theirs


def test_missing_file_is_one_line() -> None:
    proc = run("disasm", "/nonexistent.bin")
    assert proc.returncode == 1 and proc.stderr == "tinybpf: error: No such file or directory: /nonexistent.bin\n"
