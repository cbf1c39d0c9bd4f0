"""BTF for probes with sub-programs: the verifier wants ``func_info`` (a BTF FUNC per function) as soon as
a program holds a callback (``for ($kv : @map)`` bodies, see ``trace.lower.loops``).

Every function gets the same prototype, ``int f(void)``, with static linkage: the verifier checks callback
arguments from the helper's own description, and static functions are not checked against BTF.
"""
from __future__ import annotations

import struct
from typing import Any, Optional

CALLBACK_PREFIX = "for_each_"
_FUNC_INFO = struct.Struct("=II")


def function_starts(instructions: Any) -> list[tuple[str, int]]:
    """``(name, slot)`` of the main program and of each callback."""
    starts = [("main", 0)]
    for name, slot in instructions.symbols().items():
        if name.startswith(CALLBACK_PREFIX):
            starts.append((name, slot))
    return sorted(starts, key=lambda item: item[1])


def func_btf(instructions: Any) -> Optional[tuple[bytes, bytes]]:
    """``(btf blob, func_info records)`` when ``instructions`` has callbacks, else None."""
    starts = function_starts(instructions)
    if len(starts) == 1:
        return None
    from tinybpf.btf import BTFBuilder, Func, FuncProto, Int
    builder = BTFBuilder()
    int_id = builder.add(Int("int", 4, 1, 32))
    proto = builder.add(FuncProto(int_id, ()))
    records = b""
    for name, slot in starts:
        func = builder.add(Func(name, proto))
        records += _FUNC_INFO.pack(slot, func)
    return builder.encode(), records


def load_options(instructions: Any) -> dict[str, Any]:
    """Extra ``Program.load`` arguments: the BTF fd (kept open by the returned holder) and func_info."""
    found = func_btf(instructions)
    if found is None:
        return {}
    from tinybpf.objects import load_btf

    blob, records = found
    fd = load_btf(blob, "the trace program's functions")
    return {"btf_fd": int(fd), "func_info": records, "func_info_rec_size": _FUNC_INFO.size, "_btf": fd}
