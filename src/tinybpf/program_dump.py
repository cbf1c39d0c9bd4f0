"""A loaded program's code as ``bpftool prog dump`` shows it: translated instructions with their names,
source lines and function signatures, and the JIT-ed machine code split per function.

Everything comes from the kernel: the xlated instructions, func_info and line_info (offsets into the
program's BTF, fetched by id), the JIT-ed sub-program addresses, and /proc/kallsyms for the names of
call targets (helpers are rewritten to ``address - __bpf_call_base``, sub-program calls to an index
into the JIT-ed addresses). Which record is shown where follows libbpf's ``bpf_prog_linfo__lfind``,
quirks included, so the listing matches bpftool's line for line.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

from .asm import Instructions, PseudoCall, PseudoLoad
from .asm.helpers import Helper
from .asm.kernel_text import kernel_text
from .asm.text import InstructionFields
from .btf import BTF
from .btf.signature import type_only
from .errors import BPFError
from .kernel import commands
from .kernel.constants import Cmd
from .kernel.fd import FD
from .kernel.object_info import LineInfo, ProgramArrays, btf_object, program_arrays
from .kernel.procfs import KallsymsText


@dataclass(frozen=True)
class SourceLine:
    """The C line an instruction came from, as line_info records it."""

    text: str
    file: str
    line: int
    column: int


@dataclass(frozen=True)
class XlatedRow:
    """One translated instruction with what bpftool prints around it."""

    pc: int
    text: str  # "(b7) r1 = 1"
    raw: bytes  # 8 bytes, 16 for ld_imm64
    proto: str = ""  # the signature of the function that starts here
    source: Optional[SourceLine] = None


@dataclass(frozen=True)
class JitedFunction:
    """The machine code of one JIT-ed (sub-)program and its kallsyms name."""

    name: str
    address: int
    code: bytes


def program_btf(btf_id: int) -> Optional[BTF]:
    """The BTF a program was loaded with, None when it has none or it is gone."""
    if not btf_id:
        return None
    try:
        fd = FD(commands.get_fd_by_id(Cmd.BTF_GET_FD_BY_ID, btf_id))
    except BPFError:
        return None
    with fd:
        return BTF(btf_object(fd.fd).data, name=f"BTF id {btf_id}")


def full_name(short: str, arrays: ProgramArrays, btf: Optional[BTF]) -> str:
    """The program's name from its BTF func_info (bpftool's), not the kernel's 15-character copy."""
    if not btf or not arrays.func_info:
        return short
    try:
        name = btf.type(arrays.func_info[0][1]).name
    except (KeyError, IndexError):
        return short
    return name or short


class _Names:
    """Call-target and immediate text, the way bpftool's ``print_call``/``print_imm`` callbacks write it."""

    def __init__(self, arrays: ProgramArrays) -> None:
        self.ksyms = arrays.jited_ksyms
        self.kallsyms = KallsymsText()
        self.call_base = self.kallsyms.address("__bpf_call_base")

    def call(self, insn: InstructionFields) -> Optional[str]:
        if insn.src == 0 and insn.imm in Helper._value2member_map_:
            return f"bpf_{Helper(insn.imm).name}"
        address = (self.call_base + insn.imm) & 0xFFFFFFFFFFFFFFFF
        if insn.src == PseudoCall.CALL and 0 <= insn.imm < len(self.ksyms):
            address = self.ksyms[insn.imm]
        symbol = self.kallsyms.name_at(address) if self.call_base else ""
        if insn.src == PseudoCall.CALL:
            if not self.ksyms:
                return f"{insn.off:+d}"
            return f"{insn.off:+d}#{symbol}" if symbol else f"{insn.off:+d}#0x{address:x}"
        return symbol or f"0x{address:x}"

    @staticmethod
    def imm(insn: InstructionFields) -> str:
        low, high = insn.imm & 0xFFFFFFFF, (insn.imm >> 32) & 0xFFFFFFFF
        if insn.src == PseudoLoad.MAP_FD:
            return f"map[id:{low}]"
        if insn.src == PseudoLoad.MAP_VALUE:
            return f"map[id:{low}][0]+{high}"
        if insn.src == PseudoLoad.MAP_IDX_VALUE:
            return f"map[idx:{low}]+{high}"
        if insn.src == PseudoLoad.FUNC:
            return f"subprog[{struct.unpack('=i', struct.pack('=I', low))[0]:+d}]"
        return f"0x{insn.imm & 0xFFFFFFFFFFFFFFFF:x}"


def xlated_rows(fd: int) -> list[XlatedRow]:
    """The translated program behind ``fd``, one row per instruction."""
    arrays = program_arrays(fd, jited=False)
    btf = program_btf(arrays.btf_id)
    names = _Names(arrays)
    rows: list[XlatedRow] = []
    funcs = dict(arrays.func_info) if btf else {}
    lines = _LineFinder(arrays.line_info, btf)
    pc = 0
    for insn in Instructions.decode(arrays.xlated):
        proto = type_only(btf, funcs[pc]) if btf and pc in funcs else ""
        text = kernel_text(insn, names.call, names.imm)
        rows.append(XlatedRow(pc, text, arrays.xlated[pc * 8:(pc + insn.width) * 8], proto, lines.at(pc)))
        pc += insn.width
    return rows


class _LineFinder:
    """line_info lookup as libbpf's ``bpf_prog_linfo__lfind(insn, nr_skip)`` answers it for a dump that
    counts every record it printed: the last record at or before ``pc`` among those not yet skipped."""

    def __init__(self, records: tuple[LineInfo, ...], btf: Optional[BTF]) -> None:
        self.records = records if btf else ()
        self.btf = btf
        self.skip = 0

    def at(self, pc: int) -> Optional[SourceLine]:
        records, skip = self.records, self.skip
        if skip >= len(records) or pc < records[skip].insn_off:
            return None
        end = skip
        while end < len(records) and records[end].insn_off <= pc:
            end += 1
        found = records[end - 1]
        self.skip += 1
        assert self.btf is not None
        return SourceLine(self.btf.string(found.line_off).lstrip(), self.btf.string(found.file_name_off),
                          found.line, found.column)


def jited_functions(fd: int) -> list[JitedFunction]:
    """The JIT-ed code behind ``fd``, split at each sub-program (empty when the program is interpreted)."""
    arrays = program_arrays(fd)
    if not arrays.jited:
        return []
    kallsyms = KallsymsText()
    lengths = arrays.jited_func_lens or (len(arrays.jited),)
    addresses = arrays.jited_ksyms or (0,)
    functions, start = [], 0
    for address, length in zip(addresses, lengths):
        functions.append(JitedFunction(kallsyms.name_at(address), address, arrays.jited[start:start + length]))
        start += length
    return functions


__all__ = ["JitedFunction", "SourceLine", "XlatedRow", "full_name", "jited_functions", "program_btf",
           "xlated_rows"]
