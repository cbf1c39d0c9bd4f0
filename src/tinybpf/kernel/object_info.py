"""The arrays of ``bpf_prog_info`` and ``bpf_btf_info`` that a second OBJ_GET_INFO_BY_FD call fills.

The first call returns the counts and record sizes; the second passes buffers of that size for
every array at once (translated and JIT-ed code, func_info, line_info, the JIT-ed sub-program
addresses) so one program needs two syscalls whatever it is asked for.
"""
from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass

from .attrs import BTF_INFO, LINK_INFO, PROG_INFO
from .commands import obj_get_info_by_fd, read_info

_FUNC_INFO = struct.Struct("=II")  # struct bpf_func_info { u32 insn_off, type_id; }
_LINE_INFO = struct.Struct("=IIII")  # struct bpf_line_info { u32 insn_off, file_name_off, line_off, line_col; }


@dataclass(frozen=True)
class LineInfo:
    """One ``bpf_line_info`` record, its offsets into the program's BTF strings."""

    insn_off: int
    file_name_off: int
    line_off: int
    line_col: int

    @property
    def line(self) -> int:
        return self.line_col >> 10

    @property
    def column(self) -> int:
        return self.line_col & 0x3FF


@dataclass(frozen=True)
class ProgramArrays:
    """A program's code and debug records as the kernel reports them after verification."""

    xlated: bytes
    jited: bytes
    func_info: tuple[tuple[int, int], ...]  # (insn_off, BTF FUNC type id), in xlated instruction slots
    line_info: tuple[LineInfo, ...]
    jited_ksyms: tuple[int, ...]  # the address of each JIT-ed sub-program, in sub-program order
    jited_func_lens: tuple[int, ...]
    btf_id: int


_ARRAYS = (  # (pointer field, count field, record size: int or the field that holds it)
    ("xlated_prog_insns", "xlated_prog_len", 1),
    ("jited_prog_insns", "jited_prog_len", 1),
    ("func_info", "nr_func_info", "func_info_rec_size"),
    ("line_info", "nr_line_info", "line_info_rec_size"),
    ("jited_ksyms", "nr_jited_ksyms", 8),
    ("jited_func_lens", "nr_jited_func_lens", 4),
)


def program_arrays(fd: int, jited: bool = True) -> ProgramArrays:
    """Read every array of the program behind ``fd`` (``jited=False`` skips the machine code)."""
    first = read_info(fd, PROG_INFO)
    preset: dict[str, int] = {}
    buffers: dict[str, ctypes.Array[ctypes.c_char]] = {}
    sizes: dict[str, int] = {}
    for pointer, count, record in _ARRAYS:
        n = int(first[count])  # type: ignore[call-overload]
        size = record if isinstance(record, int) else int(first[record])  # type: ignore[call-overload]
        if not n or (pointer == "jited_prog_insns" and not jited):
            continue
        buffers[pointer] = ctypes.create_string_buffer(n * size)
        sizes[pointer] = size
        preset[pointer] = ctypes.addressof(buffers[pointer])
        preset[count] = n
        if not isinstance(record, int):
            preset[record] = size
    second = read_info(fd, PROG_INFO, preset=preset) if preset else first

    def raw(pointer: str, count: str) -> bytes:
        if pointer not in buffers:
            return b""
        return buffers[pointer].raw[: int(second[count]) * sizes[pointer]]  # type: ignore[call-overload]

    func_raw = raw("func_info", "nr_func_info")
    line_raw = raw("line_info", "nr_line_info")
    func_size, line_size = sizes.get("func_info", 8), sizes.get("line_info", 16)
    return ProgramArrays(
        xlated=raw("xlated_prog_insns", "xlated_prog_len"),
        jited=raw("jited_prog_insns", "jited_prog_len"),
        func_info=tuple(_FUNC_INFO.unpack_from(func_raw, i) for i in range(0, len(func_raw), func_size)),
        line_info=tuple(LineInfo(*_LINE_INFO.unpack_from(line_raw, i)) for i in range(0, len(line_raw), line_size)),
        jited_ksyms=tuple(struct.unpack(f"={len(raw('jited_ksyms', 'nr_jited_ksyms')) // 8}Q",
                                        raw("jited_ksyms", "nr_jited_ksyms"))),
        jited_func_lens=tuple(struct.unpack(f"={len(raw('jited_func_lens', 'nr_jited_func_lens')) // 4}I",
                                            raw("jited_func_lens", "nr_jited_func_lens"))),
        btf_id=int(first["btf_id"]),  # type: ignore[call-overload]
    )


@dataclass(frozen=True)
class BTFObject:
    """A BTF object the kernel holds: its raw bytes and what ``bpftool btf show`` prints."""

    id: int
    name: str
    size: int
    kernel: bool
    data: bytes


def btf_object(fd: int, with_data: bool = True) -> BTFObject:
    """The BTF behind ``fd`` (from BTF_GET_FD_BY_ID), its bytes too unless ``with_data`` is False."""
    first = read_info(fd, BTF_INFO)
    size, name_len = int(first["btf_size"]), int(first["name_len"])  # type: ignore[call-overload]
    data = ctypes.create_string_buffer(size if with_data else 0)
    name = ctypes.create_string_buffer(name_len + 1)
    preset = {"name": ctypes.addressof(name), "name_len": name_len + 1}
    if with_data:
        preset.update(btf=ctypes.addressof(data), btf_size=size)
    second = read_info(fd, BTF_INFO, preset=preset)
    return BTFObject(int(second["id"]), name.value.decode(errors="replace"), size,  # type: ignore[call-overload]
                     bool(second["kernel_btf"]), data.raw[:size] if with_data else b"")


@dataclass(frozen=True)
class LinkRecord:
    """``bpf_link_info``: the common head and the per-type union kept raw, with a raw tracepoint's name."""

    type: int
    id: int
    prog_id: int
    detail: bytes  # the union, 48 bytes
    tp_name: str = ""

    def u32(self, index: int) -> int:
        return int(struct.unpack_from("=I", self.detail, 4 * index)[0])

    def u64(self, index: int) -> int:
        return int(struct.unpack_from("=Q", self.detail, 8 * index)[0])


_RAW_TRACEPOINT = 1


def link_record(fd: int) -> LinkRecord:
    """What the kernel says about the link behind ``fd``."""
    first = read_info(fd, LINK_INFO)
    detail = bytes(first["detail"])  # type: ignore[call-overload]
    head = (int(first["type"]), int(first["id"]), int(first["prog_id"]))  # type: ignore[call-overload]
    if head[0] != _RAW_TRACEPOINT:
        return LinkRecord(*head, detail)
    length = int(struct.unpack_from("=I", detail, 8)[0])
    name = ctypes.create_string_buffer(length + 1)
    info = bytearray(max(256, LINK_INFO.size))
    struct.pack_into("=QI", info, LINK_INFO.offset("detail"), ctypes.addressof(name), length + 1)
    buf = (ctypes.c_char * len(info)).from_buffer(info)
    obj_get_info_by_fd(fd, buf)
    return LinkRecord(*head, detail, name.value.decode(errors="replace"))


__all__ = ["BTFObject", "LineInfo", "LinkRecord", "ProgramArrays", "btf_object", "link_record", "program_arrays"]
