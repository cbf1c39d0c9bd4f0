"""``tinybpf asm`` and ``tinybpf disasm``: llvm-objdump-syntax text to instructions and back."""
from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("asm", help="assemble llvm-objdump-syntax text to raw instructions")
    p.add_argument("source", help="assembly file ('-' for stdin)")
    p.add_argument("-o", "--output", required=True, help="where to write the instructions")
    p.add_argument("--big-endian", action="store_true", help="encode for a big-endian target")
    p.set_defaults(handler=assemble)
    p = sub.add_parser("disasm", help="disassemble raw instructions or the programs of a BPF ELF object")
    p.add_argument("input", help="a raw instruction file or an ELF object (.o)")
    p.add_argument("--big-endian", action="store_true", help="raw input is big-endian")
    p.set_defaults(handler=disassemble)


def assemble(args: argparse.Namespace) -> int:
    from tinybpf.asm import assemble as assemble_text

    if args.source == "-":
        text, name = sys.stdin.read(), "stdin"
    else:
        with open(args.source) as f:
            text, name = f.read(), args.source
    insns = assemble_text(text, file=name)
    with open(args.output, "wb") as out:
        out.write(insns.encode("big" if args.big_endian else "little"))
    return 0


def disassemble(args: argparse.Namespace) -> int:
    with open(args.input, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        lines = _disassemble_object(data)
    else:
        lines = _listing(data, "big" if args.big_endian else "little")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _listing(data: bytes, byteorder: str, labels: Any = None) -> list[str]:
    from tinybpf.asm import Instructions

    rows, pc = [], 0
    for insn in Instructions.decode(data, byteorder):
        if labels and pc in labels:
            rows.append(f"\n{pc:016x} <{labels[pc]}>:")
        rows.append(f"{pc:7}: {insn}")
        pc += insn.width
    return rows


def _disassemble_object(data: bytes) -> list[str]:
    """Every executable section of a BPF object, with function symbols as headings (like llvm-objdump -d)."""
    from tinybpf.elf import ElfFile
    from tinybpf.elf.constants import SectionFlag, SymbolType

    elf = ElfFile(data)
    byteorder = elf.header.byte_order
    out: list[str] = []
    for section in elf.sections:
        if not section.flags & SectionFlag.EXECINSTR or not section.size:
            continue
        labels = {s.value // 8: s.name for s in elf.symbols()
                  if s.shndx == section.index and s.type == SymbolType.FUNC}
        out.append(f"\nDisassembly of section {section.name}:")
        out += _listing(bytes(section.data()), byteorder, labels)
    return out
