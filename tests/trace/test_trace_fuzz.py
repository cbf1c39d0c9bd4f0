"""Whatever the input, the front end returns a tree or raises ``TraceError``: never another exception,
never a hang. Inputs are random token soups, random text, and small mutations of real scripts."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import TraceError, source_line
from tinybpf.trace.syntax.lexer import tokenize
from tinybpf.trace.syntax.parser import parse

SCRIPTS = [p.read_text() for p in sorted((Path(__file__).parent / "scripts").glob("*.bt"))] + [
    "BEGIN { @x[1, 2] = (1, \"a\").0; $y = (uint8)-1 << 2 ? sizeof(struct Foo) : offsetof(struct Foo, b); }",
    "config = { a = 1 } kprobe:f+0x10, uprobe:\"/a b\":fn /$1 == $#/ { for ($kv : @m) { break } unroll(2) {} }",
    "i:s:1 { if (1) { } else if (2) { @ = count(); } else { while ($i < 3) { $i++; } } return 1 };",
]
TOKENS = [
    'BEGIN', 'END', 'kprobe:vfs_read', 'uprobe:/bin/sh:x', 't:a:b', 'i:s:1', '@', '@x', '$x', '$1', '$#',
    'pid', 'comm', 'args', 'printf', 'count', 'kstack', 'perf', 'if', 'else', 'while', 'for', 'unroll',
    'return', 'break', 'continue', 'config', 'sizeof', 'offsetof', 'struct', 'Foo', 'union', 'enum', '0',
    '1', '0x10', '1e6', '08', '1_000', '"s"', '"\\n"', '"\\x41"', '"open', "'", '`', '#', '#include', '<x>',
    '//', '/*', '*/', ':', ';', ',', '.', '->', '(', ')', '[', ']', '{', '}', '+', '-', '*', '/', '%', '&',
    '|', '^', '!', '~', '=', '==', '!=', '<', '<=', '>', '>=', '<<', '>>', '&&', '||', '?', '++', '--',
    '+=', '-=', '<<=', '>>=', '..', '\\', '\t', '\n',
]

token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join)
glued_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@st.composite
def mutated_script(draw: st.DrawFn) -> str:
    """A real script with a few characters or tokens deleted, inserted, duplicated or swapped."""
    text = draw(st.sampled_from(SCRIPTS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 12)))
        action = draw(st.sampled_from(["delete", "insert", "token", "duplicate", "swap"]))
        if action == "delete":
            text = text[:i] + text[j:]
        elif action == "insert":
            text = text[:i] + draw(st.text(max_size=3)) + text[i:]
        elif action == "token":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif action == "duplicate":
            text = text[:i] + text[i:j] + text[i:]
        elif j + 1 < len(text):
            text = text[:i] + text[j] + text[i + 1 : j] + text[i] + text[j + 1 :]
    return text


def check_front_end(source: str) -> None:
    try:
        program = parse(source)
    except TraceError as error:
        assert error.diagnostics
        assert str(error).startswith("stdin:")
        assert "ERROR" in error.render()
        return
    ast.dump(program, lambda e: "none, ctx: 0")
    assert all(isinstance(node, ast.Node) for node in ast.walk(program))


@settings(max_examples=300, deadline=1000)
@given(mutated_script())
def test_mutated_scripts_parse_or_fail_cleanly(source: str) -> None:
    check_front_end(source)


@settings(max_examples=300, deadline=1000)
@given(st.one_of(token_soup, glued_soup))
def test_token_soups_parse_or_fail_cleanly(source: str) -> None:
    check_front_end(source)


@settings(max_examples=200, deadline=1000)
@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_fails_cleanly(source: str) -> None:
    check_front_end(source)


@settings(max_examples=300, deadline=1000)
@given(st.one_of(mutated_script(), token_soup))
def test_single_line_tokens_span_exactly_their_text(source: str) -> None:
    tokens, _ = tokenize(source)
    for token in tokens:
        pos = token.pos
        assert pos.lead_column <= pos.column <= pos.end_column or pos.end_line > pos.line
        if token.kind == "END" or pos.end_line > pos.line or token.text.startswith(("struct", "union", "enum")):
            continue  # the text of a struct type name is normalised ("struct  Foo" -> "struct Foo")
        assert source_line(source, pos.line)[pos.column - 1 : pos.end_column - 1] == token.text
