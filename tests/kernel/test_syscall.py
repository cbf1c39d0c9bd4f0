"""The syscall layer's pure logic: syscall numbers, errno hints, attr layouts."""
from __future__ import annotations

import pytest

from tinybpf.errors import BPFError, errno_name
from tinybpf.kernel import attrs
from tinybpf.kernel.constants import Cmd
from tinybpf.kernel.syscall import command_name, hint_for, syscall_numbers


@pytest.mark.parametrize(
    ("machine", "numbers"),
    [("x86_64", (321, 298)), ("aarch64", (280, 241)), ("riscv64", (280, 241))],
)
def test_syscall_numbers_per_architecture(machine: str, numbers: tuple) -> None:  # type: ignore[type-arg]
    assert syscall_numbers(machine, pointer_size=8) == numbers


@pytest.mark.parametrize(
    ("machine", "numbers"),
    [("armv7l", (386, 364)), ("armv6l", (386, 364)), ("aarch64", (386, 364)), ("x86_64", (357, 336))],
)
def test_a_32_bit_process_uses_its_own_table(machine: str, numbers: tuple) -> None:  # type: ignore[type-arg]
    """A 32-bit process on a 64-bit kernel still reports the kernel's machine, but enters the compat table."""
    assert syscall_numbers(machine, pointer_size=4) == numbers


def test_unknown_architecture_is_a_clear_error() -> None:
    with pytest.raises(BPFError, match="syscall numbers"):
        syscall_numbers("vax")


def test_hints_prefer_the_command_specific_advice() -> None:
    assert "full" in hint_for(Cmd.MAP_UPDATE_ELEM, 7)
    assert "root" in hint_for(Cmd.MAP_CREATE, 1)
    assert "map type" in hint_for(Cmd.MAP_CREATE, 22)


def test_error_line_names_command_errno_and_hint() -> None:
    err = BPFError(command_name(Cmd.MAP_CREATE), 22, hint_for(Cmd.MAP_CREATE, 22))
    text = str(err)
    assert text.startswith("BPF_MAP_CREATE failed: EINVAL (Invalid argument)")
    assert "\n" not in text and "hint:" in text


def test_kernel_internal_errno_has_a_name() -> None:
    assert errno_name(524) == "ENOTSUPP"
    assert "Operation not supported" in str(BPFError("BPF_PROG_TEST_RUN", 524))


@pytest.mark.parametrize(
    ("layout", "field", "offset"),
    [
        (attrs.PROG_INFO, "map_ids", 56), (attrs.PROG_INFO, "name", 64), (attrs.PROG_INFO, "run_cnt", 200),
        (attrs.PROG_INFO, "verified_insns", 216), (attrs.MAP_INFO, "name", 24), (attrs.MAP_INFO, "map_extra", 80),
    ],
)
def test_info_layout_offsets_match_the_uapi(layout: attrs.Layout, field: str, offset: int) -> None:
    assert layout.offset(field) == offset


def test_attr_sizes_match_the_uapi() -> None:
    assert attrs.MAP_ELEM.size == 32
    assert attrs.MAP_BATCH.size == 56
    assert attrs.PROG_LOAD.size == 144
    assert attrs.PROG_TEST_RUN.size == 76
