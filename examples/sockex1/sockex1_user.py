#!/usr/bin/env python3
"""Load the kernel's sockex1 object with tinybpf's object loader and print TCP/UDP/ICMP byte counts.

The user half of samples/bpf/sockex1: ``sockex1_kern.o`` (clang-built, legacy ``SEC("maps")``
definition and ``SEC("socket1")``) or, with ``--btf``, ``sockex1_kern_btf.o`` (a BTF-defined map). The
socket filter is attached to a raw AF_PACKET socket on ``lo``; the script pings 127.0.0.1 and prints
the bytes counted per IP protocol once a second, then detaches everything. Ctrl-C stops it cleanly.

    sudo python3 examples/sockex1/sockex1_user.py [--seconds 5] [--btf] [--interface lo]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from tinybpf.errors import TinyBPFError
from tinybpf.objects import Object

HERE = Path(__file__).resolve().parent
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 1, 6, 17


class Stop(Exception):
    """SIGTERM: leave the with-block so the socket is closed and the object released."""


def run(path: Path, seconds: int, interface: str, ping: bool) -> None:
    with Object.load_file(path) as obj:
        obj.attach(interface=interface)  # SEC("socket*") programs go on a raw socket on ``interface``
        counts = obj.maps["my_map"]
        pinger = _start_ping() if ping else None
        try:
            for _ in range(seconds):
                time.sleep(1)
                print(f"TCP {counts[IPPROTO_TCP]} UDP {counts[IPPROTO_UDP]} ICMP {counts[IPPROTO_ICMP]} bytes",
                      flush=True)
        finally:
            if pinger is not None:
                pinger.kill()
                pinger.wait()


def _start_ping() -> Optional[subprocess.Popen]:
    try:
        return subprocess.Popen(["ping", "-4", "-c", "5", "-i", "0.2", "127.0.0.1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        print("sockex1: ping not found, counting whatever crosses the interface", file=sys.stderr)
        return None


def _stop(signum: int, frame: Any) -> None:
    raise Stop


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="how long to count (default 5)")
    parser.add_argument("--interface", default="lo", help="interface to watch (default lo)")
    parser.add_argument("--btf", action="store_true", help="load sockex1_kern_btf.o (BTF-defined map)")
    parser.add_argument("--no-ping", action="store_true", help="do not ping 127.0.0.1")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("sockex1: must run as root (a socket filter on a raw socket needs CAP_BPF and CAP_NET_RAW)",
              file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    path = HERE / ("sockex1_kern_btf.o" if args.btf else "sockex1_kern.o")
    try:
        run(path, args.seconds, args.interface, not args.no_ping)
    except (KeyboardInterrupt, Stop):
        return 0
    except TinyBPFError as exc:
        print(f"sockex1: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"sockex1: {args.interface}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
