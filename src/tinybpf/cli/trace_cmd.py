"""``tinybpf trace``: run a bpftrace script, with bpftrace's command-line flags.

Script errors print as bpftrace prints them (``stdin:1:9-12: ERROR: ...``, the line, a ``~`` marker) and
exit 1. Everything else is imported only when the command runs.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Optional, TextIO


def register(sub: Any) -> None:
    p = sub.add_parser("trace", help="run a bpftrace program (-e 'PROGRAM' or a FILE)",
                       description="Compile and run a bpftrace script.")
    p.add_argument("-e", dest="program", metavar="PROGRAM", help="the program text")
    p.add_argument("-p", dest="pid", type=int, default=0, metavar="PID", help="trace only this process")
    p.add_argument("-c", dest="command", metavar="CMD", help="run CMD and trace until it exits")
    p.add_argument("-o", dest="output", metavar="FILE", help="write the output to FILE")
    p.add_argument("-f", dest="format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("-q", dest="quiet", action="store_true", help="no banner")
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="print the generated instructions and verifier statistics")
    p.add_argument("-d", dest="debug", action="store_true", help="dump the AST, IR and instructions; do not run")
    p.add_argument("-B", dest="buffering", choices=("line", "full", "none"), help="output buffering")
    p.add_argument("--unsafe", action="store_true", help="allow unsafe builtins")
    p.add_argument("-k", dest="warn_helpers", action="count", default=0, help="warn on helper errors")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="FILE|ARGS",
                   help="a script file (without -e), then the script's positional parameters")
    p.set_defaults(handler=trace)


def trace(args: argparse.Namespace) -> int:
    from tinybpf.trace.diagnostics import TraceError

    rest: list[str] = list(args.args)
    if args.program is not None:
        source, filename = args.program, "stdin"
    elif rest:
        filename = rest.pop(0)
        with open(filename) as f:
            source = f.read()
    else:
        from tinybpf.errors import TinyBPFError

        raise TinyBPFError("no program given", "use -e 'PROGRAM' or give a script FILE")
    try:
        return _run(args, source, filename, rest)
    except TraceError as exc:
        sys.stderr.write(exc.render())
        return 1


def _run(args: argparse.Namespace, source: str, filename: str, params: list[str]) -> int:
    from tinybpf.trace.compiler import Options, compile_trace

    options = Options(params=params, pid=args.pid, has_child=bool(args.command))
    compiled = compile_trace(source, filename, options)
    if args.debug:
        _dump(compiled)
        return 0
    out = _output(args)
    from tinybpf.trace.runtime import Child, run_trace

    child: Optional[Child] = Child(args.command) if args.command else None
    try:
        return run_trace(compiled, out, sys.stderr, output_format=args.format, quiet=args.quiet, pid=args.pid,
                         child=child, verbose=args.verbose)
    finally:
        if out is not sys.stdout:
            out.close()


def _output(args: argparse.Namespace) -> TextIO:
    if args.output:
        return open(args.output, "w", buffering=1)
    if args.buffering == "full":
        sys.stdout.reconfigure(line_buffering=False)  # type: ignore[union-attr]
    elif args.buffering in ("line", "none") or args.buffering is None:
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return sys.stdout


def _dump(compiled: Any) -> None:
    from tinybpf.trace import ast

    analysis = compiled.analysis
    out = sys.stdout
    out.write(ast.dump(analysis.program, lambda e: str(analysis.type_of(e))))
    out.write("\nmaps:\n")
    for layout in compiled.maps.values():
        out.write(f"  {layout.name}: {layout.map_type.name.lower()} key {layout.key} ({layout.key_size} B) "
                  f"value {layout.value} ({layout.value_size} B) x {layout.max_entries}\n")
    out.write("events:\n")
    for number, event in enumerate(compiled.events):
        out.write(f"  {number}: {event.kind} {event.text!r} {event.map} size {event.size}\n")
    for program in compiled.programs:
        targets = ", ".join(t.name for t in program.targets)
        out.write(f"\nprogram {program.name} ({program.prog_type.name.lower()}) on {targets}: "
                  f"{program.instructions.slots} instructions, {program.stack_size} stack bytes\n")
        out.write(str(program.instructions) + "\n")
