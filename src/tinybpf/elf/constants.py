"""ELF constants with the names ``<elf.h>`` gives them (``SHT_RELA`` -> ``SectionType.RELA``).

Only the values tinybpf reads are listed; unknown values stay plain ints on the records, so an
object from a newer toolchain still parses.
"""
from __future__ import annotations

import enum


class ElfType(enum.IntEnum):
    """``e_type``: relocatable objects (``.bpf.o``) versus executables and shared libraries."""

    NONE = 0
    REL = 1
    EXEC = 2
    DYN = 3
    CORE = 4


class Machine(enum.IntEnum):
    """``e_machine`` values of the architectures tinybpf loads or symbolises."""

    I386 = 3
    ARM = 40
    X86_64 = 62
    AARCH64 = 183
    RISCV = 243
    BPF = 247


class SectionType(enum.IntEnum):
    """``sh_type``."""

    NULL = 0
    PROGBITS = 1
    SYMTAB = 2
    STRTAB = 3
    RELA = 4
    HASH = 5
    DYNAMIC = 6
    NOTE = 7
    NOBITS = 8
    REL = 9
    DYNSYM = 11
    INIT_ARRAY = 14
    FINI_ARRAY = 15
    GROUP = 17
    SYMTAB_SHNDX = 18
    LLVM_ADDRSIG = 0x6FFF4C03
    GNU_HASH = 0x6FFFFFF6
    GNU_VERDEF = 0x6FFFFFFD
    GNU_VERNEED = 0x6FFFFFFE
    GNU_VERSYM = 0x6FFFFFFF


class SectionFlag(enum.IntFlag):
    """``sh_flags``: the loader keys program sections on ``EXECINSTR`` and data maps on ``WRITE``."""

    WRITE = 0x1
    ALLOC = 0x2
    EXECINSTR = 0x4
    MERGE = 0x10
    STRINGS = 0x20
    INFO_LINK = 0x40


class SegmentType(enum.IntEnum):
    """``p_type``."""

    NULL = 0
    LOAD = 1
    DYNAMIC = 2
    INTERP = 3
    NOTE = 4
    PHDR = 6
    TLS = 7
    GNU_EH_FRAME = 0x6474E550
    GNU_STACK = 0x6474E551
    GNU_RELRO = 0x6474E552
    GNU_PROPERTY = 0x6474E553


class SegmentFlag(enum.IntFlag):
    """``p_flags``: a uprobe target must sit in an executable (``X``) segment."""

    X = 0x1
    W = 0x2
    R = 0x4


class SymbolType(enum.IntEnum):
    """``ELF_ST_TYPE(st_info)``."""

    NOTYPE = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4
    COMMON = 5
    TLS = 6
    GNU_IFUNC = 10


class SymbolBind(enum.IntEnum):
    """``ELF_ST_BIND(st_info)``."""

    LOCAL = 0
    GLOBAL = 1
    WEAK = 2
    GNU_UNIQUE = 10


class SymbolVisibility(enum.IntEnum):
    """``ELF_ST_VISIBILITY(st_other)``."""

    DEFAULT = 0
    INTERNAL = 1
    HIDDEN = 2
    PROTECTED = 3


SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF

NT_GNU_BUILD_ID = 3


class BPFRelocation(enum.IntEnum):
    """``R_BPF_*``: how a BPF object's relocations patch their target."""

    NONE = 0
    R_64_64 = 1  # the 64-bit immediate of an ld_imm64 (map and global references)
    R_64_ABS64 = 2  # a 64-bit data word (map-in-map and prog-array initialisers, DWARF)
    R_64_ABS32 = 3  # a 32-bit data word (BTF and DWARF sections)
    R_64_NODYLD32 = 4  # a 32-bit word the dynamic loader leaves alone (.BTF.ext instruction offsets)
    R_64_32 = 10  # the immediate of a bpf-to-bpf call
