"""Feature probes that tell a 32-bit ARM board apart: the JIT's atomics."""
from __future__ import annotations

import pytest

from tinybpf import features
from tinybpf.errors import BPFError
from tinybpf.kernel.constants import ProgType
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel


def test_atomic_instructions_load_or_the_probe_and_the_error_say_why() -> None:
    """x86_64's JIT takes BPF_ATOMIC; arm32's does not, and then the load error names it instead of errno 524."""
    found = features.atomics()
    if found:
        Program.load(ProgType.SOCKET_FILTER, features._ATOMIC_ADD, name="tt_atomic").close()
        return
    assert "JIT" in found.reason
    with pytest.raises(BPFError, match="BPF_ATOMIC") as raised:
        Program.load(ProgType.SOCKET_FILTER, features._ATOMIC_ADD, name="tt_atomic")
    assert raised.value.errno == 524
