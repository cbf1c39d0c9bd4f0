"""``tinybpf features``: what this kernel accepts, found by probing (like ``bpftool feature probe``)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("features", help="probe which program types, map types, helpers and attach kinds work")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--helpers", action="store_true", help="list every helper each program type may call")
    p.set_defaults(handler=features)


def _row(name: str, feature: Any) -> str:
    return f"  {name:<26} {'yes' if feature.available else 'no (' + feature.reason + ')'}"


def features(args: argparse.Namespace) -> int:
    from tinybpf import features as probe
    from tinybpf.kernel.constants import MapType, ProgType
    from tinybpf.kernel.sysinfo import is_root

    if not is_root():
        from tinybpf.errors import NotSupported

        raise NotSupported("feature probing", "needs root (CAP_BPF/CAP_SYS_ADMIN)")
    progs = {t.name.lower(): probe.prog_type(t) for t in ProgType if t != ProgType.UNSPEC}
    maps = {t.name.lower(): probe.map_type(t) for t in MapType if t != MapType.UNSPEC}
    attach = {k: probe.attach_kind(k) for k in probe.ATTACH_KINDS}
    instructions = {"atomics": probe.atomics()}
    helpers = _helpers(progs, ProgType) if args.helpers else {}
    if args.json:
        def entry(f: Any) -> dict[str, Any]:
            return {"available": f.available, "reason": f.reason} if not f.available else {"available": True}
        doc: dict[str, Any] = {
            "program_types": {k: entry(v) for k, v in progs.items()},
            "map_types": {k: entry(v) for k, v in maps.items()},
            "attach_kinds": {k: entry(v) for k, v in attach.items()},
            "instructions": {k: entry(v) for k, v in instructions.items()},
        }
        if helpers:
            doc["helpers"] = helpers
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    out: list[str] = ["Program types:"]
    out += [_row(k, v) for k, v in progs.items()]
    out.append("Map types:")
    out += [_row(k, v) for k, v in maps.items()]
    out.append("Attach kinds:")
    out += [_row(k, v) for k, v in attach.items()]
    out.append("Instructions:")
    out += [_row(k, v) for k, v in instructions.items()]
    for kind, names in helpers.items():
        out.append(f"Helpers for {kind} programs ({len(names)}):")
        out += [f"  {n}" for n in names]
    print("\n".join(out))
    return 0


def _helpers(progs: dict[str, Any], prog_types: Any) -> dict[str, list[str]]:
    from tinybpf import features as probe
    from tinybpf.asm import helper_name

    return {
        name: [helper_name(h) for h in probe.helpers_of(prog_types[name.upper()])]
        for name, f in progs.items() if f.available
    }
