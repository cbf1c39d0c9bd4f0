"""Corrupt ELF input raises FormatError: never struct.error, IndexError, UnicodeDecodeError, nor a hang."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinybpf.elf import ElfFile, SectionType, SymbolIndex
from tinybpf.errors import FormatError

from .conftest import BPF_OBJECTS, USER32_OBJECTS

SAMPLES = [path.read_bytes() for path in BPF_OBJECTS[:4] + USER32_OBJECTS]


def read_everything(data: bytes) -> None:
    elf = ElfFile(data)
    for section in elf.sections:
        section.data()
        if section.type in (SectionType.SYMTAB, SectionType.DYNSYM):
            elf.read_symbols(section)
        elif section.type in (SectionType.REL, SectionType.RELA):
            elf.relocations(section)
    elf.notes()
    elf.build_id()
    for segment in elf.segments:
        elf.vaddr_to_offset(segment.vaddr)
    index = SymbolIndex(elf)
    for symbol in elf.symbols():
        elf.symbol_offset(symbol)
        index.at(symbol.value)


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    corrupted = bytearray(data[: max(0, len(data) - cut)])
    for position, value in flips:
        if corrupted:
            corrupted[position % len(corrupted)] = value
    return bytes(corrupted)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(range(len(SAMPLES))),
    cut=st.one_of(st.just(0), st.integers(0, 20000)),
    flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=12),
)
def test_corrupt_objects_raise_format_error_only(sample: int, cut: int, flips: list[tuple[int, int]]) -> None:
    try:
        read_everything(mutate(SAMPLES[sample], cut, flips))
    except FormatError:
        pass


def test_header_field_flips_exhaustively() -> None:
    """Every byte of the ELF header set to 0x00 and 0xff, one at a time."""
    data = SAMPLES[0]
    for position in range(64):
        for value in (0x00, 0xFF):
            try:
                read_everything(mutate(data, 0, [(position, value)]))
            except FormatError:
                pass
