"""The assembler and disassembler: llvm-objdump's syntax in, the same syntax out."""
from __future__ import annotations

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R10,
    AtomicOp,
    Instructions,
    JumpOp,
    Size,
    assemble,
    atomic_add,
    atomic_cmpxchg,
    call,
    disassemble,
    exit_,
    jmp,
    label,
    ld_imm64,
    ld_map_fd,
    mov64,
)
from tinybpf.errors import CompileError

# Each line is both what the assembler reads and exactly what the disassembler prints.
CANONICAL = """\
r0 = 0
w1 = w2
r1 += 4
w1 -= -7
r1 = -r1
w3 = -w3
r1 = *(u32 *)(r1 + 4)
r1 = *(s32 *)(r2 + 0)
r2 = *(s8 *)(r10 - 1)
*(u64 *)(r10 - 8) = r1
*(u32 *)(r10 - 8) = 5
*(u8 *)(r1 + 2) = -1
if r1 > 5 goto +2
if w1 s< w2 goto -3
if r3 & 16 goto +0
if w4 s>= -1 goto +7
goto +1
gotol -70000
may_goto +4
call 1
call -1
call +3
call kfunc 77
call kfunc 77, 2
lock *(u64 *)(r1 + 0) += r2
lock *(u32 *)(r1 + 8) += r2
lock *(u32 *)(r1 + 8) ^= w2
r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)
w3 = atomic_fetch_and((u32 *)(r1 - 4), w3)
r0 = cmpxchg_64(r1 + 0, r0, r2)
w0 = cmpxchg32_32(r1 + 0, w0, w2)
r1 = xchg_64(r2 + 16, r1)
w1 = xchg32_32(r2 + 16, w1)
w2 = load_acquire((u8 *)(r1 + 0))
r2 = load_acquire((u64 *)(r1 - 8))
store_release((u16 *)(r1 + 0), w2)
r1 = be16 r1
r1 = le64 r1
r1 = bswap32 r1
r1 = (s8)r2
w1 = (s16)w2
r1 = (s32)r2
r1 s/= r2
w1 s%= 3
r1 s>>= 63
r1 = 4660 ll
r1 = -1 ll
ld_pseudo\tr1, 1, 3
ld_pseudo\tr2, 2, 68719476743
r1 = addr_space_cast(r2, 0, 1)
r0 = *(u8 *)skb[12]
r0 = *(u16 *)skb[r1]
r0 = *(u32 *)skb[r1 + 4]
exit"""


def test_canonical_text_round_trips_line_by_line() -> None:
    program = assemble(CANONICAL)
    assert disassemble(program) == CANONICAL
    assert disassemble(program.encode()) == CANONICAL
    assert disassemble(program.encode("big"), "big") == CANONICAL


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("r1 = 0x1234 ll", "r1 = 4660 ll"),
        ("if r1 > 0x5 goto +2 <LBB0_2>", "if r1 > 5 goto +2"),
        ("  r0=*(u8*)skb[ 12 ]", "r0 = *(u8 *)skb[12]"),
        ("r0 = *(u16 *)skb[r1 + 0]", "r0 = *(u16 *)skb[r1]"),
        ("*(u64 *)(r10 -8) = r1 ; spill", "*(u64 *)(r10 - 8) = r1"),
        ("r1 = r2 # comment", "r1 = r2"),
        ("r1 = r2 // comment", "r1 = r2"),
        ("      12:\tr1 = 5", "r1 = 5"),
        ("lock *(u32 *)(r1 + 0) += w2", "lock *(u32 *)(r1 + 0) += r2"),
        ("w1 = *(u32 *)(r2 + 4)", "r1 = *(u32 *)(r2 + 4)"),
        ("call map_lookup_elem", "call 1"),
        ("call bpf_ringbuf_output", "call 130"),
        ("goto 3", "goto +3"),
        (".insn code=0xb7 dst=1 src=0 off=0 imm=5", "r1 = 5"),
    ],
)
def test_accepted_spellings(text: str, canonical: str) -> None:
    assert disassemble(assemble(text)) == canonical


def test_labels_jumps_and_local_calls() -> None:
    program = assemble(
        """
        prog:                   // a function symbol
            r1 = 0
        loop:
            r1 += 1
            if r1 < 10 goto loop
            call helper
            r0 = counts ll      # map reference, relocated by the loader
            exit
        helper: r0 = 7
            exit
        """
    )
    assert program[0].symbol == "prog"
    assert (program[2].off, program[2].reference) == (-2, "loop")
    assert (program[3].imm, program[3].reference) == (3, "helper")
    assert (program[4].imm, program[4].reference) == (0, "counts")
    listing = str(program)
    assert "if r1 < 10 goto -2 <loop>" in listing and "helper:\nr0 = 7" in listing
    assert assemble(listing).encode() == program.encode()


def test_builder_programs_print_as_llvm_objdump_does() -> None:
    program = Instructions([
        mov64(R1, 0),
        label("again"),
        atomic_add(Size.DW, R10, R1, -8, fetch=True),
        atomic_cmpxchg(Size.DW, R1, R2),
        ld_map_fd(R1, 5),
        ld_imm64(R2, "config"),
        call("map_lookup_elem"),
        jmp(JumpOp.JNE, R0, 0, "again"),
        exit_(),
    ])
    assert str(program) == "\n".join([
        "r1 = 0",
        "again:",
        "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)",
        "r0 = cmpxchg_64(r1 + 0, r0, r2)",
        "ld_pseudo\tr1, 1, 5",
        "r2 = 0 ll <config>",
        "call 1",
        "if r0 != 0 goto -8 <again>",
        "exit",
    ])
    assert program[1].imm == AtomicOp.FETCH_ADD
    assert call(1) == program[5]


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("r0 = 0\nr11 = 1", 2, 1, "no register r11"),
        ("r1 = r2\n  r1 +== 3", 2, 3, "cannot parse"),
        ("w1 += r2", 1, 7, "mixed 32-bit"),
        ("r1 = *(u32 *)(r2 + 40000)", 1, 18, "out of range"),
        ("goto nowhere\nexit", 1, 6, "unknown label 'nowhere'"),
        ("a:\nexit\na:\nexit", 3, 1, "defined twice"),
        ("exit\nend:", 2, 1, "not followed"),
        ("w1 = 4294967296", 1, 6, "out of range"),
        ("r1 = *(s64 *)(r2 + 0)", 1, 8, "no sign-extending 64-bit load"),
        ("r0 = atomic_fetch_sub((u64 *)(r1 + 0), r0)", 1, 19, "no atomic_fetch_sub"),
        ("r1 = cmpxchg_64(r1 + 0, r0, r2)", 1, 1, "returns in r0"),
        ("r1 = be16 r2", 1, 11, "same register"),
    ],
)
def test_errors_point_at_line_and_column(source: str, line: int, column: int, message: str) -> None:
    with pytest.raises(CompileError, match=message) as info:
        assemble(source, file="prog.s")
    assert (info.value.file, info.value.line, info.value.column) == ("prog.s", line, column)
    assert str(info.value).startswith(f"prog.s:{line}:{column}: ")


def test_disassembling_bytes_with_big_endian() -> None:
    program = Instructions([mov64(R1, R2), exit_()])
    assert disassemble(program.encode("big"), byteorder="big") == "r1 = r2\nexit"
    assert R0 == 0
