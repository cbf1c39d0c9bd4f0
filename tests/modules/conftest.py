"""Real components the module tests start: Debian's docker-registry on a random loopback port (one open,
one with htpasswd bcrypt auth), each with its own config file and storage, stopped by PID."""
from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
OBJECTS = Path(__file__).resolve().parents[1] / "data" / "objects"
LOADER = Path(__file__).resolve().parents[1] / "data" / "loader"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class RegistryProcess:
    host: str
    process: subprocess.Popen
    user: str = ""
    password: str = ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_registry(directory: Path, htpasswd: str = "", address: str = "127.0.0.1", auth: str = "") -> RegistryProcess:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry; .ci/run does)")
    port = free_port()
    if htpasswd:
        auth = f"auth:\n  htpasswd:\n    realm: tinybpf-test\n    path: {htpasswd}\n"
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{directory / 'data'}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}:{port}\n{auth}")
    with open(directory / "registry.log", "wb") as log:
        process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"docker-registry did not start: {(directory / 'registry.log').read_text()}") \
                    from None
            time.sleep(0.05)
    return RegistryProcess(f"{address}:{port}", process)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    found = start_registry(tmp_path_factory.mktemp("registry"))
    yield found
    found.stop()


def bcrypt_htpasswd(path: Path, user: str, password: str) -> None:
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd is not installed (apt-get install apache2-utils)")
    subprocess.run(["htpasswd", "-B", "-b", "-c", str(path), user, password], check=True, capture_output=True)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    directory = tmp_path_factory.mktemp("auth-registry")
    bcrypt_htpasswd(directory / "htpasswd", "alice", "s3cret")
    found = start_registry(directory, str(directory / "htpasswd"))
    found.user, found.password = "alice", "s3cret"
    yield found
    found.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A node's own state directory (store, DB, trust store), set for this process and its children."""
    root = tmp_path / "node"
    root.mkdir()
    monkeypatch.setenv("TINYBPF_MODULES_ROOT", str(root))
    monkeypatch.setenv("PYTHONPATH", SRC)
    return root


def tinybpf(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tinybpf", *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tinybpf {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result
