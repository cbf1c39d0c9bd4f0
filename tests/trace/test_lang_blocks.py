"""Newer bpftrace syntax: block expressions, ``if`` as a value, ``_ =``, ``a ?: b``, map declarations,
``typeof``, unreachable code, zero divisors and loops with run-time bounds. Expected outputs are those of
bpftrace's own runtime suite (tests/runtime) for the same scripts.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tinybpf.trace.compiler import compile_trace
from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.parser import parse

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF programs needs root")


def run(script: str) -> tuple[str, str]:
    """Run a BEGIN-only script (it must call exit()); (stdout without blank lines and the banner, stderr)."""
    result = subprocess.run([*TRACE, "-e", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out = "\n".join(line for line in result.stdout.splitlines() if line and not line.startswith("Attached"))
    return out, result.stderr


# ----------------------------------------------------------------- parsing (no kernel needed)


def test_block_expression_statements_run_before_the_statement_using_its_value() -> None:
    program = parse("begin { print({ $x = 1; print(2); $x + 1 }); }")
    statements = program.probes[0].block.statements
    assert [type(s).__name__ for s in statements] == ["AssignVarStatement", "ExprStatement", "ExprStatement"]
    last = statements[-1]
    assert isinstance(last, ast.ExprStatement) and isinstance(last.expr, ast.Call)
    assert isinstance(last.expr.args[0], ast.Binop)


def test_if_expression_is_a_ternary() -> None:
    program = parse("begin { $a = if (1) { 2 } else { if 0 { 3 } else { 4 } }; }")
    assign = program.probes[0].block.statements[0]
    assert isinstance(assign, ast.AssignVarStatement) and isinstance(assign.expr, ast.Ternary)
    assert isinstance(assign.expr.otherwise, ast.Ternary)


def test_map_declarations_and_parenthesis_free_conditions() -> None:
    program = parse("let @a = lruhash(10); let @b = hash(2); begin { if 1 { for $i : 0..2 { _ = $i; } } }")
    assert [(d.name, d.kind, d.max_entries) for d in program.map_decls] == [("@a", "lruhash", 10),
                                                                            ("@b", "hash", 2)]


def test_declared_map_takes_its_type_and_size() -> None:
    from tinybpf.kernel.constants import MapType

    trace = compile_trace("let @a = lruhash(5); begin { @a[1] = 2; }")
    layout = trace.maps["@a"]
    assert (layout.map_type, layout.max_entries) == (MapType.LRU_HASH, 5)


def test_unused_and_unreachable_are_warnings() -> None:
    trace = compile_trace("let @u = hash(1); i:ms:100 { @++; exit(); @++ }")
    assert any("WARNING: Unused map: @u" in w for w in trace.warnings)
    assert any("WARNING: Unreachable statement." in w for w in trace.warnings)


# ----------------------------------------------------------------- running


@pytest.mark.kernel
@needs_root
@pytest.mark.parametrize(("script", "expected"), [
    ('begin { print({ $x = 1; print ("bob"); $x + 1 }); exit(); }', "bob\n2"),
    ("begin { _ = { print(1); 1 }; exit(); }", "1"),
    ("begin { @ = { let $a = 100; avg($a) }; exit(); }", "@: 100"),
    ("begin { let $x=1; let $y=2; print(if ($x) { if ($y) { $x } else { $y } } else { 0 }); exit(); }", "1"),
    ("begin { $x = 1; $a =$x ?: 10; $b = 0 ?: 20; print(($a, $b)); exit(); }", "(1, 20)"),
    ('begin { $a = (foo={ printf("h"); 1 }, bar=2); $a = (bar=1, foo=2); print($a); exit(); }', "h{ .foo = 2, .bar = 1 }"),
    ("macro add(x) { let $y: typeof(x); if (true) { $y = 1 } x + $y } begin { print(add(1)); exit(); }", "2"),
    ('begin { nsecs ? printf("yes\\n") : printf("no"); $b = nsecs ? true : false; print($b); exit(); }', "yes\ntrue"),
    ("begin { @map[5] = 3; for ($i : 1..@map[5]) { print($i); } exit(); }", "1\n2\n@map[5]: 3"),
    ("begin { @a = 2; for ($i : 0..@a) { @a += 1; } exit(); }", "@a: 4"),
    ('begin { @m[1] = 1; for ($kv : @m) { print(1); exit(); return; } print("end"); }', "1\n@m[1]: 1"),
])
def test_scripts(script: str, expected: str) -> None:
    assert run(script)[0] == expected


@pytest.mark.kernel
@needs_root
def test_full_declared_map_and_zero_divisor_warn_at_run_time() -> None:
    out, err = run("let @a = hash(1); begin { @a[1] = 1; @a[2] = 2; @z = 0; print(10 / @z); delete(@z); exit(); }")
    assert out == "1\n@a[1]: 1"
    assert "WARNING: Map full; can't update element" in err
    assert "WARNING: Divide or modulo by 0 detected" in err
