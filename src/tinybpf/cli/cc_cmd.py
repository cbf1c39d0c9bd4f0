"""``tinybpf cc``: the C compiler's command line, spelled as clang's for ``-target bpf``.

Diagnostics print as clang prints them (``file.c:3:5: error: ...``, the line, a caret, macro notes) and
the command exits 1. This version preprocesses (``-E``) and parses (``-fsyntax-only``); code generation
is the next stage to land.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("cc", help="compile restricted C to an eBPF object (-E: preprocess only)",
                       description="Compile restricted C for the BPF target, as `clang -target bpf` does.")
    p.add_argument("source", metavar="FILE", nargs="?", help="the C source (- for standard input)")
    p.add_argument("-o", dest="output", metavar="OUT", help="write the result to OUT")
    p.add_argument("-E", dest="preprocess", action="store_true", help="preprocess only; print the text")
    p.add_argument("-fsyntax-only", dest="syntax_only", action="store_true",
                   help="check syntax and declarations (types, layouts, constants); write nothing")
    p.add_argument("-P", dest="no_line_markers", action="store_true", help="with -E: no line markers")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="add DIR to the include path")
    p.add_argument("-iquote", dest="quote_dirs", action="append", default=[], metavar="DIR",
                   help="add DIR to the include path of #include \"...\" only")
    p.add_argument("-isystem", dest="system_dirs", action="append", default=[], metavar="DIR",
                   help="add DIR to the system include path")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", help="define a macro")
    p.add_argument("-U", dest="undefines", action="append", default=[], metavar="NAME", help="undefine a macro")
    p.add_argument("-O", dest="optimize", default="2", metavar="LEVEL", help="optimisation level (0-3, s)")
    p.add_argument("-g", dest="debug", action="store_true", help="emit BTF line info")
    p.add_argument("-mcpu", dest="cpu", default="v3", choices=("v1", "v2", "v3", "v4", "generic", "probe"),
                   help="the BPF ISA version to compile for")
    p.add_argument("--btf", dest="btf", metavar="FILE",
                   help="kernel types for vmlinux.h from this BTF (default: the running kernel's)")
    p.add_argument("--emit-vmlinux-h", dest="emit_vmlinux", action="store_true",
                   help="print the C text of the kernel's types (as `bpftool btf dump ... format c`)")
    p.add_argument("-target", "--target", dest="target", default="bpf", choices=("bpf", "bpfel", "bpfeb"),
                   help="byte order of the object (bpf: the host's)")
    p.set_defaults(handler=cc)


def cc(args: argparse.Namespace) -> int:
    from tinybpf.cc.diagnostics import CCError
    from tinybpf.cc.preprocess import Options, preprocess_to_text
    from tinybpf.cc.preprocess.predefined import Target
    from tinybpf.errors import TinyBPFError

    if args.emit_vmlinux:
        return _emit_vmlinux(args)
    if args.source is None:
        raise TinyBPFError("no input file", "give the C source to compile, or - for standard input")
    if not args.preprocess and not args.syntax_only:
        raise TinyBPFError("code generation from C is not built yet: this version preprocesses and parses only",
                           "use `tinybpf cc -E FILE` or `-fsyntax-only`; compile objects with clang for now")
    big_endian = args.target == "bpfeb" or (args.target == "bpf" and sys.byteorder == "big")
    cpu = {"generic": 1, "probe": 3}.get(args.cpu) or int(args.cpu[1:])
    options = Options(
        include_dirs=args.include_dirs,
        quote_dirs=args.quote_dirs,
        system_dirs=args.system_dirs,
        defines=[_define(d) for d in args.defines],
        undefines=args.undefines,
        target=Target(big_endian=big_endian, cpu=cpu, optimize=args.optimize != "0"),
    )
    path = "<stdin>" if args.source == "-" else args.source
    text = sys.stdin.read() if args.source == "-" else _read(args.source)
    try:
        if args.syntax_only:
            from tinybpf.cc.frontend import check

            diagnostics = check(text, path, options, args.btf).diagnostics
            output = ""
        else:
            from tinybpf.cc.frontend import with_headers

            output, diagnostics = preprocess_to_text(text, path, with_headers(options), not args.no_line_markers)
    except CCError as exc:
        sys.stderr.write(exc.render() + "\n")
        return 1
    warnings = diagnostics.render_warnings()
    if warnings:
        sys.stderr.write(warnings + "\n")
    if args.syntax_only:
        return 0
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(output)
    else:
        sys.stdout.write(output)
    return 0


def _emit_vmlinux(args: argparse.Namespace) -> int:
    from tinybpf.btf import render_c
    from tinybpf.cc.frontend import btf_loader

    text = render_c(btf_loader(args.btf)())
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _define(text: str) -> tuple[str, str]:
    """``-D NAME`` defines NAME as 1, ``-D NAME=VALUE`` as VALUE (clang's rule)."""
    name, equals, value = text.partition("=")
    return name, value if equals else "1"


def _read(path: str) -> str:
    from tinybpf.errors import TinyBPFError

    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as exc:
        raise TinyBPFError(f"cannot read {path}: {exc.strerror}", "check the path") from None
