"""Parsing object BTF: every kind, both byte orders, layout queries and C names."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tinybpf.btf import (
    BTF,
    DeclTag,
    Enum,
    Float,
    FuncProto,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Struct,
    TypeTag,
    Var,
)
from tinybpf.errors import FormatError

from .conftest import BPF_OBJECTS, bpftool_raw, needs_bpftool, object_btf, section_bytes

RAW_LINE = re.compile(r"^\[(\d+)\] (\w+) '([^']*)'")


@needs_bpftool
@pytest.mark.parametrize("path", [p for p in BPF_OBJECTS if p.name.endswith("-el.bpf.o")], ids=lambda p: p.name)
def test_kinds_and_names_match_bpftool(path: Path) -> None:
    btf = BTF(section_bytes(path, ".BTF"))
    expected = [m.groups() for m in map(RAW_LINE.match, bpftool_raw(str(path)).splitlines()) if m]
    ours = [(str(t.id), t.kind.name, t.name or "(anon)") for t in btf.types()]
    assert ours == expected


@pytest.mark.parametrize("name", sorted({p.name.split("-")[0] for p in BPF_OBJECTS}))
def test_big_and_little_endian_parse_alike(name: str) -> None:
    little, big = object_btf(f"{name}-el"), object_btf(f"{name}-eb")
    assert (little.byte_order, big.byte_order) == ("little", "big")
    assert list(little.types()) == list(big.types())


def test_every_kind_clang_emits() -> None:
    btf = object_btf("types-el")
    kinds = {t.kind for t in btf.types()}
    assert kinds >= {
        Kind.INT, Kind.PTR, Kind.ARRAY, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST,
        Kind.RESTRICT, Kind.FUNC, Kind.FUNC_PROTO, Kind.VAR, Kind.DATASEC, Kind.FLOAT, Kind.DECL_TAG, Kind.TYPE_TAG,
    }
    assert btf.find("int", Kind.INT) == Int("int", 4, IntEncoding.SIGNED, 32, 0, btf.find("int").id)
    assert isinstance(btf.find("float"), Float)
    color = btf.find("color", Kind.ENUM)
    assert isinstance(color, Enum) and [(v.name, v.value) for v in color.values] == [("RED", 0), ("GREEN", 5), ("BLUE", 6)]
    tags = {t.name: t for t in btf.types() if isinstance(t, DeclTag)}
    assert tags["member"].component_idx == 11 and tags["struct"].component_idx == -1
    assert [t.name for t in btf.types() if isinstance(t, TypeTag)] == ["user"]
    use_node = btf.find("use_node", Kind.FUNC)
    assert use_node.linkage == Linkage.GLOBAL
    proto = btf.type(use_node.type)
    assert isinstance(proto, FuncProto) and [p.name for p in proto.params] == ["n", "unused"]
    variable = btf.find("rodata_flags", Kind.VAR)
    assert isinstance(variable, Var) and btf.c_name(variable.type) == "const struct flags"


def test_layout_queries() -> None:
    btf = object_btf("types-eb")
    node = btf.find("node", Kind.STRUCT)
    assert isinstance(node, Struct)
    assert btf.sizeof(node) == 136 and btf.alignof(node) == 8
    assert btf.member(node, "hi").byte_offset == 20  # inside the anonymous struct inside the anonymous union
    assert btf.member(node, "as_double").bit_offset == 128
    assert btf.member(node, "style.delta").byte_offset == 28
    flags = btf.member(node, "flags.d")
    assert (flags.bit_offset, flags.bitfield_size) == (512 + 15, 33)
    assert btf.sizeof(btf.member(node, "name").type) == 32
    packed = btf.find("packed", Kind.STRUCT)
    assert btf.sizeof(packed) == 9 and btf.alignof(packed) == 1 and btf.is_packed(packed)
    assert not btf.is_packed(node)
    with pytest.raises(KeyError, match="no member 'nope'"):
        btf.member(node, "nope")
    with pytest.raises(KeyError):
        btf.find("no_such_type")


@pytest.mark.parametrize(
    ("member", "c_name"),
    [
        ("next", "struct node *"),
        ("cursor", "const volatile int *restrict"),
        ("log", "logger_t"),
        ("callbacks", "void (*[2])(struct node *, int)"),
        ("name", "char[4][8]"),
        ("user_ptr", "int *"),
        ("style", "struct {...}"),
    ],
)
def test_c_names(member: str, c_name: str) -> None:
    btf = object_btf("types-el")
    assert btf.c_name(btf.member(btf.find("node", Kind.STRUCT), member).type) == c_name


def test_c_name_of_function_pointer_typedef_target() -> None:
    btf = object_btf("types-el")
    logger = btf.find("logger_t", Kind.TYPEDEF)
    assert btf.c_name(btf.resolve(logger)) == "int (*)(const char *, ...)"
    assert btf.c_name(btf.find("use_node", Kind.FUNC)) == "int use_node(struct node *, int)"


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "too short"),
        (b"\x9f\xeb\x01\x00" + b"\0" * 20, "out of range"),
        (b"\x00\x00\x01\x00" + b"\0" * 20, "bad magic"),
        (b"\x9f\xeb\x02\x00\x18" + b"\0" * 19, "version 2"),
    ],
)
def test_rejects_bad_headers(blob: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        BTF(blob)
