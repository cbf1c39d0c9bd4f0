"""``tinybpf btf list|show|dump``: BTF objects the kernel holds, and any BTF as C or bpftool's raw listing."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tinybpf.errors import BPFError, TinyBPFError

VMLINUX = "/sys/kernel/btf/vmlinux"


def register(sub: Any) -> None:
    parser = sub.add_parser("btf", help="list, show and dump BTF (bpftool's words: dump id N format c)",
                            add_help=False)
    parser.add_argument("words", nargs=argparse.REMAINDER,
                        help="list | show [id N] | dump [id N | file PATH] [format c|raw] [TYPE...]")
    parser.set_defaults(handler=run_btf)


BTF_USAGE = """
Usage: tinybpf btf { show | list } [id BTF_ID]
       tinybpf btf dump BTF_SRC [format FORMAT] [TYPE...]
       tinybpf btf help

       BTF_SRC := { id BTF_ID | file FILE }
       FORMAT  := { raw | c }
       OPTIONS := { {-j|--json} [{-p|--pretty}] }
"""


def run_btf(args: argparse.Namespace) -> int:
    from tinybpf.cli.bpftool_words import Words

    words = Words("btf", list(args.words))
    verb = words.verb(BTF_USAGE)
    if verb is None:
        return 0
    if verb in ("list", "show", "ls"):
        return _show(args, words)
    if verb != "dump":
        raise words.fail(f"unknown verb {verb!r}", "btf verbs: list, show, dump")
    source, fmt, names = VMLINUX, "raw", []
    btf_id = 0
    while words:
        word = words.take("a word")
        if word in ("file", "--file"):
            source = words.take("a file")
        elif word == "id":
            btf_id = words.number("btf id")
        elif word in ("format", "--format"):
            fmt = words.take("a format (c or raw)")
            if fmt not in ("c", "raw"):
                raise words.fail(f"unknown format {fmt!r}", "formats: c, raw")
        elif word.startswith("--format="):
            fmt = word.split("=", 1)[1]
        elif word.startswith("--file="):
            source = word.split("=", 1)[1]
        else:
            names.append(word)
    if not btf_id and os.path.realpath(source) == VMLINUX:
        if not names:
            from tinybpf.btf import kernel_header, kernel_raw_listing

            sys.stdout.write(kernel_header() if fmt == "c" else kernel_raw_listing())
            return 0
        from tinybpf.btf import kernel_btf

        return _dump(kernel_btf(), fmt, names)
    btf = _by_id(btf_id) if btf_id else _load(source)
    return _dump(btf, fmt, names)


def _by_id(btf_id: int) -> Any:
    from tinybpf.btf import BTF, kernel_btf
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import Cmd
    from tinybpf.kernel.fd import FD
    from tinybpf.kernel.object_info import btf_object

    try:
        fd = FD(commands.get_fd_by_id(Cmd.BTF_GET_FD_BY_ID, btf_id))
    except BPFError as exc:
        if exc.errno == 2:
            raise TinyBPFError(f"no BTF object with id {btf_id}", "see `tinybpf btf list`") from None
        raise
    with fd:
        obj = btf_object(fd.fd)
    if obj.kernel and obj.name == "vmlinux":
        return kernel_btf()
    base = kernel_btf() if obj.kernel else None
    return BTF(obj.data, base=base, name=obj.name or f"BTF id {btf_id}")


def _owners() -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """BTF id -> the programs and maps that use it, in the order bpftool prints them."""
    from tinybpf.maps import Map, list_map_ids
    from tinybpf.programs import Program, list_program_ids

    progs: list[tuple[int, int]] = []
    maps: list[tuple[int, int]] = []
    for prog_id in list_program_ids():
        try:
            with Program.from_id(prog_id) as prog:
                btf_id = prog.info().btf_id
        except BPFError:
            continue
        if btf_id:
            progs.append((btf_id, prog_id))
    for map_id in list_map_ids():
        try:
            with Map.from_id(map_id) as m:
                btf_id = m.info.btf_id
        except BPFError:
            continue
        if btf_id:
            maps.append((btf_id, map_id))
    return _hashmap_order(progs), _hashmap_order(maps)


def _hashmap_order(pairs: list[tuple[int, int]]) -> dict[int, list[int]]:
    """Values per key in the order libbpf's hashmap (bpftool's table) iterates them after these appends:
    each bucket is a list with new entries at its head, and every growth re-inserts bucket by bucket,
    which reverses runs of equal keys. Keys hash as themselves (``hash_fn_for_key_as_id``)."""
    bits = 0
    buckets: list[list[tuple[int, int]]] = []

    def bucket(key: int, width: int) -> int:
        return ((key * 11400714819323198485) & 0xFFFFFFFFFFFFFFFF) >> (64 - width) if width else 0

    for size, (key, value) in enumerate(pairs):
        if not buckets or (size + 1) * 4 // len(buckets) > 3:  # libbpf: empty or more than 75% full
            bits = max(bits + 1, 2)
            grown: list[list[tuple[int, int]]] = [[] for _ in range(1 << bits)]
            for chain in buckets:
                for entry in chain:
                    grown[bucket(entry[0], bits)].insert(0, entry)
            buckets = grown
        buckets[bucket(key, bits)].insert(0, (key, value))
    order: dict[int, list[int]] = {}
    for chain in buckets:
        for key, value in chain:
            order.setdefault(key, []).append(value)
    return order


def _show(args: argparse.Namespace, words: Any) -> int:
    from tinybpf.cli.bpftool_words import emit_json
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import Cmd
    from tinybpf.kernel.fd import FD
    from tinybpf.kernel.object_info import btf_object

    only = 0
    if words.accept("id"):
        only = words.number("btf id")
    words.done()
    progs, maps = _owners()
    records = []
    for btf_id in [only] if only else commands.list_ids(Cmd.BTF_GET_NEXT_ID):
        try:
            fd = FD(commands.get_fd_by_id(Cmd.BTF_GET_FD_BY_ID, btf_id))
        except BPFError as exc:
            if exc.errno == 2 and not only:
                continue
            if exc.errno == 2:
                raise TinyBPFError(f"no BTF object with id {btf_id}", "see `tinybpf btf list`") from None
            raise
        with fd:
            obj = btf_object(fd.fd, with_data=False)
        r: dict[str, Any] = {"id": obj.id, "size": obj.size, "prog_ids": progs.get(obj.id, []),
                             "map_ids": maps.get(obj.id, []), "kernel": obj.kernel}
        if obj.name:
            r["name"] = obj.name
        records.append(r)
    if getattr(args, "json", False):
        emit_json(records[0] if only else records, getattr(args, "pretty", False))
        return 0
    for r in records:
        name = f"[{r['name']}]" if r["kernel"] else r.get("name", "<anon>")
        line = f"{r['id']}: name {name}  size {r['size']}B"
        if r["prog_ids"]:
            line += "  prog_ids " + ",".join(map(str, r["prog_ids"]))
        if r["map_ids"]:
            line += "  map_ids " + ",".join(map(str, r["map_ids"]))
        print(line)
    return 0


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


def _dump(btf: Any, fmt: str, names: list[str]) -> int:
    if fmt == "c":
        from tinybpf.btf import render_c

        try:
            sys.stdout.write(render_c(btf, [int(n) if n.isdigit() else n for n in names] or None))
        except KeyError as exc:
            raise TinyBPFError(str(exc).strip("'\""), "names are C names without struct/enum") from None
        return 0
    from tinybpf.btf.raw_listing import raw_lines

    lines = raw_lines(btf, _ids(btf, names) if names else None)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
