"""BPF_BTF_LOAD of an object's BTF, sanitized for a kernel that lacks some kinds (as libbpf does)."""
from __future__ import annotations

import ctypes
import errno
import functools
import os
from typing import Any

from ..btf.kinds import IntEncoding, Kind
from ..btf.types import Float, Int, Ptr
from ..errors import BPFError
from ..kernel import commands
from ..kernel.fd import FD


def load_btf(blob: bytes, what: str) -> FD:
    """BPF_BTF_LOAD ``blob``; on failure sanitize kinds this kernel lacks and retry once."""
    fd, err = commands.btf_load(blob)
    if fd >= 0:
        return FD(fd)
    from ..btf.sanitize import sanitize

    sanitized = sanitize(blob, _supported_btf_kinds())
    if sanitized != blob:
        fd, err = commands.btf_load(sanitized)
        if fd >= 0:
            return FD(fd)
    log = ctypes.create_string_buffer(1 << 16)
    commands.btf_load(blob, log)
    reason = log.value.decode(errors="replace").strip().splitlines()
    hint = ("run as root or grant CAP_BPF" if err == errno.EPERM
            else "the object still loads without BTF: Object(..., btf=False)")
    raise BPFError("BPF_BTF_LOAD", err, hint,
                   f"kernel rejected the BTF of {what}" + (f": {reason[-1]}" if reason else ""))


@functools.cache
def _supported_btf_kinds() -> frozenset[Kind]:
    """Kinds the kernel accepts, probed with one tiny blob each (only when a blob was rejected)."""
    from ..btf import BTFBuilder
    from ..btf.types import Datasec, DeclTag, Enum64, EnumValue, Func, FuncProto, TypeTag, Var, VarSecinfo

    supported = set(Kind) - {Kind.FUNC, Kind.FUNC_PROTO, Kind.VAR, Kind.DATASEC, Kind.FLOAT, Kind.DECL_TAG,
                             Kind.TYPE_TAG, Kind.ENUM64}
    probes: dict[tuple[Kind, ...], list[Any]] = {
        (Kind.FUNC, Kind.FUNC_PROTO): [FuncProto(0, ()), Func("f", 2)],
        (Kind.VAR, Kind.DATASEC): [Var("v", 1, 1), Datasec(".data", 4, (VarSecinfo(2, 0, 4),))],
        (Kind.FLOAT,): [Float("float", 4)],
        (Kind.DECL_TAG,): [DeclTag("tag", 1)],
        (Kind.TYPE_TAG,): [TypeTag("tag", 1), Ptr(2)],
        (Kind.ENUM64,): [Enum64("e", 8, (EnumValue("A", 1 << 40),))],
    }
    for kinds, types in probes.items():
        builder = BTFBuilder()
        builder.add(Int("int", 4, IntEncoding.SIGNED, 32))
        for t in types:
            builder.add(t)
        fd, _ = commands.btf_load(builder.encode())
        if fd >= 0:
            os.close(fd)
            supported.update(kinds)
    return frozenset(supported)


__all__ = ["load_btf"]
