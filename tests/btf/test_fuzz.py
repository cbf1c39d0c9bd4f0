"""Corrupt BTF and .BTF.ext raise FormatError: never struct.error, IndexError, RecursionError, nor a hang."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinybpf.btf import BTF, Struct, Union, parse_btf_ext, render_c
from tinybpf.btf.kinds import Kind
from tinybpf.btf.sanitize import sanitize
from tinybpf.errors import FormatError

from .conftest import OBJECTS_DIR, section_bytes

NAMES = ["types-el", "types-eb", "core-el", "maps-eb"]
BLOBS = [section_bytes(OBJECTS_DIR / f"{name}.bpf.o", ".BTF") for name in NAMES]
EXTS = [section_bytes(OBJECTS_DIR / f"{name}.bpf.o", ".BTF.ext") for name in NAMES]


def use_everything(blob: bytes, ext: bytes) -> None:
    btf = BTF(blob)
    for t in btf.types():
        btf.c_name(t)
        if isinstance(t, (Struct, Union)):
            btf.sizeof(t)
            btf.alignof(t)
    btf.find_all("node")
    render_c(btf)
    sanitize(blob, {Kind.INT, Kind.PTR, Kind.STRUCT})
    parse_btf_ext(ext, btf)


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    corrupted = bytearray(data[: max(0, len(data) - cut)])
    for position, value in flips:
        if corrupted:
            corrupted[position % len(corrupted)] = value
    return bytes(corrupted)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(range(len(BLOBS))),
    cut=st.one_of(st.just(0), st.integers(0, 3000)),
    flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8),
    target_ext=st.booleans(),
)
def test_corrupt_btf_raises_format_error_only(
    sample: int, cut: int, flips: list[tuple[int, int]], target_ext: bool
) -> None:
    blob, ext = BLOBS[sample], EXTS[sample]
    if target_ext:
        ext = mutate(ext, cut, flips)
    else:
        blob = mutate(blob, cut, flips)
    try:
        use_everything(blob, ext)
    except FormatError:
        pass


def test_every_truncation_of_a_blob() -> None:
    blob = BLOBS[0]
    for cut in range(len(blob)):
        try:
            BTF(blob[:cut])
        except FormatError:
            pass
