"""BTF constants with the kernel's names (``BTF_KIND_STRUCT`` -> ``Kind.STRUCT``), from ``include/uapi/linux/btf.h``."""
from __future__ import annotations

import enum

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1


class Kind(enum.IntEnum):
    """``BTF_KIND_*``: bits 24-28 of ``btf_type.info``. The comment is the first kernel that accepts the kind."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12  # 5.0
    FUNC_PROTO = 13  # 5.0
    VAR = 14  # 5.2
    DATASEC = 15  # 5.2
    FLOAT = 16  # 5.13
    DECL_TAG = 17  # 5.16
    TYPE_TAG = 18  # 5.17
    ENUM64 = 19  # 6.0


class IntEncoding(enum.IntFlag):
    """``BTF_INT_ENCODING``: how an INT's bits are read; 0 means unsigned."""

    SIGNED = 1
    CHAR = 2
    BOOL = 4


class Linkage(enum.IntEnum):
    """``BTF_FUNC_*`` / ``BTF_VAR_*``: a FUNC's vlen or a VAR's linkage word.

    Global FUNC linkage needs Linux 5.6; older kernels want every FUNC static (see ``sanitize``).
    """

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class CoreReloKind(enum.IntEnum):
    """``enum bpf_core_relo_kind``: what a CO-RE relocation asks the loader to compute."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12
