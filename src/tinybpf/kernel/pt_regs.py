"""``struct pt_regs`` as a kprobe or uprobe program's context sees it, per kernel architecture.

The layout follows the kernel (``uname -m``), not the process: a 32-bit program on an arm64 kernel is traced
through the arm64 ``pt_regs``, its r0-r14 in x0-x14.  32-bit ARM passes four arguments in registers and keeps
``unsigned long uregs[18]``, so its context words are 4 bytes wide.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class PtRegs:
    """Byte offsets of the registers in one architecture's ``struct pt_regs``."""

    machine: str
    word: int  # bytes per register
    args: tuple[int, ...]  # the integer argument registers of the calling convention
    ret: int  # the return value register
    pc: int  # the instruction pointer
    registers: dict[str, int] = field(default_factory=dict)  # by the names bpftrace's reg() takes

    def arg(self, index: int) -> Optional[int]:
        """Offset of argument ``index``, None when the convention passes it on the stack."""
        return self.args[index] if 0 <= index < len(self.args) else None


# arch/x86/include/asm/ptrace.h
_X86_64_NAMES = ("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
                 "orig_ax", "ip", "cs", "flags", "sp", "ss")
X86_64 = PtRegs("x86_64", 8, (112, 104, 96, 88, 72, 64), 80, 128,
                {**{name: 8 * i for i, name in enumerate(_X86_64_NAMES)}, "pc": 128})
# arch/arm64/include/asm/ptrace.h: u64 regs[31], sp, pc, pstate
AARCH64 = PtRegs("aarch64", 8, tuple(8 * i for i in range(8)), 0, 256,
                 {**{f"r{i}": 8 * i for i in range(31)}, "sp": 248, "pc": 256, "pstate": 264})
# arch/arm/include/uapi/asm/ptrace.h: long uregs[18] = r0-r10, fp, ip (r12), sp, lr, pc, cpsr, ORIG_r0
_ARM_NAMES = ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "fp", "ip", "sp", "lr", "pc",
              "cpsr", "orig_r0")
ARM = PtRegs("arm", 4, (0, 4, 8, 12), 0, 60,
             {**{name: 4 * i for i, name in enumerate(_ARM_NAMES)}, "r11": 44, "r12": 48, "r13": 52, "r14": 56,
              "r15": 60, "sl": 40})

_BY_MACHINE = {"x86_64": X86_64, "amd64": X86_64, "aarch64": AARCH64, "arm64": AARCH64}


def for_machine(machine: str) -> Optional[PtRegs]:
    """The layout for ``os.uname().machine`` (``armv7l`` and other 32-bit ARM names included)."""
    if machine.startswith("arm") and machine not in _BY_MACHINE:
        return ARM
    return _BY_MACHINE.get(machine)


RUNNING: Optional[PtRegs] = for_machine(os.uname().machine)
