"""Malformed scripts fail with bpftrace's own diagnostics: same message, same range, same ``~~~`` marker.

The expected texts below are what bpftrace 0.17 prints for the same scripts.
"""
from __future__ import annotations

import pytest

from tinybpf.errors import CompileError
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError, source_line
from tinybpf.trace.syntax.lexer import tokenize
from tinybpf.trace.syntax.parser import MAX_NESTING, parse

BPFTRACE_ERRORS = [
    ('BEGIN { @x = ; }',
     'stdin:1:14-15: ERROR: syntax error, unexpected ;\nBEGIN { @x = ; }\n             ~\n'),
    ('BEGIN { printf("x" }',
     'stdin:1:20-21: ERROR: syntax error, unexpected }, expecting ) or ","\nBEGIN { printf("x" }\n                   ~\n'),
    ('BEGIN { printf("x); }',
     'stdin:1:9-22: ERROR: unterminated string\nBEGIN { printf("x); }\n        ~~~~~~~~~~~~~\nstdin:1:9-22: ERROR: syntax error, unexpected end of file\nBEGIN { printf("x); }\n        ~~~~~~~~~~~~~\n'),
    ('BEGIN { $x = 1 ` 2; }',
     "stdin:1:16-17: ERROR: invalid character '`'\nBEGIN { $x = 1 ` 2; }\n               ~\nstdin:1:18-19: ERROR: syntax error, unexpected integer, expecting }\nBEGIN { $x = 1 ` 2; }\n                 ~\n"),
    ('BEGIN { x = }',
     'stdin:1:11-12: ERROR: syntax error, unexpected =, expecting }\nBEGIN { x = }\n          ~\n'),
    ('BEGIN',
     'stdin:1:1-6: ERROR: unexpected end of file, expected {\nBEGIN\n~~~~~\n'),
    ('BEGIN{@x=;}',
     'stdin:1:1-11: ERROR: syntax error, unexpected ;\nBEGIN{@x=;}\n~~~~~~~~~~\n'),
    ('BEGIN{printf("a",);}',
     'stdin:1:1-19: ERROR: syntax error, unexpected )\nBEGIN{printf("a",);}\n~~~~~~~~~~~~~~~~~~\n'),
    ('BEGIN { @x = 1; }}',
     'stdin:1:17-19: ERROR: syntax error, unexpected }, expecting {\nBEGIN { @x = 1; }}\n                ~~\n'),
    ('BEGIN { @x = 1 } x',
     'stdin:1:17-19: ERROR: unexpected end of file, expected {\nBEGIN { @x = 1 } x\n                ~~\n'),
    ('BEGIN { @x = 1 2 }',
     'stdin:1:16-17: ERROR: syntax error, unexpected integer, expecting }\nBEGIN { @x = 1 2 }\n               ~\n'),
    ('BEGIN { if (1) { } else }',
     'stdin:1:25-26: ERROR: syntax error, unexpected }, expecting { or if\nBEGIN { if (1) { } else }\n                        ~\n'),
    ('BEGIN { if (1 { } }',
     'stdin:1:15-16: ERROR: syntax error, unexpected {, expecting ) or ","\nBEGIN { if (1 { } }\n              ~\n'),
    ('BEGIN { @x[1 = 2; }',
     'stdin:1:14-15: ERROR: syntax error, unexpected =, expecting ] or ","\nBEGIN { @x[1 = 2; }\n             ~\n'),
    ('BEGIN { @x = (1, 2; }',
     'stdin:1:18-20: ERROR: syntax error, unexpected ;, expecting ) or ","\nBEGIN { @x = (1, 2; }\n                 ~~\n'),
    ('BEGIN { $x = 1 +; }',
     'stdin:1:16-18: ERROR: syntax error, unexpected ;\nBEGIN { $x = 1 +; }\n               ~~\n'),
    ('BEGIN { printf("%d", 1, ); }',
     'stdin:1:25-26: ERROR: syntax error, unexpected )\nBEGIN { printf("%d", 1, ); }\n                        ~\n'),
    ('BEGIN /1 { }',
     'stdin:1:10-11: ERROR: syntax error, unexpected {, expecting end predicate\nBEGIN /1 { }\n         ~\n'),
    ('kprobe:f /pid == 1 { }',
     'stdin:1:20-21: ERROR: syntax error, unexpected {, expecting end predicate\nkprobe:f /pid == 1 { }\n                   ~\n'),
    ('BEGIN { @ = 1; } END',
     'stdin:1:17-21: ERROR: unexpected end of file, expected {\nBEGIN { @ = 1; } END\n                ~~~~\n'),
    ('BEGIN { unroll(x) { } }',
     'stdin:1:9-17: ERROR: syntax error, unexpected identifier, expecting $# or - or positional parameter or integer\nBEGIN { unroll(x) { } }\n        ~~~~~~~~\n'),
    ('BEGIN { while 1 { } }',
     'stdin:1:15-16: ERROR: syntax error, unexpected integer, expecting (\nBEGIN { while 1 { } }\n              ~\n'),
    ('BEGIN { foo(1); }',
     'stdin:1:9-12: ERROR: Unknown function: foo\nBEGIN { foo(1); }\n        ~~~\n'),
    ('BEGIN { pid(1); }',
     'stdin:1:9-15: ERROR: pid() only supports curr_ns and init as the argument\nBEGIN { pid(1); }\n'
     '        ~~~~~~\n'),
    ('BEGIN { $x++; ++$x; $x--; pid++; }',
     'stdin:1:27-30: ERROR: The ++ operator must be applied to a map or variable\nBEGIN { $x++; ++$x; $x--; pid++; }\n                          ~~~\n'),
    ('BEGIN { @x = ++pid; }',
     'stdin:1:14-16: ERROR: The ++ operator must be applied to a map or variable\nBEGIN { @x = ++pid; }\n             ~~\n'),
    ('BEGIN { @x.1 = 2; }',
     'stdin:1:9-17: ERROR: Tuples are immutable once created. Consider creating a new tuple and assigning it instead.\nBEGIN { @x.1 = 2; }\n        ~~~~~~~~\n'),
    ('BEGIN { @x = "abc\\q"; }',
     'stdin:1:14-20: ERROR: invalid escape character \'\\q\'\nBEGIN { @x = "abc\\q"; }\n             ~~~~~~\n'),
    ('BEGIN { @x = "\\400"; }',
     'stdin:1:14-19: ERROR: octal escape sequence out of range \'\\400\'\nBEGIN { @x = "\\400"; }\n             ~~~~~\n'),
    ('BEGIN { @x = 08; }',
     'stdin:1:14-16: ERROR: Found trailing non-numeric characters\nBEGIN { @x = 08; }\n             ~~\nstdin:1:14-17: ERROR: syntax error, unexpected ;\nBEGIN { @x = 08; }\n             ~~~\n'),
    ('BEGIN { @x = 1e20; }',
     'stdin:1:14-18: ERROR: Exponent will overflow integer range: 20\nBEGIN { @x = 1e20; }\n             ~~~~\nstdin:1:14-19: ERROR: syntax error, unexpected ;\nBEGIN { @x = 1e20; }\n             ~~~~~\n'),
    ('BEGIN { @x = 12e3; }',
     'stdin:1:14-18: ERROR: Coefficient part of scientific literal must be in range (0,9), got: 12\nBEGIN { @x = 12e3; }\n             ~~~~\nstdin:1:14-19: ERROR: syntax error, unexpected ;\nBEGIN { @x = 12e3; }\n             ~~~~~\n'),
    ('BEGIN { @x = 99999999999999999999; }',
     'stdin:1:14-34: ERROR: stoull\nBEGIN { @x = 99999999999999999999; }\n             ~~~~~~~~~~~~~~~~~~~~\nstdin:1:14-35: ERROR: syntax error, unexpected ;\nBEGIN { @x = 99999999999999999999; }\n             ~~~~~~~~~~~~~~~~~~~~~\n'),
    ('BEGIN { $1000000000000000000000 }',
     'stdin:1:9-32: ERROR: param $1000000000000000000000 is out of integer range [1, 9223372036854775807]\nBEGIN { $1000000000000000000000 }\n        ~~~~~~~~~~~~~~~~~~~~~~~\n'),
    ('BEGIN { $0 }',
     'stdin:1:9-11: ERROR: param $0 is out of integer range [1, 9223372036854775807]\nBEGIN { $0 }\n        ~~\n'),
    ('BEGIN { @x = $; }',
     "stdin:1:14-15: ERROR: invalid character '$'\nBEGIN { @x = $; }\n             ~\nstdin:1:14-16: ERROR: syntax error, unexpected ;\nBEGIN { @x = $; }\n             ~~\n"),
    ('BEGIN { @x = 1 /* unterminated',
     'stdin:1:16-31: ERROR: end of file during comment\nBEGIN { @x = 1 /* unterminated\n               ~~~~~~~~~~~~~~~\nstdin:1:16-31: ERROR: syntax error, unexpected end of file, expecting }\nBEGIN { @x = 1 /* unterminated\n               ~~~~~~~~~~~~~~~\n'),
    ('kprobe:f ; {}',
     'stdin:1:10-11: ERROR: syntax error, unexpected ;, expecting {\nkprobe:f ; {}\n         ~\n'),
    ('BEGIN /1/ ;',
     'stdin:1:11-12: ERROR: syntax error, unexpected ;\nBEGIN /1/ ;\n          ~\n'),
    ('BEGIN { $x = 1 ? 2:3; }',
     'stdin:1:18-21: ERROR: syntax error, unexpected path, expecting :\nBEGIN { $x = 1 ? 2:3; }\n                 ~~~\n'),
    ('BEGIN { $x = (1 2); }',
     'stdin:1:17-18: ERROR: syntax error, unexpected integer, expecting ) or ","\nBEGIN { $x = (1 2); }\n                ~\n'),
    ('BEGIN { if (1) 2 }',
     'stdin:1:16-17: ERROR: syntax error, unexpected integer, expecting {\nBEGIN { if (1) 2 }\n               ~\n'),
    ('BEGIN { unroll(2) 3 }',
     'stdin:1:19-20: ERROR: syntax error, unexpected integer, expecting {\nBEGIN { unroll(2) 3 }\n                  ~\n'),
    ('BEGIN { @ = (x * 2); }',
     'stdin:1:18-19: ERROR: syntax error, unexpected integer, expecting ) or *\nBEGIN { @ = (x * 2); }\n                 ~\n'),
    ('BEGIN { @ = (x); }',
     'stdin:1:13-17: ERROR: syntax error, unexpected ;\nBEGIN { @ = (x); }\n            ~~~~\n'),
    ('BEGIN { ; }',
     'stdin:1:9-10: ERROR: syntax error, unexpected ;, expecting }\nBEGIN { ; }\n        ~\n'),
    ('BEGIN { if (1) { } ; }',
     'stdin:1:20-21: ERROR: syntax error, unexpected ;, expecting }\nBEGIN { if (1) { } ; }\n                   ~\n'),
    ('}',
     'stdin:1:1-2: ERROR: syntax error, unexpected }, expecting {\n}\n~\n'),
    ('kprobe { }',
     'stdin:1:1-7: ERROR: kprobe probe type requires 1 argument\nkprobe { }\n~~~~~~\n'),
    ('BEGIN:x { }',
     'stdin:1:1-8: ERROR: BEGIN probe type requires 0 arguments\nBEGIN:x { }\n~~~~~~~\n'),
    ('BEGIN { ) }',
     'stdin:1:9-10: ERROR: syntax error, unexpected ), expecting }\nBEGIN { ) }\n        ~\n'),
    ('BEGIN { } kprobe { }',
     'stdin:1:10-17: ERROR: kprobe probe type requires 1 argument\nBEGIN { } kprobe { }\n         ~~~~~~~\n'),
    ('{ }',
     'stdin:1:1-1: ERROR: No attach points for probe\n{ }\n\n'),
    ('kretprobe:f+1 { }',
     'stdin:1:1-14: ERROR: Offset not allowed\nkretprobe:f+1 { }\n~~~~~~~~~~~~~\n'),
    ('kprobe:f+1+2 { }',
     'stdin:1:1-13: ERROR: Cannot take more than one offset\nkprobe:f+1+2 { }\n~~~~~~~~~~~~\n'),
    ('kprobe:f+ { }',
     'stdin:1:1-10: ERROR: Invalid offset\nkprobe:f+ { }\n~~~~~~~~~\n'),
    ('uprobe:/bin/sh { }',
     'stdin:1:1-15: ERROR: uprobe probe type requires 2 arguments\nuprobe:/bin/sh { }\n~~~~~~~~~~~~~~\n'),
    ('usdt:/bin/sh { }',
     'stdin:1:1-13: ERROR: usdt probe type requires 2 or 3 arguments\nusdt:/bin/sh { }\n~~~~~~~~~~~~\n'),
    ('tracepoint:foo { }',
     'stdin:1:1-15: ERROR: tracepoint probe type requires 2 arguments\ntracepoint:foo { }\n~~~~~~~~~~~~~~\n'),
    ('profile:hz { }',
     'stdin:1:1-11: ERROR: Invalid rate of profile probe: invalid integer: hz\nprofile:hz { }\n~~~~~~~~~~\n'),
    ('profile:hz:abc { }',
     'stdin:1:1-15: ERROR: stoull\nprofile:hz:abc { }\n~~~~~~~~~~~~~~\n'),
    ('interval:s:1x { }',
     'stdin:1:1-14: ERROR: Found trailing non-numeric characters\ninterval:s:1x { }\n~~~~~~~~~~~~~\n'),
    ('software:a:b:c { }',
     'stdin:1:1-15: ERROR: software probe type requires 1 or 2 arguments\nsoftware:a:b:c { }\n~~~~~~~~~~~~~~\n'),
    ('watchpoint:0x10:8 { }',
     'stdin:1:1-18: ERROR: watchpoint probe type requires 3 arguments\nwatchpoint:0x10:8 { }\n~~~~~~~~~~~~~~~~~\n'),
    ('watchpoint:f+1:8:rw { }',
     'stdin:1:1-20: ERROR: Invalid function argument\nwatchpoint:f+1:8:rw { }\n~~~~~~~~~~~~~~~~~~~\n'),
    ('watchpoint:f+argx:8:rw { }',
     'stdin:1:1-23: ERROR: stoull\nwatchpoint:f+argx:8:rw { }\n~~~~~~~~~~~~~~~~~~~~~~\n'),
    ('iter:task*:pin { }',
     'stdin:1:1-15: ERROR: iter probe type does not support wildcards\niter:task*:pin { }\n~~~~~~~~~~~~~~\n'),
    ('kfunc:a:b:c { }',
     'stdin:1:1-12: ERROR: kfunc probe type requires 1 or 2 arguments\nkfunc:a:b:c { }\n~~~~~~~~~~~\n'),
    ("BEGIN { @x = 'a'; }",
     "stdin:1:14-15: ERROR: invalid character '''\nBEGIN { @x = 'a'; }\n             ~\nstdin:1:14-17: ERROR: invalid character '''\nBEGIN { @x = 'a'; }\n             ~~~\n"),
    ('BEGIN { @x = count; }',
     'stdin:1:14-20: ERROR: syntax error, unexpected ;, expecting ++ or --\nBEGIN { @x = count; }\n             ~~~~~~\n'),
    ('BEGIN { @x = 1 # foo\n}',
     'stdin:1:16-21: ERROR: syntax error, unexpected preprocessor directive, expecting }\nBEGIN { @x = 1 # foo\n               ~~~~~\n'),
    ('BEGIN { @x = "a\\\nb"; }',
     'stdin:1:14-17: ERROR: invalid character\nBEGIN { @x = "a\\\n             ~~~\nstdin:2:1-6: ERROR: unterminated string\nb"; }\n~~~~~\nstdin:2:1-6: ERROR: syntax error, unexpected end of file, expecting }\nb"; }\n~~~~~\n'),
    ('BEGIN { @x = "\\xZZ"; }',
     'stdin:1:14-17: ERROR: invalid escape character \'\\x\'\nBEGIN { @x = "\\xZZ"; }\n             ~~~\n'),
    ('BEGIN { $x = 1; } BEGIN { @ = $#+; }',
     'stdin:1:31-35: ERROR: syntax error, unexpected ;\nBEGIN { $x = 1; } BEGIN { @ = $#+; }\n                              ~~~~\n'),
    ('BEGIN { @x[1,2 }',
     'stdin:1:16-17: ERROR: syntax error, unexpected }, expecting ] or ","\nBEGIN { @x[1,2 }\n               ~\n'),
    ('BEGIN { @x = (int8 ***)1; }',
     'stdin:1:20-23: ERROR: syntax error, unexpected *, expecting )\nBEGIN { @x = (int8 ***)1; }\n                   ~~~\n'),
    ('BEGIN { @x = ++1; }',
     'stdin:1:14-17: ERROR: syntax error, unexpected integer\nBEGIN { @x = ++1; }\n             ~~~\n'),
]


def rendered_error(source: str, filename: str = "stdin") -> str:
    with pytest.raises(TraceError) as info:
        parse(source, filename)
    return info.value.render()


@pytest.mark.parametrize(("source", "expected"), BPFTRACE_ERRORS, ids=[s for s, _ in BPFTRACE_ERRORS])
def test_error_output_matches_bpftrace(source: str, expected: str) -> None:
    assert rendered_error(source) == expected


def test_one_line_form_points_at_the_token_itself() -> None:
    with pytest.raises(TraceError) as info:
        parse("BEGIN{@x=;}")
    error = info.value
    assert str(error) == "stdin:1:10: ERROR: syntax error, unexpected ;"
    assert isinstance(error, CompileError)
    assert (error.file, error.line, error.column, error.end_column) == ("stdin", 1, 10, 10)
    assert error.source_line == "BEGIN{@x=;}"
    assert error.message == "syntax error, unexpected ;"


def test_file_name_prefixes_every_diagnostic() -> None:
    text = rendered_error("BEGIN { @x = ; }", filename="tool.bt")
    assert text.startswith("tool.bt:1:14-15: ERROR: syntax error, unexpected ;\n")


def test_attach_point_error_spanning_lines_prints_only_the_line_range() -> None:
    source = "BEGIN { }\n\nkprobe\n{ }\n"
    assert rendered_error(source) == "stdin:1-3: ERROR: kprobe probe type requires 1 argument\n"


def test_error_on_a_later_line_shows_that_line() -> None:
    source = "BEGIN {\n  @x = 1;\n  @y = ;\n}\n"
    assert rendered_error(source) == "stdin:3:8-9: ERROR: syntax error, unexpected ;\n  @y = ;\n       ~\n"


def test_tabs_are_drawn_four_columns_wide() -> None:
    source = "BEGIN {\n\t@y = ;\n}"
    assert rendered_error(source) == "stdin:2:7-8: ERROR: syntax error, unexpected ;\n    @y = ;\n         ~\n"


def test_error_at_end_of_file_after_newline_has_no_source_line() -> None:
    expected = "stdin:2:1-1: ERROR: syntax error, unexpected end of file, expecting }\n"
    assert rendered_error("BEGIN {\n") == expected


def test_lexical_errors_alone_fail_the_parse() -> None:
    text = rendered_error('BEGIN { printf("\\q"); }')
    assert text.startswith("stdin:1:9-19: ERROR: invalid escape character '\\q'\n")
    assert text.count("ERROR") == 1


def test_every_invalid_attach_point_is_reported() -> None:
    assert rendered_error("kprobe, uprobe:x { }") == (
        "stdin:1:1-7: ERROR: kprobe probe type requires 1 argument\nkprobe, uprobe:x { }\n~~~~~~\n"
        "stdin:1:8-17: ERROR: uprobe probe type requires 2 arguments\nkprobe, uprobe:x { }\n       ~~~~~~~~~\n"
    )


def test_syntax_errors_win_over_attach_point_errors() -> None:
    assert "probe type" not in rendered_error("kprobe { @x = ; }")


def test_unknown_probe_type_also_leaves_the_probe_without_attach_points() -> None:
    text = rendered_error("foo:bar { }")
    assert text.startswith("stdin:1:1-8: ERROR: Invalid probe type: foo\n")
    assert "No attach points for probe" in text


@pytest.mark.parametrize(
    "source",
    [
        "BEGIN { @ = " + "(" * 2000 + "1" + ")" * 2000 + "; }",
        "BEGIN { @ = " + "!" * 5000 + "1; }",
        "BEGIN { @ = " + "- " * 5000 + "$x; }",
        "BEGIN " + "{ if (1) " * 1000 + "{}" + "}" * 1000,
        "BEGIN { @ = 1" + " + 1" * 5000 + "; }",
        "BEGIN { @ = $x" + "[1]" * 3000 + "; }",
        "BEGIN { @ = $x" + "->a" * 3000 + "; }",
        "BEGIN { @ = " + "1 ? " * 3000 + "1" + " : 2" * 3000 + "; }",
        "BEGIN { @ = " + "(uint8)" * 3000 + "1; }",
    ],
    ids=["parens", "not", "minus", "if", "chain", "index", "arrow", "ternary", "cast"],
)
def test_deep_nesting_is_a_compile_error_not_a_recursion_error(source: str) -> None:
    with pytest.raises(TraceError, match="nesting too deep"):
        parse(source)


def test_nesting_below_the_limit_parses() -> None:
    depth = MAX_NESTING - 2
    program = parse("BEGIN { @ = " + "(" * depth + "1" + ")" * depth + "; }")
    assert len(program.probes) == 1


def test_diagnostic_renders_warnings_too() -> None:
    tokens, _ = tokenize("BEGIN { }")
    warning = Diagnostic("something odd", tokens[0].pos, severity="WARNING")
    assert warning.render("BEGIN { }") == "stdin:1:1-6: WARNING: something odd\nBEGIN { }\n~~~~~"


def test_source_line_past_the_end_is_empty() -> None:
    assert source_line("a\nb", 2) == "b"
    assert source_line("a\nb", 3) == ""
