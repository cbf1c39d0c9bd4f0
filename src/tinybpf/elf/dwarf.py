"""A small DWARF 4/5 reader: the debugging information entries (DIEs) of a binary's compile units.

Uprobes want the parameters of a function and the C types behind them (``args.NAME``, ``-lv`` listings,
casts to a program's own structs). This reads ``.debug_info`` with its abbreviations and string tables into a
tree of :class:`Die` values, and follows split DWARF: a skeleton unit names a ``.dwo`` file next to the
binary, or a ``.dwp`` package holds them all. Location lists, macros and frame data are not read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from tinybpf.elf.reader import ElfFile
from tinybpf.errors import FormatError

# tags
TAG_ARRAY = 0x01
TAG_ENUM = 0x04
TAG_FORMAL_PARAMETER = 0x05
TAG_MEMBER = 0x0D
TAG_POINTER = 0x0F
TAG_COMPILE_UNIT = 0x11
TAG_STRUCT = 0x13
TAG_SUBROUTINE_TYPE = 0x15
TAG_TYPEDEF = 0x16
TAG_UNION = 0x17
TAG_SUBRANGE = 0x21
TAG_BASE = 0x24
TAG_CONST = 0x26
TAG_SUBPROGRAM = 0x2E
TAG_VOLATILE = 0x35
TAG_RESTRICT = 0x37
TAG_SKELETON_UNIT = 0x4A
# attributes
AT_NAME = 0x03
AT_BYTE_SIZE = 0x0B
AT_STMT_LIST = 0x10
AT_LOW_PC = 0x11
AT_HIGH_PC = 0x12
AT_COMP_DIR = 0x1B
AT_UPPER_BOUND = 0x2F
AT_COUNT = 0x37
AT_DATA_MEMBER_LOCATION = 0x38
AT_DECLARATION = 0x3C
AT_ENCODING = 0x3E
AT_SPECIFICATION = 0x47
AT_TYPE = 0x49
AT_DATA_BIT_OFFSET = 0x6B
AT_BIT_SIZE = 0x0D
AT_STR_OFFSETS_BASE = 0x72
AT_ADDR_BASE = 0x73
AT_DWO_NAME = 0x76
AT_GNU_DWO_NAME = 0x2130
AT_GNU_DWO_ID = 0x2131
AT_GNU_ADDR_BASE = 0x2133

_REF_FORMS = {0x11, 0x12, 0x13, 0x14, 0x15}
_STRX_FORMS = {0x1A: 0, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x1F02: 0}
_ADDRX_FORMS = {0x1B: 0, 0x29: 1, 0x2A: 2, 0x2B: 3, 0x2C: 4, 0x1F01: 0}
_FIXED = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x0C: 1, 0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8, 0x1E: 16, 0x20: 8,
          0x1C: 4, 0x24: 8}


@dataclass
class Die:
    """One debugging information entry: its tag, attributes (form-decoded, references as absolute offsets
    into the unit's section) and children."""

    offset: int
    tag: int
    attrs: dict[int, Any]
    children: list[Die] = field(default_factory=list)

    @property
    def name(self) -> str:
        value = self.attrs.get(AT_NAME)
        return value if isinstance(value, str) else ""


class _Cursor:
    """Reads little-endian DWARF encodings from a byte buffer."""

    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data = data
        self.at = at

    def fixed(self, size: int) -> int:
        value = int.from_bytes(self.data[self.at:self.at + size], "little")
        self.at += size
        return value

    def _leb(self) -> tuple[int, int, int]:
        """A LEB128 number's low bits, its width in bits and its last byte (whose bit 6 is a signed one's sign)."""
        result = shift = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, shift, byte

    def uleb(self) -> int:
        return self._leb()[0]

    def sleb(self) -> int:
        result, shift, last = self._leb()
        return result - (1 << shift) if last & 0x40 else result

    def cstring(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at:end].decode(errors="replace")
        self.at = end + 1
        return text


def _cstring_at(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    return data[offset:end if end >= 0 else len(data)].decode(errors="replace")


class _Sections:
    """The debug sections of one file (``suffix`` is ``.dwo`` for split units)."""

    def __init__(self, elf: ElfFile, suffix: str = "") -> None:
        def get(name: str) -> bytes:
            section = elf.section(name + suffix)
            return bytes(section.data()) if section is not None else b""

        self.info = get(".debug_info")
        self.abbrev = get(".debug_abbrev")
        self.str = get(".debug_str")
        self.str_offsets = get(".debug_str_offsets")
        self.line_str = get(".debug_line_str")
        self.addr = get(".debug_addr")
        self.line = get(".debug_line")


@dataclass
class Unit:
    """A compile unit: its root DIE and the values its line table and split parts need."""

    root: Die
    version: int
    comp_dir: str
    dwo_id: Optional[int]


class DwarfInfo:
    """All compile units of a binary (with its split ``.dwo``/``.dwp`` parts), and the DIEs by offset."""

    def __init__(self, elf: ElfFile, path: str) -> None:
        self.elf = elf
        self.path = path
        self.sections = _Sections(elf)
        self.units: list[Unit] = []
        self.dies: dict[tuple[int, int], Die] = {}
        self._parse(self.sections, 0)

    @classmethod
    def from_path(cls, path: str) -> DwarfInfo:
        return cls(ElfFile.from_path(path), path)

    def _parse(self, sec: _Sections, space: int, skeleton: Optional[Unit] = None) -> None:
        """Read every unit of ``sec``; ``space`` keeps split files' offsets apart from the binary's."""
        at = 0
        abbrev_cache: dict[int, dict[int, tuple[int, bool, list[tuple[int, int, int]]]]] = {}
        while at + 11 <= len(sec.info):
            c = _Cursor(sec.info, at)
            length = c.fixed(4)
            if length == 0xFFFFFFFF:
                raise FormatError(f"{self.path}: 64-bit DWARF is not supported")
            end = c.at + length
            version = c.fixed(2)
            dwo_id = None
            if version >= 5:
                unit_type = c.fixed(1)
                addr_size = c.fixed(1)
                abbrev_offset = c.fixed(4)
                if unit_type in (4, 5):  # skeleton, split compile
                    dwo_id = c.fixed(8)
                elif unit_type in (2, 6):  # type units
                    c.fixed(12)
            else:
                abbrev_offset = c.fixed(4)
                addr_size = c.fixed(1)
            if abbrev_offset not in abbrev_cache:
                abbrev_cache[abbrev_offset] = _abbrevs(sec.abbrev, abbrev_offset)
            unit_state = {"str_base": 8 if space and version >= 5 else 0, "addr_base": 0, "addr_size": addr_size}
            if skeleton is not None:
                unit_state["addr_base"] = skeleton.root.attrs.get(AT_ADDR_BASE,
                                                                  skeleton.root.attrs.get(AT_GNU_ADDR_BASE, 0))
            root = self._dies(sec, c, end, at, abbrev_cache[abbrev_offset], unit_state, space)
            at = end
            if root is None:
                continue
            dwo_id = root.attrs.get(AT_GNU_DWO_ID, dwo_id)
            comp_dir = root.attrs.get(AT_COMP_DIR, "") or (skeleton.comp_dir if skeleton else "")
            unit = Unit(root, version, comp_dir if isinstance(comp_dir, str) else "", dwo_id)
            if skeleton is not None:
                if skeleton.dwo_id in (None, dwo_id):
                    skeleton.root.children = root.children
                continue
            self.units.append(unit)
            if root.tag == TAG_SKELETON_UNIT or AT_GNU_DWO_NAME in root.attrs or AT_DWO_NAME in root.attrs:
                self._load_split(unit)

    def _dies(self, sec: _Sections, c: _Cursor, end: int, unit_at: int,
              abbrevs: dict[int, tuple[int, bool, list[tuple[int, int, int]]]], state: dict[str, int],
              space: int) -> Optional[Die]:
        stack: list[Die] = []
        root: Optional[Die] = None
        while c.at < end:
            offset = c.at
            code = c.uleb()
            if code == 0:
                if stack:
                    stack.pop()
                continue
            tag, has_children, specs = abbrevs[code]
            attrs: dict[int, Any] = {}
            for attr, form, implicit in specs:
                attrs[attr] = self._value(sec, c, form, implicit, unit_at, state, space)
            if tag in (TAG_COMPILE_UNIT, TAG_SKELETON_UNIT):
                state["str_base"] = attrs.get(AT_STR_OFFSETS_BASE, state["str_base"])
                state["addr_base"] = attrs.get(AT_ADDR_BASE, state["addr_base"])
                for key, value in list(attrs.items()):  # strx forms read before the base was known
                    if isinstance(value, _Strx):
                        attrs[key] = self._strx(sec, value.index, state)
            else:
                for key, value in list(attrs.items()):
                    if isinstance(value, _Strx):
                        attrs[key] = self._strx(sec, value.index, state)
            die = Die(offset + (space << 40), tag, attrs)
            self.dies[(space, offset)] = die
            if stack:
                stack[-1].children.append(die)
            elif root is None:
                root = die
            if has_children:
                stack.append(die)
        return root

    def _value(self, sec: _Sections, c: _Cursor, form: int, implicit: int, unit_at: int, state: dict[str, int],
               space: int) -> Any:
        if form == 0x16:  # indirect
            form = c.uleb()
        if form in _REF_FORMS:
            value = c.uleb() if form == 0x15 else c.fixed(_FIXED[form])
            return _Ref(space, unit_at + value)
        if form == 0x10:
            return _Ref(space, c.fixed(4))
        if form in _FIXED:
            return c.fixed(_FIXED[form])
        if form == 0x01:
            return c.fixed(state["addr_size"])
        if form == 0x08:
            return c.cstring()
        if form in (0x0E, 0x1D, 0x1F21):
            return _cstring_at(sec.str, c.fixed(4))
        if form == 0x1F:
            return _cstring_at(sec.line_str or self.sections.line_str, c.fixed(4))
        if form in _STRX_FORMS:
            size = _STRX_FORMS[form]
            return _Strx(c.fixed(size) if size else c.uleb())
        if form in _ADDRX_FORMS:
            size = _ADDRX_FORMS[form]
            index = c.fixed(size) if size else c.uleb()
            where = state["addr_base"] + index * state["addr_size"]
            return int.from_bytes(self.sections.addr[where:where + state["addr_size"]], "little")
        if form in (0x0D,):
            return c.sleb()
        if form in (0x0F, 0x22, 0x23):
            return c.uleb()
        if form in (0x17, 0x1F20):
            return c.fixed(4)
        if form in (0x09, 0x18):
            size = c.uleb()
        elif form == 0x0A:
            size = c.fixed(1)
        elif form == 0x03:
            size = c.fixed(2)
        elif form == 0x04:
            size = c.fixed(4)
        elif form == 0x19:
            return True
        elif form == 0x21:
            return implicit
        else:
            raise FormatError(f"{self.path}: unsupported DWARF form {form:#x}")
        block = bytes(c.data[c.at:c.at + size])
        c.at += size
        return block

    @staticmethod
    def _strx(sec: _Sections, index: int, state: dict[str, int]) -> str:
        where = state["str_base"] + index * 4
        return _cstring_at(sec.str, int.from_bytes(sec.str_offsets[where:where + 4], "little"))

    def _load_split(self, skeleton: Unit) -> None:
        """Attach the split unit's DIEs: from ``NAME.dwo`` (relative to the comp dir or the binary), else
        from ``BINARY.dwp``."""
        name = skeleton.root.attrs.get(AT_DWO_NAME) or skeleton.root.attrs.get(AT_GNU_DWO_NAME) or ""
        binary_dir = os.path.dirname(self.path)
        candidates = [os.path.join(skeleton.comp_dir, name), os.path.join(binary_dir, os.path.basename(name)),
                      self.path + ".dwp"]
        for candidate in candidates:
            if not os.path.isfile(candidate):
                continue
            try:
                split = ElfFile.from_path(candidate)
            except (OSError, FormatError):
                continue
            self._parse(_Sections(split, ".dwo"), len(self.units), skeleton)
            if skeleton.root.children:
                return

    # ------------------------------------------------------------------ queries

    def die(self, ref: Any) -> Optional[Die]:
        return self.dies.get((ref.space, ref.offset)) if isinstance(ref, _Ref) else None

    def type_of(self, die: Die) -> Optional[Die]:
        return self.die(die.attrs.get(AT_TYPE))

    def functions(self, name: str) -> list[Die]:
        """The subprograms called ``name`` that have code (declarations and abstract ones are skipped)."""
        found = []
        for unit in self.units:
            for die in unit.root.children:
                if die.tag != TAG_SUBPROGRAM or die.attrs.get(AT_DECLARATION):
                    continue
                own = die.name or self._specified_name(die)
                if own == name:
                    found.append(die)
        return found

    def _specified_name(self, die: Die) -> str:
        target = self.die(die.attrs.get(AT_SPECIFICATION))
        return target.name if target is not None else ""

    def parameters(self, function: Die) -> list[Die]:
        return [d for d in function.children if d.tag == TAG_FORMAL_PARAMETER]

    def records(self) -> dict[str, Die]:
        """Named struct and union definitions (``struct Foo``) across all units, first definition wins."""
        found: dict[str, Die] = {}
        for die in self.dies.values():
            if die.tag in (TAG_STRUCT, TAG_UNION) and die.name and not die.attrs.get(AT_DECLARATION):
                found.setdefault(("union " if die.tag == TAG_UNION else "struct ") + die.name, die)
        return found

    def type_name(self, die: Optional[Die]) -> str:
        """A type as bpftrace prints it: ``int``, ``int*``, ``struct Foo*``, ``const char*``."""
        if die is None:
            return "void"
        if die.tag == TAG_POINTER:
            return self.type_name(self.type_of(die)) + "*"
        if die.tag in (TAG_CONST, TAG_VOLATILE):
            word = "const" if die.tag == TAG_CONST else "volatile"
            return f"{word} {self.type_name(self.type_of(die))}"
        if die.tag == TAG_RESTRICT:
            return self.type_name(self.type_of(die))
        if die.tag in (TAG_STRUCT, TAG_UNION, TAG_ENUM):
            word = {TAG_STRUCT: "struct", TAG_UNION: "union", TAG_ENUM: "enum"}[die.tag]
            return f"{word} {die.name}" if die.name else f"{word} (anonymous)"
        if die.tag == TAG_ARRAY:
            dims = "".join(f"[{n}]" for n in self.dimensions(die))
            return self.type_name(self.type_of(die)) + dims
        if die.tag == TAG_SUBROUTINE_TYPE:
            return self.type_name(self.type_of(die)) + " (*)()"
        return die.name

    @staticmethod
    def dimensions(array: Die) -> list[int]:
        dims = []
        for sub in array.children:
            if sub.tag != TAG_SUBRANGE:
                continue
            if AT_COUNT in sub.attrs:
                dims.append(int(sub.attrs[AT_COUNT]))
            elif isinstance(sub.attrs.get(AT_UPPER_BOUND), int):
                dims.append(sub.attrs[AT_UPPER_BOUND] + 1)
            else:
                dims.append(0)
        return dims

    def strip(self, die: Optional[Die]) -> Optional[Die]:
        """The type under typedefs and qualifiers."""
        while die is not None and die.tag in (TAG_TYPEDEF, TAG_CONST, TAG_VOLATILE, TAG_RESTRICT):
            die = self.type_of(die)
        return die


@dataclass(frozen=True)
class _Ref:
    space: int
    offset: int


@dataclass(frozen=True)
class _Strx:
    index: int


def _abbrevs(data: bytes, offset: int) -> dict[int, tuple[int, bool, list[tuple[int, int, int]]]]:
    c = _Cursor(data, offset)
    table: dict[int, tuple[int, bool, list[tuple[int, int, int]]]] = {}
    while c.at < len(data):
        code = c.uleb()
        if code == 0:
            break
        tag = c.uleb()
        has_children = c.fixed(1) == 1
        specs = []
        while True:
            attr = c.uleb()
            form = c.uleb()
            implicit = c.sleb() if form == 0x21 else 0
            if attr == 0 and form == 0:
                break
            specs.append((attr, form, implicit))
        table[code] = (tag, has_children, specs)
    return table

