"""A clang-built BPF object (``.bpf.o``) as an :class:`ObjectSpec`: programs, maps, globals, externs, BTF.

This is the kernel-free half of a libbpf-compatible loader (``tinybpf.objects`` is the other half). It
follows libbpf's conventions:

- every function symbol in an executable section other than ``.text`` is a program; the section name
  (``SEC("tracepoint/...")``) says its type (:mod:`tinybpf.elf.sections`);
- functions in ``.text`` are sub-programs: each program gets a copy of the ones it calls appended,
  and its bpf-to-bpf call offsets are fixed (as are func_info, line_info and CO-RE records);
- maps come from BTF in ``.maps`` (``__uint``/``__type``/``__array`` members) or from the legacy
  ``maps`` section (``struct bpf_map_def``); ``.data``, ``.rodata``, ``.bss`` and their ``.*`` siblings
  become one-element array maps, referenced by ``BPF_PSEUDO_MAP_VALUE`` loads;
- ``extern`` variables in ``.kconfig`` live in a read-only ``.kconfig`` map; ``__ksym`` externs are
  resolved against the running kernel at load;
- the object's BTF is fixed up the way the kernel wants it (DATASEC sizes and offsets, extern
  linkage), keeping every type id and string offset so ``.BTF.ext`` stays valid.

What cannot be done without the kernel is left as :class:`Reference` records on each program.
Any malformed input raises :class:`~tinybpf.errors.FormatError` naming the file.
"""
from __future__ import annotations

import dataclasses
import os
import struct
from typing import Any, Optional, Union

from tinybpf.btf.core import essential_name
from tinybpf.btf.ext import CoreRelo, RawBTFExt, parse_btf_ext_raw
from tinybpf.btf.fixup import KCONFIG_SECTION, ObjectBTF, SymbolFacts
from tinybpf.btf.kinds import Kind, Linkage
from tinybpf.btf.reader import BTF
from tinybpf.btf.types import COMPOSITES, ENUMS, Array, Datasec, Ptr, Var
from tinybpf.elf.constants import (
    SHN_LORESERVE,
    SHN_UNDEF,
    ElfType,
    Machine,
    SectionFlag,
    SectionType,
    SymbolBind,
    SymbolType,
    SymbolVisibility,
)
from tinybpf.elf.reader import ElfFile, Section, Symbol
from tinybpf.elf.sections import parse_section
from tinybpf.errors import FormatError, TinyBPFError
from tinybpf.kernel.constants import MapFlags, MapType
from tinybpf.spec import MapSpec, ProgramSpec

LD_IMM64 = 0x18
CALL = 0x85
PSEUDO_CALL = 1
PSEUDO_KFUNC_CALL = 2
PSEUDO_FUNC = 4

LIBBPF_PIN_BY_NAME = 1
STRUCT_OPS_SECTION = ".struct_ops"

# reference kinds
MAP = "map"
MAP_VALUE = "map_value"
KCONFIG = "kconfig"
KSYM = "ksym"
KFUNC = "kfunc"


@dataclasses.dataclass(frozen=True)
class Reference:
    """An instruction the loader completes: ``ld_imm64`` of a map or global, an extern, a kfunc call.

    ``index`` is the instruction slot in the linked program; ``name`` the map (spec key) or extern;
    ``offset`` the byte offset into a map value.
    """

    index: int
    kind: str
    name: str
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class ObjectProgramSpec(ProgramSpec):
    """A program of an object: the linked instructions plus what the loader still has to fill in.

    ``core_relos`` have ``insn_off`` in bytes of the linked program; ``func_info``/``line_info`` are the
    kernel's records with instruction-index offsets, ready for BPF_PROG_LOAD.
    """

    symbol: str = ""
    references: tuple[Reference, ...] = ()
    core_relos: tuple[CoreRelo, ...] = ()
    func_info: bytes = b""
    func_info_rec_size: int = 0
    line_info: bytes = b""
    line_info_rec_size: int = 0
    attach: str = ""
    attach_target: str = ""
    btf_target: str = ""
    btf_target_kind: str = "func"
    byte_order: str = "little"


@dataclasses.dataclass(frozen=True)
class StructOpsMember:
    """A member of a struct_ops variable: a function pointer set to ``program``, or data (``program`` empty)."""

    name: str
    offset: int
    size: int
    program: str = ""


@dataclasses.dataclass(frozen=True)
class StructOpsSpec:
    """A ``SEC(".struct_ops")`` variable (``struct tcp_congestion_ops cc = {...}``): the kernel struct it fills
    (``type_name``, flavour suffix dropped), its initial bytes and members. ``link``: ``.struct_ops.link``, so a
    BPF link registers it (else the map update does)."""

    type_name: str
    data: bytes
    members: tuple[StructOpsMember, ...]
    link: bool


@dataclasses.dataclass(frozen=True)
class ObjectMapSpec(MapSpec):
    """A map of an object: ``slot_refs`` are (index, map or program name) initialisers of map-in-map and prog-array
    slots, ``pinning`` is libbpf's ``LIBBPF_PIN_*``, ``section`` the ELF section the map came from; ``struct_ops``
    describes a struct_ops map (its value size comes from the kernel's BTF at load)."""

    pinning: int = 0
    section: str = ""
    slot_refs: tuple[tuple[int, str], ...] = ()
    struct_ops: Optional[StructOpsSpec] = None


@dataclasses.dataclass(frozen=True)
class Variable:
    """A global variable inside a data section; ``type_id`` is its BTF type (0 when the object has no BTF)."""

    name: str
    offset: int
    size: int
    type_id: int = 0


@dataclasses.dataclass(frozen=True)
class DataSection:
    """``.data``/``.rodata``/``.bss``/``.kconfig``: the initial bytes and the variables laid out in them.

    ``data`` holds only what the file holds: a NOBITS section (``.bss``) has ``data`` empty and ``size`` bytes
    the kernel zero-fills, so a ``.bss`` claiming a gigabyte costs nothing until someone writes it.
    """

    name: str
    map_name: str
    data: bytes
    variables: dict[str, Variable]
    readonly: bool
    btf_id: int = 0
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.data))

    def read(self, offset: int, size: int) -> bytes:
        """``size`` initial bytes at ``offset``, zeros past the file's bytes."""
        chunk = bytes(self.data[offset:offset + size])
        return chunk + bytes(max(min(size, self.size - offset), 0) - len(chunk))


@dataclasses.dataclass(frozen=True)
class Extern:
    """An ``extern`` the loader resolves: ``kind`` is ``kconfig`` or ``ksym``.

    kconfig externs sit at ``offset`` in the ``.kconfig`` map; a ksym with ``type_id`` 0 is untyped
    (``extern const void x __ksym``: its kallsyms address) and ``is_func`` marks a kfunc.
    """

    name: str
    kind: str
    type_id: int = 0
    offset: int = 0
    size: int = 0
    weak: bool = False
    is_func: bool = False


@dataclasses.dataclass(frozen=True)
class ObjectSpec:
    """Everything a BPF object file describes, before anything touches the kernel."""

    name: str
    path: str
    byte_order: str
    license: str
    kernel_version: int
    programs: dict[str, ObjectProgramSpec]
    maps: dict[str, ObjectMapSpec]
    datasecs: dict[str, DataSection]
    externs: dict[str, Extern]
    btf: Optional[BTF]
    btf_blob: bytes = b""

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike]) -> ObjectSpec:
        """Read and parse ``path``."""
        with open(path, "rb") as f:
            data = f.read()
        return load_object_spec(data, os.fspath(path))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<memory>") -> ObjectSpec:
        return load_object_spec(data, name)


def object_name(path: str) -> str:
    """libbpf's object name: the file name up to its first dot (``sockex1_kern.o`` -> ``sockex1_kern``)."""
    base = os.path.basename(path) or "obj"
    return base.split(".", 1)[0] or base


def internal_map_name(obj_name: str, section: str) -> str:
    """libbpf's kernel name of a global-data map: an object-name prefix plus the section, 15 chars max.

    ``sockex1_kern.o``'s ``.rodata`` is ``sockex1_.rodata``; custom sections (``.data.counters``) go unprefixed.
    """
    suffix_len = max(7, len(section))
    prefix_len = 0 if suffix_len >= 16 or "." in section[1:] else min(16 - suffix_len - 1, len(obj_name))
    name = (obj_name[:prefix_len] + section)[:15]
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)


def load_object_spec(data: bytes, path: str = "<memory>") -> ObjectSpec:
    """Parse a BPF ELF object; malformed input raises FormatError (never struct.error or IndexError)."""
    try:
        return _Parser(data, path).parse()
    except TinyBPFError:
        raise
    except (struct.error, IndexError, ValueError, KeyError, UnicodeDecodeError, AssertionError,
            AttributeError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise FormatError(f"{path}: malformed BPF object ({type(exc).__name__}: {exc})",
                          "rebuild it with clang -target bpf -g") from None


@dataclasses.dataclass
class _Function:
    section: Section
    name: str
    start: int  # instruction index in its section
    end: int
    is_global: bool


def _data_map_flags(readonly: bool, mmapable: bool) -> int:
    """libbpf creates ``.rodata*`` and ``.kconfig`` maps BPF_F_RDONLY_PROG and freezes them: the verifier then reads
    ``const volatile`` globals as known constants and prunes the branches they rule out. A section with a
    non-static variable is also BPF_F_MMAPABLE (a skeleton maps it)."""
    return (int(MapFlags.RDONLY_PROG) if readonly else 0) | (int(MapFlags.MMAPABLE) if mmapable else 0)


def _is_data_section(name: str) -> bool:
    return any(name == stem or name.startswith(stem + ".") for stem in (".data", ".rodata", ".bss"))


class _Parser:
    """One pass over an ELF object; state lives here so the module functions stay small."""

    def __init__(self, data: bytes, path: str) -> None:
        self.path = path
        self.name = object_name(path)
        self.elf = ElfFile(data, path)
        header = self.elf.header
        if header.bits != 64 or header.machine != Machine.BPF or header.type != ElfType.REL:
            raise FormatError(f"{path}: not a BPF object (ELF{header.bits}, machine {header.machine}, "
                              f"type {header.type})", "build it with clang -target bpf -c")
        self.order = "<" if header.byte_order == "little" else ">"
        self.byte_order = header.byte_order
        self.insn = struct.Struct(self.order + "BBhi")
        self.symbols = self.elf.symbols()
        self.sections = self.elf.sections
        self.btf: Optional[BTF] = None
        self.object_btf: Optional[ObjectBTF] = None
        self.maps: dict[str, ObjectMapSpec] = {}
        self.datasecs: dict[str, DataSection] = {}
        self.externs: dict[str, Extern] = {}
        self.data_by_index: dict[int, str] = {}
        self.maps_section: Optional[Section] = None
        self.legacy_section: Optional[Section] = None
        self.map_at: dict[tuple[int, int], str] = {}  # (section index, symbol value) -> map name

    def fail(self, what: str, hint: str = "") -> FormatError:
        return FormatError(f"{self.path}: {what}", hint)

    # ----- top level -----

    def parse(self) -> ObjectSpec:
        license_text, version = "", 0
        code: list[Section] = []
        btf_ext: Optional[Section] = None
        for section in self.sections:
            if section.name == "license":
                license_text = bytes(section.data()).split(b"\0", 1)[0].decode(errors="replace")
            elif section.name == "version" and section.size >= 4:
                version = struct.unpack_from(self.order + "I", section.data())[0]
            elif section.name == ".BTF":
                self._read_btf(section)
            elif section.name == ".BTF.ext":
                btf_ext = section
            elif section.type == SectionType.PROGBITS and section.flags & SectionFlag.EXECINSTR and section.size:
                code.append(section)
        self._fixup_btf()
        ext = self._read_btf_ext(btf_ext) if btf_ext is not None and self.btf is not None else None
        for section in self.sections:
            if section.name == ".maps":
                self.maps_section = section
                self._btf_maps(section)
            elif section.name == "maps":
                self.legacy_section = section
                self._legacy_maps(section)
            elif section.name == STRUCT_OPS_SECTION or section.name.startswith(STRUCT_OPS_SECTION + "."):
                self._struct_ops(section)
            elif _is_data_section(section.name) and section.flags & SectionFlag.ALLOC and section.type in (
                    SectionType.PROGBITS, SectionType.NOBITS) and not section.flags & SectionFlag.EXECINSTR:
                self._data_section(section)
        self._kconfig_section()
        functions = self._functions(code)
        linker = _Linker(self, functions, ext)
        programs: dict[str, ObjectProgramSpec] = {}
        for function in functions.values():
            if function.section.name == ".text":
                continue
            info = parse_section(function.section.name)
            instructions, refs, relos, finfo, linfo = linker.link(function)
            ext_sizes = (ext.func_info_rec_size, ext.line_info_rec_size) if ext is not None else (0, 0)
            programs[function.name] = ObjectProgramSpec(
                type=info.type if info is not None else 0,  # type: ignore[arg-type]
                instructions=bytes(instructions),
                name=function.name,
                license=license_text,
                expected_attach_type=info.attach_type if info is not None else None,
                kernel_version=version,
                flags=info.flags if info is not None else 0,
                section=function.section.name,
                symbol=function.name,
                references=tuple(refs),
                core_relos=tuple(relos),
                func_info=finfo,
                func_info_rec_size=ext_sizes[0] if finfo else 0,
                line_info=linfo,
                line_info_rec_size=ext_sizes[1] if linfo else 0,
                attach=info.attach if info is not None else "",
                attach_target=info.target if info is not None else "",
                btf_target=info.btf_name if info is not None else "",
                btf_target_kind=info.btf_kind if info is not None else "func",
                byte_order=self.byte_order,
            )
        self._resolve_slot_refs(programs)
        blob = self.object_btf.encode() if self.object_btf is not None else b""
        return ObjectSpec(self.name, self.path, self.byte_order, license_text, version, programs, self.maps,
                          self.datasecs, self.externs, self.btf, blob)

    # ----- BTF -----

    def _read_btf(self, section: Section) -> None:
        self.btf = BTF(bytes(section.data()), name=f"{self.path} .BTF")
        self.object_btf = ObjectBTF(self.btf)

    def _fixup_btf(self) -> None:
        """libbpf's BTF fixups (:mod:`tinybpf.btf.fixup`) from this file's section sizes and symbols."""
        if self.object_btf is None:
            return
        sizes = {s.name: s.size for s in self.sections}
        symbols = {sym.name: SymbolFacts(sym.value, sym.visibility in (SymbolVisibility.HIDDEN,
                                                                          SymbolVisibility.INTERNAL))
                   for sym in self.symbols if sym.type in (SymbolType.OBJECT, SymbolType.NOTYPE)}
        weak = {sym.name for sym in self.symbols if sym.bind == SymbolBind.WEAK}
        hidden = frozenset(sym.name for sym in self.symbols if sym.type == SymbolType.FUNC and sym.bind in (
            SymbolBind.GLOBAL, SymbolBind.WEAK) and sym.visibility in (SymbolVisibility.HIDDEN,
                                                                         SymbolVisibility.INTERNAL)
            and 0 < sym.shndx < len(self.sections) and self.elf.section_at(sym.shndx).name == ".text")
        externs = self.object_btf.fixup(sizes, symbols, hidden)
        for slot in externs.kconfig:
            self.externs[slot.name] = Extern(slot.name, KCONFIG, slot.type_id, slot.offset, slot.size,
                                             slot.name in weak)
        for ksym in externs.ksyms:
            self.externs[ksym.name] = Extern(ksym.name, KSYM, ksym.type_id, weak=ksym.name in weak,
                                             is_func=ksym.is_func)

    def _read_btf_ext(self, section: Section) -> RawBTFExt:
        assert self.btf is not None
        return parse_btf_ext_raw(bytes(section.data()), self.btf, self.path)

    # ----- maps -----

    def _section_symbols(self, section: Section) -> list[Symbol]:
        return [sym for sym in self.symbols if sym.shndx == section.index and sym.name and
                sym.type in (SymbolType.OBJECT, SymbolType.NOTYPE) and sym.bind in (SymbolBind.GLOBAL,
                                                                                   SymbolBind.WEAK,
                                                                                   SymbolBind.LOCAL)]

    def _btf_maps(self, section: Section) -> None:
        if self.btf is None:
            raise self.fail("has a .maps section but no .BTF", "compile with clang -g")
        try:
            datasec = self.btf.find(".maps", Kind.DATASEC)
        except KeyError:
            raise self.fail(".maps section has no BTF DATASEC", "compile with clang -g") from None
        symbols = {sym.name: sym for sym in self._section_symbols(section)}
        relocations = self.elf.relocations_for(section)
        assert isinstance(datasec, Datasec)
        for info in datasec.vars:
            var = self.btf.type(info.type)
            if not isinstance(var, Var):
                continue
            symbol = symbols.get(var.name)
            if symbol is None:
                raise self.fail(f"map {var.name!r} has BTF but no symbol in .maps")
            spec, values_offset = self._btf_map_def(var.name, var.type)
            slot_refs = []
            if values_offset is not None:
                start = symbol.value + values_offset
                for reloc in relocations:
                    if start <= reloc.offset < symbol.value + max(symbol.size, 1):
                        target = self.symbols[reloc.symbol].name
                        slot_refs.append(((reloc.offset - start) // 8, target))
            spec = dataclasses.replace(spec, slot_refs=tuple(slot_refs))
            self.maps[var.name] = spec
            self.map_at[(section.index, symbol.value)] = var.name

    def _btf_map_def(self, name: str, type_id: int, inner: bool = False) -> tuple[ObjectMapSpec, Optional[int]]:
        """Decode a ``struct { __uint(type, ...); __type(key, ...); ... }`` map definition."""
        assert self.btf is not None
        btf = self.btf
        struct_type = btf.resolve(type_id)
        if not isinstance(struct_type, COMPOSITES):
            raise self.fail(f"map {name!r}: definition is {btf.c_name(type_id)}, not a struct")
        fields: dict[str, int] = {}
        key_id = value_id = 0
        inner_spec: Optional[ObjectMapSpec] = None
        values_offset: Optional[int] = None
        for member in struct_type.members:
            target = btf.resolve(member.type)
            if member.name in ("key", "value") and isinstance(target, Ptr):
                if member.name == "key":
                    key_id = target.type
                else:
                    value_id = target.type
            elif member.name == "values" and isinstance(target, Array):
                element = btf.resolve(target.type)
                if not isinstance(element, Ptr):
                    raise self.fail(f"map {name!r}: 'values' must be an array of pointers")
                values_offset = member.bit_offset // 8
                pointee = btf.resolve(element.type)
                if isinstance(pointee, COMPOSITES):
                    inner_spec, _ = self._btf_map_def(f"{name}.inner", pointee.id, inner=True)
            elif isinstance(target, Ptr):
                array_type = btf.resolve(target.type)
                if not isinstance(array_type, Array):
                    raise self.fail(f"map {name!r}: member {member.name!r} is not __uint()")
                fields[member.name] = array_type.nelems
            elif isinstance(target, ENUMS) and target.values:
                fields[member.name] = target.values[0].value
        if "type" not in fields:
            raise self.fail(f"map {name!r} has no type", "add __uint(type, BPF_MAP_TYPE_...)")
        try:
            map_type = MapType(fields["type"])
        except ValueError:
            raise self.fail(f"map {name!r}: unknown map type {fields['type']}") from None
        key_size = btf.sizeof(key_id) if key_id else fields.get("key_size", 0)
        value_size = btf.sizeof(value_id) if value_id else fields.get("value_size", 0)
        if "key_size" in fields and key_id and fields["key_size"] != key_size:
            raise self.fail(f"map {name!r}: key_size {fields['key_size']} != sizeof(key) {key_size}")
        if map_type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.PROG_ARRAY) and not value_size:
            value_size = 4
        if map_type == MapType.PERF_EVENT_ARRAY:
            key_size, value_size = key_size or 4, value_size or 4
        flags = fields.get("map_flags", 0)
        numa = fields.get("numa_node")
        if numa is not None:
            flags |= MapFlags.NUMA_NODE
        if map_type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS) and inner_spec is None and not inner:
            raise self.fail(f"map {name!r}: map-in-map needs __array(values, struct inner_def)")
        spec = ObjectMapSpec(
            type=map_type, key_size=key_size, value_size=value_size, max_entries=fields.get("max_entries", 0),
            name=name.split(".")[0] if inner else name, flags=flags, inner_map=inner_spec, numa_node=numa,
            map_extra=fields.get("map_extra", 0), btf_key_type_id=key_id, btf_value_type_id=value_id,
            pinning=fields.get("pinning", 0), section=".maps",
        )
        return spec, values_offset

    def _struct_ops(self, section: Section) -> None:
        """Each variable of a ``.struct_ops*`` section is a struct_ops map; relocations name its programs."""
        if self.btf is None:
            raise self.fail(f"{section.name} needs BTF", "compile with clang -g")
        try:
            datasec = self.btf.find(section.name, Kind.DATASEC)
        except KeyError:
            raise self.fail(f"{section.name} has no BTF DATASEC") from None
        assert isinstance(datasec, Datasec)
        symbols = {sym.name: sym for sym in self._section_symbols(section)}
        targets = {reloc.offset: self.symbols[reloc.symbol].name for reloc in self.elf.relocations_for(section)
                   if reloc.symbol < len(self.symbols)}
        data = section.data()
        for info in datasec.vars:
            var = self.btf.type(info.type)
            symbol = symbols.get(var.name) if isinstance(var, Var) else None
            if symbol is None or not isinstance(var, Var):
                continue
            struct_type = self.btf.resolve(var.type)
            if not isinstance(struct_type, COMPOSITES):
                raise self.fail(f"struct_ops {var.name!r} is not a struct")
            members = tuple(
                StructOpsMember(m.name, m.bit_offset // 8, self.btf.sizeof(m.type),
                                targets.get(symbol.value + m.bit_offset // 8, ""))
                for m in struct_type.members)
            value = bytes(data[symbol.value:symbol.value + struct_type.size])
            spec = StructOpsSpec(essential_name(struct_type.name), value, members,
                                 section.name == STRUCT_OPS_SECTION + ".link")
            self.maps[var.name] = ObjectMapSpec(
                type=MapType.STRUCT_OPS, key_size=4, value_size=0, max_entries=1, name=var.name,
                flags=int(MapFlags.LINK) if spec.link else 0, section=section.name, struct_ops=spec,
            )

    def _legacy_maps(self, section: Section) -> None:
        """``struct bpf_map_def SEC("maps")``: five u32s (type, key, value, max_entries, flags) or more."""
        symbols = sorted(self._section_symbols(section), key=lambda s: s.value)
        if not symbols:
            return
        data = section.data()
        def_size = section.size // len(symbols)
        if def_size < 20 or def_size % 4:
            raise self.fail(f"legacy maps section: {len(symbols)} maps in {section.size} bytes")
        for symbol in symbols:
            if symbol.value + def_size > len(data):
                raise self.fail(f"legacy map {symbol.name!r} runs past the maps section")
            words = struct.unpack_from(f"{self.order}{def_size // 4}I", data, symbol.value)
            try:
                map_type = MapType(words[0])
            except ValueError:
                raise self.fail(f"legacy map {symbol.name!r}: unknown map type {words[0]}") from None
            numa = words[6] if len(words) > 6 and words[4] & MapFlags.NUMA_NODE else None
            self.maps[symbol.name] = ObjectMapSpec(
                type=map_type, key_size=words[1], value_size=words[2], max_entries=words[3], name=symbol.name,
                flags=words[4], numa_node=numa, section="maps",
            )
            self.map_at[(section.index, symbol.value)] = symbol.name

    def _data_section(self, section: Section) -> None:
        readonly = section.name.startswith(".rodata")
        data = bytes(section.data())
        variables: dict[str, Variable] = {}
        btf_id = 0
        if self.btf is not None:
            for datasec in self.btf.find_all(section.name, Kind.DATASEC):
                btf_id = datasec.id
                assert isinstance(datasec, Datasec) and self.object_btf is not None
                for var_id, offset, size in self.object_btf.datasec_entries(datasec):
                    var = self.btf.type(var_id)
                    if isinstance(var, Var):
                        variables[var.name] = Variable(var.name, offset, size, var.type)
        if not variables:
            for sym in self._section_symbols(section):
                if sym.type == SymbolType.OBJECT:
                    variables[sym.name] = Variable(sym.name, sym.value, sym.size)
        map_name = internal_map_name(self.name, section.name)
        self.datasecs[section.name] = DataSection(section.name, map_name, data, variables, readonly, btf_id,
                                                  section.size)
        self.data_by_index[section.index] = section.name
        if not section.size:
            return
        self.maps[section.name] = ObjectMapSpec(
            type=MapType.ARRAY, key_size=4, value_size=section.size, max_entries=1, name=map_name,
            flags=_data_map_flags(readonly, self._has_global_var(btf_id)), contents=((0, data),) if data else (),
            freeze=readonly,
            btf_value_type_id=btf_id, section=section.name,
        )

    def _has_global_var(self, datasec_id: int) -> bool:
        """libbpf's map_is_mmapable: the DATASEC (as fixed up) holds a VAR that is not static."""
        if not datasec_id or self.btf is None or self.object_btf is None:
            return False
        datasec = self.btf.type(datasec_id)
        assert isinstance(datasec, Datasec)
        return any(self.object_btf.linkage(var_id) != Linkage.STATIC
                   for var_id, _, _ in self.object_btf.datasec_entries(datasec)
                   if isinstance(self.btf.type(var_id), Var))

    def _kconfig_section(self) -> None:
        kconfig = [e for e in self.externs.values() if e.kind == KCONFIG]
        if not kconfig:
            return
        size = max(e.offset + e.size for e in kconfig)
        btf_id = self.btf.find(KCONFIG_SECTION, Kind.DATASEC).id if self.btf is not None else 0
        variables = {e.name: Variable(e.name, e.offset, e.size, e.type_id) for e in kconfig}
        map_name = internal_map_name(self.name, KCONFIG_SECTION)
        self.datasecs[KCONFIG_SECTION] = DataSection(KCONFIG_SECTION, map_name, bytes(size), variables, True,
                                                     btf_id)
        self.maps[KCONFIG_SECTION] = ObjectMapSpec(
            type=MapType.ARRAY, key_size=4, value_size=size, max_entries=1, name=map_name,
            flags=_data_map_flags(True, self._has_global_var(btf_id)), freeze=True,
            btf_value_type_id=btf_id, section=KCONFIG_SECTION,
        )

    def _resolve_slot_refs(self, programs: dict[str, ObjectProgramSpec]) -> None:
        for name, spec in self.maps.items():
            for _, target in spec.slot_refs:
                if spec.type == MapType.PROG_ARRAY and target not in programs:
                    raise self.fail(f"map {name!r} initialiser names {target!r}, which is not a program")
                if spec.type != MapType.PROG_ARRAY and target not in self.maps:
                    raise self.fail(f"map {name!r} initialiser names {target!r}, which is not a map")

    # ----- functions -----

    def _functions(self, code: list[Section]) -> dict[tuple[int, int], _Function]:
        """Every function, keyed by (section index, first instruction)."""
        functions: dict[tuple[int, int], _Function] = {}
        for section in code:
            if section.size % 8:
                raise self.fail(f"section {section.name!r} size {section.size} is not a multiple of 8")
            count = section.size // 8
            syms = sorted((s for s in self.symbols if s.shndx == section.index and s.type == SymbolType.FUNC),
                          key=lambda s: s.value)
            if not syms:
                functions[(section.index, 0)] = _Function(section, section.name.replace("/", "_"), 0, count, True)
                continue
            for i, sym in enumerate(syms):
                start = sym.value // 8
                end = start + sym.size // 8 if sym.size else (syms[i + 1].value // 8 if i + 1 < len(syms) else count)
                if sym.value % 8 or not start < end <= count:
                    raise self.fail(f"function {sym.name!r} lies outside section {section.name!r}")
                functions[(section.index, start)] = _Function(section, sym.name, start, end,
                                                              sym.bind != SymbolBind.LOCAL)
        return functions


class _Linker:
    """Builds each program's instruction stream: its own function, then every sub-program it reaches."""

    def __init__(self, parser: _Parser, functions: dict[tuple[int, int], _Function],
                 ext: Optional[RawBTFExt]) -> None:
        self.p = parser
        self.functions = functions
        self.ext = ext
        self.relocs: dict[int, dict[int, Any]] = {}
        for section_index in {key[0] for key in functions}:
            section = parser.elf.section_at(section_index)
            table: dict[int, Any] = {}
            for reloc in parser.elf.relocations_for(section):
                if reloc.offset % 8:
                    raise parser.fail(f"relocation at {reloc.offset:#x} in {section.name!r} is not on an instruction")
                if reloc.symbol >= len(parser.symbols):
                    raise parser.fail(f"relocation in {section.name!r} names symbol #{reloc.symbol}")
                table[reloc.offset // 8] = parser.symbols[reloc.symbol]
            self.relocs[section_index] = table
        self.src_of = (lambda regs: regs >> 4) if parser.byte_order == "little" else (lambda regs: regs & 0xF)

    def link(self, main: _Function) -> tuple[bytearray, list[Reference], list[CoreRelo], bytes, bytes]:
        p = self.p
        out = bytearray()
        refs: list[Reference] = []
        relos: list[CoreRelo] = []
        finfo: list[bytes] = []
        linfo: list[bytes] = []
        placed: dict[tuple[int, int], int] = {}
        queue = [main]
        placed[(main.section.index, main.start)] = 0
        position = 0
        while position < len(queue):
            function = queue[position]
            position += 1
            base = placed[(function.section.index, function.start)]
            code = function.section.data()[function.start * 8:function.end * 8]
            out += code
            self._copy_ext(function, base, relos, finfo, linfo)
            table = self.relocs.get(function.section.index, {})
            for slot in range(function.start, function.end):
                at = (base + slot - function.start) * 8
                opcode = out[at]
                if opcode in (CALL, LD_IMM64):
                    symbol = table.get(slot)
                    self._instruction(function, slot, base, at, symbol, out, refs, placed, queue)
                elif slot in table and opcode not in (0x00,):
                    symbol = table[slot]
                    raise p.fail(f"{function.name}: relocation against {symbol.name!r} on an instruction that "
                                 f"is neither ld_imm64 nor call (opcode {opcode:#04x})")
        if len(out) // 8 > 1_000_000:
            raise p.fail(f"program {main.name!r} is too large")
        return out, refs, relos, b"".join(finfo), b"".join(linfo)

    def _copy_ext(self, function: _Function, base: int, relos: list[CoreRelo], finfo: list[bytes],
                  linfo: list[bytes]) -> None:
        if self.ext is None:
            return
        section = function.section.name
        lo, hi = function.start * 8, function.end * 8
        order = self.p.order
        for record in self.ext.func_info.get(section, ()):
            if record.insn_off == lo:
                finfo.append(struct.pack(order + "I", base) + record.data[4:])
        for record in self.ext.line_info.get(section, ()):
            if lo <= record.insn_off < hi:
                linfo.append(struct.pack(order + "I", base + (record.insn_off - lo) // 8) + record.data[4:])
        for relo in self.ext.core_relos.get(section, ()):
            if lo <= relo.insn_off < hi:
                relos.append(dataclasses.replace(relo, insn_off=(base + (relo.insn_off - lo) // 8) * 8))

    def _instruction(self, function: _Function, slot: int, base: int, at: int, symbol: Optional[Symbol],
                     out: bytearray, refs: list[Reference], placed: dict[tuple[int, int], int],
                     queue: list[_Function]) -> None:
        p = self.p
        code, regs, off, imm = p.insn.unpack_from(out, at)
        src = self.src_of(regs)
        index = base + slot - function.start
        if code == CALL:
            if symbol is not None and symbol.shndx == SHN_UNDEF:
                refs.append(Reference(index, KFUNC, symbol.name))
            elif src == PSEUDO_CALL:
                target_section = function.section.index if symbol is None else symbol.shndx
                target = (slot if symbol is None else symbol.value // 8) + imm + 1
                callee_base = self._place(target_section, target, function, placed, queue)
                p.insn.pack_into(out, at, code, regs, off, callee_base - index - 1)
            return
        if symbol is None:
            return
        if at + 16 > len(out):
            raise p.fail(f"{function.name}: ld_imm64 at the end of the function")
        if src == PSEUDO_FUNC or self._is_code(symbol):
            if (symbol.value + imm) % 8:
                raise p.fail(f"{function.name}: function address {symbol.value + imm} is not on an instruction")
            target = (symbol.value + imm) // 8
            regs = (regs & 0x0F) | (PSEUDO_FUNC << 4) if p.byte_order == "little" else (regs & 0xF0) | PSEUDO_FUNC
            callee_base = self._place(symbol.shndx, target, function, placed, queue)
            p.insn.pack_into(out, at, code, regs, off, callee_base - index - 1)
            return
        if symbol.shndx == SHN_UNDEF:
            extern = p.externs.get(symbol.name)
            if extern is None:
                raise p.fail(f"{function.name}: unresolved extern {symbol.name!r}",
                             "only __kconfig and __ksym externs can be resolved at load time")
            refs.append(Reference(index, KCONFIG if extern.kind == KCONFIG else KSYM, symbol.name))
            return
        if symbol.shndx >= SHN_LORESERVE:
            raise p.fail(f"{function.name}: relocation against special symbol {symbol.name!r}")
        map_name = p.map_at.get((symbol.shndx, symbol.value))
        if map_name is not None:
            refs.append(Reference(index, MAP, map_name))
            return
        data = p.data_by_index.get(symbol.shndx)
        if data is not None:
            offset = symbol.value if symbol.type != SymbolType.SECTION else 0
            refs.append(Reference(index, MAP_VALUE, data, offset))
            return
        section = p.elf.section_at(symbol.shndx)
        raise p.fail(f"{function.name}: ld_imm64 refers to {symbol.name or section.name!r} in section "
                     f"{section.name!r}, which is neither a map nor global data")

    def _is_code(self, symbol: Symbol) -> bool:
        """A function address (``bpf_loop(n, callback, ...)``): clang 14 leaves src 0, libbpf makes it PSEUDO_FUNC."""
        return symbol.shndx != SHN_UNDEF and symbol.shndx < SHN_LORESERVE and any(
            key[0] == symbol.shndx for key in self.functions)

    def _place(self, section_index: int, target: int, caller: _Function, placed: dict[tuple[int, int], int],
               queue: list[_Function]) -> int:
        """The linked position of the function starting at ``target`` of ``section_index``, appending it first."""
        callee = self.functions.get((section_index, target))
        if callee is None:
            raise self.p.fail(f"{caller.name}: call to instruction {target} of section #{section_index}, "
                              "which starts no function")
        key = (section_index, target)
        if key not in placed:
            last = queue[-1]
            last_base = placed[(last.section.index, last.start)]
            placed[key] = last_base + last.end - last.start
            queue.append(callee)
        return placed[key]


__all__ = [
    "DataSection",
    "Extern",
    "ObjectMapSpec",
    "ObjectProgramSpec",
    "ObjectSpec",
    "Reference",
    "StructOpsMember",
    "StructOpsSpec",
    "Variable",
    "internal_map_name",
    "load_object_spec",
    "object_name",
]
