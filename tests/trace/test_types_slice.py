"""The type system: enums that print their names, integer-array casts, byte comparisons, bitfields in struct
values, tuple alignment, C attributes and macros. Expected outputs are those of bpftrace's runtime suite
(tests/runtime) for the same scripts.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tinybpf.trace.semantics.c_types import CTypes
from tinybpf.trace.syntax.c_macros import macro_constants
from tinybpf.trace.syntax.lexer import tokenize
from tinybpf.trace.syntax.parser import parse

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF programs needs root")


def run(script: str, *options: str) -> str:
    """Run a BEGIN script (it must call exit()); stdout without the banner and blank lines."""
    result = subprocess.run([*TRACE, *options, "-e", script], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    return "\n".join(line for line in result.stdout.splitlines() if line and not line.startswith("Attached"))


# ----------------------------------------------------------------- no kernel needed


def test_attributes_and_comments_after_a_struct_body_belong_to_the_definition() -> None:
    tokens, errors = tokenize("struct foo { int x; char y; int z; } /**/ __attribute__ /**/ ((packed)) /**/ "
                              "begin { }")
    assert not errors
    assert tokens[0].kind == "STRUCT_DEFN" and tokens[0].text.endswith("((packed))")
    assert tokens[1].text == "begin"


def test_script_enums_know_their_enumerators() -> None:
    types = CTypes("enum Foo { ONE = 1, TWO, OTHER = 99999 }; enum { A = 5, B = A };")
    foo = types.enum_type("enum Foo")
    assert foo is not None and dict(foo.enumerators) == {1: "ONE", 2: "TWO", 99999: "OTHER"}
    assert types.enumerator_type("TWO") == foo
    assert types.enum_value("B") == 5


def test_arrays_of_structs_defined_earlier_have_their_size() -> None:
    types = CTypes("struct T { int a; int b[2]; }; struct C { int a; struct T w[10]; };")
    assert types.record("struct C").size == 4 + 12 * 10


def test_defines_and_syscall_numbers() -> None:
    constants = macro_constants("#define FOO 0x10\n#define BAR (-3)\n#define DIR 010\n")
    assert constants == {"FOO": 16, "BAR": -3, "DIR": 8}
    if os.path.exists(f"/usr/include/{os.uname().machine}-linux-gnu/asm/unistd_64.h"):
        assert macro_constants("#include <syscall.h>\n")["__NR_read"] == 0


def test_cast_and_let_types_take_array_lengths() -> None:
    program = parse("begin { $a = (int8[8])1; $b = (int8[])1; let $w: struct W[10]; }")
    statements = program.probes[0].block.statements
    assert [s.expr.type.array_length for s in statements[:2]] == [8, 0]
    assert statements[2].type.array_length == 10


# ----------------------------------------------------------------- kernel


@pytest.mark.kernel
@needs_root
@pytest.mark.parametrize(("script", "expected"), [
    ('enum Foo { ONE = 1, TWO = 2, OTHER = 99999 }; begin { $two = TWO; @other = OTHER; '
     'printf("%d %s %d %s %d %s\\n", ONE, ONE, $two, $two, @other, @other); exit() }',
     "1 ONE 2 TWO 99999 OTHER\n@other: OTHER"),
    ('enum Foo { A, B, C, }; begin { printf("%-5s %5s %s\\n", A, B, C); exit() }', "A         B C"),
    ('enum BAZ { FOO = 333, BAR }; begin { $x = 444; print((enum BAZ)333); print((enum BAZ)$x); '
     'print((FOO, BAR)); exit() }', "FOO\n444\n(FOO, BAR)"),
    ("enum { ONE = 1, TWO = 2 }; begin { @[ONE, TWO] = 1; @n[ONE + 1] = TWO - 1; exit() }",
     "@[ONE, TWO]: 1\n@n[2]: 1"),
    ('begin { printf("%x %x\\n", ((int8[8])12345)[0], ((int8[])12345)[1]); exit() }', "39 30"),
    ('begin { print((int8[])"hello"); @a = (bool[2])(uint16)1; exit() }', "[104,101,108,108,111,0]\n"
     "@a: [true,false]"),
    ('begin { printf("%x\\n", (uint32)pton("127.0.0.1")); exit() }', "100007f"),
    ('begin { $a = buf("hi", 2); $b = buf("bye", 3); $x = (int8[2])(uint16)1; $y = (int8[2])(uint16)2; '
     'printf("%d %d %d %d\\n", $a == $a, $a != $b, $x == $x, $x == $y); exit() }', "1 1 1 0"),
    ("struct foo { unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2; } "
     "begin { $val = (uint64)0x1e; $f = *(struct foo *)(&$val); print($f); exit() }",
     "{ .x_0 = 0, .x_1 = 1, .x_2 = 3 }"),
    ("struct Foo { int m; int n; } begin { $v = (uint64)0; $t = ((int32)1, *((struct Foo *)&$v)); "
     "print(sizeof($t)); exit() }", "12"),
    ('struct Foo { int x; struct Bar { int x; } bar; } begin { printf("%ld\\n", offsetof(struct Foo, bar.x)); '
     "exit() }", "4"),
    ("struct bar { int x; char y; int z; } __attribute__((packed)) begin { print(sizeof(struct bar)); exit() }",
     "9"),
    ("begin { let $a: typeof(size_t) = 1; $c = (uint64_t)1; $d = (char)1; print(($c, $d)); exit() }", "(1, 1)"),
    ('#define ANSWER 42\nbegin { printf("%d\\n", ANSWER); exit() }', "42"),
])
def test_type_scripts(script: str, expected: str) -> None:
    assert run(script) == expected


@pytest.mark.kernel
@needs_root
def test_kernel_enums_print_their_names() -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("the kernel has no BTF")
    assert run('begin { printf("%d %s\\n", sizeof(BTF_VAR_STATIC), (enum btf_func_linkage)1); exit() }') == \
        "8 BTF_FUNC_GLOBAL"
