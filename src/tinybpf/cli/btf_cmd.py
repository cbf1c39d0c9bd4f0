"""``tinybpf btf dump``: the kernel's (or a file's) BTF as C declarations or bpftool's raw listing."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from tinybpf.errors import TinyBPFError


def register(sub: Any) -> None:
    parser = sub.add_parser("btf", help="inspect BTF")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    dump = verbs.add_parser("dump", help="print types as C (vmlinux.h style) or raw records (bpftool's format)")
    dump.add_argument("types", nargs="*", metavar="TYPE", help="only these types (names or ids), with what they need")
    dump.add_argument("--format", choices=("c", "raw"), default="raw", help="output format (default raw)")
    dump.add_argument("--file", default="/sys/kernel/btf/vmlinux",
                      help="a BTF blob or a BPF object's .BTF (default: the running kernel)")
    dump.set_defaults(handler=run_dump)


def _load(path: str) -> Any:
    from tinybpf.btf import BTF

    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        from tinybpf.elf import ElfFile

        section = ElfFile(data, path).section(".BTF")
        if section is None:
            raise TinyBPFError(f"{path} has no .BTF section", "build it with clang -g")
        return BTF(bytes(section.data()), name=path)
    return BTF(data, name=path)


def _ids(btf: Any, names: list[str]) -> list[int]:
    ids = []
    for name in names:
        if name.isdigit():
            ids.append(int(name))
            continue
        found = btf.find_all(name)
        if not found:
            raise TinyBPFError(f"{btf.name}: no type named {name!r}", "names are C names without struct/enum")
        ids.extend(t.id for t in found)
    return ids


def run_dump(args: argparse.Namespace) -> int:
    btf = _load(args.file)
    if args.format == "c":
        from tinybpf.btf import render_c

        try:
            sys.stdout.write(render_c(btf, [int(n) if n.isdigit() else n for n in args.types] or None))
        except KeyError as exc:
            raise TinyBPFError(str(exc).strip("'\""), "names are C names without struct/enum") from None
        return 0
    ids = _ids(btf, args.types) if args.types else range(btf.first_id, btf.count)
    write = sys.stdout.write
    for type_id in ids:
        write(raw_line(btf, type_id) + "\n")
    return 0


_ENCODING = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def raw_line(btf: Any, type_id: int) -> str:
    """One type as ``bpftool btf dump`` prints it (plain format)."""
    from tinybpf.btf import types as t

    kind = btf.type(type_id)
    name = f"'{kind.name or '(anon)'}'"
    head = f"[{type_id}] {kind.kind.name} {name}"
    if isinstance(kind, t.Int):
        return (f"{head} size={kind.size} bits_offset={kind.bit_offset} nr_bits={kind.bits} "
                f"encoding={_ENCODING.get(kind.encoding, kind.encoding)}")
    if isinstance(kind, (t.Ptr, t.Typedef, t.Volatile, t.Const, t.Restrict, t.TypeTag)):
        return f"{head} type_id={kind.type}"
    if isinstance(kind, t.Array):
        return f"{head} type_id={kind.type} index_type_id={kind.index_type} nr_elems={kind.nelems}"
    if isinstance(kind, (t.Struct, t.Union)):
        lines = [f"{head} size={kind.size} vlen={len(kind.members)}"]
        for m in kind.members:
            extra = f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""
            lines.append(f"\t'{m.name or '(anon)'}' type_id={m.type} bits_offset={m.bit_offset}{extra}")
        return "\n".join(lines)
    if isinstance(kind, (t.Enum, t.Enum64)):
        sign = "SIGNED" if kind.signed else "UNSIGNED"
        lines = [f"{head} encoding={sign} size={kind.size} vlen={len(kind.values)}"]
        suffix = ("LL" if kind.signed else "ULL") if isinstance(kind, t.Enum64) else ""
        lines += [f"\t'{v.name}' val={v.value}{suffix}" for v in kind.values]
        return "\n".join(lines)
    if isinstance(kind, t.Fwd):
        return f"{head} fwd_kind={'union' if kind.union else 'struct'}"
    if isinstance(kind, t.Func):
        return f"{head} type_id={kind.type} linkage={_LINKAGE.get(kind.linkage, kind.linkage)}"
    if isinstance(kind, t.FuncProto):
        lines = [f"{head} ret_type_id={kind.return_type} vlen={len(kind.params)}"]
        lines += [f"\t'{p.name or '(anon)'}' type_id={p.type}" for p in kind.params]
        return "\n".join(lines)
    if isinstance(kind, t.Var):
        return f"{head} type_id={kind.type}, linkage={_LINKAGE.get(kind.linkage, kind.linkage)}"
    if isinstance(kind, t.Datasec):
        lines = [f"{head} size={kind.size} vlen={len(kind.vars)}"]
        for v in kind.vars:
            var = btf.type(v.type)
            lines.append(f"\ttype_id={v.type} offset={v.offset} size={v.size} ({var.kind.name} '{var.name}')")
        return "\n".join(lines)
    if isinstance(kind, t.Float):
        return f"{head} size={kind.size}"
    if isinstance(kind, t.DeclTag):
        return f"{head} type_id={kind.type} component_idx={kind.component_idx}"
    return head
