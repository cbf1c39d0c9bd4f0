"""BTF: parse blobs (kernel, module, object), query layouts, render C headers, build blobs.

``tinybpf.btf.sanitize.sanitize`` rewrites a blob for an older kernel (not re-exported: the module
shares its name, which would make a lazily resolved package attribute ambiguous).

``kernel_btf()`` is the running kernel's BTF, parsed once and decoded lazily.
"""
from __future__ import annotations

from .._lazy import lazy_attributes

# public name -> the module that defines it, imported on first use
_LAZY = {
    "BTFBuilder": "tinybpf.btf.builder",
    "render_c": "tinybpf.btf.c_render",
    "BTFExt": "tinybpf.btf.ext",
    "CoreRelo": "tinybpf.btf.ext",
    "FuncInfo": "tinybpf.btf.ext",
    "LineInfo": "tinybpf.btf.ext",
    "parse_btf_ext": "tinybpf.btf.ext",
    "kernel_btf": "tinybpf.btf.kernel",
    "kernel_header": "tinybpf.btf.kernel",
    "kernel_raw_listing": "tinybpf.btf.kernel",
    "module_btf": "tinybpf.btf.kernel",
    "CoreReloKind": "tinybpf.btf.kinds",
    "IntEncoding": "tinybpf.btf.kinds",
    "Kind": "tinybpf.btf.kinds",
    "Linkage": "tinybpf.btf.kinds",
    "BTF": "tinybpf.btf.reader",
    "Field": "tinybpf.btf.reader",
    "Array": "tinybpf.btf.types",
    "Const": "tinybpf.btf.types",
    "Datasec": "tinybpf.btf.types",
    "DeclTag": "tinybpf.btf.types",
    "Enum": "tinybpf.btf.types",
    "Enum64": "tinybpf.btf.types",
    "EnumValue": "tinybpf.btf.types",
    "Float": "tinybpf.btf.types",
    "Func": "tinybpf.btf.types",
    "FuncProto": "tinybpf.btf.types",
    "Fwd": "tinybpf.btf.types",
    "Int": "tinybpf.btf.types",
    "Member": "tinybpf.btf.types",
    "Param": "tinybpf.btf.types",
    "Ptr": "tinybpf.btf.types",
    "Restrict": "tinybpf.btf.types",
    "Struct": "tinybpf.btf.types",
    "Type": "tinybpf.btf.types",
    "Typedef": "tinybpf.btf.types",
    "TypeTag": "tinybpf.btf.types",
    "Union": "tinybpf.btf.types",
    "Var": "tinybpf.btf.types",
    "VarSecinfo": "tinybpf.btf.types",
    "Void": "tinybpf.btf.types",
    "Volatile": "tinybpf.btf.types",
}

__all__ = [
    "BTF", "Array", "BTFBuilder", "BTFExt", "Const", "CoreRelo", "CoreReloKind", "Datasec", "DeclTag", "Enum",
    "Enum64", "EnumValue", "Field", "Float", "Func", "FuncInfo", "FuncProto", "Fwd", "Int", "IntEncoding", "Kind",
    "LineInfo", "Linkage", "Member", "Param", "Ptr", "Restrict", "Struct", "Type", "TypeTag", "Typedef", "Union",
    "Var", "VarSecinfo", "Void", "Volatile", "kernel_btf", "kernel_header",
    "kernel_raw_listing", "module_btf", "parse_btf_ext", "render_c",
]


# the trace compiler needs the reader, not the C renderer
__getattr__ = lazy_attributes(__name__, _LAZY)
