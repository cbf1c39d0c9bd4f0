"""cgroup programs (cgroup_skb ingress/egress, cgroup_sock create, sock_addr hooks...) with BPF links.

The target is a cgroup v2 directory; programs run for every process in it and its descendants.
Links allow other programs on the same hook (BPF_F_ALLOW_MULTI semantics). Requires Linux 5.7.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Union

from ..errors import TinyBPFError
from ..kernel import commands, procfs
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from .link import Link, program_fd


class CgroupLink(Link):
    """A program on a cgroup hook; closing it detaches the program."""


def cgroup_root() -> str:
    """The cgroup v2 mount point (``/sys/fs/cgroup`` or ``/sys/fs/cgroup/unified`` on hybrid systems)."""
    found = procfs.cgroup2_mount()
    if found is None:
        raise TinyBPFError("no cgroup v2 hierarchy is mounted", "mount -t cgroup2 none /sys/fs/cgroup")
    return found


def attach_cgroup(program: Any, attach_type: Union[AttachType, int], cgroup: Optional[str] = None) -> CgroupLink:
    """Attach to hook ``attach_type`` (``AttachType.CGROUP_INET_EGRESS``...) of the cgroup directory
    ``cgroup`` (default: the root of the v2 hierarchy)."""
    path = cgroup or cgroup_root()
    try:
        directory = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise TinyBPFError(f"cannot open cgroup {path}: {exc.strerror}") from None
    try:
        fd = FD(commands.link_create(program_fd(program), directory, int(attach_type)))
    finally:
        os.close(directory)
    name = AttachType(attach_type).name.lower() if attach_type in AttachType._value2member_map_ else attach_type
    return CgroupLink([fd], f"cgroup {name} on {path}", bpf_link=True)
