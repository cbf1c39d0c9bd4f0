"""``bpftool btf dump`` (raw format) straight from the type section's words.

Listing all of vmlinux means ~125k records: decoding each into a type object first costs several times
what the listing itself does, so this walks the u32 words of the blob the reader already holds and
formats each record in place. Split BTF (a module on vmlinux) is listed the same way: its ids start
where the base's end and low string offsets name the base's strings.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Callable, Optional

from tinybpf.btf.kinds import Kind
from tinybpf.btf.reader import BTF

_ENCODING = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_LINKAGE = {0: "static", 1: "global", 2: "extern"}
_KIND_NAMES = {kind.value: kind.name for kind in Kind}


def _strings(btf: BTF) -> Callable[[int], str]:
    """Offset -> string for this blob, a fast path for the ASCII string tables compilers emit."""
    own = btf._strings
    if not own.isascii() or btf.base is not None:
        return btf.string
    text = own.decode("ascii")
    find = text.find

    def string(offset: int) -> str:
        return text[offset:find("\0", offset)]

    return string


def raw_lines(btf: BTF, ids: Optional[Iterable[int]] = None) -> Iterator[str]:
    """One string per type (several lines for members), as bpftool prints them, for ``ids`` or all."""
    words, offsets, first = btf._words, btf._offsets, btf.first_id
    string = _strings(btf)
    encoding, linkage, kind_names = _ENCODING, _LINKAGE, _KIND_NAMES

    def name(offset: int) -> str:
        return string(offset) if offset else "(anon)"

    def kind_and_name(type_id: int) -> tuple[str, str]:
        target = btf.type(type_id)
        return target.kind.name, target.name

    for type_id in (range(first, btf.count) if ids is None else ids):
        if type_id < first:
            if btf.base is None:
                raise KeyError(type_id)
            yield from raw_lines(btf.base, [type_id])
            continue
        at = offsets[type_id - first]
        name_off, info, size = words[at], words[at + 1], words[at + 2]
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        head = f"[{type_id}] {kind_names[kind]} '{name(name_off)}'"
        if kind == 1:  # INT
            bits = words[at + 3]
            yield (f"{head} size={size} bits_offset={(bits >> 16) & 0xFF} nr_bits={bits & 0xFF} "
                   f"encoding={encoding.get((bits >> 24) & 0x0F, (bits >> 24) & 0x0F)}")
        elif kind in (2, 8, 9, 10, 11, 18):  # PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG
            yield f"{head} type_id={size}"
        elif kind == 3:  # ARRAY
            yield f"{head} type_id={words[at + 3]} index_type_id={words[at + 4]} nr_elems={words[at + 5]}"
        elif kind in (4, 5):  # STRUCT, UNION
            lines = [f"{head} size={size} vlen={vlen}"]
            for m in range(at + 3, at + 3 + 3 * vlen, 3):
                offset = words[m + 2]
                if kflag and offset >> 24:
                    lines.append(f"\t'{name(words[m])}' type_id={words[m + 1]} bits_offset={offset & 0xFFFFFF} "
                                 f"bitfield_size={offset >> 24}")
                else:
                    lines.append(f"\t'{name(words[m])}' type_id={words[m + 1]} "
                                 f"bits_offset={offset & 0xFFFFFF if kflag else offset}")
            yield "\n".join(lines)
        elif kind == 6:  # ENUM
            lines = [f"{head} encoding={'SIGNED' if kflag else 'UNSIGNED'} size={size} vlen={vlen}"]
            for v in range(at + 3, at + 3 + 2 * vlen, 2):
                value = words[v + 1]
                if kflag and value >= 1 << 31:
                    value -= 1 << 32
                lines.append(f"\t'{name(words[v])}' val={value}")
            yield "\n".join(lines)
        elif kind == 19:  # ENUM64
            lines = [f"{head} encoding={'SIGNED' if kflag else 'UNSIGNED'} size={size} vlen={vlen}"]
            for v in range(at + 3, at + 3 + 3 * vlen, 3):
                value = words[v + 2] << 32 | words[v + 1]
                if kflag and value >= 1 << 63:
                    value -= 1 << 64
                lines.append(f"\t'{name(words[v])}' val={value}{'LL' if kflag else 'ULL'}")
            yield "\n".join(lines)
        elif kind == 7:  # FWD
            yield f"{head} fwd_kind={'union' if kflag else 'struct'}"
        elif kind == 12:  # FUNC
            yield f"{head} type_id={size} linkage={linkage.get(vlen, vlen)}"
        elif kind == 13:  # FUNC_PROTO
            lines = [f"{head} ret_type_id={size} vlen={vlen}"]
            for p in range(at + 3, at + 3 + 2 * vlen, 2):
                lines.append(f"\t'{name(words[p])}' type_id={words[p + 1]}")
            yield "\n".join(lines)
        elif kind == 14:  # VAR
            yield f"{head} type_id={size}, linkage={linkage.get(words[at + 3], words[at + 3])}"
        elif kind == 15:  # DATASEC
            lines = [f"{head} size={size} vlen={vlen}"]
            for v in range(at + 3, at + 3 + 3 * vlen, 3):
                var_kind, var_name = kind_and_name(words[v])
                lines.append(f"\ttype_id={words[v]} offset={words[v + 1]} size={words[v + 2]} "
                             f"({var_kind} '{var_name}')")
            yield "\n".join(lines)
        elif kind == 16:  # FLOAT
            yield f"{head} size={size}"
        elif kind == 17:  # DECL_TAG
            component = words[at + 3]
            yield f"{head} type_id={size} component_idx={component - (1 << 32) if component >= 1 << 31 else component}"
        else:
            yield head


__all__ = ["raw_lines"]
