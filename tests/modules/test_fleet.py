"""A fleet of five daemons, each in its own network namespace with its own bpffs mount and state directory,
following channel tags on one real registry: a canary stage, promotion, a verifier-rejected push that
every node refuses while it keeps running the good version, and a rollback by moving the tag back."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from tinybpf.modules import signatures
from tinybpf.modules.client import DaemonClient
from tinybpf.modules.errors import ModuleError

from .conftest import SRC, RegistryProcess, start_registry, tinybpf

pytestmark = pytest.mark.kernel
DATA = Path(__file__).resolve().parents[1] / "data" / "modules"
NODES = 5


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def network() -> Iterator[tuple[str, list[str]]]:
    """A bridge at 10.231.N.1 and NODES namespaces plugged into it (names unique to this test run)."""
    tag = f"{os.getpid() % 0xFFFF:04x}"
    subnet = f"10.{231 + os.getpid() % 20}.{os.getpid() % 250}"
    bridge, namespaces = f"ttfb{tag}", [f"tt-fleet-{tag}-{i}" for i in range(NODES)]
    _ip("link", "add", bridge, "type", "bridge")
    try:
        _ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for i, ns in enumerate(namespaces):
            _ip("netns", "add", ns)
            _ip("link", "add", f"ttfv{tag}{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", f"ttfv{tag}{i}", "master", bridge, "up")
            _ip("-n", ns, "addr", "add", f"{subnet}.{10 + i}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield f"{subnet}.1", namespaces
    finally:
        for ns in namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def _wait(what: str, check: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_five_node_channel_rollout_and_rollback(network: tuple[str, list[str]], tmp_path: Path) -> None:
    address, namespaces = network
    registry: RegistryProcess = start_registry(tmp_path / "registry", address=address)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        publisher = {"TINYBPF_MODULES_ROOT": str(tmp_path / "publisher"), "PYTHONPATH": SRC}
        private, public = signatures.generate(str(tmp_path / "release"))
        repo = f"{registry.host}/fleet/counters"
        digests = {}
        for version, source in (("1", "counters.bpf.o"), ("2", "counters.bpf.o"), ("3", "rejected.bpf.o")):
            ref = f"{repo}:{version}"
            tinybpf("module", "build", str(DATA / source), "-t", ref, "--name", "counters", "--version",
                    f"{version}.0", env=publisher)
            tinybpf("module", "sign", ref, "--key", private, env=publisher)
            digests[version] = tinybpf("module", "push", "--insecure", ref, env=publisher).stdout.split()[1]

        def point(channel: str, version: str) -> None:
            tinybpf("module", "tag", "--insecure", f"{repo}:{version}", channel, env=publisher)

        point("stable", "1")
        point("canary", "1")
        clients = []
        for i, ns in enumerate(namespaces):
            home = tmp_path / f"node{i}"
            (home / "bpffs").mkdir(parents=True)
            env = {**os.environ, "TINYBPF_MODULES_ROOT": str(home / "state"), "PYTHONPATH": SRC,
                   "TINYBPF_PIN_ROOT": str(home / "bpffs" / "tinybpf"), "TINYBPF_SOCKET": str(home / "d.sock")}
            channel = "canary" if i == 0 else "stable"
            script = (f"mount -t bpf bpf {home / 'bpffs'} && exec {sys.executable} -m tinybpf daemon "
                      f"--follow {repo}:{channel} --interval 0.5 --insecure --key {public}")
            with open(home / "daemon.log", "wb") as log:
                processes.append(subprocess.Popen(["ip", "netns", "exec", ns, "sh", "-c", script], env=env,
                                                  stdout=subprocess.DEVNULL, stderr=log))
            clients.append(DaemonClient(str(home / "d.sock")))

        def follow(client: DaemonClient) -> dict[str, Any]:
            try:
                return client.call("GET", "/v1/follow") or {}
            except ModuleError:
                return {}

        def on(version: str, nodes: range = range(NODES)) -> bool:
            return all(follow(clients[i]).get("digest") == digests[version] and
                       follow(clients[i]).get("health") == "healthy" for i in nodes)

        _wait("every node on v1", lambda: on("1"))
        point("canary", "2")
        _wait("the canary on v2", lambda: on("2", range(1)))
        assert on("1", range(1, NODES)), "nodes on stable must not move with the canary"
        point("stable", "2")
        _wait("every node on v2", lambda: on("2"))
        point("stable", "3")
        point("canary", "3")
        _wait("every node to refuse v3", lambda: all(
            digests["3"] in follow(c).get("rejected", {}) for c in clients))
        for client in clients:
            status = follow(client)
            assert status["digest"] == digests["2"] and "verifier" in status["rejected"][digests["3"]]
            running = client.call("GET", "/v1/modules")
            assert [(m["digest"], m["status"], m["links"]) for m in running] == [
                (digests["2"], "attached", ["tt_count_openat"])]
        point("stable", "1")
        point("canary", "1")
        _wait("every node rolled back to v1", lambda: on("1"))
        audit = clients[1].call("GET", "/v1/audit", None)
        assert [r["result"] for r in audit if r["action"] == "follow"].count("swapped") == 3
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        registry.stop()
