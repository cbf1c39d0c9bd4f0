"""A lazy ELF reader: headers, sections, segments, symbols, relocations and notes.

Two callers shape it: the object loader reads clang's ``.bpf.o`` files (ELF64 relocatable, EM_BPF, either
byte order), and uprobes/stack symbolisation read user binaries (ELF32 or ELF64 executables and shared
libraries). Both want a few tables out of a possibly large file, so nothing is decoded until asked for and
the record tables go through precompiled ``struct.Struct.iter_unpack`` over a ``memoryview`` of the file
(an ``mmap`` for :meth:`ElfFile.from_path`).

Every offset and size read from the file is checked before use: corrupt input raises
:class:`~tinybpf.errors.FormatError` naming the file and the table, never ``struct.error`` or ``IndexError``.
"""
from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from tinybpf.elf.constants import (
    NT_GNU_BUILD_ID,
    SHN_LORESERVE,
    SHN_UNDEF,
    SHN_XINDEX,
    ElfType,
    SectionType,
    SegmentType,
)
from tinybpf.errors import FormatError

ELF_MAGIC = b"\x7fELF"
_EI_NIDENT = 16


class _Layout:
    """The precompiled record formats of one (class, byte order) pair."""

    def __init__(self, bits: int, order: str) -> None:
        wide = bits == 64
        self.bits = bits
        self.header = struct.Struct(order + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"))
        self.section = struct.Struct(order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
        # ELF32 program headers put p_flags after p_memsz; ELF64 moved it up for alignment.
        self.segment = struct.Struct(order + ("IIQQQQQQ" if wide else "IIIIIIII"))
        self.symbol = struct.Struct(order + ("IBBHQQ" if wide else "IIIBBH"))
        # ELF64 r_info is (sym << 32 | type): unpacking it as two u32 gives both halves without arithmetic,
        # type first on little-endian, symbol first on big-endian.
        self.rel = struct.Struct(order + ("QII" if wide else "II"))
        self.rela = struct.Struct(order + ("QIIq" if wide else "IIi"))
        self.note = struct.Struct(order + "III")
        self.word = struct.Struct(order + "I")


_LAYOUTS = {(bits, data): _Layout(bits, "<" if data == 1 else ">") for bits in (32, 64) for data in (1, 2)}


@dataclass(frozen=True)
class ElfHeader:
    """The fields of the ELF header (``Elf64_Ehdr``) a reader needs; ``bits`` and ``byte_order`` come from e_ident."""

    bits: int
    byte_order: str
    osabi: int
    type: int
    machine: int
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


@dataclass(frozen=True)
class Segment:
    """A program header; ``PT_LOAD`` ones map file offsets to virtual addresses."""

    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


@dataclass(frozen=True, eq=False)
class Section:
    """A section header with its name; :meth:`data` reads the bytes only when called."""

    elf: ElfFile
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int

    def data(self) -> memoryview:
        """The section's bytes (empty for ``SHT_NOBITS`` such as ``.bss``, which occupy no file space)."""
        if self.type == SectionType.NOBITS:
            return memoryview(b"")
        return self.elf._slice(self.offset, self.size, f"section {self.name!r}")

    def __repr__(self) -> str:
        return f"Section({self.index}, {self.name!r}, type={self.type:#x}, offset={self.offset:#x}, size={self.size})"


class Symbol(NamedTuple):
    """An ``Elf_Sym``; a tuple because files hold hundreds of thousands and each must be cheap to make.

    A symbol's index in its table is its position in the list :meth:`ElfFile.symbols` returns, which is
    what relocations refer to.
    """

    name: str
    value: int
    size: int
    info: int
    other: int
    shndx: int

    @property
    def type(self) -> int:
        """``STT_*`` (a :class:`SymbolType` value)."""
        return self.info & 0xF

    @property
    def bind(self) -> int:
        """``STB_*`` (a :class:`SymbolBind` value)."""
        return self.info >> 4

    @property
    def visibility(self) -> int:
        """``STV_*`` (a :class:`SymbolVisibility` value)."""
        return self.other & 0x3

    @property
    def defined(self) -> bool:
        """True when the symbol lives in a section of this file (not undefined, absolute or common)."""
        return self.shndx != SHN_UNDEF and self.shndx < SHN_LORESERVE


class Relocation(NamedTuple):
    """An ``Elf_Rel``/``Elf_Rela`` entry; ``addend`` is 0 for ``SHT_REL``, whose addend sits in the section bytes."""

    offset: int
    symbol: int
    type: int
    addend: int


class Note(NamedTuple):
    """An ELF note: ``name`` is the owner (``"GNU"``, ``"stapsdt"``), ``type`` is owner-specific."""

    name: str
    type: int
    desc: bytes


ElfData = Union[bytes, bytearray, memoryview, mmap.mmap]


class ElfFile:
    """An ELF file held in memory; sections, symbols and relocations are decoded on first use."""

    def __init__(self, data: ElfData, name: str = "<memory>") -> None:
        self.name = name
        self._data = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
        self.header = self._read_header()
        self._layout = _LAYOUTS[(self.header.bits, 1 if self.header.byte_order == "little" else 2)]
        self._sections: Optional[list[Section]] = None
        self._by_name: Optional[dict[str, Section]] = None
        self._segments: Optional[list[Segment]] = None
        self._symbol_cache: dict[int, list[Symbol]] = {}

    @classmethod
    def from_path(cls, path: Union[str, os.PathLike]) -> ElfFile:
        """Map the file read-only; large binaries cost only the pages the lookups touch. Only a regular file
        can be an object: ``/dev/zero`` or a FIFO would be read without end."""
        if not stat.S_ISREG(os.stat(path).st_mode):  # checked before open(), which waits on a FIFO
            raise FormatError(f"{os.fspath(path)}: not an ELF file (not a regular file)")
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return cls(file.read(), name=str(os.fspath(path)))
            data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(data, name=str(os.fspath(path)))

    def _fail(self, what: str) -> FormatError:
        return FormatError(f"{self.name}: {what}")

    def _read_header(self) -> ElfHeader:
        ident = bytes(self._data[:_EI_NIDENT])
        if len(ident) < _EI_NIDENT or ident[:4] != ELF_MAGIC:
            raise self._fail("not an ELF file (bad magic)")
        bits = {1: 32, 2: 64}.get(ident[4])
        if bits is None or ident[5] not in (1, 2):
            raise self._fail(f"unsupported ELF class {ident[4]} / data encoding {ident[5]}")
        layout = _LAYOUTS[(bits, ident[5])]
        if len(self._data) < _EI_NIDENT + layout.header.size:
            raise self._fail("truncated ELF header")
        fields = layout.header.unpack_from(self._data, _EI_NIDENT)
        etype, machine, version, entry, phoff, shoff, flags, _ehsize, phentsize, phnum, shentsize, shnum, shstrndx = (
            fields
        )
        return ElfHeader(
            bits, "little" if ident[5] == 1 else "big", ident[7], etype, machine, version, entry, phoff, shoff,
            flags, phentsize, phnum, shentsize, shnum, shstrndx,
        )

    def _slice(self, offset: int, size: int, what: str) -> memoryview:
        if offset + size > len(self._data):
            raise self._fail(f"{what} at {offset:#x}+{size:#x} runs past the end of the file ({len(self._data):#x})")
        return self._data[offset : offset + size]

    # Sections -------------------------------------------------------------------------------------------

    @property
    def sections(self) -> list[Section]:
        """All section headers in file order (index 0 is the null section)."""
        if self._sections is None:
            self._sections = self._read_sections()
        return self._sections

    def _read_sections(self) -> list[Section]:
        header, fmt = self.header, self._layout.section
        if header.shoff == 0:
            return []
        if header.shentsize != fmt.size:
            raise self._fail(f"section header size {header.shentsize}, expected {fmt.size}")
        count, shstrndx = header.shnum, header.shstrndx
        if count == 0 or shstrndx == SHN_XINDEX:
            # More than 0xff00 sections: the real numbers live in section 0 (gABI "extended section numbering").
            first = fmt.unpack_from(self._slice(header.shoff, fmt.size, "section header 0"))
            count = count or first[5]
            if shstrndx == SHN_XINDEX:
                shstrndx = first[6]
        table = self._slice(header.shoff, count * fmt.size, "section header table")
        raw = list(fmt.iter_unpack(table))
        if shstrndx >= len(raw):
            raise self._fail(f"section name table index {shstrndx} out of range ({len(raw)} sections)")
        names_header = raw[shstrndx]
        names = b"" if shstrndx == SHN_UNDEF else bytes(self._slice(names_header[4], names_header[5], "section names"))
        sections = []
        for index, (name_off, *rest) in enumerate(raw):
            sections.append(Section(self, index, _cstring(names, name_off, self, "section name"), *rest))
        return sections

    def section(self, name: str) -> Optional[Section]:
        """The first section called ``name``, or None."""
        if self._by_name is None:
            self._by_name = {}
            for section in self.sections:
                self._by_name.setdefault(section.name, section)
        return self._by_name.get(name)

    def section_at(self, index: int) -> Section:
        """Section number ``index`` (as found in ``sh_link``, ``sh_info`` or a symbol's ``st_shndx``)."""
        sections = self.sections
        if not 0 <= index < len(sections):
            raise self._fail(f"section index {index} out of range ({len(sections)} sections)")
        return sections[index]

    # Segments -------------------------------------------------------------------------------------------

    @property
    def segments(self) -> list[Segment]:
        """All program headers (empty for relocatable objects)."""
        if self._segments is None:
            header, fmt = self.header, self._layout.segment
            if header.phoff == 0 or header.phnum == 0:
                self._segments = []
            elif header.phentsize != fmt.size:
                raise self._fail(f"program header size {header.phentsize}, expected {fmt.size}")
            else:
                table = self._slice(header.phoff, header.phnum * fmt.size, "program header table")
                if header.bits == 64:
                    self._segments = [Segment(*fields) for fields in fmt.iter_unpack(table)]
                else:
                    self._segments = [
                        Segment(kind, flags, offset, vaddr, paddr, filesz, memsz, align)
                        for kind, offset, vaddr, paddr, filesz, memsz, flags, align in fmt.iter_unpack(table)
                    ]
        return self._segments

    def vaddr_to_offset(self, vaddr: int) -> Optional[int]:
        """The file offset backing virtual address ``vaddr``, through the ``PT_LOAD`` segment holding it.

        This is what ``perf_event_open`` wants for a uprobe: the kernel places probes by file offset.
        """
        for segment in self.segments:
            if segment.type == SegmentType.LOAD and segment.vaddr <= vaddr < segment.vaddr + segment.filesz:
                return segment.offset + (vaddr - segment.vaddr)
        return None

    def symbol_offset(self, symbol: Symbol) -> Optional[int]:
        """The file offset of ``symbol``'s first byte, or None when it has none (undefined, absolute, bss).

        Relocatable objects have no segments: there the value is an offset into the symbol's section.
        """
        if not symbol.defined:
            return None
        if self.header.type == ElfType.REL:
            section = self.section_at(symbol.shndx)
            if section.type == SectionType.NOBITS:
                return None
            return section.offset + symbol.value
        return self.vaddr_to_offset(symbol.value)

    # Symbols --------------------------------------------------------------------------------------------

    def symbols(self) -> list[Symbol]:
        """The ``.symtab`` entries (SHT_SYMTAB), or an empty list for a stripped file."""
        return self._symbols_of_type(SectionType.SYMTAB)

    def dynamic_symbols(self) -> list[Symbol]:
        """The ``.dynsym`` entries (SHT_DYNSYM): what a stripped shared library still exports."""
        return self._symbols_of_type(SectionType.DYNSYM)

    def _symbols_of_type(self, kind: int) -> list[Symbol]:
        for section in self.sections:
            if section.type == kind:
                return self.read_symbols(section)
        return []

    def read_symbols(self, section: Section) -> list[Symbol]:
        """Decode a symbol table section (cached); names come from the string table its ``sh_link`` names."""
        cached = self._symbol_cache.get(section.index)
        if cached is not None:
            return cached
        fmt = self._layout.symbol
        data = section.data()
        if len(data) % fmt.size:
            raise self._fail(f"symbol table {section.name!r} size {len(data)} is not a multiple of {fmt.size}")
        strings = bytes(self.section_at(section.link).data())
        find = strings.find
        symbols: list[Symbol] = []
        append = symbols.append
        if self.header.bits == 64:
            for name_off, info, other, shndx, value, size in fmt.iter_unpack(data):
                end = find(b"\0", name_off)
                if end < 0:
                    raise self._fail(f"symbol name offset {name_off} outside {section.name!r}'s string table")
                append(Symbol(str(strings[name_off:end], "utf-8", "replace"), value, size, info, other, shndx))
        else:
            for name_off, value, size, info, other, shndx in fmt.iter_unpack(data):
                end = find(b"\0", name_off)
                if end < 0:
                    raise self._fail(f"symbol name offset {name_off} outside {section.name!r}'s string table")
                append(Symbol(str(strings[name_off:end], "utf-8", "replace"), value, size, info, other, shndx))
        if any(symbol.shndx == SHN_XINDEX for symbol in symbols):
            symbols = self._extend_section_indexes(section, symbols)
        self._symbol_cache[section.index] = symbols
        return symbols

    def _extend_section_indexes(self, table: Section, symbols: list[Symbol]) -> list[Symbol]:
        """Replace ``SHN_XINDEX`` by the real section index from the ``SHT_SYMTAB_SHNDX`` table beside ``table``."""
        for section in self.sections:
            if section.type == SectionType.SYMTAB_SHNDX and section.link == table.index:
                data = section.data()
                word = self._layout.word
                if len(data) < len(symbols) * word.size:
                    raise self._fail(f"{section.name!r} is shorter than its symbol table")
                indexes = [fields[0] for fields in word.iter_unpack(data[: len(symbols) * word.size])]
                return [
                    symbol._replace(shndx=indexes[i]) if symbol.shndx == SHN_XINDEX else symbol
                    for i, symbol in enumerate(symbols)
                ]
        raise self._fail(f"symbol table {table.name!r} uses SHN_XINDEX but has no SHT_SYMTAB_SHNDX section")

    # Relocations ----------------------------------------------------------------------------------------

    def relocations(self, section: Section) -> list[Relocation]:
        """Decode one ``SHT_REL`` or ``SHT_RELA`` section; symbol numbers index the table ``sh_link`` names."""
        if section.type not in (SectionType.REL, SectionType.RELA):
            raise self._fail(f"section {section.name!r} is not a relocation section")
        rela = section.type == SectionType.RELA
        layout = self._layout
        fmt = layout.rela if rela else layout.rel
        data = section.data()
        if len(data) % fmt.size:
            raise self._fail(f"relocation section {section.name!r} size {len(data)} is not a multiple of {fmt.size}")
        records = fmt.iter_unpack(data)
        if layout.bits == 64:
            little = self.header.byte_order == "little"
            if rela and little:
                return [Relocation(offset, sym, kind, addend) for offset, kind, sym, addend in records]
            if rela:
                return [Relocation(offset, sym, kind, addend) for offset, sym, kind, addend in records]
            if little:
                return [Relocation(offset, sym, kind, 0) for offset, kind, sym in records]
            return [Relocation(offset, sym, kind, 0) for offset, sym, kind in records]
        if rela:
            return [Relocation(offset, info >> 8, info & 0xFF, addend) for offset, info, addend in records]
        return [Relocation(offset, info >> 8, info & 0xFF, 0) for offset, info in records]

    def relocation_sections(self, target: Section) -> list[Section]:
        """The ``SHT_REL``/``SHT_RELA`` sections whose ``sh_info`` says they patch ``target``."""
        return [
            section
            for section in self.sections
            if section.type in (SectionType.REL, SectionType.RELA) and section.info == target.index
        ]

    def relocations_for(self, target: Section) -> list[Relocation]:
        """Every relocation applying to ``target`` (``.rel.text`` for ``.text``, say), in file order."""
        found: list[Relocation] = []
        for section in self.relocation_sections(target):
            found.extend(self.relocations(section))
        return found

    # Notes ----------------------------------------------------------------------------------------------

    def notes(self, section: Optional[Section] = None) -> list[Note]:
        """The notes of ``section``, or of every ``SHT_NOTE`` section when None (build-id, ``.note.stapsdt``)."""
        if section is None:
            found: list[Note] = []
            for candidate in self.sections:
                if candidate.type == SectionType.NOTE:
                    found.extend(self.notes(candidate))
            return found
        return self._read_notes(section.data(), 8 if section.addralign == 8 else 4, section.name)

    def _read_notes(self, data: memoryview, align: int, where: str) -> list[Note]:
        fmt = self._layout.note
        notes = []
        offset = 0
        while offset + fmt.size <= len(data):
            namesz, descsz, kind = fmt.unpack_from(data, offset)
            name_start = offset + fmt.size
            desc_start = _align(name_start + namesz, align)
            end = desc_start + descsz
            if end > len(data):
                raise self._fail(f"note in {where!r} at {offset:#x} runs past the section end")
            name = str(bytes(data[name_start : name_start + namesz]).rstrip(b"\0"), "utf-8", "replace")
            notes.append(Note(name, kind, bytes(data[desc_start:end])))
            offset = _align(end, align)
        return notes

    def build_id(self) -> Optional[bytes]:
        """The GNU build-id (``NT_GNU_BUILD_ID``) that names this binary in debuginfo caches, if it has one."""
        for note in self.notes():
            if note.name == "GNU" and note.type == NT_GNU_BUILD_ID:
                return note.desc
        return None

    def __repr__(self) -> str:
        header = self.header
        return f"ElfFile({self.name!r}, ELF{header.bits} {header.byte_order}, type={header.type}, machine={header.machine})"


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


def _cstring(table: bytes, offset: int, elf: ElfFile, what: str) -> str:
    if not table:
        return ""  # e_shstrndx is SHN_UNDEF: the file has no section names
    end = table.find(b"\0", offset)
    if end < 0:
        raise elf._fail(f"{what} offset {offset} outside its string table")
    return str(table[offset:end], "utf-8", "replace")
