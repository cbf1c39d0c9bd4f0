"""Functions that build instructions, named and ordered like the kernel's BPF_* macros.

One style throughout: a function per instruction family, operands in the kernel's order
(``dst``, then ``src``, then ``off``/``imm``). Wherever an operand may be a register or a constant,
a :class:`Register` (``R1``) means the register and any other ``int`` the 32-bit immediate::

    Instructions([
        mov64(R6, R1),                        # r6 = r1
        alu64(ALUOp.ADD, R1, 22),             # r1 += 22
        ldx(Size.W, R2, R6, 4),               # r2 = *(u32 *)(r6 + 4)
        jmp(JumpOp.JEQ, R2, 0, "out"),        # if r2 == 0 goto out
        call("get_current_pid_tgid"),
        label("out"),
        mov64(R0, 0),
        exit_(),
    ])

Jump targets are a label name (resolved when the program is encoded) or an offset in slots.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Union

from tinybpf.asm.instruction import Instruction, Label
from tinybpf.asm.opcodes import (
    LD_IMM64,
    MAY_GOTO,
    ALUOp,
    AtomicOp,
    Class,
    JumpOp,
    Mode,
    PseudoCall,
    PseudoLoad,
    Register,
    Size,
    Source,
    VirtualRegister,
)

if TYPE_CHECKING:
    from tinybpf.asm.helpers import Helper

Operand = Union[Register, int]
"""A register (a :class:`Register` member) or a 32-bit immediate (any other int)."""
Target = Union[str, int]
"""A label name, or a jump offset counted in instruction slots from the next instruction."""


class HasFD(Protocol):
    """Anything with a kernel file descriptor, like a loaded map."""

    @property
    def fd(self) -> int: ...


def label(name: str) -> Label:
    """Name the next instruction, as a jump or call target."""
    return Label(name)


def _reg(value: int) -> int:
    if isinstance(value, VirtualRegister):
        return value
    if not 0 <= value <= 10:
        raise ValueError(f"no register r{value}: registers are R0-R10")
    return int(value)


def _alu(cls: int, op: ALUOp, dst: Register, src: Operand, off: int = 0) -> Instruction:
    if isinstance(src, (Register, VirtualRegister)):
        return Instruction(cls | op | Source.X, _reg(dst), _reg(src), off)
    return Instruction(cls | op | Source.K, _reg(dst), off=off, imm=src)


def _signed_off(op: ALUOp, signed: bool) -> int:
    if signed and op not in (ALUOp.DIV, ALUOp.MOD):
        raise ValueError(f"only DIV and MOD have signed forms, not {op.name}")
    return 1 if signed else 0


def alu64(op: ALUOp, dst: Register, src: Operand, signed: bool = False) -> Instruction:
    """``dst op= src`` on 64 bits; ``signed`` picks s/= and s%= (cpu v4, Linux 6.6)."""
    return _alu(Class.ALU64, op, dst, src, _signed_off(op, signed))


def alu32(op: ALUOp, dst: Register, src: Operand, signed: bool = False) -> Instruction:
    """``dst op= src`` on the low 32 bits, zeroing the upper half of dst."""
    return _alu(Class.ALU, op, dst, src, _signed_off(op, signed))


def mov64(dst: Register, src: Operand) -> Instruction:
    return _alu(Class.ALU64, ALUOp.MOV, dst, src)


def mov32(dst: Register, src: Operand) -> Instruction:
    return _alu(Class.ALU, ALUOp.MOV, dst, src)


def neg64(dst: Register) -> Instruction:
    return Instruction(Class.ALU64 | ALUOp.NEG, _reg(dst))


def neg32(dst: Register) -> Instruction:
    return Instruction(Class.ALU | ALUOp.NEG, _reg(dst))


def movsx64(dst: Register, src: Register, bits: int) -> Instruction:
    """``dst = (s8|s16|s32)src``, sign-extending into 64 bits. Requires Linux 6.6 (cpu v4)."""
    if bits not in (8, 16, 32):
        raise ValueError(f"movsx64 extends 8, 16 or 32 bits, not {bits}")
    return Instruction(Class.ALU64 | ALUOp.MOV | Source.X, _reg(dst), _reg(src), bits)


def movsx32(dst: Register, src: Register, bits: int) -> Instruction:
    """``wdst = (s8|s16)wsrc``. Requires Linux 6.6 (cpu v4)."""
    if bits not in (8, 16):
        raise ValueError(f"movsx32 extends 8 or 16 bits, not {bits}")
    return Instruction(Class.ALU | ALUOp.MOV | Source.X, _reg(dst), _reg(src), bits)


def _swap(opcode: int, dst: Register, bits: int) -> Instruction:
    if bits not in (16, 32, 64):
        raise ValueError(f"byte swaps take 16, 32 or 64 bits, not {bits}")
    return Instruction(opcode, _reg(dst), imm=bits)


def to_be(dst: Register, bits: int) -> Instruction:
    """Convert host order to big-endian (a swap on little-endian hosts), truncating to ``bits``."""
    return _swap(Class.ALU | ALUOp.END | Source.TO_BE, dst, bits)


def to_le(dst: Register, bits: int) -> Instruction:
    """Convert host order to little-endian (a swap on big-endian hosts), truncating to ``bits``."""
    return _swap(Class.ALU | ALUOp.END | Source.TO_LE, dst, bits)


def bswap(dst: Register, bits: int) -> Instruction:
    """Unconditional byte swap of the low ``bits``. Requires Linux 6.6 (cpu v4)."""
    return _swap(Class.ALU64 | ALUOp.END, dst, bits)


def ld_imm64(dst: Register, value: Union[int, str]) -> Instruction:
    """Load a 64-bit constant, or (given a name) the address of a global the loader relocates."""
    if isinstance(value, str):
        return Instruction(LD_IMM64, _reg(dst), reference=value)
    return Instruction(LD_IMM64, _reg(dst), imm=value)


def _pseudo_load(src: PseudoLoad, dst: Register, map_: Union[int, str, HasFD], offset: int) -> Instruction:
    if isinstance(map_, str):
        return Instruction(LD_IMM64, _reg(dst), src, imm=offset << 32, reference=map_)
    fd = map_ if isinstance(map_, int) else map_.fd
    return Instruction(LD_IMM64, _reg(dst), src, imm=offset << 32 | fd)


def ld_map_fd(dst: Register, map_: Union[int, str, HasFD]) -> Instruction:
    """Load a map pointer (BPF_PSEUDO_MAP_FD) from an fd, a map with ``.fd``, or a map name to relocate."""
    return _pseudo_load(PseudoLoad.MAP_FD, dst, map_, 0)


def ld_map_value(dst: Register, map_: Union[int, str, HasFD], offset: int = 0) -> Instruction:
    """Load the address of ``offset`` into an array map's value (BPF_PSEUDO_MAP_VALUE)."""
    if not 0 <= offset <= 0xFFFFFFFF:
        raise ValueError(f"map value offset {offset} does not fit in 32 bits")
    return _pseudo_load(PseudoLoad.MAP_VALUE, dst, map_, offset)


def ld_abs(size: Size, imm: int) -> Instruction:
    """Legacy socket-filter packet load: ``r0 = *(size *)skb[imm]`` in network order."""
    return Instruction(Class.LD | Mode.ABS | size, imm=imm)


def ld_ind(size: Size, src: Register, imm: int = 0) -> Instruction:
    """Legacy socket-filter packet load: ``r0 = *(size *)skb[src + imm]``."""
    return Instruction(Class.LD | Mode.IND | size, src=_reg(src), imm=imm)


def ldx(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """``dst = *(size *)(src + off)``, zero-extended."""
    return Instruction(Class.LDX | Mode.MEM | size, _reg(dst), _reg(src), off)


def ldxsx(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """``dst = *(s8|s16|s32 *)(src + off)``, sign-extended. Requires Linux 6.6 (cpu v4)."""
    if size == Size.DW:
        raise ValueError("sign-extending loads are 8, 16 or 32 bits")
    return Instruction(Class.LDX | Mode.MEMSX | size, _reg(dst), _reg(src), off)


def stx(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """``*(size *)(dst + off) = src``."""
    return Instruction(Class.STX | Mode.MEM | size, _reg(dst), _reg(src), off)


def st(size: Size, dst: Register, off: int, imm: int) -> Instruction:
    """``*(size *)(dst + off) = imm``."""
    return Instruction(Class.ST | Mode.MEM | size, _reg(dst), off=off, imm=imm)


def _atomic(size: Size, op: int, dst: Register, src: Register, off: int) -> Instruction:
    if size not in (Size.W, Size.DW):
        raise ValueError("atomic operations are 32 or 64 bits")
    return Instruction(Class.STX | Mode.ATOMIC | size, _reg(dst), _reg(src), off, op)


def atomic_add(size: Size, dst: Register, src: Register, off: int = 0, fetch: bool = False) -> Instruction:
    """``*(size *)(dst + off) += src``; with ``fetch`` the old value lands in src."""
    return _atomic(size, AtomicOp.FETCH_ADD if fetch else AtomicOp.ADD, dst, src, off)


def atomic_or(size: Size, dst: Register, src: Register, off: int = 0, fetch: bool = False) -> Instruction:
    return _atomic(size, AtomicOp.FETCH_OR if fetch else AtomicOp.OR, dst, src, off)


def atomic_and(size: Size, dst: Register, src: Register, off: int = 0, fetch: bool = False) -> Instruction:
    return _atomic(size, AtomicOp.FETCH_AND if fetch else AtomicOp.AND, dst, src, off)


def atomic_xor(size: Size, dst: Register, src: Register, off: int = 0, fetch: bool = False) -> Instruction:
    return _atomic(size, AtomicOp.FETCH_XOR if fetch else AtomicOp.XOR, dst, src, off)


def atomic_xchg(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """Swap src with ``*(size *)(dst + off)``."""
    return _atomic(size, AtomicOp.XCHG, dst, src, off)


def atomic_cmpxchg(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """If ``*(size *)(dst + off) == r0`` store src there; r0 gets the old value either way."""
    return _atomic(size, AtomicOp.CMPXCHG, dst, src, off)


def load_acquire(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """``dst = load_acquire((size *)(src + off))``. Requires Linux 6.15."""
    return Instruction(Class.STX | Mode.ATOMIC | size, _reg(dst), _reg(src), off, AtomicOp.LOAD_ACQ)


def store_release(size: Size, dst: Register, src: Register, off: int = 0) -> Instruction:
    """``store_release((size *)(dst + off), src)``. Requires Linux 6.15."""
    return Instruction(Class.STX | Mode.ATOMIC | size, _reg(dst), _reg(src), off, AtomicOp.STORE_REL)


def _jump(cls: int, op: JumpOp, dst: Register, src: Operand, target: Target) -> Instruction:
    if op in (JumpOp.JA, JumpOp.CALL, JumpOp.EXIT, JumpOp.JCOND):
        raise ValueError(f"{op.name} is not a conditional jump; use ja, call, exit_ or may_goto")
    if isinstance(src, (Register, VirtualRegister)):
        insn = Instruction(cls | op | Source.X, _reg(dst), _reg(src))
    else:
        insn = Instruction(cls | op | Source.K, _reg(dst), imm=src)
    return _aim(insn, target)


def _aim(insn: Instruction, target: Target) -> Instruction:
    return insn.with_reference(target) if isinstance(target, str) else insn.replace(off=target)


def jmp(op: JumpOp, dst: Register, src: Operand, target: Target) -> Instruction:
    """``if dst op src goto target``, comparing 64 bits."""
    return _jump(Class.JMP, op, dst, src, target)


def jmp32(op: JumpOp, dst: Register, src: Operand, target: Target) -> Instruction:
    """``if wdst op wsrc goto target``, comparing the low 32 bits. Requires Linux 5.1."""
    return _jump(Class.JMP32, op, dst, src, target)


def ja(target: Target) -> Instruction:
    """``goto target`` within a 16-bit offset."""
    return _aim(Instruction(Class.JMP | JumpOp.JA), target)


def gotol(target: Target) -> Instruction:
    """``gotol target``: an unconditional jump with a 32-bit offset. Requires Linux 6.6 (cpu v4)."""
    insn = Instruction(Class.JMP32 | JumpOp.JA)
    return insn.with_reference(target) if isinstance(target, str) else insn.replace(imm=target)


def may_goto(target: Target) -> Instruction:
    """Jump once the kernel's loop budget is used up, else fall through. Requires Linux 6.9."""
    return _aim(Instruction(Class.JMP | JumpOp.JCOND, src=MAY_GOTO), target)


def call(helper: Union[int, str, Helper]) -> Instruction:
    """Call a helper by id, :class:`Helper` member or name (``"map_lookup_elem"``)."""
    from tinybpf.asm.helpers import helper_id

    return Instruction(Class.JMP | JumpOp.CALL, imm=helper_id(helper))


def call_local(target: Target) -> Instruction:
    """A bpf-to-bpf call of the function at ``target`` (BPF_PSEUDO_CALL)."""
    insn = Instruction(Class.JMP | JumpOp.CALL, src=PseudoCall.CALL, imm=-1)
    return insn.with_reference(target) if isinstance(target, str) else insn.replace(imm=target)


def call_kfunc(btf_id: int, module: int = 0) -> Instruction:
    """Call a kernel function by BTF id; ``module`` indexes the fd_array for a module's BTF."""
    return Instruction(Class.JMP | JumpOp.CALL, src=PseudoCall.KFUNC_CALL, off=module, imm=btf_id)


def exit_() -> Instruction:
    """Return r0 to the caller (``exit``)."""
    return Instruction(Class.JMP | JumpOp.EXIT)


def addr_space_cast(dst: Register, src: Register, dst_as: int, src_as: int) -> Instruction:
    """``dst = addr_space_cast(src, dst_as, src_as)``: convert arena pointers. Requires Linux 6.9."""
    imm = (dst_as & 0xFFFF) << 16 | (src_as & 0xFFFF)
    return Instruction(Class.ALU64 | ALUOp.MOV | Source.X, _reg(dst), _reg(src), 1, imm)
