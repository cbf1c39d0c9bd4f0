"""``-c CMD``: the traced command, forked before the probes attach and exec'd once they are.

Its lifetime is tied to the tracer's: it asks the kernel for SIGTERM when the tracer dies (even by
SIGKILL), it exits unrun if the tracer ends before releasing it, and a tracer that stops first (a signal,
``exit()``) sends it SIGTERM, waits briefly, then SIGKILL, and always reaps it.
"""
from __future__ import annotations

import os
import select
import signal
import sys
from typing import NoReturn, Optional

from tinybpf.errors import TinyBPFError
from tinybpf.kernel.syscall import pidfd_open, set_parent_death_signal

GRACE_SECONDS = 0.5
"""How long a child has to exit after SIGTERM before SIGKILL."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What ends a trace in order (END runs, maps print). The CLI blocks them until the runtime's handlers
are in place, so none arriving in between is lost."""


class CommandError(TinyBPFError):
    """``-c`` names nothing that can run (bpftrace's words: ``Failed to fork child: ...``)."""


def resolve_command(text: str) -> tuple[str, list[str]]:
    """(the program's path, ``-c``'s words): split at spaces, quotes kept, as bpftrace does; the program
    with a ``/`` as given, else the one executable the ``PATH`` entries name."""
    words = text.split()
    if not words:
        raise CommandError(f"Empty command ({os.strerror(2)})")
    program = words[0]
    if "/" in program:
        candidates = [program]
    else:
        candidates = [os.path.join(d or ".", program) for d in os.environ.get("PATH", os.defpath).split(":")]
    found = [path for path in candidates if os.path.isfile(path) and os.access(path, os.X_OK)]
    if not found:
        raise CommandError(f"Path '{program}' does not exist or is not executable ({os.strerror(2)})")
    if len({os.path.realpath(path) for path in found}) > 1:
        raise CommandError(f"Path '{program}' must refer to a unique binary but matched {len(found)} binaries")
    return found[0], words


class Child:
    """The forked command, held on a pipe until ``release()``."""

    def __init__(self, path: str, argv: list[str]) -> None:
        read_end, self._release = os.pipe()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.close(self._release)
            _wait_and_exec(read_end, parent, path, argv)
        os.close(read_end)
        self.status: Optional[int] = None

    def release(self) -> None:
        os.write(self._release, b"x")
        os.close(self._release)
        self._release = -1

    def pidfd(self) -> Optional[int]:
        try:
            return pidfd_open(self.pid)
        except OSError:
            return None

    def reap(self, block: bool = False) -> bool:
        if self.status is not None:
            return True
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.status = status
        return True

    def stop(self) -> None:
        """End and reap the child: unreleased, it exits by itself; running, SIGTERM, then SIGKILL."""
        if self._release >= 0:
            os.close(self._release)
            self._release = -1
        try:
            if self.reap():
                return
            os.kill(self.pid, signal.SIGTERM)
            if not self._exits_within(GRACE_SECONDS):
                os.kill(self.pid, signal.SIGKILL)
            self.reap(block=True)
        except (ChildProcessError, ProcessLookupError):
            self.status = 0

    def _exits_within(self, seconds: float) -> bool:
        fd = self.pidfd()
        if fd is None:
            return self.reap()
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(seconds * 1000))
        finally:
            os.close(fd)


def _wait_and_exec(read_end: int, parent: int, path: str, argv: list[str]) -> NoReturn:  # pragma: no cover
    """The child's side: die with the tracer, wait for the go, exec with default signal handling."""
    try:
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent:  # the tracer died before the prctl
            os._exit(1)
        if os.read(read_end, 1) != b"x":
            os._exit(0)
        os.close(read_end)
        for sig in (*STOP_SIGNALS, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE, and an ignored signal stays so in exec
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        os.execv(path, argv)
    except OSError as exc:
        sys.stderr.write(f"ERROR: Failed to run child: {path}: {exc.strerror}\n")
    os._exit(127)
