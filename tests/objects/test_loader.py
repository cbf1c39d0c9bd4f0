"""The object loader against the real kernel: maps, globals, sub-programs, CO-RE, kconfig, pins, attach."""
from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinybpf.btf import kernel_btf
from tinybpf.errors import BPFError, VerifierError
from tinybpf.kernel.bpffs import find_bpffs
from tinybpf.kernel.constants import MapFlags, MapType
from tinybpf.kernel.sysinfo import kernel_version_code, num_possible_cpus
from tinybpf.objects import Object, ObjectError

pytestmark = pytest.mark.kernel

DATA = Path(__file__).resolve().parents[1] / "data" / "loader"
XDP_PACKET = bytes(64)


def path(name: str) -> Path:
    return DATA / f"{name}.bpf.o"


def test_globals_are_readable_and_writable_before_and_after_load() -> None:
    obj = Object.open(path("globals"))
    assert obj.rodata.factor == 3 and obj.rodata.greeting == b"hello" and obj.rodata.negative == -5
    obj.rodata.factor = 7
    obj.rodata.greeting = "bye"
    obj.data.data_value = 6
    with obj.load():
        assert obj.rodata.factor == 7  # read back from the frozen map
        result = obj.programs["compute"].test_run(XDP_PACKET)
        assert result.retval == 2  # XDP_PASS
        assert obj.bss.result == 42
        assert obj.bss.signed_result == -35
        assert obj.bss.history == [ord("b"), 0, 0, 0]
        assert obj.bss.static_hits == 1
        assert obj.section(".data.counters").custom_counter == 109
        obj.data.data_value = 10
        obj.programs["compute"].test_run(XDP_PACKET)
        assert obj.bss.result == 70
        with pytest.raises(ObjectError, match="frozen"):
            obj.rodata.factor = 1
        with pytest.raises(AttributeError, match="no variable"):
            _ = obj.bss.nope
        assert obj.maps[".rodata"].name == "globals.rodata"


def test_const_volatile_gate_prunes_a_branch_the_verifier_would_reject() -> None:
    """.rodata is RDONLY_PROG and frozen, as libbpf makes it: the verifier knows the gate is 0 and skips the branch."""
    with Object.load_file(path("rodata_gate")) as obj:
        assert obj.maps[".rodata"].info.flags & MapFlags.RDONLY_PROG
        assert obj.programs["gated"].test_run(XDP_PACKET).retval == 2  # XDP_PASS: answer read as 7
    opened = Object.open(path("rodata_gate"))
    opened.rodata.unchecked_read = 1
    with pytest.raises(VerifierError, match="packet"):
        opened.load()


def test_gigabyte_bss_costs_no_memory() -> None:
    """Loading an object whose .bss claims 1 GiB stays far below 1 GiB of RSS: the zeros are never materialised."""
    # VmHWM, not ru_maxrss: the latter keeps the peak of the forked pytest from before exec
    script = ("from tinybpf.objects import Object\n"
              f"obj = Object.load_file({str(path('big_bss'))!r})\n"
              "assert obj.programs['touch'].test_run(bytes(64)).retval == 2 and obj.data.seen == 2\n"
              "obj.close()\n"
              "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(done.stdout) < 256 * 1024  # KiB: the value alone would be 1,048,576


def test_every_map_kind_and_map_in_map() -> None:
    with Object.load_file(path("maps")) as obj:
        kinds = {name: m.type for name, m in obj.maps.items()}
        assert kinds["hash"] == MapType.HASH and kinds["ring"] == MapType.RINGBUF
        assert kinds["outer"] == MapType.ARRAY_OF_MAPS and kinds["outer_hash"] == MapType.HASH_OF_MAPS
        assert obj.maps["perf"].max_entries == num_possible_cpus()  # 0 in the object: one slot per CPU
        assert obj.maps["hash"].info.btf_id  # created with the object's BTF
        # slot 2 of outer was initialised with inner_b; the program adds 7 through it, then tail-calls
        result = obj.programs["use_maps"].test_run(XDP_PACKET)
        assert result.retval == 3  # XDP_TX from tail_target: the prog array was filled
        assert obj.maps["inner_b"][0] == 7 and obj.maps["inner_a"][0] == 0
        assert obj.maps["outer"][0] == obj.maps["inner_a"].info.id
        assert obj.maps["array"][0] == 1


def test_legacy_maps_and_socket_filter() -> None:
    with Object.load_file(path("legacy")) as obj:
        assert obj.maps["counts"].type == MapType.ARRAY and obj.maps["seen"].type == MapType.HASH
        packet = bytes(14) + b"\x45" + bytes(49)
        obj.programs["count"].test_run(packet)
        assert obj.maps["counts"][1] == 1 and obj.maps["seen"][1] == 1


def test_subprograms_and_several_programs_per_section() -> None:
    with Object.load_file(path("subprogs")) as obj:
        assert obj.programs["first"].test_run(XDP_PACKET).retval == 2
        assert obj.programs["second"].test_run(XDP_PACKET).retval == 3
        assert obj.programs["third"].test_run(bytes(64)).retval == 9
        assert obj.bss.calls == 4


def test_load_only_named_programs() -> None:
    with Object.load_file(path("subprogs"), ["second"]) as obj:
        assert list(obj.programs) == ["second"]
    with pytest.raises(ObjectError, match="no program 'nope'"):
        Object.load_file(path("subprogs"), ["nope"])


def _proc_status(pid: int, field: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    raise KeyError(field)


def test_core_reads_task_struct_like_proc() -> None:
    """BPF_CORE_READ on the running kernel's task_struct agrees with /proc for this very process."""
    btf = kernel_btf()
    task = btf.find("task_struct")
    obj = Object.open(path("core"))
    obj.rodata.target_tgid = os.getpid()
    with obj.load():
        obj.attach()
        os.getppid()
        bss = obj.bss
        assert bss.tgid == os.getpid() and bss.pid == os.getpid()  # the main thread
        assert bss.parent_tgid == os.getppid() == int(_proc_status(os.getpid(), "PPid"))
        assert bss.leader_tgid == os.getpid()  # through the ___flavour type
        with open(f"/proc/{os.getpid()}/comm", "rb") as f:
            assert bss.comm == f.read().strip()[:15]
        assert bss.missing_exists == 0 and obj.data.missing_value == -1  # guarded access was poisoned, dead
        assert bss.pid_offset == btf.member(task, "pid").byte_offset
        assert bss.comm_size == 16 and bss.pid_signed == 1
        assert bss.task_size == btf.sizeof(task) and bss.task_exists == 1 and bss.no_type_exists == 0
        assert bss.task_btf_id == task.id
        assert bss.sid_value == 3 and bss.nope_exists == 0
        assert bss.max_value == 4  # enumerator PIDTYPE_MAX___flavour matched PIDTYPE_MAX
        field = btf.member(task, "in_execve")
        unit = btf.sizeof(field.type)
        byte_off = field.bit_offset // 8 // unit * unit
        assert bss.bit_offset == byte_off
        assert bss.bit_lshift == 64 - (field.bit_offset + field.bitfield_size - byte_off * 8)
        assert bss.bit_rshift == 64 - field.bitfield_size


def _kernel_config() -> dict[str, str]:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError:
        with open(f"/boot/config-{os.uname().release}") as f:
            text = f.read()
    return dict(line.split("=", 1) for line in text.splitlines() if line.startswith("CONFIG_") and "=" in line)


def test_kconfig_and_ksym_externs() -> None:
    config = _kernel_config()
    with Object.load_file(path("kconfig")) as obj:
        obj.attach()
        os.getpid()
        assert kernel_version_code() == obj.kconfig.LINUX_KERNEL_VERSION
        bss = obj.bss
        assert bss.version == kernel_version_code()
        assert bss.hz == int(config["CONFIG_HZ"])
        assert bss.syscall_on == (config.get("CONFIG_BPF_SYSCALL") == "y")
        assert bss.jit == {"y": 1, "m": 2}.get(config.get("CONFIG_BPF_JIT", ""), 0)
        assert bss.localversion == config.get("CONFIG_LOCALVERSION", '""').strip('"').encode()
        assert bss.missing == 0 and bss.missing_sym == 0
        with open("/proc/kallsyms") as f:
            address = next(int(line.split()[0], 16) for line in f if line.split()[2] == "schedule")
        assert bss.schedule_address == address


@pytest.fixture
def pin_dir() -> Iterator[str]:
    root = find_bpffs()
    if root is None:
        pytest.skip("no bpffs mounted")
    directory = tempfile.mkdtemp(prefix="tinybpf-test-", dir=root)
    yield directory
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    os.rmdir(directory)


def test_pinned_map_is_reused_by_a_second_load(pin_dir: str) -> None:
    with Object.load_file(path("pinning"), pin_root=pin_dir) as first:
        assert os.path.exists(os.path.join(pin_dir, "tinybpf_shared"))
        first.programs["bump"].test_run(XDP_PACKET)
        assert first.maps["tinybpf_shared"][1] == 1
    with Object.load_file(path("pinning"), pin_root=pin_dir) as second:
        assert second.reused_maps == {"tinybpf_shared"}
        second.programs["bump"].test_run(XDP_PACKET)
        assert second.maps["tinybpf_shared"][1] == 2


def test_incompatible_pin_is_refused(pin_dir: str) -> None:
    from tinybpf.maps import Map

    with Map.create(MapType.ARRAY, 4, 8, 8) as other:
        other.pin(os.path.join(pin_dir, "tinybpf_shared"))
    with pytest.raises(ObjectError, match="differs in type"):
        Object.load_file(path("pinning"), pin_root=pin_dir)


def test_verifier_error_names_the_c_line() -> None:
    with pytest.raises(VerifierError) as caught:
        Object.load_file(path("verifier_fail"))
    message = str(caught.value)
    assert "\n" not in message
    assert "verifier_fail.bpf.c:17" in message and "no NULL check" in message
    assert "verifier_fail.bpf.o:unchecked" in message


def test_keep_going_records_failures() -> None:
    obj = Object.open(path("verifier_fail")).load(keep_going=True)
    try:
        assert not obj.programs and isinstance(obj.errors["unchecked"], BPFError)
        assert obj.maps["values"].type == MapType.HASH
    finally:
        obj.close()


def test_attach_by_section_and_detach_on_close() -> None:
    obj = Object.open(path("core"))
    obj.rodata.target_tgid = os.getpid()
    obj.load()
    links = obj.attach()
    assert list(links) == ["read_task"]
    assert links["read_task"].target == "tracepoint syscalls:sys_enter_getppid"
    obj.close()
    assert links["read_task"].closed


def test_explicit_attach_needs_a_target() -> None:
    with Object.load_file(path("globals")) as obj:
        assert obj.attach() == {}
        with pytest.raises(ObjectError, match="interface"):
            obj.attach_program("compute")
        link = obj.attach_program("compute", interface="lo")
        assert "lo" in link.target


def test_raw_section_bytes_before_load() -> None:
    obj = Object.open(path("globals"))
    raw = obj.rodata.raw()
    assert struct.unpack_from("<I", raw, 0)[0] == 3
    obj.close()
