"""USDT probes: the ``.note.stapsdt`` notes ``<sys/sdt.h>`` (``DTRACE_PROBE``) leaves in a binary.

Each probe site is one ``NT_STAPSDT`` note of owner ``stapsdt``. Its descriptor holds three addresses (the
probe's pc, the link-time address of ``.stapsdt.base``, the semaphore or 0), each a word of the file's
class, then three NUL-terminated strings: provider, name and the argument spec, e.g.
``-4@%edi 8@-8(%rbp) 4@$5`` on x86_64 or ``8@x1 -4@[sp, 12]`` on aarch64 (``[-]size@operand``, a negative
size meaning signed). See https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation.

The kernel places a uprobe by file offset, so a probe's pc becomes one through its PT_LOAD segment, after
the prelink adjustment libbpf and bcc apply: when the binary was prelinked after the notes were written, the
actual address of ``.stapsdt.base`` differs from the recorded one by the same amount as the pc and the
semaphore. The semaphore is a ``unsigned short`` the kernel increments while a uprobe with that
``ref_ctr_offset`` is attached (Linux 4.20), so ``if (PROVIDER_NAME_ENABLED())`` guards see a tracer.

Arguments are parsed into :class:`UsdtArgument` values a code generator can read from ``struct pt_regs``:
a register, a memory operand ``offset(register)`` or a constant.
"""
from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass
from typing import Optional

from tinybpf.elf.constants import Machine
from tinybpf.elf.reader import ElfFile
from tinybpf.errors import FormatError

NT_STAPSDT = 3
STAPSDT_NOTE_SECTION = ".note.stapsdt"
STAPSDT_BASE_SECTION = ".stapsdt.base"

# struct pt_regs offsets (arch/x86/include/asm/ptrace.h, x86_64), by every name gcc gives a register's parts.
_X86_64_REGS = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56, "r9": 64, "r8": 72,
    "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112, "rip": 128, "rsp": 152,
}
_X86_64_ALIASES = {
    "rax": ("eax", "ax", "al"), "rbx": ("ebx", "bx", "bl"), "rcx": ("ecx", "cx", "cl"), "rdx": ("edx", "dx", "dl"),
    "rsi": ("esi", "si", "sil"), "rdi": ("edi", "di", "dil"), "rbp": ("ebp", "bp", "bpl"),
    "rsp": ("esp", "sp", "spl"), "rip": ("eip",),
}
X86_64_PT_REGS: dict[str, int] = dict(_X86_64_REGS)
for _full, _parts in _X86_64_ALIASES.items():
    X86_64_PT_REGS.update(dict.fromkeys(_parts, _X86_64_REGS[_full]))
for _n in range(8, 16):
    X86_64_PT_REGS.update(dict.fromkeys((f"r{_n}d", f"r{_n}w", f"r{_n}b"), _X86_64_REGS[f"r{_n}"]))

# struct user_pt_regs (arch/arm64/include/uapi/asm/ptrace.h): u64 regs[31]; u64 sp; u64 pc; u64 pstate.
AARCH64_PT_REGS: dict[str, int] = {"sp": 31 * 8, "pc": 32 * 8}
for _n in range(31):
    AARCH64_PT_REGS[f"x{_n}"] = AARCH64_PT_REGS[f"w{_n}"] = _n * 8

# struct pt_regs of 32-bit ARM (arch/arm/include/uapi/asm/ptrace.h): long uregs[18], r0-r15 then cpsr; gcc
# names r9-r15 sb/sl, fp, ip, sp, lr, pc in operands such as ``-4@[fp, #-8]``.
ARM_PT_REGS: dict[str, int] = {f"r{_n}": _n * 4 for _n in range(16)}
ARM_PT_REGS.update({"sb": 36, "sl": 40, "fp": 44, "ip": 48, "sp": 52, "lr": 56, "pc": 60})

PT_REGS: dict[int, dict[str, int]] = {Machine.X86_64: X86_64_PT_REGS, Machine.AARCH64: AARCH64_PT_REGS,
                                      Machine.ARM: ARM_PT_REGS}


class ArgKind(enum.Enum):
    """Where an argument's value is at the probe site."""

    CONSTANT = "constant"  # the value is ``constant``
    REGISTER = "register"  # the value is in ``register``
    MEMORY = "memory"  # the value is at ``register + offset`` (or ``symbol + offset`` for x86 %rip-relative)


@dataclass(frozen=True)
class UsdtArgument:
    """One argument of a probe site: ``size`` bytes (1, 2, 4 or 8), ``signed`` when the spec's size was negative.

    ``pt_regs_offset`` is where ``register`` lives in the probe's ``struct pt_regs`` context (-1 for constants).
    A consumer loads the 8-byte register (REGISTER) or ``size`` bytes at ``register + offset`` in user memory
    (MEMORY), then keeps the low ``size`` bytes, sign-extending when ``signed``.
    """

    spec: str
    kind: ArgKind
    size: int
    signed: bool
    register: str = ""
    pt_regs_offset: int = -1
    offset: int = 0
    constant: int = 0
    symbol: str = ""


@dataclass(frozen=True)
class UsdtProbe:
    """One probe site from a ``.note.stapsdt`` note.

    ``pc``/``semaphore`` are virtual addresses after the prelink adjustment; ``offset``/``semaphore_offset``
    are their file offsets (what a uprobe's ``config2`` and ``ref_ctr_offset`` want; 0 when there is no
    semaphore). ``args`` is the raw spec string; :attr:`arguments` parses it for ``machine``.
    """

    path: str
    provider: str
    name: str
    pc: int
    base: int
    semaphore: int
    args: str
    offset: int
    semaphore_offset: int
    machine: int

    @property
    def arguments(self) -> tuple[UsdtArgument, ...]:
        return parse_arguments(self.args, self.machine)

    def __str__(self) -> str:
        return f"usdt:{self.path}:{self.provider}:{self.name}"


def find_probes(binary: str, provider: Optional[str] = None, name: Optional[str] = None) -> list[UsdtProbe]:
    """The USDT probe sites of the ELF file ``binary`` in note order, only those of ``provider``/``name`` if given.

    A probe name used at several places in the source has one site per place, each with its own pc and
    (possibly different) argument spec.
    """
    try:
        elf = ElfFile.from_path(binary)
    except OSError as exc:
        raise FormatError(f"cannot read {binary}: {exc.strerror}") from None
    return [probe for probe in read_probes(elf)
            if (provider is None or probe.provider == provider) and (name is None or probe.name == name)]


def read_probes(elf: ElfFile) -> list[UsdtProbe]:
    """Every USDT probe site of ``elf`` (an empty list when it has no ``.note.stapsdt``)."""
    section = elf.section(STAPSDT_NOTE_SECTION)
    if section is None:
        return []
    base_section = elf.section(STAPSDT_BASE_SECTION)
    word = struct.Struct(("<" if elf.header.byte_order == "little" else ">") + ("Q" if elf.header.bits == 64 else "I"))
    probes = []
    for note in elf.notes(section):
        if note.name == "stapsdt" and note.type == NT_STAPSDT:
            probes.append(_probe(elf, note.desc, word, base_section.addr if base_section else None))
    return probes


def _probe(elf: ElfFile, desc: bytes, word: struct.Struct, actual_base: Optional[int]) -> UsdtProbe:
    if len(desc) < 3 * word.size:
        raise FormatError(f"{elf.name}: stapsdt note of {len(desc)} bytes is too short")
    pc, base, semaphore = (word.unpack_from(desc, i * word.size)[0] for i in range(3))
    strings = desc[3 * word.size:].split(b"\0")
    if len(strings) < 3:
        raise FormatError(f"{elf.name}: stapsdt note at pc {pc:#x} lacks provider, name or arguments")
    provider, name, args = (str(text, "utf-8", "replace") for text in strings[:3])
    if actual_base is not None and base:
        shift = actual_base - base  # prelinked after the notes were written
        pc += shift
        if semaphore:
            semaphore += shift
    offset = elf.vaddr_to_offset(pc)
    if offset is None:
        raise FormatError(f"{elf.name}: USDT probe {provider}:{name} at {pc:#x} is in no loadable segment")
    semaphore_offset = 0
    if semaphore:
        found = elf.vaddr_to_offset(semaphore)
        if found is None:
            raise FormatError(f"{elf.name}: semaphore of {provider}:{name} at {semaphore:#x} is in no loadable segment")
        semaphore_offset = found
    return UsdtProbe(elf.name, provider, name, pc, base, semaphore, args, offset, semaphore_offset,
                     elf.header.machine)


# ---------------------------------------------------------------------------------------------- arguments

_SPECS = re.compile(r"[^\s\[]*\[[^\]]*\]|\S+")  # specs are space-separated; ``[r0, #8]`` has a space inside
_SIZED = re.compile(r"^(?P<size>-?\d+)@(?P<operand>.+)$")
_X86_CONSTANT = re.compile(r"^\$(?P<value>-?(?:0x[0-9a-fA-F]+|\d+))$")
_X86_REGISTER = re.compile(r"^%(?P<reg>\w+)$")
_X86_MEMORY = re.compile(r"^(?P<disp>[^(]*)\(%(?P<reg>\w+)\)$")
_ARM_CONSTANT = re.compile(r"^#?(?P<value>-?(?:0x[0-9a-fA-F]+|\d+))$")
_ARM_REGISTER = re.compile(r"^(?P<reg>[xwr]\d+|sp|sb|sl|fp|ip|lr|pc)$")
_ARM_MEMORY = re.compile(r"^\[(?P<reg>[xwr]\d+|sp|sb|sl|fp|ip|lr|pc)(?:\s*,\s*#?(?P<disp>-?(?:0x[0-9a-fA-F]+|\d+)))?\]$")


def parse_arguments(args: str, machine: int = Machine.X86_64) -> tuple[UsdtArgument, ...]:
    """Parse a probe's argument spec (``-4@%edi 8@-8(%rbp)``) for ``machine`` (``e_machine``).

    Raises ``FormatError`` for an operand the architecture's parser does not know (index registers such as
    ``(%rax,%rbx,8)``, or an architecture without a register table).
    """
    if machine not in PT_REGS:
        raise FormatError(f"USDT arguments of ELF machine {machine} are not supported", )
    return tuple(parse_argument(spec, machine) for spec in _SPECS.findall(args))


def parse_argument(spec: str, machine: int = Machine.X86_64) -> UsdtArgument:
    """One ``[-]size@operand`` spec; an operand without a size is a signed word."""
    match = _SIZED.match(spec)
    if match:
        size_text, operand = match.group("size"), match.group("operand")
        size, signed = abs(int(size_text)), size_text.startswith("-")
    else:
        operand, size, signed = spec, 8, True
    if size not in (1, 2, 4, 8):
        raise FormatError(f"USDT argument {spec!r}: size {size} is not 1, 2, 4 or 8")
    regs = PT_REGS[machine]
    if machine == Machine.X86_64:
        return _x86_64(spec, operand, size, signed, regs)
    return _arm(spec, operand, size, signed, regs)


def _x86_64(spec: str, operand: str, size: int, signed: bool, regs: dict[str, int]) -> UsdtArgument:
    match = _X86_CONSTANT.match(operand)
    if match:
        return UsdtArgument(spec, ArgKind.CONSTANT, size, signed, constant=int(match.group("value"), 0))
    match = _X86_REGISTER.match(operand)
    if match:
        reg = _register(spec, match.group("reg"), regs)
        return UsdtArgument(spec, ArgKind.REGISTER, size, signed, reg, regs[reg])
    match = _X86_MEMORY.match(operand)
    if match:
        reg = _register(spec, match.group("reg"), regs)
        displacement, symbol = _displacement(spec, match.group("disp"))
        return UsdtArgument(spec, ArgKind.MEMORY, size, signed, reg, regs[reg], displacement, symbol=symbol)
    raise FormatError(f"USDT argument {spec!r}: unsupported x86_64 operand {operand!r}")


def _displacement(spec: str, text: str) -> tuple[int, str]:
    """``-8`` -> (-8, ""); ``counter+4`` (``%rip``-relative globals) -> (4, "counter")."""
    text = text.strip()
    if not text:
        return 0, ""
    try:
        return int(text, 0), ""
    except ValueError:
        pass
    match = re.match(r"^(?P<sym>[A-Za-z_.$][\w.$@]*)(?P<off>[-+]\s*(?:0x[0-9a-fA-F]+|\d+))?$", text)
    if not match:
        raise FormatError(f"USDT argument {spec!r}: cannot read displacement {text!r}")
    offset = match.group("off")
    return (int(offset.replace(" ", ""), 0) if offset else 0), match.group("sym")


def _arm(spec: str, operand: str, size: int, signed: bool, regs: dict[str, int]) -> UsdtArgument:
    """aarch64 and 32-bit ARM share the operand syntax: ``x1``/``r1``, ``[sp, 12]``/``[r0, #8]``, ``#5``."""
    operand = operand.strip()
    match = _ARM_REGISTER.match(operand)
    if match:
        reg = _register(spec, match.group("reg"), regs)
        return UsdtArgument(spec, ArgKind.REGISTER, size, signed, reg, regs[reg])
    match = _ARM_MEMORY.match(operand)
    if match:
        reg = _register(spec, match.group("reg"), regs)
        disp = match.group("disp")
        return UsdtArgument(spec, ArgKind.MEMORY, size, signed, reg, regs[reg], int(disp, 0) if disp else 0)
    match = _ARM_CONSTANT.match(operand)
    if match:
        return UsdtArgument(spec, ArgKind.CONSTANT, size, signed, constant=int(match.group("value"), 0))
    raise FormatError(f"USDT argument {spec!r}: unsupported ARM operand {operand!r}")


def _register(spec: str, name: str, regs: dict[str, int]) -> str:
    if name not in regs:
        raise FormatError(f"USDT argument {spec!r}: unknown register {name!r}")
    return name


__all__ = [
    "AARCH64_PT_REGS",
    "ARM_PT_REGS",
    "NT_STAPSDT",
    "PT_REGS",
    "X86_64_PT_REGS",
    "ArgKind",
    "UsdtArgument",
    "UsdtProbe",
    "find_probes",
    "parse_argument",
    "parse_arguments",
    "read_probes",
]
