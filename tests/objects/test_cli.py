"""``tinybpf load``, ``tinybpf run``, ``tinybpf btf dump`` and the sockex1 example, run for real."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.fixture
def bpffs_dir(tmp_path: Path) -> Iterator[Path]:
    from tinybpf.kernel.bpffs import find_bpffs

    root = find_bpffs()
    if root is None:
        pytest.skip("no bpffs")
    pins = Path(root) / f"tinybpf-cli-{tmp_path.name}"
    yield pins
    if pins.exists():
        shutil.rmtree(pins)


def _tinybpf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinybpf", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.kernel
def test_loadall_pins_programs_and_maps_that_outlive_the_command(bpffs_dir: Path) -> None:
    done = _tinybpf("prog", "loadall", str(DATA / "legacy.bpf.o"), str(bpffs_dir), "pinmaps", str(bpffs_dir / "maps"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in bpffs_dir.iterdir()) == ["count", "maps"]
    assert sorted(p.name for p in (bpffs_dir / "maps").iterdir()) == ["counts", "seen"]
    from tinybpf.programs import Program

    with Program.from_pin(str(bpffs_dir / "count")) as program:  # still loaded: the pin holds it
        assert program.info().name == "count"


@pytest.mark.kernel
@pytest.mark.parametrize("name", ["globals", "maps", "subprogs", "kconfig"])
def test_loadall_pins_what_bpftool_pins(bpffs_dir: Path, name: str) -> None:
    """Same object, same command line: the same program and map pin names as ``bpftool prog loadall``."""
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is not installed")
    obj = str(DATA / f"{name}.bpf.o")
    pinned = {}
    for tool, command in (("bpftool", ["bpftool", "prog", "loadall"]),
                          ("tinybpf", [sys.executable, "-m", "tinybpf", "prog", "loadall"])):
        where = bpffs_dir / tool
        where.mkdir(parents=True)  # bpftool creates only the last directory
        subprocess.run([*command, obj, str(where / "progs"), "pinmaps", str(where / "maps")], check=True,
                       capture_output=True)
        pinned[tool] = {kind: sorted(p.name for p in (where / kind).iterdir()) for kind in ("progs", "maps")}
    assert pinned["tinybpf"] == pinned["bpftool"]


@pytest.mark.kernel
def test_load_autoattach_pins_the_link(bpffs_dir: Path) -> None:
    done = _tinybpf("load", str(DATA / "kconfig.bpf.o"), str(bpffs_dir / "sub" / "link"), "autoattach", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)["programs"][0]
    assert record["attached"] == "raw_tracepoint sys_enter" and record["pinned"] == str(bpffs_dir / "sub" / "link")
    if shutil.which("bpftool"):
        shown = subprocess.run(["bpftool", "link", "show", "pinned", record["pinned"], "-j"], capture_output=True,
                               text=True, check=True)
        assert json.loads(shown.stdout)["prog_id"] == record["id"]


@pytest.mark.kernel
def test_failed_pin_leaves_nothing_behind(bpffs_dir: Path) -> None:
    bpffs_dir.mkdir()
    (bpffs_dir / "maps").mkdir()
    from tinybpf.kernel.constants import MapType
    from tinybpf.maps import Map

    with Map.create(MapType.ARRAY, 4, 4, 1) as squatter:
        squatter.pin(str(bpffs_dir / "maps" / "seen"))  # the second map's pin path is taken
    done = _tinybpf("loadall", str(DATA / "legacy.bpf.o"), str(bpffs_dir / "progs"), "pinmaps", str(bpffs_dir / "maps"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "exists" in done.stderr
    assert sorted(p.name for p in bpffs_dir.iterdir()) == ["maps"]
    assert sorted(p.name for p in (bpffs_dir / "maps").iterdir()) == ["seen"]


@pytest.mark.kernel
def test_loadall_needs_a_directory_and_load_refuses_unknown_words() -> None:
    done = _tinybpf("loadall", str(DATA / "legacy.bpf.o"))
    assert done.returncode == 1 and "needs a directory" in done.stderr
    done = _tinybpf("load", str(DATA / "legacy.bpf.o"), "/sys/fs/bpf/x", "type", "xdp")
    assert done.returncode == 1 and "unexpected 'type'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.kernel
def test_run_json_decodes_globals_through_btf() -> None:
    done = _tinybpf("run", str(DATA / "globals.bpf.o"), "--duration", "0.1", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["globals"][".rodata"] == {"factor": 3, "greeting": "hello", "negative": -5}
    assert result["globals"][".bss"]["history"] == [0, 0, 0, 0]
    assert result["programs"][0]["name"] == "compute" and result["programs"][0]["attached"] is None


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
