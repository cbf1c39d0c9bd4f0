"""``tinybpf prog`` and ``tinybpf map``: list, show and dump what is loaded, like bpftool."""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tinybpf.errors import BPFError, TinyBPFError


def register(sub: Any) -> None:
    for noun, helptext in (("prog", "inspect loaded programs"), ("map", "inspect maps")):
        parser = sub.add_parser(noun, help=helptext)
        verbs = parser.add_subparsers(dest="verb", metavar="VERB")
        verbs.required = True
        for verb, about in (("list", f"every {noun} in the kernel"), ("show", f"one {noun} by id"),
                            ("dump", "its instructions" if noun == "prog" else "its contents")):
            p = verbs.add_parser(verb, help=about)
            if verb != "list":
                p.add_argument("id", type=_object_id, help=f"{noun} id (see `tinybpf {noun} list`)")
            p.add_argument("--json", action="store_true", help="JSON output")
            p.set_defaults(handler=HANDLERS[(noun, verb)])


def _object_id(text: str) -> int:
    """A program or map id: the kernel's ids are u32 and start at 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"can't parse {text!r} as an id") from None
    if not 1 <= value <= 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError(f"id {value} is out of range (ids are 1 to 4294967295)")
    return value


def _date(load_time_ns: int) -> str:
    from tinybpf.kernel.sysinfo import boot_time

    stamp = boot_time() + load_time_ns / 1e9
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(stamp))


def _prog_record(info: Any) -> dict[str, Any]:
    return {
        "id": info.id, "type": info.type_name, "name": info.name, "tag": info.tag,
        "gpl_compatible": info.gpl_compatible, "loaded_at": _date(info.load_time), "uid": info.uid,
        "bytes_xlated": info.xlated_len, "jited": bool(info.jited_len), "bytes_jited": info.jited_len,
        "map_ids": list(info.map_ids), "btf_id": info.btf_id, "run_time_ns": info.run_time_ns,
        "run_cnt": info.run_cnt, "verified_insns": info.verified_insns,
    }


def _prog_text(r: dict[str, Any]) -> str:
    head = f"{r['id']}: {r['type']}  name {r['name']}  tag {r['tag']}" + ("  gpl" if r["gpl_compatible"] else "")
    if r["run_cnt"]:
        head += f"  run_time_ns {r['run_time_ns']}  run_cnt {r['run_cnt']}"
    body = f"\tloaded_at {r['loaded_at']}  uid {r['uid']}\n\txlated {r['bytes_xlated']}B"
    body += f"  jited {r['bytes_jited']}B" if r["jited"] else "  not jited"
    if r["map_ids"]:
        body += "  map_ids " + ",".join(str(i) for i in r["map_ids"])
    if r["btf_id"]:
        body += f"\n\tbtf_id {r['btf_id']}"
    return f"{head}\n{body}"


def _map_record(info: Any) -> dict[str, Any]:
    return {
        "id": info.id, "type": info.type_name, "name": info.name, "flags": info.flags,
        "bytes_key": info.key_size, "bytes_value": info.value_size, "max_entries": info.max_entries,
        "btf_id": info.btf_id,
    }


def _map_text(r: dict[str, Any]) -> str:
    head = f"{r['id']}: {r['type']}  name {r['name']}  flags 0x{r['flags']:x}"
    body = f"\tkey {r['bytes_key']}B  value {r['bytes_value']}B  max_entries {r['max_entries']}"
    if r["btf_id"]:
        body += f"\n\tbtf_id {r['btf_id']}"
    return f"{head}\n{body}"


def _emit(args: argparse.Namespace, records: list[dict[str, Any]], text: Any, single: bool = False) -> int:
    if args.json:
        json.dump(records[0] if single else records, sys.stdout)
        sys.stdout.write("\n")
    else:
        for r in records:
            print(text(r))
    return 0


def _each(ids: list[int], opener: Any) -> list[Any]:
    """Open every id, skipping objects that vanished between the listing and the open."""
    found = []
    for obj_id in ids:
        try:
            found.append(opener(obj_id))
        except BPFError as exc:
            if exc.errno != 2:
                raise
    return found


def prog_list(args: argparse.Namespace) -> int:
    from tinybpf.programs import Program, list_program_ids

    records = []
    for prog in _each(list_program_ids(), Program.from_id):
        with prog:
            records.append(_prog_record(prog.info()))
    return _emit(args, records, _prog_text)


def _open_prog(prog_id: int) -> Any:
    from tinybpf.programs import Program

    try:
        return Program.from_id(prog_id)
    except BPFError as exc:
        if exc.errno == 2:
            raise TinyBPFError(f"no program with id {prog_id}", "see `tinybpf prog list`") from None
        raise


def prog_show(args: argparse.Namespace) -> int:
    with _open_prog(args.id) as prog:
        return _emit(args, [_prog_record(prog.info())], _prog_text, single=True)


def prog_dump(args: argparse.Namespace) -> int:
    from tinybpf.asm import Instructions

    with _open_prog(args.id) as prog:
        insns = Instructions.decode(prog.xlated())
    if args.json:
        json.dump([{"pc": pc, "text": text} for pc, text in _numbered(insns)], sys.stdout)
        sys.stdout.write("\n")
        return 0
    for pc, text in _numbered(insns):
        print(f"{pc:4}: {text}")
    return 0


def _numbered(insns: Any) -> list[Any]:
    rows, pc = [], 0
    for insn in insns:
        rows.append((pc, str(insn)))
        pc += insn.width
    return rows


def map_list(args: argparse.Namespace) -> int:
    from tinybpf.maps import Map, list_map_ids

    records = []
    for m in _each(list_map_ids(), Map.from_id):
        with m:
            records.append(_map_record(m.info))
    return _emit(args, records, _map_text)


def _open_map(map_id: int) -> Any:
    from tinybpf.codecs import BytesCodec
    from tinybpf.maps import Map

    try:
        m = Map.from_id(map_id)
    except BPFError as exc:
        if exc.errno == 2:
            raise TinyBPFError(f"no map with id {map_id}", "see `tinybpf map list`") from None
        raise
    return Map(m._fd, m.info, BytesCodec(m.key_size) if m.key_size else None,
               BytesCodec(m.value_size) if m.value_size else None)


def map_show(args: argparse.Namespace) -> int:
    with _open_map(args.id) as m:
        return _emit(args, [_map_record(m.info)], _map_text, single=True)


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def map_dump(args: argparse.Namespace) -> int:
    with _open_map(args.id) as m:
        if not m.key_size:
            raise TinyBPFError(f"{m.type_name} maps have no keys to dump", "read ring buffers with an event consumer")
        items = list(m.items())
    if args.json:
        def value_json(v: Any) -> Any:
            return [[f"0x{b:02x}" for b in per_cpu] for per_cpu in v] if m.percpu else [f"0x{b:02x}" for b in v]
        json.dump([{"key": [f"0x{b:02x}" for b in k], "value": value_json(v)} for k, v in items], sys.stdout)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    for k, v in items:
        if m.percpu:
            out.write(f"key:\n{_hex(k)}\n")
            for cpu, per_cpu in enumerate(v):
                out.write(f"value (CPU {cpu:02}): {_hex(per_cpu)}\n")
        else:
            out.write(f"key: {_hex(k)}  value: {_hex(v)}\n")
    out.write(f"Found {len(items)} element{'s' if len(items) != 1 else ''}\n")
    return 0


HANDLERS = {
    ("prog", "list"): prog_list, ("prog", "show"): prog_show, ("prog", "dump"): prog_dump,
    ("map", "list"): map_list, ("map", "show"): map_show, ("map", "dump"): map_dump,
}
