"""Instructions as small immutable values, and the list type that encodes, decodes and links them.

The wire format is the kernel's ``struct bpf_insn``: ``u8 code; u8 dst_reg:4, src_reg:4; s16 off;
s32 imm``. ``ld_imm64`` is one :class:`Instruction` with a 64-bit ``imm`` that takes two slots; the
kernel's insn indexes (verifier log, jump offsets) count slots, not Instructions.
"""
from __future__ import annotations

import gc
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from tinybpf.asm.opcodes import LD_IMM64, VIRTUAL_BASE, Class, JumpOp, PseudoCall, PseudoLoad, VirtualRegister
from tinybpf.asm.text import format_instruction
from tinybpf.errors import FormatError

_INSN = {"little": struct.Struct("<BBhi"), "big": struct.Struct(">BBhi")}
_WIDE = {"little": struct.Struct("<BBhIBBhi"), "big": struct.Struct(">BBhIBBhi")}
# The register byte holds dst in the low nibble on little-endian hosts, in the high nibble on big-endian.
_DST_OF = {"little": [b & 0xF for b in range(256)], "big": [b >> 4 for b in range(256)]}
_SRC_OF = {"little": [b >> 4 for b in range(256)], "big": [b & 0xF for b in range(256)]}


def _signed(value: int, bits: int, what: str) -> int:
    """``value`` as a two's-complement field of ``bits``; accepts the signed and the unsigned range."""
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise ValueError(f"{what} {value} does not fit in {bits} bits")
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


@dataclass(frozen=True, init=False)
class Instruction:
    """One eBPF instruction: the kernel's fields plus relocation metadata.

    ``symbol`` is a label this instruction defines (a jump target or function name); ``reference``
    names what it refers to: a label for jumps and bpf-to-bpf calls, a map or global for ``ld_imm64``.
    Offsets and immediates are stored signed; the constructor also accepts their unsigned spelling.
    """

    __slots__ = ("dst", "imm", "off", "opcode", "reference", "src", "symbol")
    opcode: int
    dst: int
    src: int
    off: int
    imm: int
    symbol: Optional[str]
    reference: Optional[str]

    def __init__(
        self,
        opcode: int,
        dst: int = 0,
        src: int = 0,
        off: int = 0,
        imm: int = 0,
        symbol: Optional[str] = None,
        reference: Optional[str] = None,
    ) -> None:
        if not 0 <= opcode <= 0xFF:
            raise ValueError(f"opcode {opcode:#x} is not a byte")
        for name, reg in (("dst", dst), ("src", src)):
            if not 0 <= reg <= 0xF and not isinstance(reg, VirtualRegister):
                raise ValueError(f"{name} register {reg} does not fit in 4 bits")
        imm_bits = 64 if opcode == LD_IMM64 else 32
        fields = (
            ("opcode", opcode),
            ("dst", dst if isinstance(dst, VirtualRegister) else int(dst)),
            ("src", src if isinstance(src, VirtualRegister) else int(src)),
            ("off", _signed(off, 16, "offset")),
            ("imm", _signed(imm, imm_bits, "immediate")),
            ("symbol", symbol),
            ("reference", reference),
        )
        for name, value in fields:
            object.__setattr__(self, name, value)

    @property
    def width(self) -> int:
        """Slots this instruction takes: 2 for ``ld_imm64``, else 1."""
        return 2 if self.opcode == LD_IMM64 else 1

    @property
    def cls(self) -> Class:
        return Class(self.opcode & 0x07)

    @property
    def is_ld_imm64(self) -> bool:
        return self.opcode == LD_IMM64

    @property
    def is_call(self) -> bool:
        return self.opcode == Class.JMP | JumpOp.CALL

    @property
    def is_exit(self) -> bool:
        return self.opcode == Class.JMP | JumpOp.EXIT

    @property
    def is_branch(self) -> bool:
        """A jump whose target is ``off`` (or ``imm`` for ``gotol``) instructions ahead."""
        return self.opcode & 0x07 in (Class.JMP, Class.JMP32) and self.opcode & 0xF0 not in (
            JumpOp.CALL,
            JumpOp.EXIT,
        )

    @property
    def is_gotol(self) -> bool:
        """``gotol``: the jump with a 32-bit offset in imm (JMP32 | JA). Requires Linux 6.6 (cpu v4)."""
        return self.opcode == Class.JMP32 | JumpOp.JA

    @property
    def is_local_call(self) -> bool:
        """A bpf-to-bpf call: imm is the callee's offset, like a jump."""
        return self.is_call and self.src == PseudoCall.CALL

    @property
    def is_code_reference(self) -> bool:
        """Whether ``reference`` names a label in the same program, resolved by :meth:`Instructions.resolve`."""
        return (
            self.is_branch
            or self.is_local_call
            or (self.opcode == LD_IMM64 and self.src == PseudoLoad.FUNC)
        )

    def with_symbol(self, symbol: Optional[str]) -> Instruction:
        return self.replace(symbol=symbol)

    def with_reference(self, reference: Optional[str]) -> Instruction:
        return self.replace(reference=reference)

    def replace(self, **changes: Any) -> Instruction:
        """A copy with some fields changed, validated like a new Instruction."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return Instruction(**fields)

    def __str__(self) -> str:
        return format_instruction(self)


@dataclass(frozen=True)
class Label:
    """A marker in an instruction sequence: names the instruction that follows it."""

    name: str


def _check_byteorder(byteorder: str) -> None:
    if byteorder not in _INSN:
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}")


class Instructions(list[Instruction]):
    """A program: a list of Instructions, with encoding, decoding and label resolution.

    The constructor accepts :class:`Label` markers between instructions and turns each into the
    ``symbol`` of the instruction that follows it.
    """

    def __init__(self, items: Iterable[Union[Instruction, Label]] = ()) -> None:
        super().__init__()
        pending: Optional[str] = None
        for item in items:
            if isinstance(item, Label):
                if pending is not None:
                    raise ValueError(f"labels {pending!r} and {item.name!r} mark the same instruction")
                pending = item.name
                continue
            if pending is not None:
                if item.symbol is not None:
                    raise ValueError(f"label {pending!r} marks an instruction already named {item.symbol!r}")
                item = item.with_symbol(pending)
                pending = None
            self.append(item)
        if pending is not None:
            raise ValueError(f"label {pending!r} is not followed by an instruction")

    def iter_slots(self) -> Iterator[tuple[int, Instruction]]:
        """(slot, instruction) pairs: the slot is the kernel's insn index."""
        slot = 0
        for insn in self:
            yield slot, insn
            slot += insn.width

    @property
    def slots(self) -> int:
        """Length in kernel instruction slots (``ld_imm64`` counts 2)."""
        return sum(insn.width for insn in self)

    def symbols(self) -> dict[str, int]:
        """Slot of every symbol; a name defined twice is an error."""
        found: dict[str, int] = {}
        for slot, insn in self.iter_slots():
            if insn.symbol is None:
                continue
            if insn.symbol in found:
                raise ValueError(f"label {insn.symbol!r} is defined twice")
            found[insn.symbol] = slot
        return found

    def resolve(self) -> Instructions:
        """A copy with every jump, bpf-to-bpf call and function pointer aimed at its label.

        References to maps and other data are left for the loader. Raises ValueError for an unknown
        label or a jump too far for its 16-bit offset.
        """
        resolved = _resolve(self, _raise_value_error)
        if resolved is self:
            resolved = Instructions()
            resolved.extend(self)
        return resolved

    def encode(self, byteorder: str = "little") -> bytes:
        """The program as the kernel takes it, labels resolved first."""
        _check_byteorder(byteorder)
        pack, pack_wide = _INSN[byteorder].pack, _WIDE[byteorder].pack
        little = byteorder == "little"
        chunks: list[bytes] = []
        append = chunks.append
        for insn in _resolve(self, _raise_value_error):
            opcode, dst, src = insn.opcode, insn.dst, insn.src
            if dst >= VIRTUAL_BASE or src >= VIRTUAL_BASE:
                raise ValueError(f"instruction {insn.opcode:#04x} names an unallocated virtual register")
            regs = (src << 4 | dst) if little else (dst << 4 | src)
            if opcode == LD_IMM64:
                imm = insn.imm
                append(pack_wide(opcode, regs, insn.off, imm & 0xFFFFFFFF, 0, 0, 0, imm >> 32))
            else:
                append(pack(opcode, regs, insn.off, insn.imm))
        return b"".join(chunks)

    @classmethod
    def decode(cls, data: Union[bytes, bytearray, memoryview], byteorder: str = "little") -> Instructions:
        """Parse raw instructions; raises FormatError for truncated input or a broken ``ld_imm64``."""
        _check_byteorder(byteorder)
        if len(data) % 8:
            raise FormatError(f"instruction stream of {len(data)} bytes is not a multiple of 8")
        out = cls()
        # A million new long-lived objects would trigger repeated full collections that free nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            _decode_into(out, data, byteorder)
        finally:
            if collecting:
                gc.enable()
        return out

    def __str__(self) -> str:
        return disassemble(self)


_SETTERS = tuple(
    Instruction.__dict__[name].__set__ for name in ("opcode", "dst", "src", "off", "imm", "symbol", "reference")
)


def _decode_into(out: list[Instruction], data: Union[bytes, bytearray, memoryview], byteorder: str) -> None:
    """The decoding loop: Instructions are built through their slot descriptors, skipping validation
    that the 8-byte layout already guarantees."""
    set_opcode, set_dst, set_src, set_off, set_imm, set_symbol, set_reference = _SETTERS
    dst_of, src_of = _DST_OF[byteorder], _SRC_OF[byteorder]
    new, append = object.__new__, out.append
    records = _INSN[byteorder].iter_unpack(data)
    for opcode, regs, off, imm in records:
        if opcode == LD_IMM64:
            second = next(records, None)
            if second is None:
                raise FormatError(f"ld_imm64 at slot {len(data) // 8 - 1} lacks its second half")
            if second[:3] != (0, 0, 0):
                raise FormatError("ld_imm64 second half must have zero opcode, registers and offset")
            imm = second[3] << 32 | (imm & 0xFFFFFFFF)
        insn = new(Instruction)
        set_opcode(insn, opcode)
        set_dst(insn, dst_of[regs])
        set_src(insn, src_of[regs])
        set_off(insn, off)
        set_imm(insn, imm)
        set_symbol(insn, None)
        set_reference(insn, None)
        append(insn)


def _raise_value_error(index: int, message: str) -> None:
    raise ValueError(message)


def _resolve(insns: list[Instruction], fail: Callable[[int, str], None]) -> Instructions:
    """Resolve code references; ``fail(index, message)`` reports a problem (and may raise).

    Returns ``insns`` itself when it is an Instructions without code references.
    A label defined twice is an error even then.
    """
    program = insns if isinstance(insns, Instructions) else Instructions(insns)
    targets = program.symbols()
    if not any(insn.reference is not None and insn.is_code_reference for insn in program):
        return program
    resolved = Instructions()
    for index, (slot, insn) in enumerate(program.iter_slots()):
        if insn.reference is None or not insn.is_code_reference:
            resolved.append(insn)
            continue
        target = targets.get(insn.reference)
        if target is None:
            fail(index, f"unknown label {insn.reference!r}")
            resolved.append(insn)
            continue
        delta = target - slot - 1
        if insn.is_branch and not insn.is_gotol:
            if not -0x8000 <= delta <= 0x7FFF:
                fail(index, f"jump to {insn.reference!r} is {delta} instructions away, beyond 16 bits (use gotol)")
                resolved.append(insn)
                continue
            resolved.append(insn.replace(off=delta))
        else:
            resolved.append(insn.replace(imm=delta))
    return resolved


def _ignore(index: int, message: str) -> None:
    """Listings show what they can: an unresolvable reference keeps its stored offset."""


def disassemble(program: Union[list[Instruction], bytes, bytearray, memoryview], byteorder: str = "little") -> str:
    """A listing, one instruction per line, ``name:`` lines before labelled instructions.

    Bytes are decoded first; jumps and calls to labels show their resolved offsets.
    """
    if isinstance(program, (bytes, bytearray, memoryview)):
        program = Instructions.decode(program, byteorder)
    try:
        program = _resolve(program, _ignore)
    except ValueError:  # a label defined twice: list the instructions as they are
        pass
    lines = []
    for insn in program:
        if insn.symbol is not None:
            lines.append(f"{insn.symbol}:")
        lines.append(format_instruction(insn))
    return "\n".join(lines)
