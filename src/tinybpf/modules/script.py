"""bpftrace-script modules: compiled on the node by the trace compiler, run headless as a ``tinybpf trace``
child in its own session (so a daemon crash leaves it running), its output (JSON lines) in the module's
log; the maps it prints become labelled metrics.

The trace compiler is called here and nowhere else in the module layer.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any, Optional

from ..errors import TinyBPFError
from .errors import ModuleError


def check(source: str, filename: str) -> None:
    """Compile ``source`` (no kernel objects made) so a bad script fails with file:line:column before it runs."""
    from ..trace.compiler import compile_trace

    try:
        compile_trace(source, filename)
    except TinyBPFError:
        raise
    except Exception as exc:  # the compiler's own option/header errors carry a message
        raise ModuleError(f"{filename}: {getattr(exc, 'message', exc)}") from None


def check_at_build(source: str, filename: str) -> None:
    """What a build machine can check of a script: errors in the script itself (file:line:column); what only
    the node can tell (its tracepoints, binaries, privileges) waits for the load there."""
    from ..errors import CompileError

    try:
        check(source, filename)
    except CompileError:
        raise
    except (TinyBPFError, OSError):
        return


def start(script_path: str, log_path: str) -> int:
    """Spawn the script's tracer; its pid."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "tinybpf", "trace", "-f", "json", script_path],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                   env={**os.environ, "PYTHONPATH": _package_path()})
    return process.pid


def _package_path() -> str:
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    existing = os.environ.get("PYTHONPATH", "")
    return here + (os.pathsep + existing if existing else "")


def running(pid: int, script_path: str) -> bool:
    """Whether ``pid`` is still the tracer of ``script_path`` (not a recycled pid)."""
    from ..kernel.procfs import read_text

    if pid <= 0:
        return False
    cmdline = read_text(f"/proc/{pid}/cmdline") or ""
    state = (read_text(f"/proc/{pid}/stat") or "").rsplit(")", 1)[-1].split()[:1]
    return script_path in cmdline.split("\0") and state != ["Z"]


def stop(pid: int, script_path: str, timeout: float = 10.0) -> None:
    """SIGTERM the tracer (it prints its maps and detaches), SIGKILL if it does not exit in time."""
    if not running(pid, script_path):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running(pid, script_path):
        _reap(pid)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # adopted after a restart: not our child, init reaps it
        pass


def printed_maps(log_path: str, limit: int = 1 << 20) -> dict[str, Any]:
    """The last value the script printed of each map (``{"type": "map", "data": {"@name": ...}}`` lines)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(log_path) - limit))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return {}
    found: dict[str, Any] = {}
    for line in lines:
        record = _json_line(line)
        if record is not None and record.get("type") in ("map", "hist", "stats") and isinstance(record.get("data"), dict):
            found.update(record["data"])
    return found


def _json_line(line: str) -> Optional[dict[str, Any]]:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
