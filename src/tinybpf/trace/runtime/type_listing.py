"""``bpftrace -l 'struct task_struct'``: kernel BTF's named structs, unions and enums, and with ``-v`` their
definitions prefixed by where they come from (``vmlinux: struct fd {...};``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Union

from tinybpf.btf.types import Enum, Enum64, Struct
from tinybpf.btf.types import Union as UnionType

TYPE_KEYWORDS: dict[str, tuple[type, ...]] = {"struct": (Struct,), "union": (UnionType,), "enum": (Enum, Enum64)}

Named = Union[Struct, UnionType, Enum, Enum64]


def is_type_search(search: str) -> bool:
    """A search for types rather than probes: it starts with ``struct``, ``union`` or ``enum``."""
    return search.split(" ", 1)[0] in TYPE_KEYWORDS and " " in search


def list_types(search: str, verbose: bool) -> Iterator[str]:
    """The matching type names (``struct fd``), sorted; with ``verbose`` their C definitions instead."""
    from tinybpf.btf.c_render import definition_text
    from tinybpf.btf.kernel import kernel_btf
    from tinybpf.trace.runtime.wildcards import has_wildcard, wildcard_match

    keyword, name = " ".join(search.split()).split(" ", 1)
    btf = kernel_btf()
    wanted = TYPE_KEYWORDS[keyword]
    candidates = btf.types() if has_wildcard(name) else iter(btf.find_all(name))
    found: dict[str, Named] = {}
    for t in candidates:
        if isinstance(t, wanted) and t.name and wildcard_match(name, t.name):
            found.setdefault(f"{keyword} {t.name}", t)  # type: ignore[arg-type]
    for full_name in sorted(found):
        yield "vmlinux: " + definition_text(btf, found[full_name]) if verbose else full_name
