"""The object reader (no kernel): section names, maps, globals, sub-program linking, externs, robustness."""
from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.btf.kinds import CoreReloKind
from tinybpf.elf.objspec import (
    KCONFIG,
    KFUNC,
    KSYM,
    MAP,
    MAP_VALUE,
    ObjectSpec,
    internal_map_name,
    object_name,
)
from tinybpf.elf.sections import parse_section, split_kprobe_target, split_uprobe_target
from tinybpf.errors import FormatError
from tinybpf.kernel.constants import AttachType, MapFlags, MapType, ProgFlags, ProgType

DATA = Path(__file__).resolve().parents[1] / "data" / "loader"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sockex1"
OBJECTS = sorted(DATA.glob("*.bpf.o")) + sorted(EXAMPLES.glob("*.o"))


def spec(name: str) -> ObjectSpec:
    return ObjectSpec.from_file(DATA / f"{name}.bpf.o")


@pytest.mark.parametrize(("section", "prog_type", "attach_type", "target"), [
    ("tracepoint/syscalls/sys_enter_openat", ProgType.TRACEPOINT, None, "syscalls/sys_enter_openat"),
    ("tp/sched/sched_switch", ProgType.TRACEPOINT, None, "sched/sched_switch"),
    ("raw_tracepoint/sys_enter", ProgType.RAW_TRACEPOINT, None, "sys_enter"),
    ("raw_tp/sys_enter", ProgType.RAW_TRACEPOINT, None, "sys_enter"),
    ("tp_btf/sched_switch", ProgType.TRACING, AttachType.TRACE_RAW_TP, "sched_switch"),
    ("kprobe/do_sys_openat2", ProgType.KPROBE, None, "do_sys_openat2"),
    ("kretprobe/do_sys_openat2", ProgType.KPROBE, None, "do_sys_openat2"),
    ("uprobe//usr/lib/libc.so.6:malloc", ProgType.KPROBE, None, "/usr/lib/libc.so.6:malloc"),
    ("uretprobe/libc.so.6:free", ProgType.KPROBE, None, "libc.so.6:free"),
    ("usdt/libc:setjmp", ProgType.KPROBE, None, "libc:setjmp"),
    ("perf_event", ProgType.PERF_EVENT, None, ""),
    ("socket", ProgType.SOCKET_FILTER, None, ""),
    ("socket1", ProgType.SOCKET_FILTER, None, ""),
    ("xdp", ProgType.XDP, AttachType.XDP, ""),
    ("tc", ProgType.SCHED_CLS, None, ""),
    ("tc/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS, ""),
    ("classifier", ProgType.SCHED_CLS, None, ""),
    ("cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, ""),
    ("cgroup_skb/egress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS, ""),
    ("cgroup/sock_create", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE, ""),
    ("fentry/do_nanosleep", ProgType.TRACING, AttachType.TRACE_FENTRY, "do_nanosleep"),
    ("fexit/do_nanosleep", ProgType.TRACING, AttachType.TRACE_FEXIT, "do_nanosleep"),
    ("lsm/file_open", ProgType.LSM, AttachType.LSM_MAC, "file_open"),
    ("iter/task", ProgType.TRACING, AttachType.TRACE_ITER, "task"),
])
def test_section_names_follow_libbpf(section: str, prog_type: ProgType, attach_type: AttachType,
                                     target: str) -> None:
    info = parse_section(section)
    assert info is not None
    assert (info.type, info.attach_type, info.target) == (prog_type, attach_type, target)


def test_section_details() -> None:
    assert parse_section("nonsense") is None
    assert parse_section("kprobe.multi/x") is not None
    assert parse_section("fentry.s/do_nanosleep").flags == ProgFlags.SLEEPABLE  # type: ignore[union-attr]
    assert parse_section("xdp.frags").flags == ProgFlags.XDP_HAS_FRAGS  # type: ignore[union-attr]
    assert parse_section("lsm/file_open").btf_name == "bpf_lsm_file_open"  # type: ignore[union-attr]
    assert parse_section("tp_btf/sched_switch").btf_name == "btf_trace_sched_switch"  # type: ignore[union-attr]
    assert split_uprobe_target("/usr/lib/libc.so.6:malloc+0x10") == ("/usr/lib/libc.so.6", "malloc", 16)
    assert split_uprobe_target("/bin/true:0x100") == ("/bin/true", "", 0x100)
    assert split_kprobe_target("do_sys_open+8") == ("do_sys_open", 8)


def test_names_like_libbpf() -> None:
    assert object_name("/x/sockex1_kern.o") == "sockex1_kern"
    assert object_name("minimal.bpf.o") == "minimal"
    assert internal_map_name("sockex1_kern", ".rodata") == "sockex1_.rodata"
    assert internal_map_name("globals", ".bss") == "globals.bss"
    assert internal_map_name("globals", ".data.counters") == ".data.counters"


def test_btf_maps_of_every_kind() -> None:
    maps = spec("maps").maps
    assert maps["hash"].type == MapType.HASH and maps["hash"].flags == MapFlags.NO_PREALLOC
    assert (maps["hash"].key_size, maps["hash"].value_size, maps["hash"].max_entries) == (4, 16, 64)
    assert maps["hash"].btf_key_type_id and maps["hash"].btf_value_type_id
    assert (maps["lru"].key_size, maps["lru"].value_size) == (8, 4)
    assert maps["ring"].type == MapType.RINGBUF and maps["ring"].max_entries == 4096
    assert (maps["perf"].key_size, maps["perf"].value_size, maps["perf"].max_entries) == (4, 4, 0)
    assert maps["queue"].key_size == 0 and maps["queue"].value_size == 4
    assert maps["on_node0"].numa_node == 0 and maps["on_node0"].flags & MapFlags.NUMA_NODE
    outer = maps["outer"]
    assert outer.type == MapType.ARRAY_OF_MAPS and outer.inner_map is not None
    assert outer.inner_map.type == MapType.ARRAY and outer.inner_map.max_entries == 1
    assert outer.slot_refs == ((0, "inner_a"), (2, "inner_b"))
    assert maps["jumps"].type == MapType.PROG_ARRAY and maps["jumps"].slot_refs == ((1, "tail_target"),)
    assert maps["outer_hash"].type == MapType.HASH_OF_MAPS and not maps["outer_hash"].slot_refs


def test_legacy_maps_and_sloppy_section() -> None:
    s = spec("legacy")
    assert (s.maps["counts"].type, s.maps["counts"].key_size, s.maps["counts"].value_size) == (MapType.ARRAY, 4, 8)
    assert s.maps["seen"].flags == MapFlags.NO_PREALLOC
    assert s.programs["count"].type == ProgType.SOCKET_FILTER
    assert s.kernel_version == 0x060000 and s.license == "GPL"
    assert {r.name for r in s.programs["count"].references if r.kind == MAP} == {"counts", "seen"}


def test_global_data_sections() -> None:
    s = spec("globals")
    assert set(s.datasecs) == {".rodata", ".data", ".bss", ".data.counters", ".rodata.limits"}
    rodata = s.datasecs[".rodata"]
    assert rodata.readonly and s.maps[".rodata"].freeze
    assert set(rodata.variables) == {"factor", "greeting", "negative"}
    factor = rodata.variables["factor"]
    assert struct.unpack_from("<I", rodata.data, factor.offset)[0] == 3
    assert not s.datasecs[".bss"].readonly and not s.maps[".bss"].freeze
    assert s.maps[".rodata"].flags & MapFlags.RDONLY_PROG and s.maps[".rodata.limits"].flags & MapFlags.RDONLY_PROG
    assert not s.maps[".bss"].flags & MapFlags.RDONLY_PROG and not s.maps[".data"].flags & MapFlags.RDONLY_PROG
    assert all(s.maps[name].flags & MapFlags.MMAPABLE for name in s.datasecs)  # each has a global variable
    assert "static_hits" in s.datasecs[".bss"].variables
    refs = {(r.kind, r.name) for r in s.programs["compute"].references}
    assert {(MAP_VALUE, sec) for sec in (".rodata", ".data", ".bss", ".data.counters", ".rodata.limits")} <= refs


def test_kconfig_map_is_read_only_for_programs() -> None:
    kconfig = spec("kconfig").maps[".kconfig"]
    assert kconfig.freeze and kconfig.flags & MapFlags.RDONLY_PROG


def test_nobits_bss_is_never_materialised() -> None:
    """A 5 KB object whose .bss claims 1 GiB: the spec holds its size, not its bytes."""
    s = spec("big_bss")
    bss = s.datasecs[".bss"]
    assert bss.size == 1 << 30 and bss.data == b"" and s.maps[".bss"].contents == ()
    assert s.maps[".bss"].value_size == 1 << 30
    assert bss.read(bss.variables["huge"].offset + 12345, 4) == bytes(4)


def test_subprograms_are_appended_per_program() -> None:
    s = spec("subprogs")
    assert set(s.programs) == {"first", "second", "third"}
    first, second = s.programs["first"], s.programs["second"]
    assert first.section == second.section == "xdp"
    # first calls add_triple which calls triple: main + 2 sub-programs, one func_info record each
    assert len(first.func_info) // first.func_info_rec_size == 3
    assert len(second.func_info) // second.func_info_rec_size == 3  # triple + the bpf_loop callback
    insn_offsets = [struct.unpack_from("<I", first.func_info, i)[0] for i in range(0, len(first.func_info), 8)]
    assert insn_offsets[0] == 0 and all(0 < off < len(first.instructions) // 8 for off in insn_offsets[1:])


def test_core_relocations_and_externs_are_recorded() -> None:
    core = spec("core")
    kinds = {relo.kind for relo in core.programs["read_task"].core_relos}
    assert {CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_EXISTS, CoreReloKind.TYPE_SIZE,
            CoreReloKind.ENUMVAL_VALUE, CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.TYPE_ID_TARGET} <= kinds
    kconfig = spec("kconfig")
    assert {e.name for e in kconfig.externs.values() if e.kind == KCONFIG} >= {"LINUX_KERNEL_VERSION", "CONFIG_HZ"}
    assert kconfig.externs["CONFIG_TINYBPF_NOT_A_CONFIG"].weak
    assert kconfig.externs["bpf_rcu_read_lock"].is_func
    ref_kinds = {r.kind for r in kconfig.programs["read_config"].references}
    assert {KCONFIG, KSYM, KFUNC} <= ref_kinds


def test_line_info_is_kept() -> None:
    program = spec("verifier_fail").programs["unchecked"]
    assert program.line_info and program.line_info_rec_size == 16


def test_not_an_object() -> None:
    with pytest.raises(FormatError, match=r"not a BPF object|ELF"):
        ObjectSpec.from_bytes(Path("/bin/true").read_bytes(), "/bin/true")


def _mutations(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    found = [data[: rng.randrange(len(data))] for _ in range(20)]
    for _ in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        found.append(bytes(mutated))
    return found


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_corrupt_objects_give_format_errors(path: Path) -> None:
    """Truncations and byte flips either still parse or raise a one-line FormatError, never anything else."""
    for i, data in enumerate(_mutations(path.read_bytes(), hash(path.name) & 0xFFFF)):
        try:
            ObjectSpec.from_bytes(data, f"{path.name}#{i}")
        except FormatError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.binary(min_size=1, max_size=8), st.sampled_from(OBJECTS))
def test_fuzzed_objects_never_crash(position: int, junk: bytes, path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = position % len(data)
    data[at:at + len(junk)] = junk
    try:
        ObjectSpec.from_bytes(bytes(data), path.name)
    except FormatError:
        pass
