"""Program BTF equal to clang's for the same declarations (compared by structure, not by id)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tinybpf.btf import BTF
from tinybpf.btf import types as bt
from tinybpf.cc.emit.program_btf import ProgramBTF
from tinybpf.cc.frontend import check
from tinybpf.cc.preprocess import Options
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.syntax import ast
from tinybpf.elf.reader import ElfFile

SOURCE = r"""
typedef unsigned int u32;
typedef unsigned long long u64;
struct inner { unsigned char tag : 3, more : 5; u32 value; };
struct event { u32 pid; char comm[16]; const volatile int *p; struct event *next; struct inner in[2];
               enum kind { K_A = 1, K_B } kind; union { u64 x; u32 y; }; _Bool ok; long l; unsigned long ul; };
struct opaque;
struct { int (*type)[2]; int (*max_entries)[1]; u32 *key; struct event *value; } events __attribute__((section(".maps")));
struct event last;
struct opaque *handle;
u64 counter = 1;
const volatile u32 limit = 10;
int handle_event(struct event *e, u32 n) { return e->pid + n + counter + limit + (handle != 0) + last.pid; }
"""


def _canon(btf: BTF, type_id: int, depth: int = 0) -> str:
    t = btf.type(type_id)
    if isinstance(t, bt.Void):
        return "void"
    if isinstance(t, bt.Int):
        return f"int:{t.name}:{t.size}:{t.encoding & 5}"
    if isinstance(t, (bt.Ptr, bt.Const, bt.Volatile, bt.Typedef, bt.TypeTag)):
        head = {bt.Ptr: "*", bt.Const: "const", bt.Volatile: "volatile"}.get(type(t), f"{type(t).__name__}:{t.name}")
        return f"{head}({_canon(btf, t.type, depth)})"
    if isinstance(t, bt.Array):
        return f"[{t.nelems}]{_canon(btf, t.type, depth)}"
    if isinstance(t, bt.Fwd):
        return f"fwd:{t.name}"
    if isinstance(t, (bt.Enum, bt.Enum64)):
        return f"enum:{t.name}:{t.size}:" + ",".join(f"{v.name}={v.value & 0xFFFFFFFF}" for v in t.values)
    if isinstance(t, (bt.Struct, bt.Union)):
        head = f"{type(t).__name__}:{t.name}:{t.size}"
        if depth > 2:
            return head
        return head + "{" + ",".join(f"{m.name}@{m.bit_offset}/{m.bitfield_size}={_canon(btf, m.type, depth + 1)}"
                                     for m in t.members) + "}"
    if isinstance(t, bt.FuncProto):
        return f"fn({','.join(p.name + ':' + _canon(btf, p.type, depth) for p in t.params)})->{_canon(btf, t.return_type, depth)}"
    raise AssertionError(t)


def _named(btf: BTF) -> dict[str, str]:
    out = {}
    for t in btf.types():
        if isinstance(t, bt.Var):
            out[f"var {t.name}"] = f"{t.linkage}:{_canon(btf, t.type)}"
        elif isinstance(t, bt.Func):
            out[f"func {t.name}"] = f"{t.linkage}:{_canon(btf, t.type)}"
        elif isinstance(t, bt.Datasec):
            out[f"sec {t.name}"] = ",".join(sorted(btf.type(v.type).name for v in t.vars))
    return out


def _ours_blob() -> bytes:
    checked = check(SOURCE, "p.c", Options())
    program = ProgramBTF()
    ends: dict[str, int] = {}  # where each section's next variable goes, as the data stage lays them out
    for item in checked.unit.items:
        if isinstance(item, ast.FunctionDef):
            ftype = ct.strip_typedefs(checked.types.function(item))
            assert isinstance(ftype, ct.Function)
            program.function(item.declarator.name or "", ftype)
        elif isinstance(item, ast.Declaration) and "typedef" not in item.specs.storage:
            for init in item.declarators:
                d = init.declarator
                if d.name is None or (d.layers and isinstance(d.layers[0], ast.FunctionLayer)):
                    continue
                found = checked.types.lookup_name(d.name)
                assert found is not None and found.type is not None
                attrs = d.attributes + item.specs.attributes
                section = next((a.args[0].value.decode() for a in attrs if a.name == "section"
                                and isinstance(a.args[0], ast.StringLit)), None)
                plain = found.type
                if section is None:
                    section = ".bss" if init.init is None else ".rodata" if plain.const else ".data"
                offset = -(-ends.get(section, 0) // ct.align_of(found.type)) * ct.align_of(found.type)
                ends[section] = offset + ct.size_of(found.type)
                program.variable(d.name, found.type, section, offset)
    return program.encode()


def _ours() -> BTF:
    return BTF(_ours_blob())


def test_program_btf_matches_clangs(tmp_path: Path) -> None:
    source = tmp_path / "p.c"
    source.write_text(SOURCE)
    obj = tmp_path / "p.o"
    try:
        done = subprocess.run(["clang", "-target", "bpf", "-g", "-O2", "-c", str(source), "-o", str(obj)],
                              capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("clang is not installed (a test-time reference only)")
    assert done.returncode == 0, done.stderr
    section = ElfFile.from_path(obj).section(".BTF")
    assert section is not None
    theirs = _named(BTF(bytes(section.data())))
    ours = _named(_ours())
    assert ours == theirs


@pytest.mark.kernel
def test_the_kernel_accepts_it() -> None:
    import os

    from tinybpf.kernel import commands

    fd, err = commands.btf_load(_ours_blob())
    assert fd >= 0, os.strerror(err)
    os.close(fd)
