"""`tinybpf prog|map list|show|dump` against what is really loaded, and bpftool's view of it."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.maps import Map
from tinybpf.programs import Program

RETURN_ZERO = bytes.fromhex("b700000000000000" "9500000000000000")


def tinybpf(*args: str, check: bool = True) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    proc = subprocess.run([sys.executable, "-m", "tinybpf", *args], capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_usage_errors_are_one_line() -> None:
    proc = tinybpf("prog", "frobnicate", check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("tinybpf: error:")


@pytest.mark.kernel
def test_prog_list_show_and_dump() -> None:
    with Program.load(ProgType.SOCKET_FILTER, RETURN_ZERO, name="cli_test") as prog:
        prog_id = prog.info().id
        listed = json.loads(tinybpf("prog", "list", "--json").stdout)
        mine = [p for p in listed if p["id"] == prog_id]
        assert mine and mine[0]["name"] == "cli_test" and mine[0]["type"] == "socket_filter"
        text = tinybpf("prog", "show", str(prog_id)).stdout
        assert text.startswith(f"{prog_id}: socket_filter  name cli_test  tag {prog.info().tag}")
        dump = tinybpf("prog", "dump", "xlated", "id", str(prog_id)).stdout.splitlines()
        assert dump == ["   0: (b7) r0 = 0", "   1: (95) exit"]


@pytest.mark.kernel
def test_map_dump_matches_bpftool() -> None:
    if not shutil.which("bpftool"):
        pytest.skip("bpftool not installed (apt-get install bpftool)")
    with Map.create(MapType.HASH, key=int, value=int, key_size=4, value_size=8, max_entries=8, name="cli_map") as m:
        for i in range(5):
            m[i] = i * 1000
        map_id = m.info.id
        ours = tinybpf("map", "dump", str(map_id)).stdout
        ref = subprocess.run(["bpftool", "map", "dump", "id", str(map_id)], capture_output=True, text=True).stdout
        assert _lines(ours) == _lines(ref)
        shown = json.loads(tinybpf("map", "show", str(map_id), "--json").stdout)
        assert shown["name"] == "cli_map" and shown["max_entries"] == 8 and shown["type"] == "hash"


def _lines(text: str) -> list[str]:
    return sorted(line.strip() for line in text.strip().splitlines())


@pytest.mark.kernel
def test_missing_ids_are_one_clear_line() -> None:
    for noun in ("prog", "map"):
        proc = tinybpf(noun, "show", "id", "999999999", check=False)
        assert proc.returncode == 1
        assert proc.stderr == f"tinybpf: error: no {'program' if noun == 'prog' else 'map'} with id 999999999 " \
            f"(hint: see `tinybpf {noun} list`)\n"
        for bad in ("-1", "0", "99999999999", "x"):
            proc = tinybpf(noun, "show", "id", bad, check=False)
            assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "invalid" in proc.stderr, proc.stderr


@pytest.mark.kernel
def test_without_privileges_prog_list_prints_one_line() -> None:
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop capabilities")
    proc = subprocess.run(
        ["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-m", "tinybpf", "prog", "list"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "EPERM" in proc.stderr and "hint: run as root" in proc.stderr


@pytest.mark.kernel
def test_features_reports_what_this_kernel_accepts() -> None:
    doc = json.loads(tinybpf("features", "--json").stdout)
    for prog_type in ("tracepoint", "socket_filter", "xdp", "kprobe"):
        assert doc["program_types"][prog_type]["available"], prog_type
    for map_type in ("hash", "array", "ringbuf"):
        assert doc["map_types"][map_type]["available"], map_type
    assert set(doc["attach_kinds"]) >= {"tracepoint", "kprobe", "uprobe", "fentry"}
    assert doc["attach_kinds"]["tracepoint"]["available"] and doc["attach_kinds"]["uprobe"]["available"]


@pytest.mark.kernel
def test_features_on_this_machine() -> None:
    """This VM: no kprobe PMU, fentry refused with EPERM (a fact about the machine, probed for real)."""
    doc = json.loads(tinybpf("features", "--json").stdout)
    if doc["attach_kinds"]["fentry"]["available"]:
        pytest.skip("this kernel allows fentry")
    assert doc["attach_kinds"]["fentry"]["reason"] in ("EPERM from BPF_PROG_LOAD", "EINVAL from BPF_PROG_LOAD")
