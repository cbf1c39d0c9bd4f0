"""BTF: parse blobs (kernel, module, object), query layouts, render C headers, build and sanitize blobs.

``kernel_btf()`` is the running kernel's BTF, parsed once and decoded lazily.
"""
from __future__ import annotations

from tinybpf.btf.builder import BTFBuilder
from tinybpf.btf.c_render import render_c
from tinybpf.btf.ext import BTFExt, CoreRelo, FuncInfo, LineInfo, parse_btf_ext
from tinybpf.btf.kernel import kernel_btf, module_btf
from tinybpf.btf.kinds import CoreReloKind, IntEncoding, Kind, Linkage
from tinybpf.btf.reader import BTF, Field
from tinybpf.btf.sanitize import sanitize
from tinybpf.btf.types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)

__all__ = [
    "BTF", "Array", "BTFBuilder", "BTFExt", "Const", "CoreRelo", "CoreReloKind", "Datasec", "DeclTag", "Enum",
    "Enum64", "EnumValue", "Field", "Float", "Func", "FuncInfo", "FuncProto", "Fwd", "Int", "IntEncoding", "Kind",
    "LineInfo", "Linkage", "Member", "Param", "Ptr", "Restrict", "Struct", "Type", "TypeTag", "Typedef", "Union",
    "Var", "VarSecinfo", "Void", "Volatile", "kernel_btf", "module_btf", "parse_btf_ext", "render_c", "sanitize",
]
