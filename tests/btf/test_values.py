"""Values decoded through BTF, as ``tinybpf run`` prints map contents: structs, enums, arrays, bitfields."""
from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from tinybpf.btf import BTF, BTFBuilder
from tinybpf.btf.kinds import IntEncoding
from tinybpf.btf.types import Array, Enum, EnumValue, Int, Member, Struct
from tinybpf.btf.values import decode


def _btf() -> BTF:
    builder = BTFBuilder()
    builder.add(Int("int", 4, IntEncoding.SIGNED, 32))                      # 1
    builder.add(Int("char", 1, IntEncoding.CHAR, 8))                        # 2
    builder.add(Enum("kind", 4, (EnumValue("OPEN", 1), EnumValue("CLOSE", 2))))  # 3
    builder.add(Array(2, 1, 8))                                             # 4: char[8]
    builder.add(Array(1, 1, 3))                                             # 5: int[3]
    builder.add(Struct("event", 28, (
        Member("pid", 1, 0), Member("kind", 3, 32), Member("comm", 4, 64), Member("counts", 5, 128),
    )))                                                                     # 6
    builder.add(Struct("flags", 4, (Member("low", 1, 0, 3), Member("high", 1, 3, 5))))  # 7
    return BTF(builder.encode("little"))


def test_struct_fields_enum_names_strings_and_arrays() -> None:
    data = struct.pack("<ii8s3i", 42, 2, b"bash\0xyz", 1, -2, 3)
    assert decode(_btf(), 6, data) == {"pid": 42, "kind": "CLOSE", "comm": "bash", "counts": [1, -2, 3]}


def test_raw_mode_keeps_numbers_and_bytes() -> None:
    data = struct.pack("<ii8s3i", 42, 9, b"sh", 0, 0, 0)
    assert decode(_btf(), 6, data, readable=False) == {"pid": 42, "kind": 9, "comm": b"sh", "counts": [0, 0, 0]}
    assert decode(_btf(), 6, data)["kind"] == 9  # no enumerator: the number


@given(st.integers(-4, 3), st.integers(-16, 15))
def test_signed_bitfields(low: int, high: int) -> None:
    word = (low & 0b111) | ((high & 0b11111) << 3)
    assert decode(_btf(), 7, word.to_bytes(4, "little")) == {"low": low, "high": high}
