"""tracefs: tracepoint ids and formats, wildcards, and the legacy probe_events files."""
from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybpf.errors import TinyBPFError
from tinybpf.kernel import tracefs

SCHED_SWITCH = """name: sched_switch
ID: 372
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:__data_loc char[] name;\toffset:28;\tsize:4;\tsigned:0;
\tfield:const char * filename;\toffset:32;\tsize:8;\tsigned:0;
\tfield:unsigned long args[6];\toffset:40;\tsize:48;\tsigned:0;
\tfield:u8 saddr[TASK_LEN];\toffset:88;\tsize:4;\tsigned:0;

print fmt: "prev_comm=%s", REC->prev_comm
"""


def test_parse_format_reads_every_field() -> None:
    fmt = tracefs.parse_format(SCHED_SWITCH, "sched")
    assert (fmt.category, fmt.name, fmt.id) == ("sched", "sched_switch", 372)
    assert [f.name for f in fmt.fields if not f.is_common] == [
        "prev_comm", "prev_pid", "name", "filename", "args", "saddr"]
    comm = fmt.field("prev_comm")
    assert (comm.type, comm.offset, comm.size, comm.array_length, comm.signed) == ("char", 8, 16, 16, False)
    assert fmt.field("prev_pid").signed and fmt.field("prev_pid").type == "pid_t"
    name = fmt.field("name")
    assert name.data_loc and name.type == "char" and name.size == 4
    assert fmt.field("filename").type == "const char *"
    assert fmt.field("args").array_length == 6
    assert fmt.field("saddr").array_length == 4  # symbolic length: worked out from the size
    assert fmt.print_fmt.startswith('"prev_comm=%s"')
    assert fmt.size == 92
    with pytest.raises(KeyError):
        fmt.field("nope")


@given(name=st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True), offset=st.integers(0, 4096),
       size=st.sampled_from([1, 2, 4, 8]), signed=st.booleans(), length=st.none() | st.integers(1, 64))
def test_field_lines_round_trip(name: str, offset: int, size: int, signed: bool, length: int) -> None:
    decl = f"unsigned int {name}" + (f"[{length}]" if length else "")
    line = f"\tfield:{decl};\toffset:{offset};\tsize:{size * (length or 1)};\tsigned:{int(signed)};"
    field = tracefs.parse_field(line)
    assert field is not None
    assert (field.name, field.type, field.offset, field.signed, field.array_length) == (
        name, "unsigned int", offset, signed, length)


def test_split_tracepoint() -> None:
    assert tracefs.split_tracepoint("sched:sched_switch") == ("sched", "sched_switch")
    assert tracefs.split_tracepoint("sched/sched_switch") == ("sched", "sched_switch")
    with pytest.raises(TinyBPFError):
        tracefs.split_tracepoint("sched_switch")


@pytest.mark.kernel
def test_event_id_matches_format_file() -> None:
    fmt = tracefs.event_format("raw_syscalls", "sys_enter")
    assert fmt.id == tracefs.event_id("raw_syscalls", "sys_enter")
    assert fmt.field("id").offset == 8 and fmt.field("args").array_length == 6


@pytest.mark.kernel
def test_list_events_with_wildcards() -> None:
    events = tracefs.list_events("syscalls:sys_enter_open*")
    assert "syscalls:sys_enter_openat" in events
    assert all(e.startswith("syscalls:sys_enter_open") for e in events)
    assert "sched:sched_switch" in tracefs.list_events("sched")
    assert tracefs.list_events("sched_switch") == ["sched:sched_switch"]


@pytest.mark.kernel
def test_missing_tracepoint_is_a_clear_error() -> None:
    with pytest.raises(TinyBPFError, match="no tracepoint nosuch:event"):
        tracefs.event_id("nosuch", "event")


@pytest.mark.kernel
def test_legacy_uprobe_event_is_added_and_removed() -> None:
    target = shutil.which("true") or "/bin/true"
    group, name = "tinybpf_test", f"probe_{os.getpid()}"
    tracefs.add_probe_event("uprobe", f"p:{group}/{name} {os.path.realpath(target)}:0x0")
    try:
        assert any(f"{group}/{name}" in line for line in tracefs.probe_events("uprobe"))
        assert tracefs.event_id(group, name) > 0
    finally:
        tracefs.remove_probe_event("uprobe", group, name)
    assert not any(f"{group}/{name}" in line for line in tracefs.probe_events("uprobe"))
