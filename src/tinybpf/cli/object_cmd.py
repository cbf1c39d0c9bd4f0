"""``tinybpf run``: load a clang-built BPF object like libbpf, attach by section name, hold it until stopped.

Also what ``tinybpf load`` shares with it: the object options, the per-program status and map printing.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any, Optional

from tinybpf.errors import TinyBPFError


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="load, attach, hold until Ctrl-C, SIGTERM or --duration, then print the maps")
    add_object_options(run)
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    run.add_argument("--interval", type=float, metavar="SECONDS", help="also print the maps this often")
    run.set_defaults(handler=run_run)


def add_object_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("object", help="the .o file clang built (clang -g -O2 -target bpf -c prog.bpf.c)")
    parser.add_argument("--program", action="append", metavar="NAME", help="load only this program (repeatable)")
    parser.add_argument("--interface", "-i", metavar="IFACE", help="attach xdp, tc and socket programs here")
    parser.add_argument("--cgroup", metavar="PATH", help="attach cgroup programs to this cgroup directory")
    parser.add_argument("--sample-period", type=int, metavar="N",
                        help="attach perf_event programs to the CPU clock of every CPU, one sample per N ns")
    parser.add_argument("--pin-root", metavar="DIR", default="/sys/fs/bpf",
                        help="where LIBBPF_PIN_BY_NAME maps are pinned (default /sys/fs/bpf)")
    parser.add_argument("--json", "-j", action="store_true", help="print JSON")
    parser.add_argument("--pretty", "-p", action="store_true", help="print indented JSON (implies --json)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the full verifier log on failure")


def open_object(args: argparse.Namespace) -> Any:
    from tinybpf.kernel.sysinfo import can_load_bpf
    from tinybpf.objects import Object

    if not can_load_bpf():
        raise TinyBPFError(f"tinybpf {args.command} needs root or CAP_BPF to load {args.object}",
                           f"run it as root: sudo tinybpf {args.command} {args.object}")
    if args.pretty:
        args.json = True
    return Object.open(args.object, pin_root=args.pin_root)


def targets(args: argparse.Namespace) -> dict[str, Any]:
    """The attach targets the command line gives, as ``Object.attach`` takes them."""
    return {"interface": args.interface, "cgroup": args.cgroup, "sample_period": args.sample_period}


def program_record(obj: Any, name: str) -> dict[str, Any]:
    """One program's identity for the status line and JSON: bpftool's names where it has one."""
    from tinybpf.kernel.constants import ProgType

    spec = obj.spec.programs[name]
    record: dict[str, Any] = {
        "name": name, "section": spec.section,
        "type": spec.type.name.lower() if isinstance(spec.type, ProgType) and spec.type else "unknown",
    }
    program = obj.programs.get(name)
    if program is not None:
        info = program.info()
        record.update(id=info.id, tag=info.tag)
    return record


def print_json(value: Any, args: argparse.Namespace) -> None:
    print(json.dumps(value, indent=4 if args.pretty else None, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def run_run(args: argparse.Namespace) -> int:
    obj = open_object(args)
    stop = {"now": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        obj.load(args.program)
        made = obj.attach(**targets(args))
        records = []
        for name in obj.programs:
            record = program_record(obj, name)
            link = made.get(name)
            record["attached"] = link.target if link is not None else None
            records.append(record)
            if args.json:
                continue
            if link is not None:
                print(f"{name}: attached to {link.target}")
            else:
                print(f"{name}: loaded, not attached ({obj.spec.programs[name].section} needs an explicit target)")
        for name in made.keys() - obj.programs.keys():  # struct_ops maps, registered as a whole
            records.append({"name": name, "section": obj.spec.maps[name].section, "type": "struct_ops",
                            "attached": made[name].target})
            if not args.json:
                print(f"{name}: registered as {made[name].target}")
        for link in made.values():
            if hasattr(link, "read_output"):  # an iter/ program: one pass over the iterator is its output
                sys.stdout.write(link.read_output())
        sys.stdout.flush()
        _wait(obj, args, stop)
        if args.json:
            print_json({"programs": records, **map_contents(obj)}, args)
        else:
            print_maps(obj)
    finally:
        signal.signal(signal.SIGTERM, previous)
        obj.close()
    return 0


def _wait(obj: Any, args: argparse.Namespace, stop: dict[str, bool]) -> None:
    deadline: Optional[float] = time.monotonic() + args.duration if args.duration else None
    next_print = time.monotonic() + args.interval if args.interval else None
    try:
        while not stop["now"]:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if next_print is not None and now >= next_print:
                print_maps(obj)
                next_print = now + (args.interval or 1)
            time.sleep(0.1)
    except KeyboardInterrupt:
        return


_UNREADABLE = {"ringbuf", "user_ringbuf", "perf_event_array", "prog_array", "array_of_maps", "hash_of_maps",
               "stack_trace", "queue", "stack", "bloom_filter", "cgroup_array", "sockmap", "sockhash", "devmap",
               "cpumap", "xskmap", "devmap_hash", "struct_ops", "sk_storage", "task_storage", "inode_storage",
               "cgrp_storage", "arena"}


def map_contents(obj: Any) -> dict[str, Any]:
    """Global variables by section and the entries of every readable map, decoded through the object's BTF.

    Zero-valued entries are left out (an array map's untouched slots), as is every map whose contents a
    lookup cannot read (ring buffers, program arrays, storage maps...).
    """
    globals_: dict[str, dict[str, Any]] = {}
    maps: dict[str, list[dict[str, Any]]] = {}
    for name, m in obj.maps.items():
        if name in obj.spec.datasecs:
            globals_[name] = obj.section(name).as_dict()
        elif m.type_name not in _UNREADABLE:
            maps[name] = [{"key": key, "value": value} for key, value in obj.map_entries(name)
                          if not _is_zero(value)]
    return {"globals": globals_, "maps": maps}


def _is_zero(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_is_zero(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_zero(v) for v in value)
    return value in (0, "", b"", False)


def print_maps(obj: Any) -> None:
    """Every global variable and readable map entry, one line each: ``.bss.hits = 3``, ``counts[1] = 980``."""
    contents = map_contents(obj)
    for section, variables in contents["globals"].items():
        for variable, value in variables.items():
            print(f"{section}.{variable} = {_text(value)}")
    for name, entries in contents["maps"].items():
        if not entries:
            print(f"{name}: empty")
        for entry in entries:
            print(f"{name}[{_text(entry['key'])}] = {_text(entry['value'])}")
    sys.stdout.flush()


def _text(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, default=_json_default)


__all__ = ["add_object_options", "map_contents", "open_object", "print_json", "print_maps",
           "program_record", "register", "targets"]
