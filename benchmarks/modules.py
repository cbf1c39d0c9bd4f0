"""Module daemon numbers, beside the reference tools measured in the same run.

- daemon RSS idle, and with 10 modules loaded and attached;
- pull + verify (signature) + load of a ~100 KB module from a loopback docker-registry, as the CLI does it
  in a fresh process, against ``skopeo copy`` (pull) + ``bpftool prog loadall`` (load);
- REST map reads per second over the unix socket, against ``bpftool map dump pinned`` per second;
- one Ed25519 verification (pure Python).

Needs root, docker-registry, skopeo and bpftool. Run: PYTHONPATH=src python3 benchmarks/modules.py
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
DATA = ROOT / "tests" / "data" / "modules"
RUNS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tinybpf(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "tinybpf", *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _wait_socket(path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("daemon did not start") from None
            time.sleep(0.05)
        finally:
            probe.close()


def _registry(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    config = directory / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
                      f"{directory / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _report(label: str, ours: list[float], theirs: list[float], unit: str = "ms") -> None:
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"{label}: tinybpf {a:.1f} {unit}, reference {b:.1f} {unit}, ratio {a / b:.2f}")


def main() -> int:
    missing = [t for t in ("docker-registry", "skopeo", "bpftool") if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        print(f"needs root and {', '.join(missing) or 'nothing else'}")
        return 1
    from tinybpf.modules import ed25519

    seed = os.urandom(32)
    signature = ed25519.sign(seed, b"sha256:" + b"0" * 64)
    public = ed25519.public_key(seed)
    start = time.perf_counter()
    for _ in range(20):
        ed25519.verify(public, b"sha256:" + b"0" * 64, signature)
    print(f"ed25519 verify (pure Python): {(time.perf_counter() - start) / 20 * 1000:.1f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        registry, host = _registry(work)
        pin_root = f"/sys/fs/bpf/tinybpf-bench-{os.getpid()}"
        env = {**os.environ, "PYTHONPATH": SRC, "TINYBPF_MODULES_ROOT": str(work / "publisher"),
               "TINYBPF_PIN_ROOT": pin_root, "TINYBPF_SOCKET": str(work / "d.sock")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured as installed: with bytecode caches
        try:
            _tinybpf(env, "module", "keygen", str(work / "release"))
            ref = f"{host}/bench/big:1"
            _tinybpf(env, "module", "build", str(DATA / "big.bpf.o"), "-t", ref, "--name", "big")
            _tinybpf(env, "module", "sign", ref, "--key", str(work / "release.key"))
            _tinybpf(env, "module", "push", "--insecure", ref)
            print(f"module payload: {(DATA / 'big.bpf.o').stat().st_size // 1024} KB")
            ours, theirs = [], []
            for run in range(-1, RUNS):  # run -1 warms the bytecode caches and is not counted
                node = {**env, "TINYBPF_MODULES_ROOT": str(work / f"node{run}")}
                _tinybpf(node, "module", "trust", str(work / "release.pub"))
                start = time.perf_counter()
                _tinybpf(node, "module", "load", "--insecure", ref, "--name", f"big{run}")
                if run >= 0:
                    ours.append((time.perf_counter() - start) * 1000)
                _tinybpf(node, "module", "unload", f"big{run}")
                pins = f"/sys/fs/bpf/bench-loadall-{os.getpid()}-{run}"
                start = time.perf_counter()
                subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                                f"oci:{work / f'skopeo{run}'}:big"], check=True, capture_output=True)
                subprocess.run(["bpftool", "prog", "loadall", str(DATA / "big.bpf.o"), pins], check=True,
                               capture_output=True)
                if run >= 0:
                    theirs.append((time.perf_counter() - start) * 1000)
                shutil.rmtree(pins, ignore_errors=True)
            _report("pull+verify+load (fresh process)  vs  skopeo copy + bpftool prog loadall", ours, theirs)
            startup = []
            for _ in range(RUNS):
                start = time.perf_counter()
                _tinybpf(env, "--version")
                startup.append((time.perf_counter() - start) * 1000)
            print(f"  of which Python start-up (tinybpf --version): {statistics.median(startup):.1f} ms")

            daemon_env = {**env, "TINYBPF_MODULES_ROOT": str(work / "daemon")}
            _tinybpf(daemon_env, "module", "trust", str(work / "release.pub"))
            process = subprocess.Popen([sys.executable, "-m", "tinybpf", "daemon"], env=daemon_env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_socket(daemon_env["TINYBPF_SOCKET"], process)
                from tinybpf.modules.client import DaemonClient

                client = DaemonClient(daemon_env["TINYBPF_SOCKET"])
                client.call("GET", "/v1/modules")
                idle = _rss_kib(process.pid)
                warm = []
                for run in range(RUNS):
                    start = time.perf_counter()
                    client.call("POST", "/v1/modules", {"reference": ref, "name": f"warm{run}", "insecure": True})
                    warm.append((time.perf_counter() - start) * 1000)
                    client.call("DELETE", f"/v1/modules/warm{run}")
                    shutil.rmtree(work / "daemon" / "store")  # the next pull fetches everything again
                _report("pull+verify+load through the daemon (warm process)  vs  the same reference", warm, theirs)
                _tinybpf(daemon_env, "module", "build", str(DATA / "counters.bpf.o"), "-t", "local/counters:1",
                         "--name", "counters")
                for i in range(10):
                    client.call("POST", "/v1/modules", {"reference": "local/counters:1", "name": f"c{i}",
                                                        "attach": True})
                client.request("GET", "/metrics")
                loaded = _rss_kib(process.pid)
                print(f"daemon RSS: idle {idle / 1024:.1f} MiB, with 10 modules {loaded / 1024:.1f} MiB")
                path = "/v1/modules/c0/maps/counter_openat"
                count, start = 0, time.perf_counter()
                while time.perf_counter() - start < 3:
                    client.call("GET", path)
                    count += 1
                ours_rate = count / (time.perf_counter() - start)
                pinned = client.call("GET", "/v1/modules/c0")["pin_dir"] + "/maps/counter_openat"
                count, start = 0, time.perf_counter()
                while time.perf_counter() - start < 3:
                    subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pinned], check=True,
                                   capture_output=True)
                    count += 1
                theirs_rate = count / (time.perf_counter() - start)
                print(f"map reads: REST {ours_rate:.0f} req/s, bpftool map dump {theirs_rate:.0f}/s, "
                      f"ratio {ours_rate / theirs_rate:.2f}")
                for i in range(10):
                    client.call("DELETE", f"/v1/modules/c{i}")
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
        finally:
            registry.terminate()
            registry.wait(10)
            shutil.rmtree(pin_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
