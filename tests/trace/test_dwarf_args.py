"""DWARF-based uprobe arguments: the reader (``elf.dwarf``, ``elf.dwarf_lines``), ``-lv`` listings, and
``args`` / binary-only struct casts run for real against a gcc-built target (plain, stripped with a separate
debug file, and split DWARF)."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import time

import pytest

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
SOURCE = pathlib.Path(__file__).parent / "data" / "dwarf_args.c"


def _gcc(out: pathlib.Path, *flags: str) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    subprocess.run(["gcc", "-g", "-O0", *flags, str(SOURCE), "-o", str(out)], check=True, cwd=out.parent)
    return str(out)


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _gcc(tmp_path_factory.mktemp("dwarf") / "dwarf_args", "-no-pie")


@pytest.mark.parametrize("flags", [(), ("-gdwarf-4",), ("-gsplit-dwarf",)])
def test_parameters_and_type_names(tmp_path: pathlib.Path, flags: tuple[str, ...]) -> None:
    from tinybpf.elf.dwarf import DwarfInfo

    info = DwarfInfo.from_path(_gcc(tmp_path / "t", *flags))
    visit = info.functions("visit")[0]
    assert [(info.type_name(info.type_of(p)), p.name) for p in info.parameters(visit)] == [
        ("struct Point*", "p"), ("const char*", "name"), ("char", "c"), ("long unsigned int", "n")]
    assert "struct Point" in info.records()


def test_struct_layout_matches_the_compiler(binary: str) -> None:
    from tinybpf.trace.semantics.uprobe_args import DebugTypes

    record = DebugTypes([binary]).record("struct Point")
    assert record is not None
    members = {m.name: (m.offset, str(m.type), m.bits) for m in record.members}
    assert members == {"x": (0, "int32", 0), "label": (4, "string[8]", 0), "flags": (12, "uint16", 3),
                       "values": (16, "int64[2]", 0)}
    assert (record.size, record.align) == (32, 8)


def test_source_line_resolves_to_the_function_entry(binary: str) -> None:
    from tinybpf.trace.semantics.uprobe_args import source_location

    line = SOURCE.read_text().splitlines().index("{") + 1  # visit's opening brace
    assert source_location(binary, f"dwarf_args.c:{line}") == ("visit", 0)


def test_listing_shows_parameters(binary: str) -> None:
    result = subprocess.run([*TRACE, "-lv", f"uprobe:{binary}:visit"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.stdout.splitlines() == [f"uprobe:{binary}:visit", "    struct Point* p", "    const char* name",
                                          "    char c", "    long unsigned int n"]


def test_listing_finds_a_separate_debug_file(tmp_path: pathlib.Path) -> None:
    full = _gcc(tmp_path / "full")
    (tmp_path / "dbg").mkdir()
    subprocess.run(["objcopy", "--only-keep-debug", full, str(tmp_path / "dbg" / "stripped.debug")], check=True)
    subprocess.run(["objcopy", "--strip-debug", full, str(tmp_path / "stripped")], check=True)
    result = subprocess.run([*TRACE, "-lv", f"uprobe:{tmp_path}/stripped:visit", "--debuginfo=dbg"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.splitlines()[1:2] == ["    struct Point* p"]


@pytest.mark.kernel
def test_args_by_name_and_binary_struct_cast(binary: str) -> None:
    target = subprocess.Popen([binary])
    try:
        time.sleep(0.1)
        script = (f'uprobe:{binary}:visit {{ printf("%c %d %s %s %d\\n", args.c, args.p->x, args.p.label, '
                  'str(args.name), ((struct Point *)arg0).values[1]); print(args.n); exit(); }')
        result = subprocess.run([*TRACE, "-q", "-e", script], capture_output=True, text=True, timeout=60,
                                check=False)
    finally:
        target.kill()
        target.wait()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["z 42 pt hello 8", "9"]


@pytest.mark.kernel
def test_attach_to_a_source_line(binary: str) -> None:
    from tinybpf.elf import ElfFile

    entry = next(s.value for s in ElfFile.from_path(binary).symbols() if s.name == "visit")
    line = SOURCE.read_text().splitlines().index("{") + 1
    target = subprocess.Popen([binary])
    try:
        time.sleep(0.1)
        result = subprocess.run([*TRACE, "-q", "-e", f'uprobe:{binary}@dwarf_args.c:{line} {{ '
                                 'printf("%lx\\n", reg("pc")); exit(); }'], capture_output=True, text=True,
                                timeout=60, check=False)
    finally:
        target.kill()
        target.wait()
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0], 16) == entry


@pytest.mark.kernel
def test_rawtracepoint_args_are_named_from_btf() -> None:
    result = subprocess.run([*TRACE, "-q", "-e", "rawtracepoint:sched_switch { print(args); exit(); }"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0].startswith("{ .preempt = ")
