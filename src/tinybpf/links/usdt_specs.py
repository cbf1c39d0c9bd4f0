"""libbpf's USDT runtime (``<bpf/usdt.bpf.h>``): where ``BPF_USDT()`` programs find their arguments.

A program built with usdt.bpf.h reads argument N of the site that fired from ``__bpf_usdt_specs[spec id]``,
the spec id being the link's BPF cookie. Each entry (``struct __bpf_usdt_spec``) says per argument whether it
is a constant, a register (its ``struct pt_regs`` offset) or memory at register + offset, its sign, and the
shift that keeps its size. The layout is read from the object's own BTF, member by member, so the older
plain layout and libbpf 1.5's bitfield one (``arg_type:8``, ``idx_reg_off:12``...) both encode.
"""
from __future__ import annotations

from typing import Any

from ..btf.reader import BTF
from ..elf.usdt import ArgKind, UsdtProbe
from ..errors import TinyBPFError

SPECS_MAP = "__bpf_usdt_specs"
ARG_CONST, ARG_REG, ARG_REG_DEREF = 0, 1, 2


class SpecEncoder:
    """``struct __bpf_usdt_spec`` values for probe sites, laid out by the object's BTF."""

    def __init__(self, btf: BTF, spec_type_id: int) -> None:
        self.btf = btf
        self.spec_type = spec_type_id
        self.size = btf.sizeof(spec_type_id)
        args = btf.member(spec_type_id, "args")
        array = btf.resolve(args.type)
        self.args_offset = args.byte_offset
        self.max_args = getattr(array, "nelems", 0)
        self.arg_type = getattr(array, "type", 0)
        self.arg_size = btf.sizeof(self.arg_type) if self.arg_type else 0

    def encode(self, probe: UsdtProbe, cookie: int = 0) -> bytes:
        arguments = probe.arguments
        if len(arguments) > self.max_args:
            raise TinyBPFError(f"{probe}: {len(arguments)} arguments, usdt.bpf.h holds {self.max_args}")
        value = bytearray(self.size)
        for index, argument in enumerate(arguments):
            if argument.kind == ArgKind.MEMORY and argument.symbol:
                raise TinyBPFError(f"{probe}: argument {index + 1} ({argument.spec}) is relative to a symbol",
                                   "usdt.bpf.h reads registers, memory at a register, and constants")
            kind, offset = {ArgKind.CONSTANT: (ARG_CONST, argument.constant),
                            ArgKind.REGISTER: (ARG_REG, 0),
                            ArgKind.MEMORY: (ARG_REG_DEREF, argument.offset)}[argument.kind]
            base = self.args_offset + index * self.arg_size
            self._set(value, base, self.arg_type, "val_off", offset)
            self._set(value, base, self.arg_type, "arg_type", kind)
            self._set(value, base, self.arg_type, "reg_off", max(argument.pt_regs_offset, 0))
            self._set(value, base, self.arg_type, "arg_signed", int(argument.signed))
            self._set(value, base, self.arg_type, "arg_bitshift", 64 - argument.size * 8)
        self._set(value, 0, self.spec_type, "usdt_cookie", cookie)
        self._set(value, 0, self.spec_type, "arg_cnt", len(arguments))
        return bytes(value)

    def _set(self, value: bytearray, base: int, type_id: int, name: str, number: int) -> None:
        field = self.btf.member(type_id, name)
        order: Any = self.btf.byte_order
        if not field.bitfield_size:
            size = self.btf.sizeof(field.type)
            start = base + field.byte_offset
            value[start:start + size] = (number & ((1 << size * 8) - 1)).to_bytes(size, order)
            return
        unit = 8
        start = base + field.bit_offset // 64 * 8
        word = int.from_bytes(value[start:start + unit], order)
        shift = field.bit_offset % 64
        if order == "big":
            shift = 64 - shift - field.bitfield_size
        mask = (1 << field.bitfield_size) - 1
        word = (word & ~(mask << shift)) | ((number & mask) << shift)
        value[start:start + unit] = word.to_bytes(unit, order)


__all__ = ["SPECS_MAP", "SpecEncoder"]
