"""DWARF 4/5 line tables (``.debug_line``): which addresses a source line compiled to.

``uprobe:BIN@file.c:LINE`` attaches where the line's code starts; this runs each unit's line-number program
(the state machine of DWARF 5 section 6.2) and keeps the rows that begin a statement.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from tinybpf.elf.dwarf import DwarfInfo, _cstring_at, _Cursor

_LNCT_PATH = 1
_LNCT_DIRECTORY_INDEX = 2


class LineRow(NamedTuple):
    address: int
    file: str
    line: int


def line_rows(info: DwarfInfo) -> list[LineRow]:
    """The statement rows of every line program in ``info``'s binary."""
    data = info.sections.line
    rows: list[LineRow] = []
    at = 0
    while at + 4 <= len(data):
        length = int.from_bytes(data[at:at + 4], "little")
        end = at + 4 + length
        rows.extend(_program(info, data, at + 4, end))
        at = end
    return rows


def _program(info: DwarfInfo, data: bytes, at: int, end: int) -> list[LineRow]:
    c = _Cursor(data, at)
    version = c.fixed(2)
    if version >= 5:
        c.fixed(2)  # address size, segment selector size
    header_length = c.fixed(4)
    program_start = c.at + header_length
    min_inst = c.fixed(1)
    if version >= 4:
        c.fixed(1)  # maximum operations per instruction (VLIW only)
    default_is_stmt = c.fixed(1)
    line_base = c.fixed(1)
    line_base -= 256 if line_base >= 128 else 0
    line_range = c.fixed(1)
    opcode_base = c.fixed(1)
    lengths = [c.fixed(1) for _ in range(opcode_base - 1)]
    files = _files_v5(info, c) if version >= 5 else _files_v4(c)
    c.at = program_start
    rows: list[LineRow] = []
    address, file, line, is_stmt = 0, 1, 1, default_is_stmt
    while c.at < end:
        op = c.fixed(1)
        if op >= opcode_base:
            adjusted = op - opcode_base
            address += (adjusted // line_range) * min_inst
            line += line_base + adjusted % line_range
            if is_stmt:
                rows.append(LineRow(address, files.get(file, ""), line))
        elif op == 0:
            size = c.uleb()
            sub_end = c.at + size
            sub = c.fixed(1)
            if sub == 1:
                address, file, line, is_stmt = 0, 1, 1, default_is_stmt
            elif sub == 2:
                address = c.fixed(size - 1)
            c.at = sub_end
        elif op == 1:
            if is_stmt:
                rows.append(LineRow(address, files.get(file, ""), line))
        elif op == 2:
            address += c.uleb() * min_inst
        elif op == 3:
            line += c.sleb()
        elif op == 4:
            file = c.uleb()
        elif op == 6:
            is_stmt = not is_stmt
        elif op == 8:
            address += ((255 - opcode_base) // line_range) * min_inst
        elif op == 9:
            address += c.fixed(2)
        else:
            for _ in range(lengths[op - 1]):
                c.uleb()
    return rows


def _files_v4(c: _Cursor) -> dict[int, str]:
    dirs = [""]
    while True:
        name = c.cstring()
        if not name:
            break
        dirs.append(name)
    files: dict[int, str] = {}
    while True:
        name = c.cstring()
        if not name:
            return files
        directory = c.uleb()
        c.uleb()
        c.uleb()
        files[len(files) + 1] = _join(dirs[directory] if directory < len(dirs) else "", name)


def _files_v5(info: DwarfInfo, c: _Cursor) -> dict[int, str]:
    dirs = [entry.get(_LNCT_PATH, "") for entry in _entries(info, c)]
    files: dict[int, str] = {}
    for index, entry in enumerate(_entries(info, c)):
        directory = entry.get(_LNCT_DIRECTORY_INDEX, 0)
        where = dirs[directory] if isinstance(directory, int) and directory < len(dirs) else ""
        files[index] = _join(str(where), str(entry.get(_LNCT_PATH, "")))
    return files


def _entries(info: DwarfInfo, c: _Cursor) -> list[dict[int, object]]:
    count = c.fixed(1)
    formats = [(c.uleb(), c.uleb()) for _ in range(count)]
    entries = []
    for _ in range(c.uleb()):
        entry: dict[int, object] = {}
        for content, form in formats:
            entry[content] = _form(info, c, form)
        entries.append(entry)
    return entries


def _form(info: DwarfInfo, c: _Cursor, form: int) -> object:
    if form == 0x08:
        return c.cstring()
    if form == 0x1F:
        return _cstring_at(info.sections.line_str, c.fixed(4))
    if form == 0x0E:
        return _cstring_at(info.sections.str, c.fixed(4))
    if form == 0x0F:
        return c.uleb()
    sizes = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x1E: 16}
    if form in sizes:
        return c.fixed(sizes[form])
    if form == 0x09:
        c.at += c.uleb()
        return None
    raise ValueError(f"unsupported line table form {form:#x}")


def _join(directory: str, name: str) -> str:
    if not directory or name.startswith("/"):
        return name
    return directory.rstrip("/") + "/" + name


def line_address(info: DwarfInfo, file: str, line: int) -> Optional[int]:
    """Where ``file:line`` starts: its lowest statement address, or None when no code has that line."""
    wanted = file[2:] if file.startswith("./") else file
    found = [row.address for row in line_rows(info) if row.line == line
             and (row.file == wanted or row.file.endswith("/" + wanted))]
    return min(found) if found else None
