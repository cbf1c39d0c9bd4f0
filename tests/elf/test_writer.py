"""The BPF object writer: objects it writes load with tinybpf's loader and with libbpf (bpftool), and
read back with llvm-objdump, in both byte orders."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinybpf.asm import assemble, builder
from tinybpf.btf import Array as BTFArray
from tinybpf.btf import BTFBuilder, Datasec, Int, Member, Ptr, Struct, Var, VarSecinfo
from tinybpf.elf.constants import BPFRelocation, SectionFlag, SectionType, SymbolBind, SymbolType
from tinybpf.elf.reader import ElfFile
from tinybpf.elf.writer import ObjectWriter

# A socket filter returning one more than the u32 in slot 0 of an array map (7 when the lookup fails):
# the map is an ld_imm64 relocation, the addition a bpf-to-bpf call (src_reg BPF_PSEUDO_CALL, imm -1
# plus the callee's offset, relocated against its symbol) into .text.
PROGRAM = """
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = 0 ll
call 1
if r0 == 0 goto +3
r1 = *(u32 *)(r0 + 0)
call -1
exit
r0 = 7
exit
"""
HELPER = "r0 = r1\nr0 += 1\nexit"


def _btf(byte_order: str) -> bytes:
    """``struct { __uint(type, ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u32); } values``."""
    b = BTFBuilder()
    u32 = b.add(Int("unsigned int", 4, 0, 32))
    i32 = b.add(Int("int", 4, 1, 32))

    def uint_field(value: int) -> int:
        return b.add(Ptr(b.add(BTFArray(i32, u32, value))))

    map_type = b.add(Struct("", 32, (
        Member("type", uint_field(2), 0), Member("max_entries", uint_field(1), 64),
        Member("key", b.add(Ptr(u32)), 128), Member("value", b.add(Ptr(u32)), 192),
    )))
    var = b.add(Var("values", map_type, 1))
    b.add(Datasec(".maps", 32, (VarSecinfo(var, 0, 32),)))
    return b.encode(byte_order)


def build(byte_order: str) -> bytes:
    w = ObjectWriter(byte_order)
    main = assemble(PROGRAM)
    main[7] = builder.call_local(-1)  # instruction 7 is slot 8 (the ld_imm64 takes two)
    code = main.encode(byte_order)
    helper = assemble(HELPER).encode(byte_order)
    socket = w.section("socket", code, flags=SectionFlag.ALLOC | SectionFlag.EXECINSTR)
    text = w.section(".text", helper, flags=SectionFlag.ALLOC | SectionFlag.EXECINSTR)
    maps = w.section(".maps", bytes(32), flags=SectionFlag.ALLOC | SectionFlag.WRITE)
    license_ = w.section("license", b"GPL\0", flags=SectionFlag.ALLOC | SectionFlag.WRITE, align=1)
    w.section(".BTF", _btf(byte_order), kind=SectionType.PROGBITS, flags=0, align=4)
    w.symbol("prog", socket, 0, len(code), kind=SymbolType.FUNC)
    helper_sym = w.symbol("add_one", text, 0, len(helper), kind=SymbolType.FUNC, bind=SymbolBind.LOCAL)
    values = w.symbol("values", maps, 0, 32, kind=SymbolType.OBJECT)
    w.symbol("_license", license_, 0, 4, kind=SymbolType.OBJECT)
    w.relocation(socket, 3 * 8, values, BPFRelocation.R_64_64)  # the ld_imm64 (slot 3)
    w.relocation(socket, 8 * 8, helper_sym, BPFRelocation.R_64_32)
    return w.write()


@pytest.mark.parametrize("byte_order", ["little", "big"])
def test_reads_back(byte_order: str) -> None:
    elf = ElfFile(build(byte_order))
    assert [s.name for s in elf.sections][1:] == ["socket", ".text", ".maps", "license", ".BTF", ".relsocket",
                                                  ".symtab", ".strtab"]
    symbols = {s.name: s for s in elf.symbols() if s.name}
    assert symbols["prog"].type == SymbolType.FUNC and symbols["add_one"].bind == SymbolBind.LOCAL
    socket = elf.section("socket")
    assert socket is not None
    assert [(r.offset, elf.symbols()[r.symbol].name) for r in elf.relocations_for(socket)] == [(24, "values"),
                                                                                           (64, "add_one")]


def test_llvm_objdump_reads_it(tmp_path: Path) -> None:
    if shutil.which("llvm-objdump") is None:
        pytest.skip("llvm-objdump is not installed (a test-time reference only)")
    path = tmp_path / "w.o"
    path.write_bytes(build("little"))
    done = subprocess.run(["llvm-objdump", "-d", "-r", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "R_BPF_64_64\tvalues" in done.stdout and "R_BPF_64_32\tadd_one" in done.stdout
    assert "file format elf64-bpf" in done.stdout


@pytest.mark.kernel
def test_tinybpf_loads_and_runs_it(tmp_path: Path) -> None:
    from tinybpf.objects import Object

    path = tmp_path / "w.o"
    path.write_bytes(build("little"))
    with Object.load_file(path) as obj:
        obj.maps["values"][0] = 41
        assert obj.programs["prog"].test_run(b"\0" * 64).retval == 42


@pytest.mark.kernel
def test_libbpf_loads_it(tmp_path: Path) -> None:
    """bpftool (libbpf) loads the object and pins its program; the pin is removed again."""
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool is not installed (a test-time reference only)")
    from tinybpf.kernel.bpffs import ensure_bpffs

    path = tmp_path / "w.o"
    path.write_bytes(build("little"))
    pin = Path(ensure_bpffs()) / f"tt_writer_{tmp_path.name}"
    done = subprocess.run(["bpftool", "prog", "loadall", str(path), str(pin)], capture_output=True, text=True)
    try:
        assert done.returncode == 0, done.stderr
        assert [p.name for p in pin.iterdir()] == ["prog"]
    finally:
        shutil.rmtree(pin, ignore_errors=True)
