"""The BPF filesystem, where maps, programs and links are pinned."""
from __future__ import annotations

import os
import shutil
from typing import Optional

from ..errors import TinyBPFError
from .syscall import mount

DEFAULT_MOUNT = "/sys/fs/bpf"


def find_bpffs() -> Optional[str]:
    """The first bpffs mount point in /proc/mounts, if any."""
    try:
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "bpf":
                    return fields[1]
    except OSError:
        return None
    return None


def ensure_bpffs() -> str:
    """A bpffs mount point, mounting one at /sys/fs/bpf when none exists and we may."""
    found = find_bpffs()
    if found:
        return found
    os.makedirs(DEFAULT_MOUNT, exist_ok=True)
    try:
        mount("bpf", DEFAULT_MOUNT, "bpf")
    except OSError as e:
        raise TinyBPFError(
            f"cannot mount bpffs at {DEFAULT_MOUNT}: {e.strerror}",
            "run as root, or mount it yourself: mount -t bpf bpf /sys/fs/bpf",
        ) from None
    return DEFAULT_MOUNT


def is_on_bpffs(path: str) -> bool:
    """Whether ``path``'s directory lies on a bpffs (pins elsewhere fail with EINVAL)."""
    directory = os.path.dirname(os.path.abspath(path)) or "/"
    mount = find_bpffs()
    if mount is None:
        return False
    return directory == mount or directory.startswith(mount.rstrip("/") + "/")


def mount_of(path: str) -> Optional[str]:
    """The bpffs mount ``path`` lies under (the innermost one), if any."""
    best: Optional[str] = None
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3 or fields[2] != "bpf":
                    continue
                root = fields[1].rstrip("/") or "/"
                if (path == root or path.startswith(root + "/")) and (best is None or len(root) > len(best)):
                    best = root
    except OSError:
        return None
    return best


def make_dirs(path: str) -> None:
    """Directories on a bpffs (where pins go); existing ones are fine."""
    os.makedirs(path, exist_ok=True)


def unpin(path: str) -> None:
    """Remove one pin: the object lives on only while something else holds it."""
    os.unlink(path)


def remove(path: str) -> None:
    """Unpin ``path``: one pin, or a directory of them with everything under it."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def remove_if_empty(directory: str) -> None:
    if os.path.isdir(directory) and not os.listdir(directory) and not os.path.ismount(directory):
        os.rmdir(directory)


def pins_in(directory: str) -> dict[str, str]:
    """Name -> path of each pin in ``directory`` (empty when it does not exist)."""
    if not os.path.isdir(directory):
        return {}
    return {name: os.path.join(directory, name) for name in sorted(os.listdir(directory))}
