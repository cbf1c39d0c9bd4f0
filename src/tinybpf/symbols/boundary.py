"""Whether an offset into a native function starts an instruction, so a uprobe never splits one.

The kernel writes a breakpoint at the probed byte; in the middle of an instruction it changes what the
traced process computes. Fixed-width machines answer by alignment. On x86-64 the function is decoded
from its first byte with an instruction *length* decoder (prefixes, REX/VEX/EVEX, opcode maps, ModRM,
SIB, displacement, immediate): meaning is never needed, only where each instruction ends.
"""
from __future__ import annotations

import enum
from typing import Optional

from tinybpf.elf.constants import Machine


class Alignment(enum.Enum):
    """bpftrace's answers: on a boundary, inside an instruction, undecodable, or a machine not handled."""

    OK = "ok"
    INSIDE = "inside"
    UNDECODABLE = "undecodable"
    UNSUPPORTED = "unsupported"


_FIXED_WIDTH = {Machine.AARCH64: 4, Machine.RISCV: 2, Machine.ARM: 2}
"""Instruction alignment where it alone decides (RISC-V and Thumb have 2-byte forms)."""


def check(machine: int, code: bytes, offset: int) -> Alignment:
    """Is ``offset`` (into ``code``, the function's bytes from its start) an instruction boundary?"""
    width = _FIXED_WIDTH.get(machine)  # type: ignore[call-overload]
    if width is not None:
        return Alignment.OK if offset % width == 0 else Alignment.INSIDE
    if machine != Machine.X86_64:
        return Alignment.UNSUPPORTED
    position = 0
    while position < offset:
        length = x86_64_length(code, position)
        if length is None:
            return Alignment.UNDECODABLE
        position += length
    return Alignment.OK if position == offset else Alignment.INSIDE


def _bits(*ranges: tuple[int, int]) -> frozenset[int]:
    return frozenset(b for low, high in ranges for b in range(low, high + 1))


# One-byte opcodes (64-bit mode) that take a ModRM byte.
_MODRM_1 = _bits((0x00, 0x03), (0x08, 0x0B), (0x10, 0x13), (0x18, 0x1B), (0x20, 0x23), (0x28, 0x2B),
                 (0x30, 0x33), (0x38, 0x3B), (0x63, 0x63), (0x69, 0x69), (0x6B, 0x6B), (0x80, 0x8F),
                 (0xC0, 0xC1), (0xC6, 0xC7), (0xD0, 0xD3), (0xD8, 0xDF), (0xF6, 0xF7), (0xFE, 0xFF))
_IMM8_1 = _bits((0x04, 0x04), (0x0C, 0x0C), (0x14, 0x14), (0x1C, 0x1C), (0x24, 0x24), (0x2C, 0x2C),
                (0x34, 0x34), (0x3C, 0x3C), (0x6A, 0x6B), (0x70, 0x7F), (0x80, 0x80), (0x83, 0x83),
                (0xA8, 0xA8), (0xB0, 0xB7), (0xC0, 0xC1), (0xC6, 0xC6), (0xCD, 0xCD), (0xE0, 0xE7),
                (0xEB, 0xEB))
"""One-byte opcodes with an 8-bit immediate or displacement."""
_IMMZ_1 = _bits((0x05, 0x05), (0x0D, 0x0D), (0x15, 0x15), (0x1D, 0x1D), (0x25, 0x25), (0x2D, 0x2D),
                (0x35, 0x35), (0x3D, 0x3D), (0x68, 0x69), (0x81, 0x81), (0xA9, 0xA9), (0xC7, 0xC7))
"""One-byte opcodes with a 16-bit (0x66 prefix) or 32-bit immediate."""
_INVALID_1 = _bits((0x06, 0x07), (0x0E, 0x0E), (0x16, 0x17), (0x1E, 0x1F), (0x27, 0x27), (0x2F, 0x2F),
                   (0x37, 0x37), (0x3F, 0x3F), (0x60, 0x61), (0x82, 0x82), (0x9A, 0x9A), (0xCE, 0xCE),
                   (0xD4, 0xD6), (0xEA, 0xEA))
_PREFIXES = _bits((0x26, 0x26), (0x2E, 0x2E), (0x36, 0x36), (0x3E, 0x3E), (0x64, 0x67), (0xF0, 0xF0),
                  (0xF2, 0xF3))

# Two-byte (0F xx) opcodes without a ModRM byte, and those followed by an 8-bit immediate.
_NO_MODRM_0F = _bits((0x05, 0x09), (0x0B, 0x0B), (0x0E, 0x0E), (0x30, 0x37), (0x77, 0x77), (0x80, 0x8F),
                     (0xA0, 0xA2), (0xA8, 0xAA), (0xC8, 0xCF))
_IMM8_0F = _bits((0x70, 0x73), (0xA4, 0xA4), (0xAC, 0xAC), (0xBA, 0xBA), (0xC2, 0xC2), (0xC4, 0xC6),
                 (0x0F, 0x0F))


def _modrm_length(code: bytes, at: int) -> Optional[int]:
    """Bytes of ModRM, SIB and displacement starting at ``at`` (64- and 32-bit addressing share the forms)."""
    if at >= len(code):
        return None
    modrm = code[at]
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3:
        return 1
    length = 1
    if rm == 4:
        if at + 1 >= len(code):
            return None
        length += 1
        if mod == 0 and code[at + 1] & 7 == 5:
            length += 4
    elif mod == 0 and rm == 5:
        length += 4  # RIP-relative
    return length + (1 if mod == 1 else 4 if mod == 2 else 0)


def x86_64_length(code: bytes, start: int) -> Optional[int]:
    """The length of the instruction at ``code[start]``, or None when it cannot be decoded."""
    at, operand16, rex_w = start, False, False
    while at < len(code) and code[at] in _PREFIXES:
        operand16 |= code[at] == 0x66
        at += 1
    if at < len(code) and 0x40 <= code[at] <= 0x4F:
        rex_w = bool(code[at] & 8)
        at += 1
    if at >= len(code):
        return None
    opcode = code[at]
    if opcode in (0xC4, 0xC5, 0x62):
        return _vector_length(code, start, at)
    at += 1
    if opcode == 0x0F:
        return _two_byte_length(code, start, at)
    if opcode in _INVALID_1:
        return None
    length = at - start
    if opcode in _MODRM_1:
        modrm = _modrm_length(code, at)
        if modrm is None:
            return None
        length += modrm
        if opcode in (0xF6, 0xF7) and (code[at] >> 3) & 7 in (0, 1):  # test r/m, imm
            length += 1 if opcode == 0xF6 else 2 if operand16 else 4
    if opcode in _IMM8_1:
        length += 1
    elif opcode in _IMMZ_1:
        length += 2 if operand16 else 4
    elif 0xB8 <= opcode <= 0xBF:
        length += 8 if rex_w else 2 if operand16 else 4
    elif 0xA0 <= opcode <= 0xA3:
        length += 8  # moffs64 (an 0x67 prefix would make it 4: not emitted by compilers)
    elif opcode in (0xE8, 0xE9):
        length += 4
    elif opcode in (0xC2, 0xCA):
        length += 2
    elif opcode == 0xC8:
        length += 3
    return length if start + length <= len(code) else None


def _two_byte_length(code: bytes, start: int, at: int) -> Optional[int]:
    """``0F xx``, ``0F 38 xx`` and ``0F 3A xx``; ``at`` is just past the 0F."""
    if at >= len(code):
        return None
    second = code[at]
    at += 1
    if second in (0x38, 0x3A):
        modrm = _modrm_length(code, at + 1)
        if modrm is None:
            return None
        length = at + 1 - start + modrm + (1 if second == 0x3A else 0)
    elif second in _NO_MODRM_0F:
        length = at - start + (4 if 0x80 <= second <= 0x8F else 0)
    else:
        modrm = _modrm_length(code, at)
        if modrm is None:
            return None
        length = at - start + modrm + (1 if second in _IMM8_0F else 0)
    return length if start + length <= len(code) else None


def _vector_length(code: bytes, start: int, at: int) -> Optional[int]:
    """VEX (C5: 2 bytes, C4: 3 bytes) and EVEX (62: 4 bytes) encodings: then opcode, ModRM, and an imm8 in
    the 0F3A map and for the few 0F-map opcodes that take one."""
    kind = code[at]
    if kind == 0xC5:
        opcode_at, opcode_map = at + 2, 1
    elif at + 1 < len(code):
        opcode_at = at + (3 if kind == 0xC4 else 4)
        opcode_map = code[at + 1] & (0x1F if kind == 0xC4 else 0x07)
    else:
        return None
    if opcode_at >= len(code) or opcode_map not in (1, 2, 3, 5, 6):
        return None
    opcode = code[opcode_at]
    if opcode_map == 1 and opcode == 0x77:  # vzeroupper / vzeroall
        return opcode_at + 1 - start
    modrm = _modrm_length(code, opcode_at + 1)
    if modrm is None:
        return None
    imm = 1 if opcode_map == 3 or (opcode_map == 1 and opcode in _IMM8_0F) else 0
    length = opcode_at + 1 - start + modrm + imm
    return length if start + length <= len(code) else None
