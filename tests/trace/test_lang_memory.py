"""Language breadth: bools, pointers and casts, script structs, kernel types from BTF, ``&``, range loops
and macros. Expected outputs are those of bpftrace's own runtime suite (tests/runtime) for the same scripts.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tinybpf.trace.compiler import compile_trace
from tinybpf.trace.semantics.c_types import CTypes
from tinybpf.trace.syntax.diagnostics import TraceError

TRACE = [sys.executable, "-m", "tinybpf", "trace"]


def run(script: str) -> str:
    """Run a BEGIN script (it must call exit()); stdout without the banner."""
    result = subprocess.run([*TRACE, "-e", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return "\n".join(line for line in result.stdout.splitlines() if line and not line.startswith("Attached"))


# ----------------------------------------------------------------- C definitions (no kernel needed)


def test_script_struct_layout_follows_c() -> None:
    types = CTypes("struct A { int32_t a; int32_t b; char c[28] }; struct foo { int x; char y; int z; };"
                   "struct bar { int x; char y; int z; } __attribute__((packed));")
    assert types.record("struct A").size == 36
    assert types.record("struct foo").size == 12
    assert types.record("struct bar").size == 9
    member = types.member("struct A", "c")
    assert member is not None and member.offset == 8 and member.type.kind == "string"


def test_bitfields_share_their_unit() -> None:
    types = CTypes("struct foo { unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2; };")
    record = types.record("struct foo")
    assert record.size == 8
    assert [(m.offset, m.bits, m.bit_shift) for m in record.members] == [(0, 1, 0), (0, 1, 1), (0, 2, 2)]


def test_nested_anonymous_structs_and_enums() -> None:
    types = CTypes("struct Foo { struct { int m[1] } y; struct { int n } a; }; enum E { ONE = 1, TWO };")
    assert types.record("struct Foo").size == 8
    assert types.member("struct Foo", "a").offset == 4
    assert (types.enum_value("ONE"), types.enum_value("TWO")) == (1, 2)


@pytest.mark.parametrize("script", [
    "begin { print((true, false)); exit(); }",
    "begin { $x = (1, (true, \"a\")); print($x); exit(); }",
    "begin { @x = (false, 1); exit(); }",
])
def test_bool_and_tuples_compile(script: str) -> None:
    assert compile_trace(script).programs


def test_macros_expand_hygienically() -> None:
    from tinybpf.trace.syntax import ast
    from tinybpf.trace.syntax.parser import parse

    program = parse("macro inc(x) { $y = x + 1; $y } macro bump($v) { $v += 1; } "
                    "begin { $y = 2; $z = inc(5); bump($z); }")
    names = [n.name for n in ast.walk(program.probes[0].block) if isinstance(n, ast.Variable)]
    assert "$y__inc_1" in names  # the macro's own $y is not the probe's $y
    assert "$z" in names and not any(name.startswith("$v") for name in names)  # bump($z) changes $z itself
    assert not any(isinstance(n, ast.Call) and n.name in ("inc", "bump") for n in ast.walk(program.probes[0].block))


def test_unknown_constructs_are_script_errors_not_crashes() -> None:
    for script in ("begin { print((nosuch, 1)); }", "begin { $x = (struct nosuch *)0; }",
                   "begin { $x = 1; print($x.foo); }"):
        with pytest.raises(TraceError):
            compile_trace(script)


# ----------------------------------------------------------------- real runs

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF programs needs root")


@pytest.mark.kernel
@needs_root
@pytest.mark.parametrize(("script", "expected"), [
    ("begin { print((true, false)); exit(); }", "(true, false)"),
    ("begin { @a[true] = false; exit(); }", "@a[true]: false"),
    ("begin{ @a = count(); @b = sum(0); print(((bool)@a, (bool)@b)); exit(); }", "(true, false)"),
    ("begin { @=(int32*) 0x32; @+=6; exit(); }", "@: 0x4a"),
    ("begin { @=(int16*) 0x32; @++; exit(); }", "@: 0x34"),
    ("begin { @dec = 4; @=(int32*) 0x32; @-=@dec; exit(); }", "@: 0x22"),
    ("struct A {int32_t a; int32_t b; char c[28] }; begin { $a=(struct A*) 1024; "
     "printf(\"%lu - 5 x %lu = %lu\\n\", $a, sizeof(struct A), $a-5); exit(); }", "1024 - 5 x 36 = 844"),
    ("begin { $a = (int64*) 0x32; $a++; if (0x32 < $a && $a > 0x32) { print(\"SUCCESS\"); } exit(); }",
     "SUCCESS"),
    ("begin { @ = (curtask || 0) ? 1 : 2; exit(); }", "@: 1"),
    ("begin { $a = (1, \"hello\", 2); print(*(&$a)); exit(); }", "(1, hello, 2)"),
    ("begin { $a = \"hello\"; $b = (int8 *)&$a; printf(\"%c %c\\n\", *$b, *++$b); exit(); }", "h e"),
    ("enum E { ONE = 1, TWO }; begin { print((ONE, TWO)); exit(); }", "(ONE, TWO)"),
    ("begin { for ($i : 0..5) { print($i); } exit(); }", "0\n1\n2\n3\n4"),
    ("begin { for ($i : 1..4) { if ($i == 2) { continue; } print($i); } exit(); }", "1\n3"),
    ("macro inc($x) { $x += 1; $x } begin { $a = 1; $b = inc($a); print(($a, $b)); exit(); }", "(2, 2)"),
    ("macro inc(x) { $y = x + 1; $y } begin { $y = 2; $z = inc(5); print(($y, $z)); exit(); }", "(2, 6)"),
    ("macro add2(x) { x + add1(x) } macro add3(x) { x + add2(x) } macro add1(x) { x + 1 } "
     "begin { print(add3(1)); exit(); }", "4"),
    ("macro set(@x) { @x[1] = 2; } begin { @a[1] = 1; set(@a); exit(); }", "@a[1]: 2"),
    ("macro early() { exit(); } begin { early(); print(1); }", ""),
    ("begin { @map[16,17] = 32; for ($kv : @map) { printf(\"key: (%d,%d), val: %d\\n\", $kv.0.0, $kv.0.1, $kv.1); }"
     " exit(); }", "key: (16,17), val: 32"),
    ("begin { @map[0] = 0; @map[1] = 1; $var = 123; for ($kv : @map) { $var *= 2; } print($var); exit(); }", "492"),
    ("begin { @map[\"foo\"] = 1; @map[\"bar\"] = 2; for ($i : @map) { break; } print(\"done\"); exit(); }", "done"),
    ("begin { let $a; $a = 10; printf(\"a=%d\\n\", $a); exit(); }", "a=10"),
    ("begin { let $a; if ($a) { $a = 1; } @b = $a; exit(); }", "@b: 0"),
    ("begin { $v = (x=1, y=2); $t = (a=0, c=\"str\", d=(5, 6), e=$v); print($t); printf(\"%d %s\\n\", $t.a, $t.c);"
     " exit(); }", "{ .a = 0, .c = str, .d = (5, 6), .e = { .x = 1, .y = 2 } }\n0 str"),
    ("begin{ $a = (1, 2, 3); print($a[1 + 1]); exit(); }", "3"),
    ("begin { $c = ((int8)-4, ((int16)-5, -6)); @a[$c] = 12; @a[5, (6, 7)] = 13; exit(); }", "@a[-4, (-5, -6)]: 12"),
    ("begin { $a = (\"hi\", (\"hellolongstr\", 2)); print($a); $a = (\"hellolongstr\", (\"hi\", 5)); print($a);"
     " exit(); }", "(hi, (hellolongstr, 2))\n(hellolongstr, (hi, 5))"),
])
def test_suite_scripts(script: str, expected: str) -> None:
    assert run(script).startswith(expected)


@pytest.mark.kernel
@needs_root
def test_kernel_struct_fields_from_btf() -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("the kernel has no BTF")
    out = run("begin { printf(\"%d %d %s\\n\", curtask->pid, pid, "
              "((struct task_struct *)curtask)->real_parent->comm); exit(); }")
    task_pid, pid, parent = out.split()
    assert task_pid == pid
    with open("/proc/self/comm") as comm:
        assert parent == comm.read().strip()  # the trace's parent is this test process
