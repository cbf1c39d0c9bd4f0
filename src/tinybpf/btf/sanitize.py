"""Rewrite BTF for kernels that predate some kinds, keeping every type id and record size unchanged.

Loading program BTF into an old kernel fails on the first unknown kind, so, as libbpf does, each unsupported
kind is replaced by an older one of the same record size (ids, offsets and .BTF.ext references stay valid):

=========================  =============================================================  ======
kind (first kernel)        replaced by                                                    needed
=========================  =============================================================  ======
VAR, DATASEC (5.2)         INT of 1 byte; STRUCT with the vars as members ('.' -> '_')    DATASEC
FUNC, FUNC_PROTO (5.0)     TYPEDEF; ENUM with one value per parameter                     FUNC
global FUNC linkage (5.6)  static linkage                                                 ``func_linkage``
FLOAT (5.13)               anonymous empty STRUCT of the same size                        FLOAT
DECL_TAG (5.16)            anonymous 1-byte INT                                           DECL_TAG
TYPE_TAG (5.17)            anonymous CONST                                                TYPE_TAG
ENUM64 (6.0)               UNION of 4-byte INT members (one appended INT type);           ENUM64
                           signed ENUM loses its kind_flag
=========================  =============================================================  ======
"""
from __future__ import annotations

import sys
from array import array
from collections.abc import Collection

from tinybpf.btf.kinds import Kind
from tinybpf.btf.reader import BTF, HEADER
from tinybpf.errors import FormatError

_PLACEHOLDER_NAME = b"enum64_placeholder\0"


def sanitize(blob: bytes, supported_kinds: Collection[Kind], func_linkage: bool = True) -> bytes:
    """``blob`` with kinds missing from ``supported_kinds`` rewritten; unchanged when nothing needs it."""
    btf = BTF(blob, name="BTF to sanitize")
    words = array("I", btf._words)
    strings = bytearray(btf._strings)
    has = set(supported_kinds).__contains__
    appended: list[int] = []
    placeholder_id = btf.count
    for at in btf._offsets:
        info = words[at + 1]
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        entries = at + 3
        if kind == Kind.VAR and not has(Kind.DATASEC):
            words[at + 1], words[at + 2], words[at + 3] = Kind.INT << 24, 1, 8
        elif kind == Kind.DATASEC and not has(Kind.DATASEC):
            words[at + 1] = (Kind.STRUCT << 24) | vlen
            _replace_dots(strings, words[at] - btf._string_base)
            for entry in range(entries, entries + 3 * vlen, 3):
                var_type, offset = words[entry], words[entry + 1]
                var_at = btf._offsets[var_type - btf.first_id] if btf.first_id <= var_type < btf.count else None
                words[entry] = words[var_at] if var_at is not None else 0
                if offset >= 1 << 29:  # a struct member's bit offset must fit in 32 bits
                    raise FormatError(f"{btf.name}: DATASEC variable offset {offset} is too large to rewrite")
                words[entry + 1], words[entry + 2] = var_type, offset * 8
        elif kind == Kind.FUNC_PROTO and not has(Kind.FUNC):
            words[at + 1], words[at + 2] = (Kind.ENUM << 24) | vlen, 4
        elif kind == Kind.FUNC and not has(Kind.FUNC):
            words[at + 1] = Kind.TYPEDEF << 24
        elif kind == Kind.FUNC and not func_linkage:
            words[at + 1] = Kind.FUNC << 24
        elif kind == Kind.FLOAT and not has(Kind.FLOAT):
            words[at], words[at + 1] = 0, Kind.STRUCT << 24
        elif kind == Kind.DECL_TAG and not has(Kind.DECL_TAG):
            words[at], words[at + 1], words[at + 2], words[at + 3] = 0, Kind.INT << 24, 1, 8
        elif kind == Kind.TYPE_TAG and not has(Kind.TYPE_TAG):
            words[at], words[at + 1] = 0, Kind.CONST << 24
        elif kind == Kind.ENUM and not has(Kind.ENUM64):
            words[at + 1] = info & 0x7FFFFFFF
        elif kind == Kind.ENUM64 and not has(Kind.ENUM64):
            if not appended:
                name_off = btf._string_base + len(strings)
                strings += _PLACEHOLDER_NAME
                appended = [name_off, Kind.INT << 24, 4, 32]
            words[at + 1] = (Kind.UNION << 24) | vlen
            for entry in range(entries, entries + 3 * vlen, 3):
                words[entry + 1], words[entry + 2] = placeholder_id, 0
    words.extend(appended)
    if words == btf._words and strings == btf._strings:
        return blob
    if btf.byte_order != sys.byteorder:
        words.byteswap()
    types = words.tobytes()
    header = HEADER[btf.byte_order]
    magic, version, flags = header.unpack_from(blob)[:3]
    return header.pack(magic, version, flags, header.size, 0, len(types), len(types), len(strings)) + types + bytes(
        strings
    )


def _replace_dots(strings: bytearray, offset: int) -> None:
    """Section names (``.data``) are not C identifiers; an old kernel checks STRUCT names, so use ``_data``."""
    if offset < 0:
        return
    end = strings.find(b"\0", offset)
    strings[offset:end] = strings[offset:end].replace(b".", b"_")

