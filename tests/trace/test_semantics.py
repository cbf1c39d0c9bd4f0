"""Semantic analysis: types, map consistency, and bpftrace's error messages at bpftrace's locations."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.trace.compiler import Options, compile_trace
from tinybpf.trace.semantics.analyser import analyse
from tinybpf.trace.syntax.diagnostics import TraceError
from tinybpf.trace.syntax.parser import parse


def check(source: str):  # type: ignore[no-untyped-def]
    return analyse(parse(source), source)


def error_of(source: str) -> str:
    with pytest.raises(TraceError) as info:
        check(source)
    return info.value.render()


# Messages and markers as bpftrace 0.17 prints them (captured from /usr/bin/bpftrace).
ERRORS = {
    'BEGIN { foo(); }': "stdin:1:9-12: ERROR: Unknown function: foo\nBEGIN { foo(); }\n        ~~~\n",
    'BEGIN { @ = count(1); }':
        "stdin:1:13-21: ERROR: count() requires no arguments (1 provided)\nBEGIN { @ = count(1); }\n"
        "            ~~~~~~~~\n",
    'BEGIN { @ = retval; }':
        "stdin:1:13-19: ERROR: The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' "
        "probes\nBEGIN { @ = retval; }\n            ~~~~~~\n",
    'BEGIN { @ = arg0; }':
        "stdin:1:13-17: ERROR: The arg0 builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes\n"
        "BEGIN { @ = arg0; }\n            ~~~~\n",
    'BEGIN { print($x); }':
        "stdin:1:9-17: ERROR: Undefined or undeclared variable: $x\nBEGIN { print($x); }\n        ~~~~~~~~\n",
    'BEGIN { $x = 1; $x = "a"; }':
        "stdin:1:20-21: ERROR: Type mismatch for $x: trying to assign value of type 'string[2]' when variable "
        "already contains a value of type 'int64'\nBEGIN { $x = 1; $x = \"a\"; }\n                   ~\n",
    'BEGIN { @x = hist(); }':
        "stdin:1:14-20: ERROR: hist() requires one argument (0 provided)\nBEGIN { @x = hist(); }\n"
        "             ~~~~~~\n",
    'BEGIN { @ = lhist(1, 0, 10); }':
        "stdin:1:13-28: ERROR: lhist() requires 4 arguments (3 provided)\nBEGIN { @ = lhist(1, 0, 10); }\n"
        "            ~~~~~~~~~~~~~~~\n",
    'BEGIN { @ = str(1, 2, 3); }':
        "stdin:1:13-25: ERROR: str() takes up to 2 arguments (3 provided)\nBEGIN { @ = str(1, 2, 3); }\n"
        "            ~~~~~~~~~~~~\n",
    'BEGIN { exit("a"); }':
        "stdin:1:9-18: ERROR: exit() only supports int arguments (string[2] provided)\nBEGIN { exit(\"a\"); }\n"
        "        ~~~~~~~~~\n",
}


@pytest.mark.parametrize("source", sorted(ERRORS))
def test_error_matches_bpftrace(source: str) -> None:
    assert error_of(source) == ERRORS[source]


@pytest.mark.parametrize("source, message", [
    ('BEGIN { @a = 1; @a = "s"; }', "Type mismatch for @a: trying to assign value of type 'string[2]' when map "
                                    "already contains a value of type 'int64'"),
    ('BEGIN { @x[1] = 1; @x["a"] = 2; }', "Argument mismatch for @x"),
    ('BEGIN { @x = 1; @x[1] = 2; }', "Argument mismatch for @x"),
    ('BEGIN { @ = 1 + "a"; }', "Type mismatch for '+': comparing 'int64' with 'string[2]'"),
    ('BEGIN { @ = count(); @ = 1; }', "Type mismatch for @"),
    ('BEGIN { printf("%d\\n"); }', "printf: Not enough arguments for format string (0 supplied, 1 expected)"),
    ('BEGIN { printf("%d %s\\n", "a", 1); }', "printf: %d specifier expects a value of type integer"),
    ('BEGIN { print(@y); }', "Undefined map: @y"),
    ('BEGIN { @ = args->x; }', "The args builtin can only be used with tracepoint"),
    ('BEGIN { count(); }', "count() should be directly assigned to a map"),
    ('BEGIN { break; }', "break statement is not allowed outside of a loop"),
])
def test_errors(source: str, message: str) -> None:
    assert message in error_of(source)


def test_types_of_builtins_and_maps() -> None:
    result = check('BEGIN { @a[comm, pid] = 1; @b = count(); @c = sum(-1); $s = "abc"; @d = $s; }')
    maps = result.maps
    assert str(maps["@a"].key) == "(string[16],uint64)"
    assert str(maps["@a"].value) == "int64"
    assert maps["@b"].value.kind == "count" and maps["@c"].value.signed
    assert str(maps["@d"].value) == "string[4]"


def test_map_read_before_assignment_in_source_order() -> None:
    result = check("END { printf(\"%d\\n\", @x); } BEGIN { @x = 5; }")
    assert str(result.maps["@x"].value) == "int64"


def test_string_values_widen_to_the_longest() -> None:
    result = check('BEGIN { @s = "a"; @s = "abcdef"; }')
    assert str(result.maps["@s"].value) == "string[7]"


def test_tracepoint_args_types() -> None:
    try:
        result = compile_trace("tracepoint:raw_syscalls:sys_enter { @[args->id] = count(); }",
                               options=Options())
    except Exception as exc:  # no tracefs (not root)
        pytest.skip(str(exc))
    assert str(result.maps["@"].key) == "int64"


@pytest.mark.kernel  # reads tracefs (root-only) or loads programs
def test_unknown_tracepoint_field_names_the_struct() -> None:
    try:
        compile_trace("tracepoint:raw_syscalls:sys_enter { @ = args->foo; }")
    except TraceError as exc:
        assert "struct _tracepoint_raw_syscalls_sys_enter' does not contain a field named 'foo'" in exc.render()
    except Exception as exc:
        pytest.skip(str(exc))


TOKENS = ["BEGIN", "END", "i:s:1", "{", "}", "(", ")", "@", "@x", "@y[1]", "$x", "$1", "=", "+=", "++", ";",
          ",", "1", "-1", '"s"', "printf", "count()", "sum", "hist", "lhist", "str", "print", "exit()", "pid",
          "comm", "args", "arg0", "retval", "if", "else", "while", "unroll", "+", "-", "*", "/", "<<", ">>",
          "==", "&&", "||", "?", ":", "!", "(uint8)", "delete", "clear", "zero", "strncmp", "sizeof", "$#",
          ".0", "->x", "/pid == 1/"]


@st.composite
def scripts(draw: st.DrawFn) -> str:
    body = " ".join(draw(st.lists(st.sampled_from(TOKENS), max_size=25)))
    return draw(st.sampled_from(["BEGIN { %s }", "BEGIN { @x = 1; %s; exit(); }", "%s", "i:s:1 { %s }"])) % body


def compile_or_error(source: str) -> None:
    try:
        compile_trace(source, options=Options(expand_probes=False))
    except TraceError as exc:
        for diagnostic in exc.diagnostics:
            assert diagnostic.pos.line >= 1 and diagnostic.pos.column >= 1
        assert exc.render()
    except Exception as exc:  # anything else must still be one of ours, with a message
        from tinybpf.errors import TinyBPFError

        assert isinstance(exc, TinyBPFError), repr(exc)


@settings(max_examples=300, deadline=None)
@given(scripts())
def test_fuzz_compile_never_crashes(source: str) -> None:
    compile_or_error(source)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_random_text(source: str) -> None:
    compile_or_error(source)
