"""bpftrace behaviour that held-out scripts and tools rely on: aggregations in long loops, ``zero()`` of keyless
aggregates, the ``missing_probes`` setting, and the tracer's own name."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TRACE = [sys.executable, "-m", "tinybpf", "trace"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF programs needs root")


def trace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TRACE, *args], capture_output=True, text=True, timeout=120, check=False)


@needs_root
@pytest.mark.parametrize("loop", ["$i = 0; while ($i < 100) { BODY $i++; }", "$i = 0; unroll(100) { BODY $i++; }",
                                  "for ($i : 0..100) { BODY }"])
def test_lhist_in_a_100_iteration_loop(loop: str) -> None:
    body = "@l = lhist($i, 0, 100, 10); @k[$i % 3] = lhist(rand % 2000, 0, 1000, 1);"
    result = trace("-e", "BEGIN { " + loop.replace("BODY", body) + " exit(); }")
    assert result.returncode == 0, result.stderr
    assert "[90, 100)             10 |" in result.stdout


@needs_root
@pytest.mark.parametrize("aggregate, printed", [("count()", "@c: 0"), ("sum(5)", "@c: 0"), ("min(3)", "@c: 0"),
                                                ("max(3)", "@c: 0"), ("avg(3)", "@c: 0")])
def test_zero_of_a_keyless_aggregate_prints_zero(aggregate: str, printed: str) -> None:
    result = trace("-e", f"BEGIN {{ @c = {aggregate}; zero(@c); exit(); }}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n\n")[-1].strip() == printed


@needs_root
def test_missing_uprobes_are_an_error_by_default_with_the_knob_named() -> None:
    result = trace("-e", "uprobe:/bin/bash:echo_builtin,uprobe:/bin/bash:tt_no_such_function { exit(); }")
    assert result.returncode == 1
    assert "ERROR: No matches for uprobe /bin/bash:tt_no_such_function." in result.stderr


@needs_root
def test_missing_uprobes_warn_and_the_rest_attach() -> None:
    script = ('config = { missing_probes = "warn" } uprobe:/bin/bash:echo_builtin,'
              'uprobe:/bin/bash:tt_no_such_function, uprobe:/bin/bash:tt_nothing_* { printf("hit\\n"); exit(); }')
    result = trace("-e", script, "-c", "/bin/bash -c echo")
    assert result.returncode == 0, result.stderr
    assert "WARNING: No matches for uprobe /bin/bash:tt_no_such_function. Skipping." in result.stderr
    assert "Attached 1 probe" in result.stderr and "hit" in result.stdout.split()


@needs_root
def test_a_probe_left_without_attach_points() -> None:
    result = trace("-e", "uprobe:/bin/bash:tt_nothing_* { exit(); } BEGIN { exit(); }")
    assert result.returncode == 1
    assert ("ERROR: Probe has no valid attach points. If this is expected, set the 'missing_probes' config "
            "variable to 'warn'.") in result.stderr
    ignored = trace("-e", 'config = { missing_probes = "ignore" } uprobe:/bin/bash:tt_nothing_* { exit(); } '
                    'BEGIN { printf("began\\n"); exit(); }')
    assert ignored.returncode == 0 and ignored.stdout.startswith("began") and "WARNING" not in ignored.stderr


@needs_root
def test_the_tracer_is_called_tinybpf() -> None:
    result = trace("-e", 'BEGIN { printf("%s\\n", comm); exit(); }')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "tinybpf"


@needs_root
def test_kernel_macros_of_included_headers(tmp_path: Path) -> None:
    script = tmp_path / "defines.bt"
    script.write_text('#include <linux/socket.h>\n#include <linux/sched.h>\n'
                      'BEGIN { printf("%d %d %d\\n", AF_INET6, TASK_RUNNING, TASK_UNINTERRUPTIBLE); exit(); }\n')
    result = trace(str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["10", "0", "2"]


def test_a_struct_member_of_an_undefined_struct_is_incomplete() -> None:
    from tinybpf.trace.semantics.c_types import CTypeError, CTypes

    with pytest.raises(CTypeError, match="field has incomplete type 'struct thread_info'"):
        CTypes("struct task_struct { struct thread_info x; };\n")
    types = CTypes("struct Bar { int a; };\nstruct Foo { struct Bar b; struct Baz *p; };\n")
    assert types.record("struct Foo").size == 16  # type: ignore[union-attr]


def test_definitions_in_branches_not_taken_are_not_parsed() -> None:
    from tinybpf.trace.semantics.c_types import CTypes

    types = CTypes("#ifndef BPFTRACE_HAVE_BTF\nstruct nameidata { struct path path; };\n#endif\n"
                   "struct Mine { int x; };\n")
    assert "struct nameidata" not in types.records and "struct Mine" in types.records


@needs_root
@pytest.mark.parametrize("script, printed", [
    ("struct Foo { char m; } macro sof(a, b) { sizeof(a[2]) + sizeof(b*) + sizeof(b) } "
     "BEGIN { print(sof(typeof(uint64*), typeof(struct Foo))); exit(); }", "25"),
    ("macro m(t) { sizeof(t) + 2 } macro n(z) { print(m(typeof(z))); } BEGIN { n(typeof(uint64*)); exit(); }", "10"),
    ("struct Foo { int m; int n; } BEGIN { $n = (int32 *)4100; "
     "print((uint64)container_of($n, typeof(struct Foo), n)); exit(); }", "4096"),
])
def test_typeof_as_a_macro_argument(script: str, printed: str) -> None:
    result = trace("-e", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == printed


@needs_root
def test_include_flag_brings_errno_names() -> None:
    result = trace("--include", "errno.h", "-e", "BEGIN { print(strerror(EPERM)); exit(); }")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "Operation not permitted"


def test_imports_bring_macros_map_declarations_and_headers(tmp_path: Path) -> None:
    from tinybpf.trace.syntax.parser import parse

    lib = tmp_path / "lib"
    lib.mkdir(mode=0o755)
    (lib / "helpers.bt").write_text("macro twice(x) { x * 2 }\nlet @m = hash(10);\n")
    (lib / "pair.h").write_text("struct Pair { int a; int b; };\n")
    (tmp_path / "script.bt").write_text('import "lib/helpers.bt";\nimport "lib";\nBEGIN { @m[1] = twice(21); }\n')
    script = tmp_path / "script.bt"
    program = parse(script.read_text(), str(script))
    assert [d.name for d in program.map_decls] == ["@m"]
    assert "struct Pair" in program.c_source
    assert "twice" not in repr(program.probes[0].block)  # expanded


def test_stdlib_imports() -> None:
    from tinybpf.trace.syntax.diagnostics import TraceError
    from tinybpf.trace.syntax.parser import parse

    program = parse('import "stdlib/test"; BEGIN { print(__always_true()); }')
    assert "Integer" in repr(program.probes[0].block)
    with pytest.raises(TraceError, match="no module 'nope'"):
        parse('import "stdlib/nope"; BEGIN { }')


def test_imports_refuse_world_writable_folders(tmp_path: Path) -> None:
    from tinybpf.trace.syntax.diagnostics import TraceError
    from tinybpf.trace.syntax.parser import parse

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "x.bt").write_text("macro one() { 1 }\n")
    with pytest.raises(TraceError, match="world-writable"):
        parse('import "shared/x.bt"; BEGIN { }', str(tmp_path / "script.bt"))


@needs_root
def test_comparisons_are_bools_printed_true_false() -> None:
    result = trace("-e", 'BEGIN { $x = 1; print($x > 1); print(!$x); @k[$x == 1] = count(); printf("%d\\n", $x == 1); '
                   "exit(); }")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["false", "false", "1", "@k[true]:", "1"]


_INLINED_C = """\
static inline __attribute__((always_inline)) int inner(int x) {
  return x * 3;
}
static inline __attribute__((always_inline)) int middle(int x) {
  return inner(x) + 1;
}
__attribute__((noinline)) int outer(int x) {
  return middle(x) - 2;
}
int main(int argc, char **argv) { (void)argv; return outer(argc); }
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_source_lines_and_inlined_frames_from_dwarf(tmp_path: Path) -> None:
    from tinybpf.symbols.user import binary_symbols
    from tinybpf.trace.runtime.source_lines import inlined_at, symbol_frames

    source = tmp_path / "inl.c"
    source.write_text(_INLINED_C)
    binary = tmp_path / "inl"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(binary), str(source)], check=True)
    outer = binary_symbols(str(binary)).by_name("outer")[0]
    inlined = [offset for offset in range(outer.size) if inlined_at(str(binary), outer.value + offset)]
    assert inlined, "gcc inlined nothing"
    frames = symbol_frames(str(binary), "outer", inlined[0])
    assert [name for name, _ in frames] == ["inner", "middle", ""]
    assert [place.rpartition(":")[2] for _, place in frames if place][1:] == ["5", "8"]  # the call lines
    assert all(place and place.startswith(str(source)) for _, place in frames)


@needs_root
def test_len_of_a_stack_counts_its_frames() -> None:
    script = ('uprobe:/bin/bash:echo_builtin { $x = ustack(1); @one = len($x); @all = len(ustack); '
              '@printed = count(); exit(); }')
    result = trace("-e", script, "-c", "/bin/bash -c echo")
    assert result.returncode == 0, result.stderr
    values = dict(line.split(": ") for line in result.stdout.splitlines() if line.startswith("@"))
    assert values["@one"] == "1" and int(values["@all"]) >= 1


@needs_root
def test_socket_cookie_of_a_kernel_socket() -> None:
    result = trace("-e", "tracepoint:sock:inet_sock_set_state { printf(\"%llu\\n\", socket_cookie(args.skaddr)); "
                   "exit(); } BEGIN { exit(); }")
    assert result.returncode == 0, result.stderr


@needs_root
def test_debugf_writes_to_the_kernel_trace_buffer() -> None:
    from tinybpf.kernel import tracefs

    marker = f"tt_debugf_{os.getpid()}"
    result = trace("-e", f'BEGIN {{ debugf("{marker} %s %d %x", "a", 1, 16); exit(); }}')
    assert result.returncode == 0, result.stderr
    with open(os.path.join(tracefs.tracefs_root(), "trace")) as f:
        assert f"bpf_trace_printk: {marker} a 1 10" in f.read()


@needs_root
def test_k_reports_a_failed_read_as_bpftrace_helper_error_record() -> None:
    script = "struct foo {int a;}; uprobe:/bin/bash:echo_builtin { $tmp = ((struct foo*) 8).a; exit(); }"
    result = trace("-k", "-q", "-f", "json", "-e", script, "-c", "/bin/bash -c echo")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {"type": "helper_error", "msg": "Bad address", "helper": "probe_read_user", "retcode": -14,
            "filename": "stdin", "line": 1, "col": 62} in records
    text = trace("-k", "-e", script, "-c", "/bin/bash -c echo")
    assert "stdin:1:61-75: WARNING: Bad address\nAdditional Info - helper: probe_read_user, retcode: -14" in text.stderr


@needs_root
def test_a_map_loop_in_a_probe_that_reads_its_arguments() -> None:
    script = ("tracepoint:syscalls:sys_enter_execve /pid == cpid/ { @n[args.filename] = 1; @c[7] = 2; "
              "for ($kv : @c) { print($kv); } exit(); }")
    result = trace("-e", script, "-c", "/bin/true")
    assert result.returncode == 0, result.stderr
    assert "(7, 2)" in result.stdout.splitlines()
