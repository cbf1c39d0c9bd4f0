"""Building blobs: parse(encode(types)) == types, split BTF on a base, and sanitizing for old kernels."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.btf import (
    BTF,
    Array,
    BTFBuilder,
    Datasec,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Param,
    Ptr,
    Struct,
    Typedef,
    Union,
    Var,
    VarSecinfo,
)
from tinybpf.btf.sanitize import sanitize
from tinybpf.btf.types import AnyType

from .conftest import BPF_OBJECTS, object_btf

OBJECT_NAMES = sorted(p.name[: -len(".bpf.o")] for p in BPF_OBJECTS)


@pytest.mark.parametrize("name", OBJECT_NAMES)
@pytest.mark.parametrize("byte_order", ["little", "big"])
def test_object_btf_reencodes_to_the_same_types(name: str, byte_order: str) -> None:
    original = object_btf(name)
    encoded = BTFBuilder.from_btf(original).encode(byte_order)
    again = BTF(encoded)
    assert again.byte_order == byte_order
    assert list(again.types()) == list(original.types())


def sample_types() -> BTFBuilder:
    builder = BTFBuilder()
    u32 = builder.add(Int("unsigned int", 4, 0, 32))
    s64 = builder.add(Int("long long", 8, IntEncoding.SIGNED, 64))
    char = builder.add(Int("char", 1, IntEncoding.SIGNED | IntEncoding.CHAR, 8))
    node = builder.add(Struct("node", 24, (
        Member("next", builder.first_id + 3, 0),
        Member("flags", u32, 64, 3),
        Member("mode", u32, 67, 5),
        Member("value", s64, 128),
    )))
    assert builder.add(Ptr(node)) == node + 1
    index = builder.add(Int("__ARRAY_SIZE_TYPE__", 4, 0, 32))
    name = builder.add(Array(char, index, 16))
    builder.add(Union("either", 16, (Member("name", name, 0), Member("number", s64, 0))))
    builder.add(Enum("state", 4, (EnumValue("OFF", 0), EnumValue("ON", -1)), signed=True))
    builder.add(Enum64("wide", 8, (EnumValue("BIG", 1 << 40), EnumValue("HUGE", (1 << 64) - 1))))
    proto = builder.add(FuncProto(u32, (Param("ctx", node + 1), Param("", 0))))
    builder.add(Func("handler", proto, Linkage.GLOBAL))
    builder.add(Typedef("handler_fn", proto))
    builder.add(Float("double", 8))
    var = builder.add(Var("hits", s64, Linkage.GLOBAL))
    builder.add(Datasec(".data", 8, (VarSecinfo(var, 0, 8),)))
    return builder


@pytest.mark.parametrize("byte_order", ["little", "big"])
def test_built_types_round_trip(byte_order: str) -> None:
    builder = sample_types()
    btf = BTF(builder.encode(byte_order))
    assert list(btf.types()) == builder.types
    node = btf.find("node", Kind.STRUCT)
    assert btf.member(node, "mode").bitfield_size == 5
    assert btf.c_name(btf.find("handler_fn")) == "handler_fn"
    assert btf.c_name(btf.resolve(btf.find("handler_fn"))) == "unsigned int (struct node *, ...)"


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def type_lists(draw: st.DrawFn) -> list[AnyType]:
    """Random well-formed type lists: every reference points at an earlier id (or void)."""
    types: list[AnyType] = [Int("int", 4, IntEncoding.SIGNED, 32)]
    for _ in range(draw(st.integers(0, 25))):
        ref = st.integers(0, len(types))
        choice = draw(st.integers(0, 6))
        if choice == 0:
            types.append(Int(draw(names), draw(st.sampled_from([1, 2, 4, 8, 16])), draw(st.integers(0, 7)), 8))
        elif choice == 1:
            types.append(Ptr(draw(ref)))
        elif choice == 2:
            types.append(Array(draw(ref), 1, draw(st.integers(0, 2**32 - 1))))
        elif choice == 3:
            members = draw(st.lists(st.builds(Member, names, ref, st.integers(0, 2**24 - 1), st.integers(0, 255)),
                                    max_size=5))
            types.append(Struct(draw(names), draw(st.integers(0, 2**32 - 1)), tuple(members)))
        elif choice == 4:
            signed = draw(st.booleans())
            low = -(2**31) if signed else 0
            values = draw(st.lists(st.builds(EnumValue, names, st.integers(low, low + 2**32 - 1)), max_size=4))
            types.append(Enum(draw(names), 4, tuple(values), signed))
        elif choice == 5:
            params = draw(st.lists(st.builds(Param, st.just(""), ref), max_size=4))
            types.append(FuncProto(draw(ref), tuple(params)))
        else:
            types.append(Typedef(draw(names), draw(ref)))
    return types


@settings(max_examples=150, deadline=None)
@given(types=type_lists(), byte_order=st.sampled_from(["little", "big"]))
def test_parse_encode_property(types: list[AnyType], byte_order: str) -> None:
    builder = BTFBuilder()
    for kind_type in types:
        builder.add(kind_type)
    assert list(BTF(builder.encode(byte_order)).types()) == builder.types


def test_split_btf_continues_base_ids_and_strings() -> None:
    base = object_btf("types-el")
    builder = BTFBuilder(base)
    int_id = base.find("int", Kind.INT).id
    first = builder.add(Struct("module_thing", 8, (Member("count", int_id, 0), Member("extra", int_id, 32))))
    builder.add(Ptr(first))
    split = BTF(builder.encode(), base=base, name="module")
    assert split.first_id == base.count == first
    assert split.find("module_thing", Kind.STRUCT).id == first
    assert split.find("int", Kind.INT).id == int_id  # found in the base
    assert split.c_name(first + 1) == "struct module_thing *"
    assert split.sizeof(split.member(first, "extra").type) == 4
    assert [t.name for t in split.types()] == ["module_thing", ""]


def test_sanitize_for_a_5_1_kernel() -> None:
    """Linux 5.1 knows FUNC/FUNC_PROTO but none of VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64."""
    original = object_btf("types-el")
    blob = BTFBuilder.from_btf(original).encode()
    old_kinds = set(Kind) - {Kind.VAR, Kind.DATASEC, Kind.FLOAT, Kind.DECL_TAG, Kind.TYPE_TAG, Kind.ENUM64}
    sanitized = BTF(sanitize(blob, old_kinds, func_linkage=False))
    assert sanitized.count == original.count
    kinds = {t.kind for t in sanitized.types()}
    assert not kinds & {Kind.VAR, Kind.DATASEC, Kind.FLOAT, Kind.DECL_TAG, Kind.TYPE_TAG}
    assert all(t.linkage == Linkage.STATIC for t in sanitized.types() if isinstance(t, Func))
    bss = sanitized.type(original.find(".bss", Kind.DATASEC).id)
    assert isinstance(bss, Struct) and bss.name == "_bss" and bss.members[0].name == "global_node"
    node = original.find("node", Kind.STRUCT)
    assert sanitized.type(node.id) == node  # untouched kinds keep their bytes


def test_sanitize_enum64_and_func() -> None:
    blob = sample_types().encode("big")
    sanitized = BTF(sanitize(blob, set(Kind) - {Kind.ENUM64, Kind.FUNC, Kind.FUNC_PROTO}))
    wide = sanitized.find("wide")
    assert isinstance(wide, Union) and wide.size == 8
    placeholder = sanitized.type(wide.members[0].type)
    assert isinstance(placeholder, Int) and placeholder.name == "enum64_placeholder"
    assert sanitized.count == BTF(blob).count + 1
    assert isinstance(sanitized.find("handler"), Typedef)
    assert not sanitized.find("state", Kind.ENUM).signed


def test_sanitize_is_identity_when_everything_is_supported() -> None:
    blob = sample_types().encode()
    assert sanitize(blob, set(Kind)) is blob
