"""``tinybpf prog|map|link``: list, show, dump, change and pin what is loaded, in bpftool's words and formats.

``prog show id 3``, ``prog dump xlated name my_prog opcodes``, ``map lookup id 5 key 1 0 0 0``,
``link detach id 7``; ``-j``/``-p`` anywhere on the line give bpftool's JSON, field for field.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable, Optional

from tinybpf.cli.bpftool_words import Words, emit_json
from tinybpf.errors import BPFError, TinyBPFError

ENOENT = 2
NOUNS = {"prog": "inspect loaded programs", "map": "inspect and change maps", "link": "inspect and detach links"}


def register(sub: Any) -> None:
    for noun, about in NOUNS.items():
        parser = sub.add_parser(noun, help=about, add_help=False)
        parser.add_argument("words", nargs=argparse.REMAINDER, help="bpftool's words: show id N, dump xlated ...")
        parser.set_defaults(handler=HANDLERS[noun], noun=noun)


def _words(args: argparse.Namespace) -> Words:
    words = [w for w in args.words if w not in ("--json",)]
    if len(words) != len(args.words):
        args.json = True
    return Words(args.noun, words)


# ---- object references: id N | name NAME | tag TAG | pinned PATH ----

def _open(kind: str, words: Words) -> list[Any]:
    """The objects a reference names (several for a name or tag shared by many)."""
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import Cmd

    get = {"prog": Cmd.PROG_GET_FD_BY_ID, "map": Cmd.MAP_GET_FD_BY_ID, "link": Cmd.LINK_GET_FD_BY_ID}[kind]
    word = words.peek()
    if word is not None and word.lstrip("-").isdigit():  # tinybpf's short form: `prog show 3`
        return [_by_id(kind, get, words.number(f"{kind} id"))]
    how = words.take(f"id, name{', tag' if kind == 'prog' else ''} or pinned")
    if how == "id":
        return [_by_id(kind, get, words.number(f"{kind} id"))]
    if how == "pinned":
        from tinybpf.kernel.fd import FD

        path = words.take("a pinned path")
        try:
            return [FD(commands.obj_get(path))]
        except BPFError as exc:
            raise TinyBPFError(f"cannot open {path}: {exc}", "pinned paths live in a bpffs, see `ls /sys/fs/bpf`") \
                from None
    if how in ("name", "tag") and kind != "link" and (how == "name" or kind == "prog"):
        wanted = words.take(f"a {how}")
        found = [fd for fd in _all(kind) if wanted in _names_of(kind, fd, how)]
        if not found:
            raise words.fail(f"no {kind} with {how} {wanted!r}", f"see `tinybpf {kind} list`")
        return found
    raise words.fail(f"expected id, name or pinned, got {how!r}")


def _by_id(kind: str, cmd: int, obj_id: int) -> Any:
    from tinybpf.kernel import commands
    from tinybpf.kernel.fd import FD

    try:
        return FD(commands.get_fd_by_id(cmd, obj_id))
    except BPFError as exc:
        if exc.errno == ENOENT:
            noun = {"prog": "program"}.get(kind, kind)
            raise TinyBPFError(f"no {noun} with id {obj_id}", f"see `tinybpf {kind} list`") from None
        raise


def _all(kind: str) -> Iterator[Any]:
    """Every object of a kind, skipping those that vanish between the listing and the open."""
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import Cmd
    from tinybpf.kernel.fd import FD

    next_id, get = {"prog": (Cmd.PROG_GET_NEXT_ID, Cmd.PROG_GET_FD_BY_ID),
                    "map": (Cmd.MAP_GET_NEXT_ID, Cmd.MAP_GET_FD_BY_ID),
                    "link": (Cmd.LINK_GET_NEXT_ID, Cmd.LINK_GET_FD_BY_ID)}[kind]
    for obj_id in commands.list_ids(next_id):
        try:
            yield FD(commands.get_fd_by_id(get, obj_id))
        except BPFError as exc:
            if exc.errno != ENOENT:
                raise


def _names_of(kind: str, fd: Any, how: str) -> set[str]:
    if kind == "map":
        from tinybpf.maps import map_info

        return {map_info(fd.fd).name}
    from tinybpf.programs import program_info

    info = program_info(fd.fd)
    if how == "tag":
        return {info.tag}
    return {info.name, program_full_name(fd.fd, info.name)}


def program_full_name(fd: int, short: str) -> str:
    from tinybpf.kernel.object_info import program_arrays
    from tinybpf.program_dump import full_name, program_btf

    if len(short) < 15:  # the kernel keeps 15 characters: a shorter name is already whole
        return short
    arrays = program_arrays(fd, jited=False)
    return full_name(short, arrays, program_btf(arrays.btf_id))


# ---- records, as bpftool's JSON ----

def _loaded_at(load_time_ns: int) -> int:
    """bpftool's epoch seconds of a boot-relative load time."""
    real, boot = time.clock_gettime_ns(time.CLOCK_REALTIME), time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    return real // 10**9 - boot // 10**9 + (real % 10**9 - boot % 10**9 + load_time_ns) // 10**9


def prog_record(fd: Any) -> dict[str, Any]:
    from tinybpf.kernel import procfs
    from tinybpf.kernel.attrs import PROG_INFO
    from tinybpf.kernel.commands import read_info
    from tinybpf.programs import program_info

    info = program_info(fd.fd)
    misses = int(read_info(fd.fd, PROG_INFO)["recursion_misses"])  # type: ignore[call-overload]
    r: dict[str, Any] = {"id": info.id, "type": info.type_name}
    if info.name:
        r["name"] = program_full_name(fd.fd, info.name)
    r["tag"] = info.tag
    r["gpl_compatible"] = info.gpl_compatible
    if info.run_time_ns:
        r["run_time_ns"], r["run_cnt"] = info.run_time_ns, info.run_cnt
    if misses:
        r["recursion_misses"] = misses
    if info.load_time:
        r["loaded_at"], r["uid"] = _loaded_at(info.load_time), info.uid
    r["bytes_xlated"] = info.xlated_len
    r["jited"] = bool(info.jited_len)
    if info.jited_len:
        r["bytes_jited"] = info.jited_len
    memlock = procfs.fdinfo(fd.fd).get("memlock")
    if memlock is not None:
        r["bytes_memlock"] = int(memlock)
    if info.map_ids:
        r["map_ids"] = list(info.map_ids)
    if info.btf_id:
        r["btf_id"] = info.btf_id
    return r


def _date(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def prog_text(r: dict[str, Any]) -> str:
    head = f"{r['id']}: {r['type']}  " + (f"name {r['name']}  " if "name" in r else "") + f"tag {r['tag']}"
    head += "  gpl" if r["gpl_compatible"] else ""
    if "run_time_ns" in r:
        head += f" run_time_ns {r['run_time_ns']} run_cnt {r['run_cnt']}"
    if "recursion_misses" in r:
        head += f" recursion_misses {r['recursion_misses']}"
    lines = [head]
    if "loaded_at" in r:
        lines.append(f"\tloaded_at {_date(r['loaded_at'])}  uid {r['uid']}")
    body = f"\txlated {r['bytes_xlated']}B" + (f"  jited {r['bytes_jited']}B" if r["jited"] else "  not jited")
    if "bytes_memlock" in r:
        body += f"  memlock {r['bytes_memlock']}B"
    if "map_ids" in r:
        body += "  map_ids " + ",".join(str(i) for i in r["map_ids"])
    lines.append(body)
    if "btf_id" in r:
        lines.append(f"\tbtf_id {r['btf_id']}")
    return "\n".join(lines)


def map_record(fd: Any) -> dict[str, Any]:
    from tinybpf.kernel import procfs
    from tinybpf.kernel.constants import MapType, ProgType
    from tinybpf.maps import map_info

    info = map_info(fd.fd)
    fields = procfs.fdinfo(fd.fd)
    r: dict[str, Any] = {"id": info.id, "type": info.type_name}
    if info.name:
        r["name"] = info.name
    r.update(flags=info.flags, bytes_key=info.key_size, bytes_value=info.value_size, max_entries=info.max_entries)
    if "memlock" in fields:
        r["bytes_memlock"] = int(fields["memlock"])
    if info.type == MapType.PROG_ARRAY:
        if "owner_prog_type" in fields:
            kind = int(fields["owner_prog_type"])
            r["owner_prog_type"] = ProgType(kind).name.lower() if kind in ProgType._value2member_map_ else kind
        if "owner_jited" in fields:
            r["owner_jited"] = bool(int(fields["owner_jited"]))
    r["frozen"] = int(fields.get("frozen", "0"))
    if info.btf_id:
        r["btf_id"] = info.btf_id
    return r


def map_text(r: dict[str, Any]) -> str:
    head = f"{r['id']}: {r['type']}  " + (f"name {r['name']}  " if "name" in r else "") + f"flags 0x{r['flags']:x}"
    body = f"\tkey {r['bytes_key']}B  value {r['bytes_value']}B  max_entries {r['max_entries']}"
    if "bytes_memlock" in r:
        body += f"  memlock {r['bytes_memlock']}B"
    if "owner_prog_type" in r or "owner_jited" in r:
        body += "\n\t" + (f"owner_prog_type {r['owner_prog_type']}  " if "owner_prog_type" in r else "")
        if "owner_jited" in r:
            body += f"owner{'' if r['owner_jited'] else ' not'} jited"
    lines = [head, body]
    tail = []
    if "btf_id" in r:
        tail.append(f"btf_id {r['btf_id']}")
    if r["frozen"]:
        tail.append("frozen")
    if tail:
        lines.append("\t" + "  ".join(tail))
    return "\n".join(lines)


_LINK_TYPES = {1: "raw_tracepoint", 2: "tracing", 3: "cgroup", 4: "iter", 5: "netns", 6: "xdp", 7: "perf_event",
               8: "kprobe_multi", 9: "struct_ops"}  # the link types bpftool names; newer ones print as numbers


def _attach_type(value: int) -> Any:
    from tinybpf.kernel.constants import AttachType

    return AttachType(value).name.lower() if value in AttachType._value2member_map_ else value


def link_record(fd: Any) -> dict[str, Any]:
    from tinybpf.kernel.object_info import link_record as read

    link = read(fd.fd)
    r: dict[str, Any] = {"id": link.id, "type": _LINK_TYPES.get(link.type, link.type), "prog_id": link.prog_id}
    if link.type == 1:
        r["tp_name"] = link.tp_name
    elif link.type == 2:
        from tinybpf.programs import Program

        with Program.from_id(link.prog_id) as prog:
            r["prog_type"] = prog.info().type_name
        r["attach_type"] = _attach_type(link.u32(0))
    elif link.type == 3:
        r["cgroup_id"], r["attach_type"] = link.u64(0), _attach_type(link.u32(2))
    elif link.type == 5:
        r["netns_ino"], r["attach_type"] = link.u32(0), _attach_type(link.u32(1))
    return r


def link_text(r: dict[str, Any]) -> str:
    kind = r["type"] if isinstance(r["type"], str) else f"type {r['type']}"
    text = f"{r['id']}: {kind}  prog {r['prog_id']}  "
    if "tp_name" in r:
        text += f"\n\ttp '{r['tp_name']}'  "
    if "prog_type" in r:
        text += f"\n\tprog_type {r['prog_type']}  attach_type {r['attach_type']}  "
    if "cgroup_id" in r:
        text += f"\n\tcgroup_id {r['cgroup_id']}  attach_type {r['attach_type']}  "
    if "netns_ino" in r:
        text += f"\n\tnetns_ino {r['netns_ino']}  attach_type {r['attach_type']}  "
    return text


RECORDS: dict[str, tuple[Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
    "prog": (prog_record, prog_text), "map": (map_record, map_text), "link": (link_record, link_text),
}


def _show(kind: str, args: argparse.Namespace, words: Words) -> int:
    record, text = RECORDS[kind]
    listing = not words
    fds = list(_all(kind)) if listing else _open(kind, words)
    words.done()
    records = []
    for fd in fds:
        with fd:
            try:
                records.append(record(fd))
            except BPFError as exc:  # gone while we looked
                if exc.errno != ENOENT:
                    raise
    if args.json:
        emit_json(records if listing or len(records) > 1 else records[0], args.pretty)
    else:
        for r in records:
            print(text(r))
    return 0


# ---- prog ----

PROG_USAGE = """
Usage: tinybpf prog { show | list } [PROG]
       tinybpf prog dump xlated PROG [{ opcodes | linum }]
       tinybpf prog dump jited  PROG [opcodes]
       tinybpf prog pin   PROG FILE
       tinybpf prog help

       PROG := { id PROG_ID | pinned FILE | tag PROG_TAG | name PROG_NAME }
       OPTIONS := { {-j|--json} [{-p|--pretty}] }
"""


def prog_main(args: argparse.Namespace) -> int:
    words = _words(args)
    verb = words.verb(PROG_USAGE)
    if verb is None:
        return 0
    if verb in ("show", "list", "ls"):
        return _show("prog", args, words)
    if verb == "dump":
        return _prog_dump(args, words)
    if verb == "pin":
        return _pin("prog", words)
    raise words.fail(f"unknown verb {verb!r}", "prog verbs: show, list, dump xlated|jited, pin")


def _prog_dump(args: argparse.Namespace, words: Words) -> int:
    view = words.accept("xlated", "jited") or "xlated"
    (fd, *more) = _open("prog", words)
    for extra in more:
        extra.close()
    options = set()
    while words:
        option = words.take("an option")
        if option not in ("opcodes", "linum", "visual", "file"):
            raise words.fail(f"unknown dump option {option!r}", "options: opcodes, linum")
        if option in ("visual", "file"):
            raise words.fail(f"`{option}` is not supported", "dump to the terminal, with opcodes or linum")
        options.add(option)
    with fd:
        if view == "jited":
            return _dump_jited(fd.fd, args, "opcodes" in options)
        return _dump_xlated(fd.fd, args, "opcodes" in options, "linum" in options)


def _dump_xlated(fd: int, args: argparse.Namespace, opcodes: bool, linum: bool) -> int:
    from tinybpf.program_dump import xlated_rows

    rows = xlated_rows(fd)
    if args.json:
        emit_json([_xlated_json(row, opcodes, linum) for row in rows], args.pretty)
        return 0
    out: list[str] = []
    for row in rows:
        if row.proto:
            out.append(f"{row.proto}:")
        if row.source is not None:
            where = f" [file:{row.source.file} line_num:{row.source.line} line_col:{row.source.column}]" \
                if linum else ""
            out.append(f"; {row.source.text}{where}")
        out.append(f"{row.pc:4d}: {row.text}")
        if opcodes:
            out.append("       " + " ".join(f"{b:02x}" for b in row.raw))
    sys.stdout.write("".join(line + "\n" for line in out))
    return 0


def _xlated_json(row: Any, opcodes: bool, linum: bool) -> dict[str, Any]:
    r: dict[str, Any] = {}
    if row.proto:
        r["proto"] = row.proto
    if row.source is not None:
        r["src"] = row.source.text
        if linum:
            if row.source.file:
                r["file"] = row.source.file
            if row.source.line:
                r["line_num"] = row.source.line
            if row.source.column:
                r["line_col"] = row.source.column
    r["disasm"] = row.text
    if opcodes:
        raw = row.raw
        r["opcodes"] = {"code": f"0x{raw[0]:02x}", "src_reg": f"0x{raw[1] >> 4:x}", "dst_reg": f"0x{raw[1] & 15:x}",
                        "off": [f"0x{b:02x}" for b in raw[2:4]],
                        "imm": [f"0x{b:02x}" for b in raw[4:16]]}
    return r


def _dump_jited(fd: int, args: argparse.Namespace, opcodes: bool) -> int:
    from tinybpf.program_dump import jited_functions

    functions = jited_functions(fd)
    if not functions:
        raise TinyBPFError("the program is not JIT-ed", "see `sysctl net.core.bpf_jit_enable`")
    if args.json:
        emit_json([{"name": f.name, "address": f"0x{f.address:x}", "opcodes": [f"0x{b:02x}" for b in f.code]}
                   for f in functions], args.pretty)
        return 0
    text = None if opcodes else _host_disassembly(functions)
    for i, function in enumerate(functions):
        if len(functions) > 1 or function.name:
            print(f"{function.name or f'0x{function.address:x}'}:")
        if text is not None:
            sys.stdout.write(text[i])
            continue
        for start in range(0, len(function.code), 16):
            chunk = function.code[start:start + 16]
            print(f"{start:4x}:\t" + " ".join(f"{b:02x}" for b in chunk))
    return 0


def _host_disassembly(functions: list[Any]) -> Optional[list[str]]:
    """The machine code as text through binutils' objdump when it is installed (no native library needed)."""
    import os
    import platform
    import shutil
    import subprocess
    import tempfile

    arch = {"x86_64": "i386:x86-64", "aarch64": "aarch64"}.get(platform.machine())
    objdump = shutil.which("objdump")
    if not arch or not objdump:
        return None
    texts = []
    for function in functions:
        with tempfile.NamedTemporaryFile(prefix="tinybpf-jit-") as f:
            f.write(function.code)
            f.flush()
            proc = subprocess.run([objdump, "-D", "-b", "binary", "-m", arch, "--no-show-raw-insn", f.name],
                                  capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
        if proc.returncode:
            return None
        lines = proc.stdout.splitlines()
        body = [line for line in lines[next((i for i, s in enumerate(lines) if s.endswith(">:")), 0) + 1:] if line]
        texts.append("".join(line.rstrip() + "\n" for line in body))
    return texts


def _pin(kind: str, words: Words) -> int:
    from tinybpf.kernel import commands

    (fd, *more) = _open(kind, words)
    for extra in more:
        extra.close()
    path = words.take("a path in a bpffs")
    words.done()
    with fd:
        commands.obj_pin(fd.fd, path)
    return 0


# ---- map ----

MAP_USAGE = """
Usage: tinybpf map { show | list } [MAP]
       tinybpf map dump    MAP
       tinybpf map lookup  MAP key DATA
       tinybpf map getnext MAP key DATA
       tinybpf map update  MAP key DATA value VALUE [UPDATE_FLAGS]
       tinybpf map delete  MAP key DATA
       tinybpf map pin     MAP FILE
       tinybpf map help

       MAP := { id MAP_ID | pinned FILE | name MAP_NAME }
       DATA := { [hex] BYTES }
       UPDATE_FLAGS := { any | exist | noexist }
       OPTIONS := { {-j|--json} [{-p|--pretty}] }
"""


def map_main(args: argparse.Namespace) -> int:
    words = _words(args)
    verb = words.verb(MAP_USAGE)
    if verb is None:
        return 0
    if verb in ("show", "list", "ls"):
        return _show("map", args, words)
    if verb == "pin":
        return _pin("map", words)
    if verb in ("dump", "lookup", "update", "delete", "getnext"):
        return _map_elements(verb, args, words)
    raise words.fail(f"unknown verb {verb!r}", "map verbs: show, list, dump, lookup, update, delete, pin")


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def _map_elements(verb: str, args: argparse.Namespace, words: Words) -> int:
    import os

    from tinybpf.codecs import BytesCodec
    from tinybpf.maps import Map

    (fd, *more) = _open("map", words)
    for extra in more:
        extra.close()
    with fd:
        raw = Map.from_fd(os.dup(fd.fd))
    m = Map(raw._fd, raw.info, BytesCodec(raw.key_size) if raw.key_size else None,
            BytesCodec(raw.value_size) if raw.value_size else None)
    with m:
        if verb == "dump":
            words.done()
            return _map_dump(m, args)
        if not m.key_size:
            raise TinyBPFError(f"{m.type_name} maps have no keys", "use push/pop through the Python API")
        if words.take("key") != "key":
            raise words.fail("expected `key`")
        key = words.hex_bytes("key", m.key_size, stop=("value",))
        if verb == "delete":
            words.done()
            m.delete(key)
            return 0
        if verb == "getnext":
            words.done()
            keys = list(m.raw_keys())
            later = keys[keys.index(key) + 1:] if key in keys else keys[:1]
            if not later:
                raise TinyBPFError("no next key", "this key is the last one")
            if args.json:
                emit_json({"key": [f"0x{b:02x}" for b in key], "next_key": [f"0x{b:02x}" for b in later[0]]},
                          args.pretty)
            else:
                print(f"key:\n{_hex(key)}\nnext key:\n{_hex(later[0])}")
            return 0
        if verb == "update":
            if words.take("value") != "value":
                raise words.fail("expected `value`")
            value = words.hex_bytes("value", m.value_size * (m.ncpus if m.percpu else 1), stop=("any", "exist"))
            flag = {"any": 0, "noexist": 1, "exist": 2}.get(words.accept("any", "noexist", "exist") or "any", 0)
            words.done()
            if m.percpu:
                size = m.value_size
                m.update(key, [value[i:i + size] for i in range(0, len(value), size)], flag)
            else:
                m.update(key, value, flag)
            if args.json:
                emit_json(None, args.pretty)
            return 0
        words.done()
        try:
            value = m.lookup(key)
        except KeyError:
            raise TinyBPFError(f"key {_hex(key)} not found in map {m.info.id}", "see `tinybpf map dump`") from None
        _print_elements(m, [(key, value)], args, single=True)
    return 0


def _map_dump(m: Any, args: argparse.Namespace) -> int:
    if not m.key_size:
        raise TinyBPFError(f"{m.type_name} maps have no keys to dump", "read ring buffers with an event consumer")
    _print_elements(m, list(m.items()), args)
    return 0


def _map_types(m: Any) -> tuple[Any, int, int]:
    """(BTF, key type id, value type id) of a map created with BTF, (None, 0, 0) otherwise."""
    from tinybpf.kernel.attrs import MAP_INFO
    from tinybpf.kernel.commands import read_info
    from tinybpf.program_dump import program_btf

    raw = read_info(m.fd, MAP_INFO)
    value_type = int(raw["btf_value_type_id"])  # type: ignore[call-overload]
    btf = program_btf(m.info.btf_id) if value_type else None
    return btf, int(raw["btf_key_type_id"]) if btf else 0, value_type  # type: ignore[call-overload]


def _formatted(m: Any, types: tuple[Any, int, int], key: bytes, value: Any, plain: bool) -> dict[str, Any]:
    """One element as bpftool's BTF dumper shows it: the key (when typed) and the value or per-CPU values."""
    from tinybpf.btf.value_dump import dump_value

    btf, key_type, value_type = types
    r: dict[str, Any] = {}
    if key_type:
        r["key"] = dump_value(btf, key_type, key, plain)
    if m.percpu:
        r["values"] = [{"cpu": cpu, "value": dump_value(btf, value_type, v, plain)} for cpu, v in enumerate(value)]
    else:
        r["value"] = dump_value(btf, value_type, value, plain)
    return r


def _print_elements(m: Any, items: list[tuple[bytes, Any]], args: argparse.Namespace, single: bool = False) -> None:
    from tinybpf.cli.bpftool_words import pretty_text

    types = _map_types(m)
    if args.json:
        def value_json(v: Any) -> Any:
            if m.percpu:
                return [{"cpu": cpu, "value": [f"0x{b:02x}" for b in per_cpu]} for cpu, per_cpu in enumerate(v)]
            return [f"0x{b:02x}" for b in v]
        key = "values" if m.percpu else "value"
        docs = []
        for k, v in items:
            doc = {"key": [f"0x{b:02x}" for b in k], key: value_json(v)}
            if types[0] is not None:
                doc["formatted"] = _formatted(m, types, k, v, plain=False)
            docs.append(doc)
        emit_json(docs[0] if single else docs, args.pretty)
        return
    out = sys.stdout
    if types[0] is not None:
        formatted = [_formatted(m, types, k, v, plain=True) for k, v in items]
        out.write(pretty_text(formatted[0] if single else formatted) + "\n")
        return
    for k, v in items:
        if m.percpu:
            out.write(f"key:\n{_hex(k)}\n")
            for cpu, per_cpu in enumerate(v):
                out.write(f"value (CPU {cpu:02}): {_hex(per_cpu)}\n")
        else:
            out.write(f"key: {_hex(k)}  value: {_hex(v)}\n")
    if not single:
        out.write(f"Found {len(items)} element{'s' if len(items) != 1 else ''}\n")


# ---- link ----

LINK_USAGE = """
Usage: tinybpf link { show | list } [LINK]
       tinybpf link pin    LINK FILE
       tinybpf link detach LINK
       tinybpf link help

       LINK := { id LINK_ID | pinned FILE }
       OPTIONS := { {-j|--json} [{-p|--pretty}] }
"""


def link_main(args: argparse.Namespace) -> int:
    words = _words(args)
    verb = words.verb(LINK_USAGE)
    if verb is None:
        return 0
    if verb in ("show", "list", "ls"):
        return _show("link", args, words)
    if verb == "pin":
        return _pin("link", words)
    if verb == "detach":
        from tinybpf.kernel import commands

        (fd,) = _open("link", words)
        words.done()
        with fd:
            commands.link_detach(fd.fd)
        return 0
    raise words.fail(f"unknown verb {verb!r}", "link verbs: show, list, detach, pin")


HANDLERS = {"prog": prog_main, "map": map_main, "link": link_main}
