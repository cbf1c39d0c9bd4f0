"""``tinybpf load OBJ PATH`` and ``tinybpf loadall OBJ DIR``: bpftool's ``prog load``/``prog loadall``.

A load keeps what it pins: ``load`` pins the object's first program at PATH, ``loadall`` every program as
DIR/<name>, ``pinmaps DIR`` every map as DIR/<map name>, and ``autoattach`` attaches what the section allows
and pins the link instead of the program (a program that cannot attach is pinned as a program, as bpftool
does). Everything not pinned is released when the command exits. Without PATH, ``load`` only checks that
the object loads (and attaches) and keeps nothing; ``tinybpf run`` holds everything in the foreground.
``tinybpf prog load|loadall ...`` are the same commands under bpftool's spelling.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Optional

from tinybpf.cli.object_cmd import add_object_options, open_object, print_json, program_record, targets
from tinybpf.errors import TinyBPFError


def register(sub: Any) -> None:
    for command, where, text in (
        ("load", "PATH", "load a BPF object; pin its first program (or link) at PATH, as `bpftool prog load`"),
        ("loadall", "DIR", "load a BPF object; pin every program (or link) as DIR/<name>, as `bpftool prog loadall`"),
    ):
        parser = sub.add_parser(command, help=text, description=text)
        add_object_options(parser)
        parser.add_argument("words", nargs="*", metavar=f"{where} [pinmaps DIR] [autoattach]",
                            help="bpftool's arguments after the object")
        parser.set_defaults(handler=run_load, all_programs=command == "loadall", usage_error=parser.error)


class _Plan:
    """What bpftool's trailing words ask for."""

    def __init__(self, words: list[str], command: str) -> None:
        self.path: Optional[str] = None
        self.pinmaps: Optional[str] = None
        self.autoattach = False
        rest = list(words)
        while rest:
            word = rest.pop(0)
            if word == "pinmaps":
                if not rest:
                    raise TinyBPFError(f"{command}: pinmaps needs a directory", "pinmaps /sys/fs/bpf/DIR")
                self.pinmaps = rest.pop(0)
            elif word == "autoattach":
                self.autoattach = True
            elif self.path is None and word not in ("type", "map", "offload_dev", "xdpmeta_dev"):
                self.path = word
            else:
                raise TinyBPFError(f"{command}: unexpected {word!r}",
                                   "the arguments are PATH [pinmaps DIR] [autoattach] (type/map/offload_dev are "
                                   "not supported: the section names the type)")


def run_load(args: argparse.Namespace) -> int:
    command = "loadall" if args.all_programs else "load"
    plan = _Plan(args.words, command)
    if args.all_programs and plan.path is None:
        raise TinyBPFError("loadall needs a directory to pin the programs in", "tinybpf loadall OBJ /sys/fs/bpf/DIR")
    obj = open_object(args)
    try:
        obj.load(args.program, keep_going=plan.path is None)
        records, map_pins = _keep(obj, plan, args) if plan.path is not None else (_check(obj, args), {})
        if args.json:
            print_json({"programs": records, "maps": _map_records(obj, map_pins)}, args)
        else:
            for record in records:
                print(f"{record['name']}\t{record['section']}\t{record['type']}\t{record['status']}")
        if plan.path is None and not obj.errors:
            sys.stderr.write("tinybpf: nothing pinned, so nothing stays loaded: give PATH to keep the program "
                             "(tinybpf load OBJ PATH), or hold it with tinybpf run\n")
    finally:
        obj.close()
    return 1 if obj.errors else 0


def _keep(obj: Any, plan: _Plan, args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Pin as bpftool does; a failure unpins what this command pinned, so it leaves all or nothing."""
    assert plan.path is not None
    where = targets(args)
    pinned: dict[str, str] = {}
    map_pins: dict[str, str] = {}
    try:
        if args.all_programs:
            pinned = obj.pin_programs(plan.path, links=plan.autoattach, **where)
        elif obj.programs:
            first = next(iter(obj.programs))
            pinned = {first: obj.pin_program(first, plan.path, link=plan.autoattach, **where)}
        if plan.pinmaps:
            map_pins = obj.pin_maps(plan.pinmaps)
    except BaseException:
        obj.unpin()
        raise
    records = []
    for name in obj.programs:
        record = program_record(obj, name)
        link = obj.links.get(name)
        record["attached"] = link.target if link is not None else None
        record["pinned"] = pinned.get(name)
        status = "ok"
        if link is not None:
            status += f", attached to {link.target}"
        if name in pinned:
            status += f", {'link' if link is not None else 'program'} pinned at {pinned[name]}"
        record["status"] = status
        records.append(record)
    return records, map_pins


def _check(obj: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Load and try each attachment, keeping nothing: one status per program."""
    records = []
    for name in args.program or obj.spec.programs:
        record = program_record(obj, name)
        record["attached"] = None
        if name in obj.errors:
            record["status"] = f"failed: {obj.errors[name]}"
            record["error"] = str(obj.errors[name])
            if args.verbose and getattr(obj.errors[name], "log", ""):
                sys.stderr.write(obj.errors[name].log + "\n")
        elif obj.auto_attachable(name, **targets(args)):
            try:
                record["attached"] = obj.attach_program(name, **targets(args)).target
                record["status"] = f"ok, attached to {record['attached']}"
            except TinyBPFError as exc:
                record["status"] = f"loaded, attach failed: {exc}"
                record["error"] = str(exc)
        else:
            record["status"] = "ok"
        records.append(record)
    return records


def _map_records(obj: Any, pins: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": spec.name, "key": key, "type": spec.type.name.lower(), "id": m.info.id,
             "pinned": pins.get(key)} for key, m in obj.maps.items() for spec in (obj.spec.maps[key],)]
