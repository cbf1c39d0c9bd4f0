"""struct_ops maps (``SEC(".struct_ops")``): a kernel ops table (``tcp_congestion_ops``...) filled with programs.

Writing the value (programs' fds in the function-pointer slots) registers a plain struct_ops map with the
kernel; a map created ``BPF_F_LINK`` (``.struct_ops.link``) is only registered by BPF_LINK_CREATE, and then
the link can be pinned. Closing the link unregisters either kind. Requires Linux 5.6 (links: 6.4).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..btf.kinds import Kind
from ..btf.reader import BTF
from ..btf.types import Struct
from ..elf.objspec import StructOpsSpec
from ..errors import NotSupported, TinyBPFError
from ..kernel import commands
from ..kernel.constants import AttachType
from ..kernel.fd import FD
from .link import Link


class StructOpsLink(Link):
    """A registered struct_ops map; ``target`` names the ops table (``struct_ops tcp_congestion_ops cubic2``)."""


def attach_struct_ops(ops_map: Any, value: bytes, *, link: bool, target: str) -> StructOpsLink:
    """Register ``ops_map`` with ``value`` (the kernel's ``bpf_struct_ops_<type>`` layout)."""
    ops_map.update(0, value)
    if link:
        return StructOpsLink([FD(commands.link_create(ops_map.fd, 0, AttachType.STRUCT_OPS))], target, bpf_link=True)

    def unregister() -> None:
        try:
            ops_map.delete(0)
        except (KeyError, TinyBPFError):
            pass  # already unregistered, or the map is gone with its last descriptor

    return StructOpsLink([FD(os.dup(ops_map.fd))], target, on_close=unregister)


@dataclass(frozen=True)
class StructOpsLayout:
    """Where a kernel ops table lives in its struct_ops map value (``struct bpf_struct_ops_<type>``).

    ``members`` maps a member name to (index, byte offset inside the value, size): a program for member N is
    loaded with expected_attach_type N and attach_btf_id ``type_id``.
    """

    type_id: int
    value_type_id: int
    value_size: int
    members: dict[str, tuple[int, int, int]]


def struct_ops_layout(kernel: BTF, type_name: str) -> StructOpsLayout:
    """The layout of ``struct bpf_struct_ops_<type_name>`` in the kernel's BTF; a clear error when there is none."""
    try:
        value_type = kernel.find(f"bpf_struct_ops_{type_name}", Kind.STRUCT)
        ops_type = kernel.find(type_name, Kind.STRUCT)
    except KeyError:
        raise NotSupported(f"struct_ops {type_name}", f"the kernel registers no struct {type_name} ops "
                           f"(no bpf_struct_ops_{type_name} in its BTF)") from None
    assert isinstance(value_type, Struct) and isinstance(ops_type, Struct)
    data = next((m for m in value_type.members if kernel.resolve(m.type).id == ops_type.id), None)
    if data is None:
        raise TinyBPFError(f"bpf_struct_ops_{type_name} in kernel BTF does not hold a struct {type_name}")
    base = data.bit_offset // 8
    members = {m.name: (index, base + m.bit_offset // 8, kernel.sizeof(m.type))
               for index, m in enumerate(ops_type.members)}
    return StructOpsLayout(ops_type.id, value_type.id, value_type.size, members)


def struct_ops_value(layout: StructOpsLayout, spec: StructOpsSpec, program_fds: dict[str, int], where: str,
                     byte_order: str) -> bytes:
    """The map value: the variable's data members copied to the kernel's offsets, program fds in function slots."""
    order: Any = byte_order
    value = bytearray(layout.value_size)
    for member in spec.members:
        found = layout.members.get(member.name)
        local = spec.data[member.offset:member.offset + member.size]
        if found is None:
            if member.program or any(local):
                raise TinyBPFError(f"{where}: the kernel's struct {spec.type_name} has no member {member.name!r}")
            continue
        _, offset, size = found
        if member.program:
            value[offset:offset + 8] = program_fds[member.program].to_bytes(8, order)
        elif any(local):
            if size != member.size:
                raise TinyBPFError(f"{where}: {spec.type_name}.{member.name} is {member.size} bytes here, "
                                   f"{size} in the kernel")
            value[offset:offset + size] = local
    return bytes(value)
