"""``tinybpf load`` and ``tinybpf run``: load a clang-built BPF object like libbpf, attach by section name."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any, Optional

from tinybpf.errors import TinyBPFError


def register(sub: Any) -> None:
    load = sub.add_parser("load", help="load a BPF object file (and attach by section name)")
    _common(load)
    load.add_argument("--no-attach", action="store_true", help="load only, attach nothing")
    load.add_argument("--pin-maps", metavar="DIR", help="pin every map as DIR/<map name> (kept after exit)")
    load.add_argument("--pin-programs", metavar="DIR", help="pin every program as DIR/<program name>")
    load.set_defaults(handler=run_load)
    run = sub.add_parser("run", help="load, attach, print the maps on exit (Ctrl-C, SIGTERM or --duration)")
    _common(run)
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    run.add_argument("--interval", type=float, metavar="SECONDS", help="also print the maps this often")
    run.set_defaults(handler=run_run)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("object", help="the .o file clang built (clang -g -O2 -target bpf -c prog.bpf.c)")
    parser.add_argument("--program", "-p", action="append", metavar="NAME", help="load only this program "
                        "(repeatable)")
    parser.add_argument("--interface", "-i", metavar="IFACE", help="attach xdp, tc and socket programs here")
    parser.add_argument("--cgroup", metavar="PATH", help="attach cgroup programs to this cgroup directory")
    parser.add_argument("--pin-root", metavar="DIR", default="/sys/fs/bpf",
                        help="where LIBBPF_PIN_BY_NAME maps are pinned (default /sys/fs/bpf)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the full verifier log on failure")


def _open(args: argparse.Namespace) -> Any:
    from tinybpf.kernel.sysinfo import can_load_bpf
    from tinybpf.objects import Object

    if not can_load_bpf():
        raise TinyBPFError(f"tinybpf {args.command} needs root or CAP_BPF to load {args.object}",
                           f"run it as root: sudo tinybpf {args.command} {args.object}")

    return Object.open(args.object, pin_root=args.pin_root)


def _program_type(spec: Any) -> str:
    from tinybpf.kernel.constants import ProgType

    return spec.type.name.lower() if isinstance(spec.type, ProgType) and spec.type else "unknown"


def run_load(args: argparse.Namespace) -> int:
    obj = _open(args)
    failed = False
    try:
        obj.load(args.program, keep_going=True)
        for name in args.program or obj.spec.programs:
            spec = obj.spec.programs[name]
            status = _load_status(obj, name, args)
            failed = failed or not status.startswith("ok")
            print(f"{name}\t{spec.section}\t{_program_type(spec)}\t{status}")
            if args.verbose and name in obj.errors:
                log = getattr(obj.errors[name], "log", "")
                if log:
                    sys.stderr.write(log + "\n")
        _pin(obj, args)
    finally:
        obj.close()
    return 1 if failed else 0


def _load_status(obj: Any, name: str, args: argparse.Namespace) -> str:
    if name in obj.errors:
        return f"failed: {obj.errors[name]}"
    if args.no_attach or not obj.auto_attachable(name, interface=args.interface, cgroup=args.cgroup):
        return "ok"
    try:
        link = obj.attach_program(name, interface=args.interface, cgroup=args.cgroup)
    except TinyBPFError as exc:
        return f"loaded, attach failed: {exc}"
    return f"ok, attached to {link.target}"


def _pin(obj: Any, args: argparse.Namespace) -> None:
    for directory, objects in ((args.pin_maps, obj.maps), (args.pin_programs, obj.programs)):
        if not directory:
            continue
        os.makedirs(directory, exist_ok=True)
        for name, item in objects.items():
            path = os.path.join(directory, name.lstrip(".").replace("/", "_") or "map")
            if name in obj.reused_maps and objects is obj.maps:
                continue
            item.pin(path)
            print(f"pinned {name} at {path}")


def run_run(args: argparse.Namespace) -> int:
    obj = _open(args)
    stop = {"now": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        obj.load(args.program)
        skipped = [name for name in obj.programs
                   if not obj.auto_attachable(name, interface=args.interface, cgroup=args.cgroup)]
        for name, link in obj.attach(interface=args.interface, cgroup=args.cgroup).items():
            print(f"{name}: attached to {link.target}")
        for name in skipped:
            print(f"{name}: loaded, not attached ({obj.spec.programs[name].section} needs an explicit target)")
        sys.stdout.flush()
        _wait(obj, args, stop)
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


def print_maps(obj: Any) -> None:
    """Every readable map's entries and every global variable, one line each."""
    for name, m in obj.maps.items():
        if name in obj.spec.datasecs:
            data = obj.section(name)
            for variable in data.variables:
                print(f"{name}.{variable} = {getattr(data, variable)!r}")
            continue
        if m.type_name in _UNREADABLE:
            continue
        entries = {key: value for key, value in m.items() if value != 0 and value != [0] * m.ncpus}
        print(f"{name}: {entries}")
    sys.stdout.flush()
