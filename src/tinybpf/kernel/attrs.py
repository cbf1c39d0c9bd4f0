"""``union bpf_attr`` layouts, one precompiled ``struct.Struct`` per command family.

Pointers are always packed as 64-bit (``Q``), as the kernel expects even on 32-bit hosts. Each
layout quotes the C struct it mirrors; tests check the offsets against the running kernel's BTF.
"""
from __future__ import annotations

import re
import struct


class Layout:
    """A packed C struct with named fields, for the ``bpf_*_info`` records read field by field."""

    def __init__(self, fmt: str, fields: tuple[str, ...]) -> None:
        self.struct = struct.Struct(fmt)
        codes = re.findall(r"\d*[a-zA-Z]", fmt.lstrip("=<>!@"))
        if len(codes) != len(fields):
            raise ValueError(f"{len(codes)} codes for {len(fields)} fields in {fmt!r}")
        self.fields = fields
        self._codes = dict(zip(fields, codes))
        self._offsets = {name: struct.calcsize("=" + "".join(codes[:i])) for i, name in enumerate(fields)}

    @property
    def size(self) -> int:
        return self.struct.size

    def offset(self, name: str) -> int:
        return self._offsets[name]

    def unpack(self, buffer: bytes) -> dict[str, object]:
        return dict(zip(self.fields, self.struct.unpack_from(buffer, 0)))

    def set(self, buffer: bytearray, name: str, value: int) -> None:
        struct.pack_into("=" + self._codes[name], buffer, self._offsets[name], value)

# Largest attr we ever pass: the kernel accepts any size up to its own as long as the tail is zero.
ATTR_SIZE = 160

# struct { u32 map_type, key_size, value_size, max_entries, map_flags, inner_map_fd, numa_node;
#          char map_name[16]; u32 map_ifindex, btf_fd, btf_key_type_id, btf_value_type_id,
#          btf_vmlinux_value_type_id; u64 map_extra; s32 value_type_btf_obj_fd, map_token_fd; }
MAP_CREATE = struct.Struct("=7I16s5IQii")

# struct { u32 map_fd; u32 pad; u64 key; u64 value /* or next_key */; u64 flags; }
MAP_ELEM = struct.Struct("=IIQQQ")

# struct { u64 in_batch, out_batch, keys, values; u32 count, map_fd; u64 elem_flags, flags; }
MAP_BATCH = struct.Struct("=QQQQIIQQ")
MAP_BATCH_COUNT_OFFSET = 32

# struct { u32 prog_type, insn_cnt; u64 insns, license; u32 log_level, log_size; u64 log_buf;
#          u32 kern_version, prog_flags; char prog_name[16]; u32 prog_ifindex, expected_attach_type,
#          prog_btf_fd, func_info_rec_size; u64 func_info; u32 func_info_cnt, line_info_rec_size;
#          u64 line_info; u32 line_info_cnt, attach_btf_id, attach_prog_fd /* or attach_btf_obj_fd */,
#          core_relo_cnt; u64 fd_array, core_relos; u32 core_relo_rec_size, log_true_size; }
PROG_LOAD = struct.Struct("=IIQQIIQII16sIIIIQIIQIIIIQQII")
PROG_LOAD_LOG_TRUE_SIZE_OFFSET = 140

# struct { u64 pathname; u32 bpf_fd, file_flags; s32 path_fd; }
OBJ_PIN = struct.Struct("=QIIi")

# struct { u32 prog_fd, retval, data_size_in, data_size_out; u64 data_in, data_out; u32 repeat, duration,
#          ctx_size_in, ctx_size_out; u64 ctx_in, ctx_out; u32 flags, cpu, batch_size; }
PROG_TEST_RUN = struct.Struct("=IIIIQQIIIIQQIII")

# struct { u32 start_id /* or prog_id, map_id, btf_id, link_id */; u32 next_id, open_flags; }
GET_ID = struct.Struct("=III")

# struct { u32 bpf_fd, info_len; u64 info; }
OBJ_INFO = struct.Struct("=IIQ")

# struct { u32 prog_fd, target_fd /* or target_ifindex */, attach_type, flags; then a union }
LINK_CREATE = struct.Struct("=IIII")
LINK_CREATE_UNION_OFFSET = 16
# link_create.uprobe_multi: path, offsets, ref_ctr_offsets, cookies (pointers), cnt, flags, pid
UPROBE_MULTI = struct.Struct("=QQQQIII")
# iter_create: link_fd, flags
ITER_CREATE = struct.Struct("=II")

# struct { u32 link_fd; }  (LINK_DETACH, MAP_FREEZE, ENABLE_STATS share this shape)
ONE_U32 = struct.Struct("=I")
# union bpf_attr for BPF_LINK_UPDATE: u32 link_fd, new_prog_fd, flags, old_prog_fd
LINK_UPDATE = struct.Struct("=IIII")
U64 = struct.Struct("=Q")

# struct { u64 btf, btf_log_buf; u32 btf_size, btf_log_size, btf_log_level, btf_log_true_size; }
BTF_LOAD = struct.Struct("=QQIIII")

# struct { u64 name; u32 prog_fd; u32 pad; u64 cookie; }
RAW_TRACEPOINT_OPEN = struct.Struct("=QIIQ")

# struct { u32 target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd; }
PROG_ATTACH = struct.Struct("=IIIII")

# struct bpf_prog_info (the fields tinybpf reads; the kernel fills up to info_len)
PROG_INFO = Layout("=II8sIIQQQIIQ16sIIQQIIQQIIQIIQQIIIIQQQQIII", (
    "type", "id", "tag", "jited_prog_len", "xlated_prog_len", "jited_prog_insns", "xlated_prog_insns",
    "load_time", "created_by_uid", "nr_map_ids", "map_ids", "name", "ifindex", "gpl_compatible",
    "netns_dev", "netns_ino", "nr_jited_ksyms", "nr_jited_func_lens", "jited_ksyms", "jited_func_lens",
    "btf_id", "func_info_rec_size", "func_info", "nr_func_info", "nr_line_info", "line_info",
    "jited_line_info", "nr_jited_line_info", "line_info_rec_size", "jited_line_info_rec_size",
    "nr_prog_tags", "prog_tags", "run_time_ns", "run_cnt", "recursion_misses", "verified_insns",
    "attach_btf_obj_id", "attach_btf_id",
))

# struct bpf_map_info
MAP_INFO = Layout("=IIIIII16sIIQQIIIIQ", (
    "type", "id", "key_size", "value_size", "max_entries", "map_flags", "name", "ifindex",
    "btf_vmlinux_value_type_id", "netns_dev", "netns_ino", "btf_id", "btf_key_type_id",
    "btf_value_type_id", "btf_vmlinux_id", "map_extra",
))

# struct bpf_link_info: u32 type, id, prog_id; then a per-type union of up to 48 bytes we keep raw
LINK_INFO = Layout("=III4s48s", ("type", "id", "prog_id", "pad", "detail"))

# struct bpf_btf_info { u64 btf; u32 btf_size, id; u64 name; u32 name_len, kernel_btf; }
BTF_INFO = Layout("=QIIQII", ("btf", "btf_size", "id", "name", "name_len", "kernel_btf"))

# struct { u32 target_fd, attach_type, query_flags, attach_flags; u64 prog_ids; u32 prog_cnt; }
PROG_QUERY = struct.Struct("=IIIIQI")
PROG_QUERY_LINK_IDS_OFFSET = 40  # then u64 prog_attach_flags (32), link_ids (40), link_attach_flags, revision

# struct { u32 pid, fd, flags, buf_len; u64 buf; u32 prog_id, fd_type; u64 probe_offset, probe_addr; }
TASK_FD_QUERY = struct.Struct("=IIIIQIIQQ")
