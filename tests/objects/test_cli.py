"""``tinybpf load``, ``tinybpf run``, ``tinybpf btf dump`` and the sockex1 example, run for real."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "loader"
SOCKEX1 = ROOT / "examples" / "sockex1"
COUNT_LINE = re.compile(r"^TCP \d+ UDP \d+ ICMP (\d+) bytes$")


def test_btf_dump_raw_matches_bpftool(capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is not installed")
    obj = DATA / "globals.bpf.o"
    assert main(["btf", "dump", "--file", str(obj)]) == 0
    ours = capsys.readouterr().out
    theirs = subprocess.run(["bpftool", "btf", "dump", "file", str(obj)], capture_output=True, text=True,
                            check=True).stdout
    assert ours == theirs


def test_btf_dump_c_of_one_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["btf", "dump", "--format", "c", "--file", str(DATA / "maps.bpf.o"), "value"]) == 0
    assert "struct value {" in capsys.readouterr().out
    assert main(["btf", "dump", "--file", str(DATA / "maps.bpf.o"), "no_such_type"]) == 1


@pytest.mark.kernel
def test_load_prints_one_line_per_program(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(DATA / "subprogs.bpf.o")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["first\txdp\txdp\tok", "second\txdp\txdp\tok", "third\ttc\tsched_cls\tok"]


@pytest.mark.kernel
def test_load_selected_program_and_failure_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(DATA / "subprogs.bpf.o"), "--program", "third"]) == 0
    assert capsys.readouterr().out.splitlines() == ["third\ttc\tsched_cls\tok"]
    assert main(["load", str(DATA / "verifier_fail.bpf.o")]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("unchecked\txdp\txdp\tfailed:") and "verifier_fail.bpf.c:17" in line


@pytest.mark.kernel
def test_load_attaches_by_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(DATA / "kconfig.bpf.o")]) == 0
    assert "attached to raw_tracepoint sys_enter" in capsys.readouterr().out


@pytest.mark.kernel
def test_load_pins_maps_and_programs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tinybpf.kernel.bpffs import find_bpffs

    root = find_bpffs()
    if root is None:
        pytest.skip("no bpffs")
    pins = Path(root) / f"tinybpf-cli-{tmp_path.name}"
    try:
        assert main(["load", str(DATA / "legacy.bpf.o"), "--pin-maps", str(pins), "--pin-programs",
                     str(pins)]) == 0
        assert sorted(p.name for p in pins.iterdir()) == ["count", "counts", "seen"]
    finally:
        if pins.exists():
            for pin in pins.iterdir():
                pin.unlink()
            pins.rmdir()


@pytest.mark.kernel
def test_run_prints_maps_and_stops_on_sigterm() -> None:
    process = subprocess.Popen([sys.executable, "-m", "tinybpf.cli.main", "run", str(DATA / "kconfig.bpf.o")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    attached = process.stdout.readline()  # printed (and flushed) once attached: the handler is in place
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    out = attached + out
    assert process.returncode == 0, err
    assert "read_config: attached to raw_tracepoint sys_enter" in out
    assert re.search(r"^\.bss\.hz = \d+$", out, re.M)


@pytest.mark.kernel
@pytest.mark.parametrize("flavour", [[], ["--btf"]], ids=["legacy-maps", "btf-maps"])
def test_sockex1_counts_its_pings(flavour: list[str]) -> None:
    if shutil.which("ping") is None:
        pytest.skip("ping is not installed")
    done = subprocess.run([sys.executable, str(SOCKEX1 / "sockex1_user.py"), "--seconds", "2", *flavour],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(COUNT_LINE.match(line) for line in lines)
    match = COUNT_LINE.match(lines[-1])
    assert match is not None and int(match.group(1)) > 0


@pytest.mark.kernel
def test_sockex1_stops_cleanly_on_sigint() -> None:
    process = subprocess.Popen([sys.executable, str(SOCKEX1 / "sockex1_user.py"), "--seconds", "30"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().startswith("TCP ")  # counting: attached, and past all imports
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in err
