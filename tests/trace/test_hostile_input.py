"""Hostile or mistaken input ends in one clear error, never an internal error (exit 70) or a traceback.

The expected diagnostics are bpftrace 0.17's for the same scripts (message, range and marker), except where
a comment says tinybpf is stricter because bpftrace fails later, at attach or map creation.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.trace.compiler import compile_trace
from tinybpf.trace.syntax.config import ConfigError
from tinybpf.trace.syntax.diagnostics import TraceError

TINYBPF = [sys.executable, "-m", "tinybpf"]


def tinybpf(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TINYBPF, *args], capture_output=True, text=True, timeout=60, check=False, env=env)


def rendered(script: str) -> str:
    with pytest.raises(TraceError) as caught:
        compile_trace(script)
    return caught.value.render()


TYPE_ERRORS = [
    ('BEGIN { printf("%s\\n", 1); exit(); }',
     'stdin:1:9-26: ERROR: printf: %s specifier expects a value of type string (integer supplied)\n'
     'BEGIN { printf("%s\\n", 1); exit(); }\n        ~~~~~~~~~~~~~~~~~\n'),
    ('BEGIN { printf("%q\\n", 1); exit(); }',
     'stdin:1:9-26: ERROR: printf: Too many arguments for format string (1 supplied, 0 expected)\n'
     'BEGIN { printf("%q\\n", 1); exit(); }\n        ~~~~~~~~~~~~~~~~~\n'),
    ('BEGIN { printf("%s\\n", ntop("abcd")); exit(); }',
     'stdin:1:24-36: ERROR: ntop() argument must be 4 or 16 bytes in size\n'
     'BEGIN { printf("%s\\n", ntop("abcd")); exit(); }\n                       ~~~~~~~~~~~~\n'),
    ('BEGIN { printf("%r\\n", buf(1, -1)); exit(); }',
     'stdin:1:24-34: ERROR: buf cannot use negative length (-1)\n'
     'BEGIN { printf("%r\\n", buf(1, -1)); exit(); }\n                       ~~~~~~~~~~\n'),
    ('BEGIN { $x = 1; printf("%s\\n", str($x, -1)); exit(); }',
     'stdin:1:32-43: ERROR: strcannot use negative length (-1)\n'
     'BEGIN { $x = 1; printf("%s\\n", str($x, -1)); exit(); }\n                               ~~~~~~~~~~~\n'),
    ('interval:ns:1 { exit(); }',
     'stdin:1:1-14: ERROR: ns is not an accepted unit of time\ninterval:ns:1 { exit(); }\n~~~~~~~~~~~~~\n'),
]


@pytest.mark.parametrize(("script", "expected"), TYPE_ERRORS, ids=[s for s, _ in TYPE_ERRORS])
def test_type_checks_bpftrace_makes(script: str, expected: str) -> None:
    assert rendered(script) == expected


@pytest.mark.parametrize("script", [
    'BEGIN { printf("%n\\n", 1); exit(); }',  # a conversion tinybpf does not implement
    'BEGIN { printf("%-+ #0999999999999999999999d", 1); exit(); }',  # a width no C int holds
    'BEGIN { printf("%.99999999999s", "a"); exit(); }',
])
def test_unusable_format_is_rejected_at_compile_time(script: str) -> None:
    assert "ERROR: printf: " in rendered(script)


def test_context_cannot_be_assigned_to_a_map() -> None:
    script = "tracepoint:syscalls:sys_enter_openat { @x = args; exit(); }"
    assert rendered(script) == ("stdin:1:43-44: ERROR: context cannot be assigned to a map\n"
                                f"{script}\n" + " " * 42 + "~\n")


@pytest.mark.parametrize("attach_point", ["interval:ms:18446744073709551615", "interval:s:-1", "profile:hz:0",
                                          "interval:s:0x8000000000000001"])
def test_timer_rate_must_be_a_positive_int64(attach_point: str) -> None:
    # bpftrace 0.17 reads these as -1 or 0 and fails attaching (perf_event_open: EINVAL); current bpftrace
    # refuses them with this message
    assert "frequency should be a positive integer" in rendered(f"{attach_point} {{ exit(); }}")


def test_timer_period_must_fit_the_kernel() -> None:
    assert "does not fit in 64 bits" in rendered("interval:s:99999999999 { exit(); }")


def test_strerror_takes_a_c_int() -> None:
    from tinybpf.trace.syntax.stdlib import strerror

    assert strerror(999999999999) == "Unknown error -727379969"  # what bpftrace prints
    assert strerror(2) == "No such file or directory"


@pytest.mark.parametrize("value", ["999999999999999999999", "abc", "-1", "0", " 5", ""])
def test_map_keys_max_that_is_not_a_positive_uint64(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BPFTRACE_MAP_KEYS_MAX", value)
    with pytest.raises(ConfigError, match="Env var 'BPFTRACE_MAP_KEYS_MAX' did not contain a valid uint64_t"):
        compile_trace("BEGIN { @[1] = 1; exit(); }")


def test_map_keys_max_beyond_max_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_MAP_KEYS_MAX", "4294967296")  # bpftrace: map creation fails with EINVAL
    with pytest.raises(ConfigError, match="too large"):
        compile_trace("BEGIN { @[1] = 1; exit(); }")


@pytest.mark.parametrize(("knob", "value"), [("BPFTRACE_STRLEN", "abc"), ("BPFTRACE_MAX_STRLEN", "0"),
                                             ("BPFTRACE_CAT_BYTES_MAX", "-5"), ("BPFTRACE_LOG_SIZE", "1e3"),
                                             ("BPFTRACE_PRINT_MAPS_ON_EXIT", "maybe")])
def test_every_knob_is_checked_before_compiling(monkeypatch: pytest.MonkeyPatch, knob: str, value: str) -> None:
    monkeypatch.setenv(knob, value)
    with pytest.raises(ConfigError, match=knob):
        compile_trace("BEGIN { exit(); }")


def test_config_block_value_is_checked() -> None:
    assert rendered("config = { max_map_keys = 0 } BEGIN { exit(); }") == (
        "stdin:1:27-28: ERROR: max_map_keys: expecting a positive number, got 0\n"
        "config = { max_map_keys = 0 } BEGIN { exit(); }\n" + " " * 26 + "~\n")


def test_valid_knobs_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_MAP_KEYS_MAX", "100")
    monkeypatch.setenv("BPFTRACE_PRINT_MAPS_ON_EXIT", "0")
    trace = compile_trace("BEGIN { @[1] = 1; exit(); }")
    assert trace.maps["@"].max_entries == 100


def test_script_file_with_invalid_utf8_is_read_like_dash_e(tmp_path: Path) -> None:
    script = tmp_path / "bytes.bt"
    script.write_bytes(b'BEGIN { printf("\xff\xfe\\n"); exit(); }\n')
    from_file = tinybpf("trace", "--dry-run", str(script))
    assert from_file.returncode == 0, from_file.stderr


def test_binary_file_as_script_is_a_script_error() -> None:
    result = tinybpf("trace", "--dry-run", "/bin/ls")
    assert result.returncode == 1
    assert result.stderr.startswith("/bin/ls:1:1-2: ERROR: invalid character")
    assert "internal error" not in result.stderr


def test_pid_zero_is_out_of_range() -> None:
    result = tinybpf("trace", "-p", "0", "-e", "BEGIN { exit(); }")
    assert (result.returncode, result.stderr) == (1, "ERROR: pid '0' out of valid pid range [1,4194304]\n")


@pytest.mark.parametrize("args", [("map", "show", "-1"), ("prog", "show", "--", "-5"),
                                  ("prog", "dump", "99999999999"), ("map", "dump", "abc")])
def test_object_ids_out_of_range(args: tuple[str, ...]) -> None:
    result = tinybpf(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "id" in result.stderr
    assert "internal error" not in result.stderr


def test_nested_unrolls_beyond_the_instruction_limit_fail_at_the_first_copy() -> None:
    script = "BEGIN { @ = 0; unroll(100) { unroll(100) { unroll(100) { @++; } } } exit(); }"
    text = rendered(script)  # before: ~2M instructions generated first (50 s on a busy 2-core machine)
    assert text.startswith("stdin:1:44-55: ERROR: unroll: 1000000 copies of this body (unrolls within unrolls) "
                           "need more than 1000000 instructions")


def test_nested_unrolls_within_the_limit_compile() -> None:
    compile_trace("BEGIN { @ = 0; unroll(100) { unroll(20) { @++; } } exit(); }")


@pytest.mark.parametrize("script", [
    "BEGIN { @ = 1" + " + 1" * 99 + "; exit(); }",
    "BEGIN { if (" + " || ".join(["pid == 1"] * 99) + ") { exit(); } }",
    "struct S { struct S *n; int v; } BEGIN { $s = (struct S *)0; @ = $s" + "->n" * 300 + "->v; exit(); }",
    "BEGIN { if (pid == 0) { @ = 0; } " + "else if (pid == 1) { @ = 1; } " * 999 + "exit(); }",
], ids=["100 terms", "99 alternatives", "300 arrows", "999 else-ifs"])
def test_left_associative_chains_are_not_nesting(script: str) -> None:
    compile_trace(script)  # bpftrace accepts them; the nesting limit is for real recursion


def test_chains_are_bounded_too() -> None:
    assert "chained operators" in rendered("BEGIN { @ = 1" + " + 1" * 5000 + "; }")


def test_an_unsupported_construct_names_no_python_internals() -> None:
    text = rendered("tracepoint:syscalls:sys_enter_openat { $x = args; printf(\"%d\\n\", $x->flags); exit(); }")
    assert "cannot compile yet (set TINYBPF_DEBUG=1" in text
    assert "Error" not in text and "invalid literal" not in text


def test_no_unary_operator_on_an_aggregation() -> None:
    assert rendered("BEGIN { @count = count(); $y = -@count; exit(); }") == (
        "stdin:1:32-33: ERROR: The - operator can not be used on expressions of type 'count'\n"
        "BEGIN { @count = count(); $y = -@count; exit(); }\n" + " " * 31 + "~\n")


def test_aggregations_still_take_part_in_binary_operators() -> None:
    # bpftrace 0.17 refused `@count + 1`; current bpftrace casts the count (its runtime suite relies on it)
    compile_trace("BEGIN { @a = sum(10); @b = count(); $c = @a + @b; if (@b > 5) { exit(); } }")


@pytest.mark.parametrize(("block", "message"), [
    ("stack_mode = bogus", "stack_mode: Invalid value for stack_mode: valid values are bpftrace, raw, perf, and "
                           "build_id."),
    ("missing_probes = maybe", "missing_probes: Invalid value for missing_probes"),
    ("max_strlen = -1", "max_strlen: expecting a positive number, got -1"),
    ("print_maps_on_exit = 2", "print_maps_on_exit: Invalid bool value"),
])
def test_config_block_errors_point_at_the_value(block: str, message: str) -> None:
    text = rendered(f"config = {{ {block} }} BEGIN {{ exit(); }}")
    assert text.startswith(f"stdin:1:{block.index('=') + 14}-") and message in text


def test_enumerated_knobs_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_STACK_MODE", "bogus")
    with pytest.raises(ConfigError, match="BPFTRACE_STACK_MODE: Invalid value for stack_mode"):
        compile_trace("BEGIN { exit(); }")
