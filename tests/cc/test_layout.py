"""Struct, union and bitfield layout equal to clang's for BPF (differential: clang's object BTF)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tinybpf.btf import BTF
from tinybpf.btf.types import Struct, Union
from tinybpf.cc.diagnostics import CCError, Diagnostics, SourceLines
from tinybpf.cc.preprocess import Options, preprocess
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics.declarations import TypeResolver
from tinybpf.cc.syntax import ast
from tinybpf.cc.syntax.parser import parse
from tinybpf.elf.reader import ElfFile

LAYOUTS = r"""
typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32; typedef unsigned long long u64;
struct plain { char c; int i; short s; long l; char tail; };
struct bits { unsigned int a : 3, b : 5, c : 30; u8 d : 1; u64 e : 40, f : 30; char g; };
struct zero_width { char a; int : 0; char b; long long : 0; char c : 2; };
struct straddle { u8 a : 7; u8 b : 2; u16 c : 9; u16 d : 9; u32 e : 31, f : 2; };
struct __attribute__((packed)) packed { char a; int b; u16 c : 3; u64 d : 60; char e; };
struct aligned { char a; int b __attribute__((aligned(16))); char c; } __attribute__((aligned(32)));
struct with_union { char tag; union { u32 x; u64 y; u8 z[3]; }; struct { u8 p, q; } pair; int arr[3][2]; };
union u { char c[5]; int i; u16 bits : 12; };
struct flex { u32 len; u8 data[]; };
struct unnamed_bits { char a; unsigned : 3; char b : 4; unsigned : 0; char c; };
struct nested { struct plain p; struct bits b; char c; struct zero_width z[2]; };
struct enums { enum { SMALL = 1 } a; enum { BIG = 0x100000000ULL } b; char c; };
struct ptrs { void *p; char c; int (*fn)(int); char *const *q; };
struct longs { long long a; char b; __int128 c; char d; };
struct anon_in_anon { int x; union { struct { char a, b; }; long w; }; char z; };
"""
NAMES = ["plain", "bits", "zero_width", "straddle", "packed", "aligned", "with_union", "u", "flex", "unnamed_bits",
         "nested", "enums", "ptrs", "longs", "anon_in_anon"]


def _resolve(source: str) -> dict[str, ct.Record]:
    diagnostics = Diagnostics(SourceLines())
    unit = parse(preprocess(source, "layouts.c", Options(), diagnostics), diagnostics)
    resolver = TypeResolver(diagnostics)
    for item in unit.items:
        assert isinstance(item, ast.Declaration)
        resolver.declaration(item)
    diagnostics.check()
    records = {}
    for name in NAMES:
        kind = "union" if name == "u" else "struct"
        found = resolver.scope.tags[name]
        assert isinstance(found, ct.Record) and found.kind == kind
        records[name] = found
    return records


def _flatten(record: ct.Record, base: int = 0) -> list[tuple[str, int, int]]:
    """(name, bit offset, bitfield size) of named members, anonymous members flattened like BTF's."""
    out = []
    for member in record.definition().fields or ():
        if member.name is None:
            if isinstance(member.type, ct.Record):
                out.append(("<anon>", base + member.bit_offset, 0))
            continue
        out.append((member.name, base + member.bit_offset, member.bits or 0))
    return out


@pytest.mark.parametrize("target", ["bpfel", "bpfeb"])
def test_layouts_equal_clangs(tmp_path: Path, target: str) -> None:
    source = tmp_path / "layouts.c"
    source.write_text(LAYOUTS + "".join(f"{'union' if n == 'u' else 'struct'} {n} v_{n};\n" for n in NAMES))
    obj = tmp_path / "layouts.o"
    try:
        done = subprocess.run(["clang", "-target", target, "-g", "-O2", "-c", str(source), "-o", str(obj)],
                              capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("clang is not installed (a test-time reference only)")
    assert done.returncode == 0, done.stderr
    elf = ElfFile.from_path(obj)
    section = elf.section(".BTF")
    assert section is not None
    btf = BTF(bytes(section.data()))
    ours = _resolve(LAYOUTS)
    for name in NAMES:
        reference = btf.find(name)
        assert isinstance(reference, (Struct, Union))
        record = ours[name]
        assert (name, record.size) == (name, reference.size)
        theirs = [(m.name or "<anon>", m.bit_offset, m.bitfield_size) for m in reference.members]
        assert (name, _flatten(record)) == (name, theirs)


def test_offsetof_sizeof_alignof_and_enum_values_fold() -> None:
    source = (
        "struct s { char a; struct { int x; long y[3]; } in; };\n"
        "enum e { A = 1 << 4, B, C = sizeof(struct s) * 2, D = __builtin_offsetof(struct s, in.y[2]),"
        " E = _Alignof(long), F = (unsigned char)300, G = -1 / 2, H = 7 % -3, I = (1 ? 5 : 1 / 0) };\n"
    )
    diagnostics = Diagnostics(SourceLines())
    unit = parse(preprocess(source, "e.c", Options(), diagnostics), diagnostics)
    resolver = TypeResolver(diagnostics)
    for item in unit.items:
        assert isinstance(item, ast.Declaration)
        resolver.declaration(item)
    enum = resolver.scope.tags["e"]
    assert isinstance(enum, ct.Enum)
    assert enum.values == {"A": 16, "B": 17, "C": 80, "D": 32, "E": 8, "F": 44, "G": 0, "H": 1, "I": 5}


def test_bad_declarations_are_positioned_errors() -> None:
    source = "struct a { int x : 40; int y : -1; int z : 0; int x; };\nint arr[-2];\nstruct b { int f[]; int g; };\n"
    diagnostics = Diagnostics(SourceLines())
    unit = parse(preprocess(source, "d.c", Options(), diagnostics), diagnostics)
    resolver = TypeResolver(diagnostics)
    for item in unit.items:
        assert isinstance(item, ast.Declaration)
        resolver.declaration(item)
    with pytest.raises(CCError) as info:
        diagnostics.check()
    text = info.value.render()
    for expected in ("width of bit-field 'x' (40 bits) exceeds the width of its type (32 bits)",
                     "bit-field 'y' has negative width (-1)", "named bit-field 'z' has zero width",
                     "duplicate member 'x'", "array size is negative",
                     "flexible array member must be the last member of a struct"):
        assert expected in text
