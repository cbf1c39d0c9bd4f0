"""One function per bpf(2) command, packing its ``bpf_attr`` and returning plain values.

Pointers to keys, values and buffers are passed as addresses (``int``): callers own the memory.
Higher layers wrap returned descriptors in ``FD`` objects.
"""
from __future__ import annotations

import ctypes
import mmap
from typing import Optional, Union

from ..errors import BPFError
from . import attrs
from .bpffs import find_bpffs, is_on_bpffs
from .constants import Cmd
from .syscall import ENOTSUPP, bpf, bpf_errno

_ATTR = attrs.ATTR_SIZE
_pack_elem = attrs.MAP_ELEM.pack  # element commands only read their attr: immutable bytes will do


def _attr() -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(_ATTR)


def map_create(
    map_type: int,
    key_size: int,
    value_size: int,
    max_entries: int,
    flags: int = 0,
    name: bytes = b"",
    inner_map_fd: int = 0,
    numa_node: int = 0,
    btf_fd: int = 0,
    btf_key_type_id: int = 0,
    btf_value_type_id: int = 0,
    map_extra: int = 0,
    ifindex: int = 0,
    btf_vmlinux_value_type_id: int = 0,
) -> int:
    """BPF_MAP_CREATE; ``btf_vmlinux_value_type_id`` is a struct_ops map's kernel value type (``btf_fd`` still the
    object's BTF, as the kernel requires)."""
    attr = _attr()
    attrs.MAP_CREATE.pack_into(
        attr, 0, map_type, key_size, value_size, max_entries, flags, inner_map_fd, numa_node,
        name[:15], ifindex, btf_fd, btf_key_type_id, btf_value_type_id, btf_vmlinux_value_type_id, map_extra, 0, 0,
    )
    return bpf(Cmd.MAP_CREATE, attr)


def elem_attr(map_fd: int, key: int, value: int, flags: int = 0) -> bytes:
    """A packed attr for the element commands, for callers that reuse one per map and buffer."""
    return _pack_elem(map_fd, 0, key, value, flags)


def map_elem(cmd: int, map_fd: int, key: int, value: int, flags: int = 0) -> tuple[int, int]:
    """LOOKUP/UPDATE/DELETE/GET_NEXT_KEY/LOOKUP_AND_DELETE_ELEM; returns (result, errno), never raises.

    The element commands are the hot path of map access and ENOENT is an ordinary answer there, so
    the caller decides what an errno means.
    """
    return bpf_errno(cmd, _pack_elem(map_fd, 0, key, value, flags), 32)


def map_batch(
    cmd: int,
    map_fd: int,
    keys: int,
    values: int,
    count: int,
    in_batch: int = 0,
    out_batch: int = 0,
    elem_flags: int = 0,
) -> tuple[int, int, int]:
    """A batch command; returns (result, errno, count processed). ENOENT means the map was exhausted."""
    attr = _attr()
    attrs.MAP_BATCH.pack_into(attr, 0, in_batch, out_batch, keys, values, count, map_fd, elem_flags, 0)
    ret, err = bpf_errno(cmd, attr, attrs.MAP_BATCH.size)
    done = int(attrs.ONE_U32.unpack_from(attr, attrs.MAP_BATCH_COUNT_OFFSET)[0])
    return ret, err, done


def map_freeze(map_fd: int) -> None:
    attr = _attr()
    attrs.ONE_U32.pack_into(attr, 0, map_fd)
    bpf(Cmd.MAP_FREEZE, attr, attrs.ONE_U32.size)


def prog_load(
    prog_type: int,
    insns: bytes,
    license: bytes = b"GPL",
    name: bytes = b"",
    expected_attach_type: int = 0,
    kern_version: int = 0,
    prog_flags: int = 0,
    log_level: int = 0,
    log_buf: Optional[ctypes.Array[ctypes.c_char]] = None,
    prog_btf_fd: int = 0,
    func_info: bytes = b"",
    func_info_rec_size: int = 0,
    line_info: bytes = b"",
    line_info_rec_size: int = 0,
    attach_btf_id: int = 0,
    attach_prog_fd: int = 0,
    ifindex: int = 0,
) -> tuple[int, int, int]:
    """BPF_PROG_LOAD; returns (fd or -1, errno, log_true_size) so the caller can build a verifier error."""
    insn_buf = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license)
    fi = ctypes.create_string_buffer(func_info, len(func_info)) if func_info else None
    li = ctypes.create_string_buffer(line_info, len(line_info)) if line_info else None
    attr = _attr()
    attrs.PROG_LOAD.pack_into(
        attr, 0, prog_type, len(insns) // 8, ctypes.addressof(insn_buf), ctypes.addressof(lic),
        log_level if log_buf is not None else 0, len(log_buf) if log_buf is not None else 0,
        ctypes.addressof(log_buf) if log_buf is not None else 0,
        kern_version, prog_flags, name[:15], ifindex, expected_attach_type, prog_btf_fd,
        func_info_rec_size, ctypes.addressof(fi) if fi else 0,
        len(func_info) // func_info_rec_size if func_info_rec_size else 0,
        line_info_rec_size, ctypes.addressof(li) if li else 0,
        len(line_info) // line_info_rec_size if line_info_rec_size else 0,
        attach_btf_id, attach_prog_fd, 0, 0, 0, 0, 0,
    )
    ret, err = bpf_errno(Cmd.PROG_LOAD, attr, attrs.PROG_LOAD.size)
    true_size = int(attrs.ONE_U32.unpack_from(attr, attrs.PROG_LOAD_LOG_TRUE_SIZE_OFFSET)[0])
    return ret, err, true_size


def btf_load(blob: bytes, log_buf: Optional[ctypes.Array[ctypes.c_char]] = None) -> tuple[int, int]:
    """BPF_BTF_LOAD; returns (fd or -1, errno)."""
    data = ctypes.create_string_buffer(blob, len(blob))
    attr = _attr()
    attrs.BTF_LOAD.pack_into(
        attr, 0, ctypes.addressof(data), ctypes.addressof(log_buf) if log_buf is not None else 0,
        len(blob), len(log_buf) if log_buf is not None else 0, 1 if log_buf is not None else 0, 0,
    )
    return bpf_errno(Cmd.BTF_LOAD, attr, attrs.BTF_LOAD.size)


def obj_pin(fd: int, path: str) -> None:
    """Pin ``fd`` at ``path``, which must lie in a bpffs (the kernel's EPERM/EINVAL otherwise is explained)."""
    name = ctypes.create_string_buffer(path.encode())
    attr = _attr()
    attrs.OBJ_PIN.pack_into(attr, 0, ctypes.addressof(name), fd, 0, 0)
    try:
        bpf(Cmd.OBJ_PIN, attr, attrs.OBJ_PIN.size)
    except BPFError as exc:
        if exc.errno in (1, 22) and not is_on_bpffs(path):
            mount = find_bpffs() or "no bpffs is mounted"
            raise BPFError(exc.op, exc.errno, f"pin paths must be inside a bpffs mount ({mount})",
                           f"cannot pin at {path}") from None
        raise


def obj_get(path: str, flags: int = 0) -> int:
    name = ctypes.create_string_buffer(path.encode())
    attr = _attr()
    attrs.OBJ_PIN.pack_into(attr, 0, ctypes.addressof(name), 0, flags, 0)
    return bpf(Cmd.OBJ_GET, attr, attrs.OBJ_PIN.size)


Data = Union[bytes, bytearray]


def prog_test_run(
    prog_fd: int,
    data: Data = b"",
    ctx: Optional[Data] = None,
    repeat: int = 1,
    data_out_size: int = 0,
    ctx_out_size: int = 0,
    flags: int = 0,
    cpu: int = 0,
) -> tuple[int, int, bytes, bytes]:
    """BPF_PROG_TEST_RUN; returns (retval, duration_ns, data_out, ctx_out)."""
    din = ctypes.create_string_buffer(bytes(data), len(data)) if data else None
    dout = ctypes.create_string_buffer(data_out_size) if data_out_size else None
    cin = ctypes.create_string_buffer(bytes(ctx), len(ctx)) if ctx else None
    cout = ctypes.create_string_buffer(ctx_out_size) if ctx_out_size else None
    attr = _attr()
    attrs.PROG_TEST_RUN.pack_into(
        attr, 0, prog_fd, 0, len(data), data_out_size,
        ctypes.addressof(din) if din else 0, ctypes.addressof(dout) if dout else 0,
        repeat, 0, len(ctx) if ctx else 0, ctx_out_size,
        ctypes.addressof(cin) if cin else 0, ctypes.addressof(cout) if cout else 0, flags, cpu, 0,
    )
    bpf(Cmd.PROG_TEST_RUN, attr, attrs.PROG_TEST_RUN.size)
    fields = attrs.PROG_TEST_RUN.unpack_from(attr, 0)
    retval, out_size, duration, ctx_size = fields[1], fields[3], fields[7], fields[9]
    out = dout.raw[: min(out_size, data_out_size)] if dout else b""
    ctx_out = cout.raw[: min(ctx_size, ctx_out_size)] if cout else b""
    return retval, duration, out, ctx_out


def get_next_id(cmd: int, start_id: int) -> Optional[int]:
    """PROG/MAP/LINK/BTF_GET_NEXT_ID: the next id after ``start_id``, or None at the end."""
    attr = _attr()
    attrs.GET_ID.pack_into(attr, 0, start_id, 0, 0)
    ret, err = bpf_errno(cmd, attr, attrs.GET_ID.size)
    if ret < 0:
        if err == 2:
            return None
        bpf(cmd, attr, attrs.GET_ID.size)  # raises with the proper message
    return int(attrs.GET_ID.unpack_from(attr, 0)[1])


def get_fd_by_id(cmd: int, obj_id: int, open_flags: int = 0) -> int:
    """PROG/MAP/LINK/BTF_GET_FD_BY_ID."""
    attr = _attr()
    attrs.GET_ID.pack_into(attr, 0, obj_id, 0, open_flags)
    return bpf(cmd, attr, attrs.GET_ID.size)


def obj_get_info_by_fd(fd: int, info: ctypes.Array[ctypes.c_char]) -> int:
    """Fill ``info`` (a bpf_*_info buffer, pointers inside set by the caller); returns the kernel's info_len."""
    attr = _attr()
    attrs.OBJ_INFO.pack_into(attr, 0, fd, len(info), ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, attrs.OBJ_INFO.size)
    return int(attrs.OBJ_INFO.unpack_from(attr, 0)[1])


def link_create(prog_fd: int, target_fd: int, attach_type: int, flags: int = 0, extra: bytes = b"") -> int:
    """BPF_LINK_CREATE; ``extra`` is the packed per-attach-type union (perf_event cookie, uprobe_multi...)."""
    attr = _attr()
    attrs.LINK_CREATE.pack_into(attr, 0, prog_fd, target_fd, attach_type, flags)
    ctypes.memmove(ctypes.addressof(attr) + attrs.LINK_CREATE_UNION_OFFSET, extra, len(extra))
    return bpf(Cmd.LINK_CREATE, attr, attrs.LINK_CREATE_UNION_OFFSET + 48)


def link_detach(link_fd: int) -> None:
    attr = _attr()
    attrs.ONE_U32.pack_into(attr, 0, link_fd)
    bpf(Cmd.LINK_DETACH, attr, attrs.ONE_U32.size)


def link_update(link_fd: int, new_prog_fd: int, old_prog_fd: int = 0) -> None:
    """BPF_LINK_UPDATE: swap the program of a link atomically (xdp, tc, cgroup, iter...; not perf_event links).

    With ``old_prog_fd`` the kernel swaps only if that program is still the attached one (BPF_F_REPLACE).
    """
    attr = _attr()
    attrs.LINK_UPDATE.pack_into(attr, 0, link_fd, new_prog_fd, 4 if old_prog_fd else 0, old_prog_fd)
    bpf(Cmd.LINK_UPDATE, attr, attrs.LINK_UPDATE.size)


def raw_tracepoint_open(name: str, prog_fd: int) -> int:
    buf = ctypes.create_string_buffer(name.encode()) if name else None
    attr = _attr()
    attrs.RAW_TRACEPOINT_OPEN.pack_into(attr, 0, ctypes.addressof(buf) if buf else 0, prog_fd, 0, 0)
    return bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, attrs.RAW_TRACEPOINT_OPEN.size)


def prog_attach(target_fd: int, prog_fd: int, attach_type: int, flags: int = 0) -> None:
    attr = _attr()
    attrs.PROG_ATTACH.pack_into(attr, 0, target_fd, prog_fd, attach_type, flags, 0)
    bpf(Cmd.PROG_ATTACH, attr, attrs.PROG_ATTACH.size)


def prog_detach(target_fd: int, prog_fd: int, attach_type: int) -> None:
    attr = _attr()
    attrs.PROG_ATTACH.pack_into(attr, 0, target_fd, prog_fd, attach_type, 0, 0)
    bpf(Cmd.PROG_DETACH, attr, attrs.PROG_ATTACH.size)


def prog_query(target_fd: int, attach_type: int, query_flags: int = 0, max_progs: int = 64) -> tuple[int, list[int]]:
    """BPF_PROG_QUERY: (attach flags, program ids) attached to a cgroup, netns or device for one attach type.

    The count comes first; EINVAL (a type this target cannot hold) raises as usual.
    """
    ids = (ctypes.c_uint32 * max_progs)()
    attr = _attr()
    attrs.PROG_QUERY.pack_into(attr, 0, target_fd, attach_type, query_flags, 0, ctypes.addressof(ids), max_progs)
    ret, err = bpf_errno(Cmd.PROG_QUERY, attr, attrs.PROG_QUERY.size)
    count = int(attrs.PROG_QUERY.unpack_from(attr, 0)[5])
    if ret < 0 and err == 28 and count > max_progs:  # ENOSPC: ask again with room for all of them
        return prog_query(target_fd, attach_type, query_flags, count)
    if ret < 0:
        bpf(Cmd.PROG_QUERY, attr, attrs.PROG_QUERY.size)  # raises with the proper message
    return int(attrs.PROG_QUERY.unpack_from(attr, 0)[3]), list(ids[:count])


def prog_query_links(target: int, attach_type: int, max_progs: int = 64) -> tuple[int, list[int], list[int]]:
    """BPF_PROG_QUERY with the link ids (Linux 6.6, tcx and netkit): (attach flags, program ids, link ids)."""
    ids, links = (ctypes.c_uint32 * max_progs)(), (ctypes.c_uint32 * max_progs)()
    attr = _attr()
    attrs.PROG_QUERY.pack_into(attr, 0, target, attach_type, 0, 0, ctypes.addressof(ids), max_progs)
    attrs.U64.pack_into(attr, attrs.PROG_QUERY_LINK_IDS_OFFSET, ctypes.addressof(links))
    bpf(Cmd.PROG_QUERY, attr, attrs.PROG_QUERY_LINK_IDS_OFFSET + 24)
    count = int(attrs.PROG_QUERY.unpack_from(attr, 0)[5])
    return int(attrs.PROG_QUERY.unpack_from(attr, 0)[3]), list(ids[:count]), list(links[:count])


def task_fd_query(pid: int, fd: int) -> Optional[tuple[int, int, str, int, int]]:
    """BPF_TASK_FD_QUERY: (prog_id, fd_type, name, probe_offset, probe_addr) of a perf event or raw
    tracepoint fd of process ``pid`` that has a program attached; None for any other fd."""
    buf = ctypes.create_string_buffer(4096)
    attr = _attr()
    attrs.TASK_FD_QUERY.pack_into(attr, 0, pid, fd, 0, len(buf), ctypes.addressof(buf), 0, 0, 0, 0)
    ret, _ = bpf_errno(Cmd.TASK_FD_QUERY, attr, attrs.TASK_FD_QUERY.size)
    if ret < 0:
        return None
    fields = attrs.TASK_FD_QUERY.unpack_from(attr, 0)
    return fields[5], fields[6], buf.value.decode(errors="replace"), fields[7], fields[8]


def enable_stats(stats_type: int = 0) -> int:
    """BPF_ENABLE_STATS: run_time_ns/run_cnt are counted while the returned fd stays open."""
    attr = _attr()
    attrs.ONE_U32.pack_into(attr, 0, stats_type)
    return bpf(Cmd.ENABLE_STATS, attr, attrs.ONE_U32.size)


def batch_supported_errno(err: int) -> bool:
    """Whether a batch command's errno means "this kernel or map type has no batch ops"."""
    return err in (22, 95, ENOTSUPP)


def read_info(fd: int, layout: attrs.Layout, size: int = 256,
              preset: Optional[dict[str, int]] = None) -> dict[str, object]:
    """OBJ_GET_INFO_BY_FD into a dict of named fields.

    ``preset`` fills fields before the call: buffer addresses and their lengths, for the second
    call that fetches arrays (map ids, translated instructions).
    """
    info = bytearray(max(size, layout.size))
    for name, value in (preset or {}).items():
        layout.set(info, name, value)
    buf = (ctypes.c_char * len(info)).from_buffer(info)
    obj_get_info_by_fd(fd, buf)
    return layout.unpack(bytes(info))


def list_ids(cmd: int) -> list[int]:
    """Every id a PROG/MAP/LINK/BTF_GET_NEXT_ID walk returns."""
    ids: list[int] = []
    current = 0
    while True:
        nxt = get_next_id(cmd, current)
        if nxt is None:
            return ids
        ids.append(nxt)
        current = nxt


__all__ = [
    "batch_supported_errno",
    "btf_load",
    "elem_attr",
    "enable_stats",
    "get_fd_by_id",
    "get_next_id",
    "link_create",
    "link_detach",
    "list_ids",
    "map_batch",
    "map_create",
    "map_elem",
    "map_freeze",
    "obj_get",
    "obj_get_info_by_fd",
    "obj_pin",
    "prog_attach",
    "prog_detach",
    "prog_load",
    "prog_query",
    "prog_query_links",
    "prog_test_run",
    "raw_tracepoint_open",
    "read_info",
    "task_fd_query",
]


def iter_create(link_fd: int) -> int:
    """BPF_ITER_CREATE: a readable descriptor that runs the iterator link's program once, start to end."""
    attr = _attr()
    attrs.ITER_CREATE.pack_into(attr, 0, link_fd, 0)
    return bpf(Cmd.ITER_CREATE, attr, attrs.ITER_CREATE.size)


def link_create_uprobe_multi(prog_fd: int, attach_type: int, path: str, offsets: list[int], flags: int = 0,
                             pid: int = 0) -> int:
    """BPF_LINK_CREATE of a uprobe_multi link: one link for every file offset of ``path`` (Linux 6.6)."""
    name = ctypes.create_string_buffer(path.encode())
    table = (ctypes.c_uint64 * len(offsets))(*offsets)
    extra = attrs.UPROBE_MULTI.pack(ctypes.addressof(name), ctypes.addressof(table), 0, 0, len(offsets), flags,
                                    max(pid, 0))
    return link_create(prog_fd, 0, attach_type, 0, extra)


def map_mmap(map_fd: int, size: int, writable: bool) -> mmap.mmap:
    """The values of a BPF_F_MMAPABLE array map, shared with the kernel (Linux 5.5); ``size`` rounds up to pages.

    Read-only for a frozen map: the kernel refuses writable mappings of those.
    """
    pages = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    return mmap.mmap(map_fd, pages, mmap.MAP_SHARED, prot)
