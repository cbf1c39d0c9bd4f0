"""Uprobe ``args`` from DWARF: a function's parameters by name, and the binary's own C types.

bpftrace reads the traced binary's debug information to give a uprobe ``args.NAME`` and to let casts name
types only the binary defines (``(struct Foo *)arg0``). Here ``args`` in a uprobe becomes a record literal
``(n = (int32 *)arg0, c = (int8)arg1)`` before the analysis (the SysV x86_64 ABI passes the first six
integer arguments in registers, which ``argN`` already reads), and the binary's structs join the script's
types through :class:`DebugTypes`. The debug information is found in the binary, its separate debug file
(build-id, ``.gnu_debuglink``), the ``--debuginfo`` directories, or split ``.dwo``/``.dwp`` files.
"""
from __future__ import annotations

import dataclasses
import os
from functools import cache
from typing import Any, Optional

from tinybpf.elf.dwarf import (
    AT_BIT_SIZE,
    AT_BYTE_SIZE,
    AT_DATA_BIT_OFFSET,
    AT_DATA_MEMBER_LOCATION,
    AT_ENCODING,
    TAG_ARRAY,
    TAG_BASE,
    TAG_ENUM,
    TAG_MEMBER,
    TAG_POINTER,
    TAG_STRUCT,
    TAG_UNION,
    Die,
    DwarfInfo,
)
from tinybpf.trace.semantics.c_types import Member, Record, align_of
from tinybpf.trace.semantics.stype import SType, int_type, string_type
from tinybpf.trace.syntax import ast

# extra directories --debuginfo names, searched before the standard places
DEBUGINFO_DIRS: list[str] = []
_UPROBES = ("uprobe", "uretprobe")
_MAX_REGISTER_ARGS = 6
_DW_ATE_BOOLEAN = 2
_DW_ATE_SIGNED = (5, 6)


@cache
def debug_info(path: str) -> Optional[DwarfInfo]:
    """The DWARF of the binary at ``path``, or None when neither it nor a debug file for it has any."""
    from tinybpf.elf.reader import ElfFile
    from tinybpf.errors import FormatError

    try:
        elf = ElfFile.from_path(path)
        if elf.section(".debug_info") is not None:
            return DwarfInfo(elf, path)
        found = _debug_file(elf, path)
        return DwarfInfo.from_path(found) if found else None
    except (OSError, FormatError, IndexError, KeyError, ValueError):
        return None


def _debug_file(elf: Any, path: str) -> Optional[str]:
    from tinybpf.elf.debuglink import debug_file

    build_id = elf.build_id()
    link = elf.section(".gnu_debuglink")
    names = [os.path.basename(path) + ".debug"]
    if link is not None:
        names.insert(0, bytes(link.data()).split(b"\0", 1)[0].decode(errors="replace"))
    for directory in DEBUGINFO_DIRS:  # relative ones are under the binary's directory, as elfutils reads them
        directory = os.path.join(os.path.dirname(path), directory)
        candidates = [os.path.join(directory, name) for name in names]
        if build_id:
            hexid = build_id.hex()
            candidates.insert(0, os.path.join(directory, ".build-id", hexid[:2], hexid[2:] + ".debug"))
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
    return debug_file(elf, path)


def parameters(path: str, function: str) -> list[tuple[str, str]]:
    """``(type, name)`` of each parameter of ``function`` in ``path`` (``-lv`` lists them), empty if unknown."""
    info = debug_info(path)
    if info is None:
        return []
    for die in info.functions(function):
        return [(info.type_name(info.type_of(p)), p.name) for p in info.parameters(die)]
    return []


def source_location(path: str, source: str) -> tuple[str, int]:
    """``FILE:LINE`` in the binary at ``path`` as the function symbol holding its first instruction and the
    offset into it; raises ``TinyBPFError`` when the line has no code."""
    from tinybpf.elf import SymbolType
    from tinybpf.elf.dwarf_lines import line_address
    from tinybpf.elf.reader import ElfFile
    from tinybpf.errors import TinyBPFError

    file, _, line = source.rpartition(":")
    info = debug_info(path)
    if info is None:
        raise TinyBPFError(f"No debuginfo found for {path}")
    address = line_address(info, file, int(line, 0)) if line.isdigit() else None
    if address is None:
        raise TinyBPFError(f"No code found for {source} in {path}")
    elf = ElfFile.from_path(path)
    for symbol in elf.symbols() + elf.dynamic_symbols():
        if symbol.type == SymbolType.FUNC and symbol.value <= address < symbol.value + max(symbol.size, 1):
            return symbol.name, address - symbol.value
    raise TinyBPFError(f"No function holds {source} in {path}")


def bind(program: ast.Program, targets: dict[int, list[Any]]) -> None:
    """Give the program the traced binaries' types, and turn ``args`` in each uprobe (and raw tracepoint,
    from BTF) into a record literal."""
    from tinybpf.trace.semantics import rawtracepoint_args

    binaries = [t.target for probe in program.probes for t in targets.get(id(probe), [])
                if t.provider in _UPROBES and t.target]
    if binaries:
        program.debug_types = DebugTypes(list(dict.fromkeys(binaries)))
    for probe in program.probes:
        found = targets.get(id(probe), [])
        if not found or not _uses_args(probe):
            continue
        first = found[0]
        record = None
        if first.provider in _UPROBES and first.target:
            record = _args_record(first.target, first.func, probe.pos)
        elif first.provider == "rawtracepoint" and all(t.func == first.func for t in found):
            record = rawtracepoint_args.args_record(first.func, probe.pos)
        if record is not None:
            _replace_args(probe, record)


def _uses_args(probe: ast.Probe) -> bool:
    return any(isinstance(node, ast.Builtin) and node.name == "args" for node in ast.walk(probe))


def _args_record(path: str, function: str, pos: ast.Pos) -> Optional[ast.Tuple]:
    info = debug_info(path)
    dies = info.functions(function) if info else []
    if info is None or not dies:
        return None
    names: list[str] = []
    values: list[ast.Expression] = []
    for index, param in enumerate(info.parameters(dies[0])[:_MAX_REGISTER_ARGS]):
        type_name = _cast_type(info, info.type_of(param))
        if type_name is None:
            return None
        register = ast.Builtin(pos=pos, name=f"arg{index}")
        names.append(param.name or f"arg{index}")
        values.append(ast.Cast(pos=pos, type=ast.TypeName(pos=pos, name=type_name[0], pointer_depth=type_name[1]),
                               expr=register))
    return ast.Tuple(pos=pos, elements=values, names=names)


def _cast_type(info: DwarfInfo, die: Optional[Die]) -> Optional[tuple[str, int]]:
    """A parameter's type as a cast writes it (name, pointer depth); None for what registers cannot hold."""
    die = info.strip(die)
    if die is None:
        return ("void", 0)
    if die.tag == TAG_POINTER:
        target = _cast_type(info, info.type_of(die))
        if target is None or (target[0].startswith(("struct (", "union (")) and target[1] == 0):
            return ("void", 1)
        return (target[0], target[1] + 1)
    if die.tag in (TAG_STRUCT, TAG_UNION):
        return (info.type_name(die), 0)
    if die.tag in (TAG_BASE, TAG_ENUM):
        size = int(die.attrs.get(AT_BYTE_SIZE, 8))
        if size not in (1, 2, 4, 8):
            return None
        if die.attrs.get(AT_ENCODING) == _DW_ATE_BOOLEAN:
            return ("bool", 0)
        signed = die.tag == TAG_ENUM or die.attrs.get(AT_ENCODING) in _DW_ATE_SIGNED
        return (("int" if signed else "uint") + str(size * 8), 0)
    return ("void", 1) if die.tag != TAG_ARRAY else None


def _replace_args(node: Any, record: ast.Tuple) -> Any:
    """``node`` with every ``args`` (and ``*args``, which ``args->x`` parses to) replaced by ``record``."""
    if isinstance(node, ast.Builtin) and node.name == "args":
        return record
    if isinstance(node, ast.Unop) and node.op == "*" and isinstance(node.operand, ast.Builtin) \
            and node.operand.name == "args":
        return record
    if isinstance(node, list):
        return [_replace_args(item, record) for item in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name != "pos":
                setattr(node, f.name, _replace_args(getattr(node, f.name), record))
    return node


class DebugTypes:
    """The struct and union layouts the traced binaries define, converted on first use."""

    def __init__(self, binaries: list[str]) -> None:
        self.binaries = binaries
        self.converted: dict[str, Record] = {}
        self._anon = 0

    def record(self, tag: str) -> Optional[Record]:
        if tag in self.converted:
            return self.converted[tag]
        for path in self.binaries:
            info = debug_info(path)
            die = info.records().get(tag) if info else None
            if info is not None and die is not None:
                return self._record(info, die, tag)
        return None

    def _record(self, info: DwarfInfo, die: Die, tag: str) -> Record:
        record = Record(tag, int(die.attrs.get(AT_BYTE_SIZE, 0)), 1, [])
        self.converted[tag] = record
        for index, member in enumerate(d for d in die.children if d.tag == TAG_MEMBER):
            converted = self.convert(info, info.type_of(member))
            offset = member.attrs.get(AT_DATA_MEMBER_LOCATION, 0)
            offset = offset if isinstance(offset, int) else 0
            bits = int(member.attrs.get(AT_BIT_SIZE, 0))
            name = member.name or f"(anon{index})"
            if bits and AT_DATA_BIT_OFFSET in member.attrs and converted.size:
                bit_offset = int(member.attrs[AT_DATA_BIT_OFFSET])
                unit = bit_offset // (converted.size * 8) * converted.size
                record.members.append(Member(name, converted, unit, bits, bit_offset - unit * 8))
            else:
                record.members.append(Member(name, converted, offset))
            record.align = max(record.align, align_of(converted, self))
        return record

    def convert(self, info: DwarfInfo, die: Optional[Die], depth: int = 0) -> SType:
        """A DWARF type as an analysis type (char arrays are strings, as bpftrace reads them)."""
        die = info.strip(die)
        if die is None:
            return SType("void", 0)
        size = int(die.attrs.get(AT_BYTE_SIZE, 0))
        if die.tag == TAG_BASE:
            if die.attrs.get(AT_ENCODING) == _DW_ATE_BOOLEAN:
                return SType("bool", 1)
            signed = die.attrs.get(AT_ENCODING) in _DW_ATE_SIGNED
            return int_type(size, signed) if size in (1, 2, 4, 8) else SType("none", size)
        if die.tag == TAG_ENUM:
            return int_type(size or 4, True)
        if die.tag == TAG_POINTER:
            target = info.strip(info.type_of(die))
            if target is None or depth > 8:
                return SType("ptr", 8, pointee=None)
            return SType("ptr", 8, pointee=self.convert(info, target, depth + 1))
        if die.tag == TAG_ARRAY:
            element = self.convert(info, info.type_of(die), depth + 1)
            for count in reversed(info.dimensions(die)):
                if element.kind == "int" and element.size == 1 and count:
                    element = string_type(count)
                else:
                    element = SType("array", element.size * count, pointee=element)
            return element
        if die.tag in (TAG_STRUCT, TAG_UNION):
            tag = info.type_name(die)
            if not die.name:
                self._anon += 1
                tag = f"{tag.split()[0]} (anon dwarf {self._anon})"
                self._record(info, die, tag)
            return SType("struct", size, tag=tag)
        return SType("none", size)


def usdt_site(target: Any) -> Any:
    """The ``elf.usdt.UsdtProbe`` a usdt target (a ``probes.Target``) stands for."""
    from tinybpf.elf.usdt import find_probes
    from tinybpf.errors import TinyBPFError

    for probe in find_probes(target.target):
        if probe.offset == target.offset and probe.name == target.func:
            return probe
    raise TinyBPFError(f"{target.name}: the probe site at 0x{target.offset:x} is gone")
