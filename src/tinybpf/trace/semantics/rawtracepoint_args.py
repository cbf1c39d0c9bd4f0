"""Raw tracepoint ``args`` from the kernel's BTF.

A raw tracepoint's context is its arguments as u64s. The kernel's BTF describes them by the functions it
generates per tracepoint (``__bpf_trace_<event>``, ``__probestub_<event>``...), whose first parameter is the
tracepoint's private data; unlike the ``btf_trace_<event>`` typedef they name the parameters. ``args`` becomes a record literal of the other parameters, each a cast of
``argN`` to its type, as for uprobes (``uprobe_args``).
"""
from __future__ import annotations

from typing import Any, Optional

from tinybpf.trace.syntax import ast

_PREFIXES = ("__bpf_trace_", "__probestub_", "__traceiter_")


def args_record(event: str, pos: ast.Pos) -> Optional[ast.Tuple]:
    """``(irq = (int32)arg0, action = (struct irqaction *)arg1)`` for ``event``, or None without BTF."""
    from tinybpf.btf import Kind, kernel_btf
    from tinybpf.btf.types import FuncProto

    try:
        btf = kernel_btf()
    except Exception:  # no kernel BTF: ``args`` stays an error
        return None
    proto = None
    for prefix in _PREFIXES:
        try:
            proto = btf.type(btf.find(prefix + event, Kind.FUNC).type)
            break
        except KeyError:
            continue
    if not isinstance(proto, FuncProto):
        return None
    names: list[str] = []
    values: list[ast.Expression] = []
    for index, param in enumerate(proto.params[1:]):
        name, depth = _cast_type(btf, param.type)
        names.append(param.name or f"arg{index}")
        values.append(ast.Cast(pos=pos, type=ast.TypeName(pos=pos, name=name, pointer_depth=depth),
                               expr=ast.Builtin(pos=pos, name=f"arg{index}")))
    return ast.Tuple(pos=pos, elements=values, names=names)


def _cast_type(btf: Any, type_id: int) -> tuple[str, int]:
    """A parameter type as a cast writes it: (name, pointer depth)."""
    from tinybpf.btf.types import Enum, Enum64, Int, Ptr, Struct, Union

    t = btf.resolve(type_id)
    if isinstance(t, Ptr):
        target = btf.resolve(t.type)
        if isinstance(target, (Struct, Union)) and target.name:
            return (("union " if isinstance(target, Union) else "struct ") + target.name, 1)
        if isinstance(target, (Int, Ptr, Enum, Enum64)):
            name, depth = _cast_type(btf, t.type)
            return (name, depth + 1)
        return ("void", 1)
    if isinstance(t, Int) and t.size in (1, 2, 4, 8):
        if t.encoding & 4:
            return ("bool", 0)
        return (("int" if t.encoding & 1 else "uint") + str(t.size * 8), 0)
    if isinstance(t, (Enum, Enum64)) and t.size in (1, 2, 4, 8):
        return (("int" if t.signed else "uint") + str(t.size * 8), 0)
    return ("uint64", 0)
