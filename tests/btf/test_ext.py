"""``.BTF.ext``: func_info, line_info and CO-RE relocations of the committed objects."""
from __future__ import annotations

import pytest

from tinybpf.btf import BTF, CoreReloKind, Func, parse_btf_ext
from tinybpf.errors import FormatError

from .conftest import OBJECTS_DIR, section_bytes


def ext_of(name: str):
    path = OBJECTS_DIR / f"{name}.bpf.o"
    btf = BTF(section_bytes(path, ".BTF"))
    return btf, parse_btf_ext(section_bytes(path, ".BTF.ext"), btf)


@pytest.mark.parametrize("endian", ["el", "eb"])
def test_func_and_line_info(endian: str) -> None:
    btf, ext = ext_of(f"subprogs-{endian}")
    assert set(ext.func_info) == {".text", "socket", "raw_tp/sched_switch"}
    names = [btf.type(info.type_id).name for info in ext.func_info[".text"]]
    assert sorted(names) == ["add", "scale"]
    assert all(isinstance(btf.type(info.type_id), Func) for infos in ext.func_info.values() for info in infos)
    lines = ext.line_info["socket"]
    assert lines[0].insn_off == 0 and lines[0].file_name.endswith("subprogs.bpf.c")
    source = (OBJECTS_DIR / "subprogs.bpf.c").read_text().splitlines()
    for infos in ext.line_info.values():
        for line in infos:
            assert line.line == source[line.line_num - 1], line
    assert any(line.column > 0 for line in lines)
    assert [line.insn_off for line in lines] == sorted(line.insn_off for line in lines)


@pytest.mark.parametrize("endian", ["el", "eb"])
def test_core_relocations(endian: str) -> None:
    btf, ext = ext_of(f"core-{endian}")
    (relos,) = ext.core_relos.values()
    kinds = {relo.kind for relo in relos}
    assert kinds >= {
        CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_EXISTS, CoreReloKind.FIELD_BYTE_SIZE,
        CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_SIZE, CoreReloKind.TYPE_ID_TARGET,
        CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE, CoreReloKind.FIELD_LSHIFT_U64,
    }
    by_access = {(btf.type(r.type_id).name, r.access, r.kind) for r in relos}
    assert ("task_struct___local", "0:1", CoreReloKind.FIELD_BYTE_OFFSET) in by_access  # task->tgid
    assert ("task_struct___local", "0:4", CoreReloKind.FIELD_BYTE_OFFSET) in by_access  # task->parent
    assert ("pid_type___local", "1", CoreReloKind.ENUMVAL_VALUE) in by_access


def test_truncated_ext_is_a_format_error() -> None:
    path = OBJECTS_DIR / "core-el.bpf.o"
    btf = BTF(section_bytes(path, ".BTF"))
    data = section_bytes(path, ".BTF.ext")
    for cut in range(0, len(data), 7):
        try:
            parse_btf_ext(data[:cut], btf)
        except FormatError:
            pass


@pytest.mark.parametrize("endian", ["el", "eb"])
def test_raw_mode_keeps_the_records_the_decoded_mode_reads(endian: str) -> None:
    """One reader: the raw records BPF_PROG_LOAD gets are the ones the decoded view describes."""
    from tinybpf.btf.ext import parse_btf_ext_raw

    path = OBJECTS_DIR / f"subprogs-{endian}.bpf.o"
    btf, ext = ext_of(f"subprogs-{endian}")
    raw = parse_btf_ext_raw(section_bytes(path, ".BTF.ext"), btf)
    assert raw.func_info_rec_size == 8 and raw.line_info_rec_size == 16
    assert {s: [r.insn_off for r in records] for s, records in raw.line_info.items()} == \
        {s: [line.insn_off for line in lines] for s, lines in ext.line_info.items()}
    order = "little" if endian == "el" else "big"
    assert {s: [int.from_bytes(r.data[4:8], order) for r in records] for s, records in raw.func_info.items()} == \
        {s: [info.type_id for info in infos] for s, infos in ext.func_info.items()}
    assert raw.core_relos == ext.core_relos
    with pytest.raises(FormatError, match=r"x\.o: \.BTF\.ext"):
        parse_btf_ext_raw(b"\0" * 8, btf, "x.o")
