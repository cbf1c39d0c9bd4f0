"""The lexer splits scripts where bpftrace's flex lexer does, with exact 1-based positions."""
from __future__ import annotations

import pytest

from tinybpf.trace.syntax.lexer import parse_int, tokenize


def kinds(source: str) -> list[tuple[str, str]]:
    tokens, errors = tokenize(source)
    assert errors == []
    return [(t.kind, t.text) for t in tokens[:-1]]


def test_every_token_has_line_columns_and_bpftrace_lead() -> None:
    tokens, _ = tokenize("BEGIN {\n  printf(\"hi\");\n}")
    spans = [(t.text, t.pos.line, t.pos.column, t.pos.end_column, t.pos.lead_column) for t in tokens]
    assert spans == [
        ("BEGIN", 1, 1, 6, 1),
        ("{", 1, 7, 8, 7),
        ("printf", 2, 3, 9, 3),
        ("(", 2, 9, 10, 3),  # glued to printf: bpftrace's location starts back at printf
        ('"hi"', 2, 10, 14, 3),
        (")", 2, 14, 15, 3),
        (";", 2, 15, 16, 3),
        ("}", 3, 1, 2, 1),
        ("", 3, 2, 2, 1),
    ]
    assert tokens[-1].kind == "END"


def test_names_are_classified_like_bpftrace() -> None:
    assert kinds("pid arg0 arg10 sarg9 printf count kstack nsecs perf bpftrace foo if while for") == [
        ("BUILTIN", "pid"), ("BUILTIN", "arg0"), ("BUILTIN", "arg10"), ("BUILTIN", "sarg9"), ("CALL", "printf"),
        ("CALL", "count"), ("CALL_BUILTIN", "kstack"), ("CALL_BUILTIN", "nsecs"), ("STACK_MODE", "perf"),
        ("STACK_MODE", "bpftrace"), ("IDENT", "foo"), ("if", "if"), ("while", "while"), ("for", "for"),
    ]


def test_variables_maps_and_positional_parameters() -> None:
    assert kinds("$x $1 $10 $# @ @name $_a") == [
        ("VAR", "$x"), ("PARAM", "$1"), ("PARAM", "$10"), ("PARAMCOUNT", "$#"), ("MAP", "@"),
        ("MAP", "@name"), ("VAR", "$_a"),
    ]


def test_operators_take_the_longest_match() -> None:
    text = "<<= >>= << >> <= >= < > == != = ++ += + -- -= -> - *= * /= / %= % &= && & |= || | ^= ^ ! ~ . , ; ? ( ) [ ] { }"
    assert [k for k, _ in kinds(text)] == text.split()


def test_attach_point_text_is_paths() -> None:
    assert kinds("uprobe:/bin/bash:readline") == [("IDENT", "uprobe"), ("PATH", ":/bin/bash"), ("PATH", ":readline")]
    assert kinds("kprobe:f+0x10") == [("IDENT", "kprobe"), ("PATH", ":f"), ("+", "+"), ("INT", "0x10")]
    assert kinds("t:syscalls:sys_enter_*") == [("IDENT", "t"), ("PATH", ":syscalls"), ("PATH", ":sys_enter_*")]
    assert kinds('uprobe:"/a b":fn') == [("IDENT", "uprobe"), (":", ":"), ("STRING", '"/a b"'), ("PATH", ":fn")]


def test_colon_before_a_path_character_is_a_path_even_in_a_ternary() -> None:
    assert kinds("a ? b : c") == [("IDENT", "a"), ("?", "?"), ("IDENT", "b"), (":", ":"), ("IDENT", "c")]
    assert kinds("a ? b:c")[-1] == ("PATH", ":c")


def test_slash_before_slash_or_brace_ends_a_predicate() -> None:
    assert kinds("/pid/ {") == [("/", "/"), ("BUILTIN", "pid"), ("ENDPRED", "/"), ("{", "{")]
    assert kinds("/a / 2/\n{") == [("/", "/"), ("IDENT", "a"), ("/", "/"), ("INT", "2"), ("ENDPRED", "/"), ("{", "{")]
    assert kinds("a /= 2") == [("IDENT", "a"), ("/=", "/="), ("INT", "2")]


def test_comments_and_shebang_are_skipped_preprocessor_lines_kept() -> None:
    source = "#!/usr/bin/env bpftrace\n#include <linux/sched.h>\n// line\n/* block\n comment */ BEGIN"
    tokens, errors = tokenize(source)
    assert errors == []
    assert [(t.kind, t.text, t.pos.line) for t in tokens] == [
        ("CPREPROC", "#include <linux/sched.h>", 2),
        ("IDENT", "BEGIN", 5),
        ("END", "", 5),
    ]
    assert tokens[1].pos.column == 13


def test_struct_names_and_definitions_are_single_tokens() -> None:
    assert kinds("(struct task_struct *)") == [("(", "("), ("IDENT", "struct task_struct"), ("*", "*"), (")", ")")]
    assert kinds("offsetof(struct  Foo , x)")[2] == ("IDENT", "struct Foo")
    tokens, _ = tokenize("struct Foo {\n int a;\n struct { int b; } c;\n};\nBEGIN")
    assert tokens[0].kind == "STRUCT_DEFN"
    assert tokens[0].text == "struct Foo {\n int a;\n struct { int b; } c;\n};"
    assert (tokens[1].text, tokens[1].pos.line, tokens[1].pos.column) == ("BEGIN", 5, 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0), ("42", 42), ("1_000_000", 1_000_000), ("0x1F", 31), ("0XfF", 255), ("010", 8), ("5u", 5),
        ("7ULL", 7), ("9ll", 9), ("1e6", 1_000_000), ("2E3", 2000), ("1e16", 10**16), ("0xffffffffffffffff", 2**64 - 1),
    ],
)
def test_integer_literals(text: str, value: int) -> None:
    assert parse_int(text) == value
    tokens, errors = tokenize(text)
    assert errors == [] and tokens[0].value == value and tokens[0].text == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("08", "Found trailing non-numeric characters"),
        ("1e20", "Exponent will overflow integer range: 20"),
        ("12e3", "Coefficient part of scientific literal must be in range (0,9), got: 12"),
        ("99999999999999999999", "stoull"),
        ("0x", "Found trailing non-numeric characters"),
    ],
)
def test_invalid_integer_literals(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_int(text)


def test_invalid_integer_is_reported_and_dropped() -> None:
    tokens, errors = tokenize("@x = 08;")
    assert [t.kind for t in tokens] == ["MAP", "=", ";", "END"]
    assert [e.message for e in errors] == ["Found trailing non-numeric characters"]


def test_string_escapes_become_bytes() -> None:
    tokens, errors = tokenize(r'"a\n\t\r\\\"\x41\101\0\xff" "é"')
    assert errors == []
    assert tokens[0].value == b'a\n\t\r\\"AA\x00\xff'
    assert tokens[1].value == "é".encode()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('"abc', "unterminated string"),
        ('"abc\n"', "unterminated string"),
        (r'"\q"', "invalid escape character '\\q'"),
        (r'"\400"', "octal escape sequence out of range '\\400'"),
        ("`", "invalid character '`'"),
        ("'a'", "invalid character '''"),
        ("$", "invalid character '$'"),
        ("/* never closed", "end of file during comment"),
    ],
)
def test_lexical_errors_are_collected(source: str, message: str) -> None:
    _, errors = tokenize(source)
    assert errors and errors[0].message == message


def test_lexing_continues_after_an_error() -> None:
    tokens, errors = tokenize("a ` b")
    assert [t.text for t in tokens] == ["a", "b", ""]
    assert len(errors) == 1
