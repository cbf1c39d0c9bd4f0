"""Type checking of function bodies: C's conversions, the constraints clang enforces, several errors per run."""
from __future__ import annotations

import pytest

from tinybpf.cc.diagnostics import CCError
from tinybpf.cc.frontend import check
from tinybpf.cc.preprocess import Options
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.syntax import ast


def errors(source: str) -> list[str]:
    with pytest.raises(CCError) as info:
        check(source, "t.c", Options())
    return [f"{d.loc.line}:{d.loc.column}: {d.message}" for d in info.value.diagnostics  # type: ignore[union-attr]
            if d.severity == "error"]


def warnings(source: str) -> list[str]:
    checked = check(source, "t.c", Options())
    return [f"{d.loc.line}: {d.message}" for d in checked.diagnostics.items if d.severity == "warning"]  # type: ignore[union-attr]


def returned_type(source: str) -> str:
    """The type of the expression of the last return statement."""
    checked = check(source, "t.c", Options())
    body = [i for i in checked.unit.items if isinstance(i, ast.FunctionDef)][-1].body
    last = body.items[-1]
    assert isinstance(last, ast.Jump) and last.value is not None
    return str(checked.expression_types[id(last.value)])


@pytest.mark.parametrize(("expression", "expected"), [
    ("a + b", "int"),  # unsigned char promotes to int
    ("u + i", "unsigned int"),
    ("l + u", "long"),
    ("ul - l", "unsigned long"),
    ("l << a", "long"),
    ("p - p", "long"),
    ("p + 1", "int *"),
    ("*p", "int"),
    ("&s", "struct s *"),
    ("s.x[1]", "char"),
    ("sp->y", "long"),
    ("a ? u : l", "long"),
    ("a == b", "int"),
    ("(char)l", "char"),
    ("sizeof(s)", "unsigned long"),
    ("({ int t = 1; t + l; })", "long"),
    ("e", "enum color"),
])
def test_expression_types(expression: str, expected: str) -> None:
    source = ("struct s { char x[4]; long y; }; enum color { RED, GREEN };\n"
              "long f(unsigned char a, unsigned char b, unsigned u, int i, long l, unsigned long ul, int *p,"
              f" struct s s, struct s *sp, enum color e) {{ return {expression}; }}")
    assert returned_type(source) == expected


def test_errors_clang_reports() -> None:
    source = """struct s { int a; };
const int limit = 3;
int g(int x, int y);
void v(void) { return 1; }
int f(int n) {
    struct s s;
    undeclared = 1;
    s.b = 2;
    n.a = 3;
    break;
    case 1: ;
    switch (n) { case 1: break; case 1: break; }
    limit = 4;
    n + 1 = 5;
    g(1);
    goto nowhere;
    return;
}
"""
    assert errors(source) == [
        "4:16: void function 'v' should not return a value",
        "7:5: use of undeclared identifier 'undeclared'",
        "8:6: no member named 'b' in 'struct s'",
        "9:6: member reference base type 'int' is not a structure or union",
        "10:5: 'break' statement not in loop or switch statement",
        "11:5: 'case' statement not in switch statement",
        "12:38: duplicate case value '1'",
        "13:11: cannot assign to a read-only variable of type 'const int'",
        "14:11: expression is not assignable",
        "15:6: too few arguments to function call, expected 2, have 1",
        "17:5: non-void function 'f' should return a value",
        "16:5: use of undeclared label 'nowhere'",
    ]


def test_warnings() -> None:
    source = "int f(int *p) { char c = 300; int x = 0x100000000; long ok = -1; p = 5; return (long)p; }"
    assert warnings(source) == [
        "1: implicit conversion from 'int' to 'char' changes value from 300 to 44",
        "1: implicit conversion from 'long' to 'int' changes value from 4294967296 to 0",
        "1: incompatible integer to pointer conversion assigning to 'int *' from 'int'",
    ]


def test_helper_calls_check_against_their_prototypes() -> None:
    source = '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nint f(void *ctx) { return bpf_map_lookup_elem(ctx); }\n'
    assert errors(source) == ["3:46: too few arguments to function call, expected 2, have 1"]


def test_locals_are_scoped() -> None:
    assert errors("int f(void) { { int inner = 1; } return inner; }") == [
        "1:41: use of undeclared identifier 'inner'"]
    checked = check("int f(int x) { for (int i = 0; i < x; i++) x += i; return x; }", "t.c", Options())
    assert isinstance(ct.strip_typedefs(checked.types.scope.names["f"].type), ct.Function)  # type: ignore[arg-type]
