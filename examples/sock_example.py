#!/usr/bin/env python3
"""Count loopback traffic per IP protocol with a socket filter: the kernel's samples/bpf/sock_example.c.

A BPF_PROG_TYPE_SOCKET_FILTER program, written with tinybpf's instruction builder, reads the IP
protocol byte of each packet (LD_ABS at ETH_HLEN + offsetof(struct iphdr, protocol)), looks the
protocol up in a 256-entry per-CPU array map and adds the packet length (skb->len) to this CPU's slot
(the kernel sample's ``lock xadd`` on a shared array does not load where the JIT has no atomics, as on
32-bit ARM; a per-CPU slot needs none, and reading sums the CPUs). It is attached to a raw AF_PACKET socket on ``lo`` (which therefore sees both directions of each packet);
the script pings 127.0.0.1 and prints the byte counts once a second.

    sudo python3 examples/sock_example.py [--seconds 5] [--interface lo]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import Any, Optional

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R6,
    R10,
    ALUOp,
    Instructions,
    JumpOp,
    Size,
    alu64,
    call,
    exit_,
    jmp,
    label,
    ld_abs,
    ld_map_fd,
    ldx,
    mov64,
    stx,
)
from tinybpf.errors import TinyBPFError
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.links import attach_raw_socket
from tinybpf.maps import Map
from tinybpf.programs import Program

ETH_HLEN = 14
IPHDR_PROTOCOL = 9  # offsetof(struct iphdr, protocol)
SKB_LEN = 0  # offsetof(struct __sk_buff, len)
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 1, 6, 17


class Stop(Exception):
    """SIGTERM: leave the with-blocks so everything is detached and closed."""


def socket_filter(protocol_bytes: Map) -> Instructions:
    """bytes[ip->protocol] += skb->len; return 0 (the socket itself gets nothing)."""
    return Instructions([
        mov64(R6, R1),                                  # r6 = skb (LD_ABS reads through r6)
        ld_abs(Size.B, ETH_HLEN + IPHDR_PROTOCOL),      # r0 = ip->protocol
        stx(Size.W, R10, R0, -4),                       # *(u32 *)(fp - 4) = r0
        mov64(R2, R10),
        alu64(ALUOp.ADD, R2, -4),                       # r2 = fp - 4
        ld_map_fd(R1, protocol_bytes),
        call("map_lookup_elem"),                        # r0 = &bytes[protocol]
        jmp(JumpOp.JEQ, R0, 0, "out"),
        ldx(Size.W, R1, R6, SKB_LEN),                   # r1 = skb->len
        ldx(Size.DW, R2, R0, 0),
        alu64(ALUOp.ADD, R2, R1),
        stx(Size.DW, R0, R2, 0),                        # *(u64 *)r0 += r1 (this CPU's slot)
        label("out"),
        mov64(R0, 0),
        exit_(),
    ])


def run(seconds: int, interface: str, ping: bool) -> None:
    with Map.create(MapType.PERCPU_ARRAY, 4, 8, 256, key=int, value=int, name="protocol_bytes") as counts, \
         Program.load(ProgType.SOCKET_FILTER, socket_filter(counts), name="sock_example") as prog, \
         attach_raw_socket(prog, interface):
        pinger = _start_ping() if ping else None
        try:
            for _ in range(seconds):
                time.sleep(1)
                tcp, udp, icmp = (sum(counts[p]) for p in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP))
                print(f"TCP {tcp} UDP {udp} ICMP {icmp} bytes", flush=True)
        finally:
            if pinger is not None:
                pinger.kill()
                pinger.wait()


def _start_ping() -> Optional[subprocess.Popen]:
    try:
        return subprocess.Popen(["ping", "-4", "-c", "5", "-i", "0.2", "127.0.0.1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        print("sock_example: ping not found, counting whatever crosses the interface", file=sys.stderr)
        return None


def _stop(signum: int, frame: Any) -> None:
    raise Stop


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="how long to count (default 5)")
    parser.add_argument("--interface", default="lo", help="interface to watch (default lo)")
    parser.add_argument("--no-ping", action="store_true", help="do not ping 127.0.0.1")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("sock_example: must run as root (loading a socket filter on a raw socket needs CAP_BPF "
              "and CAP_NET_RAW)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    try:
        run(args.seconds, args.interface, not args.no_ping)
    except (KeyboardInterrupt, Stop):
        return 0
    except TinyBPFError as exc:
        print(f"sock_example: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"sock_example: {args.interface}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
