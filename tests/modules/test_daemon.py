"""The daemon for real: modules loaded, attached and pinned in the kernel, the daemon SIGKILLed and restarted,
a reboot-like restart (bpffs unmounted in a private mount namespace), REST auth, map CRUD through BTF,
Prometheus scraping /metrics and headless Chromium rendering the UI."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tinybpf.errors import VerifierError
from tinybpf.modules.client import DaemonClient
from tinybpf.modules.errors import ModuleError
from tinybpf.modules.node import Node
from tinybpf.modules.settings import Settings

from .conftest import SRC, free_port, tinybpf

pytestmark = pytest.mark.kernel
DATA = Path(__file__).resolve().parents[1] / "data" / "modules"
COUNTERS = str(DATA / "counters.bpf.o")
TOKEN = "test-token-0123456789abcdef"


def _openat_a_few_times() -> None:
    for _ in range(20):
        os.close(os.open("/dev/null", os.O_RDONLY))


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A node's own state dir, pin root (on the host bpffs, unique) and socket; everything unloaded after."""
    pin_root = f"/sys/fs/bpf/tt-modules-{os.getpid()}-{tmp_path.name}"
    env = {"TINYBPF_MODULES_ROOT": str(tmp_path / "node"), "TINYBPF_PIN_ROOT": pin_root,
           "TINYBPF_SOCKET": str(tmp_path / "daemon.sock"), "PYTHONPATH": SRC}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "token").write_text(TOKEN)
    yield env
    node = Node(Settings.load())
    for record in node.state.modules():
        node.unload(record.name)
    node.close()
    shutil.rmtree(pin_root, ignore_errors=True)


class DaemonProcess:
    def __init__(self, env: dict[str, str], tcp: bool = True) -> None:
        self.env = env
        self.port = free_port()
        args = [sys.executable, "-m", "tinybpf", "daemon"]
        if tcp:
            token_file = Path(env["TINYBPF_SOCKET"]).parent / "token"
            args += ["--tcp", f"127.0.0.1:{self.port}", "--token-file", str(token_file)]
        self.log = Path(env["TINYBPF_SOCKET"]).with_suffix(".log")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log)
        self.unix = DaemonClient(env["TINYBPF_SOCKET"])
        self.http = DaemonClient(tcp=f"127.0.0.1:{self.port}", token=TOKEN)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.unix.call("GET", "/v1/modules")
                return
            except ModuleError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"daemon did not start: {self.log.read_text()}") from None
                time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.wait(30)


@pytest.fixture
def daemon(node_env: dict[str, str]) -> Iterator[DaemonProcess]:
    tinybpf("module", "build", COUNTERS, "-t", "local/counters:1", "--name", "counters", env=node_env)
    running = DaemonProcess(node_env)
    yield running
    if running.process.poll() is None:
        running.kill(signal.SIGTERM)


def _link_ids() -> set[int]:
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import Cmd

    return set(commands.list_ids(Cmd.LINK_GET_NEXT_ID))


def test_sigkill_leaves_programs_attached_and_restart_adopts(daemon: DaemonProcess) -> None:
    loaded = daemon.unix.call("POST", "/v1/modules", {"reference": "local/counters:1", "attach": True})
    assert loaded["status"] == "attached"
    link_pin = Path(loaded["pin_dir"]) / "links" / "tt_count_openat"
    assert link_pin.exists()
    daemon.kill(signal.SIGKILL)
    node = Node(Settings.load())
    view = node.map_view("counters", "counter_openat")
    before = sum(e["value"] for e in view.entries())
    _openat_a_few_times()
    after = sum(e["value"] for e in view.entries())
    assert after >= before + 20, "the program must keep running with no daemon at all"
    node.close()
    restarted = DaemonProcess(daemon.env)
    try:
        modules = restarted.unix.call("GET", "/v1/modules")
        assert [(m["name"], m["status"], m["links"]) for m in modules] == [("counters", "attached",
                                                                            ["tt_count_openat"])]
        audit = restarted.unix.call("GET", "/v1/audit")
        actions = [row["action"] for row in audit]
        assert actions.count("load") == 1 and "adopt" in actions and "daemon start" in actions
        daemon_entries = restarted.unix.call("GET", "/v1/modules/counters/maps/counter_openat")
        assert sum(e["value"] for e in daemon_entries) >= after
    finally:
        restarted.kill(signal.SIGTERM)
    assert link_pin.exists(), "a clean stop detaches nothing either"


def test_rest_auth_openapi_and_socket_permissions(daemon: DaemonProcess) -> None:
    status, _ = DaemonClient(tcp=f"127.0.0.1:{daemon.port}").request("GET", "/v1/modules")
    assert status == 401
    status, _ = DaemonClient(tcp=f"127.0.0.1:{daemon.port}", token="wrong-token-000000000").request(
        "GET", "/v1/modules")
    assert status == 401
    assert daemon.http.call("GET", "/v1/modules") == []
    document = daemon.http.call("GET", "/openapi.json")
    assert document["openapi"].startswith("3.") and "/v1/modules/{name}/maps/{map}" in document["paths"]
    socket_path = daemon.env["TINYBPF_SOCKET"]
    assert os.stat(socket_path).st_mode & 0o777 == 0o660
    probe = textwrap.dedent(f"""
        import os, socket
        os.setgid(65534); os.setuid(65534)
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect({socket_path!r}); print("connected")
        except PermissionError:
            print("refused")
    """)
    os.chmod(os.path.dirname(socket_path), 0o755)
    outcome = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert outcome.stdout.strip() == "refused"
    status, body = DaemonClient(tcp=f"127.0.0.1:{daemon.port}", token=TOKEN).request("POST", "/v1/modules", None)
    assert status == 400 and b"reference" in body
    os.chmod(socket_path, 0o666)
    try:
        result = tinybpf("module", "ps", env=daemon.env, check=False)
        assert result.returncode == 1 and "unsafe permissions" in result.stderr and result.stderr.count("\n") == 1
    finally:
        os.chmod(socket_path, 0o660)


def test_map_entries_decoded_and_crud(daemon: DaemonProcess) -> None:
    daemon.unix.call("POST", "/v1/modules", {"reference": "local/counters:1", "attach": False})
    assert daemon.unix.call("GET", "/v1/modules/counters/maps") == ["counter_openat", "gauge_last_pid"]
    daemon.unix.call("PUT", "/v1/modules/counters/maps/counter_openat", {"key": {"uid": 4242}, "value": 7})
    entries = daemon.unix.call("GET", "/v1/modules/counters/maps/counter_openat")
    assert {"key": {"uid": 4242}, "value": 7} in entries
    daemon.unix.call("DELETE", "/v1/modules/counters/maps/counter_openat", {"key": {"uid": 4242}})
    assert {"key": {"uid": 4242}, "value": 7} not in daemon.unix.call("GET", "/v1/modules/counters/maps/counter_openat")
    with pytest.raises(ModuleError, match="no map 'nope'"):
        daemon.unix.call("GET", "/v1/modules/counters/maps/nope")
    assert any(r["action"] == "map update" for r in daemon.unix.call("GET", "/v1/audit"))


def test_verifier_rejection_reports_the_line_and_keeps_the_previous_version(node_env: dict[str, str]) -> None:
    node = Node(Settings.load())
    node.build([COUNTERS], "local/counters:1", name="counters")
    node.build([str(DATA / "rejected.bpf.o")], "local/counters:2", name="counters")
    first = node.load("local/counters:1", attach=True)
    with pytest.raises(VerifierError) as info:
        node.load("local/counters:2", attach=True)
    assert "invalid access to map value" in str(info.value) or "verifier rejected" in str(info.value)
    running = node.ps()
    assert [(m["digest"], m["links"]) for m in running] == [(first.digest, ["tt_count_openat"])]
    assert any("failed" in r["result"] for r in node.state.audit_log())
    result = tinybpf("module", "load", "local/counters:2", "--attach", "--name", "counters", env=node_env,
                     check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "verifier rejected" in result.stderr
    node.close()


def test_program_type_the_kernel_lacks_is_one_line(node_env: dict[str, str], tmp_path: Path) -> None:
    from tinybpf.modules import manifest

    payload = Path(COUNTERS).read_bytes()
    config = manifest.ModuleConfig("odd", "1", "c")
    image = manifest.assemble(config, payload, "odd.bpf.c")
    Node(Settings.load()).store.put(image, ["local/odd:1"])
    result = tinybpf("module", "load", "local/odd:1", env=node_env, check=False)
    assert result.returncode == 1 and "tinybpf cc" in result.stderr and result.stderr.count("\n") == 1
    assert Node(Settings.load()).ps() == []


def test_reboot_like_restart_reapplies_saved_state(tmp_path: Path) -> None:
    """In a private mount namespace: load+attach on a fresh bpffs, save, unmount it (what a reboot does to
    pins), mount an empty one, start the daemon: it re-applies the saved state."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    bpffs = tmp_path / "bpffs"
    bpffs.mkdir()
    script = textwrap.dedent(f"""
        set -eu
        export TINYBPF_MODULES_ROOT={tmp_path / 'node'} TINYBPF_PIN_ROOT={bpffs}/tinybpf PYTHONPATH={SRC}
        export TINYBPF_SOCKET={tmp_path / 'd.sock'}
        T="{sys.executable} -m tinybpf"
        mount -t bpf bpf {bpffs}
        $T module build {COUNTERS} -t local/counters:1 --name counters >/dev/null
        $T module load local/counters:1 --attach >/dev/null
        $T module save > {tmp_path / 'saved.json'}
        umount {bpffs}
        mount -t bpf bpf {bpffs}
        test ! -e {bpffs}/tinybpf && echo "pins gone"
        $T daemon > {tmp_path / 'daemon.out'} 2>&1 &
        pid=$!
        for i in $(seq 1 600); do [ -S {tmp_path / 'd.sock'} ] && break; sleep 0.1; done
        kill -TERM $pid; wait $pid || true
        ls {bpffs}/tinybpf/counters/*/links
        $T module unload counters
        umount {bpffs}
    """)
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "pins gone" in result.stdout and "tt_count_openat" in result.stdout
    assert "restored counters" in (tmp_path / "daemon.out").read_text()
    assert json.loads((tmp_path / "saved.json").read_text())["modules"][0]["attached"] is True


def test_prometheus_scrapes_module_metrics(daemon: DaemonProcess, tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed")
    daemon.unix.call("POST", "/v1/modules", {"reference": "local/counters:1", "attach": True})
    _openat_a_few_times()
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(textwrap.dedent(f"""
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: tinybpf
            authorization:
              credentials: {TOKEN}
            static_configs:
              - targets: ["127.0.0.1:{daemon.port}"]
    """))
    process = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                                f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        query = urllib.parse.urlencode({"query": 'tinybpf_openat_total{module="counters"}'})
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as r:
                    answer: Any = json.load(r)
                if answer["data"]["result"]:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "prometheus never scraped the module's counter"
            time.sleep(0.5)
        sample = answer["data"]["result"][0]
        assert sample["metric"]["job"] == "tinybpf" and float(sample["value"][1]) > 0
    finally:
        process.terminate()
        process.wait(30)


def test_ui_renders_live_map_in_headless_chromium(daemon: DaemonProcess, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    from .devtools import DevTools

    daemon.unix.call("POST", "/v1/modules", {"reference": "local/counters:1", "attach": True})
    browser = DevTools(chromium, str(tmp_path / "profile"))
    try:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=f"http://127.0.0.1:{daemon.port}/ui/#token={TOKEN}")
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = browser.evaluate("document.body ? document.body.innerText : ''") or ""
            if "counters / counter_openat" in text and "tt_count_openat#" in text:
                break
            time.sleep(0.3)
        assert "counters / counter_openat" in text and "attached" in text, text
        root_row = ("[...document.querySelectorAll('#maps tr')].find(r => r.cells[0] && "
                    "r.cells[0].textContent === '{\"uid\":0}').cells[1].textContent")
        first = browser.evaluate(root_row)
        _openat_a_few_times()
        deadline = time.monotonic() + 60
        while int(browser.evaluate(root_row)) <= int(first):
            assert time.monotonic() < deadline, "the map shown must be live"
            time.sleep(0.3)
        png = browser.screenshot()
        (tmp_path / "ui.png").write_bytes(png)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        assert _distinct_colours(png) > 4, "the screenshot must show content, not a blank page"
    finally:
        browser.close()


def _distinct_colours(png: bytes) -> int:
    """Colours in the first rows of a PNG (decoded with zlib; filter bytes ignored: a rough content check)."""
    import struct
    import zlib

    pos, chunks = 8, b""
    width = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw = zlib.decompress(chunks)
    stride = 1 + width * 4
    pixels = {raw[i:i + 4] for row in range(0, min(len(raw) // stride, 300)) for i in
              range(row * stride + 1, row * stride + stride, 16)}
    return len(pixels)


def test_script_module_runs_headless_survives_sigkill_and_exports_maps(node_env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    script = tmp_path / "opens.bt"
    script.write_text("tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); }\n"
                      "interval:ms:200 { print(@opens); }\n")
    tinybpf("module", "build", str(script), "-t", "local/opens:1", env=node_env)
    daemon = DaemonProcess(node_env)
    try:
        record = daemon.unix.call("POST", "/v1/modules", {"reference": "local/opens:1"})
        assert record["status"] == "running" and record["pid"] > 0

        def exported() -> bool:
            _openat_a_few_times()
            status, body = daemon.http.request("GET", "/metrics")
            return status == 200 and b'tinybpf_script_map{module="opens",map="@opens",key="python3"}' in body

        deadline = time.monotonic() + 60
        while not exported():
            assert time.monotonic() < deadline, "the script's map never reached /metrics"
            time.sleep(0.3)
        daemon.kill(signal.SIGKILL)
        os.kill(record["pid"], 0)  # the tracer outlives the daemon
        restarted = DaemonProcess(node_env)
        try:
            running = restarted.unix.call("GET", "/v1/modules")
            assert [(m["name"], m["pid"]) for m in running] == [("opens", record["pid"])]
            assert "@opens" in tinybpf("module", "logs", "opens", "-n", "5", env=node_env).stdout
            restarted.unix.call("DELETE", "/v1/modules/opens")
        finally:
            restarted.kill(signal.SIGTERM)
    finally:
        if daemon.process.poll() is None:
            daemon.kill(signal.SIGTERM)
    from tinybpf.modules import script as scripts

    assert not scripts.running(record["pid"], record["pin_dir"]), "unload stops the tracer"


def test_cli_talks_to_the_running_daemon(daemon: DaemonProcess) -> None:
    out = tinybpf("module", "load", "local/counters:1", "--attach", env=daemon.env).stdout
    assert "attached" in out
    assert "counters" in tinybpf("module", "ps", env=daemon.env).stdout
    audit = daemon.unix.call("GET", "/v1/audit")
    load = next(r for r in audit if r["action"] == "load")
    assert load["who"].startswith("uid 0 (pid ")  # the daemon saw the CLI's credentials on its socket
    tinybpf("module", "unload", "counters", env=daemon.env)
    assert daemon.unix.call("GET", "/v1/modules") == []


def test_swap_updates_an_xdp_link_in_place(tmp_path: Path) -> None:
    """A new version of an XDP module takes over the same link (BPF_LINK_UPDATE): same link id, new program."""
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is not installed")
    namespace = f"tt-modswap-{os.getpid()}"
    bpffs = tmp_path / "bpffs"
    bpffs.mkdir()
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    subprocess.run(["mount", "-t", "bpf", "bpf", str(bpffs)], check=True)
    env = {"TINYBPF_MODULES_ROOT": str(tmp_path / "node"), "TINYBPF_PIN_ROOT": str(bpffs / "tinybpf"),
           "PYTHONPATH": SRC}
    try:
        xdp = str(DATA / "xdp_count.bpf.o")
        for version in ("1", "2"):
            tinybpf("module", "build", xdp, "-t", f"local/xdp:{version}", "--name", "xdp", "--version", version,
                    env=env)

        def in_namespace(*args: str) -> str:
            result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-m", "tinybpf", *args],
                                    capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
            assert result.returncode == 0, result.stderr
            return result.stdout

        def link() -> dict[str, Any]:
            pin = next(bpffs.glob("tinybpf/xdp/*/links/tt_xdp_count"))
            out = subprocess.run(["bpftool", "-j", "link", "show", "pinned", str(pin)], capture_output=True,
                                 text=True, check=True).stdout
            return dict(json.loads(out))

        in_namespace("module", "load", "local/xdp:1", "--attach", "--interface", "lo")
        first = link()
        in_namespace("module", "load", "local/xdp:2", "--attach", "--interface", "lo", "--name", "xdp")
        second = link()
        assert second["id"] == first["id"] and second["prog_id"] != first["prog_id"]
        assert len(list(bpffs.glob("tinybpf/xdp/*"))) == 1, "the old version is gone"
        in_namespace("module", "unload", "xdp")
    finally:
        subprocess.run(["umount", str(bpffs)], check=False)
        subprocess.run(["ip", "netns", "del", namespace], check=False)


def test_ring_buffer_records_stream_as_server_sent_events(daemon: DaemonProcess) -> None:
    tinybpf("module", "build", str(DATA / "events.bpf.o"), "-t", "local/events:1", "--name", "events",
            env=daemon.env)
    daemon.unix.call("POST", "/v1/modules", {"reference": "local/events:1", "attach": True})
    conn = socket.create_connection(("127.0.0.1", daemon.port), timeout=30)
    try:
        conn.sendall(f"GET /v1/modules/events/maps/events/events HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        received = b""
        mine = os.getpid().to_bytes(4, "little").hex()
        deadline = time.monotonic() + 60
        while f"data: {mine}".encode() not in received:
            assert time.monotonic() < deadline, received[-300:]
            _openat_a_few_times()
            received += conn.recv(65536)
        assert b"text/event-stream" in received and b"event: record" in received
    finally:
        conn.close()


def test_parameters_set_read_only_globals(node_env: dict[str, str]) -> None:
    from .conftest import OBJECTS

    node = Node(Settings.load())
    node.build([str(OBJECTS / "minimal-el.bpf.o")], "local/minimal:1", name="minimal", parameters={"target_pid": 2**31 - 1})
    node.load("local/minimal:1", attach=True)
    _openat_a_few_times()
    counter = node.map_view("minimal", "counter")
    assert counter.entries() == [{"key": 0, "value": 0}], "the default parameter (a pid that cannot exist) filters every process out"
    node.unload("minimal")
    node.load("local/minimal:1", attach=True, params={"target_pid": os.getpid()})
    _openat_a_few_times()
    assert node.map_view("minimal", "counter").entries()[0]["value"] >= 20
    assert node.map_view("minimal", "rodata").entries()[0]["value"] != ""
    node.close()


def test_program_type_this_kernel_refuses_is_one_line(node_env: dict[str, str]) -> None:
    from tinybpf import features
    from tinybpf.kernel.constants import ProgType

    if features.prog_type(ProgType.TRACING).available:
        pytest.skip("this kernel loads fentry programs")
    tinybpf("module", "build", str(DATA / "fentry.bpf.o"), "-t", "local/fentry:1", "--name", "fentry", env=node_env)
    result = tinybpf("module", "load", "local/fentry:1", env=node_env, check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "tracing programs" in result.stderr and "not supported on this kernel" in result.stderr
    assert not os.path.exists(os.path.join(node_env["TINYBPF_PIN_ROOT"], "fentry"))


def test_adopt_programs_another_tool_pinned(node_env: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is not installed")
    directory = os.path.join(node_env["TINYBPF_PIN_ROOT"], "by-bpftool")
    os.makedirs(node_env["TINYBPF_PIN_ROOT"], exist_ok=True)
    subprocess.run(["bpftool", "prog", "loadall", COUNTERS, directory], check=True, capture_output=True)
    try:
        out = tinybpf("module", "adopt", "theirs", directory, env=node_env).stdout
        assert "adopted" in out
        running = json.loads(tinybpf("module", "ps", "--json", env=node_env).stdout)
        assert [(m["name"], m["kind"], list(m["programs"])) for m in running] == [
            ("theirs", "pinned", ["tt_count_openat"])]
        result = tinybpf("module", "attach", "theirs", env=node_env, check=False)
        assert result.returncode == 1 and "pinned by another tool" in result.stderr
        tinybpf("module", "unload", "theirs", env=node_env)
        assert not os.path.exists(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def test_tcp_with_mutual_tls(node_env: dict[str, str], tmp_path: Path) -> None:
    """TCP with client certificates instead of a token: the CA's clients get in, others fail the handshake."""
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    for name in ("ca", "server", "client", "stranger"):
        _openssl("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", str(tmp_path / f"{name}.key"))
    _openssl("req", "-new", "-x509", "-key", str(tmp_path / "ca.key"), "-subj", "/CN=tt-ca", "-days", "2",
             "-out", str(tmp_path / "ca.crt"))
    (tmp_path / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, signer in (("server", "ca"), ("client", "ca"), ("stranger", "stranger")):
        _openssl("req", "-new", "-key", str(tmp_path / f"{name}.key"), "-subj", f"/CN=tt-{name}",
                 "-out", str(tmp_path / f"{name}.csr"))
        ca = ["-CA", str(tmp_path / "ca.crt"), "-CAkey", str(tmp_path / "ca.key"), "-CAcreateserial"] \
            if signer == "ca" else ["-signkey", str(tmp_path / f"{name}.key")]
        _openssl("x509", "-req", "-in", str(tmp_path / f"{name}.csr"), *ca, "-days", "2",
                 "-extfile", str(tmp_path / "san.cnf"), "-out", str(tmp_path / f"{name}.crt"))
    port = free_port()
    args = [sys.executable, "-m", "tinybpf", "daemon", "--tcp", f"127.0.0.1:{port}",
            "--tls-cert", str(tmp_path / "server.crt"), "--tls-key", str(tmp_path / "server.key"),
            "--tls-client-ca", str(tmp_path / "ca.crt")]
    process = subprocess.Popen(args, env={**os.environ, **node_env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        def context(name: str) -> ssl.SSLContext:
            found = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
            found.load_cert_chain(str(tmp_path / f"{name}.crt"), str(tmp_path / f"{name}.key"))
            return found

        good = DaemonClient(tcp=f"127.0.0.1:{port}", tls=context("client"))
        deadline = time.monotonic() + 60
        while True:
            try:
                assert good.call("GET", "/v1/modules") == []
                break
            except ModuleError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        with pytest.raises(ModuleError, match="daemon unreachable"):
            DaemonClient(tcp=f"127.0.0.1:{port}", tls=context("stranger")).call("GET", "/v1/modules")
        plain = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        with pytest.raises(ModuleError, match="daemon unreachable"):
            DaemonClient(tcp=f"127.0.0.1:{port}", tls=plain).call("GET", "/v1/modules")
        assert good.call("GET", "/v1/audit")[-1]["action"] == "daemon start"
    finally:
        process.terminate()
        process.wait(30)
    result = tinybpf("daemon", "--tcp", "127.0.0.1:1", env=node_env, check=False)
    assert result.returncode == 1 and "without a bearer token or mutual TLS" in result.stderr
