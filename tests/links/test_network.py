"""Socket filter, XDP, tc and cgroup programs see exactly the packets of a known exchange."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    atomic_add,
    call,
    exit_,
    jmp,
    label,
    ld_abs,
    ld_map_fd,
    ldx,
    mov64,
    st,
)
from tinybpf.kernel.constants import AttachType, MapType, ProgType
from tinybpf.links import (
    XDPMode,
    attach_cgroup,
    attach_raw_socket,
    attach_socket_filter,
    attach_tc,
    attach_xdp,
)
from tinybpf.links.cgroup import cgroup_root
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel

ETH_P_IP_LE = 0x0008  # htons(ETH_P_IP) as a little-endian u16 load sees it
IPPROTO_ICMP, IPPROTO_UDP = 1, 17
XDP_DROP, XDP_PASS = 1, 2
TCX_PASS, TCX_DROP = 0, 2


def bump(counter: Map) -> list:
    """counter[0] += 1 (clobbers r0-r5)."""
    return [st(Size.W, R10, -4, 0), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), ld_map_fd(R1, counter),
            call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "counted"), mov64(R1, 1),
            atomic_add(Size.DW, R0, R1), label("counted")]


def udp_port_filter(counter: Map, port: int) -> Instructions:
    """Count UDP packets to ``port`` and pass them whole to the socket; drop everything else."""
    return Instructions([
        mov64(R6, R1),
        ld_abs(Size.B, 14 + 9), jmp(JumpOp.JNE, R0, IPPROTO_UDP, "drop"),
        ld_abs(Size.H, 14 + 20 + 2), jmp(JumpOp.JNE, R0, port, "drop"),
        *bump(counter), ldx(Size.W, R0, R6, 0), exit_(),  # return skb->len: keep the whole packet
        label("drop"), mov64(R0, 0), exit_(),
    ])


def test_socket_filter_counts_a_known_loopback_exchange() -> None:
    datagrams = 25
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    with receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender, \
         Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.SOCKET_FILTER, udp_port_filter(counter, port), name="tt_sockfilter") as prog, \
         attach_raw_socket(prog, "lo") as link:
        for i in range(datagrams):
            sender.sendto(b"x" * i, ("127.0.0.1", port))
        time.sleep(0.1)
        packets = []
        while True:
            try:
                packets.append(link.socket.recv(65536))
            except BlockingIOError:
                break
        # a raw socket on lo sees each datagram twice: leaving (outgoing) and arriving
        assert counter[0] == 2 * datagrams
        assert len(packets) == 2 * datagrams
        assert sorted(len(p) for p in packets) == sorted(14 + 20 + 8 + i for i in range(datagrams) for _ in "ab")
    assert link.socket.fileno() == -1  # the link opened the socket, so it closed it


def test_socket_filter_on_a_caller_socket_detaches_and_keeps_it_open() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    port = receiver.getsockname()[1]
    drop_all = Instructions([mov64(R0, 0), exit_()])
    with receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender, \
         Program.load(ProgType.SOCKET_FILTER, drop_all, name="tt_sockdrop") as prog:
        with attach_socket_filter(prog, receiver):
            sender.sendto(b"dropped", ("127.0.0.1", port))
            time.sleep(0.05)
            with pytest.raises(BlockingIOError):
                receiver.recv(100)
        sender.sendto(b"kept", ("127.0.0.1", port))
        time.sleep(0.05)
        assert receiver.recv(100) == b"kept"


def icmp_xdp(counter: Map, verdict: int) -> Instructions:
    """Count IPv4 ICMP frames (direct packet access through xdp_md) and return ``verdict`` for them."""
    return Instructions([
        ldx(Size.W, R2, R1, 0), ldx(Size.W, R3, R1, 4),  # data, data_end
        mov64(R4, R2), alu64(ALUOp.ADD, R4, 34), jmp(JumpOp.JGT, R4, R3, "pass"),
        ldx(Size.H, R4, R2, 12), jmp(JumpOp.JNE, R4, ETH_P_IP_LE, "pass"),
        ldx(Size.B, R4, R2, 23), jmp(JumpOp.JNE, R4, IPPROTO_ICMP, "pass"),
        *bump(counter), mov64(R0, verdict), exit_(),
        label("pass"), mov64(R0, XDP_PASS), exit_(),
    ])


@pytest.mark.parametrize("mode", [XDPMode.SKB, XDPMode.DRV])
def test_xdp_counts_pings_on_a_veth(veth: Any, mode: XDPMode) -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.XDP, icmp_xdp(counter, XDP_PASS), name="tt_xdp_count") as prog, \
         attach_xdp(prog, veth.host, mode) as link:
        assert link.bpf_link
        ping = veth.ping_host(4)
        assert ping.returncode == 0, ping.stdout
        assert counter[0] == 4  # echo requests arriving on the host end


def test_xdp_drops_pings_and_detaching_restores_them(veth: Any) -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.XDP, icmp_xdp(counter, XDP_DROP), name="tt_xdp_drop") as prog:
        with attach_xdp(prog, veth.host):
            assert veth.ping_host(3).returncode != 0
            assert counter[0] == 3
        assert veth.ping_host(1).returncode == 0
        assert counter[0] == 3


def icmp_tc(counter: Map, verdict: int) -> Instructions:
    """Count IPv4 ICMP packets (LD_ABS through r6 = skb) and return ``verdict`` for them."""
    return Instructions([
        mov64(R6, R1),
        ldx(Size.W, R2, R6, 16), jmp(JumpOp.JNE, R2, ETH_P_IP_LE, "pass"),  # skb->protocol
        ld_abs(Size.B, 14 + 9), jmp(JumpOp.JNE, R0, IPPROTO_ICMP, "pass"),
        *bump(counter), mov64(R0, verdict), exit_(),
        label("pass"), mov64(R0, TCX_PASS), exit_(),
    ])


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_tc_counts_and_drops_pings(veth: Any, direction: str) -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.SCHED_CLS, icmp_tc(counter, TCX_PASS), name="tt_tc_count") as count_prog, \
         Program.load(ProgType.SCHED_CLS, icmp_tc(counter, TCX_DROP), name="tt_tc_drop") as drop_prog:
        with attach_tc(count_prog, veth.host, direction):
            assert veth.ping_host(3).returncode == 0
            assert counter[0] == 3  # requests in on ingress, replies out on egress
        with attach_tc(drop_prog, veth.host, direction):
            assert veth.ping_host(2).returncode != 0
        assert counter[0] == 5
        assert veth.ping_host(1).returncode == 0


@pytest.fixture
def child_cgroup() -> str:  # type: ignore[misc]
    try:
        root = cgroup_root()
    except Exception as exc:
        pytest.skip(str(exc))
    path = os.path.join(root, f"tt_cgroup_{os.getpid()}")
    os.mkdir(path)
    try:
        yield path
    finally:
        os.rmdir(path)


def run_in_cgroup(cgroup: str, code: str) -> subprocess.CompletedProcess:
    prologue = f"import os, socket\nopen({cgroup + '/cgroup.procs'!r}, 'w').write(str(os.getpid()))\n"
    return subprocess.run([sys.executable, "-c", prologue + code], capture_output=True, text=True, timeout=30)


def test_cgroup_skb_egress_counts_the_packets_of_processes_in_the_cgroup(child_cgroup: str) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    allow = [mov64(R0, 1), exit_()]
    with receiver, Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.CGROUP_SKB, Instructions([*bump(counter), *allow]), name="tt_cg_egress",
                      expected_attach_type=AttachType.CGROUP_INET_EGRESS) as prog, \
         attach_cgroup(prog, AttachType.CGROUP_INET_EGRESS, child_cgroup):
        sender = f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(17): s.sendto(b'x', ('127.0.0.1', {port}))\n"
        assert run_in_cgroup(child_cgroup, sender).returncode == 0
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"not counted", ("127.0.0.1", port))
        assert counter[0] == 17


def test_cgroup_sock_create_can_refuse_sockets(child_cgroup: str) -> None:
    refuse = Instructions([mov64(R0, 0), exit_()])
    with Program.load(ProgType.CGROUP_SOCK, refuse, name="tt_cg_sock",
                      expected_attach_type=AttachType.CGROUP_INET_SOCK_CREATE) as prog:
        with attach_cgroup(prog, AttachType.CGROUP_INET_SOCK_CREATE, child_cgroup):
            refused = run_in_cgroup(child_cgroup, "socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n")
        allowed = run_in_cgroup(child_cgroup, "socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n")
    assert "PermissionError" in refused.stderr
    assert allowed.returncode == 0


