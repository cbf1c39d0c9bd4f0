"""The builder: each function makes the instruction the kernel's macro of the same name makes."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tinybpf.asm import (
    FP,
    R0,
    R1,
    R2,
    R10,
    ALUOp,
    Helper,
    JumpOp,
    PseudoLoad,
    Size,
    alu32,
    alu64,
    call,
    call_kfunc,
    jmp32,
    ld_map_fd,
    ld_map_value,
    ldxsx,
    movsx32,
    movsx64,
    st,
    to_be,
)


def test_register_or_immediate_picks_the_source() -> None:
    assert alu64(ALUOp.ADD, R1, R2).opcode == 0x0F
    assert alu64(ALUOp.ADD, R1, 2).opcode == 0x07
    assert alu32(ALUOp.DIV, R1, R2, signed=True).off == 1
    assert jmp32(JumpOp.JSGT, R1, -1, 3).opcode == 0x66


def test_frame_pointer_alias() -> None:
    assert FP is R10 and st(Size.DW, FP, -8, 0).dst == 10


@dataclass
class FakeMap:
    fd: int


def test_map_loads_take_fds_map_objects_or_names() -> None:
    assert ld_map_fd(R1, 7) == ld_map_fd(R1, FakeMap(7))
    assert (ld_map_fd(R1, 7).src, ld_map_fd(R1, 7).imm) == (PseudoLoad.MAP_FD, 7)
    assert ld_map_fd(R1, "events").reference == "events"
    value = ld_map_value(R2, 3, 16)
    assert (value.src, value.imm & 0xFFFFFFFF, value.imm >> 32) == (PseudoLoad.MAP_VALUE, 3, 16)


def test_calls() -> None:
    assert call("map_lookup_elem") == call(Helper.map_lookup_elem) == call(1)
    assert (call_kfunc(1234, 1).src, call_kfunc(1234, 1).off) == (2, 1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: movsx64(R1, R2, 64),
        lambda: movsx32(R1, R2, 32),
        lambda: ldxsx(Size.DW, R1, R2),
        lambda: to_be(R1, 8),
        lambda: alu64(ALUOp.ADD, R1, R2, signed=True),
        lambda: jmp32(JumpOp.CALL, R0, 0, 1),
        lambda: alu64(ALUOp.ADD, 11, 1),  # type: ignore[arg-type]
    ],
)
def test_misuse_is_a_value_error(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
