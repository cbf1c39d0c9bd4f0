"""CO-RE resolution as pure functions: names, candidate matching and instruction patching."""
from __future__ import annotations

import struct

import pytest

from tinybpf.btf import BTF, BTFBuilder
from tinybpf.btf.core import POISON, CoreError, CoreResult, essential_name, parse_spec, patch, resolve
from tinybpf.btf.ext import CoreRelo
from tinybpf.btf.kinds import CoreReloKind, IntEncoding
from tinybpf.btf.types import Int, Member, Struct


def test_essential_names_strip_one_flavour() -> None:
    assert essential_name("task_struct___v2") == "task_struct"
    assert essential_name("task_struct") == "task_struct"
    assert essential_name("a___b___c") == "a___b"
    assert essential_name("x____y") == "x____y"  # four underscores: no flavour


def _btf(*structs: tuple[str, tuple[tuple[str, int], ...]]) -> BTF:
    builder = BTFBuilder()
    builder.add(Int("int", 4, IntEncoding.SIGNED, 32))
    builder.add(Int("long", 8, IntEncoding.SIGNED, 64))
    for name, members in structs:
        offset, built = 0, []
        for member, type_id in members:
            built.append(Member(member, type_id, offset * 8))
            offset += 4 if type_id == 1 else 8
        builder.add(Struct(name, offset, tuple(built)))
    return BTF(builder.encode())


def test_field_offset_follows_the_target_layout() -> None:
    local = _btf(("point___mine", (("y", 1),)))
    target = _btf(("point", (("x", 1), ("pad", 2), ("y", 1))))
    relo = CoreRelo(0, 3, "0:0", CoreReloKind.FIELD_BYTE_OFFSET)
    result = resolve(local, relo, target)
    assert (result.orig_value, result.new_value, result.poison) == (0, 12, False)
    exists = resolve(local, CoreRelo(0, 3, "0:0", CoreReloKind.FIELD_EXISTS), target)
    assert exists.new_value == 1


def test_missing_field_poisons_but_exists_is_zero() -> None:
    local = _btf(("point", (("z", 1),)))
    target = _btf(("point", (("x", 1),)))
    assert resolve(local, CoreRelo(0, 3, "0:0", CoreReloKind.FIELD_EXISTS), target).new_value == 0
    assert resolve(local, CoreRelo(0, 3, "0:0", CoreReloKind.FIELD_BYTE_OFFSET), target).poison


def test_patch_rewrites_loads_and_poisons() -> None:
    insns = bytearray(struct.pack("<BBhi", 0x61, 0x21, 4, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0))
    patch(insns, 0, CoreResult(4, 12), "<")
    assert struct.unpack_from("<BBhi", insns, 0) == (0x61, 0x21, 12, 0)
    with pytest.raises(CoreError, match="expected 4"):
        patch(insns, 0, CoreResult(4, 16), "<")
    patch(insns, 0, CoreResult(12, 0, poison=True), "<")
    assert struct.unpack_from("<BBhi", insns, 0) == (0x85, 0, 0, POISON)


def test_bad_access_strings_are_errors() -> None:
    local = _btf(("point", (("x", 1),)))
    with pytest.raises(CoreError):
        parse_spec(local, 3, "0:5", CoreReloKind.FIELD_BYTE_OFFSET)
    with pytest.raises(CoreError):
        parse_spec(local, 3, "x", CoreReloKind.FIELD_BYTE_OFFSET)
