"""Differential tests: the installed ``bpftrace`` (0.17, dry run ``-d``) and tinybpf print the same AST and
the same syntax errors for the same scripts. Skipped where that bpftrace is not available."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import TraceError
from tinybpf.trace.syntax.parser import parse


def _bpftrace_017() -> str:
    """Why the differential tests cannot run here, or "" when they can."""
    if shutil.which("bpftrace") is None:
        return "bpftrace is not installed"
    if os.geteuid() != 0:
        return "bpftrace refuses to run without root"
    version = subprocess.run(["bpftrace", "--version"], capture_output=True, text=True).stdout
    return "" if version.startswith("bpftrace v0.17.") else f"expected bpftrace v0.17, found {version.strip()}"


pytestmark = pytest.mark.skipif(bool(_bpftrace_017()), reason=_bpftrace_017() or "available")

_NOISE = ("available_filter_functions", "RLIMIT_MEMLOCK")


def bpftrace_parser_output(source: str) -> str:
    """The parser-stage AST bpftrace prints, or its error messages when it rejects the script."""
    run = subprocess.run(["bpftrace", "-d", "-e", source], capture_output=True, text=True, timeout=60)
    lines = [line for line in (run.stdout + run.stderr).split("\n") if not any(n in line for n in _NOISE)]
    text = "\n".join(lines)
    marker = "AST after: parser\n-------------------\n"
    if marker in text:
        return text.split(marker, 1)[1].split("\n\n", 1)[0] + "\n"
    return text


def tinybpf_parser_output(source: str) -> str:
    try:
        return ast.dump(parse(source), lambda e: "none, ctx: 0")
    except TraceError as error:
        return error.render()


SOURCES = [
    *(p.read_text() for p in sorted((Path(__file__).parent / "scripts").glob("*.bt"))),
    "BEGIN { $x = 1 & 2 == 3; $y = !1 == 2; $z = -1 << 2; $w = 1 -1; $v = ~1 * -2; }",
    "BEGIN { $x = 1 ? 2 : 3 ? 4 : 5; $y = 1 || 2 && 3 | 4 ^ 5 & 6; $z = 1 - 2 - 3; $w = 1 < 2 < 3; }",
    "BEGIN { $x = (int8)-1; $y = -(int8)1; $z = !(uint8)1; $q = (uint8)$x->y; $r = (struct task_struct *)0; }",
    "BEGIN { @x[1,2] = 1; @y[(1,2)] = 2; $t = (1,(2,3)).1; @a[1].b->c[2]; -@y++; ! - 1; --@z[1]; }",
    "BEGIN { @x = 0xffffffffffffffff; @y = -0x8000000000000000; @z = 1_000; @w = 1e3; @v = 010; @u = 5u; }",
    "BEGIN { if (1) { } else if (2) { } else { } unroll(3) { } } END { printf(\"%s\\n\", str(arg0)); }",
    "i:s:1, hardware:cycles:1e6, kprobe:f+0x10, uprobe:\"/a b\":fn, u:/bin/sh:0x1234, w:0x1234:8:rw { }",
    "BEGIN { @x = ; }",
    "BEGIN { printf(\"x); }",
    "BEGIN{$x=1`2;}",
    "BEGIN { @x = 1 } x",
    "BEGIN { unroll(x) { } }",
    "BEGIN { $x = 1 ? 2:3; }",
    "BEGIN { @x = \"abc\\q\"; }",
    "BEGIN { @x = 1e20; }",
    "BEGIN { $x++; ++$x; $x--; pid++; }",
    "kprobe, uprobe:x { }",
    "BEGIN { }\n\nkprobe\n{ }\n",
    "BEGIN {\n\t@y = ;\n}",
]


@pytest.mark.parametrize("source", SOURCES)
def test_same_parser_output_as_bpftrace(source: str) -> None:
    assert tinybpf_parser_output(source) == bpftrace_parser_output(source)
