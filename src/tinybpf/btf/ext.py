"""``.BTF.ext``: per-section function info, line info and CO-RE relocations that clang emits beside ``.BTF``.

One reader, two views. :func:`parse_btf_ext` decodes every record (line info with its file and source text)
for people and tools; :func:`parse_btf_ext_raw` keeps func_info and line_info as the packed records
BPF_PROG_LOAD takes, string offsets untouched, so a loader only rebases ``insn_off`` and hands them on.
Offsets are in bytes into the ELF section, as clang writes them (the kernel wants instruction indexes:
divide by 8). Names and access strings live in the ``.BTF`` string section.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from tinybpf.btf.kinds import BTF_MAGIC, CoreReloKind
from tinybpf.btf.reader import BTF
from tinybpf.errors import FormatError

_HEADER = struct.Struct("HBBIIIII")
_CORE_HEADER = struct.Struct("II")
_FUNC_WORDS, _LINE_WORDS, _CORE_WORDS = 2, 4, 4


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


@dataclass(frozen=True)
class RawRecord:
    """One func_info or line_info record as the kernel takes it: ``insn_off`` (bytes) and the whole record."""

    insn_off: int
    data: bytes


@dataclass(frozen=True)
class RawBTFExt:
    """func_info and line_info as packed records per section, with the record sizes clang used (BPF_PROG_LOAD
    takes both), and the CO-RE relocations decoded."""

    func_info: dict[str, tuple[RawRecord, ...]]
    line_info: dict[str, tuple[RawRecord, ...]]
    core_relos: dict[str, tuple[CoreRelo, ...]]
    func_info_rec_size: int
    line_info_rec_size: int


@dataclass(frozen=True)
class _Block:
    """One info block: its record size and, per ELF section, the records' bytes."""

    record_size: int
    sections: dict[str, list[bytes]]


class _Reader:
    """Splits ``.BTF.ext`` into its three blocks; every bound is checked before a byte is read."""

    def __init__(self, data: bytes, btf: BTF, where: str) -> None:
        self.btf = btf
        self.order = "<" if btf.byte_order == "little" else ">"
        self.what = f"{where}: .BTF.ext" if where else ".BTF.ext"
        if len(data) < _HEADER.size:
            raise FormatError(f"{self.what}: {len(data)} bytes is too short for a header")
        magic, _version, _flags, hdr_len, func_off, func_len, line_off, line_len = struct.unpack_from(
            self.order + _HEADER.format, data)
        if magic != BTF_MAGIC:
            raise FormatError(f"{self.what}: bad magic (or byte order differs from .BTF)")
        if hdr_len < _HEADER.size or hdr_len > len(data):
            raise FormatError(f"{self.what}: header length {hdr_len} out of range")
        core_off = core_len = 0
        if hdr_len >= _HEADER.size + _CORE_HEADER.size:
            core_off, core_len = struct.unpack_from(self.order + _CORE_HEADER.format, data, _HEADER.size)
        body = memoryview(data)[hdr_len:]
        self.func = self._block(body, func_off, func_len, _FUNC_WORDS, "func_info")
        self.line = self._block(body, line_off, line_len, _LINE_WORDS, "line_info")
        self.core = self._block(body, core_off, core_len, _CORE_WORDS, "core_relo")

    def _block(self, body: memoryview, offset: int, length: int, words: int, name: str) -> _Block:
        """``u32 rec_size`` then, per ELF section, ``{sec_name_off, num_info, records[]}``."""
        if length == 0:
            return _Block(0, {})
        if offset + length > len(body) or length < 4:
            raise FormatError(f"{self.what}: {name} block at {offset}+{length} runs past the section end")
        block = body[offset:offset + length]
        (size,) = struct.unpack_from(self.order + "I", block)
        if size < 4 * words or size % 4:
            raise FormatError(f"{self.what}: {name} record size {size} is too small or unaligned")
        sections: dict[str, list[bytes]] = {}
        position = 4
        while position < length:
            if position + 8 > length:
                raise FormatError(f"{self.what}: {name} section header truncated at {position}")
            name_off, count = struct.unpack_from(self.order + "II", block, position)
            position += 8
            if position + count * size > length:
                raise FormatError(f"{self.what}: {name} of {self.btf.string(name_off)!r} claims {count} records "
                                  "past the end")
            sections[self.btf.string(name_off)] = [bytes(block[position + i * size:position + (i + 1) * size])
                                                  for i in range(count)]
            position += count * size
        return _Block(size, sections)

    def records(self, block: _Block, words: int) -> Iterator[tuple[str, list[tuple[int, ...]]]]:
        record = struct.Struct(f"{self.order}{words}I")
        for section, raws in block.sections.items():
            yield section, [record.unpack_from(raw) for raw in raws]

    def core_relos(self) -> dict[str, tuple[CoreRelo, ...]]:
        found: dict[str, tuple[CoreRelo, ...]] = {}
        for section, records in self.records(self.core, _CORE_WORDS):
            relos = []
            for insn_off, type_id, access_off, kind in records:
                try:
                    known = CoreReloKind(kind)
                except ValueError:
                    raise FormatError(f"{self.what}: unknown CO-RE relocation kind {kind} at insn_off "
                                      f"{insn_off}") from None
                relos.append(CoreRelo(insn_off, type_id, self.btf.string(access_off), known))
            found[section] = tuple(relos)
        return found

    def raw(self, block: _Block) -> dict[str, tuple[RawRecord, ...]]:
        first = struct.Struct(self.order + "I")
        return {section: tuple(RawRecord(first.unpack_from(raw)[0], raw) for raw in raws)
                for section, raws in block.sections.items()}


def parse_btf_ext(data: bytes, btf: BTF, where: str = "") -> BTFExt:
    """Every record of a ``.BTF.ext`` section whose strings live in ``btf``, decoded."""
    reader = _Reader(data, btf, where)
    string = btf.string
    func = {section: tuple(FuncInfo(insn_off, type_id) for insn_off, type_id in records)
            for section, records in reader.records(reader.func, _FUNC_WORDS)}
    line = {section: tuple(LineInfo(insn_off, string(file_off), string(line_off), line_col >> 10, line_col & 0x3FF)
                           for insn_off, file_off, line_off, line_col in records)
            for section, records in reader.records(reader.line, _LINE_WORDS)}
    return BTFExt(func, line, reader.core_relos())


def parse_btf_ext_raw(data: bytes, btf: BTF, where: str = "") -> RawBTFExt:
    """The raw mode: func_info and line_info stay the kernel's packed records; CO-RE relocations are decoded."""
    reader = _Reader(data, btf, where)
    return RawBTFExt(reader.raw(reader.func), reader.raw(reader.line), reader.core_relos(),
                     reader.func.record_size, reader.line.record_size)
