"""Where programs are attached, in bpftool's words and formats: ``perf list`` (perf events and raw
tracepoints held by processes), ``cgroup tree`` (programs on every cgroup), ``struct_ops list``.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from tinybpf.cli.bpftool_words import Words, emit_json
from tinybpf.errors import BPFError, TinyBPFError

NOUNS = {"net": "programs on network devices: XDP, tc and tcx, flow dissector", "perf": "perf events and raw tracepoints with programs, per process",
         "cgroup": "programs attached to cgroups (cgroup tree)", "struct_ops": "struct_ops maps"}
_FD_TYPES = {0: "raw_tracepoint", 1: "tracepoint", 2: "kprobe", 3: "kretprobe", 4: "uprobe", 5: "uretprobe"}
_F_ALLOW_OVERRIDE, _F_ALLOW_MULTI, _F_QUERY_EFFECTIVE = 1, 2, 1
EINVAL = 22


def register(sub: Any) -> None:
    for noun, about in NOUNS.items():
        parser = sub.add_parser(noun, help=about, add_help=False)
        parser.add_argument("words", nargs=argparse.REMAINDER, help="bpftool's words: list, tree [PATH] ...")
        parser.set_defaults(handler=HANDLERS[noun], noun=noun)


# ---- net list ----

def net_main(args: argparse.Namespace) -> int:
    from tinybpf.kernel import netlink

    words = Words("net", list(args.words) or ["list"])
    verb = words.verb("Usage: tinybpf net { show | list } [dev NAME]\n       tinybpf net help")
    if verb is None:
        return 0
    if verb not in ("list", "show", "ls"):
        raise words.fail(f"unknown verb {verb!r}", "net verbs: list [dev NAME]")
    only = words.take("a device name") if words.accept("dev") else None
    words.done()
    devices = [d for d in netlink.devices() if only is None or d.name == only]
    if only is not None and not devices:
        raise TinyBPFError(f"no network device {only!r}", "see `ip link`")
    xdp: list[dict[str, Any]] = []
    for d in devices:
        if not d.xdp:
            continue
        r: dict[str, Any] = {"devname": d.name, "ifindex": d.ifindex}
        if d.xdp_mode == netlink.XDP_ATTACHED_MULTI:
            r["multi_attachments"] = [{"mode": mode, "id": prog_id} for mode, prog_id in d.xdp]
        else:
            r["mode"], r["id"] = d.xdp[0]
        xdp.append(r)
    tc: list[dict[str, Any]] = []
    for d in devices:
        for f in netlink.tc_filters(d.ifindex):
            r = {"devname": d.name, "ifindex": d.ifindex, "kind": f.kind}
            if f.name:
                r["name"] = f.name
            if f.prog_id is not None:
                r["id"] = f.prog_id
            tc.append(r)
        tc += _tcx(d.name, d.ifindex)
    dissector = _flow_dissector()
    if args.json:
        emit_json([{"xdp": xdp, "tc": tc, "flow_dissector": [{"id": i} for i in dissector]}], args.pretty)
        return 0
    out = ["xdp:"]
    for r in xdp:
        pairs = r.get("multi_attachments") or [{"mode": r["mode"], "id": r["id"]}]
        out.append(f"{r['devname']}({r['ifindex']})" + "".join(f" {p['mode']} id {p['id']}" for p in pairs))
    out += ["", "tc:"]
    for r in tc:
        text = f"{r['devname']}({r['ifindex']}) {r['kind']}" + (f" {r['name']}" if "name" in r else "")
        if "prog_id" in r:
            text += f" prog_id {r['prog_id']} " + (f"link_id {r['link_id']} " if r["link_id"] else "")
        elif "id" in r:
            text += f" id {r['id']}"
        out.append(text)
    out += ["", "flow_dissector:"] + [f"id {i}" for i in dissector] + [""]
    print("\n".join(out))
    return 0


def _tcx(devname: str, ifindex: int) -> list[dict[str, Any]]:
    """tcx (Linux 6.6) attachments of a device, queried by ifindex as newer bpftool lists them."""
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import AttachType

    found = []
    for attach, kind in ((AttachType.TCX_INGRESS, "tcx/ingress"), (AttachType.TCX_EGRESS, "tcx/egress")):
        try:
            _, ids, links = commands.prog_query_links(ifindex, attach)
        except BPFError:
            continue
        for prog_id, link_id in zip(ids, links):
            r: dict[str, Any] = {"devname": devname, "ifindex": ifindex, "kind": kind}
            name = _prog_name(prog_id)
            if name:
                r["name"] = name
            r.update(prog_id=prog_id, prog_flags=[], link_id=link_id, link_flags=[])
            found.append(r)
    return found


def _prog_name(prog_id: int) -> str:
    from tinybpf.cli.inspect import program_full_name
    from tinybpf.programs import Program

    try:
        with Program.from_id(prog_id) as prog:
            return program_full_name(prog.fd, prog.info().name)
    except BPFError:
        return ""


def _flow_dissector() -> list[int]:
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import AttachType

    try:
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    except OSError:
        return []
    try:
        return commands.prog_query(fd, AttachType.FLOW_DISSECTOR)[1][:1]
    except BPFError:
        return []
    finally:
        os.close(fd)


# ---- perf list ----

def perf_main(args: argparse.Namespace) -> int:
    from tinybpf.kernel import commands

    words = Words("perf", list(args.words) or ["list"])
    verb = words.verb("Usage: tinybpf perf { show | list }\n       tinybpf perf help")
    if verb is None:
        return 0
    if verb not in ("list", "show", "ls"):
        raise words.fail(f"unknown verb {verb!r}", "perf verbs: list, show")
    words.done()
    records = []
    for pid_name in os.listdir("/proc"):
        if not pid_name.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid_name}/fd")
        except OSError:
            continue
        for fd_name in fds:
            if not fd_name.isdigit():
                continue
            found = commands.task_fd_query(int(pid_name), int(fd_name))
            if found is not None:
                records.append(_perf_record(int(pid_name), int(fd_name), *found))
    if args.json:
        emit_json(records, args.pretty)
        return 0
    for r in records:
        print(_perf_text(r))
    return 0


def _perf_record(pid: int, fd: int, prog_id: int, fd_type: int, name: str, offset: int,
                 addr: int) -> dict[str, Any]:
    r: dict[str, Any] = {"pid": pid, "fd": fd, "prog_id": prog_id, "fd_type": _FD_TYPES.get(fd_type, fd_type)}
    if fd_type in (0, 1):
        r["tracepoint"] = name
    elif fd_type in (2, 3):
        if name:
            r["func"], r["offset"] = name, offset
        else:
            r["addr"] = addr
    elif fd_type in (4, 5):
        r["filename"], r["offset"] = name, offset
    return r


def _perf_text(r: dict[str, Any]) -> str:
    head = f"pid {r['pid']}  fd {r['fd']}: prog_id {r['prog_id']}  {r['fd_type']}"
    if "tracepoint" in r:
        return f"{head}  {r['tracepoint']}"
    if "func" in r:
        return f"{head}  func {r['func']}  offset {r['offset']}"
    if "addr" in r:
        return f"{head}  addr {r['addr']}"
    if "filename" in r:
        return f"{head}  filename {r['filename']}  offset {r['offset']}"
    return head


# ---- cgroup tree ----

def cgroup_main(args: argparse.Namespace) -> int:
    from tinybpf.kernel.procfs import cgroup2_mount

    words = Words("cgroup", list(args.words))
    verb = words.verb("Usage: tinybpf cgroup tree [CGROUP_ROOT] [effective]\n       tinybpf cgroup help")
    if verb is None:
        return 0
    if verb != "tree":
        raise words.fail(f"unknown verb {verb!r}", "cgroup verbs: tree [CGROUP_ROOT] [effective]")
    root = words.take("a cgroup path") if words and words.peek() != "effective" else cgroup2_mount()
    effective = bool(words.accept("effective"))
    words.done()
    if root is None:
        raise TinyBPFError("cgroup v2 isn't mounted", "mount -t cgroup2 none /sys/fs/cgroup")
    flags = _F_QUERY_EFFECTIVE if effective else 0
    groups = []
    vmlinux = _VmlinuxId()
    for path, level in _walk(root):
        programs = _cgroup_programs(path, level, flags, vmlinux)
        if programs:
            groups.append((path, programs))
    if args.json:
        emit_json([{"cgroup": path, "programs": [r for r, _ in programs]} for path, programs in groups],
                  args.pretty)
        return 0
    print("CgroupPath")
    print(f"{'ID':<8} {'AttachType':<15} {'Name':<15}" if effective else
          f"{'ID':<8} {'AttachType':<15} {'AttachFlags':<15} {'Name':<15}")
    for path, programs in groups:
        print(path)
        for _, text in programs:
            print(text)
    return 0


def _walk(root: str) -> list[tuple[str, int]]:
    """Every directory under ``root`` parents first, in directory order, without crossing mounts (nftw's)."""
    device = os.stat(root).st_dev
    found: list[tuple[str, int]] = []

    def visit(path: str, level: int) -> None:
        found.append((path, level))
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_dev == device:
                visit(entry.path, level + 1)

    visit(root.rstrip("/") or "/", 0)
    return found


class _VmlinuxId:
    """bpftool names a program's attach target from vmlinux BTF once it has seen the kernel's BTF id, which
    it learns from the first program attached through it; until then programs with no attach target
    (id 0) match the unknown id 0 and get type 0's empty name. Kept as bpftool keeps it, per tree."""

    def __init__(self) -> None:
        self.id = 0

    def target_name(self, obj_id: int, type_id: int) -> Any:
        from tinybpf.btf import kernel_btf

        if not self.id and obj_id:
            self.id = _kernel_vmlinux_id(obj_id)
        btf = kernel_btf()
        if self.id != obj_id or type_id >= btf.count:
            return None
        return btf.type(type_id).name if type_id else ""


def _kernel_vmlinux_id(btf_id: int) -> int:
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import Cmd
    from tinybpf.kernel.fd import FD
    from tinybpf.kernel.object_info import btf_object

    try:
        with FD(commands.get_fd_by_id(Cmd.BTF_GET_FD_BY_ID, btf_id)) as fd:
            obj = btf_object(fd.fd, with_data=False)
    except BPFError:
        return 0
    return obj.id if obj.kernel and obj.name == "vmlinux" else 0


def _cgroup_programs(path: str, level: int, flags: int, vmlinux: _VmlinuxId) -> list[tuple[dict[str, Any], str]]:
    from tinybpf.kernel import commands
    from tinybpf.kernel.constants import AttachType

    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    rows: list[tuple[dict[str, Any], str]] = []
    try:
        for attach in AttachType:
            try:
                attach_flags, ids = commands.prog_query(fd, attach, flags)
            except BPFError as exc:
                if exc.errno == EINVAL:
                    continue
                raise
            flag_text = {_F_ALLOW_MULTI: "multi", _F_ALLOW_OVERRIDE: "override", 0: ""}.get(
                attach_flags, f"unknown({attach_flags:x})")
            for prog_id in ids:
                row = _cgroup_row(prog_id, attach, flag_text, level, bool(flags), vmlinux)
                if row is not None:
                    rows.append(row)
    finally:
        os.close(fd)
    return rows


def _cgroup_row(prog_id: int, attach: Any, flag_text: str, level: int, effective: bool,
                vmlinux: _VmlinuxId) -> Any:
    from tinybpf.cli.inspect import program_full_name
    from tinybpf.kernel.attrs import PROG_INFO
    from tinybpf.kernel.commands import read_info
    from tinybpf.programs import Program

    try:
        prog = Program.from_id(prog_id)
    except BPFError:
        return None
    with prog:
        name = program_full_name(prog.fd, prog.info().name)
        info = read_info(prog.fd, PROG_INFO)
    obj_id, type_id = int(info["attach_btf_obj_id"]), int(info["attach_btf_id"])  # type: ignore[call-overload]
    target = vmlinux.target_name(obj_id, type_id)
    kind = attach.name.lower()
    record: dict[str, Any] = {"id": prog_id, "attach_type": kind}
    if not effective:
        record["attach_flags"] = flag_text
    record["name"] = name
    if target is not None:
        record["attach_btf_name"] = target
    record.update(attach_btf_obj_id=obj_id, attach_btf_id=type_id)
    text = f"{'    ' if level else ''}{prog_id:<8} {kind:<15}"
    text += f" {name:<15}" if effective else f" {flag_text:<15} {name:<15}"
    if target is not None:
        text += f" {target:<15}"
    if type_id:
        text += f" attach_btf_obj_id={obj_id} attach_btf_id={type_id}"
    return record, text


# ---- struct_ops list ----

def struct_ops_main(args: argparse.Namespace) -> int:
    from tinybpf.btf import kernel_btf
    from tinybpf.kernel.attrs import MAP_INFO
    from tinybpf.kernel.commands import read_info
    from tinybpf.kernel.constants import MapType
    from tinybpf.maps import Map, list_map_ids

    words = Words("struct_ops", list(args.words) or ["list"])
    verb = words.verb("Usage: tinybpf struct_ops { show | list }\n       tinybpf struct_ops help")
    if verb is None:
        return 0
    if verb not in ("list", "show", "ls"):
        raise words.fail(f"unknown verb {verb!r}", "struct_ops verbs: list, show")
    words.done()
    records = []
    for map_id in list_map_ids():
        try:
            m = Map.from_id(map_id)
        except BPFError:
            continue
        with m:
            if m.info.type != MapType.STRUCT_OPS:
                continue
            value_type = int(read_info(m.fd, MAP_INFO)["btf_vmlinux_value_type_id"])  # type: ignore[call-overload]
            kernel_type = kernel_btf().type(value_type).name if value_type else ""
            records.append({"id": m.info.id, "name": m.info.name,
                            "kernel_struct_ops": kernel_type.removeprefix("bpf_struct_ops_")})
    if args.json:
        emit_json(records, args.pretty)
        return 0
    for r in records:
        print(f"{r['id']}: {r['name']:<15} {r['kernel_struct_ops']:<32}")
    return 0


HANDLERS = {"net": net_main, "perf": perf_main, "cgroup": cgroup_main, "struct_ops": struct_ops_main}
