"""The parser accepts bpftrace's scripts and builds the tree bpftrace builds.

Expected ``*.dump`` files in ``scripts/`` are ``bpftrace -d`` output (version 0.17) for the script next
to them; precedence cases were checked against ``bpftrace -d`` too.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.parser import parse

SCRIPTS = Path(__file__).parent / "scripts"


def parser_stage(expr: ast.Expression) -> str:
    """The type bpftrace shows for every node in its parser-stage dump."""
    return "none, ctx: 0"


def sx(node: ast.Node) -> str:
    """An expression as a compact s-expression, to state tree shapes in one line."""
    if isinstance(node, ast.Integer):
        return str(node.value)
    if isinstance(node, ast.String):
        return repr(node.text)
    if isinstance(node, (ast.Builtin, ast.Identifier, ast.Variable)):
        return node.name
    if isinstance(node, ast.PositionalParameter):
        return f"${node.index}"
    if isinstance(node, ast.PositionalParameterCount):
        return "$#"
    if isinstance(node, ast.StackMode):
        return node.mode
    if isinstance(node, ast.Map):
        return f"({node.name} {' '.join(map(sx, node.keys))})" if node.keys else node.name
    if isinstance(node, ast.Call):
        return f"({node.name}{''.join(' ' + sx(a) for a in node.args)})"
    if isinstance(node, ast.Binop):
        return f"({node.op} {sx(node.left)} {sx(node.right)})"
    if isinstance(node, ast.Unop):
        return f"({'post' if node.postfix else ''}{node.op} {sx(node.operand)})"
    if isinstance(node, ast.Ternary):
        return f"(? {sx(node.cond)} {sx(node.then)} {sx(node.otherwise)})"
    if isinstance(node, ast.FieldAccess):
        return f"(. {sx(node.expr)} {node.field})"
    if isinstance(node, ast.TupleAccess):
        return f"(. {sx(node.expr)} {node.index})"
    if isinstance(node, ast.ArrayAccess):
        return f"([] {sx(node.expr)} {sx(node.index)})"
    if isinstance(node, ast.Cast):
        return f"(cast {node.type} {sx(node.expr)})"
    if isinstance(node, ast.Tuple):
        return f"(tuple {' '.join(map(sx, node.elements))})"
    if isinstance(node, ast.TypeName):
        return f"type:{node}"
    if isinstance(node, ast.Sizeof):
        return f"(sizeof {sx(node.target)})"
    if isinstance(node, ast.Offsetof):
        return f"(offsetof {sx(node.target)} {node.field})"
    if isinstance(node, ast.Range):
        return f"(.. {sx(node.start)} {sx(node.end)})"
    raise AssertionError(f"no s-expression for {node!r}")


def statements(source: str) -> list[ast.Statement]:
    return parse(source).probes[0].block.statements


def value(expression: str) -> str:
    """The s-expression of ``expression`` assigned in a BEGIN probe."""
    (stmt,) = statements(f"BEGIN {{ $v = {expression}; }}")
    assert isinstance(stmt, ast.AssignVarStatement)
    return sx(stmt.expr)


@pytest.mark.parametrize("name", ["opensnoop", "probes"])
def test_dump_matches_bpftrace(name: str) -> None:
    program = parse((SCRIPTS / f"{name}.bt").read_text())
    assert ast.dump(program, parser_stage) == (SCRIPTS / f"{name}.dump").read_text()


@pytest.mark.parametrize("path", sorted(SCRIPTS.glob("*.bt")), ids=lambda p: p.name)
def test_tool_scripts_parse(path: Path) -> None:
    program = parse(path.read_text(), filename=path.name)
    assert program.probes


TUTORIAL_ONE_LINERS = [
    'BEGIN { printf("hello world\\n"); }',
    'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
    "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
    "tracepoint:syscalls:sys_exit_read /pid == 18644/ { @bytes = hist(args->ret); }",
    "kretprobe:vfs_read { @bytes = lhist(retval, 0, 2000, 200); }",
    "kprobe:vfs_read { @start[tid] = nsecs; } kretprobe:vfs_read /@start[tid]/ "
    "{ @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }",
    "tracepoint:sched:sched* { @[probe] = count(); } interval:s:5 { exit(); }",
    "profile:hz:99 { @[kstack] = count(); }",
    "tracepoint:sched:sched_switch { @[kstack] = count(); }",
    "tracepoint:block:block_rq_issue { @ = hist(args->bytes); }",
    '#include <linux/path.h>\n#include <linux/dcache.h>\nkprobe:vfs_open '
    '{ printf("open path: %s\\n", str(((struct path *)arg0)->dentry->d_name.name)); }',
    'uretprobe:/bin/bash:readline { printf("read a line\\n"); }',
    "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }",
    "kprobe:do_sys_open { printf(\"%s: %s\\n\", comm, str(arg1)) }",
    "t:syscalls:sys_enter_execve { join(args->argv); }",
    "k:tcp_sendmsg { @size = hist(arg2); } END { print(@size); clear(@size); }",
    "i:ms:100 { printf(\"%d\\n\", @x); @x = 0 } kprobe:f { @x++ }",
]


@pytest.mark.parametrize("source", TUTORIAL_ONE_LINERS)
def test_tutorial_one_liners_parse(source: str) -> None:
    program = parse(source)
    assert all(p.attach_points for p in program.probes)


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("1 & 2 == 3", "(& 1 (== 2 3))"),
        ("-1 << 2", "(<< -1 2)"),
        ("1 -1", "(- 1 1)"),
        ("- 1", "-1"),
        ("-$x", "(- $x)"),
        ("!1 == 2", "(== (! 1) 2)"),
        ("*$x->y", "(* (. (* $x) y))"),
        ("*$x.y", "(* (. $x y))"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("1 < 2 < 3", "(< (< 1 2) 3)"),
        ("1 || 2 && 3 | 4 ^ 5 & 6", "(|| 1 (&& 2 (| 3 (^ 4 (& 5 6)))))"),
        ("1 + 2 * 3 << 4 > 5", "(> (<< (+ 1 (* 2 3)) 4) 5)"),
        ("1 ? 2 : 3 ? 4 : 5", "(? 1 2 (? 3 4 5))"),
        ("1 == 2 ? 3 : 4", "(? (== 1 2) 3 4)"),
        ("(int8)-1", "(cast int8 -1)"),
        ("-(int8)1", "(- (cast int8 1))"),
        ("!(uint8)1", "(! (cast uint8 1))"),
        ("(uint8)$x->y", "(cast uint8 (. (* $x) y))"),
        ("(x) - 1", "(cast x -1)"),
        ("(struct task_struct *)curtask", "(cast struct task_struct* curtask)"),
        ("(int8 **)0", "(cast int8** 0)"),
        ("~1 * -2", "(* (~ 1) -2)"),
        ("(1)", "1"),
        ("(1, (2, 3)).1", "(. (tuple 1 (tuple 2 3)) 1)"),
        ("@a[1].b->c[2]", "([] (. (* (. (@a 1) b)) c) 2)"),
        ("@x[1, 2]", "(@x 1 2)"),
        ("@x[(1, 2)]", "(@x (tuple 1 2))"),
        ("-@y++", "(- (post++ @y))"),
        ("! - 1", "(! -1)"),
        ("++@y + 1", "(+ (++ @y) 1)"),
        ("$1 + $#", "(+ $1 $#)"),
        ("kstack(perf, 5)", "(kstack perf 5)"),
        ("kstack", "kstack"),
        ('str(arg0, 16) == "ab"', "(== (str arg0 16) 'ab')"),
        ("sizeof(struct task_struct)", "(sizeof type:struct task_struct)"),
        ("sizeof(uint32 *)", "(sizeof type:uint32*)"),
        ("sizeof($x + 1)", "(sizeof (+ $x 1))"),
        ("sizeof(x * 2)", "(sizeof (* x 2))"),
        ("offsetof(struct Foo, bar)", "(offsetof type:struct Foo bar)"),
        ("offsetof(*curtask, comm)", "(offsetof (* curtask) comm)"),
        ("args.if + $x.return", "(+ (. args if) (. $x return))"),
        ("0xffffffffffffffff", str(2**64 - 1)),
    ],
)
def test_precedence_and_shapes_match_bpftrace(expression: str, tree: str) -> None:
    assert value(expression) == tree


def test_statements() -> None:
    body = statements(
        "BEGIN { @x = 1; @x += 2; $y <<= 3; print(@x); if ($y) { break } else if (1) { continue } else { return }"
        " unroll(3) { } while (1) { } for ($kv : @x) { } for ($i : 0 .. 5) { } return 1 }"
    )
    kinds = [type(s).__name__ for s in body]
    assert kinds == ["AssignMapStatement", "AssignMapStatement", "AssignVarStatement", "ExprStatement", "If",
                     "Unroll", "While", "For", "For", "Jump"]
    plain, compound, shift = body[0], body[1], body[2]
    assert isinstance(plain, ast.AssignMapStatement) and not plain.compound
    assert isinstance(compound, ast.AssignMapStatement) and compound.compound
    assert sx(compound.expr) == "(+ @x 2)" and compound.expr.left is compound.map  # type: ignore[attr-defined]
    assert isinstance(shift, ast.AssignVarStatement) and sx(shift.expr) == "(<< $y 3)"
    branch = body[4]
    assert isinstance(branch, ast.If) and branch.otherwise is not None
    (nested,) = branch.otherwise.statements
    assert isinstance(nested, ast.If) and isinstance(nested.otherwise, ast.Block)
    assert [type(s).__name__ for s in branch.then.statements] == ["Jump"]
    loop, rng = body[7], body[8]
    assert isinstance(loop, ast.For) and loop.var.name == "$kv" and sx(loop.iterable) == "@x"
    assert isinstance(rng, ast.For) and sx(rng.iterable) == "(.. 0 5)"
    ret = body[9]
    assert isinstance(ret, ast.Jump) and ret.kind == "return" and ret.value is not None


def test_predicates_and_multiple_attach_points() -> None:
    (probe,) = parse("kprobe:a, kprobe:b,\nkretprobe:c /pid == 1 && $1 / 2 > 0/ { }").probes
    assert [ap.name() for ap in probe.attach_points] == ["kprobe:a", "kprobe:b", "kretprobe:c"]
    assert probe.predicate is not None
    assert sx(probe.predicate.expr) == "(&& (== pid 1) (> (/ $1 2) 0))"


def test_block_with_or_without_trailing_semicolon() -> None:
    assert len(parse("BEGIN { 1 }; END { 2; };").probes) == 2


def test_c_definitions_and_config_come_before_probes() -> None:
    program = parse(
        "#include <linux/sched.h>\nstruct Foo { int a; char b[16]; }\n#define X 1\n"
        "config = { max_map_keys = 100; stack_mode = perf }\nBEGIN { }"
    )
    assert [(d.kind, d.text) for d in program.c_definitions] == [
        ("preprocessor", "#include <linux/sched.h>"),
        ("struct", "struct Foo { int a; char b[16]; }"),
        ("preprocessor", "#define X 1"),
    ]
    assert program.c_source == "#include <linux/sched.h>\nstruct Foo { int a; char b[16]; };\n#define X 1\n"
    assert program.config is not None
    assert [(s.name, sx(s.expr)) for s in program.config.statements] == [("max_map_keys", "100"),
                                                                          ("stack_mode", "perf")]


ATTACH_POINTS = [
    ("BEGIN", dict(provider="BEGIN")),
    ("END", dict(provider="END")),
    ("kprobe:vfs_read", dict(provider="kprobe", func="vfs_read")),
    ("k:vfs_*", dict(provider="kprobe", func="vfs_*", need_expansion=True)),
    ("kprobe:func+0x10", dict(provider="kprobe", func="func", offset=16)),
    ("kr:vfs_read", dict(provider="kretprobe", func="vfs_read")),
    ("uprobe:/bin/bash:readline", dict(provider="uprobe", target="/bin/bash", func="readline")),
    ("uprobe:/lib/libc.so.6:malloc", dict(provider="uprobe", target="/lib/libc.so.6", func="malloc")),
    ('uprobe:"/path with space":fn', dict(provider="uprobe", target="/path with space", func="fn")),
    ("uprobe:/bin/sh:0x1234", dict(provider="uprobe", target="/bin/sh", address=0x1234)),
    ("uprobe:/bin/sh:f+8", dict(provider="uprobe", target="/bin/sh", func="f", offset=8)),
    ("ur:/bin/bash:readline", dict(provider="uretprobe", target="/bin/bash", func="readline")),
    ("usdt:/path:provider:probe", dict(provider="usdt", target="/path", ns="provider", func="probe")),
    ("U:/path:probe", dict(provider="usdt", target="/path", func="probe", need_expansion=True)),
    ("tracepoint:syscalls:sys_enter_*", dict(provider="tracepoint", target="syscalls", func="sys_enter_*",
                                             need_expansion=True)),
    ("t:*open*", dict(provider="tracepoint", target="*", func="*open*", need_expansion=True)),
    ("rawtracepoint:sched_switch", dict(provider="rawtracepoint", func="sched_switch")),
    ("rt:vmlinux:sched_switch", dict(provider="rawtracepoint", target="vmlinux", func="sched_switch")),
    ("profile:hz:99", dict(provider="profile", target="hz", freq=99)),
    ("p:ms:10", dict(provider="profile", target="ms", freq=10)),
    ("interval:s:1", dict(provider="interval", target="s", freq=1)),
    ("software:cpu-clock:1000", dict(provider="software", target="cpu-clock", freq=1000)),
    ("s:faults", dict(provider="software", target="faults")),
    ("hardware:cycles:1e6", dict(provider="hardware", target="cycles", freq=1_000_000)),
    ("watchpoint:0x1234:8:rw", dict(provider="watchpoint", address=0x1234, length=8, mode="rw")),
    ("w:func+arg2:4:w", dict(provider="watchpoint", func="func", address=2, length=4, mode="w")),
    ("aw:0x10:1:x", dict(provider="asyncwatchpoint", address=16, length=1, mode="x")),
    ("kfunc:vmlinux:func", dict(provider="kfunc", target="vmlinux", func="func")),
    ("f:tcp_*", dict(provider="kfunc", target="*", func="tcp_*", need_expansion=True)),
    ("fentry:vfs_read", dict(provider="fentry", func="vfs_read")),
    ("kretfunc:f", dict(provider="kretfunc", func="f")),
    ("iter:task:/sys/fs/bpf/pin", dict(provider="iter", func="task", pin="/sys/fs/bpf/pin")),
    ("kprobe:vfs_read,", dict(provider="kprobe", func="vfs_read")),
]


@pytest.mark.parametrize(("text", "fields"), ATTACH_POINTS, ids=[t for t, _ in ATTACH_POINTS])
def test_attach_points_are_split_by_provider(text: str, fields: dict[str, object]) -> None:
    (ap,) = parse(f"{text} {{ }}").probes[0].attach_points
    defaults = ast.AttachPoint(pos=ap.pos, raw=ap.raw)
    for name in ("provider", "target", "ns", "func", "offset", "address", "freq", "length", "mode", "pin",
                 "need_expansion"):
        assert getattr(ap, name) == fields.get(name, getattr(defaults, name)), name


def test_attach_point_names_and_units() -> None:
    probes = parse("i:s:1 { } hardware:cycles:1e6 { } kprobe:f+0x10 { } uprobe:\"/a b\":fn { }").probes
    assert [p.attach_points[0].name() for p in probes] == [
        "interval:s:1", "hardware:cycles:1000000", "kprobe:f+16", "uprobe:/a b:fn",
    ]
    assert probes[0].attach_points[0].unit == "s"


def test_positional_parameters_are_substituted_in_attach_points() -> None:
    (probe,) = parse("uprobe:$1:$2 { }", params=["/bin/bash", "readline"]).probes
    assert (probe.attach_points[0].target, probe.attach_points[0].func) == ("/bin/bash", "readline")
    assert probe.attach_points[0].raw == "uprobe:$1:$2"


def test_node_positions() -> None:
    source = "BEGIN {\n  @x[pid, 1] = $a + 2;\n  printf(\"%d\", $a->b[3]);\n}"
    program = parse(source)
    (probe,) = program.probes
    assign, call_stmt = probe.block.statements
    assert isinstance(assign, ast.AssignMapStatement) and isinstance(call_stmt, ast.ExprStatement)

    def where(node: ast.Node) -> tuple[int, int, int]:
        return node.pos.line, node.pos.column, node.pos.end_column

    assert where(probe.attach_points[0]) == (1, 1, 6)
    assert where(probe.block) == (1, 7, 2) and probe.block.pos.end_line == 4
    assert where(assign) == (2, 14, 15)  # bpftrace places an assignment at its "="
    assert where(assign.map) == (2, 3, 13)
    assert where(assign.map.keys[0]) == (2, 6, 9)
    assert where(assign.expr) == (2, 19, 20)  # a binary operation is at its operator
    call = call_stmt.expr
    assert isinstance(call, ast.Call) and where(call) == (3, 3, 25)
    assert where(call.args[0]) == (3, 10, 14)
    array = call.args[1]
    assert isinstance(array, ast.ArrayAccess) and where(array) == (3, 21, 24)  # at its brackets
    field = array.expr
    assert isinstance(field, ast.FieldAccess) and where(field) == (3, 16, 21)
    assert isinstance(field.expr, ast.Unop) and where(field.expr) == (3, 18, 20)
    assert where(program) == (1, 1, 2)


def test_walk_visits_every_node_once() -> None:
    program = parse((SCRIPTS / "opensnoop.bt").read_text())
    nodes = list(ast.walk(program))
    assert nodes[0] is program
    assert len({id(n) for n in nodes}) == len(nodes)
    assert sum(isinstance(n, ast.Call) for n in nodes) == 6


def test_nodes_hash_by_identity_for_side_tables() -> None:
    a, b = (s.expr for s in statements("BEGIN { 1; 1 }"))  # type: ignore[attr-defined]
    assert a is not b and a != b and len({a: 1, b: 2}) == 2


def test_string_dump_escapes_like_bpftrace() -> None:
    program = parse('BEGIN { printf("a\\"b\\\\c\\n\\x01\\t"); }')
    assert 'string: a\\"b\\\\c\\n\\x01\\t' in ast.dump(program)
