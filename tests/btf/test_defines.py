"""The kernel ``#define`` table: values agree with this machine's C library where both define a name, and a
header brings in what the headers it includes define."""
from __future__ import annotations

import errno
import os
import platform
import signal
import socket

import pytest

from tinybpf.btf.defines import HEADERS, header_defines, known_header

# where glibc's value differs from the kernel's on purpose
_LIBC_DIFFERS = {"O_LARGEFILE", "SIGRTMIN", "SIGRTMAX"}


def test_every_included_header_is_in_the_table() -> None:
    for name, header in HEADERS.items():
        for included in header.includes:
            assert known_header(included), f"{name} includes {included}, which the table lacks"


@pytest.mark.parametrize("header, module, prefixes", [
    ("sys/socket.h", socket, ("AF_", "PF_", "SO_", "SOL_", "MSG_", "SOCK_", "SHUT_")),
    ("netinet/in.h", socket, ("IPPROTO_", "INADDR_", "IP_", "IPV6_")),
    ("errno.h", errno, ("E",)),
    ("fcntl.h", os, ("O_", "F_", "AT_")),
    ("linux/sched.h", signal, ("SIG",)),
])
@pytest.mark.skipif(platform.machine() not in ("x86_64", "i686"),
                    reason="the table holds the x86 ABI's values; O_* and some IP_* constants differ on other arches")
def test_values_agree_with_the_c_library(header: str, module: object, prefixes: tuple[str, ...]) -> None:
    table = header_defines(header)
    compared = 0
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith(prefixes) and name in table and name not in _LIBC_DIFFERS and isinstance(value, int):
            assert table[name] == int(value), name
            compared += 1
    assert compared >= 5


def test_headers_bring_in_what_they_include() -> None:
    sock = header_defines("net/sock.h")
    assert sock["AF_INET"] == 2 and sock["AF_INET6"] == 10 and sock["TCP_ESTABLISHED"] == 1
    sched = header_defines("linux/sched.h")
    assert sched["TASK_RUNNING"] == 0 and sched["TASK_UNINTERRUPTIBLE"] == 2 and sched["CLONE_THREAD"] == 0x10000
    assert header_defines("uapi/linux/bpf.h")["BPF_F_CURRENT_CPU"] == 0xffffffff
    assert header_defines("linux/errno.h")["ENOTSUPP"] == 524 and header_defines("linux/errno.h")["EPERM"] == 1
    assert header_defines("no/such.h") == {}


def test_trace_scripts_see_the_constants_of_their_includes() -> None:
    from tinybpf.trace.syntax.c_macros import macro_constants

    source = "#ifndef BPFTRACE_HAVE_BTF\n#include <linux/sched.h>\n#else\n#include <sys/socket.h>\n#endif\n"
    constants = macro_constants(source)
    assert constants["AF_INET"] == 2 and "TASK_RUNNING" not in constants
    assert macro_constants("#include <linux/socket.h>\n#undef AF_INET\n#define X AF_INET6\n").get("AF_INET") is None
