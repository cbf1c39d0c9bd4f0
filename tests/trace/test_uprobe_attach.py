"""Uprobe and USDT attach points run for real: bounds checks, order, zip members, -p with mapped files."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

pytestmark = pytest.mark.kernel

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
DATA = pathlib.Path(__file__).parent / "data"


def _build(tmp_path_factory: pytest.TempPathFactory, source: str) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("uprobe") / source.removesuffix(".c")
    subprocess.run(["gcc", "-O1", "-o", str(out), str(DATA / source)], check=True)
    return str(out)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _build(tmp_path_factory, "uprobe_target.c")


@pytest.fixture(scope="module")
def usdt_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _build(tmp_path_factory, "usdt_tick.c")


def _trace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_offset_past_the_function_end_is_refused(target: str) -> None:
    result = _trace("-e", f"uprobe:{target}:add+100000 {{ exit(); }}")
    assert result.returncode != 0
    assert "Offset outside the function bounds ('add' size is" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_address_no_function_covers_is_refused(target: str) -> None:
    result = _trace("-e", f"uprobe:{target}:10 {{ exit(); }}")
    assert result.returncode != 0
    assert f"ERROR: Could not resolve address: {target}:0xa" in result.stderr


def test_probes_on_one_function_fire_in_the_order_written(target: str) -> None:
    result = _trace("-q", "-e", f'uprobe:{target}:mul {{ printf("first "); }} '
                                f'uprobe:{target}:mul {{ printf("second\\n"); exit(); }}', "-c", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("first second")


def test_probe_builtin_names_the_binary_as_written(target: str) -> None:
    relative = os.path.relpath(target)
    result = _trace("-q", "-e", f"uprobe:{relative}:mu* {{ print(probe); exit(); }}", "-c", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"uprobe:{relative}:mul"


def test_a_member_stored_in_a_zip_archive_attaches(target: str, tmp_path: pathlib.Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
        bundle.write(target, "bin/target")
    result = _trace("-e", f'uprobe:"{archive}!/bin/target":add {{}} BEGIN {{ exit() }}')
    assert result.returncode == 0, result.stderr
    assert "Attached 2 probes" in result.stderr


def test_usdt_probes_of_a_process_are_listed_and_attached_by_pid(usdt_binary: str) -> None:
    process = subprocess.Popen([usdt_binary])
    try:
        time.sleep(0.1)
        listed = _trace("-l", "usdt:*", "-p", str(process.pid))
        attached = _trace("-q", "-e", 'usdt::tinyprov:tick { printf("%d\\n", arg0); exit(); }', "-p",
                          str(process.pid))
    finally:
        process.kill()
        process.wait()
    assert listed.stdout.splitlines() == [f"usdt:/proc/{process.pid}/root{usdt_binary}:tinyprov:tick"]
    assert attached.returncode == 0, attached.stderr
    assert attached.stdout.split("\n")[0] == "7"


def test_flags_after_the_script_file_are_flags(target: str, tmp_path: pathlib.Path) -> None:
    script = tmp_path / "check.bt"
    script.write_text("BEGIN { printf(\"%d %s\\n\", $1, str($2)); exit(); }")
    result = _trace(str(script), "--unsafe", "5", "x")
    assert result.returncode == 0, result.stderr
    assert "5 x" in result.stdout
