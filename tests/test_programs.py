"""Programs, for real: load, verifier rejection, test runs on crafted packets, info, pins."""
from __future__ import annotations

import os
import struct
import uuid

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R6,
    R10,
    ALUOp,
    Instructions,
    Size,
    alu64,
    assemble,
    call,
    exit_,
    jmp,
    label,
    ld_abs,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.asm.opcodes import JumpOp
from tinybpf.errors import TinyBPFError, VerifierError
from tinybpf.kernel.bpffs import ensure_bpffs
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.maps import Map
from tinybpf.programs import Program, enable_run_stats, list_program_ids, summarize_verifier_log

pytestmark = pytest.mark.kernel


def udp_packet(payload: bytes = b"hello") -> bytes:
    """Ethernet + IPv4 + UDP, as a socket filter sees it."""
    eth = b"\x00" * 12 + b"\x08\x00"
    length = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 1, 0, 64, 17, 0, b"\x7f\0\0\1", b"\x7f\0\0\1")
    udp = struct.pack("!HHHH", 1234, 5678, 8 + len(payload), 0)
    return eth + ip + udp + payload


def test_load_info_and_translated_instructions() -> None:
    insns = assemble("r0 = 42\nexit")
    with Program.load(ProgType.SOCKET_FILTER, insns, name="answer") as prog:
        info = prog.info()
        assert (info.name, info.type, info.xlated_len) == ("answer", ProgType.SOCKET_FILTER, 16)
        assert info.id in list_program_ids() and len(info.tag) == 16 and info.gpl_compatible
        assert Instructions.decode(prog.xlated()) == insns
        assert Program.from_id(info.id).name == "answer"


def test_test_run_of_a_socket_filter_on_a_crafted_packet() -> None:
    # return the IP protocol byte: a test run pulls the Ethernet header as the stack does for a
    # socket filter, so LD_ABS offsets start at the IP header (a raw packet socket adds ETH_HLEN)
    insns = Instructions([mov64(R6, R1), ld_abs(Size.B, 9), exit_()])
    with Program.load(ProgType.SOCKET_FILTER, insns, name="proto") as prog:
        result = prog.test_run(udp_packet(), repeat=100)
        assert result.retval == 17
        assert result.duration_ns >= 0


def test_sock_example_program_counts_bytes_per_protocol() -> None:
    """samples/bpf/sock_example.c's program: map[ip protocol] += skb->len, run on packets in the kernel."""
    with Map.create(MapType.ARRAY, key=int, value=int, key_size=4, value_size=8, max_entries=256) as counts:
        insns = Instructions([
            mov64(R6, R1),
            ld_abs(Size.B, 9),
            stx(Size.W, R10, R0, -4),
            mov64(R2, R10), alu64(ALUOp.ADD, R2, -4),
            ld_map_fd(R1, counts.fd),
            call("map_lookup_elem"),
            jmp(JumpOp.JEQ, R0, 0, "out"),
            ldx(Size.W, R1, R6, 0),  # skb->len
            ldx(Size.DW, R2, R0, 0), alu64(ALUOp.ADD, R2, R1), stx(Size.DW, R0, R2, 0),  # no atomics: arm32's JIT has none
            label("out"), mov64(R0, 0),
            exit_(),
        ])
        with Program.load(ProgType.SOCKET_FILTER, insns, name="sock_example") as prog:
            packet = udp_packet(b"x" * 100)
            for _ in range(3):
                prog.test_run(packet)
            assert counts[17] == 3 * (len(packet) - 14)  # skb->len without the Ethernet header
            assert counts[6] == 0


def test_verifier_rejection_names_the_failing_instruction() -> None:
    insns = assemble("r0 = 0\nr1 = 1\nr0 = *(u32 *)(r2 + 0)\nexit")
    with pytest.raises(VerifierError) as caught:
        Program.load(ProgType.SOCKET_FILTER, insns, name="broken")
    err = caught.value
    assert err.insn_index == 2
    assert "R2 !read_ok" in err.summary
    text = str(err)
    assert "\n" not in text and "instruction 2" in text and "'broken'" in text
    assert "processed" in err.log and "2: (61) r0 = *(u32 *)(r2 +0)" in err.log


def test_a_log_larger_than_the_first_buffer_is_fetched_whole() -> None:
    body = [mov64(R0, i) for i in range(4000)]
    insns = Instructions([*body, ldx(Size.W, R0, R2, 0), exit_()])
    with pytest.raises(VerifierError) as caught:
        Program.load(ProgType.SOCKET_FILTER, insns)
    assert len(caught.value.log) > 1 << 16
    assert caught.value.insn_index == 4000


def test_log_level_keeps_the_log_of_a_successful_load() -> None:
    with Program.load(ProgType.SOCKET_FILTER, assemble("r0 = 0\nexit"), log_level=2) as prog:
        assert "processed 2 insns" in prog.verifier_log


def test_stack_and_helper_use_loads() -> None:
    insns = Instructions([st(Size.DW, R10, -8, 7), ldx(Size.DW, R0, R10, -8), call("ktime_get_ns"), exit_()])
    with Program.load(ProgType.SOCKET_FILTER, insns) as prog:
        assert prog.test_run(udp_packet()).retval != 0


def test_tracepoint_and_kprobe_programs_load() -> None:
    with Program.load(ProgType.TRACEPOINT, assemble("r0 = 0\nexit"), name="tp"):
        pass
    with Program.load(ProgType.KPROBE, assemble("r0 = 0\nexit"), name="kp"):
        pass  # kern_version is filled in for kprobes


def test_pin_and_reopen() -> None:
    path = os.path.join(ensure_bpffs(), f"tinybpf-prog-{uuid.uuid4().hex[:8]}")
    with Program.load(ProgType.SOCKET_FILTER, assemble("r0 = 3\nexit"), name="pinned") as prog:
        prog.pin(path)
    try:
        with Program.from_pin(path) as again:
            assert again.name == "pinned" and again.test_run(udp_packet()).retval == 3
    finally:
        os.unlink(path)


def test_bad_instruction_bytes_are_refused_before_the_kernel() -> None:
    with pytest.raises(TinyBPFError, match="multiple of 8"):
        Program.load(ProgType.SOCKET_FILTER, b"\x95\0\0")


def test_summary_of_a_log_with_source_lines() -> None:
    log = (
        "func#0 @0\n0: R1=ctx() R10=fp0\n; return *(int *)0; @ x.c:3\n"
        "0: (61) r0 = *(u32 *)(r2 +0)\nR2 !read_ok\n"
        "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0\n"
    )
    assert summarize_verifier_log(log) == ("R2 !read_ok", 0, "return *(int *)0; @ x.c:3")


def test_r0_used_from_the_builder_is_the_register_enum() -> None:
    assert int(R0) == 0 and int(R10) == 10


def test_run_statistics_count_while_enabled() -> None:
    with Program.load(ProgType.SOCKET_FILTER, assemble("r0 = 0\nexit")) as prog, enable_run_stats():
        prog.test_run(udp_packet(), repeat=50)
        info = prog.info()
        assert info.run_cnt == 50 and info.run_time_ns > 0
