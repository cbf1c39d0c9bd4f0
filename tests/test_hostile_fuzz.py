"""Fuzzing the way a hostile or careless user drives tinybpf: generated trace scripts, command lines,
``BPFTRACE_*`` environment knobs and corrupted object files. Each must end in success or one clean
``TinyBPFError`` (exit 1 or 2 from the CLI): never an internal error (exit 70), a traceback, or a
"cannot compile yet" message that leaks a Python exception.

Bounded by example count, not time, and derandomized: the same inputs on every run and every machine.
Nothing is attached: scripts are compiled, the trace command only dumps (``-d``), objects are only opened.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinybpf.errors import TinyBPFError

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LEAKS = ("cannot compile yet", "internal error", "Traceback")
OBJECTS = sorted((Path(__file__).parent / "data" / "objects").glob("*.bpf.o"))

# ------------------------------------------------------------------ scripts

EXTREMES = [-1, 100, 101, 255, 4096, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1]
INTEGERS = st.sampled_from([*range(17)] * 6 + EXTREMES + [2**64, 10**21])  # mostly small, sometimes absurd
NAMES = st.sampled_from(["@", "@x", "@y[1]", "@z[pid, comm]", "@s[\"k\"]"])
VARS = st.sampled_from(["$a", "$b", "$s", "$t"])
BUILTINS = st.sampled_from(["pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu", "comm", "kstack", "ustack",
                            "arg0", "arg1", "retval", "func", "probe", "curtask", "rand", "cgroup", "$1", "$#",
                            "args", "args->filename", "args->flags", "username", "jiffies"])
FORMAT_PIECES = st.sampled_from(["%d", "%s", "%x", "%-5d", "%05u", "%+d", "%lld", "%p", "%c", "%r", "%rx",
                                 "%n", "%q", "%%", "%f", "%9999999999d", "%.3s", "% #x", "%hhd", "text", "\\n",
                                 "\\t", "\\x41", "\\377", "%"])
STRINGS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\\\n'), max_size=8)


def calls(expr: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    one = expr
    fmt = st.lists(FORMAT_PIECES, max_size=4).map("".join)
    return st.one_of(
        st.tuples(fmt, st.lists(one, max_size=3)).map(lambda t: f'printf("{t[0]}"{"".join(", " + a for a in t[1])})'),
        st.tuples(one, INTEGERS).map(lambda t: f"str({t[0]}, {t[1]})"),
        st.tuples(one, INTEGERS).map(lambda t: f"buf({t[0]}, {t[1]})"),
        one.map(lambda a: f"ntop({a})"),
        STRINGS.map(lambda s: f'ntop("{s}")'),
        INTEGERS.map(lambda n: f"strerror({n})"),
        INTEGERS.map(lambda n: f"signal_name({n})"),
        INTEGERS.map(lambda n: f"kstack({n})"),
        INTEGERS.map(lambda n: f"ustack(perf, {n})"),
        one.map(lambda a: f"hist({a})"),
        st.tuples(one, INTEGERS, INTEGERS, INTEGERS).map(lambda t: f"lhist({t[0]}, {t[1]}, {t[2]}, {t[3]})"),
        one.map(lambda a: f"{['sum', 'avg', 'min', 'max', 'stats'][len(a) % 5]}({a})"),
        st.just("count()"),
        one.map(lambda a: f"ksym({a})"),
        one.map(lambda a: f"usym({a})"),
        STRINGS.map(lambda s: f'strftime("{s}", nsecs)'),
        STRINGS.map(lambda s: f'time("{s}")'),
        one.map(lambda a: f"exit({a})"),
        one.map(lambda a: f"sizeof({a})"),
        one.map(lambda a: f"print({a})"),
        NAMES.map(lambda m: f"delete({m})"),
        st.just("clear(@x)"),
        one.map(lambda a: f"join({a})"),
        one.map(lambda a: f"reg({a})"),
    )


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(INTEGERS.map(str), BUILTINS, VARS, NAMES, STRINGS.map(lambda s: f'"{s}"'))

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from([*list("+-*/%&|^<>"), "<<", ">>", "==", "!=", "&&", "||", "<="]),
                      inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "!", "~", "*", "&"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            st.tuples(st.sampled_from(["uint8", "int64", "struct task_struct *", "char"]), inner)
            .map(lambda t: f"(({t[0]}){t[1]})"),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ")"),
            st.tuples(inner, st.sampled_from([".0", ".1", "->pid", "[0]", "[1]"])).map("".join),
            calls(inner),
        )

    return st.recursive(leaves, grow, max_leaves=6)


EXPR = expressions()


def statements() -> st.SearchStrategy[str]:
    simple = st.one_of(
        st.tuples(NAMES, EXPR).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(VARS, EXPR).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(NAMES, st.sampled_from(["++", "--"])).map("".join),
        st.tuples(NAMES, st.sampled_from(["+=", "-=", "<<="]), EXPR).map(" ".join),
        EXPR,
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        block = st.lists(inner, max_size=3).map(lambda xs: "{ " + join(xs) + " }")
        return st.one_of(
            st.tuples(EXPR, block, block).map(lambda t: f"if ({t[0]}) {t[1]} else {t[2]}"),
            st.tuples(INTEGERS, block).map(lambda t: f"unroll({t[0]}) {t[1]}"),
            st.tuples(EXPR, block).map(lambda t: f"while ({t[0]}) {{ break; {t[1][1:]}"),
            st.tuples(block).map(lambda t: f"for ($kv : @x) {t[0]}"),
        )

    return st.recursive(simple, grow, max_leaves=4)


def join(statements: list[str]) -> str:
    """Statements in a block: a ``;`` after simple ones, none after a ``{ }`` (bpftrace's grammar)."""
    return " ".join(text if text.startswith(_COMPOUND) else text + ";" for text in statements)


_COMPOUND = ("if (", "unroll(", "while (", "for (")


STATEMENTS = statements()
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
ATTACH = st.sampled_from([
    *["BEGIN", "END", "interval:s:1", "profile:hz:99", "tracepoint:syscalls:sys_enter_openat",
      "tracepoint:sched:sched_switch", "software:cpu-clock:100000", f"uprobe:{LIBC}:malloc", "kprobe:vfs_read",
      "kretprobe:vfs_read", "rawtracepoint:sched_switch"] * 3,
    "interval:ms:18446744073709551615", "interval:us:-1", "interval:ns:5", "i:s:0", "watchpoint:0x1000:8:w",
    f"uprobe:{LIBC}:malloc+3", "BEGIN,END",
])
PROLOGUE = '@x[1] = 1; @s["k"] = "v"; $a = 1; $b = (uint8)2; $s = "s"; $t = (1, "x"); '
"""Names the generated statements use, defined first so that more of them type-check."""


@st.composite
def scripts(draw: st.DrawFn) -> str:
    probes = []
    for _ in range(draw(st.integers(1, 2))):
        body = join(draw(st.lists(STATEMENTS, min_size=1, max_size=4)))
        predicate = draw(st.one_of(st.just(""), EXPR.map(lambda e: f"/{e}/ ")))
        probes.append(f"{draw(ATTACH)} {predicate}{{ {PROLOGUE}{body} }}")
    return "\n".join(probes)


def compile_cleanly(source: str, params: tuple[str, ...] = ("1", "abc")) -> None:
    from tinybpf.trace.compiler import Options, compile_trace

    try:
        compile_trace(source, "fuzz.bt", Options(params=params))
    except TinyBPFError as exc:
        assert not any(leak in str(exc) for leak in LEAKS), f"{exc}\n--- script:\n{source}"


@pytest.mark.kernel
@FUZZ
@given(scripts())
def test_generated_scripts_compile_or_fail_cleanly(source: str) -> None:
    compile_cleanly(source)


REAL_SCRIPTS = [p.read_text() for p in sorted((Path(__file__).parent / "trace" / "scripts").glob("*.bt"))]
SPLICES = st.sampled_from(["0", "-1", "18446744073709551615", "18446744073709551616", '"\\xff"', "$1", "$9",
                           "args", "@", "(", ")", "{", "}", ";", ",", "->x", "%n", "%999999999999d", "unroll(100)",
                           "/0/", "\n", "\0", "\udcff", "//", "/*", "#include <linux/sched.h>\n"])


@st.composite
def mutated_real_scripts(draw: st.DrawFn) -> str:
    """One of the test scripts (real tools) with a few spans replaced by hostile text."""
    text = draw(st.sampled_from(REAL_SCRIPTS))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 8)))
        text = text[:i] + draw(SPLICES) + text[j:]
    return text


@pytest.mark.kernel
@FUZZ
@given(mutated_real_scripts())
def test_mutated_real_scripts_compile_or_fail_cleanly(source: str) -> None:
    compile_cleanly(source)


# ------------------------------------------------------------------ environment knobs

KNOBS = ["BPFTRACE_MAP_KEYS_MAX", "BPFTRACE_MAX_MAP_KEYS", "BPFTRACE_STRLEN", "BPFTRACE_MAX_STRLEN",
         "BPFTRACE_CAT_BYTES_MAX", "BPFTRACE_LOG_SIZE", "BPFTRACE_PRINT_MAPS_ON_EXIT", "BPFTRACE_STACK_MODE",
         "BPFTRACE_MISSING_PROBES", "BPFTRACE_STR_TRUNC_TRAILER", "BPFTRACE_MAX_PROBES", "BPFTRACE_PERF_RB_PAGES"]
KNOB_VALUES = st.one_of(INTEGERS.map(str), st.sampled_from(["", "abc", " 5", "5 ", "0x10", "1e3", "-0", "true",
                                                            "off", "perf", "raw", "warn", "\u0663"]),
                        st.text(max_size=6))
KNOB_SCRIPT = ('BEGIN { @x[1] = 1; @s = str(comm); printf("%s %d\\n", kstack(1), 2); '
               'cat("/proc/self/comm"); exit(); }')


@FUZZ
@given(st.dictionaries(st.sampled_from(KNOBS), KNOB_VALUES, min_size=1, max_size=3))
def test_environment_knobs_are_accepted_or_refused_cleanly(knobs: dict[str, str]) -> None:
    knobs = {name: value.replace("\0", "") for name, value in knobs.items()}
    saved = {name: os.environ.get(name) for name in knobs}
    os.environ.update(knobs)
    try:
        compile_cleanly(KNOB_SCRIPT)
        compile_cleanly("config = { max_map_keys = " + knobs.get("BPFTRACE_MAP_KEYS_MAX", "5").split(" ")[0]
                        .replace("}", "") + " } BEGIN { @[1] = 1; exit(); }")
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)


# ------------------------------------------------------------------ command lines

def run_cli(argv: list[str]) -> tuple[int, str]:
    """``tinybpf ARGV`` in a forked child of this process (cheap, and whatever the command does to its
    process, such as naming it, stays there): (exit code, stderr)."""
    from tinybpf.cli.main import main

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, never return into pytest
        code, err = 1, io.StringIO()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            code, err = 70, io.StringIO(f"Traceback: {type(exc).__name__}: {exc}")
        finally:
            os.write(write_end, f"{code}\n{err.getvalue()}".encode("utf-8", "surrogateescape"))
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode("utf-8", "surrogateescape")
    os.waitpid(pid, 0)
    code_text, _, err_text = report.partition("\n")
    return int(code_text or 70), err_text


TRACE_FLAGS = st.sampled_from([
    ["-p", "0"], ["-p", "1"], ["-p", "-5"], ["-p", "99999999999"], ["-p", "abc"], ["-p", ""], ["-f", "json"],
    ["-f", "xml"], ["-B", "full"], ["-B", "bad"], ["-q"], ["-v"], ["-k"], ["-kk"], ["--unsafe"],
    ["--no-warnings"], ["-I", "/nonexistent"], ["--include", "linux/sched.h"], ["--mode", "bench"],
    ["--mode", "nope"], ["--probe-filter", "("], ["--probe-filter", "BEGIN"], ["--"], ["--bogus"], ["-x"],
])
SCRIPT_ARGUMENTS = st.sampled_from(["1", "-1", "abc", "", "18446744073709551616", "--", "-e", "\udcff"])
SMALL_SCRIPTS = st.sampled_from([
    "BEGIN { exit(); }", 'BEGIN { printf("%d %s\\n", $1, str($2)); exit(); }', "BEGIN { @[$1] = count(); }",
    "interval:s:$1 { exit(); }", 'BEGIN { printf("%s", $#); }', "BEGIN { exit(", "", "\udcff",
    'BEGIN { @x = ustack($1); }', "i:ms:1 { @ = hist(-1); exit(); }",
])


@pytest.mark.kernel
@FUZZ
@given(st.lists(TRACE_FLAGS, max_size=3), SMALL_SCRIPTS, st.lists(SCRIPT_ARGUMENTS, max_size=3))
def test_trace_command_lines_fail_cleanly(flags: list[list[str]], script: str, params: list[str]) -> None:
    argv = ["trace", "-d", *[word for flag in flags for word in flag], "-e", script, *params]
    code, err = run_cli(argv)
    assert code != 70 and not any(leak in err for leak in LEAKS), f"{argv}: {code}\n{err}"


OTHER_COMMANDS = st.one_of(
    st.tuples(st.sampled_from(["prog", "map"]), st.sampled_from(["show", "dump"]),
              st.one_of(INTEGERS.map(str), st.sampled_from(["abc", "", "0x10", "1.5", "--", "-"]))).map(list),
    st.tuples(st.sampled_from(["disasm", "load", "run", "btf", "asm"]),
              st.sampled_from(["/nonexistent", "/dev/null", "/etc/passwd", "/bin/ls", "/proc/self/status", ""]))
    .map(list),
    st.lists(st.sampled_from(["prog", "map", "list", "--json", "features", "--help", "-h", "btf", "dump",
                              "--bogus", "--version"]), max_size=3),
)


@FUZZ
@given(OTHER_COMMANDS)
def test_other_command_lines_fail_cleanly(argv: list[str]) -> None:
    code, err = run_cli(argv)
    assert code != 70 and not any(leak in err for leak in LEAKS), f"{argv}: {code}\n{err}"


# ------------------------------------------------------------------ object files

def open_cleanly(data: bytes, tmp: Path) -> None:
    from tinybpf.objects import Object

    path = tmp / "fuzzed.bpf.o"
    path.write_bytes(data)
    try:
        obj = Object.open(path)
        for program in obj.spec.programs.values():
            str(program.instructions)
    except TinyBPFError:
        pass


@FUZZ
@given(st.integers(0, max(len(OBJECTS) - 1, 0)), st.integers(0, 1 << 20),
       st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(1, 255)), min_size=1, max_size=8))
def test_corrupt_objects_open_or_fail_cleanly(tmp_path_factory: pytest.TempPathFactory, which: int, cut: int,
                                              flips: list[tuple[int, int]]) -> None:
    if not OBJECTS:
        pytest.skip("no committed test objects")
    data = bytearray(OBJECTS[which].read_bytes())
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    if cut % 3 == 0:  # a third of the cases are also truncated
        del data[max(cut % (len(data) + 1), 64):]
    open_cleanly(bytes(data), tmp_path_factory.mktemp("obj"))

