"""A module's kernel objects, kept alive by bpffs pins rather than by a process.

Layout: ``PIN_ROOT/MODULE/HEX12/{progs,maps,links}/NAME`` (``HEX12`` the manifest digest's start), so a
new version loads beside the running one and the swap is a matter of which directory the state names.
Whatever holds a module (daemon, CLI, crashed daemon) may exit: the pins keep programs attached, and
``adopt`` finds them again.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Mapping
from typing import Any

from ..errors import BPFError, TinyBPFError, VerifierError
from ..kernel import bpffs
from .errors import ModuleError
from .manifest import Module, compile_c


@dataclasses.dataclass(frozen=True)
class Pinned:
    """What lies under one module version's pin directory."""

    programs: dict[str, str]
    maps: dict[str, str]
    links: dict[str, str]


def version_dir(pin_root: str, name: str, digest: str) -> str:
    return os.path.join(pin_root, name, digest.split(":", 1)[-1][:12])


def object_bytes(module: Module) -> bytes:
    if module.config.kind == "c":
        return compile_c(module.payload, f"{module.name}.bpf.c")
    if module.config.kind != "object":
        raise ModuleError(f"module {module.name}: {module.config.kind} modules have no BPF object to pin")
    return module.payload


def _open_object(module: Module, directory: str) -> Any:
    from ..elf.objspec import ObjectSpec
    from ..objects import Object

    spec = ObjectSpec.from_bytes(object_bytes(module), f"{module.name}.bpf.o")
    return Object(spec, pin_root=os.path.join(directory, "maps"))


def load(module: Module, directory: str, params: Mapping[str, Any] = {}) -> Pinned:
    """Load every program and map of ``module`` and pin them under ``directory``; nothing stays on failure."""
    ensure_bpffs_dir(directory)
    obj = _open_object(module, directory)
    try:
        for name, value in params.items():
            section, _, variable = name.rpartition(".")
            setattr(obj.section(section or ".rodata"), variable, value)
        try:
            obj.load()
        except BPFError as exc:
            _missing_program_type(obj.spec, exc)
            raise
        for sub in ("progs", "maps", "links"):
            bpffs.make_dirs(os.path.join(directory, sub))
        for name, program in obj.programs.items():
            program.pin(os.path.join(directory, "progs", name))
        for name, m in obj.maps.items():
            path = os.path.join(directory, "maps", name.lstrip("."))
            if name not in obj.reused_maps and not os.path.exists(path):
                m.pin(path)
    except BaseException:
        obj.close()
        remove(directory)
        raise
    obj.close()
    return pinned(directory)


def _missing_program_type(spec: Any, exc: BPFError) -> None:
    """Say which program type the kernel lacks when that is why a load failed (one line, the probe's reason)."""
    from .. import features
    from ..errors import NotSupported

    if isinstance(exc, VerifierError) and exc.log.strip():
        return
    for program in spec.programs.values():
        found = features.prog_type(program.type)
        if not found.available and not found.reason.startswith("not probed"):
            raise NotSupported(f"{program.type.name.lower()} programs ({program.name or program.section})",
                               found.reason) from None


def update_links(old_dir: str, new_dir: str) -> dict[str, str]:
    """Move the old version's links onto the new version's programs in place (BPF_LINK_UPDATE), so traffic
    never sees a moment with neither attached; re-pins each moved link under ``new_dir``.

    Links whose kind cannot be updated (perf_event: tracepoints, kprobes, uprobes) are left for the
    caller to attach anew. Returns program name -> the old program's pin, to undo with :func:`revert_links`.
    """
    from ..errors import BPFError
    from ..kernel import commands
    from ..kernel.fd import FD

    moved: dict[str, str] = {}
    old, new = pinned(old_dir), pinned(new_dir)
    bpffs.make_dirs(os.path.join(new_dir, "links"))
    for name, link_path in old.links.items():
        if name not in new.programs:
            continue
        link = FD(commands.obj_get(link_path))
        program = FD(commands.obj_get(new.programs[name]))
        try:
            commands.link_update(link.fd, program.fd)
        except BPFError:
            continue
        finally:
            program.close()
        try:
            commands.obj_pin(link.fd, os.path.join(new_dir, "links", name))
            bpffs.unpin(link_path)
        finally:
            link.close()
        moved[name] = old.programs[name]
    return moved


def revert_links(new_dir: str, old_dir: str, moved: Mapping[str, str]) -> None:
    """Undo :func:`update_links`: the old programs back on the links, the pins back where they were."""
    from ..kernel import commands
    from ..kernel.fd import FD

    for name, old_program in moved.items():
        link_path = os.path.join(new_dir, "links", name)
        link, program = FD(commands.obj_get(link_path)), FD(commands.obj_get(old_program))
        try:
            commands.link_update(link.fd, program.fd)
            commands.obj_pin(link.fd, os.path.join(old_dir, "links", name))
            bpffs.unpin(link_path)
        finally:
            link.close()
            program.close()


def attach(module: Module, directory: str, targets: Mapping[str, str], skip: Collection[str] = ()) -> dict[str, str]:
    """Attach the pinned programs (where their sections say, or ``targets[program]``) and pin the links.

    ``targets`` may name ``interface`` or ``cgroup`` for xdp/tc/cgroup programs; programs in ``skip``
    are already attached (moved by :func:`update_links`). All or nothing.
    """
    from ..programs import Program

    obj = _open_object(module, directory)
    made: list[str] = []
    try:
        interface, cgroup = targets.get("interface"), targets.get("cgroup")
        for name in obj.spec.programs:
            path = os.path.join(directory, "progs", name)
            if not os.path.exists(path) or name in skip:
                continue
            obj.programs[name] = Program.from_pin(path)
            if name not in targets and not obj.auto_attachable(name, interface=interface, cgroup=cgroup):
                continue
            link = obj.attach_program(name, targets.get(name, ""), interface=interface, cgroup=cgroup)
            link_path = os.path.join(directory, "links", name)
            try:
                link.pin(link_path)
            except TinyBPFError as exc:
                raise ModuleError(f"module {module.name}: {name} attached by {link.target} cannot be pinned "
                                  f"({exc.message})", "this attach kind does not survive its process") from None
            made.append(link_path)
    except BaseException:
        for path in made:
            bpffs.unpin(path)
        obj.close()
        raise
    obj.close()
    return pinned(directory).links


def detach(directory: str) -> int:
    """Unpin every link (the programs stay loaded); how many."""
    links = pinned(directory).links
    for path in links.values():
        bpffs.unpin(path)
    return len(links)


def remove(directory: str) -> None:
    """Unpin everything of one module version; the kernel frees what nothing else holds."""
    bpffs.remove(directory)
    bpffs.remove_if_empty(os.path.dirname(directory))


def foreign_programs(path: str) -> dict[str, tuple[str, int]]:
    """Name -> (pin, id) of the programs pinned at ``path`` (one pin, or a directory of them) by any tool."""
    from ..programs import Program

    candidates = bpffs.pins_in(path) if os.path.isdir(path) else {os.path.basename(path): path}
    found = {}
    for name, pin in candidates.items():
        try:
            with Program.from_pin(pin) as program:
                found[name] = (pin, program.info().id)
        except (OSError, TinyBPFError):  # a map or link pin, or gone
            continue
    return found


def pinned(directory: str) -> Pinned:
    def listing(sub: str) -> dict[str, str]:
        return bpffs.pins_in(os.path.join(directory, sub))

    return Pinned(listing("progs"), listing("maps"), listing("links"))


def ensure_bpffs_dir(directory: str) -> None:
    """``directory`` must lie on a bpffs (pins elsewhere fail with EINVAL); mount one at /sys/fs/bpf if none."""
    if bpffs.find_bpffs() is None:
        bpffs.ensure_bpffs()
    if bpffs.mount_of(os.path.abspath(directory)) is None:
        raise ModuleError(f"pin directory {directory} is not on a bpffs",
                          "set TINYBPF_PIN_ROOT under a bpf mount (mount -t bpf bpf /sys/fs/bpf)")
    bpffs.make_dirs(directory)
