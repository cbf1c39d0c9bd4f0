"""Code generation: the verifier accepts what we emit, and it is as small as LLVM -O2 makes bpftrace's."""
from __future__ import annotations

import os

import pytest

from tinybpf.asm.opcodes import ALUOp, Class, Mode, Source
from tinybpf.backend.fold import fold, wrap64
from tinybpf.trace.compiler import Options, compile_trace

# bpftrace 0.17 + LLVM -O2, translated instructions (bpftool prog show: xlated bytes / 8)
REFERENCE = {
    "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }": 38,
    "tracepoint:raw_syscalls:sys_enter { @ = count(); }": 30,
    "tracepoint:raw_syscalls:sys_enter { @ = hist(args->id); }": 58,
    'tracepoint:raw_syscalls:sys_enter /comm == "python3"/ { @[tid] = sum(args->id); }': 54,
}


def programs(source: str, **options):  # type: ignore[no-untyped-def]
    return compile_trace(source, options=Options(**options)).programs


def needs_tracefs() -> None:
    if not os.path.isdir("/sys/kernel/tracing/events") and not os.path.isdir("/sys/kernel/debug/tracing/events"):
        pytest.skip("no tracefs")


@pytest.mark.parametrize("source", sorted(REFERENCE))
def test_smaller_than_bpftrace(source: str) -> None:
    needs_tracefs()
    (program,) = programs(source)
    assert program.instructions.slots <= REFERENCE[source]


def test_no_atomics_and_no_wide_constant_shifts() -> None:
    needs_tracefs()
    source = ("tracepoint:raw_syscalls:sys_enter { @c[comm] = count(); @s = sum(args->id); @h = hist(args->id); "
              "@l = lhist(args->id, 0, 1000, 10); @m = max(args->id); @a = avg(args->id); "
              "$x = args->id << 70; $y = args->id >> 64; @x = $x + $y; }")
    for program in programs(source):
        for insn in program.instructions:
            assert not (insn.cls == Class.STX and (insn.opcode & 0xE0) == Mode.ATOMIC)
            shift = insn.cls in (Class.ALU64, Class.ALU) and insn.opcode & 0xF0 in (ALUOp.LSH, ALUOp.RSH, ALUOp.ARSH)
            if shift and not insn.opcode & Source.X:
                assert 0 <= insn.imm < (64 if insn.cls == Class.ALU64 else 32)


def test_constant_folding_matches_c() -> None:
    assert fold("/", -7, 2, True) == -3
    assert fold("%", -7, 3, True) == -1
    assert fold("/", 5, 0, True) == 0
    assert fold("<<", 1, 64, True) == 0
    assert fold(">>", -8, 1, True) == -4
    assert wrap64(1 << 63) == -(1 << 63)


def deep(n: int) -> str:
    expr = "$a"
    for i in range(n):
        expr = f"({i} + $a * {expr})" if i % 2 else f"($a - {expr})"
    return expr


@pytest.mark.kernel
@pytest.mark.parametrize("depth", [3, 12, 25])
def test_deep_expressions_spill_and_load(depth: int) -> None:
    import io

    from tinybpf.programs import Program
    from tinybpf.trace.runtime.session import TraceRuntime

    source = f"BEGIN {{ $a = 3; @x = {deep(depth)}; exit(); }}"
    trace = compile_trace(source)
    runtime = TraceRuntime(trace, io.StringIO(), io.StringIO())
    try:
        runtime.create_maps()
        for program in trace.programs:
            with Program.load(program.prog_type, runtime.link_instructions(program)):
                pass
    finally:
        runtime.close()


@pytest.mark.kernel
def test_deep_expression_value_is_right() -> None:
    import subprocess
    import sys

    def value(a: int, n: int) -> int:
        x = a
        for i in range(n):
            x = wrap64(i + a * x) if i % 2 else wrap64(a - x)
        return x

    out = subprocess.run([sys.executable, "-m", "tinybpf", "trace", "-q", "-e",
                          f"BEGIN {{ $a = 3; printf(\"%ld\\n\", {deep(20)}); exit(); }}"],
                         capture_output=True, text=True, check=True).stdout
    assert int(out.split()[0]) == value(3, 20)


def test_arm32_reads_4_byte_pt_regs_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a 32-bit ARM kernel, arg1 is uregs[1] at offset 4 and reg("r2") uregs[2] at 8, each a 4-byte load;
    arguments past r3 are on the stack, which argN does not read."""
    from pathlib import Path

    from tinybpf.asm.opcodes import Size
    from tinybpf.errors import CompileError
    from tinybpf.kernel import pt_regs

    monkeypatch.setattr(pt_regs, "RUNNING", pt_regs.ARM)
    target = Path(__file__).resolve().parents[1] / "platforms" / "armhf" / "data" / "uprobe_target"
    (program,) = programs(f'uprobe:{target}:arm_add {{ @a = sum(arg1); @r = sum(reg("r2")); }}')
    loads = {(insn.off, insn.opcode & 0x18) for insn in program.instructions
             if insn.cls == Class.LDX and insn.src == 6}
    assert {(4, Size.W), (8, Size.W)} <= loads
    with pytest.raises(CompileError, match="arg4 is not passed in a register"):
        programs(f"uprobe:{target}:arm_add {{ @a = sum(arg4); }}")
