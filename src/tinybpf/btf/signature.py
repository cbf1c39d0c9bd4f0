"""bpftool's one-line spelling of a BTF type: ``int first(struct xdp_md * ctx)``, ``__u32 [4]``.

``bpftool prog dump`` heads every function of a program with this text and ``map dump`` names types with
it. It is not C (a pointer is ``struct foo * ``, an array ``int [4]``), so it is built here rather than by
the C renderer; an unprintable type gives the empty string, as bpftool prints nothing then.
"""
from __future__ import annotations

from tinybpf.btf import types as t
from tinybpf.btf.c_decl import TypeTable

_MAX_DEPTH = 64


class _Unprintable(Exception):
    pass


def type_only(btf: TypeTable, type_id: int) -> str:
    """The type (a FUNC: its whole signature with the name) as bpftool prints it, "" when it cannot."""
    out: list[str] = []
    try:
        _type(btf, type_id, out, 0)
    except (_Unprintable, KeyError, IndexError):
        return ""
    return "".join(out)


def _type(btf: TypeTable, type_id: int, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _Unprintable
    if not type_id:
        out.append("void ")
        return
    kind = btf.type(type_id)
    if isinstance(kind, (t.Int, t.Typedef, t.Float)):
        out.append(f"{kind.name} ")
    elif isinstance(kind, t.Struct):
        out.append(f"struct {kind.name} ")
    elif isinstance(kind, t.Union):
        out.append(f"union {kind.name} ")
    elif isinstance(kind, (t.Enum, t.Enum64)):
        out.append(f"enum {kind.name} ")
    elif isinstance(kind, t.Array):
        _type(btf, kind.type, out, depth + 1)
        out.append(f"[{kind.nelems}]")
    elif isinstance(kind, t.Ptr):
        _type(btf, kind.type, out, depth + 1)
        out.append("* ")
    elif isinstance(kind, t.Fwd):
        out.append(f"{'union' if kind.union else 'struct'} {kind.name} ")
    elif isinstance(kind, (t.Volatile, t.Const, t.Restrict)):
        out.append(f"{type(kind).__name__.lower()} ")
        _type(btf, kind.type, out, depth + 1)
    elif isinstance(kind, t.FuncProto):
        _function(btf, kind, "", out, depth)
    elif isinstance(kind, t.Func):
        proto = btf.type(kind.type)
        if not isinstance(proto, t.FuncProto):
            raise _Unprintable
        _function(btf, proto, kind.name, out, depth)
    elif isinstance(kind, t.Var):
        if kind.linkage == 0:
            out.append("static ")
        _type(btf, kind.type, out, depth + 1)
        out.append(f" {kind.name}")
    elif isinstance(kind, t.Datasec):
        out.append(f'section ("{kind.name}") ')
    else:
        raise _Unprintable


def _function(btf: TypeTable, proto: t.FuncProto, name: str, out: list[str], depth: int) -> None:
    _type(btf, proto.return_type, out, depth + 1)
    out.append(f"{name}(")
    for i, param in enumerate(proto.params):
        if i:
            out.append(", ")
        if not param.type:
            out.append("...")
            continue
        _type(btf, param.type, out, depth + 1)
        if param.name:
            out.append(param.name)
        elif out and out[-1].endswith(" "):
            out[-1] = out[-1][:-1]
    out.append(")")


__all__ = ["type_only"]
