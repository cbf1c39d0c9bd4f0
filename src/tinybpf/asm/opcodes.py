"""The eBPF instruction encoding: registers and opcode fields, with the kernel's names.

An opcode byte is ``class | op | source`` for ALU and jump instructions and ``class | size | mode``
for loads and stores (include/uapi/linux/bpf_common.h, RFC 9669). Each enum member keeps the
value already shifted into place, so ``Class.ALU64 | ALUOp.ADD | Source.K`` is the opcode.
"""
from __future__ import annotations

from enum import IntEnum


class Register(IntEnum):
    """R0 holds return values, R1-R5 arguments, R6-R9 survive calls, R10 is the read-only frame pointer."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10
    FP = 10


R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = Register
FP = Register.FP

VIRTUAL_BASE = 16


class VirtualRegister(int):
    """A register a compiler has not allocated yet, numbered from ``VIRTUAL_BASE`` up: instructions may name
    it until ``tinybpf.backend.regalloc`` maps it onto r0-r9; encoding refuses it."""


class Class(IntEnum):
    """BPF_CLASS: the low three bits of every opcode."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    """Jumps comparing the low 32 bits (BPF_JMP32). Requires Linux 5.1."""
    ALU64 = 0x07


class Size(IntEnum):
    """BPF_SIZE of a load or store."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def bytes(self) -> int:
        """Width of the access in bytes: 4, 2, 1 or 8."""
        return _SIZE_BYTES[self]


_SIZE_BYTES = {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}


class Mode(IntEnum):
    """BPF_MODE of a load or store."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    """Sign-extending loads (BPF_MEMSX). Requires Linux 6.6 (cpu v4)."""
    ATOMIC = 0xC0


class Source(IntEnum):
    """BPF_SRC: the operand is the 32-bit immediate (K) or the src register (X).

    For ``ALU | END`` the same bit picks the byte order: TO_LE (K) or TO_BE (X).
    """

    K = 0x00
    X = 0x08
    TO_LE = 0x00
    TO_BE = 0x08


class ALUOp(IntEnum):
    """BPF_OP of ALU and ALU64 instructions."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JumpOp(IntEnum):
    """BPF_OP of JMP and JMP32 instructions."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0
    JCOND = 0xE0
    """Conditional pseudo jumps (BPF_JCOND); src BPF_MAY_GOTO is ``may_goto``. Requires Linux 6.9."""


FETCH = 0x01
"""BPF_FETCH: an atomic operation that also returns the old value in the src register."""


class AtomicOp(IntEnum):
    """The imm field of ``STX | ATOMIC`` instructions. Requires Linux 5.12 except ADD (XADD)."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH_ADD = 0x00 | FETCH
    FETCH_OR = 0x40 | FETCH
    FETCH_AND = 0x50 | FETCH
    FETCH_XOR = 0xA0 | FETCH
    XCHG = 0xE0 | FETCH
    CMPXCHG = 0xF0 | FETCH
    LOAD_ACQ = 0x100
    """BPF_LOAD_ACQ: load-acquire into dst from ``src + off``. Requires Linux 6.15."""
    STORE_REL = 0x110
    """BPF_STORE_REL: store-release of src to ``dst + off``. Requires Linux 6.15."""


class PseudoLoad(IntEnum):
    """The src field of ``ld_imm64`` (BPF_PSEUDO_*): what the loader or kernel puts into the constant."""

    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class PseudoCall(IntEnum):
    """The src field of ``call``: 0 calls a helper by id, these call a BPF function or a kfunc."""

    CALL = 1
    """BPF_PSEUDO_CALL: bpf-to-bpf call, imm is the offset of the callee in instructions."""
    KFUNC_CALL = 2
    """BPF_PSEUDO_KFUNC_CALL: imm is the kfunc's BTF id, off the index of its module BTF fd."""


MAY_GOTO = 0
"""BPF_MAY_GOTO: the src of the only ``JMP | JCOND`` instruction."""

LD_IMM64 = Class.LD | Mode.IMM | Size.DW
"""The one opcode that takes two instruction slots."""
