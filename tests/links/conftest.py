"""Network fixtures for the attach tests: a veth pair with one end in a namespace of the test's own."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


class Veth:
    """A veth pair: ``host`` (10.199.N.1) in this namespace, its peer (10.199.N.2) in namespace ``netns``."""

    def __init__(self, tag: str) -> None:
        self.netns = f"tt_ns_{tag}"
        self.host = f"tt_h_{tag}"
        self.peer = f"tt_p_{tag}"
        self.host_ip = f"10.199.{os.getpid() % 250}.1"
        self.peer_ip = f"10.199.{os.getpid() % 250}.2"

    def ping_host(self, count: int) -> subprocess.CompletedProcess:
        """Ping the host end from inside the namespace; returns the finished ping."""
        return subprocess.run(["ip", "netns", "exec", self.netns, "ping", "-4", "-c", str(count), "-i", "0.2",
                               "-W", "1", self.host_ip], capture_output=True, check=False)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def veth() -> Iterator[Veth]:
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip is needed to create a network namespace")
    if shutil.which("ping") is None:
        pytest.skip("ping (iputils-ping) is needed to send packets over the veth pair")
    pair = Veth(str(os.getpid()))
    _ip("netns", "add", pair.netns)
    try:
        _ip("link", "add", pair.host, "type", "veth", "peer", "name", pair.peer, "netns", pair.netns)
        _ip("addr", "add", pair.host_ip + "/24", "dev", pair.host)
        _ip("link", "set", pair.host, "up")
        _ip("-n", pair.netns, "addr", "add", pair.peer_ip + "/24", "dev", pair.peer)
        _ip("-n", pair.netns, "link", "set", pair.peer, "up")
        _ip("-n", pair.netns, "link", "set", "lo", "up")
        yield pair
    finally:
        subprocess.run(["ip", "link", "del", pair.host], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", pair.netns], capture_output=True, check=False)
