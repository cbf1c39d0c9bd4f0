"""The C front end's pipeline: text -> tokens -> syntax tree -> declarations and bodies with C types.

``check`` runs the stages in order, each reporting every error it finds before the run stops. Kernel
types come from BTF (the running kernel's, or ``btf_path``) and only when the program includes
vmlinux.h, so a program that does not pays nothing for them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional

from tinybpf.cc import headers
from tinybpf.cc.diagnostics import Diagnostics, SourceLines
from tinybpf.cc.preprocess import Options, preprocess
from tinybpf.cc.preprocess.preprocessor import PRAGMA
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics.bodies import BodyChecker
from tinybpf.cc.semantics.declarations import TypeResolver
from tinybpf.cc.semantics.expressions import Typer
from tinybpf.cc.semantics.kernel_types import KernelTypes
from tinybpf.cc.syntax import ast
from tinybpf.cc.syntax.parser import parse
from tinybpf.errors import TinyBPFError

if TYPE_CHECKING:
    from tinybpf.btf import BTF


@dataclass
class Checked:
    unit: ast.TranslationUnit
    types: TypeResolver
    expression_types: dict[int, ct.CType]  # id(expression node) -> its C type
    diagnostics: Diagnostics


def btf_loader(btf_path: Optional[str]) -> Callable[[], BTF]:
    """Loads the kernel's BTF, or the blob in ``btf_path`` (another kernel's, or another arch's)."""

    def load() -> BTF:
        from tinybpf.btf import BTF, kernel_btf

        if btf_path is None:
            return kernel_btf()
        try:
            with open(btf_path, "rb") as f:
                return BTF(f.read(), name=btf_path)
        except OSError as exc:
            raise TinyBPFError(f"cannot read BTF file {btf_path}: {exc.strerror}", "check the --btf path") from None

    return load


_TARGET_ARCHES = {"x86_64": "x86", "i686": "x86", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm",
                  "riscv64": "riscv", "s390x": "s390", "ppc64le": "powerpc", "ppc64": "powerpc",
                  "loongarch64": "loongarch"}


def with_headers(options: Options) -> Options:
    """``options`` plus tinybpf's bundled and virtual headers, and ``__TARGET_ARCH_<host>`` when the
    command line named no target architecture (bpf_tracing.h needs one to name registers)."""
    import platform

    defines = options.defines
    if not any(name.startswith("__TARGET_ARCH_") for name, _ in defines):
        arch = _TARGET_ARCHES.get(platform.machine())
        if arch:
            defines = [*defines, (f"__TARGET_ARCH_{arch}", "1")]
    return replace(
        options,
        defines=defines,
        virtual_headers={**headers.virtual_headers(), **options.virtual_headers},
        system_dirs=[*options.system_dirs, headers.INCLUDE_DIR],
        fallback_header=options.fallback_header or headers.fallback_header,
    )


def check(text: str, path: str, options: Options, btf_path: Optional[str] = None) -> Checked:
    """Preprocess, parse and resolve the file-scope declarations of one translation unit; raises
    ``CCError`` with every diagnostic when any stage found errors."""
    diagnostics = Diagnostics(SourceLines())
    tokens = preprocess(text, path, with_headers(options), diagnostics)
    kernel: Optional[KernelTypes] = None
    for token in tokens:
        if token.kind == PRAGMA and token.text.startswith("tinybpf kernel_types"):
            if kernel is not None:
                kernel.preserve_access_index |= token.text.endswith("preserve_access_index")
                continue
            kernel = KernelTypes(btf_loader(btf_path), token.text.endswith("preserve_access_index"))
            try:
                kernel.btf  # noqa: B018 - load now, so a missing BTF is reported at the include
            except TinyBPFError as exc:
                include = diagnostics.sources.include_chain(token.loc.file)
                diagnostics.error(f"vmlinux.h declares the kernel's types from BTF, which is unavailable: "
                                  f"{exc.message}; pass --btf FILE from a matching kernel build",
                                  include[0] if include else token.loc)
                diagnostics.check()
    unit = parse(tokens, diagnostics, kernel.is_typedef if kernel else None)
    types = TypeResolver(diagnostics, kernel.tag if kernel else None, kernel.name if kernel else None)
    typer = Typer(types, diagnostics)
    bodies = BodyChecker(types, diagnostics, typer)
    for item in unit.items:
        if isinstance(item, ast.Declaration):
            types.declaration(item)
        elif isinstance(item, ast.FunctionDef):
            function = ct.strip_typedefs(types.function(item))
            if isinstance(function, ct.Function):
                bodies.function(item, function)
    diagnostics.check()
    return Checked(unit, types, typer.types, diagnostics)
