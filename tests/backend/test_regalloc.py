"""The register allocator: virtual registers land in r6-r9 or stack slots, and the program still computes
the same thing in the kernel, across helper calls, branches and more live values than registers."""
from __future__ import annotations

from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.asm import (
    R0,
    R1,
    R6,
    R9,
    ALUOp,
    Instruction,
    Instructions,
    JumpOp,
    Label,
    Register,
    alu64,
    call,
    exit_,
    ja,
    jmp,
    label,
    mov64,
)
from tinybpf.asm.opcodes import VIRTUAL_BASE, VirtualRegister
from tinybpf.backend.cfg import label_offsets, liveness
from tinybpf.backend.regalloc import Registers, Stack, Value, allocate
from tinybpf.kernel.constants import ProgType
from tinybpf.programs import Program


def program(count: int, reserved: list[Register]) -> tuple[list, list[Register], Stack, int]:
    """``count`` values live at once across a helper call and a branch; returns the code and the expected r0."""
    code: list = []
    stack = Stack()
    regs = Registers(code.append, stack, reserved)
    values = [Value() for _ in range(count)]
    expected = 0
    for index, value in enumerate(values):
        code.append(mov64(regs.alloc(value), index * 3 + 1))
    code.append(call("ktime_get_ns"))  # clobbers r0-r5
    code.append(jmp(JumpOp.JEQ, R0, 0, "zero"))
    for index, value in enumerate(values):
        assert value.reg is not None
        code.append(alu64(ALUOp.ADD, value.reg, index))
    code.append(label("zero"))
    total = Value()
    code.append(mov64(regs.alloc(total), 0))
    for index, value in enumerate(values):
        assert value.reg is not None and total.reg is not None
        code.append(alu64(ALUOp.MUL, value.reg, 2))
        code.append(alu64(ALUOp.ADD, total.reg, value.reg))
        expected += (index * 3 + 1 + index) * 2
    assert total.reg is not None
    code.append(mov64(R0, total.reg))
    code.append(exit_())
    return code, regs.pool, stack, expected


def _virtual(code: list) -> bool:
    return any(isinstance(i, Instruction) and (i.dst >= VIRTUAL_BASE or i.src >= VIRTUAL_BASE) for i in code)


@pytest.mark.parametrize("count", [2, 4, 9])
def test_values_map_onto_callee_saved_registers_and_slots(count: int) -> None:
    code, pool, stack, _ = program(count, [])
    out = allocate(code, pool, stack)
    assert not _virtual(out)
    used = {i.dst for i in out if isinstance(i, Instruction)} | {i.src for i in out if isinstance(i, Instruction)}
    spills = count + 1 > len(pool)
    assert used <= {0, 6, 7, 8, 9, 10} | ({1, 2, 3, 4, 5} if spills else set())  # r1-r5 only around reloads
    assert (stack.deepest > 0) == spills
    assert stack.deepest % 8 == 0


def test_reserved_registers_stay_untouched() -> None:
    code, pool, stack, _ = program(6, [R6])
    out = allocate(code, pool, stack)
    assert all(i.dst != 6 and i.src != 6 for i in out if isinstance(i, Instruction))


@pytest.mark.kernel
@pytest.mark.parametrize("count", [3, 9])
def test_allocated_program_computes_the_same_in_the_kernel(count: int) -> None:
    code, pool, stack, expected = program(count, [R6])
    out = allocate(code, pool, stack)
    with Program.load(ProgType.SOCKET_FILTER, Instructions(out), name="tt_regalloc") as prog:
        assert prog.test_run(bytes(64)).retval == expected & 0xFFFFFFFF


def test_numeric_jump_offsets_become_labels() -> None:
    code = [mov64(R0, 0), jmp(JumpOp.JEQ, R1, 0, 1), mov64(R0, 1), exit_()]
    out = label_offsets(code)
    labels = [i for i in out if isinstance(i, Label)]
    assert len(labels) == 1 and out.index(labels[0]) == 3
    assert cast(Instruction, out[1]).reference == labels[0].name


def test_liveness_follows_jumps_and_loops() -> None:
    v = cast(Register, VirtualRegister(VIRTUAL_BASE))
    code = [mov64(v, 5), label("top"), alu64(ALUOp.SUB, v, 1), jmp(JumpOp.JNE, v, 0, "top"),
            mov64(R0, 0), ja("end"), label("end"), exit_()]
    live_in, live_out = liveness(code)
    bit = 1 << VIRTUAL_BASE
    assert live_out[0] & bit and live_in[2] & bit and live_out[3] & bit
    assert not live_out[4] & bit and live_in[7] & 1  # exit reads r0


def test_a_copy_between_values_that_do_not_overlap_disappears() -> None:
    code: list = []
    regs = Registers(code.append, Stack(), [])
    first, second = Value(), Value()
    code.append(mov64(regs.alloc(first), 7))
    assert first.reg is not None
    code.append(mov64(regs.alloc(second), first.reg))
    assert second.reg is not None
    code.append(alu64(ALUOp.ADD, second.reg, 1))
    code.append(mov64(R0, second.reg))
    code.append(exit_())
    out = allocate(code, regs.pool, Stack())
    assert [str(i) for i in out] == ["r6 = 7", "r6 += 1", "r0 = r6", "exit"]


def test_values_nobody_reads_are_not_computed() -> None:
    code: list = []
    regs = Registers(code.append, Stack(), [])
    unused, feeding = Value(), Value()
    code.append(mov64(regs.alloc(feeding), 3))
    assert feeding.reg is not None
    code.append(mov64(regs.alloc(unused), feeding.reg))
    assert unused.reg is not None
    code.append(alu64(ALUOp.ADD, unused.reg, 1))
    code.append(mov64(R0, 0))
    code.append(exit_())
    assert [str(i) for i in allocate(code, regs.pool, Stack())] == ["r0 = 0", "exit"]


def test_an_unallocated_virtual_register_is_never_encoded() -> None:
    insn = mov64(cast(Register, VirtualRegister(VIRTUAL_BASE + 3)), 1)
    assert insn.dst == VIRTUAL_BASE + 3 and insn.replace(imm=2).dst == VIRTUAL_BASE + 3
    with pytest.raises(ValueError, match="virtual register"):
        Instructions([insn, exit_()]).encode()


def _run(code: list) -> int:
    """A small interpreter for the instructions these tests generate: 64-bit ALU, stack loads and stores,
    conditional jumps to labels, calls that scramble r0-r5, exit."""
    regs: dict[int, int] = {10: 1 << 20}
    memory: dict[int, int] = {}
    where = {item.name: i for i, item in enumerate(code) if isinstance(item, Label)}
    mask = (1 << 64) - 1
    pc = 0
    while True:
        item = code[pc]
        pc += 1
        if isinstance(item, Label):
            continue
        cls, op = item.opcode & 0x07, item.opcode & 0xF0
        src = regs.get(item.src, 0) if item.opcode & 0x08 else item.imm & mask
        if cls == 0x07:
            a = regs.get(item.dst, 0)
            regs[item.dst] = {0xB0: src, 0x00: a + src, 0x20: a * src, 0xA0: a ^ src}[op] & mask
        elif cls == 0x01:
            regs[item.dst] = memory[regs[item.src] + item.off]
        elif cls == 0x03:
            memory[regs[item.dst] + item.off] = regs[item.src]
        elif op == 0x80:
            regs.update({r: 0xDEAD + r for r in range(6)})
        elif op == 0x90:
            return regs[0]
        elif op == 0x10:
            if regs.get(item.dst, 0) == src:
                pc = where[item.reference]
        else:
            raise AssertionError(f"no such instruction here: {item}")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(0, 30), st.integers(-9, 9)),
                min_size=1, max_size=60),
       st.sampled_from([[], [R6], [R6, R9]]))
def test_allocation_keeps_what_the_program_computes(steps: list[tuple[int, int, int, int]],
                                                     reserved: list[Register]) -> None:
    code: list = []
    regs = Registers(code.append, Stack(), reserved)
    values: list[Value] = []
    for index in range(4):
        values.append(Value())
        code.append(mov64(regs.alloc(values[-1]), index + 1))
    for number, (kind, a, b, k) in enumerate(steps):
        x, y = values[a % len(values)], values[b % len(values)]
        assert x.reg is not None and y.reg is not None
        if kind == 0:
            values.append(Value())
            code.append(mov64(regs.alloc(values[-1]), x.reg))
        elif kind == 1:
            code.append(alu64(ALUOp.ADD, x.reg, y.reg))
        elif kind == 2:
            code.append(alu64(ALUOp.MUL, x.reg, k))
        elif kind == 3:
            code.append(call("ktime_get_ns"))
        elif kind == 4:
            code.append(jmp(JumpOp.JEQ, x.reg, k, f"skip{number}"))
            code.append(alu64(ALUOp.XOR, y.reg, 0x55))
            code.append(label(f"skip{number}"))
        else:
            values.append(Value())
            code.append(mov64(regs.alloc(values[-1]), k))
    total = Value()
    code.append(mov64(regs.alloc(total), 0))
    for value in values:
        assert value.reg is not None and total.reg is not None
        code.append(alu64(ALUOp.XOR, total.reg, value.reg))
        code.append(alu64(ALUOp.MUL, total.reg, 3))
    assert total.reg is not None
    code += [mov64(R0, total.reg), exit_()]
    allocated = allocate(list(code), regs.pool, regs.stack)
    assert not _virtual(allocated)
    assert _run(allocated) == _run(code)
