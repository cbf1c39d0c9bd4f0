"""``.BTF.ext``: per-section function info, line info and CO-RE relocations that clang emits beside ``.BTF``.

The object loader passes func_info/line_info to BPF_PROG_LOAD (so verifier logs show source lines) and resolves
the CO-RE relocations against kernel BTF. Offsets are in bytes into the ELF section, as clang writes them
(the kernel wants instruction indexes: divide by 8). Names and access strings live in the ``.BTF`` string section.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, TypeVar

from tinybpf.btf.kinds import BTF_MAGIC, CoreReloKind
from tinybpf.btf.reader import BTF
from tinybpf.errors import FormatError

_HEADER = struct.Struct("HBBIIIII")
_CORE_HEADER = struct.Struct("II")


@dataclass(frozen=True)
class FuncInfo:
    """``bpf_func_info``: the FUNC type of the subprogram starting at ``insn_off``."""

    insn_off: int
    type_id: int


@dataclass(frozen=True)
class LineInfo:
    """``bpf_line_info``: source position of the instruction at ``insn_off``."""

    insn_off: int
    file_name: str
    line: str
    line_num: int
    column: int


@dataclass(frozen=True)
class CoreRelo:
    """``bpf_core_relo``: patch the instruction at ``insn_off`` with ``kind`` evaluated on local ``type_id``.

    ``access`` is clang's access string, member/array indexes separated by colons (``"0:1:2"``).
    """

    insn_off: int
    type_id: int
    access: str
    kind: CoreReloKind


@dataclass(frozen=True)
class BTFExt:
    """All three record kinds, keyed by ELF section name (``"kprobe/do_sys_open"``), in file order."""

    func_info: dict[str, tuple[FuncInfo, ...]]
    line_info: dict[str, tuple[LineInfo, ...]]
    core_relos: dict[str, tuple[CoreRelo, ...]]


Record = TypeVar("Record")


def parse_btf_ext(data: bytes, btf: BTF) -> BTFExt:
    """Parse a ``.BTF.ext`` section whose strings live in ``btf``."""
    order = "<" if btf.byte_order == "little" else ">"
    if len(data) < _HEADER.size:
        raise FormatError(f".BTF.ext: {len(data)} bytes is too short for a header")
    magic, _version, _flags, hdr_len, func_off, func_len, line_off, line_len = struct.unpack_from(
        order + _HEADER.format, data
    )
    if magic != BTF_MAGIC:
        raise FormatError(".BTF.ext: bad magic (or byte order differs from .BTF)")
    if hdr_len < _HEADER.size or hdr_len > len(data):
        raise FormatError(f".BTF.ext: header length {hdr_len} out of range")
    core_off = core_len = 0
    if hdr_len >= _HEADER.size + _CORE_HEADER.size:
        core_off, core_len = struct.unpack_from(order + _CORE_HEADER.format, data, _HEADER.size)
    body = memoryview(data)[hdr_len:]

    def func_info(words: tuple[int, ...]) -> FuncInfo:
        return FuncInfo(words[0], words[1])

    def line_info(words: tuple[int, ...]) -> LineInfo:
        insn_off, file_off, line_off_, line_col = words
        return LineInfo(insn_off, btf.string(file_off), btf.string(line_off_), line_col >> 10, line_col & 0x3FF)

    def core_relo(words: tuple[int, ...]) -> CoreRelo:
        insn_off, type_id, access_off, kind = words
        try:
            known = CoreReloKind(kind)
        except ValueError:
            raise FormatError(f".BTF.ext: unknown CO-RE relocation kind {kind} at insn_off {insn_off}") from None
        return CoreRelo(insn_off, type_id, btf.string(access_off), known)

    return BTFExt(
        _parse_info(body, func_off, func_len, 2, order, btf, "func_info", func_info),
        _parse_info(body, line_off, line_len, 4, order, btf, "line_info", line_info),
        _parse_info(body, core_off, core_len, 4, order, btf, "core_relo", core_relo),
    )


def _parse_info(
    body: memoryview,
    offset: int,
    length: int,
    words: int,
    order: str,
    btf: BTF,
    what: str,
    make: Callable[[tuple[int, ...]], Record],
) -> dict[str, tuple[Record, ...]]:
    """One info block: ``u32 rec_size`` then, per ELF section, ``{sec_name_off, num_info, records[]}``."""
    if length == 0:
        return {}
    if offset + length > len(body) or length < 4:
        raise FormatError(f".BTF.ext: {what} block at {offset}+{length} runs past the section end")
    block = body[offset : offset + length]
    (record_size,) = struct.unpack_from(order + "I", block)
    if record_size < 4 * words or record_size % 4:
        raise FormatError(f".BTF.ext: {what} record size {record_size} is too small or unaligned")
    record = struct.Struct(f"{order}{words}I")
    sections: dict[str, tuple[Record, ...]] = {}
    position = 4
    while position < length:
        if position + 8 > length:
            raise FormatError(f".BTF.ext: {what} section header truncated at {position}")
        name_off, count = struct.unpack_from(order + "II", block, position)
        position += 8
        if position + count * record_size > length:
            raise FormatError(f".BTF.ext: {what} of {btf.string(name_off)!r} claims {count} records past the end")
        records: list[Record] = [
            make(record.unpack_from(block, position + index * record_size)) for index in range(count)
        ]
        position += count * record_size
        sections[btf.string(name_off)] = tuple(records)
    return sections
