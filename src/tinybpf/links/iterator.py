"""BPF iterators (``SEC("iter/task")``): a link whose output is a file, read like ``cat`` reads a pinned one.

Each :meth:`IterLink.read_output` runs the program over every object once (BPF_ITER_CREATE, then read to
EOF); pinning the link on bpffs lets anyone ``cat`` it later. Requires Linux 5.8.
"""
from __future__ import annotations

import os
from typing import Any

from ..kernel import commands
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from .link import Link, program_fd


class IterLink(Link):
    """An iterator program attached as a link: :meth:`read_output` is one pass of its ``seq_printf`` text."""

    def read_output(self) -> str:
        return self.read_bytes().decode(errors="replace")

    def read_bytes(self) -> bytes:
        reader = FD(commands.iter_create(self.fd))
        chunks: list[bytes] = []
        try:
            while True:
                chunk = os.read(reader.fd, 1 << 16)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            reader.close()


def attach_iter(program: Any, target: str = "") -> IterLink:
    """Attach an ``iter/TARGET`` program (its attach_btf_id names the iterator: ``bpf_iter_task``)."""
    fd = FD(commands.link_create(program_fd(program), 0, AttachType.TRACE_ITER))
    return IterLink([fd], f"iter {target}".rstrip(), bpf_link=True)
